/* The volume table: its entries (struct volume in volumes_i.h), their pins
 * and name locks, the last good backend info of each, and the lookups by
 * name.  table_lock guards the hash chains and the pins only (see the
 * locking notes in volumes_i.h). */
#include "volumes_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vdvs/cleanup.h"
#include "vdvs/clock.h"
#include "vdvs/hash.h"
#include "vdvs/name.h"

#define TABLE_SIZE 4096

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct volume *table[TABLE_SIZE]; /* protected by table_lock */

long
mono_s (void)
{
  return (long) (vdvs_mono_ns () / 1000000000);
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
struct volume *
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
  return str_eq (a->created_by, b->created_by)
         && str_eq (a->created, b->created) && str_eq (a->status, b->status)
         && str_eq (a->capacity_size, b->capacity_size)
         && str_eq (a->capacity_allocated, b->capacity_allocated)
         && str_eq (a->datastore, b->datastore)
         && str_eq (a->attached_to_vm, b->attached_to_vm)
         && str_eq (a->fstype, b->fstype)
         && str_eq (a->diskformat, b->diskformat)
         && str_eq (a->attach_as, b->attach_as)
         && str_eq (a->access, b->access)
         && str_eq (a->clone_from, b->clone_from)
         && str_eq (a->vsan_policy_name, b->vsan_policy_name)
         && a->has_device == b->has_device
         && memcmp (&a->device, &b->device, sizeof a->device) == 0;
}

void
info_dup (struct vdvs_volume_info *d, const struct vdvs_volume_info *i)
{
  /* Out of memory leaves the copy empty: the cache is a fallback only. */
  vdvs_volume_info_copy (d, i);
}

/* Every Get refreshes the cache: a plain compare when nothing changed. */
void
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
            && (n.datastore[0] == '\0'
                || strcasecmp (at + 1, n.datastore) == 0))
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

/* Create and Remove of one volume name are serialized (whatever datastore
 * spelling is used), so a Remove never lands in the middle of a Create's
 * create-attach-mkfs-detach.  The lock is an entry of the table under a key
 * no full name can have (names hold no control characters), pinned while
 * held or waited for, freed when no one does.
 * Order: name lock before the volume's own lock. */
struct volume *
name_lock (const char *volume)
{
  char key[VDVS_FULL_NAME_MAX + 2];
  struct volume *e;

  snprintf (key, sizeof key, "\x01%s", volume);
  e = table_get (key);
  pthread_mutex_lock (&e->lock);
  return e;
}

void
name_unlockp (struct volume **e)
{
  pthread_mutex_unlock (&(*e)->lock);
  table_put (*e);
}
