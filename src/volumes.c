/* The operations on volumes that volumes.h offers: Create, Remove, Mount,
 * Unmount, Path, Get, List, and the start-up state.  Create, Remove, Mount
 * and Unmount hold the volume's lock (name lock first for Create and
 * Remove); Get, List and Path never take it (see volumes_i.h). */
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

#include "vdvs/cleanup.h"
#include "vdvs/log.h"
#include "vdvs/mkfs.h"
#include "vdvs/name.h"
#include "vdvs/size.h"

#include "mounts.h"
#include "platform/fstype.h"
#include "refstore.h"

static struct vdvs_bk *bk; /* set by init, then read-only */

/* Under vol->lock: a Mount or Unmount is changing this volume. */
static void
touch (struct volume *v)
{
  atomic_fetch_add (&v->generation, 1);
  atomic_store (&v->last_change, mono_s ());
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
           * the defaults (vdvs_fstype_default, read-write), as upstream. */
          vdvs_log (VDVS_LOG_WARN,
                    "Backend get returned no metadata, "
                    "using defaults",
                    "name=%s fstype=%s access=read-write", name,
                    vdvs_fstype_default ());
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
          vdvs_log (VDVS_LOG_ERROR, "Mount failed",
                    "name=%s id=%.12s error=\"%s\"", v->full, id, (*err)->msg);
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
              v->full, (*err)->msg),
        vdvs_error_release (err);
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
              v->full, (*err)->msg),
        vdvs_error_release (err);
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
      retry_now ();
      return -1;
    }
  vdvs_log (VDVS_LOG_INFO, "Volume unmounted", "name=%s id=%.12s refcount=0",
            v->full, id);
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
  r = resume_format (full, devpath,
                     info.fstype ? info.fstype : vdvs_fstype_default (), &e);
  if (r < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Create: existing volume left as it is",
                "name=%s error=\"%s\"", full, e->msg);
      vdvs_error_release (&e);
    }
  if (vdvs_bk_detach (bk, full, &e) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Detach failed", "name=%s error=\"%s\"", full,
                e->msg);
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
            "name=%s fstype=%s", full,
            info.fstype ? info.fstype : vdvs_fstype_default ());
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
    r = vdvs_opts_set (&o, "fstype", vdvs_fstype_default ());
  if (r < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  fstype = vdvs_opts_get (&o, "fstype");
  if (fstype != NULL && vdvs_mkfs_find (fstype, mkfs, sizeof mkfs, err) < 0)
    return -1;
  if (fstype != NULL && clone == NULL && vdvs_mkfs_min_mb (fstype) > 0)
    {
      const char *size = vdvs_opts_get (&o, "size");
      uint64_t mb, min = vdvs_mkfs_min_mb (fstype);
      if (vdvs_size_parse_mb (size ? size : "100mb", &mb) == 0 && mb < min)
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
  vdvs_log (VDVS_LOG_INFO, "Volume created and formatted", "name=%s fstype=%s",
            full, fstype);
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
  bk = b;
  vols_attach_init (c, b);
  if (vdvs_refstore_init (c->state_dir, err) < 0)
    return -1;
  vdvs_refstore_load (c->state_dir, load_ref_cb, NULL);
  vdvs_mounts_under (c->mount_root, mount_cb, NULL);
  return 0;
}
