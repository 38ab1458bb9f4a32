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
 * Coherence.  A reader (List, Get) first applies every event the kernel
 * has queued: poll(2) on the inotify fd with a zero timeout tells whether
 * any is queued; only then is the write lock taken to apply them.  The
 * events that no longer show in the fd are either applied or being
 * applied by whoever read them, under the write lock, which the reader's
 * read lock then waits for.  So a change that completed before the
 * request started (its event is queued when the syscall returns) is in
 * the answer, whether another VM or vdvsd itself made it.
 *
 * Locking: ix->lock (a read-write lock, writers first) protects everything
 * in the index.  Writers: the watch thread and readers that found events
 * pending, while they apply events or rescan.  Readers: List copying the
 * names, Get looking up and copying one record.  It is never held across
 * anything slower than the folder's metadata: Get reads the files with no
 * lock held.
 */
#include "index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_MASK                                                          \
  (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE    \
   | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* On the folders above a datastore's folder: the next component of the
 * path renamed, removed or replaced, or the folder itself. */
#define ANCESTOR_MASK                                                       \
  (IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF     \
   | IN_MOVE_SELF | IN_ONLYDIR)

/* At most this many folders above each datastore folder are watched. */
#define MAX_ANCESTORS 4

/* Every field under ix->lock (written with it held for writing). */
struct entry
{
  struct entry *next; /* hash chain */
  size_t pos;         /* index in ds_ix.dense */
  size_t vlen;        /* length of the volume part of `full` */
  uint64_t gen;       /* new value on every event for this volume */
  struct vdvs_volume_info *rec; /* owned; NULL until read, or dropped */
  char full[];        /* "vol@ds" */
};

/* Generations are unique in the process, so an entry removed and added
 * again never matches an old token. */
static atomic_uint_fast64_t next_gen = 1;

struct ds_ix
{
  char *name;  /* the datastore's real name */
  char *dir;   /* <root>/<ds>/dockvols/<tenant-uuid> */
  /* That folder while events are applied, else -1: holding it open would
   * keep a removed folder's inode alive and hide its IN_DELETE_SELF. */
  int dirfd;
  int wd;      /* its inotify watch, or -1 */
  /* The folders above `dir` that a rename could swap under it (up to the
   * datastore root): awd[k] watches the folder k + 1 levels up, whose
   * entry on our path is comp[k] (a pointer into dir).  Several
   * datastores share the root's watch: the kernel gives one wd per inode
   * and instance. */
  size_t nanc;
  int awd[MAX_ANCESTORS];
  const char *comp[MAX_ANCESTORS];
  size_t comp_len[MAX_ANCESTORS];
  bool valid;  /* the set matches the folder (modulo queued events) */
  struct entry **tab;
  size_t tab_size; /* power of two */
  struct entry **dense;
  size_t n, cap;
  uint64_t set_gen; /* bumped whenever the set of names changes */
};

struct mock_index
{
  pthread_rwlock_t lock;
  /* Set (under the write lock) while a datastore is not valid, so readers
   * refresh even with no event queued. */
  atomic_bool dirty;
  int ifd;     /* inotify, non-blocking */
  int stopfd;  /* eventfd that stops the thread */
  pthread_t thread;
  bool have_thread;
  size_t n_ds;
  struct ds_ix *ds;
  unsigned long rescans;
};

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

static void
set_add (struct ds_ix *d, const char *vol)
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

static void
set_clear (struct ds_ix *d)
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

/* One name changed in the folder: make the set agree with the file, and
 * drop the record of the volume it belongs to. */
static void
update_name (struct ds_ix *d, const char *name)
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
    set_add (d, vol);
  else
    set_del (d, name, n - 5);
}

/* ---- watching and scanning ------------------------------------------- */

static void
unwatch (struct mock_index *ix, struct ds_ix *d)
{
  if (d->wd >= 0)
    inotify_rm_watch (ix->ifd, d->wd);
  d->wd = -1;
  if (d->dirfd >= 0)
    close (d->dirfd);
  d->dirfd = -1;
  d->valid = false;
  d->set_gen++;
}

/* Whether any datastore still uses watch wd. */
static bool
wd_in_use (const struct mock_index *ix, int wd)
{
  for (size_t i = 0; i < ix->n_ds; i++)
    {
      if (ix->ds[i].wd == wd)
        return true;
      for (size_t k = 0; k < ix->ds[i].nanc; k++)
        if (ix->ds[i].awd[k] == wd)
          return true;
    }
  return false;
}

/* (Re)watch the folders above d->dir, the top one first, and drop the
 * watches of folders no longer on any datastore's path (the old inode of
 * one renamed away). */
static void
watch_ancestors (struct mock_index *ix, struct ds_ix *d)
{
  char path[PATH_MAX];
  int old[MAX_ANCESTORS];

  for (size_t k = d->nanc; k-- > 0;)
    {
      size_t len = (size_t) (d->comp[k] - d->dir) - 1; /* up to the '/' */

      memcpy (path, d->dir, len);
      path[len] = '\0';
      old[k] = d->awd[k];
      d->awd[k] = inotify_add_watch (ix->ifd, len ? path : "/", ANCESTOR_MASK);
    }
  for (size_t k = 0; k < d->nanc; k++)
    if (old[k] >= 0 && old[k] != d->awd[k] && !wd_in_use (ix, old[k]))
      inotify_rm_watch (ix->ifd, old[k]);
}

/* An event on a watched ancestor: the datastores whose path it changes
 * are no longer what their folder watch shows. */
static void
ancestor_event (struct mock_index *ix, const struct inotify_event *ev)
{
  bool self = ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED
                          | IN_UNMOUNT);
  size_t nlen = ev->len ? strlen (ev->name) : 0;

  for (size_t i = 0; i < ix->n_ds; i++)
    {
      struct ds_ix *d = &ix->ds[i];

      for (size_t k = 0; k < d->nanc; k++)
        {
          if (d->awd[k] != ev->wd)
            continue;
          if (!self
              && (nlen != d->comp_len[k]
                  || memcmp (ev->name, d->comp[k], nlen) != 0))
            continue;
          if (ev->mask & IN_IGNORED)
            d->awd[k] = -1; /* already gone from the kernel */
          if (d->valid)
            unwatch (ix, d);
        }
    }
}

/* Watch first, then scan: a change during the scan is also queued as an
 * event, and applying it again is harmless.  The folders above are
 * watched before the folder itself, for the same reason. */
static void
rescan (struct mock_index *ix, struct ds_ix *d)
{
  char vol[NAME_MAX + 1];
  struct dirent *de;
  DIR *dir;
  int fd;

  unwatch (ix, d);
  set_clear (d);
  if (ix->ifd >= 0)
    {
      watch_ancestors (ix, d);
      d->wd = inotify_add_watch (ix->ifd, d->dir, WATCH_MASK);
    }
  if (d->wd < 0)
    return;
  d->dirfd = open (d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->dirfd < 0 || (fd = dup (d->dirfd)) < 0)
    {
      unwatch (ix, d);
      return;
    }
  if ((dir = fdopendir (fd)) == NULL)
    {
      close (fd);
      unwatch (ix, d);
      return;
    }
  ix->rescans++;
  d->valid = true;
  while ((de = readdir (dir)) != NULL)
    if (mock_index_is_descriptor (d->dirfd, de->d_name, vol, sizeof vol))
      set_add (d, vol);
  closedir (dir);
  close (d->dirfd);
  d->dirfd = -1;
}

static struct ds_ix *
ds_of_wd (struct mock_index *ix, int wd)
{
  for (size_t i = 0; i < ix->n_ds; i++)
    if (ix->ds[i].wd == wd)
      return &ix->ds[i];
  return NULL;
}

/* Close the folder fds that applying events opened; true if any was
 * open.  Closing one can queue an event: a folder removed while we held
 * it reports IN_DELETE_SELF only when its last reference goes, i.e. in
 * this close(2). */
static bool
close_dirfds (struct mock_index *ix)
{
  bool any = false;

  for (size_t i = 0; i < ix->n_ds; i++)
    if (ix->ds[i].dirfd >= 0)
      {
        close (ix->ds[i].dirfd);
        ix->ds[i].dirfd = -1;
        any = true;
      }
  return any;
}

/* Under ix->lock: apply the events queued now, without blocking. */
static void
apply_queued (struct mock_index *ix)
{
  char buf[16384] __attribute__ ((aligned (__alignof__ (struct inotify_event))));

  for (;;)
    {
      ssize_t len = read (ix->ifd, buf, sizeof buf);
      if (len < 0 && errno == EINTR)
        continue;
      if (len <= 0)
        break;
      for (char *p = buf; p < buf + len;)
        {
          const struct inotify_event *ev = (const struct inotify_event *) p;
          struct ds_ix *d;

          p += sizeof *ev + ev->len;
          if (ev->mask & IN_Q_OVERFLOW)
            {
              for (size_t i = 0; i < ix->n_ds; i++)
                ix->ds[i].valid = false;
              continue;
            }
          ancestor_event (ix, ev);
          if ((d = ds_of_wd (ix, ev->wd)) == NULL || !d->valid)
            continue;
          if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED
                          | IN_UNMOUNT))
            {
              /* The folder itself went away or moved: its content is no
               * longer what the path shows. */
              if (ev->mask & IN_IGNORED)
                d->wd = -1; /* already gone from the kernel */
              unwatch (ix, d);
              continue;
            }
          if (ev->len > 0)
            update_name (d, ev->name);
        }
    }
}

/* Under ix->lock: apply every queued event, including those our own
 * closes queue.  A reader that found the queue empty while we held the
 * lock waits for it, so a removal it saw complete, whose event our open
 * fd deferred into our close, must be applied before the lock goes. */
static void
apply_pending (struct mock_index *ix)
{
  if (ix->ifd < 0)
    return;
  do
    apply_queued (ix);
  while (close_dirfds (ix));
}

/* Under the write lock. */
static void
refresh (struct mock_index *ix)
{
  bool dirty = false, rescanned = false;

  apply_pending (ix);
  for (size_t i = 0; i < ix->n_ds; i++)
    if (!ix->ds[i].valid)
      {
        rescan (ix, &ix->ds[i]);
        rescanned = true;
      }
  if (rescanned)
    apply_pending (ix); /* what the scan's own closes queued */
  for (size_t i = 0; i < ix->n_ds; i++)
    dirty = dirty || !ix->ds[i].valid;
  atomic_store (&ix->dirty, dirty);
}

/* Apply what is queued, if anything; then take the read lock. */
static void
rdlock_fresh (struct mock_index *ix)
{
  struct pollfd p = { .fd = ix->ifd, .events = POLLIN };

  if (atomic_load (&ix->dirty) || poll (&p, 1, 0) != 0)
    {
      pthread_rwlock_wrlock (&ix->lock);
      refresh (ix);
      pthread_rwlock_unlock (&ix->lock);
    }
  pthread_rwlock_rdlock (&ix->lock);
}

/* Keeps the kernel queue short between Lists (it holds 16384 events by
 * default; a burst of creates by another VM would overflow it and cost a
 * rescan). */
static void *
watch_thread (void *arg)
{
  struct mock_index *ix = arg;
  struct pollfd p[2] = { { .fd = ix->ifd, .events = POLLIN },
                         { .fd = ix->stopfd, .events = POLLIN } };

  for (;;)
    {
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[1].revents)
        break;
      if (p[0].revents)
        {
          pthread_rwlock_wrlock (&ix->lock);
          refresh (ix);
          pthread_rwlock_unlock (&ix->lock);
        }
    }
  return NULL;
}

/* ---- the index ------------------------------------------------------- */

/* The last `levels` components of d->dir, each with the folder above it
 * to watch (fewer if the path is shorter). */
static void
set_ancestors (struct ds_ix *d, size_t levels)
{
  const char *end = d->dir + strlen (d->dir);

  while (end > d->dir + 1 && end[-1] == '/')
    end--;
  d->nanc = 0;
  while (d->nanc < levels && d->nanc < MAX_ANCESTORS)
    {
      const char *c = end;

      while (c > d->dir && c[-1] != '/')
        c--;
      if (c == d->dir || c == end)
        break; /* no folder above, or an empty component */
      d->comp[d->nanc] = c;
      d->comp_len[d->nanc] = (size_t) (end - c);
      d->awd[d->nanc] = -1;
      d->nanc++;
      end = c - 1;
      while (end > d->dir && end[-1] == '/')
        end--;
    }
}

struct mock_index *
mock_index_new (size_t n, const char *const *ds_names, const char *const *dirs,
                size_t ancestors)
{
  struct mock_index *ix = calloc (1, sizeof *ix);

  if (ix == NULL)
    return NULL;
  {
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init (&a);
    /* The watch thread must not starve behind a stream of Gets. */
    pthread_rwlockattr_setkind_np (&a,
                                   PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init (&ix->lock, &a);
    pthread_rwlockattr_destroy (&a);
  }
  ix->stopfd = -1;
  ix->ifd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  ix->ds = calloc (n ? n : 1, sizeof *ix->ds);
  if (ix->ifd < 0 || ix->ds == NULL)
    goto fail;
  ix->n_ds = n;
  for (size_t i = 0; i < n; i++)
    {
      ix->ds[i].wd = ix->ds[i].dirfd = -1;
      ix->ds[i].name = strdup (ds_names[i]);
      ix->ds[i].dir = strdup (dirs[i]);
      if (ix->ds[i].name == NULL || ix->ds[i].dir == NULL)
        goto fail;
      set_ancestors (&ix->ds[i], ancestors);
    }
  pthread_rwlock_wrlock (&ix->lock);
  refresh (ix);
  pthread_rwlock_unlock (&ix->lock);
  ix->stopfd = eventfd (0, EFD_CLOEXEC);
  if (ix->stopfd < 0
      || pthread_create (&ix->thread, NULL, watch_thread, ix) != 0)
    goto fail;
  ix->have_thread = true;
  return ix;
fail:
  mock_index_free (ix);
  return NULL;
}

void
mock_index_free (struct mock_index *ix)
{
  if (ix == NULL)
    return;
  if (ix->have_thread)
    {
      uint64_t one = 1;
      if (write (ix->stopfd, &one, sizeof one) != sizeof one)
        abort ();
      pthread_join (ix->thread, NULL);
    }
  for (size_t i = 0; i < ix->n_ds; i++)
    {
      struct ds_ix *d = &ix->ds[i];
      if (d->dirfd >= 0)
        close (d->dirfd);
      set_clear (d);
      free (d->tab);
      free (d->dense);
      free (d->name);
      free (d->dir);
    }
  free (ix->ds);
  if (ix->ifd >= 0)
    close (ix->ifd);
  if (ix->stopfd >= 0)
    close (ix->stopfd);
  pthread_rwlock_destroy (&ix->lock);
  free (ix);
}

int
mock_index_fill (struct mock_index *ix, struct vdvs_volume_list *out,
                 vdvs_error_t *err)
{
  size_t total = 0;
  char **names;
  int r = 0;

  rdlock_fresh (ix);
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

  rdlock_fresh (ix);
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

  rdlock_fresh (ix);
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
  rdlock_fresh (ix);
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
