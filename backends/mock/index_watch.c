/* Keeping the volume index (index.c) coherent with the datastore
 * folders: inotify watches on each folder and the folders above it,
 * events applied to the sets, rescans, and the thread that applies
 * events as they come.
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
#include "index_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

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
  bool self = ev->mask
              & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT);
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
  mock_ix_set_clear (d);
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
      mock_ix_set_add (d, vol);
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
  char buf[16384]
      __attribute__ ((aligned (__alignof__(struct inotify_event))));

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
          if (ev->mask
              & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT))
            {
              /* The folder itself went away or moved: its content is no
               * longer what the path shows. */
              if (ev->mask & IN_IGNORED)
                d->wd = -1; /* already gone from the kernel */
              unwatch (ix, d);
              continue;
            }
          if (ev->len > 0)
            mock_ix_update_name (d, ev->name);
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

/* See index_i.h. */
void
mock_ix_rdlock_fresh (struct mock_index *ix)
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

/* ---- making and freeing an index ------------------------------------ */

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
      mock_ix_set_clear (d);
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
