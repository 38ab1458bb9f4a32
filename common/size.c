/* Volume sizes as upstream writes them: see vdvs/size.h. */
#include "vdvs/size.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

int
vdvs_size_parse_mb (const char *s, uint64_t *mb)
{
  size_t n = strlen (s);
  uint64_t v = 0, mult;

  /* size[:-2] must be all digits, size[-2:] a unit; case-insensitive. */
  if (n < 3)
    return -1;
  if (strcasecmp (s + n - 2, "mb") == 0)
    mult = 1;
  else if (strcasecmp (s + n - 2, "gb") == 0)
    mult = 1024;
  else if (strcasecmp (s + n - 2, "tb") == 0)
    mult = 1024 * 1024;
  else
    return -1;
  for (size_t i = 0; i < n - 2; i++)
    {
      if (!isdigit ((unsigned char) s[i]))
        return -1;
      if (v > (UINT64_MAX / 10 - 9))
        return -1;
      v = v * 10 + (uint64_t) (s[i] - '0');
    }
  /* The byte count must fit an off_t: at most 2^43 - 1 MiB.  Larger sizes
   * (16777216tb is 2^64 bytes) would wrap to 0 or a negative size. */
  if (v > ((UINT64_C (1) << 43) - 1) / mult)
    return -1;
  *mb = v * mult;
  return 0;
}
