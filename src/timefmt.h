#ifndef VDVS_TIMEFMT_H
#define VDVS_TIMEFMT_H

#include <stddef.h>

/* Upstream's `created` (asctime UTC, "Wed Mar  1 20:06:02 2017") as RFC 3339
 * ("2017-03-01T20:06:02Z").  Returns -1 if it does not parse. */
int vdvs_asctime_to_rfc3339 (const char *asc, char *out, size_t len);

#endif
