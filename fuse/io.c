/* The I/O unit: one data request's life from allocation to reply.  The
 * FUSE ops and the delay queue hand ios to the engine through
 * vmdkfs_io_submit; the engines end them with vmdkfs_io_complete.  It calls
 * no other vmdkfs file, so ops_file.c -> delayq.c -> io.c stays one-way.
 *
 * No locks of its own: an io has one owner at a time (see engine.h), and
 * the counters it bumps are atomics.
 */
#include "vmdkfs.h"

#include <stdlib.h>
#include <string.h>

#include "vdvs/clock.h"

static struct vmdkfs *
req_fs (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

uint64_t
vmdkfs_now_ns (void)
{
  return (uint64_t) vdvs_mono_ns ();
}

const char *
vmdkfs_io_op_name (enum vmdkfs_io_op op)
{
  switch (op)
    {
    case VMDKFS_IO_READ:
      return "read";
    case VMDKFS_IO_WRITE:
      return "write";
    case VMDKFS_IO_FSYNC:
      return "fsync";
    case VMDKFS_IO_FDATASYNC:
      return "fdatasync";
    case VMDKFS_IO_FALLOCATE:
      return "fallocate";
    }
  return "?";
}

/* Ios with at least this much data take a buffer from the engine's pool:
 * the kernel pins an unregistered buffer page by page for every direct
 * I/O (256 pins for 1 MiB, 1 for 4 KiB), and each slot is a full
 * max_write, so small ios would only use the pool up. */
#define POOL_MIN_BYTES (64 * 1024)

/* A pooled buffer, with the io header allocated on its own; NULL when the
 * engine has no pool or none free. */
static struct vmdkfs_io *
io_new_pooled (struct vmdkfs *fs, size_t buflen)
{
  const struct vmdkfs_engine_ops *ops = fs->engine_ops;
  struct vmdkfs_io *io;
  char *buf;
  int slot;

  if (buflen < POOL_MIN_BYTES || !ops->buf_get
      || !(buf = ops->buf_get (fs->engine, buflen, &slot)))
    return NULL;
  if (!(io = malloc (sizeof *io)))
    {
      ops->buf_put (fs->engine, slot);
      return NULL;
    }
  memset (io, 0, sizeof *io);
  io->buf = buf;
  io->buf_slot = slot;
  return io;
}

/* Header first, buffer on the next 4 KiB boundary of one allocation, so
 * the buffer suits O_DIRECT backing files. */
static struct vmdkfs_io *
io_new_malloced (size_t buflen)
{
  size_t hdr = (sizeof (struct vmdkfs_io) + 4095) & ~(size_t) 4095;
  struct vmdkfs_io *io;
  void *p;

  if (buflen == 0)
    p = malloc (sizeof *io);
  else if (posix_memalign (&p, 4096, hdr + buflen) != 0)
    p = NULL;
  if (!p)
    return NULL;
  io = p;
  memset (io, 0, sizeof *io);
  io->buf = buflen ? (char *) p + hdr : NULL;
  io->buf_slot = -1;
  return io;
}

struct vmdkfs_io *
vmdkfs_io_new (fuse_req_t req, enum vmdkfs_io_op op, int fd, off_t off,
               uint64_t len, size_t buflen)
{
  struct vmdkfs_io *io = io_new_pooled (req_fs (req), buflen);

  if (!io && !(io = io_new_malloced (buflen)))
    return NULL;
  io->req = req;
  io->op = op;
  io->fd = fd;
  io->off = off;
  io->len = len;
  return io;
}

void
vmdkfs_io_free (struct vmdkfs *fs, struct vmdkfs_io *io)
{
  if (io->buf_slot >= 0)
    fs->engine_ops->buf_put (fs->engine, io->buf_slot);
  free (io);
}

void
vmdkfs_io_complete (struct vmdkfs_io *io, int64_t res)
{
  struct vmdkfs *fs = req_fs (io->req);

  if (res < 0)
    {
      atomic_fetch_add (&fs->stats.errors, 1);
      fuse_reply_err (io->req, (int) -res);
    }
  else
    switch (io->op)
      {
      case VMDKFS_IO_READ:
        atomic_fetch_add (&fs->stats.reads, 1);
        atomic_fetch_add (&fs->stats.read_bytes, (uint64_t) res);
        fuse_reply_buf (io->req, io->buf, (size_t) res);
        break;
      case VMDKFS_IO_WRITE:
        atomic_fetch_add (&fs->stats.writes, 1);
        atomic_fetch_add (&fs->stats.write_bytes, (uint64_t) res);
        fuse_reply_write (io->req, (size_t) res);
        break;
      case VMDKFS_IO_FSYNC:
      case VMDKFS_IO_FDATASYNC:
        atomic_fetch_add (&fs->stats.fsyncs, 1);
        fuse_reply_err (io->req, 0);
        break;
      case VMDKFS_IO_FALLOCATE:
        atomic_fetch_add (&fs->stats.fallocates, 1);
        fuse_reply_err (io->req, 0);
        break;
      }
  vmdkfs_io_free (fs, io);
}

void
vmdkfs_io_submit (struct vmdkfs *fs, struct vmdkfs_io *io)
{
  int ret = fs->engine_ops->submit (fs->engine, io);

  if (ret < 0)
    vmdkfs_io_complete (io, ret);
}
