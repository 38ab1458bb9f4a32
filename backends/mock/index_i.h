/* What the two halves of the volume index share: index.c (the sets of
 * volumes and their records, the public API) and index_watch.c (inotify,
 * rescans, the watch thread).  index.h says what the index is. */
#ifndef VDVS_MOCK_INDEX_I_H
#define VDVS_MOCK_INDEX_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

#include "index.h"

#define WATCH_MASK                                                            \
  (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE       \
   | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* On the folders above a datastore's folder: the next component of the
 * path renamed, removed or replaced, or the folder itself. */
#define ANCESTOR_MASK                                                         \
  (IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF       \
   | IN_MOVE_SELF | IN_ONLYDIR)

/* At most this many folders above each datastore folder are watched. */
#define MAX_ANCESTORS 4

/* Every field under ix->lock (written with it held for writing). */
struct entry
{
  struct entry *next;           /* hash chain */
  size_t pos;                   /* index in ds_ix.dense */
  size_t vlen;                  /* length of the volume part of `full` */
  uint64_t gen;                 /* new value on every event for this volume */
  struct vdvs_volume_info *rec; /* owned; NULL until read, or dropped */
  char full[];                  /* "vol@ds" */
};

struct ds_ix
{
  char *name; /* the datastore's real name */
  char *dir;  /* <root>/<ds>/dockvols/<tenant-uuid> */
  /* That folder while events are applied, else -1: holding it open would
   * keep a removed folder's inode alive and hide its IN_DELETE_SELF. */
  int dirfd;
  int wd; /* its inotify watch, or -1 */
  /* The folders above `dir` that a rename could swap under it (up to the
   * datastore root): awd[k] watches the folder k + 1 levels up, whose
   * entry on our path is comp[k] (a pointer into dir).  Several
   * datastores share the root's watch: the kernel gives one wd per inode
   * and instance. */
  size_t nanc;
  int awd[MAX_ANCESTORS];
  const char *comp[MAX_ANCESTORS];
  size_t comp_len[MAX_ANCESTORS];
  bool valid; /* the set matches the folder (modulo queued events) */
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
  int ifd;    /* inotify, non-blocking */
  int stopfd; /* eventfd that stops the thread */
  pthread_t thread;
  bool have_thread;
  size_t n_ds;
  struct ds_ix *ds;
  unsigned long rescans;
};

/* index.c: the set of one datastore; called with ix->lock held for
 * writing. */
void mock_ix_set_add (struct ds_ix *d, const char *vol);
void mock_ix_set_clear (struct ds_ix *d);
/* One name changed in the folder: make the set agree with the file, and
 * drop the record of the volume it belongs to. */
void mock_ix_update_name (struct ds_ix *d, const char *name);

/* index_watch.c: apply what is queued, if anything; then take the read
 * lock. */
void mock_ix_rdlock_fresh (struct mock_index *ix);

#endif
