/* The simulated disk layer (disk.h), for tests under wine, which has no
 * disks, no SetupAPI devices and no PowerShell.  The "attached disks" are
 * the ones esxsim publishes for the guest: the by-path link of the attach
 * reply under --sysfs-root/--dev-root (wine sees Linux paths through Z:),
 * opened and read and written for real.  "Initialize" writes a real MBR,
 * "format" an NTFS boot sector with the label (disklayout.c), and the
 * plugin reads both back.  Disk numbers, online and read-only state and
 * access paths are files under VDVS_DISK_SIM=DIR:
 *   disk-N   the by-path link disk N was found at
 *   state-N  "<online> <read-only>" (0/1); a new disk is offline
 *   path-H   "N SIG" and the access path: live while disk N is online
 *            and still carries MBR signature SIG, as Windows keeps mount
 *            points by volume. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <windows.h>

#include "disk.h"

#define MAX_DISKS 256

static char sim_dir[1024];
/* One lock for the state files: volumes' steps run in parallel. */
static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;

int
vdvs_win_disk_sim_init (const char *dir, vdvs_error_t *err)
{
  DWORD a;

  snprintf (sim_dir, sizeof sim_dir, "%s", dir);
  CreateDirectoryA (dir, NULL);
  a = GetFileAttributesA (dir);
  if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY))
    return vdvs_error_set (err, ENOENT,
                           "VDVS_DISK_SIM=%s is not a directory that can be "
                           "created",
                           dir);
  return 0;
}

static void
state_file (char *out, size_t len, const char *kind, int disk)
{
  snprintf (out, len, "%s/%s-%d", sim_dir, kind, disk);
}

/* The first line of `path` into out; false when it cannot be read. */
static bool
read_line (const char *path, char *out, size_t len)
{
  FILE *f = fopen (path, "rb");
  bool ok;

  if (f == NULL)
    return false;
  ok = fgets (out, (int) len, f) != NULL;
  fclose (f);
  if (ok)
    out[strcspn (out, "\r\n")] = '\0';
  return ok;
}

static int
write_file (const char *path, const char *text, vdvs_error_t *err)
{
  FILE *f = fopen (path, "wb");

  if (f == NULL || fputs (text, f) < 0 || fclose (f) != 0)
    {
      int e = errno;
      return vdvs_error_set (err, e, "simulated disks: cannot write %s: %s",
                             path, strerror (e));
    }
  return 0;
}

/* Opened, not stat'ed: wine gives no attributes for a block device. */
static bool
exists (const char *path)
{
  HANDLE h = CreateFileA (path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                          OPEN_EXISTING, 0, NULL);

  if (h == INVALID_HANDLE_VALUE)
    return false;
  CloseHandle (h);
  return true;
}

/* The by-path link of `dev`, as the Linux guest finds it (src/device.c):
 * the lowest bus behind the controller's bridge. */
static bool
by_path (const struct vdvs_device_roots *r, const struct vdvs_device *dev,
         char *out, size_t len)
{
  char dir[1024], first[256] = "";
  DIR *d;
  struct dirent *de;

  snprintf (dir, sizeof dir, "%s/bus/pci/devices/0000:00:%s/pci_bus",
            r->sysfs_root, dev->pci_bus);
  if ((d = opendir (dir)) == NULL)
    return false;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.'
        && (first[0] == '\0' || strcmp (de->d_name, first) < 0))
      snprintf (first, sizeof first, "%s", de->d_name);
  closedir (d);
  if (first[0] == '\0')
    return false;
  snprintf (out, len, "%s/disk/by-path/pci-%s:00.0-scsi-0:0:%s:0", r->dev_root,
            first, dev->unit);
  return exists (out);
}

static int
sim_find (const struct vdvs_device_roots *r, const struct vdvs_device *dev,
          int *disk, vdvs_error_t *err)
{
  char link[1024], f[1200], have[1024];
  int free_n = -1;

  if (!by_path (r, dev, link, sizeof link))
    return 0;
  pthread_mutex_lock (&sim_lock);
  for (int n = 0; n < MAX_DISKS; n++)
    {
      state_file (f, sizeof f, "disk", n);
      if (!read_line (f, have, sizeof have))
        {
          if (free_n < 0)
            free_n = n;
          continue;
        }
      if (strcmp (have, link) == 0)
        {
          pthread_mutex_unlock (&sim_lock);
          *disk = n;
          return 1;
        }
    }
  if (free_n < 0)
    {
      pthread_mutex_unlock (&sim_lock);
      return vdvs_error_set (err, ENOSPC, "simulated disks: more than %d",
                             MAX_DISKS);
    }
  state_file (f, sizeof f, "disk", free_n);
  if (write_file (f, link, err) < 0)
    {
      pthread_mutex_unlock (&sim_lock);
      return -1;
    }
  pthread_mutex_unlock (&sim_lock);
  *disk = free_n;
  return 1;
}

static int
disk_link (int disk, char *out, size_t len, vdvs_error_t *err)
{
  char f[1200];

  state_file (f, sizeof f, "disk", disk);
  if (!read_line (f, out, len) || !exists (out))
    return vdvs_error_set (err, ENODEV, "simulated disk %d is not present",
                           disk);
  return 0;
}

static void
get_state (int disk, bool *online, bool *ro)
{
  char f[1200], s[32] = "";
  int a = 0, b = 0;

  state_file (f, sizeof f, "state", disk);
  if (read_line (f, s, sizeof s))
    sscanf (s, "%d %d", &a, &b);
  *online = a == 1, *ro = b == 1;
}

static int
put_state (int disk, bool online, bool ro, vdvs_error_t *err)
{
  char f[1200], s[32];

  state_file (f, sizeof f, "state", disk);
  snprintf (s, sizeof s, "%d %d\n", online, ro);
  return write_file (f, s, err);
}

static int
sim_set_online (int disk, bool online, vdvs_error_t *err)
{
  bool on, ro;
  int r;

  pthread_mutex_lock (&sim_lock);
  get_state (disk, &on, &ro);
  r = put_state (disk, online, ro, err);
  pthread_mutex_unlock (&sim_lock);
  return r;
}

static int
sim_set_read_only (int disk, bool read_only, vdvs_error_t *err)
{
  bool on, ro;
  int r;

  pthread_mutex_lock (&sim_lock);
  get_state (disk, &on, &ro);
  r = put_state (disk, on, read_only, err);
  pthread_mutex_unlock (&sim_lock);
  return r;
}

/* n bytes at off on the disk's device; *got short at its end. */
static int
io (int disk, bool write, uint64_t off, void *buf, size_t n, size_t *got,
    vdvs_error_t *err)
{
  char link[1024];
  HANDLE h;
  OVERLAPPED o = { 0 };
  DWORD done = 0;
  BOOL ok;

  *got = 0;
  if (disk_link (disk, link, sizeof link, err) < 0)
    return -1;
  h = CreateFileA (link, write ? GENERIC_READ | GENERIC_WRITE : GENERIC_READ,
                   FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
                   NULL);
  if (h == INVALID_HANDLE_VALUE)
    return vdvs_error_set (err, EIO,
                           "cannot open simulated disk %d (%s): "
                           "error %lu",
                           disk, link, GetLastError ());
  o.Offset = (DWORD) off;
  o.OffsetHigh = (DWORD) (off >> 32);
  ok = write ? WriteFile (h, buf, (DWORD) n, &done, &o)
             : ReadFile (h, buf, (DWORD) n, &done, &o);
  if (!ok && GetLastError () != ERROR_HANDLE_EOF)
    {
      DWORD e = GetLastError ();
      CloseHandle (h);
      return vdvs_error_set (err, EIO,
                             "cannot %s simulated disk %d at %" PRIu64
                             ": error %lu",
                             write ? "write" : "read", disk, off, e);
    }
  if (write && !FlushFileBuffers (h))
    {
      CloseHandle (h);
      return vdvs_error_set (err, EIO, "cannot flush simulated disk %d", disk);
    }
  CloseHandle (h);
  *got = done;
  return 0;
}

static int
sim_read (int disk, uint64_t off, void *buf, size_t n, vdvs_error_t *err)
{
  size_t got;

  if (io (disk, false, off, buf, n, &got, err) < 0)
    return -1;
  if (got != n)
    return vdvs_error_set (err, EIO,
                           "simulated disk %d ends before byte %" PRIu64, disk,
                           off + n);
  return 0;
}

/* Writes need the disk online and writable, as Windows wants. */
static int
sim_write (int disk, uint64_t off, const void *buf, size_t n,
           vdvs_error_t *err)
{
  bool on, ro;
  size_t got;

  pthread_mutex_lock (&sim_lock);
  get_state (disk, &on, &ro);
  pthread_mutex_unlock (&sim_lock);
  if (!on)
    return vdvs_error_set (err, EIO, "simulated disk %d is offline", disk);
  if (ro)
    return vdvs_error_set (err, EROFS, "simulated disk %d is read-only", disk);
  if (io (disk, true, off, (void *) buf, n, &got, err) < 0)
    return -1;
  if (got != n)
    return vdvs_error_set (err, EIO, "short write on simulated disk %d", disk);
  return 0;
}

/* The device's size: the last sector a read reaches (wine reports no size
 * for a block device). */
static int
sim_size (int disk, uint64_t *bytes, vdvs_error_t *err)
{
  uint8_t s[VDVS_WIN_SECTOR];
  uint64_t lo = 0, hi = 1; /* sector lo is readable, hi not known */
  size_t got;

  if (io (disk, false, 0, s, sizeof s, &got, err) < 0)
    return -1;
  if (got != sizeof s)
    {
      *bytes = 0;
      return 0;
    }
  for (;;)
    {
      if (io (disk, false, hi * VDVS_WIN_SECTOR, s, sizeof s, &got, err) < 0)
        return -1;
      if (got != sizeof s)
        break;
      lo = hi;
      if (hi >= (UINT64_C (1) << 40))
        break;
      hi *= 2;
    }
  while (hi - lo > 1)
    {
      uint64_t mid = lo + (hi - lo) / 2;
      if (io (disk, false, mid * VDVS_WIN_SECTOR, s, sizeof s, &got, err) < 0)
        return -1;
      if (got == sizeof s)
        lo = mid;
      else
        hi = mid;
    }
  *bytes = (lo + 1) * VDVS_WIN_SECTOR;
  return 0;
}

static int
sim_partition (int disk, uint32_t sig, uint64_t sectors, vdvs_error_t *err)
{
  uint8_t s[VDVS_WIN_SECTOR], zero[VDVS_WIN_SECTOR] = { 0 };

  vdvs_win_mbr_build (s, sig, sectors);
  /* A fresh partition: no old boot sector shows through. */
  if (sim_write (disk, (uint64_t) VDVS_WIN_PART_LBA * VDVS_WIN_SECTOR, zero,
                 sizeof zero, err)
      < 0)
    return -1;
  return sim_write (disk, 0, s, sizeof s, err);
}

static int
sim_format (int disk, const char *label, vdvs_error_t *err)
{
  uint8_t s[VDVS_WIN_SECTOR];
  uint64_t lba, n;
  uint32_t sig;

  if (sim_read (disk, 0, s, sizeof s, err) < 0)
    return -1;
  if (vdvs_win_mbr_parse (s, &lba, &n, &sig) != 1)
    return vdvs_error_set (err, EINVAL, "simulated disk %d has no partition 1",
                           disk);
  vdvs_win_ntfs_boot_build (s, n, label);
  return sim_write (disk, lba * VDVS_WIN_SECTOR, s, sizeof s, err);
}

static void
path_file (const char *dir, char *out, size_t len)
{
  uint64_t h = UINT64_C (14695981039346656037);

  for (const char *p = dir; *p; p++)
    {
      h ^= (uint64_t) (unsigned char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
      h *= UINT64_C (1099511628211);
    }
  snprintf (out, len, "%s/path-%016" PRIx64, sim_dir, h);
}

/* A path file's disk and dir, if it is live (see the top of the file). */
static bool
live_path (const char *file, int *disk, char *dir, size_t len)
{
  FILE *f = fopen (file, "rb");
  char head[64] = "";
  unsigned sig;
  uint8_t s[VDVS_WIN_SECTOR];
  uint64_t lba, n;
  uint32_t now;
  bool on, ro, ok;
  vdvs_error_t e = NULL;

  if (f == NULL)
    return false;
  ok = fgets (head, sizeof head, f) != NULL && fgets (dir, (int) len, f)
       && sscanf (head, "%d %x", disk, &sig) == 2;
  fclose (f);
  if (!ok)
    return false;
  dir[strcspn (dir, "\r\n")] = '\0';
  get_state (*disk, &on, &ro);
  ok = on && sim_read (*disk, 0, s, sizeof s, &e) == 0
       && vdvs_win_mbr_parse (s, &lba, &n, &now) == 1 && now == sig;
  vdvs_error_release (&e);
  return ok;
}

static int
sim_add_path (int disk, const char *dir, vdvs_error_t *err)
{
  char file[1200], text[1200], live[1024];
  uint8_t s[VDVS_WIN_SECTOR];
  uint64_t lba, n;
  uint32_t sig;
  bool on, ro;
  DIR *d;
  struct dirent *de;
  int other, r;

  pthread_mutex_lock (&sim_lock);
  get_state (disk, &on, &ro);
  pthread_mutex_unlock (&sim_lock);
  if (!on)
    return vdvs_error_set (err, EIO, "simulated disk %d is offline", disk);
  if (sim_read (disk, 0, s, sizeof s, err) < 0)
    return -1;
  if (vdvs_win_mbr_parse (s, &lba, &n, &sig) != 1)
    return vdvs_error_set (err, EINVAL, "simulated disk %d has no partition",
                           disk);
  /* As SetVolumeMountPoint: an existing, empty directory. */
  if ((d = opendir (dir)) == NULL)
    return vdvs_error_set (err, ENOENT, "%s is not a directory", dir);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      break;
  closedir (d);
  if (de != NULL)
    return vdvs_error_set (err, ENOTEMPTY, "%s is not empty", dir);
  path_file (dir, file, sizeof file);
  pthread_mutex_lock (&sim_lock);
  if (live_path (file, &other, live, sizeof live))
    {
      pthread_mutex_unlock (&sim_lock);
      return vdvs_error_set (err, EBUSY,
                             "%s is already the mount point of "
                             "disk %d",
                             dir, other);
    }
  snprintf (text, sizeof text, "%d %08x\n%s\n", disk, (unsigned) sig, dir);
  r = write_file (file, text, err);
  pthread_mutex_unlock (&sim_lock);
  return r;
}

static int
sim_remove_path (const char *dir, vdvs_error_t *err)
{
  char file[1200], live[1024];
  int disk;
  bool ok;

  path_file (dir, file, sizeof file);
  pthread_mutex_lock (&sim_lock);
  ok = live_path (file, &disk, live, sizeof live);
  if (ok)
    DeleteFileA (file);
  pthread_mutex_unlock (&sim_lock);
  if (!ok)
    return vdvs_error_set (err, ENOENT, "%s is not a mount point", dir);
  return 0;
}

static int
sim_paths (void (*fn) (const char *dir, int disk, void *opaque), void *opaque,
           vdvs_error_t *err)
{
  DIR *d = opendir (sim_dir);
  struct dirent *de;

  if (d == NULL)
    return vdvs_error_set (err, errno, "simulated disks: cannot list %s",
                           sim_dir);
  while ((de = readdir (d)) != NULL)
    {
      char file[1200], dir[1024];
      int disk;
      bool live;
      if (strncmp (de->d_name, "path-", 5) != 0)
        continue;
      snprintf (file, sizeof file, "%s/%s", sim_dir, de->d_name);
      pthread_mutex_lock (&sim_lock);
      live = live_path (file, &disk, dir, sizeof dir);
      pthread_mutex_unlock (&sim_lock);
      if (live)
        fn (dir, disk, opaque);
    }
  closedir (d);
  return 0;
}

const struct vdvs_win_disk_ops vdvs_win_disk_sim = {
  .name = "simulated",
  .find = sim_find,
  .set_online = sim_set_online,
  .set_read_only = sim_set_read_only,
  .size = sim_size,
  .read = sim_read,
  .partition = sim_partition,
  .format = sim_format,
  .add_path = sim_add_path,
  .remove_path = sim_remove_path,
  .paths = sim_paths,
};
