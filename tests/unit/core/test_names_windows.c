/* The Windows side of platform/names.h (src/platform/windows/names.c),
 * plain C, run here on Linux: List's lower-cased names, and the names
 * Windows reserves or cannot hold in a folder name. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "platform/names.h"

static void
lowers_to (const char *name, const char *want)
{
  char buf[256];

  snprintf (buf, sizeof buf, "%s", name);
  vdvs_name_for_docker (buf);
  cr_assert_str_eq (buf, want, "%s", name);
}

Test (names_windows, list_names_are_lower_cased_as_docker_does)
{
  lowers_to ("volname@Local2", "volname@local2");
  lowers_to ("Bvol", "bvol");
  lowers_to ("bVol@vsanDatastore", "bvol@vsandatastore");
  lowers_to ("already-lower_1.2@ds", "already-lower_1.2@ds");
  lowers_to ("", "");
  /* Latin-1, Latin Extended-A, Greek and Cyrillic capitals, as Go's
   * strings.ToLower maps them (U+0130 to a plain i, one byte shorter). */
  lowers_to ("\xc3\x84rger\xc3\x9f@\xc3\x96", "\xc3\xa4rger\xc3\x9f@\xc3\xb6");
  lowers_to ("\xc3\x97", "\xc3\x97"); /* the multiplication sign stays */
  lowers_to ("\xc4\xb0stanbul", "istanbul");
  lowers_to ("\xc5\xb8\xc5\x81", "\xc3\xbf\xc5\x82");
  lowers_to ("\xce\x91\xce\xa9\xce\x86", "\xce\xb1\xcf\x89\xce\xac");
  lowers_to ("\xd0\x81\xd0\x96\xd0\xaf", "\xd1\x91\xd0\xb6\xd1\x8f");
  /* Other scripts, three- and four-byte characters and bytes that are
   * no UTF-8 are kept. */
  lowers_to ("\xe2\x84\xa6\xf0\x9f\x98\x80", "\xe2\x84\xa6\xf0\x9f\x98\x80");
  lowers_to ("A\xc3"
             "B\xff"
             "C\x80",
             "a\xc3"
             "b\xff"
             "c\x80");
}

static void
valid (const char *name)
{
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_name_check_platform (name, &err), 0, "%s: %s", name,
                err ? err->msg : "");
}

static void
invalid (const char *name, const char *want)
{
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_name_check_platform (name, &err), 0, "%s", name);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);
}

#define RESERVED(n)                                                           \
  "Volume name `" n "` cannot be a reserved word for Windows filenames: "     \
  "CON, PRN, AUX, NUL, COM1-COM9 and LPT1-LPT9 (in any case, also with an "   \
  "extension such as `con.txt`) are not valid volume names on Windows"
#define BADCHAR(n, c)                                                         \
  "Volume name `" n "` contains `" c "`, which a Windows folder name "        \
  "cannot hold; a volume name on Windows cannot contain any of "              \
  "\\ / : * ? \" < > |"

Test (names_windows, reserved_names_are_refused)
{
  invalid ("con", RESERVED ("con"));
  invalid ("PRN", RESERVED ("PRN"));
  invalid ("aux@datastore1", RESERVED ("aux@datastore1"));
  invalid ("Nul.txt", RESERVED ("Nul.txt"));
  invalid ("com1", RESERVED ("com1"));
  invalid ("LPT9.x@ds", RESERVED ("LPT9.x@ds"));
  /* Only the whole volume part (or its part before a dot) counts. */
  valid ("console");
  valid ("com0");
  valid ("com10");
  valid ("lpt");
  valid ("xcon");
  valid ("vol@con");
  valid ("a.con");
  valid ("c@on");
}

Test (names_windows, characters_a_folder_name_cannot_hold_are_refused)
{
  invalid ("a:b", BADCHAR ("a:b", ":"));
  invalid ("a*", BADCHAR ("a*", "*"));
  invalid ("what?", BADCHAR ("what?", "?"));
  invalid ("say\"hi\"", BADCHAR ("say\"hi\"", "\""));
  invalid ("<x>", BADCHAR ("<x>", "<"));
  invalid ("x>", BADCHAR ("x>", ">"));
  invalid ("a|b", BADCHAR ("a|b", "|"));
  invalid ("a\\b", BADCHAR ("a\\b", "\\"));
  invalid ("a/b", BADCHAR ("a/b", "/"));
  invalid ("vol@data:store", BADCHAR ("vol@data:store", ":"));
  valid ("my vol-1_2.3@local .3 - 0");
  valid ("\xc3\xa4@\xe2\x84\xa6");
}
