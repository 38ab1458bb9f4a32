/* The core takes Create's default fstype from the platform seam
 * (platform/fstype.h): linked here with the Windows side
 * (src/platform/windows/fstype.c, plain C), a Create without -o fstype
 * asks for ntfs, never the Linux default. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "backend_i.h"
#include "config.h"
#include "platform/fstype.h"
#include "t_helpers.h"
#include "volumes.h"

static char tmp[PATH_MAX];
static char created_fstype[32]; /* what Create asked the backend for */

static int
fk_create (void *h, const char *name, const struct vdvs_opts *o,
           vdvs_error_t *err)
{
  const char *fs = vdvs_opts_get (o, "fstype");

  (void) h;
  snprintf (created_fstype, sizeof created_fstype, "%s", fs ? fs : "(none)");
  return vdvs_error_set (err, EIO, "fake create of %s refused", name);
}

static const struct vdvs_backend fake = {
  VDVS_BACKEND_INIT,
  .name = "fake",
  .create = fk_create,
};

Test (fstype_seam, create_without_fstype_uses_the_platform_default)
{
  struct vdvs_config cfg;
  struct vdvs_bk bk = { .ops = fake };
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;

  cr_assert_str_eq (vdvs_fstype_default (), "ntfs");
  t_mkdtemp (tmp, sizeof tmp, "fstype");
  memset (&cfg, 0, sizeof cfg);
  snprintf (cfg.mount_root, sizeof cfg.mount_root, "%s/mnt", tmp);
  snprintf (cfg.state_dir, sizeof cfg.state_dir, "%s/state", tmp);
  cfg.device_timeout_ms = 200;
  cr_assert_eq (vdvs_volumes_init (&cfg, &bk, &err), 0, "%s",
                err ? err->msg : "");
  vdvs_opts_set (&o, "size", "10mb");
  cr_assert_lt (vdvs_vol_create ("v", &o, &err), 0);
  vdvs_opts_clear (&o);
  /* Without mkfs.ntfs here the core stops at its mkfs check, naming
   * ntfs; with it, the backend is asked for an ntfs volume. */
  if (strncmp (err->msg, "Not found mkfs for ", 19) == 0)
    cr_assert (strncmp (err->msg, "Not found mkfs for ntfs\n", 24) == 0, "%s",
               err->msg);
  else
    cr_assert_str_eq (created_fstype, "ntfs", "%s", err->msg);
  vdvs_error_release (&err);
  t_rmrf (tmp);
}
