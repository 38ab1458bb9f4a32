/* Opening handles of the mock backend on a temporary root, vmdkfs off;
 * creating, attaching and detaching through it, failing the test with the
 * backend's message. */
#ifndef VDVS_T_MOCK_H
#define VDVS_T_MOCK_H

#include "../core/t_helpers.h"
#include "mock_i.h"

#define T_TENANT "11111111-1111-1111-1111-111111111111"
#define T_UUID_A "564d0000-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
#define T_UUID_B "564d0000-bbbb-bbbb-bbbb-bbbbbbbbbbbb"

static inline void
t_mock_config (const char *key, const char *value)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (vdvs_backend_mock.config (key, value, &err), 0, "%s=%s: %s",
                key, value, err ? err->msg : "");
}

/* A handle for VM `vm` (uuid) on `datastores` over the backing root
 * `root`; no device roots, so no attach. */
static inline struct mock *
t_mock_open_root (const char *root, const char *datastores, const char *vm,
                  const char *uuid)
{
  vdvs_error_t err = NULL;
  void *h = NULL;

  t_mock_config ("root", root);
  t_mock_config ("datastores", datastores);
  t_mock_config ("vm-name", vm);
  t_mock_config ("vm-uuid", uuid);
  t_mock_config ("vmdkfs", "off");
  cr_assert_eq (vdvs_backend_mock.open (&h, &err), 0, "%s",
                err ? err->msg : "");
  return h;
}

/* A handle acting for VM `vm` (uuid) over <tmp>/root. */
static inline struct mock *
t_mock_open (const char *tmp, const char *vm, const char *uuid)
{
  char buf[PATH_MAX + 16];
  vdvs_error_t err = NULL;
  void *h = NULL;

  snprintf (buf, sizeof buf, "%s/root", tmp);
  t_mock_config ("root", buf);
  t_mock_config ("datastores", "datastore1,ds2");
  t_mock_config ("vm-name", vm);
  t_mock_config ("vm-uuid", uuid);
  snprintf (buf, sizeof buf, "%s/sys", tmp);
  t_mock_config ("sysfs-root", buf);
  snprintf (buf, sizeof buf, "%s/dev", tmp);
  t_mock_config ("dev-root", buf);
  t_mock_config ("vmdkfs", "off");
  cr_assert_eq (vdvs_backend_mock.open (&h, &err), 0, "%s",
                err ? err->msg : "");
  cr_assert_not_null (h);
  return h;
}

/* Create with "k", "v", ..., NULL options; returns the backend's answer
 * and leaves the error in *err. */
static inline int
t_create (struct mock *m, const char *name, vdvs_error_t *err, ...)
{
  struct vdvs_opts o = { 0 };
  const char *k;
  va_list ap;
  int r;

  va_start (ap, err);
  while ((k = va_arg (ap, const char *)) != NULL)
    vdvs_opts_set (&o, k, va_arg (ap, const char *));
  va_end (ap);
  r = vdvs_backend_mock.create (m, name, &o, err);
  vdvs_opts_clear (&o);
  return r;
}

static inline void
t_create_ok (struct mock *m, const char *name, ...)
{
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;
  const char *k;
  va_list ap;

  va_start (ap, name);
  while ((k = va_arg (ap, const char *)) != NULL)
    vdvs_opts_set (&o, k, va_arg (ap, const char *));
  va_end (ap);
  cr_assert_eq (vdvs_backend_mock.create (m, name, &o, &err), 0, "%s: %s",
                name, err ? err->msg : "");
  vdvs_opts_clear (&o);
}

static inline struct mock_vol
t_vol (struct mock *m, const char *name)
{
  struct mock_vol v;
  vdvs_error_t err = NULL;
  cr_assert_eq (mock_resolve (m, name, &v, &err), 0);
  return v;
}

/* For tests on real loop devices: a fresh <tmp> for `what` and a handle
 * for VM A over it, or NULL (and tmp "") without root or
 * /dev/loop-control; t_need_loop then skips the test. */
static inline struct mock *
t_mock_open_loop (char *tmp, size_t len, const char *what)
{
  tmp[0] = '\0';
  if (geteuid () != 0 || access ("/dev/loop-control", R_OK | W_OK) != 0)
    return NULL;
  t_mkdtemp (tmp, len, what);
  return t_mock_open (tmp, "vmA", T_UUID_A);
}

static inline void
t_need_loop (const struct mock *m)
{
  if (geteuid () != 0)
    cr_skip_test ("attach needs root");
  if (m == NULL)
    cr_skip_test ("no /dev/loop-control");
}

/* Close m (if any) after detaching whatever a failed test left attached. */
static inline void
t_mock_power_off_close (struct mock *m)
{
  vdvs_error_t err = NULL;

  if (m == NULL)
    return;
  vdvs_mock_power_off (m, &err);
  vdvs_error_release (&err);
  vdvs_backend_mock.close (m);
}

static inline void
t_attach_ok (struct mock *m, const char *name, struct vdvs_device *dev)
{
  vdvs_error_t err = NULL;

  memset (dev, 0, sizeof *dev);
  cr_assert_eq (vdvs_backend_mock.attach (m, name, dev, &err), 0, "%s: %s",
                name, err ? err->msg : "");
}

static inline void
t_detach_ok (struct mock *m, const char *name)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (vdvs_backend_mock.detach (m, name, &err), 0, "%s: %s", name,
                err ? err->msg : "");
}

/* The guest's /dev/disk/by-path link under <tmp> for dev on PCI bus
 * `secondary` (3 for the first PVSCSI controller). */
static inline void
t_by_path (const char *tmp, const struct vdvs_device *dev, int secondary,
           char *buf, size_t len)
{
  snprintf (buf, len, "%s/dev/disk/by-path/pci-0000:%02x:00.0-scsi-0:0:%s:0",
            tmp, secondary, dev->unit);
}

#endif
