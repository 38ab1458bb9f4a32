/* PVSCSI controllers, units and PCI addresses (backends/mock/pvscsi.c,
 * reference §2.3.3). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mock_i.h"

static void
expect_bus (unsigned slot, const char *want)
{
  char buf[16];
  cr_assert_eq (mock_pvscsi_bus_string (slot, buf, sizeof buf), 0, "slot %u",
                slot);
  cr_assert_str_eq (buf, want, "slot %u", slot);
}

Test (pvscsi, upstream_slot_to_bus_examples)
{
  expect_bus (160, "15.0");
  expect_bus (192, "16.0");
  expect_bus (224, "17.0");
  expect_bus (256, "18.0");
  expect_bus (1184, "15.1");
  expect_bus (1216, "16.1");
}

Test (pvscsi, root_bus_and_bridge_chains)
{
  /* Bus 0: the slot itself, in hex. */
  expect_bus (17, "11.0");
  expect_bus (21, "15.0");
  /* Bus 1 -> pciBridge0 (slot 17). */
  expect_bus (32 + 5, "11.0");
  /* Function bits survive the walk. */
  expect_bus ((7u << 10) | 160, "15.7");
}

Test (pvscsi, unknown_bridges_have_no_answer)
{
  char buf[16];

  /* Bus 2 -> pciBridge1, which the emulated VM does not have. */
  cr_assert_eq (mock_pvscsi_bus_string (2 << 5, buf, sizeof buf), -1);
  /* Bus 9 -> pciBridge8: beyond the emulated bridges. */
  cr_assert_eq (mock_pvscsi_bus_string (9 << 5, buf, sizeof buf), -1);
  cr_assert_eq (mock_pvscsi_bus_string (31 << 5, buf, sizeof buf), -1);
}

Test (pvscsi, device_specs_of_every_controller)
{
  static const char *const slot[] = { "160", "192", "224", "256" };
  static const char *const bus[] = { "15.0", "16.0", "17.0", "18.0" };
  struct vdvs_device d;

  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    {
      memset (&d, 0, sizeof d);
      mock_pvscsi_device (c, c == 3 ? 15 : c, &d);
      cr_assert_str_eq (d.pci_slot, slot[c]);
      cr_assert_str_eq (d.pci_bus, bus[c]);
      cr_assert_eq (mock_pvscsi_controller (&d), c);
    }
  mock_pvscsi_device (3, 15, &d);
  cr_assert_str_eq (d.unit, "15");
  mock_pvscsi_device (0, 0, &d);
  cr_assert_str_eq (d.unit, "0");
}

Test (pvscsi, secondary_buses)
{
  cr_assert_eq (mock_pvscsi_secondary_bus (0), 3);
  cr_assert_eq (mock_pvscsi_secondary_bus (1), 11);
  cr_assert_eq (mock_pvscsi_secondary_bus (2), 19);
  cr_assert_eq (mock_pvscsi_secondary_bus (3), 27);
  cr_assert_eq (mock_pvscsi_secondary_bus (4), -1);
  cr_assert_eq (mock_pvscsi_secondary_bus (-1), -1);
}

Test (pvscsi, controller_of_foreign_specs)
{
  static const char *const bad[] = {
    "", "abc", "161", "160x", "1184", "-160", "99999999999999999999"
  };
  struct vdvs_device d;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      memset (&d, 0, sizeof d);
      snprintf (d.pci_slot, sizeof d.pci_slot, "%s", bad[i]);
      cr_assert_eq (mock_pvscsi_controller (&d), -1, "slot `%s`", bad[i]);
    }
}

Test (pvscsi, unit_constants)
{
  cr_assert_eq (MOCK_PVSCSI_CONTROLLERS, 4);
  cr_assert_eq (MOCK_PVSCSI_UNITS, 16);
  cr_assert_eq (MOCK_PVSCSI_RESERVED_UNIT, 7);
}
