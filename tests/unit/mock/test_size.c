/* Sizes rendered as upstream does (backends/mock/size.c); their parsing
 * is common: tests/unit/core/test_size.c. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "mock_i.h"

static void
expect_render (uint64_t bytes, const char *want)
{
  char buf[32];
  mock_size_render (bytes, buf, sizeof buf);
  cr_assert_str_eq (buf, want, "%llu bytes", (unsigned long long) bytes);
}

Test (size, render_like_upstream)
{
  expect_render (0, "0");
  expect_render (512, "512");
  expect_render (1023, "1023");
  expect_render (1024, "1KB");
  expect_render (1024 * 1024 - 1, "1023KB");
  expect_render (1024 * 1024, "1MB");
  expect_render (13 * 1024 * 1024 + 5, "13MB");
  expect_render (100 * 1024 * 1024, "100MB");
  expect_render (UINT64_C (1024) * 1024 * 1024 - 1, "1023MB");
  expect_render (UINT64_C (1024) * 1024 * 1024, "1GB");
  expect_render (UINT64_C (10) * 1024 * 1024 * 1024, "10GB");
  expect_render (UINT64_C (2) * 1024 * 1024 * 1024 * 1024, "2048GB");
  expect_render (UINT64_C (1536) * 1024 * 1024, "1GB"); /* integer division */
}

Test (size, render_truncates_safely)
{
  char buf[4];
  mock_size_render (UINT64_C (10) * 1024 * 1024 * 1024, buf, sizeof buf);
  cr_assert_str_eq (buf, "10G");
}
