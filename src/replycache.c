/* Replies per key and version: see replycache.h.
 *
 * A chained hash table under one mutex.  The critical sections are a
 * lookup plus a copy (under a kilobyte for a Get, ~90 bytes a volume for
 * a List), so the two I/O threads barely meet there; the copy is made
 * under the lock because a store may replace the entry's reply at any
 * time. */
#include "replycache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/hash.h"

struct entry
{
  struct entry *next; /* hash chain */
  uint64_t hash;
  uint64_t version;
  char *reply;        /* owned */
  size_t reply_len;
  char name[];
};

/* All under lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry **tab;
static size_t tab_size; /* power of two, or 0 */
static size_t n_entries;

static struct entry **
slot (const char *name, uint64_t h)
{
  struct entry **p = &tab[h & (tab_size - 1)];
  for (; *p; p = &(*p)->next)
    if ((*p)->hash == h && strcmp ((*p)->name, name) == 0)
      break;
  return p;
}

static void
clear_locked (void)
{
  for (size_t i = 0; i < tab_size; i++)
    for (struct entry *e = tab[i], *next; e; e = next)
      {
        next = e->next;
        free (e->reply);
        free (e);
      }
  free (tab);
  tab = NULL;
  tab_size = 0;
  n_entries = 0;
}

static bool
grow_locked (void)
{
  size_t ns = tab_size ? tab_size * 2 : 256;
  struct entry **nt = calloc (ns, sizeof *nt);

  if (nt == NULL)
    return false;
  for (size_t i = 0; i < tab_size; i++)
    for (struct entry *e = tab[i], *next; e; e = next)
      {
        next = e->next;
        e->next = nt[e->hash & (ns - 1)];
        nt[e->hash & (ns - 1)] = e;
      }
  free (tab);
  tab = nt;
  tab_size = ns;
  return true;
}

char *
vdvs_replycache_find (const char *name, uint64_t version)
{
  uint64_t h = vdvs_hash (name);
  struct entry *e;
  char *out = NULL;

  if (version == 0)
    return NULL;
  pthread_mutex_lock (&lock);
  if (tab_size > 0 && (e = *slot (name, h)) != NULL && e->version == version
      && (out = malloc (e->reply_len + 1)) != NULL)
    memcpy (out, e->reply, e->reply_len + 1);
  pthread_mutex_unlock (&lock);
  return out;
}

void
vdvs_replycache_store (const char *name, uint64_t version, const char *reply)
{
  uint64_t h = vdvs_hash (name);
  size_t len = strlen (reply);
  char *copy = malloc (len + 1);
  struct entry **p, *e;

  if (version == 0 || copy == NULL)
    {
      free (copy);
      return;
    }
  memcpy (copy, reply, len + 1);
  pthread_mutex_lock (&lock);
  if (n_entries >= VDVS_REPLYCACHE_MAX)
    clear_locked ();
  if ((tab_size == 0 || n_entries >= tab_size) && !grow_locked ()
      && tab_size == 0)
    goto out;
  p = slot (name, h);
  if ((e = *p) == NULL)
    {
      size_t nl = strlen (name);
      if ((e = malloc (sizeof *e + nl + 1)) == NULL)
        goto out;
      memcpy (e->name, name, nl + 1);
      e->hash = h;
      e->reply = NULL;
      e->next = NULL;
      *p = e;
      n_entries++;
    }
  free (e->reply);
  e->reply = copy;
  e->reply_len = len;
  e->version = version;
  copy = NULL;
out:
  pthread_mutex_unlock (&lock);
  free (copy);
}

void
vdvs_replycache_forget (const char *name)
{
  uint64_t h = vdvs_hash (name);
  struct entry **p, *e = NULL;

  pthread_mutex_lock (&lock);
  if (tab_size > 0 && (e = *(p = slot (name, h))) != NULL)
    {
      *p = e->next;
      n_entries--;
    }
  pthread_mutex_unlock (&lock);
  if (e != NULL)
    {
      free (e->reply);
      free (e);
    }
}

size_t
vdvs_replycache_size (void)
{
  size_t n;

  pthread_mutex_lock (&lock);
  n = n_entries;
  pthread_mutex_unlock (&lock);
  return n;
}

void
vdvs_replycache_clear (void)
{
  pthread_mutex_lock (&lock);
  clear_locked ();
  pthread_mutex_unlock (&lock);
}
