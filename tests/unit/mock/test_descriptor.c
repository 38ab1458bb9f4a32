/* The VMDK text descriptor (backends/mock/descriptor.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_i.h"

static const char *const uuid =
    "60 00 C2 01 02 03 04 05-06 07 08 09 0a 0b 0c 0d";

static char *
format (const char *extent, const char *sidecar, uint64_t sectors, bool thin)
{
  struct mock_descriptor d;
  char *text = NULL;

  memset (&d, 0, sizeof d);
  d.sectors = sectors;
  d.thin = thin;
  strcpy (d.create_type, "vmfs");
  snprintf (d.extent, sizeof d.extent, "%s", extent);
  snprintf (d.sidecar, sizeof d.sidecar, "%s", sidecar);
  cr_assert_eq (mock_descriptor_format (&d, uuid, &text), 0);
  cr_assert_not_null (text);
  return text;
}

static void
round_trip (const char *extent, const char *sidecar, uint64_t sectors,
            bool thin)
{
  struct mock_descriptor d;
  vdvs_error_t err = NULL;
  char *text = format (extent, sidecar, sectors, thin);

  memset (&d, 0x5a, sizeof d);
  cr_assert_eq (mock_descriptor_parse (text, strlen (text), &d, &err), 0,
                "%s\n%s", err ? err->msg : "", text);
  cr_assert_eq (d.sectors, sectors);
  cr_assert_str_eq (d.extent, extent);
  cr_assert_str_eq (d.sidecar, sidecar);
  cr_assert_str_eq (d.create_type, "vmfs");
  cr_assert_eq (d.thin, thin);
  /* Small enough for upstream's list (descriptors are <= 5000 bytes). */
  cr_assert_leq (strlen (text), 5000);
  free (text);
}

Test (descriptor, format_looks_like_vmfs)
{
  char *text = format ("v-flat.vmdk", "v-0123456789abcdef.vmfd", 204800, true);

  cr_assert_eq (strncmp (text, "# Disk DescriptorFile\nversion=1\n", 32), 0);
  cr_assert (strstr (text, "\ncreateType=\"vmfs\"\n") != NULL);
  cr_assert (strstr (text, "\nRW 204800 VMFS \"v-flat.vmdk\"\n") != NULL, "%s",
             text);
  cr_assert (strstr (text, "\nddb.adapterType = \"busLogic\"\n") != NULL);
  cr_assert (strstr (text, "\nddb.sidecars = \"docker-volume-vsphere,"
                           "v-0123456789abcdef.vmfd\"\n")
                 != NULL,
             "%s", text);
  cr_assert (strstr (text, "\nddb.thinProvisioned = \"1\"\n") != NULL);
  cr_assert (strstr (text, "\nddb.uuid = \"60 00 C2 01 02 03 04 05-06 07 08 "
                           "09 0a 0b 0c 0d\"\n")
             != NULL);
  /* 204800 / (255 * 63) = 12 cylinders. */
  cr_assert (strstr (text, "\nddb.geometry.cylinders = \"12\"\n") != NULL);
  free (text);
}

Test (descriptor, thick_and_no_sidecar)
{
  char *text = format ("v-flat.vmdk", "", 2048, false);

  cr_assert (strstr (text, "ddb.thinProvisioned = \"0\"") != NULL);
  cr_assert_null (strstr (text, "ddb.sidecars"));
  free (text);
  round_trip ("v-flat.vmdk", "", 2048, false);
}

Test (descriptor, round_trips)
{
  round_trip ("v-flat.vmdk", "v-1.vmfd", 204800, true);
  round_trip ("Volume Space-flat.vmdk", "Volume Space-ab.vmfd", 1, true);
  round_trip ("say \"hi\"-flat.vmdk", "say \"hi\"-ab.vmfd", 2, false);
  round_trip ("back\\slash\\\"-flat.vmdk", "back\\slash\\\"-ab.vmfd", 3, true);
  round_trip ("Volume-你好-flat.vmdk", "Volume-你好-ab.vmfd", 4, true);
  round_trip ("a,b,c-flat.vmdk", "a,b,c-1.vmfd", 5, true);
  round_trip ("#not a comment-flat.vmdk", "x.vmfd", 6, true);
  /* 2 TiB and the geometry clamp. */
  round_trip ("big-flat.vmdk", "big.vmfd", UINT64_C (4294967296), true);
}

Test (descriptor, cylinders_are_clamped)
{
  char *text = format ("v-flat.vmdk", "", UINT64_C (1) << 40, true);
  cr_assert (strstr (text, "ddb.geometry.cylinders = \"65535\"") != NULL);
  free (text);
}

Test (descriptor, longest_names_fit)
{
  char extent[NAME_MAX + 1], sidecar[NAME_MAX + 1];

  memset (extent, 'e', NAME_MAX);
  extent[NAME_MAX] = '\0';
  memset (sidecar, 's', NAME_MAX);
  sidecar[NAME_MAX] = '\0';
  round_trip (extent, sidecar, 10, true);
}

static void
expect_bad (const char *text, size_t len, const char *msg)
{
  struct mock_descriptor d;
  vdvs_error_t err = NULL;

  cr_assert_eq (mock_descriptor_parse (text, len, &d, &err), -EINVAL,
                "accepted: %.*s", (int) len, text);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
}

#define HDR "# Disk DescriptorFile\nversion=1\n"

Test (descriptor, corrupt_inputs)
{
  static const char nul[] = HDR "RW 8 VMFS \"v-flat.vmdk\"\n\0\n";
  char *text = format ("v-flat.vmdk", "v.vmfd", 8, true);

  expect_bad ("", 0, "not a VMDK descriptor (missing header)");
  expect_bad ("# Disk", 6, "not a VMDK descriptor (missing header)");
  expect_bad ("\x7f"
              "ELF....................",
              24, "not a VMDK descriptor (missing header)");
  /* The header must be at the very start. */
  expect_bad ("\n" HDR "RW 8 VMFS \"v-flat.vmdk\"\n", strlen (HDR) + 25,
              "not a VMDK descriptor (missing header)");
  expect_bad (HDR, strlen (HDR), "VMDK descriptor has no extent");
  expect_bad (HDR "# RW 8 VMFS \"v-flat.vmdk\"\n",
              strlen (HDR "# RW 8 VMFS \"v-flat.vmdk\"\n"),
              "VMDK descriptor has no extent");
  expect_bad (nul, sizeof nul - 1, "VMDK descriptor contains NUL bytes");
  /* A data extent is a file name beside the descriptor, never a path. */
  expect_bad (HDR "RW 8 VMFS \"../../etc/passwd\"\n",
              strlen (HDR "RW 8 VMFS \"../../etc/passwd\"\n"),
              "bad extent file name in VMDK descriptor");
  expect_bad (HDR "RW 8 VMFS \"/dev/sda\"\n",
              strlen (HDR "RW 8 VMFS \"/dev/sda\"\n"),
              "bad extent file name in VMDK descriptor");
  expect_bad (HDR "RW 8 VMFS \"unterminated\n",
              strlen (HDR "RW 8 VMFS \"unterminated\n"),
              "bad extent file name in VMDK descriptor");
  expect_bad (HDR "RW 8 VMFS v-flat.vmdk\n",
              strlen (HDR "RW 8 VMFS v-flat.vmdk\n"),
              "bad extent file name in VMDK descriptor");
  expect_bad (HDR "RW x VMFS \"v-flat.vmdk\"\n",
              strlen (HDR "RW x VMFS \"v-flat.vmdk\"\n"),
              "bad extent line in VMDK descriptor");
  expect_bad (HDR "RW 8 SPARSE \"v-flat.vmdk\"\n",
              strlen (HDR "RW 8 SPARSE \"v-flat.vmdk\"\n"),
              "bad extent line in VMDK descriptor");
  expect_bad (HDR "RW 99999999999999999999999 VMFS \"v-flat.vmdk\"\n",
              strlen (HDR "RW 99999999999999999999999 VMFS \"v-flat.vmdk\"\n"),
              "bad extent line in VMDK descriptor");
  expect_bad (HDR "RW 8 VMFS \"v-flat.vmdk\"\nddb.sidecars = \"no-comma\"\n",
              strlen (HDR "RW 8 VMFS \"v-flat.vmdk\"\nddb.sidecars = "
                          "\"no-comma\"\n"),
              "bad ddb.sidecars in descriptor");
  expect_bad (HDR
              "RW 8 VMFS \"v-flat.vmdk\"\nddb.sidecars = \"k,../x.vmfd\"\n",
              strlen (HDR "RW 8 VMFS \"v-flat.vmdk\"\nddb.sidecars = "
                          "\"k,../x.vmfd\"\n"),
              "bad ddb.sidecars in descriptor");
  expect_bad (HDR "createType=vmfs\nRW 8 VMFS \"v-flat.vmdk\"\n",
              strlen (HDR "createType=vmfs\nRW 8 VMFS \"v-flat.vmdk\"\n"),
              "bad createType in descriptor");
  /* Truncated right inside the extent line. */
  expect_bad (text, (size_t) (strstr (text, "RW 8") - text) + 12,
              "bad extent file name in VMDK descriptor");
  free (text);
}

Test (descriptor, overlong_line_and_name)
{
  char buf[4096];
  size_t n;

  n = (size_t) snprintf (buf, sizeof buf, HDR "ddb.comment = \"");
  memset (buf + n, 'x', 2000);
  n += 2000;
  n += (size_t) snprintf (buf + n, sizeof buf - n, "\"\n");
  expect_bad (buf, n, "VMDK descriptor line too long");

  n = (size_t) snprintf (buf, sizeof buf, HDR "RW 8 VMFS \"");
  memset (buf + n, 'e', NAME_MAX + 1);
  n += NAME_MAX + 1;
  n += (size_t) snprintf (buf + n, sizeof buf - n, "\"\n");
  expect_bad (buf, n, "bad extent file name in VMDK descriptor");
}

Test (descriptor, first_extent_wins_and_no_trailing_newline)
{
  const char *text = HDR
      "RW 8 VMFS \"a-flat.vmdk\"\nRW 16 VMFS \"b-flat.vmdk\"";
  struct mock_descriptor d;
  vdvs_error_t err = NULL;

  cr_assert_eq (mock_descriptor_parse (text, strlen (text), &d, &err), 0);
  cr_assert_eq (d.sectors, 8);
  cr_assert_str_eq (d.extent, "a-flat.vmdk");
  cr_assert_str_eq (d.sidecar, "");
  cr_assert_not (d.thin);
}
