/* Device discovery after an attach, the same code on ESX and on the mock. */
#ifndef VDVS_DEVICE_H
#define VDVS_DEVICE_H

#include <stddef.h>

#include "backend.h"

/* From the attach reply to the by-path name, as the upstream guest:
 * <sysfs>/bus/pci/devices/0000:00:<ControllerPciBusNumber>/pci_bus/<first>
 * -> <dev>/disk/by-path/pci-<first>:00.0-scsi-0:0:<Unit>:0.
 * A bad reply or a missing sysfs entry: upstream's "Device not found"
 * (the details go to the log). */
int vdvs_device_path (const struct vdvs_device_roots *roots,
                      const struct vdvs_device *dev, char *out, size_t len,
                      vdvs_error_t *err);
/* Wait (inotify, bounded) until `path` resolves to a block device. */
int vdvs_device_wait (const char *path, int timeout_ms, vdvs_error_t *err);

#endif
