/* Create/Mount/Unmount/Remove (src/volumes.c) over a scripted fake backend:
 * which backend calls each makes when things fail, so that no volume is
 * formatted, removed or detached when it must not be.  No loop device: a
 * device path failure comes from an empty sysfs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "vdvs/mkfs.h"

#include "backend_i.h"
#include "config.h"
#include "t_helpers.h"
#include "volumes.h"

enum attach_mode
{
  ATTACH_OK,         /* a well-formed reply; no such device in sysfs */
  ATTACH_NO_BUS,     /* no ControllerPciBusNumber (older VIBs) */
  ATTACH_UNREADABLE, /* a reply the backend could not parse */
};

/* The script and what the core did. */
static struct
{
  int create_status;      /* 0, or EEXIST: "already exists" */
  bool get_null;          /* get answers `null` (a corrupt sidecar) */
  const char *status;     /* get's "status" */
  const char *created_by; /* get's "created by VM" */
  bool attached_here;     /* attach makes get say "attached to VM" us */
  enum attach_mode attach;
  char calls[1024]; /* "create get attach ..." */
} fk;

static char tmp[PATH_MAX];
static struct vdvs_config cfg;
static struct vdvs_bk bk;

static void
record (const char *op, const char *name)
{
  size_t n = strlen (fk.calls);
  snprintf (fk.calls + n, sizeof fk.calls - n, "%s%s(%s)", n ? " " : "", op,
            name);
}

static int
fk_create (void *h, const char *name, const struct vdvs_opts *o,
           vdvs_error_t *err)
{
  (void) h, (void) o;
  record ("create", name);
  if (fk.create_status == EEXIST)
    return vdvs_error_set (err, EEXIST,
                           "File /vmfs/volumes/ds1/dockvols/"
                           "_DEFAULT/%s.vmdk already exists",
                           name);
  return 0;
}

static int
fk_remove (void *h, const char *name, const struct vdvs_opts *o,
           vdvs_error_t *err)
{
  (void) h, (void) o, (void) err;
  record ("remove", name);
  return 0;
}

static int
fk_attach (void *h, const char *name, struct vdvs_device *dev,
           vdvs_error_t *err)
{
  (void) h;
  record ("attach", name);
  fk.attached_here = true;
  memset (dev, 0, sizeof *dev);
  if (fk.attach == ATTACH_UNREADABLE)
    return vdvs_error_set (err, EBADMSG, "Invalid attach reply from ESX: 42");
  snprintf (dev->unit, sizeof dev->unit, "0");
  snprintf (dev->pci_slot, sizeof dev->pci_slot, "160");
  if (fk.attach == ATTACH_OK)
    snprintf (dev->pci_bus, sizeof dev->pci_bus, "17.0");
  return 0;
}

static int
fk_detach (void *h, const char *name, vdvs_error_t *err)
{
  (void) h, (void) err;
  record ("detach", name);
  fk.attached_here = false;
  return 0;
}

static int
fk_list (void *h, struct vdvs_volume_list *out, vdvs_error_t *err)
{
  (void) h, (void) out, (void) err;
  record ("list", "");
  return 0;
}

static int
fk_get (void *h, const char *name, struct vdvs_volume_info *out,
        vdvs_error_t *err)
{
  (void) h, (void) err;
  record ("get", name);
  memset (out, 0, sizeof *out);
  if (fk.get_null)
    return 0;
  out->datastore = strdup ("ds1");
  out->status = strdup (fk.attached_here ? "attached" : fk.status);
  out->created_by = strdup (fk.created_by);
  if (fk.attached_here)
    out->attached_to_vm = strdup ("this-vm");
  return 0;
}

static const struct vdvs_backend fake = {
  VDVS_BACKEND_INIT,   .name = "fake",      .create = fk_create,
  .remove = fk_remove, .attach = fk_attach, .detach = fk_detach,
  .list = fk_list,     .get = fk_get,
};

static void
setup (void)
{
  char d[PATH_MAX + 16];

  memset (&fk, 0, sizeof fk);
  fk.status = "detached";
  fk.created_by = "this-vm";
  t_mkdtemp (tmp, sizeof tmp, "volumes");
  snprintf (d, sizeof d, "%s/sys", tmp);
  mkdir (d, 0755);
  snprintf (d, sizeof d, "%s/dev", tmp);
  mkdir (d, 0755);
  bk.ops = fake;
  bk.handle = NULL;
  memset (&cfg, 0, sizeof cfg);
  snprintf (cfg.mount_root, sizeof cfg.mount_root, "%s/mnt", tmp);
  snprintf (cfg.state_dir, sizeof cfg.state_dir, "%s/state", tmp);
  snprintf (cfg.sysfs_root, sizeof cfg.sysfs_root, "%s/sys", tmp);
  snprintf (cfg.dev_root, sizeof cfg.dev_root, "%s/dev", tmp);
  cfg.device_timeout_ms = 200;
  mkdir (cfg.mount_root, 0755);
}

static void
init (void)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (vdvs_volumes_init (&cfg, &bk, &err), 0, "%s",
                err ? err->msg : "");
}

static void
teardown (void)
{
  t_rmrf (tmp);
}

TestSuite (volumes, .init = setup, .fini = teardown);

static int
create (const char *name, const char *fstype, const char *size,
        vdvs_error_t *err)
{
  struct vdvs_opts o = { 0 };
  int r;

  if (fstype)
    vdvs_opts_set (&o, "fstype", fstype);
  if (size)
    vdvs_opts_set (&o, "size", size);
  r = vdvs_vol_create (name, &o, err);
  vdvs_opts_clear (&o);
  return r;
}

/* An attach reply the backend cannot read still attached the disk: the
 * half-made volume is detached, then removed (it is this call's own). */
Test (volumes, create_detaches_and_removes_after_an_unreadable_attach_reply)
{
  vdvs_error_t err = NULL;

  init ();
  fk.attach = ATTACH_UNREADABLE;
  cr_assert_lt (create ("v", NULL, NULL, &err), 0);
  cr_assert_str_eq (err->msg, "Invalid attach reply from ESX: 42");
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "create(v) get(v) attach(v@ds1) detach(v@ds1) "
                              "remove(v)");
}

/* No ControllerPciBusNumber: upstream's "Device not found", detached and
 * removed. */
Test (volumes, create_with_no_device_is_device_not_found)
{
  vdvs_error_t err = NULL;

  init ();
  fk.attach = ATTACH_NO_BUS;
  cr_assert_lt (create ("v", NULL, NULL, &err), 0);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "create(v) get(v) attach(v@ds1) detach(v@ds1) "
                              "remove(v)");
  memset (fk.calls, 0, sizeof fk.calls);
  fk.attach = ATTACH_OK; /* a reply, but no such controller in sysfs */
  cr_assert_lt (create ("w", NULL, NULL, &err), 0);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "create(w) get(w) attach(w@ds1) detach(w@ds1) "
                              "remove(w)");
}

/* "already exists" (a retried create, someone else's volume): an error,
 * and whatever happens while looking at it, never a remove. */
Test (volumes, create_of_an_existing_volume_never_removes_it)
{
  vdvs_error_t err = NULL;
  const char *want = "File /vmfs/volumes/ds1/dockvols/_DEFAULT/v.vmdk "
                     "already exists";

  init ();
  fk.create_status = EEXIST;
  fk.attach = ATTACH_UNREADABLE;
  cr_assert_lt (create ("v", NULL, NULL, &err), 0);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "create(v) get(v) attach(v@ds1) detach(v@ds1)");

  memset (fk.calls, 0, sizeof fk.calls);
  fk.attach = ATTACH_OK;
  cr_assert_lt (create ("v", NULL, NULL, &err), 0);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "create(v) get(v) attach(v@ds1) detach(v@ds1)");

  /* In use (attached somewhere): not even looked at. */
  memset (fk.calls, 0, sizeof fk.calls);
  fk.status = "attached";
  cr_assert_lt (create ("v", NULL, NULL, &err), 0);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "create(v) get(v)");
}

Test (volumes, remove_does_not_call_get)
{
  vdvs_error_t err = NULL;

  init ();
  cr_assert_eq (vdvs_vol_remove ("v", &err), 0, "%s", err ? err->msg : "");
  cr_assert_str_eq (fk.calls, "remove(v)");
  memset (fk.calls, 0, sizeof fk.calls);
  fk.get_null = true;
  cr_assert_eq (vdvs_vol_remove ("w@ds1", &err), 0, "%s", err ? err->msg : "");
  cr_assert_str_eq (fk.calls, "remove(w@ds1)");
}

/* get answers `null`: a full name is mounted with the defaults (here the
 * attach goes ahead; the empty sysfs then stops it, and it is detached). */
Test (volumes, mount_of_a_full_name_without_metadata_goes_ahead)
{
  char mp[PATH_MAX];
  vdvs_error_t err = NULL;

  init ();
  fk.get_null = true;
  cr_assert_lt (vdvs_vol_mount ("v@ds1", "id1", mp, sizeof mp, &err), 0);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "get(v@ds1) attach(v@ds1) detach(v@ds1)");
  /* A short name cannot be found without a datastore. */
  memset (fk.calls, 0, sizeof fk.calls);
  cr_assert_lt (vdvs_vol_mount ("v", "id1", mp, sizeof mp, &err), 0);
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "get(v)");
}

/* The mount root is created with its missing parents, as upstream's
 * MkdirAll (a fresh Windows profile has no vsphere-storage-for-docker). */
Test (volumes, mount_creates_the_mount_root_and_its_parents)
{
  char mp[PATH_MAX];
  struct stat st;
  vdvs_error_t err = NULL;

  snprintf (cfg.mount_root, sizeof cfg.mount_root, "%s/a/b/mnt", tmp);
  init ();
  cr_assert_lt (vdvs_vol_mount ("v@ds1", "id1", mp, sizeof mp, &err), 0);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
  cr_assert_eq (stat (cfg.mount_root, &st), 0);
  cr_assert (S_ISDIR (st.st_mode));
}

/* The engine asks Get before it mounts: a full name answers, as upstream
 * (its Status empty), a short one cannot be resolved. */
Test (volumes, get_of_a_full_name_without_metadata_answers)
{
  struct vdvs_vol_status st;
  char want[PATH_MAX + 16];
  vdvs_error_t err = NULL;

  init ();
  fk.get_null = true;
  cr_assert_eq (vdvs_vol_get ("v@ds1", &st, &err), 0, "%s",
                err ? err->msg : "");
  cr_assert_str_eq (st.full, "v@ds1");
  snprintf (want, sizeof want, "%s/v@ds1", cfg.mount_root);
  cr_assert_str_eq (st.mountpoint, want);
  cr_assert_null (st.info.fstype);
  vdvs_volume_info_clear (&st.info);
  cr_assert_lt (vdvs_vol_get ("v", &st, &err), 0);
  vdvs_error_release (&err);
  vdvs_volume_info_clear (&st.info);
}

/* Skips the test without mkfs.xfs. */
static void
need_mkfs_xfs (void)
{
  char path[PATH_MAX];
  vdvs_error_t err = NULL;

  if (vdvs_mkfs_find ("xfs", path, sizeof path, &err) < 0)
    {
      vdvs_error_release (&err);
      cr_skip_test ("no mkfs.xfs");
    }
}

Test (volumes, xfs_below_its_minimum_size_is_refused_before_create)
{
  vdvs_error_t err = NULL;

  need_mkfs_xfs ();
  init ();
  cr_assert_lt (create ("v", "xfs", NULL, &err), 0);
  cr_assert_str_eq (err->msg, "Volume size 100mb (the default) is too small "
                              "for fstype xfs: mkfs.xfs needs at least 300mb "
                              "(use -o size=300mb or more)");
  vdvs_error_release (&err);
  cr_assert_lt (create ("v", "xfs", "299MB", &err), 0);
  cr_assert (strstr (err->msg, "Volume size 299MB is too small") != NULL, "%s",
             err->msg);
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "");
  fk.attach = ATTACH_NO_BUS;
  cr_assert_lt (create ("v", "xfs", "300mb", &err), 0);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
  cr_assert (strncmp (fk.calls, "create(v)", 9) == 0, "%s", fk.calls);
}

/* The minimum check reads sizes with the upstream parser (vdvs/size.h):
 * any case of the unit, leading zeros.  A size it cannot read is the
 * backend's to refuse, with the upstream size error. */
Test (volumes, xfs_minimum_check_reads_sizes_as_upstream)
{
  vdvs_error_t err = NULL;

  need_mkfs_xfs ();
  init ();
  cr_assert_lt (create ("v", "xfs", "0299mB", &err), 0);
  cr_assert (strstr (err->msg, "Volume size 0299mB is too small") != NULL,
             "%s", err->msg);
  vdvs_error_release (&err);
  cr_assert_str_eq (fk.calls, "");
  fk.attach = ATTACH_NO_BUS;
  cr_assert_lt (create ("v", "xfs", "100mbb", &err), 0);
  vdvs_error_release (&err);
  cr_assert (strncmp (fk.calls, "create(v)", 9) == 0, "%s", fk.calls);
}

/* An Unmount whose file system stays busy (an open file) answers the
 * error and keeps the disk attached: a hot-remove would drop its dirty
 * data.  Needs root for the mount (a tmpfs standing in for the disk). */
Test (volumes, busy_unmount_keeps_the_disk_attached)
{
  char mp[PATH_MAX], file[PATH_MAX + 16], got[PATH_MAX];
  vdvs_error_t err = NULL;
  int fd;

  if (geteuid () != 0)
    cr_skip_test ("needs root to mount");
  snprintf (mp, sizeof mp, "%s/v@ds1", cfg.mount_root);
  cr_assert_eq (mkdir (mp, 0755), 0);
  cr_assert_eq (mount ("tmpfs", mp, "tmpfs", 0, "size=1m"), 0, "%s",
                strerror (errno));
  init (); /* finds the mount, as after a restart */
  cr_assert_eq (vdvs_vol_mount ("v@ds1", "id1", got, sizeof got, &err), 0,
                "%s", err ? err->msg : "");
  cr_assert_str_eq (got, mp);
  snprintf (file, sizeof file, "%s/busy", mp);
  fd = open (file, O_RDWR | O_CREAT, 0644);
  cr_assert_geq (fd, 0);
  memset (fk.calls, 0, sizeof fk.calls);
  cr_assert_lt (vdvs_vol_unmount ("v@ds1", "id1", &err), 0);
  cr_assert (strstr (err->msg, "Unmount device at ") != NULL
                 && strstr (err->msg, "Device or resource busy") != NULL,
             "%s", err->msg);
  vdvs_error_release (&err);
  cr_assert_eq (strstr (fk.calls, "detach"), NULL, "%s", fk.calls);
  close (fd);
  umount2 (mp, MNT_DETACH);
}
