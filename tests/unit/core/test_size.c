/* Upstream size parsing (common/size.c), shared by vdvsd's fstype
 * minimum check and the mock backend's option validation. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "vdvs/size.h"

static void
expect_mb (const char *s, uint64_t want)
{
  uint64_t mb = 12345;
  cr_assert_eq (vdvs_size_parse_mb (s, &mb), 0, "`%s` refused", s);
  cr_assert_eq (mb, want, "`%s`: %llu MB", s, (unsigned long long) mb);
}

static void
expect_bad (const char *s)
{
  uint64_t mb = 12345;
  cr_assert_eq (vdvs_size_parse_mb (s, &mb), -1, "`%s` accepted", s);
  cr_assert_eq (mb, 12345, "output written on failure");
}

Test (size, units_case_insensitive)
{
  expect_mb ("10gb", 10240);
  expect_mb ("200MB", 200);
  expect_mb ("2TB", 2 * 1024 * 1024);
  expect_mb ("100mb", 100);
  expect_mb ("1Gb", 1024);
  expect_mb ("3gB", 3072);
  expect_mb ("200tb", UINT64_C (200) * 1024 * 1024);
  expect_mb ("007mb", 7);
  expect_mb ("0mb", 0); /* a format error only at the quota check */
}

Test (size, malformed)
{
  static const char *const bad[] = {
    "100mbb", "100gbEE", "2",      "mb",     "sizes", "-1gb", "+1gb",
    "1.5gb",  "10 gb",   " 10gb",  "10gb ",  "10kb",  "10pb", "10b",
    "",       "gb",      "0x10mb", "１０gb", /* full-width digits */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad (bad[i]);
}

Test (size, overflow_is_refused)
{
  expect_bad ("99999999999999999999999999gb");
  expect_bad ("18446744073709551616mb"); /* 2^64 */
  /* 2^43 - 1 MiB is the last size whose byte count fits an off_t. */
  expect_mb ("8796093022207mb", (UINT64_C (1) << 43) - 1);
  expect_bad ("8796093022208mb");
  expect_mb ("8589934591gb", (UINT64_C (1) << 43) - 1024);
  expect_bad ("8589934592gb");
  expect_mb ("8388607tb", (UINT64_C (1) << 43) - (1 << 20));
  expect_bad ("8388608tb");
  /* 2^44 MiB, 2^64 bytes: wrapped to 0 before. */
  expect_bad ("17592186044416mb");
  expect_bad ("16777216tb");
}
