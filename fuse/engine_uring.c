/* The io_uring engine: FUSE workers hand their ios to a lane and return at
 * once, so many requests are in flight at a time; each lane is one ring
 * and the one thread that submits to it, reaps its CQEs and sends the
 * FUSE replies.
 *
 * Why the lane thread submits: io_uring finishes a read or write as task
 * work of the task that submitted it, so a FUSE worker that submitted
 * would be woken from its /dev/fuse read just to post the CQE.  With the
 * lane thread as the ring's single issuer (IORING_SETUP_SINGLE_ISSUER |
 * DEFER_TASKRUN) a completion wakes only the thread that waits for it.
 * Workers push ios on a lock-free list and write the lane's eventfd (an
 * armed read on the ring) only when the lane thread is about to sleep, so
 * a busy lane takes batches without any syscall from the workers.
 *
 * Why not one thread that also polls /dev/fuse in the ring: every reply
 * wakes the loop device's completion, which preempts that one thread.
 *
 * The io itself travels as the SQE user data (io_uring_sqe_set_data): it
 * holds the fuse_req_t and copies of every argument the FUSE op gave us,
 * since those are only valid during the op call.  A short read or write is
 * resubmitted for the remainder (io_uring-cp style), -EAGAIN is requeued,
 * and opcodes the running kernel lacks (found by probing at start) run
 * with the classic syscalls instead.
 */
#include "engine.h"
#include "io.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vdvs/log.h"

/* An io that keeps getting -EAGAIN is failed rather than spun forever. */
#define MAX_ATTEMPTS 10000

/* Lanes: one ring and its thread each; by default one per two vCPUs (at
 * most MAX_LANES; --lanes).  More lanes spread the copying of read replies
 * over threads; fewer take small ios in bigger batches. */
#define MAX_LANES 4

/* The lane thread's nice value: every completion and reply of its ring
 * waits for it, so the wake-ups it causes (the loop device's completion,
 * the application, FUSE workers) must not preempt it; kblockd runs at high
 * priority for the same reason.  The lane only runs when ios complete or
 * arrive. */
#define LANE_NICE (-10)

struct lane
{
  struct vmdkfs_engine *e;
  pthread_t thread;
  int efd; /* eventfd: wakes the lane thread */
  /* Ios pushed by other threads, newest first; the lane thread takes the
   * whole list at once. */
  _Atomic (struct vmdkfs_io *) handoff;
  /* The lane thread is about to wait in the kernel: a pusher that turns
   * this off writes efd. */
  atomic_bool sleeping;
  atomic_bool quit; /* set by uring_stop after the drain */
  /* Lane thread only from here on. */
  struct io_uring ring;      /* this thread is its single issuer */
  struct vmdkfs_io *pending; /* taken ios without an SQE yet, FIFO */
  struct vmdkfs_io **pending_tail;
  bool efd_armed;     /* a read of efd is in the ring */
  uint64_t efd_count; /* that read's buffer */
  bool buffers_ok;    /* the pool is registered here */
  bool niced;         /* runs at LANE_NICE */
  unsigned depth;     /* SQ entries, for ring_init */
  int init_ret;       /* start-up result, under e->lock */
  bool init_done;     /* under e->lock */
};

/* Registered buffers for large ios: one mapping cut into nbufs slots,
 * registered with every lane's ring at the same indices (the same pages
 * pinned once per ring, no extra memory).  read_fixed/write_fixed on them
 * skip pinning and unpinning the user pages of each direct I/O, page by
 * page, which pread cannot. */
struct pool
{
  char *base; /* NULL: no pool */
  size_t map_len;
  size_t slot_size;  /* 4 KiB multiple */
  struct iovec *iov; /* nbufs slots; only during start */
  unsigned nbufs;    /* 0 unless every lane registered */
  pthread_mutex_t lock;
  unsigned nfree;  /* protected by lock */
  int *free_slots; /* protected by lock: a stack */
};

struct vmdkfs_engine
{
  struct pool pool; /* set up at start, then only lent */
  struct lane lanes[MAX_LANES];
  unsigned nlanes;       /* lanes[0..nlanes) are running */
  atomic_uint next_lane; /* round robin over submitting threads */
  atomic_uint inflight;  /* ios queued or in a ring, all lanes */
  atomic_bool stopping;
  pthread_mutex_t lock; /* protects the lanes' init results */
  pthread_cond_t cond;  /* a lane started; inflight reached 0 */
  /* Probed opcodes; set by lane 0 before it reports, read-only after. */
  bool op_read, op_write, op_fsync, op_fallocate;
};

/* The lane a submitting thread uses: a FUSE worker keeps the lane it was
 * given first.  lane_self is set in lane threads only. */
static __thread struct lane *my_lane;
static __thread struct lane *lane_self;

static struct lane *
lane_of_caller (struct vmdkfs_engine *e)
{
  if (my_lane == NULL || my_lane->e != e)
    my_lane = &e->lanes[atomic_fetch_add (&e->next_lane, 1) % e->nlanes];
  return my_lane;
}

static void
pending_append (struct lane *l, struct vmdkfs_io *io)
{
  io->next = NULL;
  *l->pending_tail = io;
  l->pending_tail = &io->next;
}

/* Any thread but the lane's own: queue io for the lane and wake it if it
 * sleeps.  Seq-cst on both sides: either the lane thread sees io when it
 * looks again after setting `sleeping`, or we see `sleeping` and wake it. */
static void
handoff_push (struct lane *l, struct vmdkfs_io *io)
{
  struct vmdkfs_io *head = atomic_load (&l->handoff);

  do
    io->next = head;
  while (!atomic_compare_exchange_weak (&l->handoff, &head, io));
  if (atomic_load (&l->sleeping) && atomic_exchange (&l->sleeping, false))
    eventfd_write (l->efd, 1);
}

/* Lane thread: move everything pushed so far to the pending FIFO. */
static void
handoff_take (struct lane *l)
{
  struct vmdkfs_io *io = atomic_exchange (&l->handoff, NULL), *rev = NULL;

  while (io)
    {
      struct vmdkfs_io *next = io->next;

      io->next = rev;
      rev = io;
      io = next;
    }
  while (rev)
    {
      struct vmdkfs_io *next = rev->next;

      pending_append (l, rev);
      rev = next;
    }
}

/* Queue the (remaining part of the) io on a lane.  Never fails: the SQE
 * is prepared by the lane thread when its ring has room. */
static int
queue_io (struct vmdkfs_engine *e, struct vmdkfs_io *io)
{
  atomic_fetch_add (&e->inflight, 1);
  if (lane_self)
    pending_append (lane_self, io); /* a resubmit from a completion */
  else
    handoff_push (lane_of_caller (e), io);
  return 0;
}

static void
prep_io (struct io_uring_sqe *sqe, struct vmdkfs_io *io)
{
  char *buf = io->buf + io->done;
  unsigned left = (unsigned) (io->len - io->done);
  off_t at = io->off + io->done;

  switch (io->op)
    {
    case VMDKFS_IO_READ:
      if (io->buf_slot >= 0)
        io_uring_prep_read_fixed (sqe, io->fd, buf, left, at, io->buf_slot);
      else
        io_uring_prep_read (sqe, io->fd, buf, left, at);
      break;
    case VMDKFS_IO_WRITE:
      if (io->buf_slot >= 0)
        io_uring_prep_write_fixed (sqe, io->fd, buf, left, at, io->buf_slot);
      else
        io_uring_prep_write (sqe, io->fd, buf, left, at);
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
}

/* Lane thread: SQEs for the wake-up read and for pending ios, as far as
 * the SQ has room; the rest waits for the next round. */
static void
fill_sq (struct lane *l)
{
  struct io_uring_sqe *sqe;

  if (!l->efd_armed && (sqe = io_uring_get_sqe (&l->ring)))
    {
      io_uring_prep_read (sqe, l->efd, &l->efd_count, sizeof l->efd_count, 0);
      io_uring_sqe_set_data (sqe, l); /* the lane itself marks it */
      l->efd_armed = true;
    }
  while (l->pending && (sqe = io_uring_get_sqe (&l->ring)))
    {
      struct vmdkfs_io *io = l->pending;

      if (!(l->pending = io->next))
        l->pending_tail = &l->pending;
      prep_io (sqe, io);
    }
}

static bool
supported (struct vmdkfs_engine *e, enum vmdkfs_io_op op)
{
  switch (op)
    {
    case VMDKFS_IO_READ:
      return e->op_read;
    case VMDKFS_IO_WRITE:
      return e->op_write;
    case VMDKFS_IO_FSYNC:
    case VMDKFS_IO_FDATASYNC:
      return e->op_fsync;
    case VMDKFS_IO_FALLOCATE:
      return e->op_fallocate;
    }
  return false;
}

/* One CQE for io: finish it or resubmit what is left. */
static void
handle_cqe (struct vmdkfs_engine *e, struct vmdkfs_io *io, int res)
{
  if (res == -EAGAIN || res == -EINTR)
    {
      if (++io->attempts < MAX_ATTEMPTS)
        queue_io (e, io);
      else
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
        queue_io (e, io);
      else
        vmdkfs_io_complete (io, io->done);
      return;
    default:
      vmdkfs_io_complete (io, res);
      return;
    }
}

/* Lane thread: submit what workers handed over since the last look.  Done
 * before each completion is handled, since handling one sends its reply
 * (a 1 MiB read reply is a 1 MiB copy in the writev): the disk gets the
 * next ios meanwhile instead of after the whole batch of replies. */
static void
lane_flush (struct lane *l)
{
  if (atomic_load_explicit (&l->handoff, memory_order_relaxed) == NULL)
    return;
  handoff_take (l);
  fill_sq (l);
  io_uring_submit (&l->ring);
}

/* Lane thread: handle every CQE there is.  Each is copied out first, since
 * handling one may send a reply and take a while. */
static void
reap (struct lane *l)
{
  struct vmdkfs_engine *e = l->e;
  struct io_uring_cqe *cqe;
  unsigned head, n;
  struct
  {
    void *data;
    int res;
  } batch[64];

  do
    {
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
          if (batch[i].data == l)
            {
              l->efd_armed = false; /* the eventfd fired: re-arm */
              continue;
            }
          lane_flush (l);
          /* Count down only after a resubmit has counted up again, so
           * stop never sees zero while an io is still moving. */
          handle_cqe (e, batch[i].data, batch[i].res);
          atomic_fetch_sub (&e->inflight, 1);
        }
    }
  while (n == sizeof batch / sizeof batch[0]);
}

/* Lane thread: announce that we are going to sleep, unless work arrived
 * meanwhile.  True: sleep (a pusher will write efd). */
static bool
lane_may_sleep (struct lane *l)
{
  if (l->pending || io_uring_cq_ready (&l->ring))
    return false;
  atomic_store (&l->sleeping, true);
  if (atomic_load (&l->handoff) == NULL && !atomic_load (&l->quit))
    return true;
  atomic_store (&l->sleeping, false);
  return false;
}

static void
lane_loop (struct lane *l)
{
  struct vmdkfs_engine *e = l->e;
  int ret;

  for (;;)
    {
      handoff_take (l);
      fill_sq (l);
      if (lane_may_sleep (l))
        ret = io_uring_submit_and_wait (&l->ring, 1);
      else
        ret = io_uring_submit_and_get_events (&l->ring);
      atomic_store (&l->sleeping, false);
      /* -EBUSY/-EAGAIN: the kernel is short of CQ room or memory; the
       * SQEs stay in the ring for the next round, after we have reaped. */
      if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN
          && ret != -ETIME)
        vdvs_log (VDVS_LOG_WARN, "io_uring submit failed", "ret=%d", ret);
      reap (l);
      if (atomic_load (&e->stopping) && atomic_load (&e->inflight) == 0)
        {
          pthread_mutex_lock (&e->lock);
          pthread_cond_broadcast (&e->cond);
          pthread_mutex_unlock (&e->lock);
          if (atomic_load (&l->quit))
            return;
        }
    }
}

/* The lane's ring, created on the lane thread so that it is the single
 * issuer.  DEFER_TASKRUN needs Linux 6.1; older kernels get a plain ring,
 * where completions still run on this thread, the one that submitted. */
static int
ring_init (struct lane *l, unsigned depth)
{
  struct io_uring_params p;
  int ret;

  memset (&p, 0, sizeof p);
  /* A CQ twice the SQ: FUSE background plus sync requests can exceed the
   * SQ depth while completions wait to be reaped. */
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER
            | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = depth * 2;
  ret = io_uring_queue_init_params (depth, &l->ring, &p);
  if (ret == -EINVAL)
    {
      memset (&p, 0, sizeof p);
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = depth * 2;
      ret = io_uring_queue_init_params (depth, &l->ring, &p);
    }
  return ret;
}

static int
probe_ops (struct vmdkfs_engine *e, struct io_uring *ring)
{
  struct io_uring_probe *probe = io_uring_get_probe_ring (ring);

  if (probe)
    {
      e->op_read = io_uring_opcode_supported (probe, IORING_OP_READ);
      e->op_write = io_uring_opcode_supported (probe, IORING_OP_WRITE);
      e->op_fsync = io_uring_opcode_supported (probe, IORING_OP_FSYNC);
      e->op_fallocate = io_uring_opcode_supported (probe, IORING_OP_FALLOCATE);
      io_uring_free_probe (probe);
    }
  /* Without plain read/write the engine would be sync in disguise; let
   * --engine=auto pick the honest sync engine instead. */
  return e->op_read && e->op_write ? 0 : -EOPNOTSUPP;
}

/* Set up the ring (the first lane also probes), register the pool, then
 * report to uring_start and run. */
static void *
lane_main (void *arg)
{
  struct lane *l = arg;
  struct vmdkfs_engine *e = l->e;
  struct pool *p = &e->pool;
  int ret;

  lane_self = l;
  ret = ring_init (l, l->depth);
  if (ret == 0 && l == &e->lanes[0] && (ret = probe_ops (e, &l->ring)) < 0)
    io_uring_queue_exit (&l->ring);
  if (ret == 0 && p->iov)
    l->buffers_ok = io_uring_register_buffers (&l->ring, p->iov, p->nbufs)
                    == 0;
  /* Without CAP_SYS_NICE (a container) the lane keeps the default. */
  l->niced = setpriority (PRIO_PROCESS, (id_t) gettid (), LANE_NICE) == 0;
  pthread_mutex_lock (&e->lock);
  l->init_ret = ret;
  l->init_done = true;
  pthread_cond_broadcast (&e->cond);
  pthread_mutex_unlock (&e->lock);
  if (ret < 0)
    return NULL;
  lane_loop (l);
  io_uring_queue_exit (&l->ring);
  return NULL;
}

/* Start lane l and wait for its ring.  0 or -errno (then nothing runs). */
static int
lane_start (struct vmdkfs_engine *e, struct lane *l, unsigned depth)
{
  int ret;

  l->e = e;
  l->pending_tail = &l->pending;
  atomic_init (&l->handoff, NULL);
  atomic_init (&l->sleeping, false);
  atomic_init (&l->quit, false);
  if ((l->efd = eventfd (0, EFD_CLOEXEC)) < 0)
    return -errno;
  l->depth = depth;
  if ((ret = pthread_create (&l->thread, NULL, lane_main, l)))
    {
      close (l->efd);
      return -ret;
    }
  pthread_mutex_lock (&e->lock);
  while (!l->init_done)
    pthread_cond_wait (&e->cond, &e->lock);
  ret = l->init_ret;
  pthread_mutex_unlock (&e->lock);
  if (ret < 0)
    {
      pthread_join (l->thread, NULL);
      close (l->efd);
    }
  return ret;
}

/* len bytes of anonymous memory on a 2 MiB boundary, in transparent huge
 * pages where the kernel has them (MADV_HUGEPAGE; THP "madvise" is the
 * usual default); NULL without memory.  Why: a registered buffer's pages
 * become the bio's segments and a huge page registers as one, so large
 * requests stay under the disk's segment limit and can still be merged. */
static char *
map_huge (size_t len)
{
  const size_t huge = 2u << 20;
  char *m = mmap (NULL, len + huge, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  size_t head;

  if (m == MAP_FAILED)
    return NULL;
  /* Trim the mapping to the aligned len bytes. */
  head = (huge - (uintptr_t) m % huge) % huge;
  if (head > 0)
    munmap (m, head);
  munmap (m + head + len, huge - head);
  m += head;
  madvise (m, len, MADV_HUGEPAGE); /* advice: without THP, small pages */
  return m;
}

/* Map nbufs slots of size bytes for the lanes to register.  Without it
 * (no memory) every io brings its own buffer. */
static void
pool_map (struct pool *p, size_t size, unsigned nbufs)
{
  if (nbufs == 0 || size == 0)
    return;
  p->slot_size = (size + 4095) & ~(size_t) 4095;
  p->map_len = p->slot_size * nbufs;
  p->base = map_huge (p->map_len);
  p->iov = calloc (nbufs, sizeof *p->iov);
  p->free_slots = calloc (nbufs, sizeof *p->free_slots);
  if (p->base == NULL || !p->iov || !p->free_slots)
    {
      if (p->base != NULL)
        munmap (p->base, p->map_len);
      p->base = NULL;
      free (p->iov);
      p->iov = NULL;
      return;
    }
  for (unsigned i = 0; i < nbufs; i++)
    {
      p->iov[i].iov_base = p->base + i * p->slot_size;
      p->iov[i].iov_len = p->slot_size;
      p->free_slots[i] = (int) (nbufs - 1 - i);
    }
  p->nbufs = nbufs;
}

/* Lend the pool only if every lane registered it (RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK refuses); otherwise every io brings its own buffer. */
static void
pool_enable (struct vmdkfs_engine *e)
{
  struct pool *p = &e->pool;
  bool ok = p->iov != NULL;

  for (unsigned i = 0; i < e->nlanes; i++)
    ok = ok && e->lanes[i].buffers_ok;
  if (p->iov && !ok)
    vdvs_log (VDVS_LOG_WARN,
              "io_uring buffers not registered, running "
              "without",
              "buffers=%u size=%zu", p->nbufs, p->slot_size);
  free (p->iov);
  p->iov = NULL;
  p->nfree = ok ? p->nbufs : 0;
  if (!ok)
    p->nbufs = 0;
}

/* After the rings are gone (they hold the pages pinned until then). */
static void
pool_destroy (struct pool *p)
{
  if (p->base)
    munmap (p->base, p->map_len);
  free (p->iov);
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
  struct vmdkfs_engine *e;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  unsigned want;
  int ret;

  e = calloc (1, sizeof *e);
  if (!e)
    return -ENOMEM;
  pthread_mutex_init (&e->pool.lock, NULL);
  pthread_mutex_init (&e->lock, NULL);
  pthread_cond_init (&e->cond, NULL);
  atomic_init (&e->inflight, 0);
  atomic_init (&e->stopping, false);
  atomic_init (&e->next_lane, 0);
  pool_map (&e->pool, cfg->buf_size, cfg->nbufs);
  want = cfg->lanes ? cfg->lanes : cpus < 2 ? 1 : (unsigned) (cpus / 2);
  if (want > MAX_LANES)
    want = MAX_LANES;
  for (e->nlanes = 0; e->nlanes < want; e->nlanes++)
    if ((ret = lane_start (e, &e->lanes[e->nlanes], cfg->depth)) < 0)
      {
        uring_stop (e);
        return ret;
      }
  pool_enable (e);
  vdvs_log (VDVS_LOG_DEBUG, "io_uring probed",
            "lanes=%u nice=%d depth=%u buffers=%u read=%d write=%d fsync=%d "
            "fallocate=%d",
            e->nlanes, e->lanes[0].niced ? LANE_NICE : 0, cfg->depth,
            e->pool.nbufs, e->op_read, e->op_write, e->op_fsync,
            e->op_fallocate);
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
  atomic_store (&e->stopping, true);
  for (unsigned i = 0; i < e->nlanes; i++)
    eventfd_write (e->lanes[i].efd, 1); /* so each looks at inflight */
  pthread_mutex_lock (&e->lock);
  while (atomic_load (&e->inflight) > 0)
    pthread_cond_wait (&e->cond, &e->lock);
  pthread_mutex_unlock (&e->lock);

  for (unsigned i = 0; i < e->nlanes; i++)
    {
      struct lane *l = &e->lanes[i];

      atomic_store (&l->quit, true);
      eventfd_write (l->efd, 1);
      pthread_join (l->thread, NULL);
      close (l->efd);
    }
  pool_destroy (&e->pool);
  pthread_mutex_destroy (&e->lock);
  pthread_cond_destroy (&e->cond);
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
