/* Volumes as the guest sees them: see volumes.h.
 *
 * Locking:
 *   table_lock   protects the hash chains and the entries' pins; never held
 *                across I/O.
 *   vol->lock    serializes Create/Remove/Mount/Unmount and recovery of ONE
 *                volume and is held across their slow work (attach, mkfs,
 *                mount).  Get/List/Path never take it, so a slow Mount never
 *                delays them; they read the atomics and the cache below.
 *   vol->cache_lock protects vol->cache (last good backend info).
 * Order: table_lock is never held while taking vol->lock.
 * Entries are freed when idle: see struct volume for the pin rule.
 */
#include "volumes.h"
#include "volumes_i.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/cleanup.h"
#include "vdvs/clock.h"
#include "vdvs/hash.h"
#include "vdvs/log.h"
#include "vdvs/mkfs.h"
#include "vdvs/name.h"

#include "device.h"
#include "mounts.h"
#include "refstore.h"

#define TABLE_SIZE 4096

static const struct vdvs_config *cfg; /* set by init, then read-only */
static struct vdvs_bk *bk;            /* set by init, then read-only */
static struct vdvs_device_roots roots;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct volume *table[TABLE_SIZE]; /* protected by table_lock */

/* Recovery's doorbell (vols_set_recovery_bell); NULL while none runs. */
static void (*recovery_bell) (bool now);

long
mono_s (void)
{
  return (long) (vdvs_mono_ns () / 1000000000);
}

/* Under vol->lock: a Mount or Unmount is changing this volume. */
static void
touch (struct volume *v)
{
  atomic_fetch_add (&v->generation, 1);
  atomic_store (&v->last_change, mono_s ());
}

static size_t
bucket (const char *s)
{
  return (size_t) (vdvs_hash (s) % TABLE_SIZE);
}

static size_t table_entries; /* protected by table_lock */

static struct volume *
table_find_locked (const char *full)
{
  for (struct volume *v = table[bucket (full)]; v; v = v->next)
    if (strcmp (v->full, full) == 0)
      return v;
  return NULL;
}

/* The entry of `full` if there is one, pinned (NULL: none). */
static struct volume *
table_find (const char *full)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&table_lock);
  struct volume *v = table_find_locked (full);
  if (v != NULL)
    v->pins++;
  return v;
}

/* The entry of `full`, made if there is none; pinned. */
struct volume *
table_get (const char *full)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&table_lock);
  struct volume *v = table_find_locked (full);
  if (v != NULL)
    {
      v->pins++;
      return v;
    }
  v = calloc (1, sizeof *v);
  if (v == NULL)
    abort ();
  snprintf (v->full, sizeof v->full, "%s", full);
  pthread_mutex_init (&v->lock, NULL);
  pthread_mutex_init (&v->cache_lock, NULL);
  v->pins = 1;
  v->next = table[bucket (full)];
  table[bucket (full)] = v;
  table_entries++;
  return v;
}

/* Drop a pin (see struct volume); the caller holds neither table_lock nor
 * v->lock.  The last pin of an idle entry frees it. */
void
table_put (struct volume *v)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&table_lock);
  struct volume **p;

  if (--v->pins > 0)
    return;
  if (v->full[0] != '\x01'
      && (!atomic_load (&v->gone) || v->mounted
          || vdvs_refs_total (&v->refs) > 0))
    return;
  for (p = &table[bucket (v->full)]; *p != v; p = &(*p)->next)
    ;
  *p = v->next;
  table_entries--;
  vdvs_refs_clear (&v->refs);
  vdvs_volume_info_clear (&v->cache);
  pthread_mutex_destroy (&v->lock);
  pthread_mutex_destroy (&v->cache_lock);
  free (v);
}

void
table_putp (struct volume **v)
{
  if (*v != NULL)
    table_put (*v);
}

void
vols_set_recovery_bell (void (*bell) (bool now))
{
  recovery_bell = bell;
}

size_t
vols_snapshot (struct vol_snap **out)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&table_lock);
  struct vol_snap *snap = NULL;
  size_t n = 0, cap = 0;

  for (size_t b = 0; b < TABLE_SIZE; b++)
    for (struct volume *v = table[b]; v; v = v->next)
      {
        if (v->full[0] == '\x01')
          continue; /* a name lock */
        if (n == cap)
          {
            cap = cap ? cap * 2 : 64;
            void *p = realloc (snap, cap * sizeof *snap);
            if (p == NULL)
              abort ();
            snap = p;
          }
        v->pins++; /* until the caller's table_put */
        snap[n].v = v;
        snap[n].gen = atomic_load (&v->generation);
        n++;
      }
  *out = snap;
  return n;
}

size_t
vdvs_volumes_table_entries (void)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&table_lock);
  return table_entries;
}

void
vdvs_vol_mountpoint (const char *full, char *out, size_t len)
{
  snprintf (out, len, "%s/%s", cfg->mount_root, full);
}

/* Publish the lock-protected state for lock-free readers. */
void
publish (struct volume *v)
{
  atomic_store (&v->refcount, vdvs_refs_total (&v->refs));
  atomic_store (&v->is_mounted, v->mounted);
}

static bool
str_eq (const char *a, const char *b)
{
  return a == b || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

static bool
info_equal (const struct vdvs_volume_info *a, const struct vdvs_volume_info *b)
{
  return str_eq (a->created_by, b->created_by) && str_eq (a->created, b->created)
         && str_eq (a->status, b->status)
         && str_eq (a->capacity_size, b->capacity_size)
         && str_eq (a->capacity_allocated, b->capacity_allocated)
         && str_eq (a->datastore, b->datastore)
         && str_eq (a->attached_to_vm, b->attached_to_vm)
         && str_eq (a->fstype, b->fstype)
         && str_eq (a->diskformat, b->diskformat)
         && str_eq (a->attach_as, b->attach_as) && str_eq (a->access, b->access)
         && str_eq (a->clone_from, b->clone_from)
         && str_eq (a->vsan_policy_name, b->vsan_policy_name)
         && a->has_device == b->has_device
         && memcmp (&a->device, &b->device, sizeof a->device) == 0;
}

static void
info_dup (struct vdvs_volume_info *d, const struct vdvs_volume_info *i)
{
  /* Out of memory leaves the copy empty: the cache is a fallback only. */
  vdvs_volume_info_copy (d, i);
}

/* Every Get refreshes the cache: a plain compare when nothing changed. */
static void
cache_info (struct volume *v, const struct vdvs_volume_info *i)
{
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->cache_lock);
  if (v->have_cache && info_equal (&v->cache, i))
    return;
  vdvs_volume_info_clear (&v->cache);
  info_dup (&v->cache, i);
  v->have_cache = true;
}

int
full_name (const char *name, const char *datastore, char *full, size_t len,
           vdvs_error_t *err)
{
  struct vdvs_name n;

  if (vdvs_name_parse (name, &n, err) < 0)
    return -1;
  if (datastore == NULL || *datastore == '\0' || strchr (datastore, '/'))
    return vdvs_error_set (err, EPROTO,
                           "backend returned no valid datastore for `%s`",
                           name);
  snprintf (full, len, "%s@%s", n.volume, datastore);
  return 0;
}

/* A volume we know under `name` (full, or short on any datastore);
 * pinned. */
struct volume *
find_known (const char *name)
{
  struct vdvs_name n;
  struct volume *found = NULL;

  if (vdvs_name_parse (name, &n, NULL) < 0)
    return NULL;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&table_lock);
  for (size_t b = 0; b < TABLE_SIZE; b++)
    for (struct volume *v = table[b]; v; v = v->next)
      {
        const char *at = strrchr (v->full, '@');
        if (at == NULL)
          continue; /* a name lock, not a volume */
        if ((size_t) (at - v->full) == strlen (n.volume)
            && strncmp (v->full, n.volume, strlen (n.volume)) == 0
            && (n.datastore[0] == '\0' || strcasecmp (at + 1, n.datastore) == 0))
          {
            /* Prefer the one in use when a short name is ambiguous. */
            if (found == NULL || atomic_load (&v->refcount) > 0)
              found = v;
          }
      }
  if (found != NULL)
    found->pins++;
  return found;
}

/* Resolve Docker's name to our entry (pinned) through the backend; when
 * the backend cannot answer (down), fall back to what we know, so Unmount
 * and Remove of mounted volumes still work. */
static struct volume *
resolve (const char *name, struct vdvs_volume_info *info, vdvs_error_t *err)
{
  char full[VDVS_FULL_NAME_MAX];
  vdvs_error_t e = NULL;
  struct volume *v;

  if (vdvs_bk_get (bk, name, info, &e) == 0)
    {
      struct vdvs_name n;
      if (info->datastore == NULL && vdvs_name_parse (name, &n, NULL) == 0
          && n.datastore[0] != '\0')
        {
          /* No metadata (upstream answers `null` for a corrupt sidecar):
           * a full name needs none to be found; its fstype and access are
           * the defaults, ext4 and read-write, as upstream. */
          vdvs_log (VDVS_LOG_WARN, "Backend get returned no metadata, "
                    "using defaults", "name=%s fstype=ext4 access=read-write",
                    name);
          vdvs_volume_info_clear (info);
          memset (info, 0, sizeof *info);
          if ((info->datastore = strdup (n.datastore)) == NULL)
            {
              vdvs_error_set (err, ENOMEM, "out of memory");
              return NULL;
            }
          return table_get (name);
        }
      if (full_name (name, info->datastore, full, sizeof full, err) < 0)
        {
          vdvs_error_release (&e);
          return NULL;
        }
      v = table_get (full);
      cache_info (v, info);
      return v;
    }
  if (e->status != ENOENT && (v = find_known (name)) != NULL)
    {
      vdvs_log (VDVS_LOG_WARN, "Backend get failed, using known volume",
                "name=%s full=%s error=\"%s\"", name, v->full, e->msg);
      vdvs_error_release (&e);
      return v;
    }
  *err = e;
  return NULL;
}

/* Create and Remove of one volume name are serialized (whatever datastore
 * spelling is used), so a Remove never lands in the middle of a Create's
 * create-attach-mkfs-detach.  The lock is an entry of the table under a key
 * no full name can have (names hold no control characters), pinned while
 * held or waited for, freed when no one does.
 * Order: name lock before the volume's own lock. */
static struct volume *
name_lock (const char *volume)
{
  char key[VDVS_FULL_NAME_MAX + 2];
  struct volume *e;

  snprintf (key, sizeof key, "\x01%s", volume);
  e = table_get (key);
  pthread_mutex_lock (&e->lock);
  return e;
}

static void
name_unlockp (struct volume **e)
{
  pthread_mutex_unlock (&(*e)->lock);
  table_put (*e);
}
/* Hold the name lock of volume `vol` until the end of the enclosing scope. */
#define HOLD_NAME_LOCK_FOR_CURRENT_SCOPE(vol)                                \
  __attribute__ ((cleanup (name_unlockp))) struct volume *VDVS_CONCAT (      \
      _name_lock_, __LINE__)                                                \
      = name_lock (vol)

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

  if (mkdir (cfg->mount_root, 0755) < 0 && errno != EEXIST)
    return vdvs_error_set (err, errno, "cannot create `%s`: %s",
                           cfg->mount_root, strerror (errno));
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
  vdvs_log (VDVS_LOG_WARN, "Device still in use after unmount, "
            "keeping it attached", "name=%s device=%s", full, device);
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

static void
detach_quietly (const char *full, const char *why)
{
  vdvs_error_t e = NULL;

  if (vdvs_bk_detach (bk, full, &e) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Detach failed", "name=%s after=\"%s\" "
                "error=\"%s\"", full, why, e->msg);
      vdvs_error_release (&e);
    }
}

/* Attach `name` and wait for its device; on failure nothing is attached. */
static int
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
static int
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
  const char *fstype = info->fstype ? info->fstype : "ext4";
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
      if (r <= 0 || vdvs_mount (devpath, mp, fstype, ro, cfg->mount_flags, err) < 0)
        {
          if (release_ready (v->full))
            detach_quietly (v->full, "failed mount");
          return -1;
        }
    }
  pending_clear (v->full);
  v->mounted = true;
  vdvs_log (VDVS_LOG_INFO, "Volume mounted", "name=%s device=%s mountpoint=%s "
            "fstype=%s access=%s", v->full, devpath, mp, fstype,
            ro ? "read-only" : "read-write");
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
    return vdvs_error_set (err, EBUSY, "Volume %s is still in use after its "
                           "unmount: it stays attached until it is released",
                           v->full);
  if (vdvs_bk_detach (bk, v->full, err) < 0)
    return -1;
  rmdir (mp);
  return 0;
}

int
vdvs_vol_mount (const char *name, const char *id, char *mountpoint, size_t len,
                vdvs_error_t *err)
{
  cleanup_info struct vdvs_volume_info info = { 0 };
  cleanup_volume struct volume *v = NULL;
  char mp[PATH_MAX];

  if ((v = resolve (name, &info, err)) == NULL)
    return -1;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->lock);
  touch (v);
  vdvs_vol_mountpoint (v->full, mp, sizeof mp);
  if (v->mounted && !vdvs_is_mounted (mp, NULL, 0))
    {
      vdvs_log (VDVS_LOG_WARN, "Mount vanished behind our back, remounting",
                "name=%s mountpoint=%s", v->full, mp);
      v->mounted = false;
    }
  if (!v->mounted)
    {
      if (info.datastore == NULL)
        return vdvs_error_set (err, EIO,
                               "Cannot mount %s: its datastore is not "
                               "reachable now",
                               v->full);
      if (mount_locked (v, &info, err) < 0)
        {
          vdvs_log (VDVS_LOG_ERROR, "Mount failed", "name=%s id=%.12s error=\"%s\"",
                    v->full, id, (*err)->msg);
          return -1;
        }
    }
  else
    vdvs_log (VDVS_LOG_INFO, "Already mounted, skipping mount.",
              "name=%s id=%.12s refcount=%u", v->full, id,
              vdvs_refs_total (&v->refs) + 1);
  if (vdvs_refs_add (&v->refs, id) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  if (save_refs (v, err) < 0)
    vdvs_log (VDVS_LOG_ERROR, "Refcount not persisted", "name=%s error=\"%s\"",
              v->full, (*err)->msg), vdvs_error_release (err);
  vdvs_log (VDVS_LOG_INFO, "Mount done", "name=%s id=%.12s refcount=%u",
            v->full, id, vdvs_refs_total (&v->refs));
  snprintf (mountpoint, len, "%s", mp);
  return 0;
}

int
vdvs_vol_unmount (const char *name, const char *id, vdvs_error_t *err)
{
  cleanup_info struct vdvs_volume_info info = { 0 };
  cleanup_volume struct volume *v = NULL;
  unsigned total;
  int r;

  if ((v = resolve (name, &info, err)) == NULL)
    {
      /* Gone from the backend and unknown to us: nothing to undo. */
      if ((*err)->status == ENOENT && (v = find_known (name)) == NULL)
        {
          vdvs_log (VDVS_LOG_WARN, "Unmount of unknown volume ignored",
                    "name=%s error=\"%s\"", name, (*err)->msg);
          vdvs_error_release (err);
          return 0;
        }
      if (v == NULL)
        return -1;
      vdvs_error_release (err);
    }
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->lock);
  touch (v);
  r = vdvs_refs_drop (&v->refs, id);
  total = vdvs_refs_total (&v->refs);
  if (r < 0)
    {
      /* An ID we never counted: unmounting could pull the volume from
       * under a container; leave it to recovery. */
      vdvs_log (VDVS_LOG_WARN, "Unmount with unknown mount ID ignored",
                "name=%s id=%.12s refcount=%u", v->full, id, total);
      return 0;
    }
  if (save_refs (v, err) < 0)
    vdvs_log (VDVS_LOG_ERROR, "Refcount not persisted", "name=%s error=\"%s\"",
              v->full, (*err)->msg), vdvs_error_release (err);
  if (total > 0)
    {
      vdvs_log (VDVS_LOG_INFO, "Still in use, skipping unmount request.",
                "name=%s id=%.12s refcount=%u", v->full, id, total);
      return 0;
    }
  if (unmount_locked (v, err) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Unmount or detach failed",
                "name=%s error=\"%s\"", v->full, (*err)->msg);
      /* Recovery retries the unmount and the detach. */
      if (recovery_bell != NULL)
        recovery_bell (true);
      return -1;
    }
  vdvs_log (VDVS_LOG_INFO, "Volume unmounted", "name=%s id=%.12s refcount=0",
            v->full, id);
  return 0;
}

/* "100mb", "2GB", "1tb" in MiB as upstream writes sizes; -1 when it is not
 * one (the backend then answers with the upstream size error). */
static int
size_mb (const char *s, uint64_t *mb)
{
  size_t n = strlen (s);
  uint64_t v = 0, mult;

  if (n < 3)
    return -1;
  if (strcasecmp (s + n - 2, "mb") == 0)
    mult = 1;
  else if (strcasecmp (s + n - 2, "gb") == 0)
    mult = 1024;
  else if (strcasecmp (s + n - 2, "tb") == 0)
    mult = 1024 * 1024;
  else
    return -1;
  for (size_t i = 0; i < n - 2; i++)
    {
      if (s[i] < '0' || s[i] > '9' || v > (UINT64_C (1) << 50))
        return -1;
      v = v * 10 + (uint64_t) (s[i] - '0');
    }
  if (v > (UINT64_C (1) << 44) / mult)
    return -1; /* no size anyone can have */
  *mb = v * mult;
  return 0;
}

/* A Create of an existing volume: when this VM's own earlier Create
 * stopped between attach and mkfs (no file system on it), finish it and
 * succeed.  Otherwise *err (the backend's "already exists") stands. */
static int
resume_create (const char *name, vdvs_error_t *err)
{
  cleanup_info struct vdvs_volume_info info = { 0 };
  char full[VDVS_FULL_NAME_MAX], devpath[PATH_MAX];
  vdvs_error_t e = NULL;
  struct volume *v;
  int r;

  /* Only a detached volume with a creator can be one; a volume in use
   * anywhere has its file system. */
  if (vdvs_bk_get (bk, name, &info, &e) < 0
      || full_name (name, info.datastore, full, sizeof full, &e) < 0)
    {
      vdvs_error_release (&e);
      return -1;
    }
  if (info.created_by == NULL || info.status == NULL
      || strcmp (info.status, "detached") != 0)
    return -1;
  v = table_get (full);
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->lock);
  if (v->mounted || vdvs_refs_total (&v->refs) > 0)
    return -1;
  if (attach_and_find (full, devpath, sizeof devpath, &e) < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Create: cannot look at the existing volume",
                "name=%s error=\"%s\"", full, e->msg);
      vdvs_error_release (&e);
      return -1;
    }
  r = resume_format (full, devpath, info.fstype ? info.fstype : "ext4", &e);
  if (r < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Create: existing volume left as it is",
                "name=%s error=\"%s\"", full, e->msg);
      vdvs_error_release (&e);
    }
  if (vdvs_bk_detach (bk, full, &e) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Detach failed", "name=%s error=\"%s\"",
                full, e->msg);
      if (r > 0)
        {
          vdvs_error_release (err);
          *err = e;
          return -1;
        }
      vdvs_error_release (&e);
    }
  if (r <= 0)
    return -1;
  vdvs_error_release (err);
  vdvs_log (VDVS_LOG_INFO, "Volume created and formatted (create resumed)",
            "name=%s fstype=%s", full, info.fstype ? info.fstype : "ext4");
  return 0;
}

int
vdvs_vol_create (const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err)
{
  cleanup_opts struct vdvs_opts o = { 0 };
  cleanup_info struct vdvs_volume_info info = { 0 };
  char full[VDVS_FULL_NAME_MAX], mkfs[PATH_MAX], devpath[PATH_MAX];
  const char *fstype, *clone;
  struct vdvs_name n;
  cleanup_volume struct volume *v = NULL;
  int r = 0;

  if (vdvs_name_parse (name, &n, err) < 0)
    return -1;
  HOLD_NAME_LOCK_FOR_CURRENT_SCOPE (n.volume);
  for (size_t i = 0; i < opts->n && r == 0; i++)
    r = vdvs_opts_set (&o, opts->v[i].key, opts->v[i].value);
  clone = vdvs_opts_get (&o, "clone-from");
  if (r == 0 && clone == NULL && vdvs_opts_get (&o, "fstype") == NULL)
    r = vdvs_opts_set (&o, "fstype", "ext4");
  if (r < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  fstype = vdvs_opts_get (&o, "fstype");
  if (fstype != NULL && vdvs_mkfs_find (fstype, mkfs, sizeof mkfs, err) < 0)
    return -1;
  if (fstype != NULL && clone == NULL && vdvs_mkfs_min_mb (fstype) > 0)
    {
      const char *size = vdvs_opts_get (&o, "size");
      uint64_t mb, min = vdvs_mkfs_min_mb (fstype);
      if (size_mb (size ? size : "100mb", &mb) == 0 && mb < min)
        return vdvs_error_set (err, EINVAL,
                               "Volume size %s is too small for fstype %s: "
                               "mkfs.%s needs at least %llumb (use -o "
                               "size=%llumb or more)",
                               size ? size : "100mb (the default)", fstype,
                               fstype, (unsigned long long) min,
                               (unsigned long long) min);
    }

  if (vdvs_bk_create (bk, name, &o, err) < 0)
    {
      /* Not made by this call: never formatted or removed here, unless
       * it is this VM's own half-made volume (no file system yet). */
      if ((*err)->status == EEXIST && clone == NULL
          && resume_create (name, err) == 0)
        return 0;
      vdvs_log (VDVS_LOG_INFO, "Create refused", "name=%s error=\"%s\"", name,
                (*err)->msg);
      return -1;
    }
  /* From here on the volume is this call's own: a failure removes it.
   * Its mount point must be a valid file name, now that the datastore
   * is known. */
  if (vdvs_bk_get (bk, name, &info, err) < 0
      || full_name (name, info.datastore, full, sizeof full, err) < 0
      || vdvs_name_check_mountable (n.volume, info.datastore, err) < 0)
    goto rollback;
  if (clone != NULL)
    return 0; /* the data came with the clone: no mkfs */
  v = table_get (full);
  pthread_mutex_lock (&v->lock);
  if (attach_and_find (full, devpath, sizeof devpath, err) < 0)
    {
      pthread_mutex_unlock (&v->lock);
      goto rollback;
    }
  /* Refuses a device that holds any signature: it cannot be the new
   * volume's. */
  if (vdvs_mkfs_run (fstype, devpath, n.volume, err) < 0)
    {
      detach_quietly (full, "failed mkfs");
      pthread_mutex_unlock (&v->lock);
      goto rollback;
    }
  r = vdvs_bk_detach (bk, full, err);
  pthread_mutex_unlock (&v->lock);
  if (r < 0)
    return -1; /* created and formatted, but left attached: say so */
  vdvs_log (VDVS_LOG_INFO, "Volume created and formatted",
            "name=%s fstype=%s", full, fstype);
  return 0;

rollback:
  {
    vdvs_error_t e2 = NULL;
    vdvs_log (VDVS_LOG_ERROR, "Create failed, removing volume",
              "name=%s error=\"%s\"", name, (*err)->msg);
    if (vdvs_bk_remove (bk, name, &o, &e2) < 0)
      {
        vdvs_log (VDVS_LOG_ERROR, "Rollback remove failed",
                  "name=%s error=\"%s\"", name, e2->msg);
        vdvs_error_release (&e2);
      }
    else if (v != NULL)
      atomic_store (&v->gone, true);
  }
  return -1;
}

int
vdvs_vol_remove (const char *name, vdvs_error_t *err)
{
  struct vdvs_opts none = { 0 };
  struct vdvs_name n;
  cleanup_volume struct volume *v = NULL;

  if (vdvs_name_parse (name, &n, err) < 0)
    return -1;
  HOLD_NAME_LOCK_FOR_CURRENT_SCOPE (n.volume);
  /* As upstream, no get first (it may fail where remove works, as for a
   * corrupt sidecar): only our own references can refuse it here. */
  if ((v = find_known (name)) == NULL)
    {
      if (vdvs_bk_remove (bk, name, &none, err) < 0)
        {
          if ((*err)->status != ENOENT)
            return -1;
          vdvs_error_release (err); /* already gone: a retried Remove */
        }
      return 0;
    }
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->lock);
  unsigned total = vdvs_refs_total (&v->refs);
  if (total > 0 || v->mounted)
    {
      vdvs_log (VDVS_LOG_INFO, "Remove refused: volume in use",
                "name=%s refcount=%u", v->full, total);
      return vdvs_error_set (err, EBUSY,
                             "Remove failure - volume is still mounted.  "
                             "volume=%s, refcount=%u",
                             name, total);
    }
  if (vdvs_bk_remove (bk, name, &none, err) < 0)
    {
      if ((*err)->status != ENOENT)
        return -1;
      vdvs_error_release (err);
    }
  {
    ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->cache_lock);
    vdvs_volume_info_clear (&v->cache);
    v->have_cache = false;
  }
  atomic_store (&v->gone, true);
  return 0;
}

/* A volume mounted here exists (it is attached to this VM: no one can
 * remove it), so a full name of one is answered from the table alone.
 * Otherwise the backend says whether the volume exists (Path of an
 * unknown volume is an error) and where; no metadata is needed. */
int
vdvs_vol_path (const char *name, char *mountpoint, size_t len,
               vdvs_error_t *err)
{
  char ds[VDVS_MAX_DS_NAME_LEN * 4 + 1], full[VDVS_FULL_NAME_MAX];
  vdvs_error_t e = NULL;
  cleanup_volume struct volume *v = NULL;

  if (strchr (name, '@') != NULL && (v = table_find (name)) != NULL)
    {
      if (atomic_load (&v->is_mounted))
        {
          vdvs_vol_mountpoint (v->full, mountpoint, len);
          return 0;
        }
      table_put (v);
      v = NULL;
    }
  if (vdvs_bk_locate (bk, name, ds, sizeof ds, &e) == 0)
    {
      vdvs_error_release (&e);
      if (full_name (name, ds, full, sizeof full, err) < 0)
        return -1;
      v = table_find (full);
    }
  else if (e->status != ENOENT && (v = find_known (name)) != NULL)
    {
      /* Backend down: what we know (as resolve does). */
      vdvs_error_release (&e);
    }
  else
    {
      *err = e;
      return -1;
    }
  if (v != NULL && atomic_load (&v->is_mounted))
    vdvs_vol_mountpoint (v->full, mountpoint, len);
  else
    mountpoint[0] = '\0';
  return 0;
}

int
vdvs_vol_get (const char *name, struct vdvs_vol_status *st, vdvs_error_t *err)
{
  vdvs_error_t e = NULL;
  cleanup_volume struct volume *v = NULL;

  memset (st, 0, sizeof *st);
  if (vdvs_bk_get (bk, name, &st->info, &e) == 0)
    {
      struct vdvs_name n;
      /* No metadata (`null`, a corrupt sidecar): a full name still names
       * the volume, as upstream answers it, so the engine goes on to
       * Mount it with the defaults. */
      if (st->info.datastore == NULL && vdvs_name_parse (name, &n, NULL) == 0
          && n.datastore[0] != '\0')
        snprintf (st->full, sizeof st->full, "%s", name);
      else if (full_name (name, st->info.datastore, st->full, sizeof st->full,
                          err)
               < 0)
        {
          vdvs_error_release (&e);
          return -1;
        }
      v = table_find (st->full);
      if (v != NULL && st->info.datastore != NULL)
        cache_info (v, &st->info);
    }
  else if (e->status != ENOENT && (v = find_known (name)) != NULL)
    {
      /* The engine forgets a volume whose Get fails: answer from what we
       * last knew and say the backend is unreachable. */
      {
        ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->cache_lock);
        if (v->have_cache)
          info_dup (&st->info, &v->cache);
      }
      if (st->info.datastore == NULL)
        {
          *err = e;
          return -1;
        }
      snprintf (st->full, sizeof st->full, "%s", v->full);
      st->stale = true;
      snprintf (st->stale_reason, sizeof st->stale_reason, "%s", e->msg);
      vdvs_error_release (&e);
    }
  else
    {
      *err = e;
      return -1;
    }
  if (v != NULL)
    {
      st->refcount = atomic_load (&v->refcount);
      st->mounted = atomic_load (&v->is_mounted);
    }
  vdvs_vol_mountpoint (st->full, st->mountpoint, sizeof st->mountpoint);
  vdvs_bk_health (bk, &st->health);
  return 0;
}

int
vdvs_vol_list (struct vdvs_volume_list *out, vdvs_error_t *err)
{
  return vdvs_bk_list (bk, out, err);
}

uint64_t
vdvs_vol_list_version (void)
{
  return vdvs_bk_list_version (bk);
}

/* ---- start-up state ------------------------------------------------- */

static void
load_ref_cb (const char *full, struct vdvs_refs *r, void *opaque)
{
  struct volume *v = table_get (full);
  (void) opaque;
  pthread_mutex_lock (&v->lock);
  vdvs_refs_clear (&v->refs);
  v->refs = *r;
  publish (v);
  pthread_mutex_unlock (&v->lock);
  table_put (v);
}

static void
mount_cb (const char *name, const char *source, void *opaque)
{
  struct volume *v = table_get (name);
  (void) opaque;
  pthread_mutex_lock (&v->lock);
  v->mounted = true;
  publish (v);
  pthread_mutex_unlock (&v->lock);
  table_put (v);
  vdvs_log (VDVS_LOG_INFO, "Found mounted volume", "name=%s device=%s", name,
            source);
}

int
vdvs_volumes_init (const struct vdvs_config *c, struct vdvs_bk *b,
                   vdvs_error_t *err)
{
  cfg = c;
  bk = b;
  vdvs_bk_device_roots (bk, &roots);
  if (cfg->sysfs_root[0])
    snprintf (roots.sysfs_root, sizeof roots.sysfs_root, "%s", cfg->sysfs_root);
  if (cfg->dev_root[0])
    snprintf (roots.dev_root, sizeof roots.dev_root, "%s", cfg->dev_root);
  if (vdvs_refstore_init (cfg->state_dir, err) < 0)
    return -1;
  vdvs_refstore_load (cfg->state_dir, load_ref_cb, NULL);
  vdvs_mounts_under (cfg->mount_root, mount_cb, NULL);
  return 0;
}
