/* The io_uring engine: FUSE workers prepare and submit SQEs and return at
 * once, so many requests are in flight at a time; one completion thread
 * reaps CQEs and sends the FUSE replies.
 *
 * The io itself travels as the SQE user data (io_uring_sqe_set_data): it
 * holds the fuse_req_t and copies of every argument the FUSE op gave us,
 * since those are only valid during the op call.  A short read or write is
 * resubmitted for the remainder (io_uring-cp style), -EAGAIN is requeued,
 * and opcodes the running kernel lacks (found by probing at start) run
 * with the classic syscalls instead.
 */
#include "engine.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* An io that keeps getting -EAGAIN is failed rather than spun forever. */
#define MAX_ATTEMPTS 10000

struct vmdkfs_engine
{
  struct io_uring ring;
  /* Submitters are many FUSE workers plus the completion thread
   * (resubmits); liburing's SQ side is single-producer. */
  pthread_mutex_t sq_lock;
  pthread_t cq_thread;               /* the only CQ consumer */
  atomic_uint inflight;              /* ios owned by the kernel */
  atomic_bool stopping;
  pthread_mutex_t drain_lock;        /* protects nothing but the wait */
  pthread_cond_t drained;            /* inflight reached 0 */
  /* Probed opcodes; set at start, read-only after. */
  bool op_read, op_write, op_fsync, op_fallocate;
};

/* Prepare and submit the (remaining part of the) io.  Called with no lock
 * held.  0 or -errno; on error the io was not queued. */
static int
queue_io (struct vmdkfs_engine *e, struct vmdkfs_io *io)
{
  struct io_uring_sqe *sqe;
  int ret;

  pthread_mutex_lock (&e->sq_lock);
  sqe = io_uring_get_sqe (&e->ring);
  if (!sqe)
    {
      /* SQ ring full of prepared entries: push them and retry once. */
      io_uring_submit (&e->ring);
      sqe = io_uring_get_sqe (&e->ring);
    }
  if (!sqe)
    {
      pthread_mutex_unlock (&e->sq_lock);
      return -EBUSY;
    }
  switch (io->op)
    {
    case VMDKFS_IO_READ:
      io_uring_prep_read (sqe, io->fd, io->buf + io->done,
                          io->len - io->done, io->off + io->done);
      break;
    case VMDKFS_IO_WRITE:
      io_uring_prep_write (sqe, io->fd, io->buf + io->done,
                           io->len - io->done, io->off + io->done);
      break;
    case VMDKFS_IO_FSYNC:
      io_uring_prep_fsync (sqe, io->fd, 0);
      break;
    case VMDKFS_IO_FDATASYNC:
      io_uring_prep_fsync (sqe, io->fd, IORING_FSYNC_DATASYNC);
      break;
    case VMDKFS_IO_FALLOCATE:
      io_uring_prep_fallocate (sqe, io->fd, io->mode, io->off, io->len);
      break;
    }
  io_uring_sqe_set_data (sqe, io);
  atomic_fetch_add (&e->inflight, 1);
  do
    ret = io_uring_submit (&e->ring);
  while (ret == -EINTR);
  pthread_mutex_unlock (&e->sq_lock);
  /* -EBUSY/-EAGAIN here mean the kernel is short of CQ room or memory; the
   * SQE stays in the ring and the completion thread pushes it after it
   * has reaped, so the io is still queued. */
  if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
    vdvs_log (VDVS_LOG_WARN, "io_uring submit failed", "ret=%d", ret);
  return 0;
}

static bool
supported (struct vmdkfs_engine *e, enum vmdkfs_io_op op)
{
  switch (op)
    {
    case VMDKFS_IO_READ: return e->op_read;
    case VMDKFS_IO_WRITE: return e->op_write;
    case VMDKFS_IO_FSYNC:
    case VMDKFS_IO_FDATASYNC: return e->op_fsync;
    case VMDKFS_IO_FALLOCATE: return e->op_fallocate;
    }
  return false;
}

/* One CQE for io: finish it or resubmit what is left. */
static void
handle_cqe (struct vmdkfs_engine *e, struct vmdkfs_io *io, int res)
{
  int ret;

  if (res == -EAGAIN || res == -EINTR)
    {
      if (++io->attempts < MAX_ATTEMPTS && (ret = queue_io (e, io)) == 0)
        return;
      vmdkfs_io_complete (io, res);
      return;
    }
  if (res < 0)
    {
      vmdkfs_io_complete (io, res);
      return;
    }
  switch (io->op)
    {
    case VMDKFS_IO_READ:
    case VMDKFS_IO_WRITE:
      if (res == 0)
        {
          /* A read hitting end of file returns what it has; a write that
           * moves nothing would loop forever. */
          vmdkfs_io_complete (io, io->op == VMDKFS_IO_READ ? (int64_t) io->done
                                                            : -EIO);
          return;
        }
      io->done += res;
      if (io->done < io->len)
        {
          if ((ret = queue_io (e, io)) < 0)
            vmdkfs_io_complete (io, ret);
          return;
        }
      vmdkfs_io_complete (io, io->done);
      return;
    default:
      vmdkfs_io_complete (io, res);
      return;
    }
}

static void *
cq_thread_main (void *arg)
{
  struct vmdkfs_engine *e = arg;
  struct io_uring_cqe *cqe;
  unsigned head, n;
  bool woken = false;                /* the stop NOP has arrived */
  int ret;

  for (;;)
    {
      ret = io_uring_wait_cqe (&e->ring, &cqe);
      if (ret == -EINTR || ret == -EAGAIN)
        continue;
      if (ret < 0)
        {
          vdvs_log (VDVS_LOG_ERROR, "io_uring wait failed", "ret=%d", ret);
          continue;
        }
      /* Reap the whole batch; copy each CQE out before handling since a
       * resubmit may need CQ room. */
      struct
      {
        void *data;
        int res;
      } batch[64];
      n = 0;
      io_uring_for_each_cqe (&e->ring, head, cqe)
      {
        batch[n].data = io_uring_cqe_get_data (cqe);
        batch[n].res = cqe->res;
        if (++n == sizeof batch / sizeof batch[0])
          break;
      }
      io_uring_cq_advance (&e->ring, n);

      for (unsigned i = 0; i < n; i++)
        {
          if (batch[i].data == NULL)
            {
              woken = true;
              continue;
            }
          /* Count down only after a resubmit has counted up again, so
           * stop never sees zero while an io is still moving. */
          handle_cqe (e, batch[i].data, batch[i].res);
          atomic_fetch_sub (&e->inflight, 1);
        }
      /* Entries left in the SQ by a submit that got -EBUSY. */
      if (io_uring_sq_ready (&e->ring))
        {
          pthread_mutex_lock (&e->sq_lock);
          io_uring_submit (&e->ring);
          pthread_mutex_unlock (&e->sq_lock);
        }
      if (atomic_load (&e->stopping) && atomic_load (&e->inflight) == 0)
        {
          pthread_mutex_lock (&e->drain_lock);
          pthread_cond_broadcast (&e->drained);
          pthread_mutex_unlock (&e->drain_lock);
          if (woken)
            return NULL;
        }
    }
}

static int
uring_start (unsigned depth, struct vmdkfs_engine **out)
{
  struct vmdkfs_engine *e;
  struct io_uring_probe *probe;
  struct io_uring_params p;
  int ret;

  e = calloc (1, sizeof *e);
  if (!e)
    return -ENOMEM;
  memset (&p, 0, sizeof p);
  /* A CQ twice the SQ: FUSE background plus sync requests can exceed the
   * SQ depth while completions wait to be reaped. */
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = depth * 2;
  ret = io_uring_queue_init_params (depth, &e->ring, &p);
  if (ret < 0)
    {
      free (e);
      return ret;
    }
  probe = io_uring_get_probe_ring (&e->ring);
  if (probe)
    {
      e->op_read = io_uring_opcode_supported (probe, IORING_OP_READ);
      e->op_write = io_uring_opcode_supported (probe, IORING_OP_WRITE);
      e->op_fsync = io_uring_opcode_supported (probe, IORING_OP_FSYNC);
      e->op_fallocate = io_uring_opcode_supported (probe, IORING_OP_FALLOCATE);
      io_uring_free_probe (probe);
    }
  if (!e->op_read || !e->op_write)
    {
      /* Without plain read/write the engine would be sync in disguise;
       * let --engine=auto pick the honest sync engine instead. */
      io_uring_queue_exit (&e->ring);
      free (e);
      return -EOPNOTSUPP;
    }
  vdvs_log (VDVS_LOG_DEBUG, "io_uring probed",
            "depth=%u cq=%u read=%d write=%d fsync=%d fallocate=%d", depth,
            p.cq_entries, e->op_read, e->op_write, e->op_fsync,
            e->op_fallocate);
  pthread_mutex_init (&e->sq_lock, NULL);
  pthread_mutex_init (&e->drain_lock, NULL);
  pthread_cond_init (&e->drained, NULL);
  atomic_init (&e->inflight, 0);
  atomic_init (&e->stopping, false);
  ret = pthread_create (&e->cq_thread, NULL, cq_thread_main, e);
  if (ret)
    {
      io_uring_queue_exit (&e->ring);
      free (e);
      return -ret;
    }
  *out = e;
  return 0;
}

static int
uring_submit (struct vmdkfs_engine *e, struct vmdkfs_io *io)
{
  if (!supported (e, io->op))
    {
      vmdkfs_io_complete (io, vmdkfs_io_run_sync (io));
      return 0;
    }
  return queue_io (e, io);
}

static void
uring_stop (struct vmdkfs_engine *e)
{
  struct io_uring_sqe *sqe;

  atomic_store (&e->stopping, true);
  pthread_mutex_lock (&e->drain_lock);
  while (atomic_load (&e->inflight) > 0)
    pthread_cond_wait (&e->drained, &e->drain_lock);
  pthread_mutex_unlock (&e->drain_lock);

  /* A NOP with NULL data wakes the completion thread so it can exit. */
  pthread_mutex_lock (&e->sq_lock);
  while (!(sqe = io_uring_get_sqe (&e->ring)))
    io_uring_submit (&e->ring);
  io_uring_prep_nop (sqe);
  io_uring_sqe_set_data (sqe, NULL);
  io_uring_submit (&e->ring);
  pthread_mutex_unlock (&e->sq_lock);
  pthread_join (e->cq_thread, NULL);

  io_uring_queue_exit (&e->ring);
  pthread_mutex_destroy (&e->sq_lock);
  pthread_mutex_destroy (&e->drain_lock);
  pthread_cond_destroy (&e->drained);
  free (e);
}

static unsigned
uring_inflight (struct vmdkfs_engine *e)
{
  return atomic_load (&e->inflight);
}

const struct vmdkfs_engine_ops vmdkfs_engine_uring = {
  .name = "uring",
  .default_threads = 4,
  .start = uring_start,
  .submit = uring_submit,
  .stop = uring_stop,
  .inflight = uring_inflight,
};
