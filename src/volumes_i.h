/* Private to the volume files (volumes.c, vol_table.c, vol_attach.c) and
 * recovery.c: the volume table's entry and the steps of a volume's life
 * that restart recovery replays.
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
 * Entries are freed when idle: see struct volume for the pin rule. */
#ifndef VDVS_VOLUMES_I_H
#define VDVS_VOLUMES_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "refstore.h"
#include "volumes.h"

/* An entry of the table: a volume, or a name lock (key "\x01<volume>").
 *
 * Lifetime.  A pointer to an entry is valid only while its holder has a
 * pin on it: table_get, table_find, find_known and name_lock take one
 * under table_lock, table_put drops it (cleanup_volume and
 * HOLD_NAME_LOCK_FOR_CURRENT_SCOPE do so at the end of a scope).  Only a
 * pin holder may take v->lock, and it drops v->lock before its pin.  When
 * the last pin goes, table_put frees the entry if it is idle: a name lock
 * always (no one holds or waits for it), a volume once it is gone (a
 * Remove succeeded) and has no references and no mount.  With no pin
 * left no other thread has the pointer, so table_put reads those
 * lock-protected fields under table_lock alone.  A later lookup of the
 * name makes a fresh entry. */
struct volume
{
  struct volume *next;           /* protected by table_lock */
  unsigned pins;                 /* protected by table_lock */
  atomic_bool gone;              /* set by a pin holder when removed */
  char full[VDVS_FULL_NAME_MAX]; /* "vol@datastore"; immutable */
  pthread_mutex_t lock;
  /* Protected by lock: */
  struct vdvs_refs refs;
  bool mounted;
  /* Written under lock, read anywhere: */
  atomic_uint_fast64_t generation; /* bumped by every Mount/Unmount */
  atomic_long last_change;         /* CLOCK_MONOTONIC s of the last one */
  atomic_uint refcount;
  atomic_bool is_mounted;
  pthread_mutex_t cache_lock;
  struct vdvs_volume_info cache; /* protected by cache_lock */
  bool have_cache;               /* protected by cache_lock */
};

/* ---- vol_table.c: the table ---------------------------------------- */

/* CLOCK_MONOTONIC seconds (struct volume's last_change). */
long mono_s (void);

/* The entry of `full` if there is one, pinned (NULL: none). */
struct volume *table_find (const char *full);
/* The entry of `full`, made if there is none; pinned.  table_put drops a
 * pin (the caller holds neither table_lock nor v->lock). */
struct volume *table_get (const char *full);
void table_put (struct volume *v);
void table_putp (struct volume **v);
/* A pinned entry pointer, unpinned at the end of its scope: declare it
 * before any ACQUIRE_LOCK_FOR_CURRENT_SCOPE of its lock, so that the lock
 * goes first. */
#define cleanup_volume __attribute__ ((cleanup (table_putp)))

/* Every volume of the table (no name locks), each pinned, with its
 * generation; *out is the caller's to free, after a table_put of each. */
struct vol_snap
{
  struct volume *v;
  uint64_t gen;
};
size_t vols_snapshot (struct vol_snap **out);

/* "vol@datastore" of `name` on `datastore`, as the backend placed it. */
int full_name (const char *name, const char *datastore, char *full, size_t len,
               vdvs_error_t *err);
/* A volume we know under `name` (full, or short on any datastore), pinned;
 * NULL if none. */
struct volume *find_known (const char *name);

/* Create and Remove of one volume name are serialized (whatever datastore
 * spelling is used) by a name lock: an entry of the table under a key no
 * full name can have.  Order: name lock before the volume's own lock. */
struct volume *name_lock (const char *volume);
void name_unlockp (struct volume **e);
/* Hold the name lock of volume `vol` until the end of the enclosing scope. */
#define HOLD_NAME_LOCK_FOR_CURRENT_SCOPE(vol)                                 \
  __attribute__ ((cleanup (name_unlockp))) struct volume *                    \
  VDVS_CONCAT (_name_lock_, __LINE__) = name_lock (vol)

/* The last good backend info of v (a copy; out of memory leaves *d
 * empty), and its refresh by a Get. */
void info_dup (struct vdvs_volume_info *d, const struct vdvs_volume_info *i);
void cache_info (struct volume *v, const struct vdvs_volume_info *i);

/* Under v->lock. */
/* Publish the lock-protected state for lock-free readers. */
void publish (struct volume *v);

/* ---- vol_attach.c: the steps under a volume's lock ------------------ */

/* Called by vdvs_volumes_init: the config and backend the steps use. */
void vols_attach_init (const struct vdvs_config *c, struct vdvs_bk *b);

/* Under v->lock. */
/* publish, then persist v's references. */
int save_refs (struct volume *v, vdvs_error_t *err);
/* Attach, wait for the device, mount (finishing a half-made create). */
int mount_locked (struct volume *v, const struct vdvs_volume_info *info,
                  vdvs_error_t *err);
/* Unmount, then detach unless the device is still busy. */
int unmount_locked (struct volume *v, vdvs_error_t *err);

/* May the disk of `full`, which nobody mounts here, be detached now (no
 * unmounted file system still holds its device)? */
bool release_ready (const char *full);
/* Is the device get says `full` is attached as still held here? */
bool device_held (const char *full, const struct vdvs_volume_info *info);

/* Attach `name` and wait for its device; on failure nothing is attached. */
int attach_and_find (const char *name, char *devpath, size_t len,
                     vdvs_error_t *err);
/* Detach `full`, logging a failure (`why`: what went wrong before). */
void detach_quietly (const char *full, const char *why);
/* The attached device of `full` found without a file system: finish this
 * VM's half-made Create (mkfs).  1 formatted, 0 it holds a file system,
 * <0 with err when it is blank but not this VM's, or mkfs failed. */
int resume_format (const char *full, const char *devpath, const char *fstype,
                   vdvs_error_t *err);

/* Recovery's doorbell, rung when a failed unmount or a busy device needs
 * another pass (`now`: at once; else once the grace period is over).
 * Set by recovery.c (a call back up, so that the volume files call nothing
 * in recovery.c); until then nothing rings. */
void vols_set_recovery_bell (void (*bell) (bool now));
/* Ring it now: a failed unmount or detach for recovery to retry. */
void retry_now (void);

#endif
