/* vmdkfs's open files and their data: open, create, release, flush and
 * lseek reply inline; read, write, fsync and fallocate become a struct
 * vmdkfs_io that passes the fault rules (error, delay or stall through the
 * delay queue) and is completed by the I/O engine, maybe on another
 * thread. */
#include "ops_i.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Backing open flags for what the kernel asked. */
static int
backing_flags (struct vmdkfs *fs, int flags)
{
  flags &= ~O_NOFOLLOW;
  flags |= O_CLOEXEC;
  if (fs->cache == VMDKFS_CACHE_WRITEBACK)
    {
      /* The kernel reads pages to fill partial writes even on a
       * write-only open, and handles O_APPEND itself. */
      if ((flags & O_ACCMODE) == O_WRONLY)
        flags = (flags & ~O_ACCMODE) | O_RDWR;
      flags &= ~O_APPEND;
    }
  /* O_DIRECT from the client (a loop device with direct I/O) stays O_DIRECT
   * on the backing file: buffered backing writes hit dirty-page throttling
   * and the client's flushes then write everything again, and reads would
   * be cached twice.  Requests that are not aligned for O_DIRECT use
   * fd_buffered instead. */
  if (!fs->backing_direct)
    flags &= ~O_DIRECT;
  return flags;
}

static bool
opens_for_write (int flags)
{
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static void
set_open_flags (struct vmdkfs *fs, struct fuse_file_info *fi)
{
  fi->direct_io = fs->cache == VMDKFS_CACHE_DIRECT;
  fi->keep_cache = 0;
}

static struct vmdkfs_file *
file_new (struct vmdkfs *fs, int fd, int ifd, const char *name)
{
  char rel[PATH_MAX];
  struct vmdkfs_file *f;

  if (relpath_of (fs, ifd, name, rel, sizeof rel) < 0)
    rel[0] = '\0';
  f = malloc (sizeof *f + strlen (rel) + 1);
  if (!f)
    return NULL;
  f->fd = fd;
  f->fd_buffered = -1;
  strcpy (f->relpath, rel);
  return f;
}

/* For an O_DIRECT backing fd, open the buffered twin used for unaligned
 * requests.  0 or -errno. */
static int
open_buffered_twin (struct vmdkfs_file *f)
{
  char proc[64];
  int flags = fcntl (f->fd, F_GETFL);

  if (flags < 0)
    return -errno;
  if (!(flags & O_DIRECT))
    return 0;
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", f->fd);
  f->fd_buffered = open (proc, (flags & (O_ACCMODE | O_APPEND)) | O_CLOEXEC);
  return f->fd_buffered < 0 ? -errno : 0;
}

static void
file_free (struct vmdkfs_file *f)
{
  close (f->fd);
  if (f->fd_buffered >= 0)
    close (f->fd_buffered);
  free (f);
}

void
op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs *fs = req_fs (req);
  int ifd = get_inode (req, ino)->fd;
  struct vmdkfs_file *f;
  char proc[64];
  int fd, ret;

  if (opens_for_write (fi->flags)
      && (ret = meta_gate (fs, ifd, NULL, "open")) < 0)
    return (void) fuse_reply_err (req, -ret);
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", ifd);
  fd = open (proc, backing_flags (fs, fi->flags));
  if (fd < 0)
    return (void) fuse_reply_err (req, errno);
  f = file_new (fs, fd, fd, NULL);
  if (!f)
    {
      close (fd);
      return (void) fuse_reply_err (req, ENOMEM);
    }
  if ((ret = open_buffered_twin (f)) < 0)
    {
      file_free (f);
      return (void) fuse_reply_err (req, -ret);
    }
  fi->fh = (uintptr_t) f;
  set_open_flags (fs, fi);
  if (fuse_reply_open (req, fi) == -ENOENT)
    /* The open was interrupted: nobody will release it. */
    file_free (f);
}

void
op_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  struct vmdkfs *fs = req_fs (req);
  int dfd = get_inode (req, parent)->fd;
  struct fuse_entry_param e;
  struct vmdkfs_file *f;
  int fd, err;

  err = -meta_gate (fs, dfd, name, "create");
  if (err)
    return (void) fuse_reply_err (req, err);
  fd = openat (dfd, name, backing_flags (fs, fi->flags | O_CREAT), mode);
  if (fd < 0)
    return (void) fuse_reply_err (req, errno);
  err = do_lookup (req, parent, name, &e);
  if (err)
    {
      close (fd);
      return (void) fuse_reply_err (req, err);
    }
  f = file_new (fs, fd, fd, NULL);
  if (!f)
    {
      close (fd);
      forget_one (req, e.ino, 1);
      return (void) fuse_reply_err (req, ENOMEM);
    }
  if ((err = -open_buffered_twin (f)) != 0)
    {
      file_free (f);
      forget_one (req, e.ino, 1);
      return (void) fuse_reply_err (req, err);
    }
  fi->fh = (uintptr_t) f;
  set_open_flags (fs, fi);
  if (fuse_reply_create (req, &e, fi) == -ENOENT)
    {
      file_free (f);
      forget_one (req, e.ino, 1);
    }
}

void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs_file *f = get_file (fi);

  (void) ino;
  file_free (f);
  fuse_reply_err (req, 0);
}

void
op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  int fd;

  (void) ino;
  /* close() of a duplicate reports deferred write errors of the backing
   * filesystem (NFS-style) without closing our fd. */
  fd = dup (get_file (fi)->fd);
  if (fd < 0)
    return (void) fuse_reply_err (req, errno);
  fuse_reply_err (req, close (fd) < 0 ? errno : 0);
}

void
op_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
          struct fuse_file_info *fi)
{
  off_t res;

  (void) ino;
  res = lseek (get_file (fi)->fd, off, whence);
  if (res < 0)
    return (void) fuse_reply_err (req, errno);
  fuse_reply_lseek (req, res);
}

/* ------------------------------------------------------------------ */
/* Data path.                                                         */

/* Apply fault rules to a data io of class cls, then run it. */
static void
start_io (struct vmdkfs *fs, struct vmdkfs_file *f, struct vmdkfs_io *io,
          unsigned cls)
{
  struct fault_verdict v;

  /* O_DIRECT needs aligned offsets and lengths (the buffer always is);
   * 4 KiB covers every logical block size the backing disk may have. */
  if (f->fd_buffered >= 0
      && (io->op == VMDKFS_IO_READ || io->op == VMDKFS_IO_WRITE)
      && ((uint64_t) io->off | io->len) & 4095)
    io->fd = f->fd_buffered;

  if (fault_check (&fs->faults, f->relpath, cls, &v))
    {
      log_injected (fs, &v, vmdkfs_io_op_name (io->op), f->relpath);
      if (v.err)
        return vmdkfs_io_complete (io, -v.err);
      if (v.hold)
        {
          io->due_ns = 0;
          snprintf (io->hold_id, sizeof io->hold_id, "%s", v.id);
        }
      else
        io->due_ns = vmdkfs_now_ns () + (uint64_t) v.delay_ms * 1000000u;
      return vmdkfs_delayq_add (fs, io);
    }
  vmdkfs_io_submit (fs, io);
}

void
op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
         struct fuse_file_info *fi)
{
  struct vmdkfs_file *f = get_file (fi);
  struct vmdkfs_io *io;

  (void) ino;
  io = vmdkfs_io_new (req, VMDKFS_IO_READ, f->fd, off, size, size ? size : 1);
  if (!io)
    return (void) fuse_reply_err (req, ENOMEM);
  start_io (req_fs (req), f, io, FAULT_OP_READ);
}

void
op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
              off_t off, struct fuse_file_info *fi)
{
  struct vmdkfs_file *f = get_file (fi);
  size_t len = fuse_buf_size (in);
  struct fuse_bufvec dst = FUSE_BUFVEC_INIT (len);
  struct vmdkfs_io *io;
  ssize_t n;

  (void) ino;
  io = vmdkfs_io_new (req, VMDKFS_IO_WRITE, f->fd, off, len, len ? len : 1);
  if (!io)
    return (void) fuse_reply_err (req, ENOMEM);
  /* The request buffer belongs to this worker thread and is reused when
   * we return, while the io lives until its completion: one copy. */
  dst.buf[0].mem = io->buf;
  n = fuse_buf_copy (&dst, in, 0);
  if (n < 0)
    {
      vmdkfs_io_free (req_fs (req), io);
      return (void) fuse_reply_err (req, (int) -n);
    }
  io->len = (uint64_t) n;
  start_io (req_fs (req), f, io, FAULT_OP_WRITE);
}

void
op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync,
          struct fuse_file_info *fi)
{
  struct vmdkfs_file *f = get_file (fi);
  struct vmdkfs_io *io;

  (void) ino;
  io = vmdkfs_io_new (req, datasync ? VMDKFS_IO_FDATASYNC : VMDKFS_IO_FSYNC,
                      f->fd, 0, 0, 0);
  if (!io)
    return (void) fuse_reply_err (req, ENOMEM);
  start_io (req_fs (req), f, io, FAULT_OP_FSYNC);
}

void
op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
              struct fuse_file_info *fi)
{
  struct vmdkfs_file *f = get_file (fi);
  struct vmdkfs_io *io;

  (void) ino;
  io = vmdkfs_io_new (req, VMDKFS_IO_FALLOCATE, f->fd, off, (uint64_t) len, 0);
  if (!io)
    return (void) fuse_reply_err (req, ENOMEM);
  io->mode = mode;
  start_io (req_fs (req), f, io, FAULT_OP_WRITE);
}
