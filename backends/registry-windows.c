/* The backends vdvsd has on Windows: ESX only (the mock backend needs
 * loop devices and FUSE). */
#include "vdvs/registry.h"

#include "esx/esx.h"

const struct vdvs_backend *const vdvs_registry[] = {
  &vdvs_backend_esx,
  NULL,
};
