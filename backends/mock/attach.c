/* Attach and detach: a PVSCSI unit per disk, claimed by a record file of
 * the VM, a loop device on the extent; power-off detaches them all.  Each
 * change runs under the volume's lock; a unit is claimed with link(2). */
#include "mock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The record of unit (ctl, unit) of the VM `uuid`. */
void
mock_vm_unit_path (const struct mock *m, const char *uuid, int ctl, int unit,
                   char *buf, size_t len)
{
  snprintf (buf, len, "%s/.vms/%s/scsi%d:%d", m->cfg.root, uuid, ctl, unit);
}

/* ... of this VM. */
static void
unit_path (const struct mock *m, int ctl, int unit, char *buf, size_t len)
{
  mock_vm_unit_path (m, m->cfg.vm_uuid, ctl, unit, buf, len);
}

/* Unit record: "<loop device>\n<datastore>/<volume>\n<extent>\n", the
 * extent as the loop device was given it (through vmdkfs or not), so that
 * whoever detaches (vdvsctl's power-off has no vmdkfs) checks the loop
 * against the file it really backs.  Records without the third line (older
 * ones) leave extent "".  A unit is claimed by making its record appear
 * already naming the volume (loop device still ""), so a record always
 * says whose unit it is: nothing ever reuses, releases or removes a unit
 * whose record names another volume. */
static int
read_unit_extent (const char *path, char *loopdev, size_t llen, char *key,
                  size_t klen, char *extent, size_t elen)
{
  char buf[64 + 1200 + PATH_MAX];
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  char *nl;

  if (fd < 0)
    return -errno;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -EIO;
  buf[n] = '\0';
  if ((nl = strchr (buf, '\n')) == NULL)
    return -EIO;
  *nl = '\0';
  snprintf (loopdev, llen, "%s", buf);
  snprintf (key, klen, "%.*s", (int) strcspn (nl + 1, "\n"), nl + 1);
  nl = strchr (nl + 1, '\n');
  if (extent != NULL)
    snprintf (extent, elen, "%.*s", nl ? (int) strcspn (nl + 1, "\n") : 0,
              nl ? nl + 1 : "");
  return 0;
}

int
mock_read_unit (const char *path, char *loopdev, size_t llen, char *key,
                size_t klen)
{
  return read_unit_extent (path, loopdev, llen, key, klen, NULL, 0);
}

/* The key unit records name a volume by (mock_vol_key). */
static void
unit_key (const struct mock_vol *v, char *key, size_t len)
{
  mock_vol_key (v, key, len);
}

/* The tag a volume's loop device carries (its lo_file_name). */
static void
loop_tag (const struct mock_vol *v, char *tag, size_t len)
{
  snprintf (tag, len, "vdvs:%s@%s", v->vol, v->ds);
}

#define UNIT_BIT(c, u) (UINT64_C (1) << ((c) *MOCK_PVSCSI_UNITS + (u)))

/* Claim unit (ctl, unit) for `key`: its record appears whole (written,
 * synced, then link(2)ed into place) or not at all (-EEXIST: taken). */
static int
claim_one (const struct mock *m, const char *key, int ctl, int unit)
{
  char path[PATH_MAX], tmp[PATH_MAX], rec[1200];
  int fd, r = 0;
  size_t len = (size_t) snprintf (rec, sizeof rec, "\n%s\n\n", key);

  if (len >= sizeof rec)
    return -ENAMETOOLONG;
  unit_path (m, ctl, unit, path, sizeof path);
  snprintf (tmp, sizeof tmp, "%s/.vms/%s/.claim.%d", m->cfg.root,
            m->cfg.vm_uuid, (int) gettid ());
  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  if (write (fd, rec, len) != (ssize_t) len)
    r = -EIO;
  else if (fsync (fd) < 0)
    r = -errno;
  close (fd);
  if (r == 0 && link (tmp, path) < 0)
    r = -errno;
  unlink (tmp);
  return r;
}

static int
claim_unit (const struct mock *m, const char *key, int *ctl_out, int *unit_out)
{
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        int r;
        if (u == MOCK_PVSCSI_RESERVED_UNIT)
          continue;
        if ((r = claim_one (m, key, c, u)) == -EEXIST)
          continue;
        if (r < 0)
          return r;
        *ctl_out = c;
        *unit_out = u;
        return 0;
      }
  return -ENOSPC;
}

static int
unit_of (const struct vdvs_device *d, int *ctl, int *unit)
{
  char *end;
  long u = strtol (d->unit, &end, 10);

  *ctl = mock_pvscsi_controller (d);
  if (*ctl < 0 || end == d->unit || *end || u < 0 || u >= MOCK_PVSCSI_UNITS
      || u == MOCK_PVSCSI_RESERVED_UNIT)
    return -1;
  *unit = (int) u;
  return 0;
}

/* This VM's units whose records name `v`, as UNIT_BIT()s. */
static uint64_t
units_of (const struct mock *m, const struct mock_vol *v)
{
  char path[PATH_MAX], loopdev[64], key[1024], want[1024];
  uint64_t mine = 0;

  unit_key (v, want, sizeof want);
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        unit_path (m, c, u, path, sizeof path);
        if (mock_read_unit (path, loopdev, sizeof loopdev, key, sizeof key)
                == 0
            && strcmp (key, want) == 0)
          mine |= UNIT_BIT (c, u);
      }
  return mine;
}

/* Take unit (ctl, unit) away from the guest: its by-path name, and its
 * loop device while that still backs this volume's extent.  Only when the
 * record names `v`; the record itself stays (drop_record). */
static int
release_device (struct mock *m, const struct mock_vol *v, int ctl, int unit,
                vdvs_error_t *err)
{
  char path[PATH_MAX], loopdev[64], key[1024], want[1024], extent[PATH_MAX];
  char tag[64];
  struct vdvs_device d;

  unit_path (m, ctl, unit, path, sizeof path);
  unit_key (v, want, sizeof want);
  if (read_unit_extent (path, loopdev, sizeof loopdev, key, sizeof key, extent,
                        sizeof extent)
          < 0
      || strcmp (key, want) != 0)
    return 0; /* no record, or another volume's unit: not ours to touch */
  mock_pvscsi_device (ctl, unit, &d);
  mock_unpublish_device (m, &d);
  if (extent[0] == '\0')
    mock_vmdkfs_extent_path (m, v, extent, sizeof extent);
  loop_tag (v, tag, sizeof tag);
  return mock_loop_detach (loopdev, extent, tag, err);
}

/* Remove unit (ctl, unit)'s record if it names `v`.  Under v's lock the
 * check holds until the unlink: no one else claims a unit with a record. */
static void
drop_record (struct mock *m, const struct mock_vol *v, int ctl, int unit)
{
  char path[PATH_MAX], loopdev[64], key[1024], want[1024];

  unit_path (m, ctl, unit, path, sizeof path);
  unit_key (v, want, sizeof want);
  if (mock_read_unit (path, loopdev, sizeof loopdev, key, sizeof key) == 0
      && strcmp (key, want) == 0)
    unlink (path);
}

/* Release one of v's units: device, then record. */
static int
release_unit (struct mock *m, const struct mock_vol *v, int ctl, int unit,
              vdvs_error_t *err)
{
  if (release_device (m, v, ctl, unit, err) < 0)
    return -1;
  drop_record (m, v, ctl, unit);
  return 0;
}

/* Detach v from this VM: the devices of all its units, then the sidecar
 * (if `sc`), then the records.  Records go last so that while a sidecar
 * names a unit, that unit's record still names the volume (no other
 * volume can claim it), and a crash at any step leaves a record the next
 * attach, detach or sweep of this volume finds and finishes. */
static int
drop_attachment (struct mock *m, const struct mock_vol *v,
                 struct mock_sidecar *sc, uint64_t mine, vdvs_error_t *err)
{
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      if ((mine & UNIT_BIT (c, u)) && release_device (m, v, c, u, err) < 0)
        return vdvs_error_wrap (err, "Failed to detach %s", v->esx_path);
  if (sc != NULL && (sc->attached || strcmp (sc->status, "detached") != 0))
    {
      sc->attached = false;
      strcpy (sc->status, "detached");
      memset (&sc->device, 0, sizeof sc->device);
      if (mock_sidecar_write (v->sidecar, sc, err) < 0)
        return -1;
    }
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      if (mine & UNIT_BIT (c, u))
        drop_record (m, v, c, u);
  return 0;
}

static int
attach_locked (struct mock *m, const struct mock_vol *v,
               struct vdvs_device *dev, vdvs_error_t *err)
{
  struct mock_sidecar sc;
  char path[PATH_MAX], loopdev[64] = "", extent[PATH_MAX], tag[64];
  char key[1024], rk[1024], rec[64 + 1200 + PATH_MAX];
  int ctl = -1, unit = -1, r;
  uint64_t mine;
  struct vdvs_backend_health h;

  if (!mock_vol_exists (v))
    return mock_not_found (v, err);
  if (mock_sidecar_read (v->sidecar, &sc, err) < 0)
    return -1;
  if (sc.attached && strcmp (sc.attached_uuid, m->cfg.vm_uuid) != 0)
    {
      int c = 0, u = 0;
      unit_of (&sc.device, &c, &u);
      r = vdvs_error_set (err, EBUSY,
                          "Failed to add disk 'scsi%d:%d'. disk %s already "
                          "attached to VM=%s",
                          c + 1, u, v->esx_path,
                          sc.attached_name[0] ? sc.attached_name
                                              : sc.attached_uuid);
      mock_sidecar_clear (&sc);
      return r;
    }
  mock_vmdkfs_health (m, &h);
  if (!h.up)
    {
      mock_sidecar_clear (&sc);
      return vdvs_error_set (err, EIO,
                             "Failed to add disk to VM %s: datastore %s is "
                             "unavailable (%s)",
                             m->cfg.vm_name, v->ds, h.detail);
    }
  unit_key (v, key, sizeof key);
  loop_tag (v, tag, sizeof tag);
  mock_vmdkfs_extent_path (m, v, extent, sizeof extent);
  mine = units_of (m, v);
  if (sc.attached && unit_of (&sc.device, &ctl, &unit) == 0
      && (mine & UNIT_BIT (ctl, unit)))
    {
      /* Already attached here: idempotent only if the unit's loop device
       * backs this very extent now (after a host reboot the device may be
       * gone, or taken since for another volume's extent). */
      unit_path (m, ctl, unit, path, sizeof path);
      if (mock_read_unit (path, loopdev, sizeof loopdev, rk, sizeof rk) == 0
          && mock_loop_is_backing (loopdev, extent))
        {
          mine &= ~UNIT_BIT (ctl, unit);
          for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
            for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
              if (mine & UNIT_BIT (c, u))
                release_unit (m, v, c, u, NULL); /* strays of a crash */
          *dev = sc.device;
          mock_sidecar_clear (&sc);
          return mock_publish_device (m, dev, loopdev, err);
        }
    }
  /* Whatever else the sidecar and this volume's records say is stale (a
   * host reboot, a crash mid-attach or mid-detach): drop it all, then
   * attach afresh. */
  if (drop_attachment (m, v, &sc, mine, err) < 0)
    {
      mock_sidecar_clear (&sc);
      return -1;
    }
  loopdev[0] = '\0';
  if ((r = claim_unit (m, key, &ctl, &unit)) < 0)
    {
      mock_sidecar_clear (&sc);
      if (r == -ENOSPC)
        return vdvs_error_set (err, ENOSPC,
                               "Failed to place new disk - The maximum number "
                               "of supported volumes has been reached.");
      return vdvs_error_set (err, -r, "Failed to place new disk - %s",
                             strerror (-r));
    }
  unit_path (m, ctl, unit, path, sizeof path);
  mock_pvscsi_device (ctl, unit, dev);
  if (mock_loop_attach (extent, tag, loopdev, sizeof loopdev, err) < 0)
    goto fail_unit;
  snprintf (rec, sizeof rec, "%s\n%s\n%s\n", loopdev, key, extent);
  if ((r = mock_write_atomic (path, rec, strlen (rec))) < 0)
    {
      vdvs_error_set (err, -r, "cannot record attachment: %s", strerror (-r));
      goto fail_loop;
    }
  sc.attached = true;
  strcpy (sc.status, "attached");
  snprintf (sc.attached_uuid, sizeof sc.attached_uuid, "%s", m->cfg.vm_uuid);
  snprintf (sc.attached_name, sizeof sc.attached_name, "%s", m->cfg.vm_name);
  sc.device = *dev;
  if (mock_sidecar_write (v->sidecar, &sc, err) < 0)
    goto fail_loop;
  if (mock_publish_device (m, dev, loopdev, err) < 0)
    goto fail_sidecar;
  mock_sidecar_clear (&sc);
  vdvs_log (VDVS_LOG_INFO, "Volume attached",
            "volume=%s datastore=%s vm=%s unit=%s bus=%s loop=%s", v->vol,
            v->ds, m->cfg.vm_name, dev->unit, dev->pci_bus, loopdev);
  return 0;

fail_sidecar:
  sc.attached = false;
  strcpy (sc.status, "detached");
  mock_sidecar_write (v->sidecar, &sc, NULL);
fail_loop:
  mock_loop_detach (loopdev, extent, tag, NULL);
fail_unit:
  drop_record (m, v, ctl, unit);
  mock_sidecar_clear (&sc);
  return -1;
}

int
mock_attach (void *handle, const char *name, struct vdvs_device *dev,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;
  int fd, r;

  if (mock_auth_mount (m, name, &v, err) < 0)
    return -1;
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  r = attach_locked (m, &v, dev, err);
  mock_unlock (fd);
  return r;
}

static int
detach_locked (struct mock *m, const struct mock_vol *v, vdvs_error_t *err)
{
  struct mock_sidecar sc;
  vdvs_error_t serr = NULL;
  uint64_t mine;
  bool have_sc;
  int r;

  if (!mock_vol_exists (v))
    return mock_not_found (v, err);
  have_sc = mock_sidecar_read (v->sidecar, &sc, &serr) == 0;
  vdvs_error_release (&serr);
  if (have_sc && sc.attached && strcmp (sc.attached_uuid, m->cfg.vm_uuid) != 0)
    {
      /* Someone else's disk: not on this VM, which upstream answers null. */
      mock_sidecar_clear (&sc);
      return 0;
    }
  /* Only units whose records name this volume: a stale sidecar's unit may
   * be another volume's by now. */
  mine = units_of (m, v);
  r = drop_attachment (m, v, have_sc ? &sc : NULL, mine, err);
  if (have_sc)
    mock_sidecar_clear (&sc);
  if (r == 0 && mine != 0)
    vdvs_log (VDVS_LOG_INFO, "Volume detached", "volume=%s datastore=%s vm=%s",
              v->vol, v->ds, m->cfg.vm_name);
  return r;
}

/* A VM in no vmgroup still detaches what it has (upstream #1441): the
 * volume of that name and datastore among its own unit records, in
 * whichever vmgroup's folder; 0 with v unset when none matches. */
static int
find_attached (struct mock *m, const char *name, struct mock_vol *v,
               vdvs_error_t *err)
{
  struct vdvs_name n;
  const char *ds;
  char path[PATH_MAX], loopdev[64], key[1024];

  if (mock_resolve_name (m, name, &n, &ds, err) < 0)
    return -1;
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        vdvs_error_t ignore = NULL;
        unit_path (m, c, u, path, sizeof path);
        if (mock_read_unit (path, loopdev, sizeof loopdev, key, sizeof key)
                == 0
            && mock_vol_from_key (m, key, v, &ignore) == 0
            && strcmp (v->ds, ds) == 0 && strcmp (v->vol, n.volume) == 0)
          return 1;
        vdvs_error_release (&ignore);
      }
  return 0;
}

int
mock_detach (void *handle, const char *name, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;
  int fd, r;

  if (mock_auth_mount (m, name, &v, err) < 0)
    {
      if ((*err)->status != EPERM)
        return -1;
      vdvs_error_release (err);
      if ((r = find_attached (m, name, &v, err)) <= 0)
        return r; /* not attached here: nothing to do, as upstream */
    }
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  r = detach_locked (m, &v, err);
  mock_unlock (fd);
  return r;
}

int
vdvs_mock_power_off (void *handle, vdvs_error_t *err)
{
  struct mock *m = handle;
  char path[PATH_MAX], loopdev[64], key[1024];
  int detached = 0;

  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        struct mock_vol v;
        int fd;

        unit_path (m, c, u, path, sizeof path);
        if (mock_read_unit (path, loopdev, sizeof loopdev, key, sizeof key) < 0
            || strchr (key, '/') == NULL)
          continue;
        if (mock_vol_from_key (m, key, &v, err) < 0)
          return -1;
        if ((fd = mock_lock (m, &v, err)) < 0)
          return -1;
        /* A unit left by a crash whose volume was removed since: release
         * it all the same. */
        if ((mock_vol_exists (&v) ? detach_locked (m, &v, err)
                                  : release_unit (m, &v, c, u, err))
            < 0)
          {
            mock_unlock (fd);
            return -1;
          }
        mock_unlock (fd);
        detached++;
      }
  vdvs_log (VDVS_LOG_INFO, "VM powered off", "vm=%s detached=%d",
            m->cfg.vm_name, detached);
  return detached;
}
