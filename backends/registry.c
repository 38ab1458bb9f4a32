/* The table of built-in backends (static, NULL-terminated, crun style). */
#include "vdvs/registry.h"

#include "mock/mock.h"
#ifdef HAVE_BACKEND_ESX
#include "esx/esx.h"
#endif

const struct vdvs_backend *const vdvs_registry[] = {
  &vdvs_backend_mock,
#ifdef HAVE_BACKEND_ESX
  &vdvs_backend_esx,
#endif
  NULL,
};
