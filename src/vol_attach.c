/* The steps of one volume's life on this VM, run under its lock: attach
 * and find the device, mount, unmount, detach; finishing a half-made
 * Create; and disks kept attached until their device is free (guarded by
 * pending_lock).  Create, Mount, Unmount (volumes.c) and recovery use them. */
#include "volumes_i.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/cleanup.h"
#include "vdvs/fsutil.h"
#include "vdvs/log.h"
#include "vdvs/mkfs.h"
#include "vdvs/name.h"

#include "device.h"
#include "mounts.h"
#include "platform/fstype.h"

static const struct vdvs_config *cfg; /* set by init, then read-only */
static struct vdvs_bk *bk;            /* set by init, then read-only */
static struct vdvs_device_roots roots;

/* Recovery's doorbell (vols_set_recovery_bell); NULL while none runs. */
static void (*recovery_bell) (bool now);

void
vols_attach_init (const struct vdvs_config *c, struct vdvs_bk *b)
{
  cfg = c;
  bk = b;
  vdvs_bk_device_roots (bk, &roots);
  if (cfg->sysfs_root[0])
    snprintf (roots.sysfs_root, sizeof roots.sysfs_root, "%s",
              cfg->sysfs_root);
  if (cfg->dev_root[0])
    snprintf (roots.dev_root, sizeof roots.dev_root, "%s", cfg->dev_root);
}

void
vols_set_recovery_bell (void (*bell) (bool now))
{
  recovery_bell = bell;
}

void
vdvs_vol_mountpoint (const char *full, char *out, size_t len)
{
  snprintf (out, len, "%s/%s", cfg->mount_root, full);
}

int
save_refs (struct volume *v, vdvs_error_t *err)
{
  publish (v);
  return vdvs_refstore_save (cfg->state_dir, v->full, &v->refs, err);
}

static int
mkdir_mountpoint (const char *mp, vdvs_error_t *err)
{
  struct stat st;
  int r = vdvs_mkdir_p (cfg->mount_root, 0755);

  if (r < 0)
    return vdvs_error_set (err, -r, "cannot create `%s`: %s", cfg->mount_root,
                           strerror (-r));
  if (mkdir (mp, 0755) == 0)
    return 0;
  if (errno != EEXIST)
    return vdvs_error_set (err, errno, "cannot create `%s`: %s", mp,
                           strerror (errno));
  if (lstat (mp, &st) < 0 || !S_ISDIR (st.st_mode))
    return vdvs_error_set (err, EEXIST,
                           "%s already exists and it's not a directory", mp);
  return 0;
}

/* Disks unmounted while their file system was still in use (a lazy
 * unmount, or the device held elsewhere): they stay attached until the
 * device is free, and recovery retries the detach (release_ready). */
struct pending
{
  struct pending *next;
  char full[VDVS_FULL_NAME_MAX];
  char device[PATH_MAX];
};
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pendings; /* protected by pending_lock */

/* Have recovery look again after a while (an unmount or detach that must
 * wait until the device is free). */
static void
retry_later (void)
{
  if (recovery_bell != NULL)
    recovery_bell (false);
}
/* Have recovery retry at once (an unmount or detach that failed). */
void
retry_now (void)
{
  if (recovery_bell != NULL)
    recovery_bell (true);
}

static void
pending_set (const char *full, const char *device)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&pending_lock);
  struct pending *p;

  for (p = pendings; p; p = p->next)
    if (strcmp (p->full, full) == 0)
      break;
  if (p == NULL)
    {
      if ((p = calloc (1, sizeof *p)) == NULL)
        abort ();
      snprintf (p->full, sizeof p->full, "%s", full);
      p->next = pendings;
      pendings = p;
    }
  snprintf (p->device, sizeof p->device, "%s", device);
}

static void
pending_clear (const char *full)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&pending_lock);
  for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
    if (strcmp ((*pp)->full, full) == 0)
      {
        struct pending *p = *pp;
        *pp = p->next;
        free (p);
        return;
      }
}

/* May the disk of `full`, which nobody mounts here, be detached now?
 * Not while an unmounted file system still holds its device; once the
 * device is free, forget it.  Recovery calls this before detaching an
 * unused volume, and looks again later when it says no. */
bool
release_ready (const char *full)
{
  char device[PATH_MAX] = "";

  {
    ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&pending_lock);
    for (struct pending *p = pendings; p; p = p->next)
      if (strcmp (p->full, full) == 0)
        snprintf (device, sizeof device, "%s", p->device);
  }
  if (device[0] == '\0')
    return true;
  if (vdvs_device_free (device))
    {
      pending_clear (full);
      return true;
    }
  vdvs_log (VDVS_LOG_WARN,
            "Device still in use after unmount, "
            "keeping it attached",
            "name=%s device=%s", full, device);
  retry_later ();
  return false;
}

/* Is the disk that get says is attached (info->device) still held here,
 * by a file system unmounted lazily before a restart or mounted by
 * someone else?  Then it must not be detached yet. */
bool
device_held (const char *full, const struct vdvs_volume_info *info)
{
  char dev[PATH_MAX];
  vdvs_error_t e = NULL;
  struct stat st;

  if (!info->has_device
      || vdvs_device_path (&roots, &info->device, dev, sizeof dev, &e) < 0)
    {
      vdvs_error_release (&e);
      return false;
    }
  if (stat (dev, &st) < 0 || !S_ISBLK (st.st_mode) || vdvs_device_free (dev))
    return false;
  vdvs_log (VDVS_LOG_WARN, "Device still in use, keeping it attached",
            "name=%s device=%s", full, dev);
  retry_later ();
  return true;
}

void
detach_quietly (const char *full, const char *why)
{
  vdvs_error_t e = NULL;

  if (vdvs_bk_detach (bk, full, &e) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Detach failed",
                "name=%s after=\"%s\" "
                "error=\"%s\"",
                full, why, e->msg);
      vdvs_error_release (&e);
    }
}

/* Attach `name` and wait for its device; on failure nothing is attached. */
int
attach_and_find (const char *name, char *devpath, size_t len,
                 vdvs_error_t *err)
{
  struct vdvs_device dev;

  if (vdvs_bk_attach (bk, name, &dev, err) < 0)
    {
      /* A reply we cannot read still attached the disk. */
      if ((*err)->status == EBADMSG)
        detach_quietly (name, "unreadable attach reply");
      return -1;
    }
  if (vdvs_device_path (&roots, &dev, devpath, len, err) < 0
      || vdvs_device_wait (devpath, cfg->device_timeout_ms, err) < 0)
    {
      detach_quietly (name, "device not found");
      return -1;
    }
  return 0;
}

/* Is the attached volume `full` one this VM created?  Asked while it is
 * attached here, so get's "attached to VM" is this VM's own name, on every
 * backend. */
static bool
created_here (const char *full, char *who, size_t len)
{
  cleanup_info struct vdvs_volume_info info = { 0 };
  vdvs_error_t e = NULL;

  snprintf (who, len, "?");
  if (vdvs_bk_get (bk, full, &info, &e) < 0)
    {
      vdvs_error_release (&e);
      return false;
    }
  snprintf (who, len, "%s", info.created_by ? info.created_by : "?");
  return info.created_by != NULL && info.attached_to_vm != NULL
         && strcmp (info.created_by, info.attached_to_vm) == 0;
}

/* The attached device of volume `full` found without a file
 * system: a Create of this VM stopped between attach and mkfs.  Finish it.
 * 1 formatted, 0 the device holds a file system (nothing to do), <0 with
 * err when it is blank but not this VM's, or mkfs failed. */
int
resume_format (const char *full, const char *devpath, const char *fstype,
               vdvs_error_t *err)
{
  char found[64], who[256];
  struct vdvs_name n;
  vdvs_error_t e = NULL;
  int r = vdvs_fs_probe (devpath, found, sizeof found, &e);

  if (r == 0)
    {
      /* Blank twice, a moment apart: not a disk caught coming up. */
      struct timespec ts = { 0, 200 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      r = vdvs_fs_probe (devpath, found, sizeof found, &e);
    }
  if (r != 0)
    {
      if (r < 0)
        vdvs_log (VDVS_LOG_WARN, "Probe for a file system failed",
                  "name=%s error=\"%s\"", full, e->msg);
      vdvs_error_release (&e);
      return 0;
    }
  if (!created_here (full, who, sizeof who))
    return vdvs_error_set (err, EIO,
                           "Volume %s has no filesystem and was created by "
                           "VM %s, not this VM: not formatting it",
                           full, who);
  vdvs_name_parse (full, &n, NULL);
  vdvs_log (VDVS_LOG_WARN, "Volume has no filesystem: finishing its create",
            "name=%s fstype=%s", full, fstype);
  if (vdvs_mkfs_run (fstype, devpath, n.volume, err) < 0)
    return -1;
  return 1;
}

/* Mount a volume whose lock is held: attach, wait, mount. */
int
mount_locked (struct volume *v, const struct vdvs_volume_info *info,
              vdvs_error_t *err)
{
  char mp[PATH_MAX], devpath[PATH_MAX];
  const char *fstype = info->fstype ? info->fstype : vdvs_fstype_default ();
  bool ro = info->access && strcmp (info->access, "read-only") == 0;

  vdvs_vol_mountpoint (v->full, mp, sizeof mp);
  if (mkdir_mountpoint (mp, err) < 0
      || attach_and_find (v->full, devpath, sizeof devpath, err) < 0)
    return -1;
  if (vdvs_mount (devpath, mp, fstype, ro, cfg->mount_flags, err) < 0)
    {
      vdvs_error_t e2 = NULL;
      int r;
      vdvs_log (VDVS_LOG_WARN, "Mount failed, looking for a file system",
                "name=%s error=\"%s\"", v->full, (*err)->msg);
      r = resume_format (v->full, devpath, fstype, &e2);
      if (r != 0)
        vdvs_error_release (err);
      if (r < 0)
        *err = e2;
      if (r <= 0
          || vdvs_mount (devpath, mp, fstype, ro, cfg->mount_flags, err) < 0)
        {
          if (release_ready (v->full))
            detach_quietly (v->full, "failed mount");
          return -1;
        }
    }
  pending_clear (v->full);
  v->mounted = true;
  vdvs_log (VDVS_LOG_INFO, "Volume mounted",
            "name=%s device=%s mountpoint=%s "
            "fstype=%s access=%s",
            v->full, devpath, mp, fstype, ro ? "read-only" : "read-write");
  return 0;
}

/* Unmount and detach a volume whose lock is held. */
int
unmount_locked (struct volume *v, vdvs_error_t *err)
{
  char mp[PATH_MAX], dev[PATH_MAX] = "";

  vdvs_vol_mountpoint (v->full, mp, sizeof mp);
  if (vdvs_is_mounted (mp, dev, sizeof dev) && vdvs_umount (mp, dev, err) < 0)
    {
      /* A hot-remove of a live file system drops its dirty data: keep
       * the disk attached; recovery detaches it once it is free. */
      if (!vdvs_is_mounted (mp, NULL, 0))
        {
          v->mounted = false;
          publish (v);
          pending_set (v->full, dev);
        }
      vdvs_log (VDVS_LOG_ERROR, "Unmount failed, volume stays attached",
                "name=%s device=%s error=\"%s\"", v->full, dev, (*err)->msg);
      retry_later ();
      return -1;
    }
  v->mounted = false;
  publish (v);
  if (!release_ready (v->full))
    return vdvs_error_set (err, EBUSY,
                           "Volume %s is still in use after its "
                           "unmount: it stays attached until it is released",
                           v->full);
  if (vdvs_bk_detach (bk, v->full, err) < 0)
    return -1;
  rmdir (mp);
  return 0;
}
