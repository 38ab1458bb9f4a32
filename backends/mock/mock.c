/* The emulated ESX datastore service: the upstream vmdk_ops semantics
 * (reference §2.3, §5) on local files.  One handle = one VM's view. */
#include "mock_i.h"
#include "index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
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
};

#define CONFIG_KEYS(X)                         \
  X ("root", root)                             \
  X ("datastores", datastores)                 \
  X ("vm-name", vm_name)                       \
  X ("vm-uuid", vm_uuid)                       \
  X ("sysfs-root", sysfs_root)                 \
  X ("dev-root", dev_root)                     \
  X ("vmdkfs", vmdkfs)                         \
  X ("vmdkfs-mount", vmdkfs_mount)             \
  X ("vmdkfs-ctl", vmdkfs_ctl)                 \
  X ("vmdkfs-opts", vmdkfs_opts)

static int
mock_config_key (const char *key, const char *value, vdvs_error_t *err)
{
#define SET(k, field)                                                        \
  if (strcmp (key, k) == 0)                                                  \
    {                                                                        \
      if (strlen (value) >= sizeof config.field)                             \
        return vdvs_error_set (err, EINVAL, "mock: value of `%s` too long",  \
                               key);                                         \
      strcpy (config.field, value);                                          \
      return 0;                                                              \
    }
  CONFIG_KEYS (SET)
#undef SET
  return vdvs_error_set (err, EINVAL,
                         "mock: unknown option `%s`; valid: root, datastores, "
                         "vm-name, vm-uuid, sysfs-root, dev-root, vmdkfs, "
                         "vmdkfs-mount, vmdkfs-ctl, vmdkfs-opts",
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

/* ---- list/get ------------------------------------------------------ */

static int
mock_list (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err)
{
  struct mock *m = handle;
  int r = mock_index_list (m, out, err);

  if (r != 0) /* answered from the index (or out of memory) */
    return r < 0 ? -1 : 0;
  for (size_t i = 0; i < m->n_ds; i++)
    {
      char dir[PATH_MAX], vol[NAME_MAX + 1], full[NAME_MAX + 128];
      DIR *d;
      struct dirent *de;

      snprintf (dir, sizeof dir, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                MOCK_TENANT_UUID);
      if ((d = opendir (dir)) == NULL)
        {
          vdvs_log (VDVS_LOG_WARN, "Datastore unreadable", "datastore=%s error=\"%s\"",
                    m->ds[i], strerror (errno));
          continue;
        }
      while ((de = readdir (d)) != NULL)
        if (mock_index_is_descriptor (dirfd (d), de->d_name, vol, sizeof vol))
          {
            snprintf (full, sizeof full, "%s@%s", vol, m->ds[i]);
            if (vdvs_volume_list_add (out, full) < 0)
              {
                closedir (d);
                return vdvs_error_set (err, ENOMEM, "out of memory");
              }
          }
      closedir (d);
    }
  return 0;
}

static char *
xstrdup_or_null (const char *s)
{
  return s ? strdup (s) : NULL;
}

/* Everything of the get reply but the allocated size, from the descriptor
 * and the sidecar. */
static int
read_info (const struct mock_vol *v, struct vdvs_volume_info *out,
           vdvs_error_t *err)
{
  struct mock_descriptor d;
  struct mock_sidecar sc;
  char buf[64];
  const char *o;

  /* No lock: every file is replaced atomically, so a reader sees either
   * the old or the new version, and get never waits on a slow attach. */
  if (mock_descriptor_read (v, &d, err) < 0)
    return -1;
  if (mock_sidecar_read (v->sidecar, &sc, err) < 0)
    return vdvs_error_wrap (err, "Volume %s has corrupt metadata", v->vol);

  memset (out, 0, sizeof *out);
  out->created_by = strdup (sc.created_by);
  out->created = strdup (sc.created);
  out->status = strdup (sc.status);
  mock_size_render (d.sectors * 512, buf, sizeof buf);
  out->capacity_size = strdup (buf);
  out->datastore = strdup (v->ds);
  if (sc.attached)
    {
      out->attached_to_vm = strdup (sc.attached_name[0] ? sc.attached_name
                                                        : sc.attached_uuid);
      if (sc.device.unit[0])
        {
          out->has_device = true;
          out->device = sc.device;
        }
    }
  out->fstype = xstrdup_or_null (vdvs_opts_get (&sc.vol_opts, "fstype"));
  out->vsan_policy_name
      = xstrdup_or_null (vdvs_opts_get (&sc.vol_opts, "vsan-policy-name"));
  o = vdvs_opts_get (&sc.vol_opts, "diskformat");
  out->diskformat = strdup (o ? o : "thin");
  o = vdvs_opts_get (&sc.vol_opts, "attach-as");
  out->attach_as = strdup (o ? o : "independent_persistent");
  o = vdvs_opts_get (&sc.vol_opts, "access");
  out->access = strdup (o ? o : "read-write");
  o = vdvs_opts_get (&sc.vol_opts, "clone-from");
  out->clone_from = strdup (o ? o : "None");
  mock_sidecar_clear (&sc);
  return 0;
}

/* <root>/<ds>/dockvols/<tenant>/<vol>-flat.vmdk into buf[PATH_MAX], the
 * way mock_vol_paths spells it, without snprintf (it was a twentieth of a
 * Get); false when it does not fit. */
static bool
extent_path (const struct mock *m, const char *ds, const char *vol,
             char buf[PATH_MAX])
{
  const char *parts[] = { m->cfg.root, "/", ds, "/dockvols/" MOCK_TENANT_UUID "/",
                          vol, "-flat.vmdk" };
  size_t off = 0;

  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    {
      size_t n = strlen (parts[i]);
      if (off + n >= PATH_MAX)
        return false;
      memcpy (buf + off, parts[i], n);
      off += n;
    }
  buf[off] = '\0';
  return true;
}

/* Stat an extent by its full path.  Success also proves the datastore
 * root reachable for the health check that follows (mock_root_proven):
 * the stat walked the whole path. */
static bool
stat_flat (struct mock *m, const char *flat, struct stat *st)
{
  if (stat (flat, st) < 0)
    {
      mock_root_unproven ();
      return false;
    }
  mock_root_proven (m);
  return true;
}

/* The index's version of vol@ds's answer and the extent's allocated
 * blocks (mock_index_get_version), leaving the health check the proof of
 * the root that the way they were found gives.  0: no version (no such
 * volume or extent in the index now: the caller reads the files). */
static uint64_t
indexed_extent (struct mock *m, struct mock_index *ix, const char *ds,
                const char *vol, int64_t *blocks)
{
  char flat[PATH_MAX];
  bool walked = false;
  uint64_t v = 0;

  if (extent_path (m, ds, vol, flat))
    v = mock_index_get_version (ix, ds, vol, flat, &walked, blocks);
  if (v == 0)
    mock_root_unproven ();
  else if (walked)
    mock_root_proven (m);
  else
    mock_root_held (m);
  return v;
}

/* Served from the index's record of the volume while no event touched its
 * descriptor, sidecar or extent (index.h); the files are read only after
 * such an event.  The allocated size changes with every write to the
 * extent (no event for those): one look at the extent per call, through
 * the fd the index holds (indexed_extent), keeps it true. */

static int
mock_get (void *handle, const char *name, struct vdvs_volume_info *out,
          vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_index *ix = mock_index_of (m);
  struct vdvs_name n;
  struct mock_vol v;
  struct stat st;
  uint64_t token = 0;
  int found = MOCK_IX_UNKNOWN;
  int64_t blocks;
  const char *ds;
  char buf[64];

  if (mock_resolve_name (m, name, &n, &ds, err) < 0)
    return -1;
  if (ix != NULL)
    {
      found = mock_index_lookup (ix, ds, n.volume, out, &token);
      if (found < 0)
        return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  if (found == MOCK_IX_RECORD)
    {
      /* The common case: the blocks as get_version takes them. */
      if (indexed_extent (m, ix, ds, n.volume, &blocks) != 0)
        goto allocated;
      /* No extent where the record says a volume is: whatever happened
       * (the folder unreachable by its path, a half-made volume), the
       * files say it, as before the index. */
      vdvs_volume_info_clear (out);
      found = MOCK_IX_UNKNOWN;
    }
  if (mock_vol_paths (m, ds, n.volume, &v, err) < 0)
    return -1;
  if (found == MOCK_IX_ABSENT)
    return mock_not_found (&v, err);
  if (read_info (&v, out, err) < 0)
    return -1;
  if (found == MOCK_IX_PRESENT)
    mock_index_store (ix, v.ds, v.vol, token, out);
  blocks = stat_flat (m, v.flat, &st) ? (int64_t) st.st_blocks : 0;
allocated:
  mock_size_render ((uint64_t) blocks * 512, buf, sizeof buf);
  free (out->capacity_allocated);
  out->capacity_allocated = strdup (buf);
  return 0;
}

/* The index's version of the answer (index.h): events on the volume's
 * files, plus the extent's allocated blocks, the one part of the answer
 * that changes without an event. */
static uint64_t
mock_get_version (void *handle, const char *name)
{
  struct mock *m = handle;
  struct mock_index *ix = mock_index_of (m);
  vdvs_error_t err = NULL;
  struct vdvs_name n;
  const char *ds;
  int64_t blocks;

  if (ix == NULL)
    return 0;
  if (mock_resolve_name (m, name, &n, &ds, &err) < 0)
    {
      vdvs_error_release (&err);
      return 0;
    }
  return indexed_extent (m, ix, ds, n.volume, &blocks);
}

static int
mock_locate (void *handle, const char *name, char *ds_out, size_t len,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_index *ix = mock_index_of (m);
  struct vdvs_name n;
  struct mock_vol v;
  struct mock_descriptor d;
  uint64_t token;
  int found = MOCK_IX_UNKNOWN;
  const char *ds;

  if (mock_resolve_name (m, name, &n, &ds, err) < 0)
    return -1;
  if (ix != NULL)
    found = mock_index_lookup (ix, ds, n.volume, NULL, &token);
  if (found < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  if (found == MOCK_IX_ABSENT || found == MOCK_IX_UNKNOWN)
    {
      if (mock_vol_paths (m, ds, n.volume, &v, err) < 0)
        return -1;
      if (found == MOCK_IX_ABSENT)
        return mock_not_found (&v, err);
      if (mock_descriptor_read (&v, &d, err) < 0)
        return -1;
    }
  snprintf (ds_out, len, "%s", ds);
  return 0;
}

static uint64_t
mock_list_version (void *handle)
{
  return mock_index_version (handle);
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
      "  vmdkfs-opts=OPTS    extra vmdkfs options, e.g. \"--engine=sync\"\n",
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
  .locate = mock_locate,
  .list_version = mock_list_version,
  .get_version = mock_get_version,
  .device_roots = mock_device_roots,
  .set_progress = mock_set_progress,
};
