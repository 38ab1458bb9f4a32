/* The io_uring engine: FUSE workers prepare and submit SQEs and return at
 * once, so many requests are in flight at a time; a completion thread per
 * lane (ring) reaps CQEs and sends the FUSE replies.
 *
 * Tried and measured, not kept: one event-loop thread that polls
 * /dev/fuse in the ring, submits in batches and replies, with no thread
 * hand-off per request.  On 2 vCPUs it reached 0.5-0.6x this design: every
 * reply wakes the loop device's completion, which preempts the one thread
 * that does everything.
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
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"

/* An io that keeps getting -EAGAIN is failed rather than spun forever. */
#define MAX_ATTEMPTS 10000

/* Lanes: one ring and its completion thread each, one lane per vCPU (at
 * most MAX_LANES).  The completion thread sends the replies, and a read's
 * reply carries its data (up to 1 MiB copied by the kernel in the
 * writev): with a single lane that copying was serialized on one thread
 * and 1 MiB sequential reads fell behind the sync engine, whose workers
 * reply in parallel. */
#define MAX_LANES 4

struct lane
{
  struct vmdkfs_engine *e;
  struct io_uring ring;
  /* Submitters are the FUSE workers of this lane plus its completion
   * thread (resubmits); liburing's SQ side is single-producer. */
  pthread_mutex_t sq_lock;
  pthread_t cq_thread;               /* the only CQ consumer of ring */
};

/* Registered buffers for large ios: one mapping cut into nbufs slots,
 * registered with every lane's ring at the same indices (the same pages
 * pinned once per ring, no extra memory).  read_fixed/write_fixed on them
 * skip pinning and unpinning the user pages of each direct I/O, which an
 * unregistered 1 MiB buffer costs 256 times per request (perf, 1 MiB
 * writes: gup_fast_fallback ~10% of vmdkfs's CPU), and pread cannot. */
struct pool
{
  char *base;                        /* NULL: no pool */
  size_t map_len;
  size_t slot_size;                  /* 4 KiB multiple */
  unsigned nbufs;
  pthread_mutex_t lock;
  unsigned nfree;                    /* protected by lock */
  int *free_slots;                   /* protected by lock: a stack */
};

struct vmdkfs_engine
{
  struct pool pool;                  /* set up at start, then only lent */
  struct lane lanes[MAX_LANES];
  unsigned nlanes;                   /* lanes[0..nlanes) are running */
  atomic_uint next_lane;             /* round robin over submitting threads */
  atomic_uint inflight;              /* ios owned by the kernel, all lanes */
  atomic_bool stopping;
  pthread_mutex_t drain_lock;        /* protects nothing but the wait */
  pthread_cond_t drained;            /* inflight reached 0 */
  /* Probed opcodes; set at start, read-only after. */
  bool op_read, op_write, op_fsync, op_fallocate;
};

/* The lane of the calling thread: a FUSE worker keeps the lane it was
 * given first; a completion thread is bound to its own. */
static __thread struct lane *my_lane;

static struct lane *
lane_of_caller (struct vmdkfs_engine *e)
{
  if (my_lane == NULL || my_lane->e != e)
    my_lane = &e->lanes[atomic_fetch_add (&e->next_lane, 1) % e->nlanes];
  return my_lane;
}

/* Prepare and submit the (remaining part of the) io.  Called with no lock
 * held.  0 or -errno; on error the io was not queued. */
static int
queue_io (struct vmdkfs_engine *e, struct vmdkfs_io *io)
{
  struct lane *l = lane_of_caller (e);
  struct io_uring_sqe *sqe;
  int ret;

  pthread_mutex_lock (&l->sq_lock);
  sqe = io_uring_get_sqe (&l->ring);
  if (!sqe)
    {
      /* SQ ring full of prepared entries: push them and retry once. */
      io_uring_submit (&l->ring);
      sqe = io_uring_get_sqe (&l->ring);
    }
  if (!sqe)
    {
      pthread_mutex_unlock (&l->sq_lock);
      return -EBUSY;
    }
  switch (io->op)
    {
    case VMDKFS_IO_READ:
      if (io->buf_slot >= 0)
        io_uring_prep_read_fixed (sqe, io->fd, io->buf + io->done,
                                  io->len - io->done, io->off + io->done,
                                  io->buf_slot);
      else
        io_uring_prep_read (sqe, io->fd, io->buf + io->done,
                            io->len - io->done, io->off + io->done);
      break;
    case VMDKFS_IO_WRITE:
      if (io->buf_slot >= 0)
        io_uring_prep_write_fixed (sqe, io->fd, io->buf + io->done,
                                   io->len - io->done, io->off + io->done,
                                   io->buf_slot);
      else
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
    ret = io_uring_submit (&l->ring);
  while (ret == -EINTR);
  pthread_mutex_unlock (&l->sq_lock);
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
  struct lane *l = arg;
  struct vmdkfs_engine *e = l->e;
  struct io_uring_cqe *cqe;
  unsigned head, n;
  bool woken = false;                /* the stop NOP has arrived */
  int ret;

  my_lane = l;                       /* resubmits stay on this ring */
  for (;;)
    {
      ret = io_uring_wait_cqe (&l->ring, &cqe);
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
      io_uring_for_each_cqe (&l->ring, head, cqe)
      {
        batch[n].data = io_uring_cqe_get_data (cqe);
        batch[n].res = cqe->res;
        if (++n == sizeof batch / sizeof batch[0])
          break;
      }
      io_uring_cq_advance (&l->ring, n);

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
      if (io_uring_sq_ready (&l->ring))
        {
          pthread_mutex_lock (&l->sq_lock);
          io_uring_submit (&l->ring);
          pthread_mutex_unlock (&l->sq_lock);
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

/* One lane's ring; the first also probes the opcodes. */
static int
lane_init (struct vmdkfs_engine *e, struct lane *l, unsigned depth,
           bool probe_ops)
{
  struct io_uring_probe *probe;
  struct io_uring_params p;
  int ret;

  memset (&p, 0, sizeof p);
  /* A CQ twice the SQ: FUSE background plus sync requests can exceed the
   * SQ depth while completions wait to be reaped. */
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = depth * 2;
  ret = io_uring_queue_init_params (depth, &l->ring, &p);
  if (ret < 0)
    return ret;
  if (probe_ops && (probe = io_uring_get_probe_ring (&l->ring)))
    {
      e->op_read = io_uring_opcode_supported (probe, IORING_OP_READ);
      e->op_write = io_uring_opcode_supported (probe, IORING_OP_WRITE);
      e->op_fsync = io_uring_opcode_supported (probe, IORING_OP_FSYNC);
      e->op_fallocate = io_uring_opcode_supported (probe, IORING_OP_FALLOCATE);
      io_uring_free_probe (probe);
    }
  if (probe_ops && (!e->op_read || !e->op_write))
    {
      /* Without plain read/write the engine would be sync in disguise;
       * let --engine=auto pick the honest sync engine instead. */
      io_uring_queue_exit (&l->ring);
      return -EOPNOTSUPP;
    }
  l->e = e;
  pthread_mutex_init (&l->sq_lock, NULL);
  ret = pthread_create (&l->cq_thread, NULL, cq_thread_main, l);
  if (ret)
    {
      pthread_mutex_destroy (&l->sq_lock);
      io_uring_queue_exit (&l->ring);
      return -ret;
    }
  return 0;
}

/* Map and register nbufs slots of size bytes with every lane.  On
 * failure (RLIMIT_MEMLOCK without CAP_IPC_LOCK, no memory) the engine runs
 * without a pool: every io brings its own buffer, as before. */
static void
pool_init (struct vmdkfs_engine *e, size_t size, unsigned nbufs)
{
  struct pool *p = &e->pool;
  struct iovec *iov;
  unsigned i, registered = 0;
  int ret = -ENOMEM;

  if (nbufs == 0 || size == 0)
    return;
  p->slot_size = (size + 4095) & ~(size_t) 4095;
  p->map_len = p->slot_size * nbufs;
  p->base = mmap (NULL, p->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  iov = calloc (nbufs, sizeof *iov);
  p->free_slots = calloc (nbufs, sizeof *p->free_slots);
  if (p->base == MAP_FAILED || !iov || !p->free_slots)
    goto fail;
  for (i = 0; i < nbufs; i++)
    {
      iov[i].iov_base = p->base + i * p->slot_size;
      iov[i].iov_len = p->slot_size;
      p->free_slots[i] = (int) (nbufs - 1 - i);
    }
  for (; registered < e->nlanes; registered++)
    if ((ret = io_uring_register_buffers (&e->lanes[registered].ring, iov,
                                          nbufs)) < 0)
      goto fail;
  free (iov);
  p->nbufs = p->nfree = nbufs;
  return;

fail:
  vdvs_log (VDVS_LOG_WARN, "io_uring buffers not registered, running "
            "without", "buffers=%u size=%zu error=\"%s\"", nbufs, size,
            strerror (-ret));
  for (i = 0; i < registered; i++)
    io_uring_unregister_buffers (&e->lanes[i].ring);
  free (iov);
  free (p->free_slots);
  p->free_slots = NULL;
  if (p->base != MAP_FAILED)
    munmap (p->base, p->map_len);
  p->base = NULL;
}

/* After the rings are gone (they hold the pages pinned until then). */
static void
pool_destroy (struct pool *p)
{
  if (p->base)
    munmap (p->base, p->map_len);
  free (p->free_slots);
  pthread_mutex_destroy (&p->lock);
}

static char *
uring_buf_get (struct vmdkfs_engine *e, size_t len, int *slot)
{
  struct pool *p = &e->pool;
  char *buf = NULL;

  if (p->nbufs == 0 || len > p->slot_size)
    return NULL;
  pthread_mutex_lock (&p->lock);
  if (p->nfree > 0)
    {
      *slot = p->free_slots[--p->nfree];
      buf = p->base + (size_t) *slot * p->slot_size;
    }
  pthread_mutex_unlock (&p->lock);
  return buf;
}

static void
uring_buf_put (struct vmdkfs_engine *e, int slot)
{
  struct pool *p = &e->pool;

  pthread_mutex_lock (&p->lock);
  p->free_slots[p->nfree++] = slot;
  pthread_mutex_unlock (&p->lock);
}

static void uring_stop (struct vmdkfs_engine *e);

static int
uring_start (const struct vmdkfs_engine_cfg *cfg, struct vmdkfs_engine **out)
{
  unsigned depth = cfg->depth;
  struct vmdkfs_engine *e;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  int ret;

  e = calloc (1, sizeof *e);
  if (!e)
    return -ENOMEM;
  pthread_mutex_init (&e->pool.lock, NULL);
  pthread_mutex_init (&e->drain_lock, NULL);
  pthread_cond_init (&e->drained, NULL);
  atomic_init (&e->inflight, 0);
  atomic_init (&e->stopping, false);
  atomic_init (&e->next_lane, 0);
  e->nlanes = cpus < 1 ? 1 : cpus > MAX_LANES ? MAX_LANES : (unsigned) cpus;
  for (unsigned i = 0; i < e->nlanes; i++)
    if ((ret = lane_init (e, &e->lanes[i], depth, i == 0)) < 0)
      {
        e->nlanes = i;
        uring_stop (e);
        return ret;
      }
  pool_init (e, cfg->buf_size, cfg->nbufs);
  vdvs_log (VDVS_LOG_DEBUG, "io_uring probed",
            "lanes=%u depth=%u buffers=%u read=%d write=%d fsync=%d "
            "fallocate=%d", e->nlanes, depth, e->pool.nbufs, e->op_read,
            e->op_write, e->op_fsync, e->op_fallocate);
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

  for (unsigned i = 0; i < e->nlanes; i++)
    {
      struct lane *l = &e->lanes[i];

      /* A NOP with NULL data wakes the completion thread so it can exit. */
      pthread_mutex_lock (&l->sq_lock);
      while (!(sqe = io_uring_get_sqe (&l->ring)))
        io_uring_submit (&l->ring);
      io_uring_prep_nop (sqe);
      io_uring_sqe_set_data (sqe, NULL);
      io_uring_submit (&l->ring);
      pthread_mutex_unlock (&l->sq_lock);
      pthread_join (l->cq_thread, NULL);
      io_uring_queue_exit (&l->ring);
      pthread_mutex_destroy (&l->sq_lock);
    }
  pool_destroy (&e->pool);
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
  .buf_get = uring_buf_get,
  .buf_put = uring_buf_put,
};
