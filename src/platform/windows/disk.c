/* The disk steps of vdvsd on Windows (device discovery, NTFS format,
 * access-path mounts) and the Docker engine client: not written yet
 * (docs/windows.md).  Each says so, naming the step, instead of failing
 * some other way; Create and Mount therefore stop after attach, and roll
 * back as on any disk error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vdvs/mkfs.h"

#include "device.h"
#include "mounts.h"

#define NOT_YET "not supported on Windows yet: "

int
vdvs_device_path (const struct vdvs_device_roots *roots,
                  const struct vdvs_device *dev, char *out, size_t len,
                  vdvs_error_t *err)
{
  (void) roots, (void) dev, (void) out, (void) len;
  return vdvs_error_set (err, ENOTSUP,
                         NOT_YET "finding the attached disk (controller "
                                 "slot and unit of the attach reply)");
}

int
vdvs_device_wait (const char *path, int timeout_ms, vdvs_error_t *err)
{
  (void) timeout_ms;
  return vdvs_error_set (err, ENOTSUP, NOT_YET "waiting for disk %s", path);
}

bool
vdvs_is_mounted (const char *mountpoint, char *source, size_t len)
{
  (void) mountpoint, (void) source, (void) len;
  return false;
}

int
vdvs_mounts_under (const char *root,
                   void (*fn) (const char *name, const char *source,
                               void *opaque),
                   void *opaque)
{
  (void) root, (void) fn, (void) opaque;
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

int
vdvs_mount (const char *device, const char *mountpoint, const char *fstype,
            bool read_only, unsigned long options, vdvs_error_t *err)
{
  (void) device, (void) fstype, (void) read_only, (void) options;
  return vdvs_error_set (err, ENOTSUP, NOT_YET "mounting a volume at %s",
                         mountpoint);
}

int
vdvs_umount (const char *mountpoint, const char *device, vdvs_error_t *err)
{
  (void) device;
  return vdvs_error_set (err, ENOTSUP, NOT_YET "unmounting %s", mountpoint);
}

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

int
vdvs_mkfs_run (const char *fstype, const char *device, const char *name,
               vdvs_error_t *err)
{
  (void) name;
  return vdvs_error_set (err, ENOTSUP, NOT_YET "formatting %s as %s", device,
                         fstype);
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
  (void) type, (void) len;
  return vdvs_error_set (err, ENOTSUP, NOT_YET "probing %s for a file system",
                         device);
}
