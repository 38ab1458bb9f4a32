/* The pread/pwrite engine: runs each io on the FUSE worker thread that
 * submitted it.  Concurrency comes from the multithreaded session loop.
 * Used where io_uring is unavailable (sysctl kernel.io_uring_disabled,
 * Docker's default seccomp profile) or asked for with --engine=sync. */
#include "engine.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct vmdkfs_engine
{
  atomic_uint inflight;
};

int64_t
vmdkfs_io_run_sync (struct vmdkfs_io *io)
{
  ssize_t n;

  switch (io->op)
    {
    case VMDKFS_IO_READ:
    case VMDKFS_IO_WRITE:
      while (io->done < io->len)
        {
          char *p = io->buf + io->done;
          size_t left = io->len - io->done;
          off_t at = io->off + io->done;

          n = io->op == VMDKFS_IO_READ ? pread (io->fd, p, left, at)
                                       : pwrite (io->fd, p, left, at);
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n < 0)
            return -errno;
          if (n == 0) /* end of file: a short read is the answer; a write
                         that moves nothing would loop forever */
            return io->op == VMDKFS_IO_READ ? (int64_t) io->done : -EIO;
          io->done += n;
        }
      return io->done;
    case VMDKFS_IO_FSYNC:
      return fsync (io->fd) < 0 ? -errno : 0;
    case VMDKFS_IO_FDATASYNC:
      return fdatasync (io->fd) < 0 ? -errno : 0;
    case VMDKFS_IO_FALLOCATE:
      return fallocate (io->fd, io->mode, io->off, io->len) < 0 ? -errno : 0;
    }
  return -EINVAL;
}

static int
sync_start (const struct vmdkfs_engine_cfg *cfg, struct vmdkfs_engine **out)
{
  struct vmdkfs_engine *e = calloc (1, sizeof *e);

  (void) cfg;
  if (!e)
    return -ENOMEM;
  atomic_init (&e->inflight, 0);
  *out = e;
  return 0;
}

static int
sync_submit (struct vmdkfs_engine *e, struct vmdkfs_io *io)
{
  int64_t res;

  atomic_fetch_add (&e->inflight, 1);
  res = vmdkfs_io_run_sync (io);
  atomic_fetch_sub (&e->inflight, 1);
  vmdkfs_io_complete (io, res);
  return 0;
}

static void
sync_stop (struct vmdkfs_engine *e)
{
  /* Workers have left the session loop before stop is called, so nothing
   * can be running here. */
  free (e);
}

static unsigned
sync_inflight (struct vmdkfs_engine *e)
{
  return atomic_load (&e->inflight);
}

const struct vmdkfs_engine_ops vmdkfs_engine_sync = {
  .name = "sync",
  .default_threads = 16,
  .start = sync_start,
  .submit = sync_submit,
  .stop = sync_stop,
  .inflight = sync_inflight,
};
