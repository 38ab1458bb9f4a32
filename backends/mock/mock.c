/* The mock backend: the emulated ESX datastore (upstream vmdk_ops, reference
 * §2.3, §5) on local files.  Here: the vtable, the config, open/close; one
 * handle is one VM's view, immutable after open (mock_i.h). */
#include "index.h"
#include "mock_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Config given before open(); copied into each handle.  Written only from
 * the main thread before any handle exists (or between opens in esxsim). */
static struct mock_config config = {
  .root = "/var/lib/vdvs",
  .datastores = "datastore1",
  .sysfs_root = "/run/vdvs/sys",
  .dev_root = "/run/vdvs/dev",
  .vmdkfs = "auto",
  .vmdkfs_mount = "/run/vdvs/vmfs/volumes",
  .vmdkfs_ctl = "/run/vdvs/vmdkfs.ctl",
  .inventory = "yes",
};

#define CONFIG_KEYS(X)                                                        \
  X ("root", root)                                                            \
  X ("datastores", datastores)                                                \
  X ("vm-name", vm_name)                                                      \
  X ("vm-uuid", vm_uuid)                                                      \
  X ("sysfs-root", sysfs_root)                                                \
  X ("dev-root", dev_root)                                                    \
  X ("vmdkfs", vmdkfs)                                                        \
  X ("vmdkfs-mount", vmdkfs_mount)                                            \
  X ("vmdkfs-ctl", vmdkfs_ctl)                                                \
  X ("vmdkfs-opts", vmdkfs_opts)                                              \
  X ("auth-db", auth_db)                                                      \
  X ("inventory", inventory)                                                  \
  X ("vsan-datastores", vsan)

static int
mock_config_key (const char *key, const char *value, vdvs_error_t *err)
{
#define SET(k, field)                                                         \
  if (strcmp (key, k) == 0)                                                   \
    {                                                                         \
      if (strlen (value) >= sizeof config.field)                              \
        return vdvs_error_set (err, EINVAL, "mock: value of `%s` too long",   \
                               key);                                          \
      strcpy (config.field, value);                                           \
      return 0;                                                               \
    }
  CONFIG_KEYS (SET)
#undef SET
  return vdvs_error_set (err, EINVAL,
                         "mock: unknown option `%s`; valid: root, datastores, "
                         "vm-name, vm-uuid, sysfs-root, dev-root, vmdkfs, "
                         "vmdkfs-mount, vmdkfs-ctl, vmdkfs-opts, auth-db, "
                         "inventory, vsan-datastores",
                         key);
}

/* A VM identity when none is configured: the host name and a UUID derived
 * from /etc/machine-id, so restarts keep the same identity. */
static void
default_identity (struct mock_config *c)
{
  if (c->vm_name[0] == '\0' && gethostname (c->vm_name, sizeof c->vm_name) < 0)
    strcpy (c->vm_name, "localhost");
  if (c->vm_uuid[0] == '\0')
    {
      char id[64] = "";
      FILE *f = fopen ("/etc/machine-id", "re");
      if (f)
        {
          if (fgets (id, sizeof id, f) == NULL)
            id[0] = '\0';
          fclose (f);
        }
      id[strcspn (id, "\n")] = '\0';
      if (strlen (id) != 32)
        snprintf (id, sizeof id, "%016llx%016llx",
                  (unsigned long long) vdvs_hash (c->vm_name),
                  (unsigned long long) vdvs_hash (c->root));
      snprintf (c->vm_uuid, sizeof c->vm_uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", id,
                id + 8, id + 12, id + 16, id + 20);
    }
}

static int
mock_open (void **handle, vdvs_error_t *err)
{
  struct mock *m = calloc (1, sizeof *m);
  char path[PATH_MAX];
  int r;

  if (m == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  m->cfg = config;
  default_identity (&m->cfg);
  if ((r = vdvs_mkdir_p (m->cfg.root, 0755)) < 0)
    {
      vdvs_error_set (err, -r, "mock: cannot create root `%s`: %s",
                      m->cfg.root, strerror (-r));
      free (m);
      return -1;
    }
  snprintf (path, sizeof path, "%s/.vms/%s", m->cfg.root, m->cfg.vm_uuid);
  if ((r = vdvs_mkdir_p (path, 0700)) < 0)
    {
      vdvs_error_set (err, -r, "mock: cannot create `%s`: %s", path,
                      strerror (-r));
      free (m);
      return -1;
    }
  if (strcmp (m->cfg.inventory, "no") != 0)
    mock_inventory_register (m);
  if (mock_datastores_init (m, err) < 0 || mock_vmdkfs_start (m, err) < 0)
    {
      free (m);
      return -1;
    }
  vdvs_log (VDVS_LOG_INFO, "Emulated datastore ready",
            "root=%s datastores=%s vm=%s vm_uuid=%s vmdkfs=%s", m->cfg.root,
            m->cfg.datastores, m->cfg.vm_name, m->cfg.vm_uuid,
            m->vmdkfs ? m->cfg.vmdkfs_mount : "off");
  mock_index_open (m);
  *handle = m;
  return 0;
}

static void
mock_close (void *handle)
{
  struct mock *m = handle;
  if (m == NULL)
    return;
  mock_index_close (m);
  mock_vmdkfs_stop (m);
  free (m);
}

static void
mock_health (void *handle, struct vdvs_backend_health *out)
{
  mock_vmdkfs_health (handle, out);
}

static void
mock_set_progress (void *handle, vdvs_progress_fn fn, void *opaque)
{
  struct mock *m = handle;
  m->progress = fn;
  m->progress_opaque = opaque;
}

static void
mock_device_roots (void *handle, struct vdvs_device_roots *out)
{
  struct mock *m = handle;
  snprintf (out->sysfs_root, sizeof out->sysfs_root, "%s", m->cfg.sysfs_root);
  snprintf (out->dev_root, sizeof out->dev_root, "%s", m->cfg.dev_root);
}

const struct vdvs_backend vdvs_backend_mock = {
  VDVS_BACKEND_INIT,
  .name = "mock",
  .description = "emulated ESX datastore on local files (loop devices, vmdkfs)",
  .config_help =
      "  root=DIR            backing root (default /var/lib/vdvs)\n"
      "  datastores=A[,B]    datastore folders; the first is the default "
      "(datastore1)\n"
      "  vm-name=NAME        this VM's name (default: host name)\n"
      "  vm-uuid=UUID        this VM's UUID (default: from /etc/machine-id)\n"
      "  sysfs-root=DIR      emulated sysfs for device discovery "
      "(/run/vdvs/sys)\n"
      "  dev-root=DIR        emulated /dev for disk/by-path (/run/vdvs/dev)\n"
      "  vmdkfs=auto|off|PATH  serve extents through vmdkfs (auto)\n"
      "  vmdkfs-mount=DIR    vmdkfs mount point (/run/vdvs/vmfs/volumes)\n"
      "  vmdkfs-ctl=PATH     vmdkfs control socket (/run/vdvs/vmdkfs.ctl)\n"
      "  vmdkfs-opts=OPTS    extra vmdkfs options, e.g. \"--engine=sync\"\n"
      "  auth-db=PATH        Config DB of vmgroups and quotas\n"
      "                      (<root>/.vmdkops/auth-db)\n"
      "  inventory=yes|no    record this VM's name for `vmgroup vm add` "
      "(yes)\n"
      "  vsan-datastores=A[,B]  datastores that are vSAN: they take\n"
      "                      -o vsan-policy-name (none)\n",
  .config = mock_config_key,
  .open = mock_open,
  .close = mock_close,
  .create = mock_create,
  .remove = mock_remove,
  .attach = mock_attach,
  .detach = mock_detach,
  .list = mock_list,
  .get = mock_get,
  .clone = mock_clone,
  .health = mock_health,
  .list_version = mock_list_version,
  .device_roots = mock_device_roots,
  .set_progress = mock_set_progress,
};
