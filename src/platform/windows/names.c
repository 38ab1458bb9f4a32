/* Windows: names as Docker on Windows uses them; see platform/names.h.
 * Plain C with no Windows calls, so a Linux unit test runs it too. */
#include "platform/names.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* The lower case of code point c, as Go's unicode.ToLower (the engine's
 * strings.ToLower) maps it, for Latin, Greek and Cyrillic letters; other
 * code points are kept.  No result is longer in UTF-8 than c. */
static uint32_t
lower_cp (uint32_t c)
{
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7))
    return c + 0x20;
  if (c == 0x130) /* capital I with dot: Go maps it to plain i */
    return 'i';
  if (c == 0x178)
    return 0xFF;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
    return c % 2 == 0 ? c + 1 : c;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
    return c % 2 == 1 ? c + 1 : c;
  if (c == 0x386)
    return 0x3AC;
  if (c >= 0x388 && c <= 0x38A)
    return c + 0x25;
  if (c == 0x38C)
    return 0x3CC;
  if (c == 0x38E || c == 0x38F)
    return c + 0x3F;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40F)
    return c + 0x50;
  if (c >= 0x410 && c <= 0x42F)
    return c + 0x20;
  return c;
}

void
vdvs_name_for_docker (char *name)
{
  unsigned char *r = (unsigned char *) name, *w = r;

  while (*r)
    {
      uint32_t c;
      /* Only one- and two-byte sequences hold letters we map; anything
       * else (longer or invalid UTF-8) is copied as it is. */
      if (r[0] < 0x80)
        c = *r++;
      else if ((r[0] & 0xE0) == 0xC0 && r[0] >= 0xC2 && (r[1] & 0xC0) == 0x80)
        {
          c = (uint32_t) (r[0] & 0x1F) << 6 | (r[1] & 0x3F);
          r += 2;
        }
      else
        {
          *w++ = *r++;
          continue;
        }
      c = lower_cp (c);
      if (c < 0x80)
        *w++ = (unsigned char) c;
      else
        {
          *w++ = (unsigned char) (0xC0 | c >> 6);
          *w++ = (unsigned char) (0x80 | (c & 0x3F));
        }
    }
  *w = '\0';
}

/* CON, PRN, AUX, NUL, COM1-9, LPT1-9: the `n` bytes at s, any case. */
static bool
is_reserved (const char *s, size_t n)
{
  static const char *const three[] = { "con", "prn", "aux", "nul" };

  for (size_t i = 0; i < sizeof three / sizeof three[0]; i++)
    if (n == 3 && strncasecmp (s, three[i], 3) == 0)
      return true;
  return n == 4
         && (strncasecmp (s, "com", 3) == 0 || strncasecmp (s, "lpt", 3) == 0)
         && s[3] >= '1' && s[3] <= '9';
}

int
vdvs_name_check_platform (const char *name, vdvs_error_t *err)
{
  const char *at = strrchr (name, '@');
  size_t vlen = at ? (size_t) (at - name) : strlen (name);
  const char *dot = memchr (name, '.', vlen);
  const char *bad = strpbrk (name, "\\/:*?\"<>|");

  if (bad != NULL)
    return vdvs_error_set (err, EINVAL,
                           "Volume name `%s` contains `%c`, which a Windows "
                           "folder name cannot hold; a volume name on "
                           "Windows cannot contain any of \\ / : * ? \" < > |",
                           name, *bad);
  /* Windows takes `con.txt` for the device too: the part before a dot. */
  if (is_reserved (name, dot ? (size_t) (dot - name) : vlen))
    return vdvs_error_set (err, EINVAL,
                           "Volume name `%s` cannot be a reserved word for "
                           "Windows filenames: CON, PRN, AUX, NUL, COM1-COM9 "
                           "and LPT1-LPT9 (in any case, also with an "
                           "extension such as `con.txt`) are not valid "
                           "volume names on Windows",
                           name);
  return 0;
}
