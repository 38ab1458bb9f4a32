/* Restart recovery (recovery.h): one thread, woken by a kick, reconciles
 * each volume with the engine's view under that volume's lock (volumes_i.h);
 * rec.kick_lock guards only the wake-up flags. */
#include "recovery.h"
#include "volumes_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/cleanup.h"
#include "vdvs/log.h"

#include "docker.h"
#include "mounts.h"

/* The engine calls Mount before the container runs, so a fresh mount has
 * no running container yet: recovery leaves such volumes alone for
 * cfg->recovery_grace_s. */
#define RECOVERY_GRACE_S (cfg->recovery_grace_s)

static const struct vdvs_config *cfg; /* set by init, then read-only */
static struct vdvs_bk *bk;            /* set by init, then read-only */

/* The recovery thread and what wakes it. */
static struct
{
  pthread_t thread;
  bool started;
  pthread_mutex_t kick_lock;
  pthread_cond_t kick_cond;
  bool kicked, stopping; /* protected by kick_lock */
  /* A pass left volumes alone (fresh mounts, concurrent changes): look at
   * them again once the grace period is over.  Protected by kick_lock. */
  bool recheck;
  /* Wall-clock second of the engine's latest Activate (0: none since we
   * started); references taken before it are prior.  Protected by
   * kick_lock. */
  time_t activated;
} rec = { .kick_lock = PTHREAD_MUTEX_INITIALIZER,
          .kick_cond = PTHREAD_COND_INITIALIZER };

struct users
{
  size_t n;
  time_t activated; /* rec.activated when the engine was asked */
  struct
  {
    char full[VDVS_FULL_NAME_MAX];
    unsigned count; /* started containers */
    /* Containers created before rec.activated, started or not (a Mount
     * comes before the start): those may hold prior references. */
    unsigned old;
  } * v;
};

static void
users_add (struct users *u, const char *full, long long created, bool started)
{
  /* A container made after the Activate cannot hold a prior reference;
   * one of unknown age (0) might. */
  unsigned old = u->activated != 0 && created <= (long long) u->activated;

  for (size_t i = 0; i < u->n; i++)
    if (strcmp (u->v[i].full, full) == 0)
      {
        u->v[i].count += started;
        u->v[i].old += old;
        return;
      }
  void *nv = realloc (u->v, (u->n + 1) * sizeof *u->v);
  if (nv == NULL)
    return;
  u->v = nv;
  snprintf (u->v[u->n].full, sizeof u->v[u->n].full, "%s", full);
  u->v[u->n].count = started;
  u->v[u->n].old = old;
  u->n++;
}

/* One volume mount of a running container.  The engine lists a plugin
 * volume's Source only when it has one cached, so the name and driver
 * (`vsphere`, or `vsphere:latest` for a managed plugin) are the key. */
static void
users_cb (const char *name, const char *source, const char *driver,
          long long created, bool started, void *opaque)
{
  struct users *u = opaque;
  size_t rl = strlen (cfg->mount_root), dl = strlen (cfg->driver);
  char full[VDVS_FULL_NAME_MAX];
  cleanup_info struct vdvs_volume_info info = { 0 };
  vdvs_error_t e = NULL;
  cleanup_volume struct volume *v = NULL;

  if (strncmp (source, cfg->mount_root, rl) == 0 && source[rl] == '/')
    {
      users_add (u, source + rl + 1, created, started);
      return;
    }
  /* A managed plugin's driver is its reference: [repo/]name[:tag]. */
  if (strrchr (driver, '/') != NULL)
    driver = strrchr (driver, '/') + 1;
  if (strncmp (driver, cfg->driver, dl) != 0
      || (driver[dl] != '\0' && driver[dl] != ':'))
    return;
  if (vdvs_bk_get (bk, name, &info, &e) == 0
      && full_name (name, info.datastore, full, sizeof full, &e) == 0)
    users_add (u, full, created, started);
  else if ((v = find_known (name)) != NULL)
    users_add (u, v->full, created, started);
  else
    vdvs_log (VDVS_LOG_WARN, "Recovery: cannot resolve a volume in use",
              "name=%s error=\"%s\"", name, e ? e->msg : "unknown");
  vdvs_error_release (&e);
}

static unsigned
users_of (const struct users *u, const char *full, unsigned *old)
{
  for (size_t i = 0; i < u->n; i++)
    if (strcmp (u->v[i].full, full) == 0)
      {
        *old = u->v[i].old;
        return u->v[i].count;
      }
  *old = 0;
  return 0;
}

/* Reconcile one volume with the engine's view (users < 0: unknown; `old`
 * of them in containers created before the engine's latest Activate). */
/* Returns false when the volume was left alone and deserves another look
 * later. */
static bool
reconcile (struct volume *v, uint64_t gen, int users, unsigned old)
{
  vdvs_error_t e = NULL;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->lock);
  unsigned total = vdvs_refs_total (&v->refs), gone = 0;
  char mp[PATH_MAX];

  if (atomic_load (&v->generation) != gen)
    return false; /* a Mount/Unmount ran meanwhile: look again later */
  vdvs_vol_mountpoint (v->full, mp, sizeof mp);
  if (v->mounted && !vdvs_is_mounted (mp, NULL, 0))
    v->mounted = false;
  if (users >= 0 && v->refs.prior > old)
    {
      /* Only a container older than the engine's restart can hold a
       * reference from before it; the others died with the old engine,
       * which never sends their Unmount.  No grace: they are not fresh. */
      gone = v->refs.prior - old;
      v->refs.prior = old;
      save_refs (v, &e);
      vdvs_error_release (&e);
      /* With no user left, the release below says it. */
      if (users > 0 || total > gone)
        vdvs_log (VDVS_LOG_INFO,
                  "Recovery: dropping references of containers gone "
                  "with the engine's restart",
                  "name=%s refcount=%u dropped=%u users=%d", v->full, total,
                  gone, users);
      total -= gone;
    }
  if (users >= 0 && total > (unsigned) users
      && mono_s () - atomic_load (&v->last_change) < RECOVERY_GRACE_S)
    {
      vdvs_log (VDVS_LOG_INFO,
                "Recovery: volume mounted moments ago, "
                "leaving it to its container for now",
                "name=%s refcount=%u users=%d", v->full, total, users);
      return false;
    }
  if (users > 0 && total > (unsigned) users)
    {
      /* References of containers that died without an Unmount (engine
       * crash): keep exactly the real users.  Their IDs are unknown, and
       * an Unmount with any ID uses one up. */
      vdvs_log (VDVS_LOG_INFO, "Recovery: dropping stale references",
                "name=%s refcount=%u users=%d", v->full, total, users);
      vdvs_refs_clear (&v->refs);
      v->refs.anon = (unsigned) users;
      save_refs (v, &e);
      vdvs_error_release (&e);
      total = (unsigned) users;
    }
  if (users == 0 || (users < 0 && total == 0))
    {
      if (total + gone > 0)
        vdvs_log (VDVS_LOG_INFO,
                  "Recovery: no container uses volume, "
                  "dropping references",
                  "name=%s refcount=%u", v->full, total + gone);
      vdvs_refs_clear (&v->refs);
      save_refs (v, &e);
      vdvs_error_release (&e);
      if (v->mounted || total + gone > 0)
        {
          if (unmount_locked (v, &e) < 0)
            {
              vdvs_log (VDVS_LOG_ERROR, "Recovery: detach failed",
                        "name=%s error=\"%s\"", v->full, e->msg);
              vdvs_error_release (&e);
            }
          else
            vdvs_log (VDVS_LOG_INFO, "Recovery: unmounted and detached",
                      "name=%s refcount=0", v->full);
        }
      return true;
    }
  if (users > 0 && total < (unsigned) users)
    {
      v->refs.anon += (unsigned) users - total;
      vdvs_log (VDVS_LOG_INFO, "Recovery: references from running containers",
                "name=%s refcount=%u", v->full, vdvs_refs_total (&v->refs));
      save_refs (v, &e);
      vdvs_error_release (&e);
    }
  if (!v->mounted && vdvs_refs_total (&v->refs) > 0)
    {
      cleanup_info struct vdvs_volume_info info = { 0 };
      if (vdvs_bk_get (bk, v->full, &info, &e) < 0
          || mount_locked (v, &info, &e) < 0)
        {
          vdvs_log (VDVS_LOG_ERROR, "Recovery: remount failed",
                    "name=%s error=\"%s\"", v->full, e->msg);
          vdvs_error_release (&e);
        }
      publish (v);
    }
  return true;
}

/* Volumes attached to this VM that nobody here mounts (a crash between
 * attach and mount, after an unmount before the detach, or a host crash
 * that took the devices and mounts but left the backend's records).  With
 * `keep_referenced`, volumes that still hold references are left to
 * reconcile (their containers may be coming back).  Needs the backend and
 * the mount table only, never the engine. */
static void
sweep_attachments (bool keep_referenced)
{
  cleanup_list struct vdvs_volume_list l = { 0 };
  vdvs_error_t e = NULL;

  if (vdvs_bk_list (bk, &l, &e) < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Recovery: list failed", "error=\"%s\"",
                e->msg);
      vdvs_error_release (&e);
      return;
    }
  for (size_t i = 0; i < l.n; i++)
    {
      cleanup_info struct vdvs_volume_info info = { 0 };
      cleanup_volume struct volume *v = NULL;
      if (vdvs_bk_get (bk, l.names[i], &info, &e) < 0)
        {
          vdvs_error_release (&e);
          continue;
        }
      if (info.status == NULL || strcmp (info.status, "attached") != 0)
        continue;
      v = table_get (l.names[i]);
      ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&v->lock);
      if (v->mounted || (keep_referenced && vdvs_refs_total (&v->refs) > 0)
          || !release_ready (v->full) || device_held (v->full, &info))
        continue;
      /* Detaching another VM's disk is a no-op answer (null) upstream, so
       * this only ever releases our own. */
      if (vdvs_bk_detach (bk, v->full, &e) < 0)
        {
          vdvs_log (VDVS_LOG_WARN, "Recovery: detach of unused volume failed",
                    "name=%s error=\"%s\"", v->full, e->msg);
          vdvs_error_release (&e);
        }
      else
        vdvs_log (VDVS_LOG_INFO, "Recovery: detached unused volume", "name=%s",
                  v->full);
    }
}

void
vdvs_volumes_sweep_stale (void)
{
  sweep_attachments (false);
}

static void
recover_once (int attempts)
{
  struct users u = { 0 };
  vdvs_error_t e = NULL;
  bool known = false;
  struct vol_snap *snap = NULL;
  size_t n;

  /* Snapshot the generations before asking the engine. */
  n = vols_snapshot (&snap);
  pthread_mutex_lock (&rec.kick_lock);
  u.activated = rec.activated;
  pthread_mutex_unlock (&rec.kick_lock);
  if (cfg->docker_socket[0] && vdvs_docker_present (cfg->docker_socket))
    for (int i = 0; i < attempts && !known; i++)
      {
        if (vdvs_docker_mounts (cfg->docker_socket, users_cb, &u, &e) == 0)
          known = true;
        else
          {
            vdvs_log (VDVS_LOG_WARN,
                      "Recovery: Docker not answering, retrying",
                      "attempt=%d error=\"%s\"", i + 1, e->msg);
            vdvs_error_release (&e);
            free (u.v);
            u.v = NULL;
            u.n = 0;
            pthread_mutex_lock (&rec.kick_lock);
            if (!rec.stopping)
              {
                struct timespec ts;
                clock_gettime (CLOCK_REALTIME, &ts);
                ts.tv_sec += 2;
                pthread_cond_timedwait (&rec.kick_cond, &rec.kick_lock, &ts);
              }
            bool stop = rec.stopping;
            pthread_mutex_unlock (&rec.kick_lock);
            if (stop)
              break;
          }
      }
  vdvs_log (VDVS_LOG_INFO, "Recovery: reconciling", "volumes=%zu docker=%s", n,
            known ? "yes" : "unavailable");
  bool again = false;
  for (size_t i = 0; i < n; i++)
    {
      unsigned old = 0, users = users_of (&u, snap[i].v->full, &old);
      if (!reconcile (snap[i].v, snap[i].gen, known ? (int) users : -1, old))
        again = true;
      table_put (snap[i].v);
    }
  /* Left volumes alone, or could not ask the engine (it may be restoring,
   * which takes as long as stopping its old containers): look again. */
  if ((again && known)
      || (!known && cfg->docker_socket[0]
          && vdvs_docker_present (cfg->docker_socket)))
    {
      pthread_mutex_lock (&rec.kick_lock);
      rec.recheck = true;
      pthread_mutex_unlock (&rec.kick_lock);
    }
  free (snap);
  free (u.v);
  sweep_attachments (true);
  vdvs_log (VDVS_LOG_INFO, "Refcounting successfully completed", NULL);
}

static void *
recovery_main (void *arg)
{
  (void) arg;
  recover_once (10);
  for (;;)
    {
      bool timed_out = false;
      pthread_mutex_lock (&rec.kick_lock);
      if (rec.recheck && !rec.kicked && !rec.stopping)
        {
          struct timespec ts;
          clock_gettime (CLOCK_REALTIME, &ts);
          ts.tv_sec += RECOVERY_GRACE_S / 2 + 1;
          timed_out = pthread_cond_timedwait (&rec.kick_cond, &rec.kick_lock,
                                              &ts)
                      == ETIMEDOUT;
        }
      while (!rec.kicked && !rec.stopping && !timed_out)
        pthread_cond_wait (&rec.kick_cond, &rec.kick_lock);
      rec.kicked = false;
      rec.recheck = false;
      bool stop = rec.stopping;
      pthread_mutex_unlock (&rec.kick_lock);
      if (stop)
        break;
      /* Let a restarted engine re-mount its restart-policy containers
       * first; their Mounts bump generations and are left alone. */
      if (!timed_out)
        sleep (2);
      recover_once (3);
    }
  return NULL;
}

void
vdvs_volumes_start_recovery (void)
{
  if (pthread_create (&rec.thread, NULL, recovery_main, NULL) == 0)
    rec.started = true;
}

void
vdvs_volumes_kick_recovery (void)
{
  pthread_mutex_lock (&rec.kick_lock);
  rec.kicked = true;
  pthread_cond_signal (&rec.kick_cond);
  pthread_mutex_unlock (&rec.kick_lock);
}

void
vdvs_volumes_engine_activated (void)
{
  struct vol_snap *snap = NULL;
  size_t n;

  /* First the time, then the ageing: a container made in between counts
   * as old, which only keeps more references. */
  pthread_mutex_lock (&rec.kick_lock);
  rec.activated = time (NULL);
  pthread_mutex_unlock (&rec.kick_lock);
  n = vols_snapshot (&snap);
  for (size_t i = 0; i < n; i++)
    {
      struct volume *v = snap[i].v;
      pthread_mutex_lock (&v->lock);
      vdvs_refs_age (&v->refs);
      publish (v);
      pthread_mutex_unlock (&v->lock);
      table_put (v);
    }
  free (snap);
  vdvs_volumes_kick_recovery ();
}

void
vdvs_volumes_shutdown (void)
{
  pthread_mutex_lock (&rec.kick_lock);
  rec.stopping = true;
  pthread_cond_broadcast (&rec.kick_cond);
  pthread_mutex_unlock (&rec.kick_lock);
  if (rec.started)
    pthread_join (rec.thread, NULL);
  rec.started = false;
}

/* The volume code's doorbell: `now` after a failed unmount, else (a
 * device still busy) another look once the grace period is over. */
static void
ring (bool now)
{
  if (now)
    {
      vdvs_volumes_kick_recovery ();
      return;
    }
  pthread_mutex_lock (&rec.kick_lock);
  rec.recheck = true;
  pthread_mutex_unlock (&rec.kick_lock);
}

void
vdvs_recovery_init (const struct vdvs_config *c, struct vdvs_bk *b)
{
  cfg = c;
  bk = b;
  vols_set_recovery_bell (ring);
}
