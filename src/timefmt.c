/* See timefmt.h.  Get converts `created` on every call: the exact asctime
 * layout (what the mock and upstream write) is parsed by hand, anything
 * else goes through strptime + timegm (lenient, locale tables: about ten
 * times slower), which the fast path agrees with wherever it answers. */
#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int
slow (const char *asc, char *out, size_t len)
{
  struct tm tm;
  const char *end;
  time_t t;

  memset (&tm, 0, sizeof tm);
  end = strptime (asc, "%a %b %d %H:%M:%S %Y", &tm);
  if (end == NULL || *end != '\0')
    return -1;
  t = timegm (&tm);
  if (t == (time_t) -1)
    return -1;
  gmtime_r (&t, &tm);
  return strftime (out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0 ? 0 : -1;
}

static bool
two (const char *p, int *v)
{
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
    return false;
  *v = (p[0] - '0') * 10 + (p[1] - '0');
  return true;
}

/* "Www Mmm dd hh:mm:ss yyyy" with dd space-padded or two digits, every
 * field in range: 0 and the RFC 3339 text, else -1 (try the slow way). */
static int
fast (const char *a, char *out, size_t len)
{
  static const char days[] = "SunMonTueWedThuFriSat";
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  int mon = -1, day, h, m, s, y1, y2, year;
  bool wday = false;

  if (strlen (a) != 24 || a[3] != ' ' || a[7] != ' ' || a[10] != ' '
      || a[13] != ':' || a[16] != ':' || a[19] != ' ')
    return -1;
  for (int i = 0; i < 7; i++)
    wday = wday || memcmp (a, days + 3 * i, 3) == 0;
  for (int i = 0; i < 12; i++)
    if (memcmp (a + 4, months + 3 * i, 3) == 0)
      mon = i;
  if (!wday || mon < 0)
    return -1;
  if (a[8] == ' ')
    {
      char d[2] = { '0', a[9] };
      if (!two (d, &day))
        return -1;
    }
  else if (!two (a + 8, &day))
    return -1;
  if (!two (a + 11, &h) || !two (a + 14, &m) || !two (a + 17, &s)
      || !two (a + 20, &y1) || !two (a + 22, &y2))
    return -1;
  year = y1 * 100 + y2;
  {
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int max = mdays[mon] + (mon == 1 && leap);
    if (year < 1000 || day < 1 || day > max || h > 23 || m > 59 || s > 59)
      return -1;
  }
  if (len < 21)
    return -1;
  snprintf (out, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, mon + 1, day, h,
            m, s);
  return 0;
}

int
vdvs_asctime_to_rfc3339 (const char *asc, char *out, size_t len)
{
  if (asc == NULL)
    return -1;
  if (fast (asc, out, len) == 0)
    return 0;
  return slow (asc, out, len);
}
