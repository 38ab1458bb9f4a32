/* The disk steps of vdvsd on Windows, on top of one set of OS operations
 * (disk.h): the Win32 one, or the simulated one the wine tests select with
 * VDVS_DISK_SIM=DIR.  Device ids are "scsi:<slot>:<unit>:<bus>" from the
 * attach reply; a mount's source is "\\.\PhysicalDriveN".  Mounts are
 * access paths of partition 1 of an MBR disk formatted NTFS. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vdvs/clock.h"
#include "vdvs/log.h"
#include "vdvs/mkfs.h"

#include "device.h"
#include "disk.h"
#include "mounts.h"

static const struct vdvs_win_disk_ops *ops;
static char ops_error[512];
static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

/* The layer, chosen once: VDVS_DISK_SIM=DIR (tests only) or Win32. */
static void
choose_ops (void)
{
  const char *sim = getenv ("VDVS_DISK_SIM");
  vdvs_error_t e = NULL;

  if (sim == NULL || sim[0] == '\0')
    {
      ops = &vdvs_win_disk_win32;
      return;
    }
  if (vdvs_win_disk_sim_init (sim, &e) < 0)
    {
      snprintf (ops_error, sizeof ops_error, "%s", e->msg);
      vdvs_error_release (&e);
      return;
    }
  ops = &vdvs_win_disk_sim;
  vdvs_log (VDVS_LOG_WARN, "Disks are simulated (VDVS_DISK_SIM, tests only)",
            "dir=%s", sim);
}

static const struct vdvs_win_disk_ops *
get_ops (vdvs_error_t *err)
{
  pthread_once (&ops_once, choose_ops);
  if (ops == NULL)
    vdvs_error_set (err, EIO, "the simulated disk layer cannot start: %s",
                    ops_error);
  return ops;
}

/* The roots of the last device_path call: the simulated layer finds its
 * device tree there.  Set from the configuration, the same every time. */
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vdvs_device_roots roots;

int
vdvs_device_path (const struct vdvs_device_roots *r,
                  const struct vdvs_device *dev, char *out, size_t len,
                  vdvs_error_t *err)
{
  if (vdvs_win_device_id (dev, out, len, err) < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Get device path failed: bad attach reply",
                "unit=\"%s\" pci_slot=\"%s\" pci_bus=\"%s\"", dev->unit,
                dev->pci_slot, dev->pci_bus);
      return -1;
    }
  pthread_mutex_lock (&roots_lock);
  roots = *r;
  pthread_mutex_unlock (&roots_lock);
  return 0;
}

/* The disk number of a device id or a mount source: 1, 0 when the
 * disk of a device id is not present, <0 with err. */
static int
find_disk (const struct vdvs_win_disk_ops *o, const char *device, int *disk,
           vdvs_error_t *err)
{
  struct vdvs_device dev;
  struct vdvs_device_roots r;

  if ((*disk = vdvs_win_disk_number (device)) >= 0)
    return 1;
  if (vdvs_win_device_id_parse (device, &dev) < 0)
    return vdvs_error_set (err, EINVAL,
                           "`%s` is neither a disk of an attach reply "
                           "(scsi:SLOT:UNIT:BUS) nor \\\\.\\PhysicalDriveN",
                           device);
  pthread_mutex_lock (&roots_lock);
  r = roots;
  pthread_mutex_unlock (&roots_lock);
  return o->find (&r, &dev, disk, err);
}

static int
disk_of (const char *device, int *disk, vdvs_error_t *err)
{
  const struct vdvs_win_disk_ops *o = get_ops (err);
  int r;

  if (o == NULL || (r = find_disk (o, device, disk, err)) < 0)
    return -1;
  if (r == 0)
    {
      struct vdvs_device dev;
      vdvs_win_device_id_parse (device, &dev);
      return vdvs_error_set (err, ENODEV,
                             "Could not identify disk for controller = %s, "
                             "unit = %s",
                             dev.pci_slot, dev.unit);
    }
  return 0;
}

/* Polled every 100 ms, bounded: device-arrival notifications reach a
 * service only through its control handler, and the simulated tree has
 * none. */
int
vdvs_device_wait (const char *path, int timeout_ms, vdvs_error_t *err)
{
  const struct vdvs_win_disk_ops *o = get_ops (err);
  int64_t deadline = vdvs_mono_ns () + (int64_t) timeout_ms * 1000000;
  int disk;

  if (o == NULL)
    return -1;
  for (;;)
    {
      int r = find_disk (o, path, &disk, err);
      struct timespec ts = { 0, 100 * 1000 * 1000 };
      if (r < 0)
        return -1;
      if (r == 1)
        return 0;
      if (vdvs_mono_ns () >= deadline)
        break;
      nanosleep (&ts, NULL);
    }
  vdvs_log (VDVS_LOG_WARN, "Disk did not appear", "device=%s timeout_ms=%d",
            path, timeout_ms);
  /* Upstream's text, trailing space included. */
  return vdvs_error_set (err, ETIMEDOUT, "Disk mapping timed out ");
}

/* What disk holds: see vdvs_win_classify. */
static int
probe_disk (const struct vdvs_win_disk_ops *o, int disk, char *type,
            size_t len, vdvs_error_t *err)
{
  uint8_t s0[VDVS_WIN_SECTOR], part[VDVS_WIN_SECTOR];
  uint64_t lba, n;
  uint32_t sig;
  bool have_part = false;

  if (o->read (disk, 0, s0, sizeof s0, err) < 0)
    return -1;
  if (vdvs_win_mbr_parse (s0, &lba, &n, &sig) == 1)
    {
      if (o->read (disk, lba * VDVS_WIN_SECTOR, part, sizeof part, err) < 0)
        return -1;
      have_part = true;
    }
  return vdvs_win_classify (s0, have_part ? part : NULL, type, len);
}

/* Enumerate access paths into one matching `dir` (or all under root). */
struct path_walk
{
  const char *dir;  /* the access path looked for, or NULL */
  const char *root; /* or the mount root */
  int disk;         /* found: the disk of `dir` */
  void (*fn) (const char *name, const char *source, void *opaque);
  void *opaque;
};

static void
path_cb (const char *dir, int disk, void *opaque)
{
  struct path_walk *w = opaque;
  char name[512], source[64];

  if (w->dir != NULL)
    {
      char d[1024];
      vdvs_win_dir (dir, d, sizeof d);
      if (w->disk < 0 && strcasecmp (d, w->dir) == 0)
        w->disk = disk;
      return;
    }
  if (vdvs_win_under (dir, w->root, name, sizeof name))
    {
      vdvs_win_disk_source (disk, source, sizeof source);
      w->fn (name, source, w->opaque);
    }
}

bool
vdvs_is_mounted (const char *mountpoint, char *source, size_t len)
{
  char dir[1024];
  vdvs_error_t e = NULL;
  const struct vdvs_win_disk_ops *o = get_ops (&e);
  struct path_walk w = { .dir = dir, .disk = -1 };

  vdvs_win_dir (mountpoint, dir, sizeof dir);
  if (o == NULL || o->paths (path_cb, &w, &e) < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Cannot list access paths",
                "mountpoint=%s error=\"%s\"", mountpoint, e->msg);
      vdvs_error_release (&e);
      return false;
    }
  if (w.disk >= 0 && source != NULL)
    vdvs_win_disk_source (w.disk, source, len);
  return w.disk >= 0;
}

int
vdvs_mounts_under (const char *root,
                   void (*fn) (const char *name, const char *source,
                               void *opaque),
                   void *opaque)
{
  vdvs_error_t e = NULL;
  const struct vdvs_win_disk_ops *o = get_ops (&e);
  struct path_walk w = { .root = root, .fn = fn, .opaque = opaque };

  if (o == NULL || o->paths (path_cb, &w, &e) < 0)
    {
      int r = -e->status;
      vdvs_log (VDVS_LOG_WARN, "Cannot list access paths",
                "root=%s error=\"%s\"", root, e->msg);
      vdvs_error_release (&e);
      return r < 0 ? r : -EIO;
    }
  return 0;
}

/* Windows mounts take no options: only "" is valid. */
int
vdvs_mount_options_parse (const char *options, unsigned long *flags,
                          vdvs_error_t *err)
{
  *flags = 0;
  if (options == NULL || options[0] == '\0')
    return 0;
  return vdvs_error_set (err, EINVAL,
                         "mount option `%s` is not valid on Windows: "
                         "volumes there take no mount options",
                         options);
}

unsigned long
vdvs_mount_flags (bool read_only, unsigned long options)
{
  (void) read_only;
  return options;
}

static int
ntfs_only (const char *fstype, vdvs_error_t *err)
{
  if (strcmp (fstype, "ntfs") == 0)
    return 0;
  return vdvs_error_set (err, EINVAL,
                         "Not found mkfs for %s\nSupported filesystems: ntfs",
                         fstype);
}

/* Online, read-only as asked, then the access path on partition 1 (a disk
 * without NTFS fails, as mount(2) does on Linux, so that Mount finishes a
 * half-made Create). */
int
vdvs_mount (const char *device, const char *mountpoint, const char *fstype,
            bool read_only, unsigned long options, vdvs_error_t *err)
{
  const struct vdvs_win_disk_ops *o = get_ops (err);
  char dir[1024], type[64];
  int disk, r;

  (void) options;
  if (o == NULL || ntfs_only (fstype, err) < 0
      || disk_of (device, &disk, err) < 0)
    return -1;
  vdvs_win_dir (mountpoint, dir, sizeof dir);
  if (o->set_online (disk, true, err) < 0
      || o->set_read_only (disk, read_only, err) < 0)
    return -1;
  r = probe_disk (o, disk, type, sizeof type, err);
  if (r < 0)
    return -1;
  if (r == 0 || strcmp (type, "ntfs") != 0)
    {
      /* No file system, so no other mount: offline again before the
       * caller detaches it. */
      vdvs_error_t e = NULL;
      if (o->set_online (disk, false, &e) < 0)
        vdvs_log (VDVS_LOG_WARN, "Cannot take a disk offline",
                  "disk=%d error=\"%s\"", disk, e->msg);
      vdvs_error_release (&e);
      return vdvs_error_set (err, EINVAL,
                             "disk %d (%s) holds no NTFS file system on "
                             "partition 1 (found: %s)",
                             disk, device, r == 0 ? "nothing" : type);
    }
  if (o->add_path (disk, dir, err) < 0)
    return vdvs_error_wrap (err, "cannot mount disk %d at %s", disk, dir);
  return 0;
}

/* Remove the access path, then take the disk offline before its detach. */
int
vdvs_umount (const char *mountpoint, const char *device, vdvs_error_t *err)
{
  const struct vdvs_win_disk_ops *o = get_ops (err);
  char dir[1024];
  int disk;

  if (o == NULL)
    return -1;
  vdvs_win_dir (mountpoint, dir, sizeof dir);
  if (o->remove_path (dir, err) < 0)
    return vdvs_error_wrap (err, "Failed to unmount disk from '%s'", dir);
  if (disk_of (device, &disk, err) < 0 || o->set_online (disk, false, err) < 0)
    return vdvs_error_wrap (err, "unmounted %s but cannot take %s offline",
                            dir, device);
  return 0;
}

/* Removing an access path never leaves a lazily detached mount behind. */
bool
vdvs_device_free (const char *device)
{
  (void) device;
  return true;
}

/* Only NTFS, with upstream's Windows message for anything else. */
int
vdvs_mkfs_find (const char *fstype, char *path, size_t len, vdvs_error_t *err)
{
  if (strcmp (fstype, "ntfs") == 0)
    {
      snprintf (path, len, "ntfs");
      return 0;
    }
  return vdvs_error_set (err, ENOENT,
                         "Not found mkfs for %s\nSupported filesystems: ntfs",
                         fstype);
}

void
vdvs_mkfs_label (const char *fstype, const char *name, char *out, size_t len)
{
  (void) fstype;
  vdvs_win_ntfs_label (name, out, len);
}

/* Online and writable, MBR with one partition of the whole disk, NTFS,
 * then read back: a format that reports success without leaving NTFS
 * behind fails here. */
int
vdvs_mkfs_run (const char *fstype, const char *device, const char *name,
               vdvs_error_t *err)
{
  const struct vdvs_win_disk_ops *o = get_ops (err);
  char type[64], label[4 * VDVS_WIN_LABEL_MAX + 1];
  uint64_t bytes, sectors;
  uint32_t sig;
  int disk, r;

  if (o == NULL || ntfs_only (fstype, err) < 0
      || disk_of (device, &disk, err) < 0)
    return -1;
  if (o->set_online (disk, true, err) < 0
      || o->set_read_only (disk, false, err) < 0)
    return -1;
  r = probe_disk (o, disk, type, sizeof type, err);
  if (r < 0)
    return -1;
  if (r > 0)
    return vdvs_error_set (err, EEXIST,
                           "disk %d (%s) already holds %s: not formatting it",
                           disk, device, type);
  if (o->size (disk, &bytes, err) < 0)
    return -1;
  if ((sectors = vdvs_win_part_sectors (bytes)) == 0)
    return vdvs_error_set (err, EINVAL,
                           "disk %d (%s) has %llu bytes: too small for a "
                           "partition after the first MiB",
                           disk, device, (unsigned long long) bytes);
  /* A disk signature unique enough among this VM's disks. */
  sig = (uint32_t) (vdvs_mono_ns () ^ (uint64_t) time (NULL) << 20) | 1u;
  vdvs_win_ntfs_label (name, label, sizeof label);
  if (o->partition (disk, sig, sectors, err) < 0
      || o->format (disk, label, err) < 0)
    return vdvs_error_wrap (err, "cannot format disk %d (%s)", disk, device);
  r = probe_disk (o, disk, type, sizeof type, err);
  if (r < 0)
    return -1;
  if (r == 0 || strcmp (type, "ntfs") != 0)
    return vdvs_error_set (err, EIO,
                           "formatting disk %d (%s) reported success, but "
                           "partition 1 holds no NTFS (found: %s)",
                           disk, device, r == 0 ? "nothing" : type);
  vdvs_log (VDVS_LOG_INFO, "Disk formatted", "disk=%d device=%s label=\"%s\"",
            disk, device, label);
  /* Offline until a Mount, as after an Unmount. */
  return o->set_online (disk, false, err);
}

uint64_t
vdvs_mkfs_min_mb (const char *fstype)
{
  (void) fstype;
  return 0;
}

int
vdvs_fs_probe (const char *device, char *type, size_t len, vdvs_error_t *err)
{
  const struct vdvs_win_disk_ops *o = get_ops (err);
  int disk;

  if (o == NULL || disk_of (device, &disk, err) < 0)
    return -1;
  return probe_disk (o, disk, type, len, err);
}
