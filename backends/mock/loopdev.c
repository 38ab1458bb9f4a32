/* Attach = a loop device on the volume's extent, published where a guest
 * finds a hot-added PVSCSI disk: a sysfs-shaped PCI tree and a
 * disk/by-path symlink under configurable roots. */
#include "mock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* LOOP_CONFIGURE (5.8) sets the file, the flags and the block size in one
 * call, so no other process can see a half-configured device. */
static int
loop_configure (int loop_fd, int file_fd, const char *tag, bool dio)
{
  struct loop_config cfg;

  memset (&cfg, 0, sizeof cfg);
  cfg.fd = (unsigned) file_fd;
  cfg.block_size = 512;
  cfg.info.lo_flags = dio ? LO_FLAGS_DIRECT_IO : 0;
  snprintf ((char *) cfg.info.lo_file_name, sizeof cfg.info.lo_file_name, "%s",
            tag);
  return ioctl (loop_fd, LOOP_CONFIGURE, &cfg);
}

/* Loop numbers this process is configuring.  LOOP_CTL_GET_FREE returns a
 * device that another thread is still configuring (it is unbound until
 * LOOP_CONFIGURE returns, and that can take long: the kernel fsyncs the
 * backing file, which vmdkfs may stall), and opening it would block on its
 * mutex.  So devices are picked here, never twice at once. */
static pthread_mutex_t claim_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char claimed[1 << 16]; /* protected by claim_lock */

static bool
loop_bound (int n)
{
  char p[64];
  snprintf (p, sizeof p, "/sys/block/loop%d/loop/backing_file", n);
  return access (p, F_OK) == 0;
}

static bool
loop_exists (int n)
{
  char p[64];
  snprintf (p, sizeof p, "/sys/block/loop%d", n);
  return access (p, F_OK) == 0;
}

/* Claim an unbound loop device number, creating one when needed. */
static int
claim_loop (int ctl, int skip_below)
{
  int n = -1;

  pthread_mutex_lock (&claim_lock);
  for (int i = skip_below; i < (int) sizeof claimed; i++)
    {
      if (claimed[i] || (loop_exists (i) && loop_bound (i)))
        continue;
      if (!loop_exists (i) && ioctl (ctl, LOOP_CTL_ADD, i) < 0
          && errno != EEXIST)
        continue;
      n = i;
      claimed[i] = 1;
      break;
    }
  pthread_mutex_unlock (&claim_lock);
  return n;
}

static void
release_loop (int n)
{
  pthread_mutex_lock (&claim_lock);
  claimed[n] = 0;
  pthread_mutex_unlock (&claim_lock);
}

int
mock_loop_attach (const char *backing, const char *tag, char *dev,
                  size_t dev_len, vdvs_error_t *err)
{
  int ctl, file_fd, e = ENODEV, next = 0;

  /* Open for direct I/O, as losetup --direct-io=on does: through vmdkfs
   * the open flags decide how the daemon reaches the backing file, and a
   * buffered open there double-caches (reads from the host page cache,
   * 0.35x kernel loop on 4 KiB random writes, measured). */
  file_fd = open (backing, O_RDWR | O_CLOEXEC | O_DIRECT);
  if (file_fd < 0 && errno == EINVAL)
    file_fd = open (backing, O_RDWR | O_CLOEXEC);
  if (file_fd < 0)
    return vdvs_error_set (err, errno, "cannot open extent `%s`: %s", backing,
                           strerror (errno));
  ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0)
    {
      e = errno;
      close (file_fd);
      return vdvs_error_set (err, e, "cannot open /dev/loop-control: %s",
                             strerror (e));
    }
  /* Another process may still take the same device (EBUSY), or be
   * clearing it (ENXIO): next one. */
  for (int attempt = 0; attempt < 64; attempt++)
    {
      int n = claim_loop (ctl, next), lfd, r;

      if (n < 0)
        {
          e = ENOSPC;
          break;
        }
      next = n + 1;
      snprintf (dev, dev_len, "/dev/loop%d", n);
      lfd = open (dev, O_RDWR | O_CLOEXEC);
      if (lfd < 0 && errno == ENOENT)
        {
          /* No devtmpfs node (some containers): make it ourselves. */
          if (mknod (dev, S_IFBLK | 0660, makedev (7, (unsigned) n)) == 0)
            lfd = open (dev, O_RDWR | O_CLOEXEC);
        }
      if (lfd < 0)
        {
          e = errno;
          release_loop (n);
          /* ENXIO: a device another detach is still tearing down. */
          if (e == ENXIO)
            continue;
          break;
        }
      /* Direct I/O avoids double caching (perf-baselines: dio=off costs 3x
       * on sequential writes); fall back if the backing fs refuses it. */
      r = loop_configure (lfd, file_fd, tag, true);
      if (r < 0 && errno == EINVAL)
        r = loop_configure (lfd, file_fd, tag, false);
      e = r < 0 ? errno : 0;
      close (lfd);
      release_loop (n);
      if (r == 0 || e != EBUSY)
        break;
    }
  close (ctl);
  close (file_fd);
  if (e != 0)
    return vdvs_error_set (err, e, "cannot attach a loop device to `%s`: %s",
                           backing, strerror (e));
  return 0;
}

/* Is the loop device open on lfd bound to `backing`?  Compares device and
 * inode, which survives paths seen through different mounts of the same
 * file system.  When the extent cannot be reached (vmdkfs down), the tag
 * the device was configured with (lo_file_name) says whose it is; with no
 * tag to compare either, `lenient` decides. */
static bool
loop_backs (int lfd, const char *backing, const char *tag, bool lenient)
{
  struct loop_info64 info;
  struct stat st;

  if (ioctl (lfd, LOOP_GET_STATUS64, &info) < 0)
    return false;
  if (backing == NULL)
    return true;
  if (stat (backing, &st) == 0)
    return info.lo_inode == st.st_ino && info.lo_device == st.st_dev;
  if (tag != NULL && tag[0] != '\0')
    return strncmp ((const char *) info.lo_file_name, tag,
                    sizeof info.lo_file_name - 1)
           == 0;
  return lenient;
}

bool
mock_loop_is_backing (const char *dev, const char *backing)
{
  int lfd;
  bool r;

  if (dev[0] == '\0' || (lfd = open (dev, O_RDONLY | O_CLOEXEC)) < 0)
    return false;
  r = loop_backs (lfd, backing, NULL, false);
  close (lfd);
  return r;
}

int
mock_loop_detach (const char *dev, const char *backing, const char *tag,
                  vdvs_error_t *err)
{
  int lfd;

  if (dev[0] == '\0')
    return 0; /* a unit claimed before its loop device was made */
  lfd = open (dev, O_RDWR | O_CLOEXEC);
  if (lfd < 0)
    {
      if (errno == ENOENT || errno == ENXIO)
        return 0; /* already gone */
      return vdvs_error_set (err, errno, "cannot open `%s`: %s", dev,
                             strerror (errno));
    }
  if (!loop_backs (lfd, backing, tag, true))
    {
      /* Unbound, or reused for another file since: nothing of ours. */
      close (lfd);
      return 0;
    }
  /* On a busy device (still mounted) the kernel defers the clear until the
   * last close (autoclear), which is what a hot-remove looks like. */
  if (ioctl (lfd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
    {
      int e = errno;
      close (lfd);
      return vdvs_error_set (err, e, "cannot detach `%s`: %s", dev,
                             strerror (e));
    }
  close (lfd);
  return 0;
}

static void
by_path_name (const struct mock *m, const struct vdvs_device *d, char *buf,
              size_t len)
{
  int ctl = mock_pvscsi_controller (d);
  snprintf (buf, len, "%s/disk/by-path/pci-0000:%02x:00.0-scsi-0:0:%s:0",
            m->cfg.dev_root, mock_pvscsi_secondary_bus (ctl), d->unit);
}

int
mock_publish_device (const struct mock *m, const struct vdvs_device *d,
                     const char *loopdev, vdvs_error_t *err)
{
  char path[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX + 16];
  int ctl = mock_pvscsi_controller (d), r;

  if (ctl < 0)
    return vdvs_error_set (err, EINVAL, "bad controller slot `%s`",
                           d->pci_slot);
  /* <sysfs>/bus/pci/devices/0000:00:<bridge>/pci_bus/0000:<secondary> */
  snprintf (path, sizeof path,
            "%s/bus/pci/devices/0000:00:%s/pci_bus/0000:%02x",
            m->cfg.sysfs_root, d->pci_bus, mock_pvscsi_secondary_bus (ctl));
  if ((r = vdvs_mkdir_p (path, 0755)) < 0)
    return vdvs_error_set (err, -r, "cannot create `%s`: %s", path,
                           strerror (-r));
  snprintf (path, sizeof path, "%s/disk/by-path", m->cfg.dev_root);
  if ((r = vdvs_mkdir_p (path, 0755)) < 0)
    return vdvs_error_set (err, -r, "cannot create `%s`: %s", path,
                           strerror (-r));
  /* Appear atomically (udev does the same): the guest waits with inotify
   * for this exact name and must never see a half-made link. */
  by_path_name (m, d, link, sizeof link);
  snprintf (tmp, sizeof tmp, "%s.tmp", link);
  unlink (tmp);
  if (symlink (loopdev, tmp) < 0 || rename (tmp, link) < 0)
    {
      int e = errno;
      unlink (tmp);
      return vdvs_error_set (err, e, "cannot create `%s`: %s", link,
                             strerror (e));
    }
  return 0;
}

void
mock_unpublish_device (const struct mock *m, const struct vdvs_device *d)
{
  char link[PATH_MAX];

  if (mock_pvscsi_controller (d) < 0)
    return;
  by_path_name (m, d, link, sizeof link);
  unlink (link);
}
