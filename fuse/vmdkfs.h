/* vmdkfs internals shared by main.c, the op files (ops_i.h), io.c, delayq.c
 * and control.c. */
#ifndef VMDKFS_H
#define VMDKFS_H

#include "engine.h"
#include "fault.h"
#include "io.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One backing inode, like passthrough_ll's lo_inode: an O_PATH fd kept
 * while the kernel holds lookups on it. */
struct vmdkfs_inode
{
  struct vmdkfs_inode *hnext; /* protected by vmdkfs.inode_lock */
  int fd;                     /* O_PATH, immutable */
  ino_t ino;                  /* immutable */
  dev_t dev;                  /* immutable */
  uint64_t nlookup;           /* protected by vmdkfs.inode_lock */
};

/* An open file: the backing fd and the path relative to SOURCE at open
 * time, which is what fault rules match (a rename after open keeps the
 * old name, as an ESX open handle would). */
struct vmdkfs_file
{
  int fd;
  int fd_buffered; /* same file without O_DIRECT, for unaligned I/O;
                        -1 when fd is not O_DIRECT */
  char relpath[];
};

enum vmdkfs_cache
{
  VMDKFS_CACHE_AUTO,      /* kernel page cache, dropped on open */
  VMDKFS_CACHE_WRITEBACK, /* FUSE writeback cache */
  VMDKFS_CACHE_DIRECT,    /* direct_io on every open */
};

/* Ios waiting for a delay to pass or a stall to be released. */
struct vmdkfs_delayq
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct vmdkfs_io *head; /* protected by lock, unordered */
  unsigned count;         /* protected by lock */
  bool stop;              /* protected by lock */
  pthread_t thread;
  struct vmdkfs *fs;
};

struct vmdkfs_stats
{
  atomic_uint_fast64_t reads, writes, read_bytes, write_bytes;
  atomic_uint_fast64_t fsyncs, fallocates, errors, injected;
};

#define VMDKFS_INODE_BUCKETS 4096

struct vmdkfs
{
  /* Set before the session starts, read-only after. */
  char *source; /* realpath of SOURCE */
  size_t source_len;
  char *mountpoint;
  double timeout; /* attr/entry cache seconds */
  enum vmdkfs_cache cache;
  bool backing_direct; /* O_DIRECT opens stay O_DIRECT below */
  unsigned max_write;
  const struct vmdkfs_engine_ops *engine_ops;
  struct vmdkfs_engine *engine;
  struct fuse_session *se;

  pthread_mutex_t inode_lock;
  struct vmdkfs_inode root;                           /* never freed */
  struct vmdkfs_inode *buckets[VMDKFS_INODE_BUCKETS]; /* inode_lock */

  struct fault_table faults;
  struct vmdkfs_delayq delayq;
  struct vmdkfs_stats stats;
};

extern const struct fuse_lowlevel_ops vmdkfs_ops;

/* delayq.c */
int vmdkfs_delayq_start (struct vmdkfs *fs);
/* Park io until due_ns (CLOCK_MONOTONIC), or until released when
 * due_ns == 0 (hold_id names the stall rule). */
void vmdkfs_delayq_add (struct vmdkfs *fs, struct vmdkfs_io *io);
/* fault_release_fn: run the ios held by stall rule id (NULL: all). */
void vmdkfs_delayq_release (void *opaque, const char *id);
unsigned vmdkfs_delayq_count (struct vmdkfs *fs);
/* Submit everything still parked, then join the thread. */
void vmdkfs_delayq_stop (struct vmdkfs *fs);

/* control.c */
struct vmdkfs_control;
int vmdkfs_control_start (struct vmdkfs *fs, const char *path,
                          struct vmdkfs_control **out);
void vmdkfs_control_stop (struct vmdkfs_control *c);
/* Execute one request line; returns the malloc'd reply ("ok\n..." or
 * "err ERRNAME message\n").  Exposed for tests. */
char *vmdkfs_control_exec (struct vmdkfs *fs, const char *line);

#endif
