/* Attach and detach on real loop devices (backends/mock/attach.c,
 * loopdev.c): the device spec, the by-path link and sysfs tree the core's
 * discovery reads, unit numbering, two VMs over one datastore, power off,
 * and a whole plugin Create (attach, mkfs, detach).  Needs root and
 * /dev/loop-control; skips without.  Every test detaches all it attached
 * and checks that no loop device on its files is left. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "api.h"
#include "backend_i.h"
#include "config.h"
#include "device.h"
#include "t_mock.h"
#include "volumes.h"

static char tmp[PATH_MAX];
static struct mock *ma, *mb;

static void
setup (void)
{
  mb = NULL;
  ma = t_mock_open_loop (tmp, sizeof tmp, "attach");
}

/* Loop devices whose backing file lies under our temporary directory. */
static int
loops_of_ours (void)
{
  DIR *d = opendir ("/sys/block");
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return 0;
  while ((de = readdir (d)) != NULL)
    {
      char path[PATH_MAX], buf[PATH_MAX];
      FILE *f;
      if (strncmp (de->d_name, "loop", 4) != 0)
        continue;
      snprintf (path, sizeof path, "/sys/block/%s/loop/backing_file",
                de->d_name);
      if ((f = fopen (path, "re")) == NULL)
        continue;
      if (fgets (buf, sizeof buf, f) != NULL && tmp[0] != '\0'
          && strncmp (buf, tmp, strlen (tmp)) == 0)
        n++;
      fclose (f);
    }
  closedir (d);
  return n;
}

static void
teardown (void)
{
  t_mock_power_off_close (mb);
  t_mock_power_off_close (ma);
  if (tmp[0])
    t_rmrf (tmp);
}

TestSuite (attach, .init = setup, .fini = teardown, .timeout = 50);

/* The loop device behind a by-path link, and its backing file. */
static void
loop_of (const char *link, char *dev, size_t dlen, char *backing, size_t blen)
{
  char path[PATH_MAX];
  struct stat st;
  ssize_t n;
  FILE *f;

  n = readlink (link, dev, dlen - 1);
  cr_assert_gt (n, 0, "no link %s", link);
  dev[n] = '\0';
  cr_assert_eq (strncmp (dev, "/dev/loop", 9), 0, "%s", dev);
  cr_assert_eq (stat (link, &st), 0);
  cr_assert (S_ISBLK (st.st_mode));
  snprintf (path, sizeof path, "/sys/block/%s/loop/backing_file", dev + 5);
  f = fopen (path, "re");
  cr_assert_not_null (f, "%s not bound", dev);
  cr_assert_not_null (fgets (backing, (int) blen, f));
  fclose (f);
  backing[strcspn (backing, "\n")] = '\0';
}

Test (attach, attach_publishes_the_disk_and_detach_removes_it)
{
  char link[PATH_MAX * 2], loopdev[64], backing[PATH_MAX], found[PATH_MAX];
  char sysdir[PATH_MAX * 2];
  struct vdvs_device dev, again;
  struct vdvs_device_roots roots;
  struct vdvs_volume_info i;
  struct mock_vol v;
  vdvs_error_t err = NULL;
  const char msg[] = "written through the loop device";
  char buf[sizeof msg];
  int fd;

  t_need_loop (ma);
  t_create_ok (ma, "v", "size", "16mb", NULL);
  v = t_vol (ma, "v");
  t_attach_ok (ma, "v", &dev);
  cr_assert_str_eq (dev.unit, "0");
  cr_assert_str_eq (dev.pci_slot, "160");
  cr_assert_str_eq (dev.pci_bus, "15.0");

  t_by_path (tmp, &dev, 3, link, sizeof link);
  loop_of (link, loopdev, sizeof loopdev, backing, sizeof backing);
  cr_assert_str_eq (backing, v.flat);
  snprintf (sysdir, sizeof sysdir,
            "%s/sys/bus/pci/devices/0000:00:15.0/pci_bus/0000:03", tmp);
  cr_assert (t_exists (sysdir), "%s", sysdir);

  /* The core's discovery finds the same name and sees a block device. */
  vdvs_backend_mock.device_roots (ma, &roots);
  cr_assert_eq (vdvs_device_path (&roots, &dev, found, sizeof found, &err), 0,
                "%s", err ? err->msg : "");
  cr_assert_str_eq (found, link);
  cr_assert_eq (vdvs_device_wait (found, 1000, &err), 0);

  /* Data goes to the volume's extent. */
  fd = open (link, O_WRONLY);
  cr_assert_geq (fd, 0);
  cr_assert_eq (pwrite (fd, msg, sizeof msg, 4096), (ssize_t) sizeof msg);
  cr_assert_eq (fsync (fd), 0);
  close (fd);

  memset (&i, 0, sizeof i);
  cr_assert_eq (vdvs_backend_mock.get (ma, "v", &i, &err), 0);
  cr_assert_str_eq (i.status, "attached");
  cr_assert_str_eq (i.attached_to_vm, "vmA");
  cr_assert (i.has_device);
  cr_assert_str_eq (i.device.unit, "0");
  cr_assert_str_eq (i.device.pci_bus, "15.0");
  vdvs_volume_info_clear (&i);

  /* Attaching again here is idempotent: same unit, same loop device. */
  t_attach_ok (ma, "v", &again);
  cr_assert_str_eq (again.unit, dev.unit);
  cr_assert_str_eq (again.pci_slot, dev.pci_slot);
  {
    char loop2[64], back2[PATH_MAX];
    loop_of (link, loop2, sizeof loop2, back2, sizeof back2);
    cr_assert_str_eq (loop2, loopdev);
  }
  cr_assert_eq (loops_of_ours (), 1);

  t_detach_ok (ma, "v");
  cr_assert_not (t_exists (link));
  cr_assert_eq (loops_of_ours (), 0);
  fd = open (v.flat, O_RDONLY);
  cr_assert_eq (pread (fd, buf, sizeof buf, 4096), (ssize_t) sizeof buf);
  close (fd);
  cr_assert_str_eq (buf, msg);
  memset (&i, 0, sizeof i);
  cr_assert_eq (vdvs_backend_mock.get (ma, "v", &i, &err), 0);
  cr_assert_str_eq (i.status, "detached");
  cr_assert_null (i.attached_to_vm);
  cr_assert_not (i.has_device);
  vdvs_volume_info_clear (&i);
  /* Detached twice is still success. */
  t_detach_ok (ma, "v");
}

Test (attach, unit_numbers_skip_seven)
{
  static const char *const want[] = { "0", "1", "2", "3", "4",
                                      "5", "6", "8", "9" };
  struct vdvs_device dev;
  char name[16], link[PATH_MAX * 2];

  t_need_loop (ma);
  for (int k = 0; k < 9; k++)
    {
      snprintf (name, sizeof name, "u%d", k);
      t_create_ok (ma, name, "size", "1mb", NULL);
      t_attach_ok (ma, name, &dev);
      cr_assert_str_eq (dev.unit, want[k], "volume %d got unit %s", k,
                        dev.unit);
      cr_assert_str_eq (dev.pci_bus, "15.0");
      t_by_path (tmp, &dev, 3, link, sizeof link);
      cr_assert (t_exists (link), "%s", link);
    }
  cr_assert_eq (loops_of_ours (), 9);
  /* A freed unit is reused first. */
  t_detach_ok (ma, "u3");
  t_create_ok (ma, "again", "size", "1mb", NULL);
  t_attach_ok (ma, "again", &dev);
  cr_assert_str_eq (dev.unit, "3");
  for (int k = 0; k < 9; k++)
    {
      snprintf (name, sizeof name, "u%d", k);
      t_detach_ok (ma, name);
    }
  t_detach_ok (ma, "again");
  cr_assert_eq (loops_of_ours (), 0);
}

/* Upstream's limit: 4 PVSCSI controllers x 15 units (7 is reserved) = 60
 * disks per VM; the 61st attach gets upstream's text and binds nothing. */
Test (attach, the_61st_attach_is_refused)
{
  struct vdvs_device dev;
  vdvs_error_t err = NULL;
  char name[16];
  int loops;

  t_need_loop (ma);
  for (int k = 0; k < 61; k++)
    {
      snprintf (name, sizeof name, "m%d", k);
      t_create_ok (ma, name, "size", "1mb", NULL);
    }
  for (int k = 0; k < 60; k++)
    {
      snprintf (name, sizeof name, "m%d", k);
      t_attach_ok (ma, name, &dev);
      cr_assert_str_neq (dev.unit, "7");
    }
  loops = loops_of_ours ();
  cr_assert_eq (loops, 60);
  cr_assert_lt (vdvs_backend_mock.attach (ma, "m60", &dev, &err), 0,
                "the 61st attach succeeded: unit %s on %s", dev.unit,
                dev.pci_bus);
  cr_assert_not_null (err);
  cr_assert_str_eq (err->msg, "Failed to place new disk - The maximum number "
                              "of supported volumes has been reached.");
  vdvs_error_release (&err);
  cr_assert_eq (loops_of_ours (), 60, "a refused attach left a loop device");
  /* A freed unit makes room again. */
  t_detach_ok (ma, "m17");
  t_attach_ok (ma, "m60", &dev);
  for (int k = 0; k <= 60; k++)
    {
      snprintf (name, sizeof name, "m%d", k);
      if (k != 17)
        t_detach_ok (ma, name);
    }
  cr_assert_eq (loops_of_ours (), 0);
}

Test (attach, two_vms_share_one_datastore)
{
  struct vdvs_device dev, devb;
  struct vdvs_volume_info i;
  struct vdvs_opts none = { 0 };
  vdvs_error_t err = NULL;
  char link[PATH_MAX * 2];

  t_need_loop (ma);
  mb = t_mock_open (tmp, "vmB", T_UUID_B);
  t_create_ok (ma, "v", "size", "4mb", NULL);
  t_attach_ok (ma, "v", &dev);

  cr_assert_eq (vdvs_backend_mock.attach (mb, "v", &devb, &err), -EBUSY);
  cr_assert_str_eq (err->msg,
                    "Failed to add disk 'scsi1:0'. disk /vmfs/volumes/"
                    "datastore1/dockvols/_DEFAULT/v.vmdk already "
                    "attached to VM=vmA");
  vdvs_error_release (&err);
  cr_assert_eq (vdvs_backend_mock.remove (mb, "v", &none, &err), -EBUSY);
  cr_assert_str_eq (err->msg,
                    "Failed to remove volume v, in use by VM = vmA.");
  vdvs_error_release (&err);
  /* B's detach is a no-op: the disk stays with A. */
  t_detach_ok (mb, "v");
  t_by_path (tmp, &dev, 3, link, sizeof link);
  cr_assert (t_exists (link));
  cr_assert_eq (loops_of_ours (), 1);

  /* A powers off: its disks are detached. */
  cr_assert_eq (vdvs_mock_power_off (ma, &err), 1);
  cr_assert_not (t_exists (link));
  cr_assert_eq (loops_of_ours (), 0);
  memset (&i, 0, sizeof i);
  cr_assert_eq (vdvs_backend_mock.get (mb, "v", &i, &err), 0);
  cr_assert_str_eq (i.status, "detached");
  vdvs_volume_info_clear (&i);

  /* Now B may attach it, on B's own first unit. */
  t_attach_ok (mb, "v", &devb);
  cr_assert_str_eq (devb.unit, "0");
  memset (&i, 0, sizeof i);
  cr_assert_eq (vdvs_backend_mock.get (ma, "v", &i, &err), 0);
  cr_assert_str_eq (i.attached_to_vm, "vmB");
  vdvs_volume_info_clear (&i);
  t_detach_ok (mb, "v");
  cr_assert_eq (vdvs_backend_mock.remove (mb, "v", &none, &err), 0);
  cr_assert_eq (loops_of_ours (), 0);
}

Test (attach, power_off_detaches_everything)
{
  struct vdvs_device dev;
  vdvs_error_t err = NULL;

  t_need_loop (ma);
  t_create_ok (ma, "a", "size", "1mb", NULL);
  t_create_ok (ma, "b@ds2", "size", "1mb", NULL);
  t_create_ok (ma, "c", "size", "1mb", NULL);
  t_attach_ok (ma, "a", &dev);
  t_attach_ok (ma, "b@ds2", &dev);
  cr_assert_eq (loops_of_ours (), 2);
  cr_assert_eq (vdvs_mock_power_off (ma, &err), 2, "%s", err ? err->msg : "");
  cr_assert_eq (loops_of_ours (), 0);
  cr_assert_eq (vdvs_mock_power_off (ma, &err), 0);
}

Test (attach, remove_of_an_attached_volume_is_refused)
{
  struct vdvs_device dev;
  struct vdvs_opts none = { 0 };
  vdvs_error_t err = NULL;

  t_need_loop (ma);
  t_create_ok (ma, "v", "size", "1mb", NULL);
  t_attach_ok (ma, "v", &dev);
  cr_assert_eq (vdvs_backend_mock.remove (ma, "v", &none, &err), -EBUSY);
  cr_assert_str_eq (err->msg,
                    "Failed to remove volume v, in use by VM = vmA.");
  vdvs_error_release (&err);
  t_detach_ok (ma, "v");
  cr_assert_eq (vdvs_backend_mock.remove (ma, "v", &none, &err), 0);
  cr_assert_eq (loops_of_ours (), 0);
}

/* The plugin's Create end to end: attach, wait for the by-path name,
 * mkfs.ext4 with the volume name as label, detach. */
Test (attach, plugin_create_formats_the_volume)
{
  static struct vdvs_config cfg;
  static struct vdvs_bk bk;
  vdvs_error_t err = NULL;
  unsigned char sb[1024];
  struct mock_vol v;
  char *out;
  int fd;

  t_need_loop (ma);
  /* The core opens its own handle over the same root. */
  cr_assert_eq (vdvs_bk_load (&bk, "mock", &err), 0);
  cr_assert_eq (vdvs_bk_open (&bk, &err), 0, "%s", err ? err->msg : "");
  memset (&cfg, 0, sizeof cfg);
  snprintf (cfg.mount_root, sizeof cfg.mount_root, "%s/mnt", tmp);
  snprintf (cfg.state_dir, sizeof cfg.state_dir, "%s/state", tmp);
  cfg.device_timeout_ms = 10000;
  cr_assert_eq (vdvs_volumes_init (&cfg, &bk, &err), 0);

  out = vdvs_api_handle ("/VolumeDriver.Create",
                         "{\"Name\":\"newvol\",\"Opts\":{\"size\":\"32mb\"}}",
                         strlen ("{\"Name\":\"newvol\",\"Opts\":{\"size\":"
                                 "\"32mb\"}}"));
  cr_assert_str_eq (out, "{\"Err\":\"\"}");
  free (out);
  cr_assert_eq (loops_of_ours (), 0);

  v = t_vol (ma, "newvol");
  fd = open (v.flat, O_RDONLY);
  cr_assert_eq (pread (fd, sb, sizeof sb, 1024), (ssize_t) sizeof sb);
  close (fd);
  cr_assert_eq (sb[0x38] | sb[0x39] << 8, 0xEF53);
  cr_assert_str_eq ((char *) sb + 0x78, "newvol");

  out = vdvs_api_handle ("/VolumeDriver.Remove", "{\"Name\":\"newvol\"}",
                         strlen ("{\"Name\":\"newvol\"}"));
  cr_assert_str_eq (out, "{\"Err\":\"\"}");
  free (out);
  cr_assert_not (t_exists (v.descriptor));
  vdvs_bk_close (&bk);
}
