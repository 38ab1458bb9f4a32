/* See timefmt.h.  strptime is lenient (any case, full day and month names,
 * days out of range carried over by timegm), as upstream's readers are. */
#include "timefmt.h"

#include <string.h>
#include <time.h>

int
vdvs_asctime_to_rfc3339 (const char *asc, char *out, size_t len)
{
  struct tm tm;
  const char *end;
  time_t t;

  if (asc == NULL)
    return -1;
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
