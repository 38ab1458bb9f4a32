/* Attachments after an unclean restart (backends/mock/attach.c attach and
 * detach, src/recovery.c's sweep): unit records and sidecars that still say
 * "attached" while the loop devices are gone, or serve another volume's
 * extent.  Each volume must get its own extent back, and no volume's
 * attach, detach or sweep may touch another volume's unit.  Needs root and
 * /dev/loop-control; skips without. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backend_i.h"
#include "config.h"
#include "recovery.h"
#include "t_mock.h"
#include "volumes.h"

static char tmp[PATH_MAX];
static struct mock *ma;
static char foreign[64]; /* a loop device a test bound itself */

static void
setup (void)
{
  foreign[0] = '\0';
  ma = t_mock_open_loop (tmp, sizeof tmp, "crash");
}

static void
clear_loop (const char *dev)
{
  int fd = open (dev, O_RDWR | O_CLOEXEC);
  if (fd >= 0)
    {
      ioctl (fd, LOOP_CLR_FD, 0);
      close (fd);
    }
}

static void
teardown (void)
{
  if (foreign[0])
    clear_loop (foreign);
  t_mock_power_off_close (ma);
  if (tmp[0])
    t_rmrf (tmp);
}

TestSuite (crash, .init = setup, .fini = teardown, .timeout = 50);

/* A volume whose extent starts with its own name. */
static void
make_vol (const char *name)
{
  struct mock_vol v;
  int fd;

  t_create_ok (ma, name, "size", "1mb", NULL);
  v = t_vol (ma, name);
  fd = open (v.flat, O_WRONLY);
  cr_assert_geq (fd, 0);
  cr_assert_eq (pwrite (fd, name, strlen (name) + 1, 0),
                (ssize_t) strlen (name) + 1);
  close (fd);
}

/* The loop device the guest finds for dev. */
static void
loop_of (const struct vdvs_device *dev, char *loop, size_t len)
{
  char link[PATH_MAX * 2];
  ssize_t n;

  t_by_path (tmp, dev, 3, link, sizeof link);
  n = readlink (link, loop, len - 1);
  cr_assert_gt (n, 0, "no device at %s", link);
  loop[n] = '\0';
}

/* What the guest reads at the start of the disk it finds for dev. */
static void
expect_data (const struct vdvs_device *dev, const char *want)
{
  char link[PATH_MAX * 2], buf[512];
  int fd;

  t_by_path (tmp, dev, 3, link, sizeof link);
  fd = open (link, O_RDONLY | O_CLOEXEC);
  cr_assert_geq (fd, 0, "%s: %s", link, strerror (errno));
  cr_assert_eq (pread (fd, buf, sizeof buf, 0), (ssize_t) sizeof buf);
  close (fd);
  buf[sizeof buf - 1] = '\0';
  cr_assert_str_eq (buf, want, "volume %s reads the disk of `%s`", want, buf);
}

/* A host crash: the loop devices and the guest's device tree are gone,
 * the datastore's records and sidecars stay. */
static void
host_crash (const char *loop1, const char *loop2)
{
  char path[PATH_MAX + 8];

  clear_loop (loop1);
  clear_loop (loop2);
  snprintf (path, sizeof path, "%s/dev", tmp);
  t_rmrf (path);
  snprintf (path, sizeof path, "%s/sys", tmp);
  t_rmrf (path);
}

/* Volumes a and b made and attached, then a host crash; la and lb (len
 * bytes each) get the loop devices they had. */
static void
attach_both_then_crash (struct vdvs_device *da, struct vdvs_device *db,
                        char *la, char *lb, size_t len)
{
  make_vol ("a");
  make_vol ("b");
  t_attach_ok (ma, "a", da);
  t_attach_ok (ma, "b", db);
  loop_of (da, la, len);
  loop_of (db, lb, len);
  host_crash (la, lb);
}

static void
expect_status (const char *name, const char *status)
{
  struct vdvs_volume_info i = { 0 };
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_backend_mock.get (ma, name, &i, &err), 0);
  cr_assert_str_eq (i.status, status, "%s", name);
  vdvs_volume_info_clear (&i);
}

/* This VM's unit records that name `key` ("ds/vol"). */
static int
records_of (const char *key)
{
  char dir[PATH_MAX + 64], path[PATH_MAX * 2], buf[4096];
  struct dirent *de;
  int n = 0;
  DIR *d;

  snprintf (dir, sizeof dir, "%s/root/.vms/%s", tmp, T_UUID_A);
  cr_assert_not_null (d = opendir (dir));
  while ((de = readdir (d)) != NULL)
    {
      FILE *f;
      if (strncmp (de->d_name, "scsi", 4) != 0)
        continue;
      snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
      if ((f = fopen (path, "re")) == NULL)
        continue;
      size_t len = fread (buf, 1, sizeof buf - 1, f);
      fclose (f);
      buf[len] = '\0';
      char *nl = strchr (buf, '\n');
      if (nl && strncmp (nl + 1, key, strlen (key)) == 0
          && nl[1 + strlen (key)] == '\n')
        n++;
    }
  closedir (d);
  return n;
}

/* Bind `file` to a free loop device ourselves; dev (len bytes) gets its
 * name.  Other tests attach and clear loop devices at the same time, so a
 * device just found free may be taken (EBUSY) or still torn down (ENXIO)
 * by the time it is opened: take the next one. */
static void
bind_free_loop (char *dev, size_t len, const char *file)
{
  struct loop_config cfg;
  int ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC),
      ffd = open (file, O_RDWR | O_CLOEXEC), r = -1;

  cr_assert_geq (ctl, 0);
  cr_assert_geq (ffd, 0);
  memset (&cfg, 0, sizeof cfg);
  cfg.fd = (unsigned) ffd;
  cfg.block_size = 512;
  for (int tries = 0; r < 0 && tries < 100; tries++)
    {
      int n = ioctl (ctl, LOOP_CTL_GET_FREE), lfd;
      cr_assert_geq (n, 0, "LOOP_CTL_GET_FREE: %s", strerror (errno));
      snprintf (dev, len, "/dev/loop%d", n);
      if ((lfd = open (dev, O_RDWR | O_CLOEXEC)) >= 0)
        {
          r = ioctl (lfd, LOOP_CONFIGURE, &cfg);
          close (lfd);
        }
      if (r < 0 && errno != EBUSY && errno != ENXIO)
        break;
      if (r < 0)
        usleep (10000);
    }
  cr_assert_eq (r, 0, "%s: %s", dev, strerror (errno));
  snprintf (foreign, sizeof foreign, "%s", dev);
  close (ffd);
  close (ctl);
}

/* Make the unit record of unit `unit` name the loop device `dev`. */
static void
record_names_loop (const char *unit, const char *dev)
{
  char path[PATH_MAX + 64], buf[4096], *nl;
  FILE *f;
  size_t n;

  snprintf (path, sizeof path, "%s/root/.vms/%s/scsi0:%s", tmp, T_UUID_A,
            unit);
  cr_assert_not_null (f = fopen (path, "re"), "%s", path);
  n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  cr_assert_not_null (nl = strchr (buf, '\n'), "%s: `%s`", path, buf);
  cr_assert_not_null (f = fopen (path, "we"));
  fprintf (f, "%s%s", dev, nl);
  cr_assert_eq (fclose (f), 0);
}

static bool
loop_backs (const char *dev, const char *file)
{
  struct loop_info64 info;
  struct stat st;
  int fd = open (dev, O_RDONLY | O_CLOEXEC);
  bool r;

  if (fd < 0)
    return false;
  r = ioctl (fd, LOOP_GET_STATUS64, &info) == 0 && stat (file, &st) == 0
      && info.lo_inode == st.st_ino && info.lo_device == st.st_dev;
  close (fd);
  return r;
}

Test (crash, remount_in_either_order_gives_each_volume_its_own_disk)
{
  struct vdvs_device da, db;
  char la[64], lb[64];

  t_need_loop (ma);
  attach_both_then_crash (&da, &db, la, lb, sizeof la);
  t_attach_ok (ma, "b", &db);
  t_attach_ok (ma, "a", &da);
  expect_data (&db, "b");
  expect_data (&da, "a");
  cr_assert_str_neq (da.unit, db.unit);

  loop_of (&da, la, sizeof la);
  loop_of (&db, lb, sizeof lb);
  host_crash (la, lb);
  t_attach_ok (ma, "a", &da);
  t_attach_ok (ma, "b", &db);
  expect_data (&da, "a");
  expect_data (&db, "b");
  t_detach_ok (ma, "a");
  t_detach_ok (ma, "b");
  cr_assert_eq (records_of ("datastore1/a") + records_of ("datastore1/b"), 0);
}

/* The state in which Mount(B) took the loop device A's record names: the
 * record is A's, the device is B's.  A must not take it, and A's detach
 * must not clear it. */
Test (crash, a_record_whose_device_serves_another_extent_is_not_reused)
{
  struct vdvs_device da, db;
  struct mock_vol vb = { 0 };
  char la[64], lb[64];

  t_need_loop (ma);
  attach_both_then_crash (&da, &db, la, lb, sizeof la);
  vb = t_vol (ma, "b");
  bind_free_loop (la, sizeof la, vb.flat);
  record_names_loop (da.unit, la);

  t_attach_ok (ma, "a", &da);
  expect_data (&da, "a");
  cr_assert (loop_backs (la, vb.flat), "A's attach took over %s", la);
  cr_assert_eq (records_of ("datastore1/a"), 1);
  t_detach_ok (ma, "a");
  cr_assert (loop_backs (la, vb.flat), "A's detach cleared B's device %s", la);
  expect_status ("a", "detached");
}

/* A sidecar still naming a unit that another volume holds now (a crash
 * between the release of the unit and the rewrite of the sidecar).
 * Neither detach nor attach of A may touch B's record or device. */
Test (crash, another_volumes_unit_is_never_released)
{
  struct vdvs_device da, db;
  struct mock_sidecar sc;
  struct mock_vol va;
  vdvs_error_t err = NULL;
  char la[64], lb[64], seen[64], rec[PATH_MAX + 64];

  t_need_loop (ma);
  make_vol ("a");
  make_vol ("b");
  va = t_vol (ma, "a");
  t_attach_ok (ma, "a", &da);
  t_attach_ok (ma, "b", &db);
  loop_of (&db, lb, sizeof lb);
  for (int round = 0; round < 2; round++)
    {
      /* A's record gone, its sidecar says "attached on B's unit". */
      snprintf (rec, sizeof rec, "%s/root/.vms/%s/scsi0:%s", tmp, T_UUID_A,
                da.unit);
      loop_of (&da, la, sizeof la);
      clear_loop (la);
      unlink (rec);
      cr_assert_eq (mock_sidecar_read (va.sidecar, &sc, &err), 0);
      sc.attached = true;
      strcpy (sc.status, "attached");
      snprintf (sc.attached_uuid, sizeof sc.attached_uuid, "%s", T_UUID_A);
      sc.device = db;
      cr_assert_eq (mock_sidecar_write (va.sidecar, &sc, &err), 0);
      mock_sidecar_clear (&sc);

      if (round == 0)
        t_detach_ok (ma, "a");
      else
        {
          t_attach_ok (ma, "a", &da);
          cr_assert_str_neq (da.unit, db.unit);
          expect_data (&da, "a");
        }
      cr_assert_eq (records_of ("datastore1/b"), 1, "B's record removed");
      loop_of (&db, seen, sizeof seen);
      cr_assert_str_eq (seen, lb, "B's device name changed");
      expect_data (&db, "b");
      if (round == 0)
        {
          expect_status ("a", "detached");
          t_attach_ok (ma, "a", &da);
        }
    }
  t_detach_ok (ma, "a");
  t_detach_ok (ma, "b");
}

/* A crash in detach after the sidecar was rewritten: the record left
 * behind is this volume's, and its next attach finishes the job. */
Test (crash, a_detach_cut_short_is_finished_by_the_next_attach)
{
  struct vdvs_device da;
  struct mock_sidecar sc;
  struct mock_vol va;
  vdvs_error_t err = NULL;
  char la[64];

  t_need_loop (ma);
  make_vol ("a");
  va = t_vol (ma, "a");
  t_attach_ok (ma, "a", &da);
  loop_of (&da, la, sizeof la);
  clear_loop (la);
  cr_assert_eq (mock_sidecar_read (va.sidecar, &sc, &err), 0);
  sc.attached = false;
  strcpy (sc.status, "detached");
  memset (&sc.device, 0, sizeof sc.device);
  cr_assert_eq (mock_sidecar_write (va.sidecar, &sc, &err), 0);
  mock_sidecar_clear (&sc);

  t_attach_ok (ma, "a", &da);
  expect_data (&da, "a");
  cr_assert_eq (records_of ("datastore1/a"), 1, "a stale unit kept");
  t_detach_ok (ma, "a");
  cr_assert_eq (records_of ("datastore1/a"), 0);
}

/* The core's sweep before serving: volumes the backend says are attached
 * here, that nothing mounts, are detached without asking the engine (the
 * configured engine socket does not even exist). */
Test (crash, the_sweep_before_serving_detaches_stale_attachments)
{
  static struct vdvs_config cfg;
  static struct vdvs_bk bk;
  struct vdvs_device da, db;
  vdvs_error_t err = NULL;
  char la[64], lb[64];

  t_need_loop (ma);
  attach_both_then_crash (&da, &db, la, lb, sizeof la);

  cr_assert_eq (vdvs_bk_load (&bk, "mock", &err), 0);
  cr_assert_eq (vdvs_bk_open (&bk, &err), 0, "%s", err ? err->msg : "");
  memset (&cfg, 0, sizeof cfg);
  snprintf (cfg.mount_root, sizeof cfg.mount_root, "%s/mnt", tmp);
  snprintf (cfg.state_dir, sizeof cfg.state_dir, "%s/state", tmp);
  snprintf (cfg.docker_socket, sizeof cfg.docker_socket, "%s/no-engine", tmp);
  cr_assert_eq (vdvs_volumes_init (&cfg, &bk, &err), 0);
  vdvs_recovery_init (&cfg, &bk);
  vdvs_volumes_sweep_stale ();
  expect_status ("a", "detached");
  expect_status ("b", "detached");
  cr_assert_eq (records_of ("datastore1/a") + records_of ("datastore1/b"), 0);
  vdvs_bk_close (&bk);
}
