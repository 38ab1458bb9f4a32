/* PVSCSI controllers as a VMware VM presents them (reference §2.3.3, §5.6):
 * up to 4 controllers in the PCIe root-port slots 160/192/224/256, behind
 * bridges pciBridge4..7 (slots 21..24 = 0x15..0x18) whose secondary buses
 * are 3, 11, 19, 27; SCSI units 0-15 except 7 (the controller's own). */
#include "mock_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned controller_slot[MOCK_PVSCSI_CONTROLLERS] = { 160, 192,
                                                                   224, 256 };
static const int secondary_bus[MOCK_PVSCSI_CONTROLLERS] = { 3, 11, 19, 27 };
/* pciBridge<N>.pciSlotNumber of the emulated VM, indexed by bridge N. */
static const int bridge_slot[8] = { 17, 0, 0, 0, 21, 22, 23, 24 };

int
mock_pvscsi_bus_string (unsigned slot, char *buf, size_t len)
{
  unsigned s = slot;
  int bus = (int) ((s >> 5) & 31);
  unsigned func = (s >> 10) & 7;

  /* Walk up the bridges as upstream get_controller_pci_slot does. */
  while (bus > 0)
    {
      bus -= 1;
      if (bus >= 8 || bridge_slot[bus] == 0)
        return -1;
      s = (unsigned) bridge_slot[bus];
      bus = (int) ((s >> 5) & 31);
    }
  snprintf (buf, len, "%x.%u", s, func);
  return 0;
}

void
mock_pvscsi_device (int ctl, int unit, struct vdvs_device *dev)
{
  snprintf (dev->unit, sizeof dev->unit, "%d", unit);
  snprintf (dev->pci_slot, sizeof dev->pci_slot, "%u", controller_slot[ctl]);
  if (mock_pvscsi_bus_string (controller_slot[ctl], dev->pci_bus,
                              sizeof dev->pci_bus)
      < 0)
    snprintf (dev->pci_bus, sizeof dev->pci_bus, "%x.0", 0x15 + ctl);
}

int
mock_pvscsi_controller (const struct vdvs_device *dev)
{
  char *end;
  unsigned long slot = strtoul (dev->pci_slot, &end, 10);

  if (end == dev->pci_slot || *end != '\0')
    return -1;
  for (int i = 0; i < MOCK_PVSCSI_CONTROLLERS; i++)
    if (controller_slot[i] == slot)
      return i;
  return -1;
}

int
mock_pvscsi_secondary_bus (int ctl)
{
  return ctl >= 0 && ctl < MOCK_PVSCSI_CONTROLLERS ? secondary_bus[ctl] : -1;
}
