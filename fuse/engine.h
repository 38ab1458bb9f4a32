/* vmdkfs I/O engines: how file data moves between a FUSE request and the
 * backing file.
 *
 * A request becomes one `struct vmdkfs_io` (header and data buffer in one
 * allocation, or the buffer lent by the engine's pool, see buf_get).  The
 * engine owns it from submit() on and ends it by calling
 * vmdkfs_io_complete() (io.h), which sends the FUSE reply and frees it;
 * that may happen on the submitting thread (sync engine) or on a lane
 * thread (io_uring engine), before or after submit() returns.
 *
 * Convention (liburing's): functions return 0 or a byte count on success
 * and -errno on failure; the reply is fuse_reply_err (req, -ret).
 */
#ifndef VMDKFS_ENGINE_H
#define VMDKFS_ENGINE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum vmdkfs_io_op
{
  VMDKFS_IO_READ,
  VMDKFS_IO_WRITE,
  VMDKFS_IO_FSYNC,
  VMDKFS_IO_FDATASYNC,
  VMDKFS_IO_FALLOCATE,
};

struct vmdkfs_io
{
  fuse_req_t req; /* answered once, by vmdkfs_io_complete */
  enum vmdkfs_io_op op;
  int fd;            /* backing file, owned by the open file */
  off_t off;         /* start of the request */
  uint64_t len;      /* bytes asked for (fallocate: range length) */
  uint64_t done;     /* bytes moved so far (short transfers) */
  int mode;          /* fallocate mode */
  unsigned attempts; /* -EAGAIN requeues, bounded */
  /* Used by the delay queue while the io sits in it, and by the io_uring
   * engine's lane queues until it is in a ring. */
  struct vmdkfs_io *next;
  uint64_t due_ns; /* CLOCK_MONOTONIC; 0 while held */
  char hold_id[64];
  char *buf;    /* len bytes, 4 KiB aligned; NULL if no data */
  int buf_slot; /* buf is the engine's pool slot buf_slot, given
                              back when the io is freed; -1: buf is part of
                              this allocation */
};

struct vmdkfs_engine_cfg
{
  unsigned depth;  /* room for this many requests in flight */
  size_t buf_size; /* the largest data buffer an io needs */
  unsigned nbufs;  /* pooled buffers of buf_size (0: no pool) */
  unsigned lanes;  /* io_uring rings and threads (0: by CPUs) */
};

struct vmdkfs_engine;

struct vmdkfs_engine_ops
{
  const char *name;
  /* FUSE worker threads when --threads is not given.  The io_uring
   * engine's workers only hand ios over, so a few carry a deep queue and
   * more only add context switches; the sync engine's workers block in
   * pread/pwrite, so the queue depth it reaches is its thread count. */
  unsigned default_threads;
  /* Create an engine as cfg says.  0 or -errno (-ENOSYS when this build
   * lacks the engine). */
  int (*start) (const struct vmdkfs_engine_cfg *cfg,
                struct vmdkfs_engine **out);
  /* Take ownership of io and run it.  0, or -errno when the io could not
   * be queued; then the caller still owns it. */
  int (*submit) (struct vmdkfs_engine *e, struct vmdkfs_io *io);
  /* Wait for every io in flight to complete, then free the engine. */
  void (*stop) (struct vmdkfs_engine *e);
  /* Requests in flight right now, for `stats`. */
  unsigned (*inflight) (struct vmdkfs_engine *e);
  /* Optional (NULL: no pool).  Lend a data buffer of at least len bytes,
   * 4 KiB aligned, from the engine's pool and set *slot; NULL when the
   * pool has none free (the caller allocates its own).  Any thread.  The
   * io_uring engine's pool is registered with its rings, so I/O on it
   * skips pinning the buffer's pages per request. */
  char *(*buf_get) (struct vmdkfs_engine *e, size_t len, int *slot);
  /* Give slot back; any thread. */
  void (*buf_put) (struct vmdkfs_engine *e, int slot);
};

extern const struct vmdkfs_engine_ops vmdkfs_engine_sync;
/* Real in engine_uring.c; engine_uring_none.c when built without liburing,
 * whose start() returns -ENOSYS. */
extern const struct vmdkfs_engine_ops vmdkfs_engine_uring;

/* Run one io synchronously with the classic syscalls; returns the result
 * for vmdkfs_io_complete.  Shared by the sync engine and by the io_uring
 * engine for opcodes the kernel lacks. */
int64_t vmdkfs_io_run_sync (struct vmdkfs_io *io);

#endif
