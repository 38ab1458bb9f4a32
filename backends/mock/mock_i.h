/* Internal header of the emulated datastore (backends/mock).  Nothing here
 * is visible to the core; the core sees only `vdvs_backend_mock`. */
#ifndef VDVS_MOCK_I_H
#define VDVS_MOCK_I_H

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "vdvs/backend.h"
#include "vdvs/clock.h"
#include "vdvs/fsutil.h"
#include "vdvs/hash.h"
#include "vdvs/log.h"
#include "vdvs/name.h"

#include "mock.h"

/* The default vmgroup's tenant folder, and its readable alias. */
#define MOCK_TENANT_UUID "11111111-1111-1111-1111-111111111111"
#define MOCK_TENANT_NAME "_DEFAULT"
#define MOCK_MAX_DATASTORES 16
#define MOCK_SIDECAR_KEY "docker-volume-vsphere"

/* Configuration; copied into each handle at open() so that one process can
 * hold handles for several VM identities. */
struct mock_config
{
  char root[PATH_MAX];
  char datastores[1024]; /* comma-separated */
  char vm_name[128];
  char vm_uuid[64];
  char sysfs_root[256];
  char dev_root[256];
  char vmdkfs[PATH_MAX];       /* "auto", "off" or the vmdkfs binary */
  char vmdkfs_mount[PATH_MAX]; /* where vmdkfs shows the root */
  char vmdkfs_ctl[PATH_MAX];   /* vmdkfs control socket */
  char vmdkfs_opts[1024];      /* extra vmdkfs options, space-separated */
  char auth_db[PATH_MAX];      /* Config DB; "": <root>/.vmdkops/auth-db */
  char inventory[8];           /* "no": an admin tool, not a VM */
  char vsan[1024];             /* vSAN datastores, comma-separated */
};

/* A handle: one VM's view of the datastore root.  Immutable after open()
 * except for the vmdkfs service state, which has its own lock. */
struct mock
{
  struct mock_config cfg;
  size_t n_ds;
  char ds[MOCK_MAX_DATASTORES][VDVS_MAX_DS_NAME_LEN * 4 + 1];
  struct mock_vmdkfs *vmdkfs; /* NULL when extents are used directly */
  /* Where long work reports progress (NULL: nowhere); set once after
   * open, before any operation. */
  vdvs_progress_fn progress;
  void *progress_opaque;
};

/* A resolved volume: the datastore's real name and every path of it. */
struct mock_vol
{
  char vol[VDVS_MAX_VOL_NAME_LEN * 4 + 1];
  char ds[VDVS_MAX_DS_NAME_LEN * 4 + 1];
  char dir[PATH_MAX];        /* <root>/<ds>/dockvols/<tenant-uuid> */
  char descriptor[PATH_MAX]; /* <dir>/<vol>.vmdk */
  char flat[PATH_MAX];       /* <dir>/<vol>-flat.vmdk */
  char sidecar[PATH_MAX];    /* <dir>/<vol>-<hash>.vmfd */
  char esx_path[PATH_MAX]; /* /vmfs/volumes/<ds>/dockvols/_DEFAULT/<vol>.vmdk */
  char flat_name[NAME_MAX + 1];
  char sidecar_name[NAME_MAX + 1];
  char tenant[64]; /* the vmgroup's uuid: the folder under dockvols */
};

/* datastore.c */
int mock_datastores_init (struct mock *m, vdvs_error_t *err);
int mock_resolve (const struct mock *m, const char *name, struct mock_vol *v,
                  vdvs_error_t *err);
/* The first half of mock_resolve: the name split and validated, and the
 * datastore's real name (one of m->ds) in *ds; no paths. */
int mock_resolve_name (const struct mock *m, const char *name,
                       struct vdvs_name *n, const char **ds,
                       vdvs_error_t *err);
int mock_vol_paths (const struct mock *m, const char *ds, const char *vol,
                    struct mock_vol *v, vdvs_error_t *err);
/* The same in the folder of vmgroup `uuid` (named `name` in esx_path). */
int mock_vol_paths_in (const struct mock *m, const char *ds, const char *vol,
                       const char *uuid, const char *name, struct mock_vol *v,
                       vdvs_error_t *err);
/* dockvols/<uuid> on datastore ds and its alias dockvols/<name>, made if
 * missing (as upstream, by any authorized request). */
int mock_tenant_dir (const struct mock *m, const char *ds, const char *uuid,
                     const char *name, vdvs_error_t *err);
/* The key attach records name a volume by: "<ds>/<vol>" in the default
 * vmgroup's folder, "<ds>/<uuid>/<vol>" in another; and back to paths. */
void mock_vol_key (const struct mock_vol *v, char *key, size_t len);
int mock_vol_from_key (const struct mock *m, const char *key,
                       struct mock_vol *v, vdvs_error_t *err);
bool mock_vol_exists (const struct mock_vol *v);
/* The upstream "not found" of v, as an error; returns -1. */
int mock_not_found (const struct mock_vol *v, vdvs_error_t *err);
/* admin.c: opts (already validated) merged into v's sidecar options,
 * under v's lock. */
int mock_vol_set_options (struct mock *m, const struct mock_vol *v,
                          const struct vdvs_opts *opts, vdvs_error_t *err);
/* Cross-process lock of one volume (flock on one of 256 bucket files).
 * Returns an fd to pass to mock_unlock, or <0 with *err set. */
int mock_lock (const struct mock *m, const struct mock_vol *v,
               vdvs_error_t *err);
/* Which of the 256 bucket files mock_lock takes for v (names that hash
 * alike share one): a clone takes its two in bucket order, once if shared. */
unsigned mock_lock_bucket (const struct mock_vol *v);
void mock_unlock (int fd);
/* Write `len` bytes to `path` atomically (temp file, fsync, rename). */
int mock_write_atomic (const char *path, const char *data, size_t len);

/* size.c (parsing is vdvs_size_parse_mb, vdvs/size.h) */
/* Render bytes as upstream does: "512", "12KB", "100MB", "10GB". */
void mock_size_render (uint64_t bytes, char *buf, size_t len);

/* options.c: validate create options with the upstream messages; ds is
 * the target datastore (NULL: not a vSAN one). */
int mock_options_validate (const struct mock *m, const char *ds,
                           const struct vdvs_opts *o, vdvs_error_t *err);
/* policy.c: is ds a vSAN datastore; may a create on ds use `policy`
 * (NULL: none asked) -- the upstream texts otherwise. */
bool mock_is_vsan (const struct mock *m, const char *ds);
int mock_policy_check (const struct mock *m, const char *ds,
                       const char *policy, vdvs_error_t *err);
/* Options `vdvsctl set` may change (access, attach-as), same messages. */
int mock_options_validate_set (const struct vdvs_opts *o, vdvs_error_t *err);
extern const char *const mock_diskformats[3];

/* descriptor.c: the VMDK text descriptor. */
struct mock_descriptor
{
  uint64_t sectors;           /* capacity in 512-byte sectors */
  char extent[NAME_MAX + 1];  /* data extent file name */
  char sidecar[NAME_MAX + 1]; /* from ddb.sidecars, "" if none */
  char create_type[32];       /* "vmfs" */
  bool thin;
};
int mock_descriptor_format (const struct mock_descriptor *d, const char *uuid,
                            char **out);
int mock_descriptor_parse (const char *text, size_t len,
                           struct mock_descriptor *d, vdvs_error_t *err);
/* The descriptor file of v: written atomically for a disk of `bytes`;
 * read and parsed (the upstream "not found" if it is missing). */
int mock_descriptor_write (const struct mock_vol *v, uint64_t bytes, bool thin,
                           vdvs_error_t *err);
int mock_descriptor_read (const struct mock_vol *v, struct mock_descriptor *d,
                          vdvs_error_t *err);

/* sidecar.c: the JSON key/value sidecar (padded to 4 KiB). */
struct mock_sidecar
{
  char status[16]; /* "attached" | "detached" */
  struct vdvs_opts vol_opts;
  char created[64]; /* asctime UTC */
  char created_by[128];
  bool attached; /* attachedVM* keys present */
  char attached_uuid[64];
  char attached_name[128];
  struct vdvs_device device;
};
void mock_sidecar_clear (struct mock_sidecar *s);
int mock_sidecar_format (const struct mock_sidecar *s, char **out,
                         size_t *len);
int mock_sidecar_parse (const char *text, size_t len, struct mock_sidecar *s,
                        vdvs_error_t *err);
int mock_sidecar_read (const char *path, struct mock_sidecar *s,
                       vdvs_error_t *err);
int mock_sidecar_write (const char *path, const struct mock_sidecar *s,
                        vdvs_error_t *err);

/* pvscsi.c: controllers, units and the PCI addresses the guest sees. */
#define MOCK_PVSCSI_CONTROLLERS 4
#define MOCK_PVSCSI_UNITS 16
#define MOCK_PVSCSI_RESERVED_UNIT 7
void mock_pvscsi_device (int ctl, int unit, struct vdvs_device *dev);
/* Controller index of a device spec, or -1. */
int mock_pvscsi_controller (const struct vdvs_device *dev);
/* Secondary PCI bus behind the bridge of controller `ctl` (VMware: 3, 11,
 * 19, 27), as the guest reads it from sysfs. */
int mock_pvscsi_secondary_bus (int ctl);
/* Upstream get_controller_pci_slot: slot number -> "<hex bridge>.<func>". */
int mock_pvscsi_bus_string (unsigned slot, char *buf, size_t len);

/* loopdev.c: loop devices and their guest-visible names. */
int mock_loop_attach (const char *backing, const char *tag, char *dev,
                      size_t dev_len, vdvs_error_t *err);
/* Clears `dev` only while it backs `backing` (or, the extent unreachable,
 * carries `tag`): a device reused for another volume is never touched. */
int mock_loop_detach (const char *dev, const char *backing, const char *tag,
                      vdvs_error_t *err);
/* Is `dev` bound, right now, to the file `backing` (which must be
 * reachable)?  The test for reusing an attachment. */
bool mock_loop_is_backing (const char *dev, const char *backing);
int mock_publish_device (const struct mock *m, const struct vdvs_device *d,
                         const char *loopdev, vdvs_error_t *err);
void mock_unpublish_device (const struct mock *m, const struct vdvs_device *d);

/* vmdkfs.c: the FUSE view the extents are served through. */
int mock_vmdkfs_start (struct mock *m, vdvs_error_t *err);
void mock_vmdkfs_stop (struct mock *m);
/* Path of a volume's extent as the loop device must open it. */
void mock_vmdkfs_extent_path (const struct mock *m, const struct mock_vol *v,
                              char *buf, size_t len);
void mock_vmdkfs_health (struct mock *m, struct vdvs_backend_health *h);

/* extent.c: the data extent v->flat, made or copied with progress; on
 * failure nothing is left behind.  0, or <0 with *err set. */
int mock_extent_make (const struct mock *m, const struct mock_vol *v,
                      uint64_t bytes, const char *format, vdvs_error_t *err);
int mock_extent_copy (const struct mock *m, const struct mock_vol *src,
                      const struct mock_vol *v, vdvs_error_t *err);

/* authdb.c: the Config DB (authdb.h).  open: 0 with *db NULL when there
 * is none (NotConfigured), the upstream "DB access error" when broken.
 * begin starts an IMMEDIATE transaction (waiting up to the busy timeout
 * for other processes). */
int mock_authdb_open (struct mock *m, void **db, vdvs_error_t *err);
void mock_authdb_close (void *db);
int mock_authdb_begin (void *db, vdvs_error_t *err);
int mock_authdb_commit (void *db, vdvs_error_t *err);
void mock_authdb_rollback (void *db);
/* Record this handle's VM name under <root>/.vms/<uuid>/name: the host
 * inventory `vmgroup vm add` finds VMs by name in. */
void mock_inventory_register (const struct mock *m);

/* auth.c: a VM's request authorized (reference admin-tenancy.md §3). */
struct mock_auth
{
  void *db;           /* the Config DB; NULL: NotConfigured */
  char tenant_id[64]; /* the VM's vmgroup */
  char tenant_name[256];
  char default_url[PATH_MAX]; /* its default datastore, "_VM_DS://" */
  char url[PATH_MAX];         /* "/vmfs/volumes/<ds>" of the target */
  char vol[VDVS_MAX_VOL_NAME_LEN * 4 + 1];
  bool reserved; /* our volumes row, taken back on failure */
};
/* The VM's vmgroup and default datastore (errors: DB access, "VM .. does
 * not belong to any vmgroup" with status EPERM, "Default datastore is not
 * set ..").  On success the caller ends with mock_auth_end. */
int mock_auth_begin (struct mock *m, struct mock_auth *a, vdvs_error_t *err);
/* mock_resolve with a short name sent to the vmgroup's default datastore;
 * *explicit_ds says whether the name carried "@ds". */
int mock_auth_resolve (const struct mock *m, const struct mock_auth *a,
                       const char *name, struct mock_vol *v, bool *explicit_ds,
                       vdvs_error_t *err);
/* Create of `mb` MiB (0: the size did not convert): privilege, size and
 * quota checks; with `account`, the volumes row written in the same
 * transaction. */
int mock_auth_create (const struct mock *m, struct mock_auth *a,
                      const struct mock_vol *v, bool explicit_ds, uint64_t mb,
                      bool account, vdvs_error_t *err);
int mock_auth_remove (const struct mock *m, struct mock_auth *a,
                      const struct mock_vol *v, bool explicit_ds,
                      vdvs_error_t *err);
/* Attach, detach, get: any privilege row for the target suffices ("No
 * access privilege exists" otherwise); v resolved as mock_auth_resolve
 * does, in the vmgroup's folder. */
int mock_auth_mount (struct mock *m, const char *name, struct mock_vol *v,
                     vdvs_error_t *err);
/* v resolved as mock_auth_resolve does, with no privilege check: for
 * admin work done as the handle's VM. */
int mock_auth_locate (struct mock *m, const char *name, struct mock_vol *v,
                      vdvs_error_t *err);
/* Where a short name lives for this VM: its vmgroup's default datastore,
 * or its own (ds[0]) without a DB, for _VM_DS, or on any DB error. */
const char *mock_auth_default_ds (struct mock *m);
/* The volume is gone: its volumes row too. */
void mock_auth_removed (struct mock_auth *a);
/* Done: `ok` false after an authorized create failed takes its row back. */
void mock_auth_end (struct mock_auth *a, bool ok);

/* The backend's ops, one file per idea; mock.c holds the vtable. */
/* volume.c */
int mock_create (void *handle, const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err);
int mock_clone (void *handle, const char *name, const char *source,
                const struct vdvs_opts *opts, vdvs_error_t *err);
int mock_remove (void *handle, const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err);
/* Remove v, under its lock (mock_lock): the upstream "not found", or "in
 * use by VM" while any VM has it attached. */
int mock_remove_locked (const struct mock_vol *v, vdvs_error_t *err);
/* attach.c */
int mock_attach (void *handle, const char *name, struct vdvs_device *dev,
                 vdvs_error_t *err);
int mock_detach (void *handle, const char *name, vdvs_error_t *err);
/* The record file of unit (ctl, unit) of the VM `uuid`, and the loop
 * device and "<datastore>/<volume>" key it names (admin.c reads them). */
void mock_vm_unit_path (const struct mock *m, const char *uuid, int ctl,
                        int unit, char *buf, size_t len);
int mock_read_unit (const char *path, char *loopdev, size_t llen, char *key,
                    size_t klen);
/* listget.c */
int mock_list (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err);
int mock_get (void *handle, const char *name, struct vdvs_volume_info *out,
              vdvs_error_t *err);
uint64_t mock_list_version (void *handle);

#endif
