/* Device discovery: see device.h. */
#include "device.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/clock.h"
#include "vdvs/error.h"
#include "vdvs/log.h"
#include "vdvs/types.h"

int
vdvs_device_path (const struct vdvs_device_roots *roots,
                  const struct vdvs_device *dev, char *out, size_t len,
                  vdvs_error_t *err)
{
  char dir[PATH_MAX], first[NAME_MAX + 1] = "";
  DIR *d;
  struct dirent *de;

  /* The bus string comes from the wire: keep it from escaping sysfs. */
  if (dev->pci_bus[0] == '\0' || strchr (dev->pci_bus, '/')
      || strstr (dev->pci_bus, "..") || dev->unit[0] == '\0'
      || strspn (dev->unit, "0123456789") != strlen (dev->unit))
    {
      vdvs_log (VDVS_LOG_WARN, "Get device path failed: bad attach reply",
                "unit=\"%s\" pci_bus=\"%s\"", dev->unit, dev->pci_bus);
      return vdvs_error_set (err, EINVAL, "Device not found");
    }
  snprintf (dir, sizeof dir, "%s/bus/pci/devices/0000:00:%s/pci_bus",
            roots->sysfs_root, dev->pci_bus);
  d = opendir (dir);
  if (d == NULL)
    {
      int e = errno;
      vdvs_log (VDVS_LOG_WARN, "Get device path failed",
                "unit=%s pci_bus=%s "
                "dir=%s error=\"%s\"",
                dev->unit, dev->pci_bus, dir, strerror (e));
      return vdvs_error_set (err, ENODEV, "Device not found");
    }
  /* The lowest-numbered bus behind the bridge, independent of readdir
   * order. */
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.'
        && (first[0] == '\0' || strcmp (de->d_name, first) < 0))
      snprintf (first, sizeof first, "%s", de->d_name);
  closedir (d);
  if (first[0] == '\0')
    {
      vdvs_log (VDVS_LOG_WARN,
                "Get device path failed: no bus behind the "
                "bridge",
                "unit=%s pci_bus=%s dir=%s", dev->unit, dev->pci_bus, dir);
      return vdvs_error_set (err, ENODEV, "Device not found");
    }
  snprintf (out, len, "%s/disk/by-path/pci-%s:00.0-scsi-0:0:%s:0",
            roots->dev_root, first, dev->unit);
  return 0;
}

static bool
is_block (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISBLK (st.st_mode);
}

static long
now_ms (void)
{
  return (long) (vdvs_mono_ns () / 1000000);
}

int
vdvs_device_wait (const char *path, int timeout_ms, vdvs_error_t *err)
{
  char dir[PATH_MAX];
  long deadline = now_ms () + timeout_ms;
  int fd, wd = -1;

  if (is_block (path))
    return 0;
  snprintf (dir, sizeof dir, "%s", path);
  *strrchr (dir, '/') = '\0';
  fd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  for (;;)
    {
      long left;
      /* Watch first, then look: a device that appears in between is
       * either seen by the look or reported by the watch. */
      if (fd >= 0 && wd < 0)
        wd = inotify_add_watch (fd, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
      if (is_block (path))
        break;
      left = deadline - now_ms ();
      if (left <= 0)
        {
          if (fd >= 0)
            close (fd);
          return vdvs_error_set (err, ETIMEDOUT,
                                 "Device %s did not appear within %d ms", path,
                                 timeout_ms);
        }
      if (fd < 0 || wd < 0)
        {
          /* No inotify or no directory yet: short sleeps, still bounded. */
          struct timespec ts = { 0, 20 * 1000 * 1000 };
          nanosleep (&ts, NULL);
          continue;
        }
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll (&p, 1, (int) (left < 100 ? left : 100)) > 0)
        {
          char buf[4096];
          while (read (fd, buf, sizeof buf) > 0)
            ;
        }
    }
  if (fd >= 0)
    close (fd);
  return 0;
}
