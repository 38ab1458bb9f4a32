/* The in-memory index of volumes per datastore, kept coherent by inotify:
 * see index.h.
 *
 * Every event for a name that could be a descriptor is applied by looking
 * at the file as it is now (fstatat through the folder's fd), never by
 * trusting the event kind: events that race with a scan, arrive twice or
 * out of order all converge on what is on disk.
 *
 * Per-volume records.  Each entry may carry the volume's metadata as Get
 * last read it from the descriptor and sidecar (everything but the
 * allocated size, which Get takes from the extent on every call).  Any
 * event on the volume's descriptor, sidecar or extent name drops the
 * record and gives the entry a new generation, so a record read from
 * files is stored only if no event for that volume was applied between
 * the read and the store (mock_index_lookup / mock_index_store).  The
 * events are those of the watch mask: creates, renames (how every writer
 * of the datastore replaces a descriptor or sidecar), deletes and closes
 * after writing; IN_MODIFY is not watched (every data write to an extent
 * would wake the watcher), so a file rewritten in place shows once its
 * writer closes it.
 *
 * Keeping the sets coherent with the folders (inotify, rescans, the watch
 * thread) and the locking rule are in index_watch.c; the types both use
 * are in index_i.h.
 */
#include "index_i.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Generations are unique in the process, so an entry removed and added
 * again never matches an old token. */
static atomic_uint_fast64_t next_gen = 1;

/* ---- the upstream descriptor rule ------------------------------------ */

/* The cheap part of the rule (the name only). */
static bool
descriptor_name (const char *name, size_t n)
{
  static const char *const skip[] = { "-delta.vmdk", "-ctk.vmdk",
                                      "-digest.vmdk", "-flat.vmdk" };

  if (n <= 5 || memcmp (name + n - 5, ".vmdk", 5) != 0)
    return false;
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    {
      size_t k = strlen (skip[i]);
      if (n >= k && memcmp (name + n - k, skip[i], k) == 0)
        return false;
    }
  if (n >= 12 && name[n - 12] == '-')
    {
      bool digits = true;
      for (size_t i = n - 11; i < n - 5; i++)
        digits = digits && isdigit ((unsigned char) name[i]);
      if (digits)
        return false;
    }
  return true;
}

bool
mock_index_is_descriptor (int dirfd, const char *name, char *vol, size_t len)
{
  size_t n = strlen (name);
  struct stat st;

  if (!descriptor_name (name, n))
    return false;
  if (fstatat (dirfd, name, &st, 0) < 0 || !S_ISREG (st.st_mode)
      || st.st_size > 5000)
    return false;
  if (n - 5 >= len)
    return false;
  memcpy (vol, name, n - 5);
  vol[n - 5] = '\0';
  return true;
}

/* ---- the set of one datastore ---------------------------------------- */

static struct entry **
slot (struct ds_ix *d, const char *vol, size_t vlen)
{
  struct entry **p = &d->tab[vdvs_hash_n (vol, vlen) & (d->tab_size - 1)];
  for (; *p; p = &(*p)->next)
    if ((*p)->vlen == vlen && memcmp ((*p)->full, vol, vlen) == 0)
      break;
  return p;
}

static int
grow (struct ds_ix *d)
{
  size_t ns = d->tab_size ? d->tab_size * 2 : 256;
  struct entry **nt = calloc (ns, sizeof *nt);

  if (nt == NULL)
    return -1;
  for (size_t i = 0; i < d->n; i++)
    {
      struct entry *e = d->dense[i];
      size_t b = vdvs_hash_n (e->full, e->vlen) & (ns - 1);
      e->next = nt[b];
      nt[b] = e;
    }
  free (d->tab);
  d->tab = nt;
  d->tab_size = ns;
  return 0;
}

static void
drop_record (struct entry *e)
{
  if (e->rec != NULL)
    {
      vdvs_volume_info_clear (e->rec);
      free (e->rec);
      e->rec = NULL;
    }
  e->gen = atomic_fetch_add (&next_gen, 1);
}

static void
free_entry (struct entry *e)
{
  drop_record (e);
  free (e);
}

void
mock_ix_set_add (struct ds_ix *d, const char *vol)
{
  size_t vlen = strlen (vol), dl = strlen (d->name);
  struct entry *e, **p;

  if (d->tab_size == 0 || d->n >= d->tab_size)
    if (grow (d) < 0)
      {
        d->valid = false; /* out of memory: rescan later */
        return;
      }
  p = slot (d, vol, vlen);
  if (*p != NULL)
    {
      drop_record (*p); /* the descriptor was replaced */
      return;
    }
  if (d->n == d->cap)
    {
      size_t nc = d->cap ? d->cap * 2 : 256;
      struct entry **nd = realloc (d->dense, nc * sizeof *nd);
      if (nd == NULL)
        {
          d->valid = false;
          return;
        }
      d->dense = nd;
      d->cap = nc;
    }
  e = malloc (sizeof *e + vlen + 1 + dl + 1);
  if (e == NULL)
    {
      d->valid = false;
      return;
    }
  memcpy (e->full, vol, vlen);
  e->full[vlen] = '@';
  memcpy (e->full + vlen + 1, d->name, dl + 1);
  e->vlen = vlen;
  e->gen = atomic_fetch_add (&next_gen, 1);
  e->rec = NULL;
  e->next = NULL;
  e->pos = d->n;
  d->dense[d->n++] = e;
  *p = e;
  d->set_gen++;
}

static void
set_del (struct ds_ix *d, const char *vol, size_t vlen)
{
  struct entry **p, *e;

  if (d->tab_size == 0)
    return;
  p = slot (d, vol, vlen);
  if ((e = *p) == NULL)
    return;
  *p = e->next;
  d->dense[e->pos] = d->dense[--d->n];
  d->dense[e->pos]->pos = e->pos;
  free_entry (e);
  d->set_gen++;
}

void
mock_ix_set_clear (struct ds_ix *d)
{
  for (size_t i = 0; i < d->n; i++)
    free_entry (d->dense[i]);
  d->n = 0;
  d->set_gen++;
  if (d->tab_size)
    memset (d->tab, 0, d->tab_size * sizeof *d->tab);
}

/* The volume whose extent (<vol>-flat.vmdk) or sidecar
 * (<vol>-<16 hex>.vmfd) `name` is: the length of <vol>, or 0. */
static size_t
owner_of (const char *name, size_t n)
{
  if (n > 10 && memcmp (name + n - 10, "-flat.vmdk", 10) == 0)
    return n - 10;
  if (n > 22 && memcmp (name + n - 5, ".vmfd", 5) == 0 && name[n - 22] == '-')
    {
      for (size_t i = n - 21; i < n - 5; i++)
        if (!isxdigit ((unsigned char) name[i]))
          return 0;
      return n - 22;
    }
  return 0;
}

/* See index_i.h. */
void
mock_ix_update_name (struct ds_ix *d, const char *name)
{
  char vol[NAME_MAX + 1];
  size_t n = strlen (name), k;

  if ((k = owner_of (name, n)) > 0)
    {
      if (d->tab_size > 0 && *slot (d, name, k) != NULL)
        drop_record (*slot (d, name, k));
      return;
    }
  if (!descriptor_name (name, n))
    return;
  if (d->dirfd < 0)
    d->dirfd = open (d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mock_index_is_descriptor (d->dirfd, name, vol, sizeof vol))
    mock_ix_set_add (d, vol);
  else
    set_del (d, name, n - 5);
}

/* ---- lookups --------------------------------------------------------- */

int
mock_index_fill (struct mock_index *ix, struct vdvs_volume_list *out,
                 vdvs_error_t *err)
{
  size_t total = 0;
  char **names;
  int r = 0;

  mock_ix_rdlock_fresh (ix);
  for (size_t i = 0; i < ix->n_ds; i++)
    {
      if (!ix->ds[i].valid)
        vdvs_log (VDVS_LOG_WARN, "Datastore unreadable", "datastore=%s dir=%s",
                  ix->ds[i].name, ix->ds[i].dir);
      total += ix->ds[i].n;
    }
  names = realloc (out->names, (out->n + total + 1) * sizeof *names);
  if (names == NULL)
    r = vdvs_error_set (err, ENOMEM, "out of memory");
  else
    {
      out->names = names;
      for (size_t i = 0; i < ix->n_ds && r == 0; i++)
        for (size_t k = 0; k < ix->ds[i].n; k++)
          {
            const struct entry *e = ix->ds[i].dense[k];
            if ((out->names[out->n] = strdup (e->full)) == NULL)
              {
                r = vdvs_error_set (err, ENOMEM, "out of memory");
                break;
              }
            out->n++;
          }
    }
  pthread_rwlock_unlock (&ix->lock);
  return r;
}

long
mock_index_count (struct mock_index *ix)
{
  long n = 0;

  mock_ix_rdlock_fresh (ix);
  for (size_t i = 0; i < ix->n_ds && n >= 0; i++)
    n = ix->ds[i].valid ? n + (long) ix->ds[i].n : -1;
  pthread_rwlock_unlock (&ix->lock);
  return n;
}

unsigned long
mock_index_rescans (struct mock_index *ix)
{
  unsigned long n;
  pthread_rwlock_rdlock (&ix->lock);
  n = ix->rescans;
  pthread_rwlock_unlock (&ix->lock);
  return n;
}

static struct ds_ix *
ds_named (struct mock_index *ix, const char *ds)
{
  for (size_t i = 0; i < ix->n_ds; i++)
    if (strcmp (ix->ds[i].name, ds) == 0)
      return &ix->ds[i];
  return NULL;
}

/* vol's entry in datastore ds while that datastore is indexed, or NULL.
 * Under ix->lock. */
static struct entry *
entry_of (struct mock_index *ix, const char *ds, const char *vol)
{
  struct ds_ix *d = ds_named (ix, ds);

  if (d == NULL || !d->valid || d->tab_size == 0)
    return NULL;
  return *slot (d, vol, strlen (vol));
}

int
mock_index_lookup (struct mock_index *ix, const char *ds, const char *vol,
                   struct vdvs_volume_info *out, uint64_t *token)
{
  struct ds_ix *d;
  struct entry *e;
  int r;

  mock_ix_rdlock_fresh (ix);
  d = ds_named (ix, ds);
  if (d == NULL || !d->valid)
    r = MOCK_IX_UNKNOWN;
  else if (d->tab_size == 0 || (e = *slot (d, vol, strlen (vol))) == NULL)
    r = MOCK_IX_ABSENT;
  else if (e->rec == NULL || out == NULL)
    {
      *token = e->gen;
      r = MOCK_IX_PRESENT;
    }
  else
    r = vdvs_volume_info_copy (out, e->rec) < 0 ? -ENOMEM : MOCK_IX_RECORD;
  pthread_rwlock_unlock (&ix->lock);
  return r;
}

void
mock_index_store (struct mock_index *ix, const char *ds, const char *vol,
                  uint64_t token, const struct vdvs_volume_info *info)
{
  struct vdvs_volume_info *rec = malloc (sizeof *rec);
  struct entry *e;

  if (rec == NULL || vdvs_volume_info_copy (rec, info) < 0)
    {
      free (rec);
      return;
    }
  pthread_rwlock_wrlock (&ix->lock);
  if ((e = entry_of (ix, ds, vol)) != NULL && e->gen == token
      && e->rec == NULL)
    {
      e->rec = rec;
      rec = NULL;
    }
  pthread_rwlock_unlock (&ix->lock);
  if (rec != NULL)
    {
      vdvs_volume_info_clear (rec);
      free (rec);
    }
}

/* ---- one index per handle --------------------------------------------- */

/* The handle struct is the lead's (mock_i.h): indexes are found by handle
 * here.  Handles are few (one per VM identity) and live for the process. */
struct reg
{
  struct reg *next;
  const struct mock *m;
  struct mock_index *ix;
};
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg *regs;

static struct mock_index *
lookup (const struct mock *m)
{
  struct mock_index *ix = NULL;

  pthread_mutex_lock (&reg_lock);
  for (struct reg *r = regs; r; r = r->next)
    if (r->m == m)
      {
        ix = r->ix;
        break;
      }
  pthread_mutex_unlock (&reg_lock);
  return ix;
}

void
mock_index_open (const struct mock *m)
{
  char dirs[MOCK_MAX_DATASTORES][PATH_MAX];
  const char *dp[MOCK_MAX_DATASTORES], *np[MOCK_MAX_DATASTORES];
  struct reg *r;

  for (size_t i = 0; i < m->n_ds && i < MOCK_MAX_DATASTORES; i++)
    {
      snprintf (dirs[i], sizeof dirs[i], "%s/%s/dockvols/%s", m->cfg.root,
                m->ds[i], MOCK_TENANT_UUID);
      dp[i] = dirs[i];
      np[i] = m->ds[i];
    }
  r = calloc (1, sizeof *r);
  if (r == NULL)
    return;
  r->m = m;
  /* <root>, <root>/<ds> and dockvols: a rename or removal of any of
   * them by hand changes what the folder path shows. */
  r->ix = mock_index_new (m->n_ds, np, dp, 3);
  if (r->ix == NULL)
    {
      vdvs_log (VDVS_LOG_WARN, "No volume index: List scans the datastores",
                "error=\"%s\"", strerror (errno));
      free (r);
      return;
    }
  pthread_mutex_lock (&reg_lock);
  r->next = regs;
  regs = r;
  pthread_mutex_unlock (&reg_lock);
}

void
mock_index_close (const struct mock *m)
{
  struct reg *found = NULL;

  pthread_mutex_lock (&reg_lock);
  for (struct reg **p = &regs; *p; p = &(*p)->next)
    if ((*p)->m == m)
      {
        found = *p;
        *p = found->next;
        break;
      }
  pthread_mutex_unlock (&reg_lock);
  if (found)
    {
      mock_index_free (found->ix);
      free (found);
    }
}

uint64_t
mock_index_version (const struct mock *m)
{
  struct mock_index *ix = lookup (m);
  uint64_t v = 1;

  if (ix == NULL)
    return 0;
  mock_ix_rdlock_fresh (ix);
  for (size_t i = 0; i < ix->n_ds && v != 0; i++)
    v = ix->ds[i].valid ? v + ix->ds[i].set_gen : 0;
  pthread_rwlock_unlock (&ix->lock);
  return v;
}

struct mock_index *
mock_index_of (const struct mock *m)
{
  return lookup (m);
}

int
mock_index_list (const struct mock *m, struct vdvs_volume_list *out,
                 vdvs_error_t *err)
{
  struct mock_index *ix = lookup (m);

  if (ix == NULL)
    return 0;
  return mock_index_fill (ix, out, err) < 0 ? -1 : 1;
}
