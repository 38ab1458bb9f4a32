/* Device discovery after an attach (src/device.c), on a fake sysfs and
 * /dev under a temporary directory. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "device.h"
#include "t_helpers.h"

static char tmp[PATH_MAX];
static struct vdvs_device_roots roots;

static void
mkdirs (const char *rel)
{
  char path[PATH_MAX * 2], *p;

  snprintf (path, sizeof path, "%s/%s", tmp, rel);
  for (p = path + strlen (tmp) + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        mkdir (path, 0755);
        *p = '/';
      }
  cr_assert_eq (mkdir (path, 0755), 0, "mkdir %s: %s", path, strerror (errno));
}

static void
setup (void)
{
  t_mkdtemp (tmp, sizeof tmp, "device");
  snprintf (roots.sysfs_root, sizeof roots.sysfs_root, "%s/sys", tmp);
  snprintf (roots.dev_root, sizeof roots.dev_root, "%s/dev", tmp);
  /* Controller 0 (bridge 15.0): two secondary buses, readdir order
   * arbitrary; controller 1 (16.0) one. */
  mkdirs ("sys/bus/pci/devices/0000:00:15.0/pci_bus/0000:0b");
  mkdirs ("sys/bus/pci/devices/0000:00:15.0/pci_bus/0000:03");
  mkdirs ("sys/bus/pci/devices/0000:00:16.0/pci_bus/0000:0b");
  mkdirs ("sys/bus/pci/devices/0000:00:17.0/pci_bus");
  mkdirs ("dev/disk/by-path");
}

static void
teardown (void)
{
  t_rmrf (tmp);
}

static void
dev_set (struct vdvs_device *d, const char *unit, const char *slot,
         const char *bus)
{
  memset (d, 0, sizeof *d);
  snprintf (d->unit, sizeof d->unit, "%s", unit);
  snprintf (d->pci_slot, sizeof d->pci_slot, "%s", slot);
  snprintf (d->pci_bus, sizeof d->pci_bus, "%s", bus);
}

TestSuite (device, .init = setup, .fini = teardown);

Test (device, by_path_from_first_secondary_bus)
{
  struct vdvs_device d;
  char out[PATH_MAX], want[PATH_MAX + 64];
  vdvs_error_t err = NULL;

  dev_set (&d, "0", "160", "15.0");
  cr_assert_eq (vdvs_device_path (&roots, &d, out, sizeof out, &err), 0);
  snprintf (want, sizeof want,
            "%s/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0", tmp);
  cr_assert_str_eq (out, want);

  dev_set (&d, "15", "192", "16.0");
  cr_assert_eq (vdvs_device_path (&roots, &d, out, sizeof out, &err), 0);
  snprintf (want, sizeof want,
            "%s/dev/disk/by-path/pci-0000:0b:00.0-scsi-0:0:15:0", tmp);
  cr_assert_str_eq (out, want);
  cr_assert_null (err);
}

Test (device, missing_bridge_is_device_not_found)
{
  struct vdvs_device d;
  char out[PATH_MAX];
  vdvs_error_t err = NULL;

  dev_set (&d, "0", "256", "18.0");
  cr_assert_eq (vdvs_device_path (&roots, &d, out, sizeof out, &err), -ENODEV);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
}

Test (device, empty_pci_bus_is_device_not_found)
{
  struct vdvs_device d;
  char out[PATH_MAX];
  vdvs_error_t err = NULL;

  dev_set (&d, "0", "224", "17.0");
  cr_assert_eq (vdvs_device_path (&roots, &d, out, sizeof out, &err), -ENODEV);
  cr_assert_str_eq (err->msg, "Device not found");
  vdvs_error_release (&err);
}

Test (device, hostile_attach_replies_are_refused)
{
  static const char *const cases[][2] = {
    /* unit, bus */
    { "0", "../x" },
    { "0", "../../../etc" },
    { "0", "15.0/../16.0" },
    { "0", "a/b" },
    { "0", "" },
    { "", "15.0" },
    { "1a", "15.0" },
    { "-1", "15.0" },
    { "0/../1", "15.0" },
    { "0 ", "15.0" },
  };
  struct vdvs_device d;
  char out[PATH_MAX];

  /* A directory the bus "../x" would reach if it were not refused. */
  mkdirs ("sys/bus/pci/devices/x/pci_bus/0000:99");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      vdvs_error_t err = NULL;
      dev_set (&d, cases[i][0], "160", cases[i][1]);
      cr_assert_eq (vdvs_device_path (&roots, &d, out, sizeof out, &err),
                    -EINVAL, "unit `%s` bus `%s` accepted", cases[i][0],
                    cases[i][1]);
      cr_assert_str_eq (err->msg, "Device not found");
      vdvs_error_release (&err);
    }
}

static long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Some block device of this machine, or NULL. */
static const char *
find_block_device (char *buf, size_t len)
{
  static const char *const candidates[] = { "/dev/loop0",   "/dev/loop1",
                                            "/dev/sda",     "/dev/vda",
                                            "/dev/nvme0n1", "/dev/xvda" };
  struct stat st;

  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
    if (stat (candidates[i], &st) == 0 && S_ISBLK (st.st_mode))
      {
        snprintf (buf, len, "%s", candidates[i]);
        return buf;
      }
  return NULL;
}

Test (device, wait_times_out_on_a_non_block_device)
{
  char link[PATH_MAX + 64], want[PATH_MAX * 2];
  vdvs_error_t err = NULL;
  long t0, dt;

  snprintf (link, sizeof link,
            "%s/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0", tmp);
  cr_assert_eq (symlink ("/dev/null", link), 0);
  t0 = now_ms ();
  cr_assert_eq (vdvs_device_wait (link, 150, &err), -ETIMEDOUT);
  dt = now_ms () - t0;
  cr_assert_geq (dt, 140, "returned after %ld ms", dt);
  cr_assert_lt (dt, 3000, "returned after %ld ms", dt);
  snprintf (want, sizeof want, "Device %s did not appear within 150 ms", link);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);
}

Test (device, wait_times_out_when_the_directory_is_missing)
{
  char path[PATH_MAX + 64];
  vdvs_error_t err = NULL;
  long t0 = now_ms (), dt;

  snprintf (path, sizeof path, "%s/nodir/by-path/x", tmp);
  cr_assert_eq (vdvs_device_wait (path, 100, &err), -ETIMEDOUT);
  dt = now_ms () - t0;
  cr_assert_lt (dt, 3000);
  vdvs_error_release (&err);
}

Test (device, wait_returns_at_once_for_a_block_device)
{
  char blk[64], link[PATH_MAX + 64];
  vdvs_error_t err = NULL;
  long t0;

  if (find_block_device (blk, sizeof blk) == NULL)
    cr_skip_test ("no block device on this machine");
  snprintf (link, sizeof link,
            "%s/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0", tmp);
  cr_assert_eq (symlink (blk, link), 0);
  t0 = now_ms ();
  cr_assert_eq (vdvs_device_wait (link, 5000, &err), 0);
  cr_assert_lt (now_ms () - t0, 1000);
  cr_assert_null (err);
}

struct later
{
  char target[64];
  char link[PATH_MAX + 64];
};

static void *
make_link_later (void *arg)
{
  struct later *l = arg;
  struct timespec ts = { 0, 200 * 1000 * 1000 };
  char tmpl[PATH_MAX + 80];

  nanosleep (&ts, NULL);
  /* Appear atomically, as udev and the mock do. */
  snprintf (tmpl, sizeof tmpl, "%s.tmp", l->link);
  if (symlink (l->target, tmpl) == 0)
    rename (tmpl, l->link);
  return NULL;
}

Test (device, wait_sees_a_device_that_appears_later)
{
  struct later l;
  pthread_t th;
  vdvs_error_t err = NULL;
  long t0, dt;

  if (find_block_device (l.target, sizeof l.target) == NULL)
    cr_skip_test ("no block device on this machine");
  snprintf (l.link, sizeof l.link,
            "%s/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:2:0", tmp);
  t0 = now_ms ();
  cr_assert_eq (pthread_create (&th, NULL, make_link_later, &l), 0);
  cr_assert_eq (vdvs_device_wait (l.link, 10000, &err), 0, "%s",
                err ? err->msg : "");
  dt = now_ms () - t0;
  pthread_join (th, NULL);
  cr_assert_geq (dt, 150);
  cr_assert_lt (dt, 5000, "took %ld ms", dt);
}
