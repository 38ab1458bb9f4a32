/* The Windows disk steps (src/platform/windows/disk.c) on the simulated
 * layer, without ESX: run under wine by tests/integration/98-windows-disks.sh
 * on a device tree of plain files made by the script.
 *   vdvs-disk-sim-test.exe SYSFS DEV MOUNTROOT
 * The disk is unit 0 behind bus 17.0 (slot 160); unit 1 never appears. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vdvs/mkfs.h"

#include "device.h"
#include "mounts.h"

static int failures;

#define CHECK(cond, ...)                                                      \
  do                                                                          \
    {                                                                         \
      if (cond)                                                               \
        printf ("ok - " __VA_ARGS__);                                         \
      else                                                                    \
        {                                                                     \
          printf ("FAIL: " __VA_ARGS__);                                      \
          failures++;                                                         \
        }                                                                     \
      printf ("\n");                                                          \
    }                                                                         \
  while (0)

static const char *
msg (vdvs_error_t *e)
{
  return *e ? (*e)->msg : "(no error)";
}

struct seen
{
  int n;
  char name[256], source[64];
};

static void
seen_cb (const char *name, const char *source, void *opaque)
{
  struct seen *s = opaque;

  s->n++;
  snprintf (s->name, sizeof s->name, "%s", name);
  snprintf (s->source, sizeof s->source, "%s", source);
}

int
main (int argc, char **argv)
{
  struct vdvs_device_roots roots;
  struct vdvs_device dev = { "0", "160", "17.0" },
                     gone = { "1", "160", "17.0" };
  char id[128], id2[128], type[64], mp[1024], src[64];
  vdvs_error_t e = NULL;
  struct seen s = { 0 };
  int r;

  if (argc != 4)
    {
      fprintf (stderr, "usage: %s SYSFS DEV MOUNTROOT\n", argv[0]);
      return 2;
    }
  snprintf (roots.sysfs_root, sizeof roots.sysfs_root, "%s", argv[1]);
  snprintf (roots.dev_root, sizeof roots.dev_root, "%s", argv[2]);
  snprintf (mp, sizeof mp, "%s/vol1@ds", argv[3]);
  mkdir (argv[3], 0755);
  mkdir (mp, 0755);

  r = vdvs_device_path (&roots, &dev, id, sizeof id, &e);
  CHECK (r == 0 && strcmp (id, "scsi:160:0:17.0") == 0, "device id %s",
         r == 0 ? id : msg (&e));
  r = vdvs_device_wait (id, 5000, &e);
  CHECK (r == 0, "the disk is found: %s", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_device_path (&roots, &gone, id2, sizeof id2, &e);
  r = vdvs_device_wait (id2, 300, &e);
  CHECK (r < 0 && strcmp (msg (&e), "Disk mapping timed out ") == 0,
         "a disk that never appears: '%s'", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mount (id2, mp, "ntfs", false, 0, &e);
  CHECK (r < 0
             && strstr (msg (&e), "Could not identify disk for "
                                  "controller = 160, unit = 1"),
         "mount of a missing disk: %s", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mount ("C:\\nonsense", mp, "ntfs", false, 0, &e);
  CHECK (r < 0 && strstr (msg (&e), "`C:\\nonsense` is neither"),
         "a bad device: %s", msg (&e));
  vdvs_error_release (&e);

  r = vdvs_fs_probe (id, type, sizeof type, &e);
  CHECK (r == 0, "blank before the format (%d %s)", r, msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mount (id, mp, "ntfs", false, 0, &e);
  CHECK (r < 0 && strstr (msg (&e), "holds no NTFS file system"),
         "a blank disk does not mount: %s", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mkfs_run ("ext4", id, "vol1", &e);
  CHECK (r < 0 && strstr (msg (&e), "Supported filesystems: ntfs"),
         "mkfs ext4: %s", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mkfs_run ("ntfs", id, "vol1", &e);
  CHECK (r == 0, "format: %s", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_fs_probe (id, type, sizeof type, &e);
  CHECK (r == 1 && strcmp (type, "ntfs") == 0, "NTFS after the format (%s)",
         r == 1 ? type : msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mkfs_run ("ntfs", id, "vol1", &e);
  CHECK (r < 0 && e->status == EEXIST
             && strstr (msg (&e), "already holds ntfs"),
         "a second format is refused: %s", msg (&e));
  vdvs_error_release (&e);

  CHECK (!vdvs_is_mounted (mp, NULL, 0), "not mounted yet");
  r = vdvs_mount (id, mp, "ntfs", true, 0, &e);
  CHECK (r == 0, "mount: %s", msg (&e));
  vdvs_error_release (&e);
  CHECK (vdvs_is_mounted (mp, src, sizeof src)
             && strcmp (src, "\\\\.\\PhysicalDrive0") == 0,
         "mounted, from %s", src);
  r = vdvs_mount (id, mp, "ntfs", true, 0, &e);
  CHECK (r < 0 && strstr (msg (&e), "already the mount point"),
         "a second access path on the same folder: %s", msg (&e));
  vdvs_error_release (&e);
  vdvs_mounts_under (argv[3], seen_cb, &s);
  CHECK (s.n == 1 && strcmp (s.name, "vol1@ds") == 0
             && strcmp (s.source, "\\\\.\\PhysicalDrive0") == 0,
         "the mount table: %d %s %s", s.n, s.name, s.source);
  s.n = 0;
  vdvs_mounts_under ("C:\\elsewhere", seen_cb, &s);
  CHECK (s.n == 0, "nothing under another root");
  r = vdvs_umount (mp, src, &e);
  CHECK (r == 0, "unmount: %s", msg (&e));
  vdvs_error_release (&e);
  CHECK (!vdvs_is_mounted (mp, NULL, 0), "not mounted after the unmount");
  r = vdvs_umount (mp, src, &e);
  CHECK (r < 0 && strstr (msg (&e), "Failed to unmount disk from"),
         "a second unmount: %s", msg (&e));
  vdvs_error_release (&e);
  r = vdvs_mount (id, mp, "xfs", false, 0, &e);
  CHECK (r < 0 && strstr (msg (&e), "Not found mkfs for xfs"),
         "mount as xfs: %s", msg (&e));
  vdvs_error_release (&e);
  printf (failures ? "FAIL: %d checks\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
