/* Upstream `created` (asctime, UTC) to RFC 3339 (src/timefmt.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

static void
expect (const char *asc, const char *rfc)
{
  char out[64];

  memset (out, 'x', sizeof out);
  cr_assert_eq (vdvs_asctime_to_rfc3339 (asc, out, sizeof out), 0, "`%s`",
                asc);
  cr_assert_str_eq (out, rfc);
}

static void
expect_bad (const char *asc)
{
  char out[64];
  cr_assert_eq (vdvs_asctime_to_rfc3339 (asc, out, sizeof out), -1, "`%s`",
                asc ? asc : "(null)");
}

Test (timefmt, upstream_examples)
{
  expect ("Wed Mar  1 20:06:02 2017", "2017-03-01T20:06:02Z");
  expect ("Sat Mar  4 09:26:00 2017", "2017-03-04T09:26:00Z");
}

Test (timefmt, two_digit_days_leap_day_and_year_end)
{
  expect ("Mon Feb 29 23:59:59 2016", "2016-02-29T23:59:59Z");
  expect ("Thu Dec 31 00:00:00 2026", "2026-12-31T00:00:00Z");
  expect ("Thu Jan  1 00:00:00 1970", "1970-01-01T00:00:00Z");
}

Test (timefmt, independent_of_local_time_zone)
{
  setenv ("TZ", "Asia/Kolkata", 1);
  tzset ();
  expect ("Wed Mar  1 20:06:02 2017", "2017-03-01T20:06:02Z");
}

Test (timefmt, round_trip_of_asctime_output)
{
  /* What the mock writes: asctime_r of gmtime_r, newline stripped. */
  time_t t = 1700000000;
  struct tm tm;
  char asc[64];

  gmtime_r (&t, &tm);
  asctime_r (&tm, asc);
  asc[strcspn (asc, "\n")] = '\0';
  expect (asc, "2023-11-14T22:13:20Z");
}

Test (timefmt, garbage_is_refused)
{
  expect_bad (NULL);
  expect_bad ("");
  expect_bad ("yesterday");
  expect_bad ("2017-03-01T20:06:02Z");
  expect_bad ("Wed Mar  1 20:06:02");
  expect_bad ("Wed Mar  1 20:06:02 2017 trailing");
  expect_bad ("Wed Foo  1 20:06:02 2017");
}

Test (timefmt, short_buffer_fails)
{
  char out[10];
  cr_assert_eq (vdvs_asctime_to_rfc3339 ("Wed Mar  1 20:06:02 2017", out,
                                         sizeof out),
                -1);
}

/* Many instants (leap days, century years included) round-trip, and
 * lenient spellings are accepted. */
Test (timefmt, many_instants_and_lenient_spellings)
{
  char asc[64], got[64], want[64];
  struct tm tm;

  for (long i = 0; i < 20000; i++)
    {
      time_t t = (time_t) (i * 7919L * 3607L) % 4102444800L;
      gmtime_r (&t, &tm);
      asctime_r (&tm, asc);
      asc[strcspn (asc, "\n")] = '\0';
      strftime (want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
      cr_assert_eq (vdvs_asctime_to_rfc3339 (asc, got, sizeof got), 0, "%s",
                    asc);
      cr_assert_str_eq (got, want, "%s", asc);
    }
  expect ("Tue Feb 29 12:00:00 2000", "2000-02-29T12:00:00Z");
  expect ("wed mar  1 20:06:02 2017", "2017-03-01T20:06:02Z");
  expect ("Wednesday March 1 20:06:02 2017", "2017-03-01T20:06:02Z");
  expect ("Wed Feb 30 20:06:02 2017", "2017-03-02T20:06:02Z");
  expect ("Wed Mar 01 20:06:02 2017", "2017-03-01T20:06:02Z");
}
