/* vdvs_name_parse: the upstream volume name rules (reference §3.2). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/name.h"

static void
expect_ok (const char *name, const char *vol, const char *ds)
{
  struct vdvs_name n;
  vdvs_error_t err = NULL;

  memset (&n, 0x55, sizeof n);
  cr_assert_eq (vdvs_name_parse (name, &n, &err), 0, "`%s`: %s", name,
                err ? err->msg : "");
  cr_assert_null (err);
  cr_assert_str_eq (n.volume, vol);
  cr_assert_str_eq (n.datastore, ds);
}

static void
expect_err (const char *name, const char *msg)
{
  struct vdvs_name n;
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_name_parse (name, &n, &err), -EINVAL, "`%s` accepted",
                name);
  cr_assert_not_null (err);
  cr_assert_eq (err->status, EINVAL);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
}

/* `n` copies of the UTF-8 sequence `unit`, then `tail`. */
static char *
repeat (const char *unit, int n, const char *tail)
{
  size_t u = strlen (unit);
  char *s = malloc (u * (size_t) n + strlen (tail) + 1);
  cr_assert_not_null (s);
  for (int i = 0; i < n; i++)
    memcpy (s + u * (size_t) i, unit, u);
  strcpy (s + u * (size_t) n, tail);
  return s;
}

Test (name, plain_volume_has_no_datastore)
{
  expect_ok ("MyVolume", "MyVolume", "");
}

Test (name, split_at_last_at)
{
  expect_ok ("vol@datastore1", "vol", "datastore1");
  expect_ok ("a@@@@ds", "a@@@", "ds");
  expect_ok ("x@y@z", "x@y", "z");
  expect_ok ("strange-volume-10@vsan:Datastore", "strange-volume-10",
             "vsan:Datastore");
}

Test (name, upstream_valid_examples)
{
  expect_ok ("Volume-0000000-****-###", "Volume-0000000-****-###", "");
  expect_ok ("Volume-00000", "Volume-00000", "");     /* 5 digits */
  expect_ok ("Volume-0000000", "Volume-0000000", ""); /* 7 digits */
  expect_ok ("Volume Space", "Volume Space", "");
  expect_ok ("Volume-你好", "Volume-你好", "");
  expect_ok ("MyVolume_fast.12", "MyVolume_fast.12", "");
  expect_ok ("super-volume-200", "super-volume-200", "");
  expect_ok ("v-00000a", "v-00000a", "");
  expect_ok ("000000", "000000", ""); /* no '-' before the digits */
}

Test (name, hundred_chars_is_the_limit)
{
  char *ok = repeat ("a", 100, "");
  char *bad = repeat ("a", 101, "");

  expect_ok (ok, ok, "");
  expect_err (bad, "'Volume name is too long (max len is 100)'");
  free (ok);
  free (bad);
}

Test (name, length_counts_characters_not_bytes)
{
  /* 100 three-byte characters are 300 bytes, still 100 characters. */
  char *ok = repeat ("你", 100, "");
  char *ok4 = repeat ("\xf0\x9f\x98\x80", 100, ""); /* 4-byte emoji */
  char *bad = repeat ("你", 101, "");
  char *okds = repeat ("你", 100, "@ds");

  expect_ok (ok, ok, "");
  expect_ok (ok4, ok4, "");
  expect_ok (okds, ok, "ds");
  expect_err (bad, "'Volume name is too long (max len is 100)'");
  free (ok);
  free (ok4);
  free (bad);
  free (okds);
}

Test (name, datastore_length_limit)
{
  char *ok = repeat ("d", 100, "");
  char *okname = repeat ("d", 100, "");
  char *bad = repeat ("d", 101, "");
  char full[512];

  snprintf (full, sizeof full, "v@%s", okname);
  expect_ok (full, "v", ok);
  snprintf (full, sizeof full, "v@%s", bad);
  expect_err (full, "'Datastore name is too long (max len is 100)'");
  free (ok);
  free (okname);
  free (bad);
}

Test (name, illegal_characters)
{
  expect_err ("volume/abc", "'Volume name contains illegal characters: /'");
  expect_err ("../x", "'Volume name contains illegal characters: /'");
  expect_err ("/etc@datastore1",
              "'Volume name contains illegal characters: /'");
  /* repr() of a backslash doubles it. */
  expect_err ("a\\b", "'Volume name contains illegal characters: \\\\'");
}

Test (name, delta_disk_suffix)
{
  /* Python's repr() of a string holding single quotes (and no double
   * quotes) wraps it in double quotes. */
  const char *msg = "\"Volume names ending with '-NNNNNN' (where N is a "
                    "digit) are not supported\"";

  expect_err ("Volume-000000", msg);
  expect_err ("v-000001", msg);
  expect_err ("v-123456@datastore1", msg);
  expect_err ("-000000", msg);
}

Test (name, empty_parts)
{
  expect_err ("", "Volume name is empty");
  expect_err ("@datastore1", "Volume name is empty in `@datastore1`");
  /* An empty datastore is none, as upstream: the default one. */
  expect_ok ("vol@", "vol", "");
  expect_ok ("vol@@", "vol@", "");
}

Test (name, null_name)
{
  struct vdvs_name n;
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_name_parse (NULL, &n, &err), 0);
  cr_assert_str_eq (err->msg, "Volume name is empty");
  vdvs_error_release (&err);
}

Test (name, control_characters)
{
  expect_err ("a\nb", "Volume name contains control characters (byte 0x0a at "
                      "offset 1)");
  expect_err ("\tv", "Volume name contains control characters (byte 0x09 at "
                     "offset 0)");
  expect_err ("v\x7f", "Volume name contains control characters (byte 0x7f at "
                       "offset 1)");
  expect_err ("v@d\x1b", "Volume name contains control characters (byte 0x1b "
                         "at offset 3)");
}

Test (name, hostile_datastores)
{
  expect_err ("v@..", "Invalid datastore '..'");
  expect_err ("v@.", "Invalid datastore '.'");
  expect_err ("v@a/b", "Invalid datastore 'a/b'");
  expect_err ("v@a\\b", "Invalid datastore 'a\\b'");
  /* Dots inside a datastore name are fine. */
  expect_ok ("v@ds.1", "v", "ds.1");
}

Test (name, null_err_still_fails)
{
  struct vdvs_name n;
  cr_assert_eq (vdvs_name_parse ("v-000000", &n, NULL), -EINVAL);
  cr_assert_eq (vdvs_name_parse ("v", &n, NULL), 0);
  cr_assert_str_eq (n.volume, "v");
}

/* The mount point's last component, <volume>@<datastore>, is one file
 * name: at most 255 bytes, whatever the character count. */
Test (name, mountable_limit_is_255_bytes)
{
  char *v254 = repeat ("v", 254, ""), *v253 = repeat ("v", 253, "");
  char *v250 = repeat ("v", 250, "");
  char *wide = repeat ("\xf0\x9f\x98\x80", 100, ""); /* 100 chars, 400 B */
  struct vdvs_name n;
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_name_check_mountable ("v", "datastore1", &err), 0);
  cr_assert_eq (vdvs_name_check_mountable (v250, "ds12", &err), 0); /* 255 */
  cr_assert_eq (vdvs_name_check_mountable (v250, "ds123", &err),
                -ENAMETOOLONG);
  cr_assert_eq (err->status, ENAMETOOLONG);
  cr_assert (strstr (err->msg, "256 bytes, over the 255-byte limit") != NULL,
             "%s", err->msg);
  cr_assert (strstr (err->msg, "ds123`") != NULL, "%s", err->msg);
  vdvs_error_release (&err);
  /* Datastore not known yet: counted as one byte. */
  cr_assert_eq (vdvs_name_check_mountable (v253, "", &err), 0);
  cr_assert_eq (vdvs_name_check_mountable (v254, "", &err), -ENAMETOOLONG);
  cr_assert (strstr (err->msg, "over 255 bytes") != NULL, "%s", err->msg);
  vdvs_error_release (&err);
  /* A valid name (100 characters) may still be far too long to mount. */
  cr_assert_eq (vdvs_name_parse (wide, &n, NULL), 0);
  cr_assert_eq (vdvs_name_check_mountable (n.volume, "", &err), -ENAMETOOLONG);
  vdvs_error_release (&err);
  cr_assert_eq (vdvs_name_check_mountable ("v", "ds", NULL), 0);
  cr_assert_lt (vdvs_name_check_mountable (wide, "ds", NULL), 0);
  free (v254);
  free (v253);
  free (v250);
  free (wide);
}
