/* vmdkfs FUSE low-level operations: a passthrough of SOURCE in the manner
 * of libfuse's example/passthrough_ll.c (O_PATH inode fds, lookup counts),
 * with file data routed through the I/O engine and every op checked
 * against the fault rules first.
 *
 * Metadata ops run inline on the FUSE worker thread and reply there; data
 * ops (read, write, fsync, fallocate) become a `struct vmdkfs_io` that the
 * engine completes, possibly on another thread.
 */
#include "vmdkfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "errname.h"

_Static_assert (sizeof (fuse_ino_t) >= sizeof (uintptr_t),
                "fuse_ino_t must hold a pointer");

static struct vmdkfs *
req_fs (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

static struct vmdkfs_inode *
get_inode (fuse_req_t req, fuse_ino_t ino)
{
  if (ino == FUSE_ROOT_ID)
    return &req_fs (req)->root;
  return (struct vmdkfs_inode *) (uintptr_t) ino;
}

static struct vmdkfs_file *
get_file (struct fuse_file_info *fi)
{
  return (struct vmdkfs_file *) (uintptr_t) fi->fh;
}

/* ------------------------------------------------------------------ */
/* Paths relative to SOURCE, for fault matching.                      */

/* Write the path of fd (plus "/name" when name is given) relative to
 * SOURCE into buf.  0 or -errno.  The root itself is "". */
static int
relpath_of (struct vmdkfs *fs, int fd, const char *name, char *buf, size_t len)
{
  char proc[64], target[PATH_MAX];
  const char *rel;
  ssize_t n;
  int w;

  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  n = readlink (proc, target, sizeof target - 1);
  if (n < 0)
    return -errno;
  target[n] = '\0';
  if (strncmp (target, fs->source, fs->source_len) != 0)
    return -EXDEV;
  rel = target + fs->source_len;
  while (*rel == '/')
    rel++;
  if (name)
    w = snprintf (buf, len, "%s%s%s", rel, *rel ? "/" : "", name);
  else
    w = snprintf (buf, len, "%s", rel);
  return w < 0 || (size_t) w >= len ? -ENAMETOOLONG : 0;
}

static void
log_injected (struct vmdkfs *fs, const struct fault_verdict *v, const char *op,
              const char *path)
{
  atomic_fetch_add (&fs->stats.injected, 1);
  if (v->err)
    vdvs_log (VDVS_LOG_WARN, "Fault injected", "id=%s op=%s path=%s errno=%s",
              v->id, op, path, vmdkfs_errno_name (v->err));
  else if (v->hold)
    vdvs_log (VDVS_LOG_WARN, "Fault injected", "id=%s op=%s path=%s stall=1",
              v->id, op, path);
  else
    vdvs_log (VDVS_LOG_DEBUG, "Fault injected", "id=%s op=%s path=%s ms=%u",
              v->id, op, path, v->delay_ms);
}

/* Check a namespace or attribute change on parent/name (name may be NULL:
 * the inode itself).  0, or -errno to reply with.  Delays are served by
 * sleeping here; stalls apply to data ops only. */
static int
meta_gate (struct vmdkfs *fs, int fd, const char *name, const char *op)
{
  char rel[PATH_MAX];
  struct fault_verdict v;

  if (atomic_load_explicit (&fs->faults.nrules, memory_order_relaxed) == 0)
    return 0;
  if (relpath_of (fs, fd, name, rel, sizeof rel) < 0)
    return 0;
  if (!fault_check (&fs->faults, rel, FAULT_OP_META, &v))
    return 0;
  log_injected (fs, &v, op, rel);
  if (v.err)
    return -v.err;
  if (v.delay_ms)
    {
      struct timespec ts = { v.delay_ms / 1000, (v.delay_ms % 1000) * 1000000L };
      while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
    }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Inodes.                                                            */

static size_t
bucket_of (ino_t ino, dev_t dev)
{
  uint64_t h = (uint64_t) ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) dev;

  return (h >> 20) % VMDKFS_INODE_BUCKETS;
}

/* Lookup parent/name and take one lookup reference.  0 or positive errno
 * (the FUSE reply convention for the metadata side). */
static int
do_lookup (fuse_req_t req, fuse_ino_t parent, const char *name,
           struct fuse_entry_param *e)
{
  struct vmdkfs *fs = req_fs (req);
  struct vmdkfs_inode *inode, *fresh = NULL;
  size_t b;
  int fd, err;

  memset (e, 0, sizeof *e);
  e->attr_timeout = fs->timeout;
  /* Names are never cached: the mock, other VMs and admins create and
   * remove files in the backing tree behind our back, and a cached name
   * would open a deleted extent in place of the new one. */
  e->entry_timeout = 0;

  fd = openat (get_inode (req, parent)->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno;
  if (fstatat (fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    {
      err = errno;
      close (fd);
      return err;
    }

  b = bucket_of (e->attr.st_ino, e->attr.st_dev);
  pthread_mutex_lock (&fs->inode_lock);
  for (inode = fs->buckets[b]; inode; inode = inode->hnext)
    if (inode->ino == e->attr.st_ino && inode->dev == e->attr.st_dev)
      break;
  if (inode)
    inode->nlookup++;
  else
    {
      fresh = calloc (1, sizeof *fresh);
      if (fresh)
        {
          fresh->fd = fd;
          fresh->ino = e->attr.st_ino;
          fresh->dev = e->attr.st_dev;
          fresh->nlookup = 1;
          fresh->hnext = fs->buckets[b];
          fs->buckets[b] = fresh;
          inode = fresh;
        }
    }
  pthread_mutex_unlock (&fs->inode_lock);
  if (!inode)
    {
      close (fd);
      return ENOMEM;
    }
  if (inode != fresh)
    close (fd);
  e->ino = (uintptr_t) inode;
  return 0;
}

static void
unref_inode (struct vmdkfs *fs, struct vmdkfs_inode *inode, uint64_t n)
{
  struct vmdkfs_inode **p;
  bool gone = false;

  if (inode == &fs->root)
    return;
  pthread_mutex_lock (&fs->inode_lock);
  inode->nlookup = inode->nlookup > n ? inode->nlookup - n : 0;
  if (inode->nlookup == 0)
    {
      for (p = &fs->buckets[bucket_of (inode->ino, inode->dev)]; *p;
           p = &(*p)->hnext)
        if (*p == inode)
          {
            *p = inode->hnext;
            break;
          }
      gone = true;
    }
  pthread_mutex_unlock (&fs->inode_lock);
  if (gone)
    {
      close (inode->fd);
      free (inode);
    }
}

/* ------------------------------------------------------------------ */
/* Session set-up.                                                    */

static void
op_init (void *userdata, struct fuse_conn_info *conn)
{
  struct vmdkfs *fs = userdata;

  /* Large requests: the loop device sends up to max_pages * 4 KiB per
   * direct I/O; libfuse caps max_write at its buffer (256 pages). */
  conn->max_write = fs->max_write;
  /* Loop's async direct I/O counts as background requests, and the
   * default limit (12) would cap the queue depth a client reaches. */
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_ASYNC_DIO)
    conn->want |= FUSE_CAP_ASYNC_DIO;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
    conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  /* Splice would hand us pipe buffers that we copy anyway. */
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE
                  | FUSE_CAP_SPLICE_MOVE);
  if (fs->cache == VMDKFS_CACHE_WRITEBACK
      && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  vdvs_log (VDVS_LOG_INFO, "FUSE session initialised",
            "proto=%u.%u max_write=%u max_readahead=%u max_background=%u "
            "congestion_threshold=%u writeback=%d",
            conn->proto_major, conn->proto_minor, conn->max_write,
            conn->max_readahead, conn->max_background,
            conn->congestion_threshold,
            (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0);
}

static void
op_destroy (void *userdata)
{
  struct vmdkfs *fs = userdata;
  struct vmdkfs_inode *inode, *next;

  pthread_mutex_lock (&fs->inode_lock);
  for (size_t b = 0; b < VMDKFS_INODE_BUCKETS; b++)
    {
      for (inode = fs->buckets[b]; inode; inode = next)
        {
          next = inode->hnext;
          close (inode->fd);
          free (inode);
        }
      fs->buckets[b] = NULL;
    }
  pthread_mutex_unlock (&fs->inode_lock);
}

/* ------------------------------------------------------------------ */
/* Metadata.                                                          */

static void
op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fuse_entry_param e;
  int err = do_lookup (req, parent, name, &e);

  if (err)
    fuse_reply_err (req, err);
  else
    fuse_reply_entry (req, &e);
}

static void
forget_one (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  unref_inode (req_fs (req), get_inode (req, ino), nlookup);
}

static void
op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  forget_one (req, ino, nlookup);
  fuse_reply_none (req);
}

static void
op_forget_multi (fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  for (size_t i = 0; i < count; i++)
    forget_one (req, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none (req);
}

static void
op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct stat st;
  int ret;

  /* fstat of the backing file: sizes and st_blocks are the real ones. */
  if (fi)
    ret = fstat (get_file (fi)->fd, &st);
  else
    ret = fstatat (get_inode (req, ino)->fd, "", &st,
                   AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  if (ret < 0)
    return (void) fuse_reply_err (req, errno);
  fuse_reply_attr (req, &st, req_fs (req)->timeout);
}

static void
op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
            struct fuse_file_info *fi)
{
  struct vmdkfs_inode *inode = get_inode (req, ino);
  int ifd = inode->fd;
  int ffd = fi ? get_file (fi)->fd : -1;
  char proc[64];
  int ret;

  ret = meta_gate (req_fs (req), ifd, NULL, "setattr");
  if (ret < 0)
    return (void) fuse_reply_err (req, -ret);
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", ifd);

  if (valid & FUSE_SET_ATTR_MODE)
    {
      ret = ffd >= 0 ? fchmod (ffd, attr->st_mode) : chmod (proc, attr->st_mode);
      if (ret < 0)
        return (void) fuse_reply_err (req, errno);
    }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
    {
      uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t) -1;
      gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t) -1;

      if (fchownat (ifd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return (void) fuse_reply_err (req, errno);
    }
  if (valid & FUSE_SET_ATTR_SIZE)
    {
      ret = ffd >= 0 ? ftruncate (ffd, attr->st_size)
                     : truncate (proc, attr->st_size);
      if (ret < 0)
        return (void) fuse_reply_err (req, errno);
    }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
    {
      struct timespec tv[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

      if (valid & FUSE_SET_ATTR_ATIME_NOW)
        tv[0].tv_nsec = UTIME_NOW;
      else if (valid & FUSE_SET_ATTR_ATIME)
        tv[0] = attr->st_atim;
      if (valid & FUSE_SET_ATTR_MTIME_NOW)
        tv[1].tv_nsec = UTIME_NOW;
      else if (valid & FUSE_SET_ATTR_MTIME)
        tv[1] = attr->st_mtim;
      ret = ffd >= 0 ? futimens (ffd, tv) : utimensat (AT_FDCWD, proc, tv, 0);
      if (ret < 0)
        return (void) fuse_reply_err (req, errno);
    }
  op_getattr (req, ino, fi);
}

static void
op_readlink (fuse_req_t req, fuse_ino_t ino)
{
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat (get_inode (req, ino)->fd, "", buf, sizeof buf);

  if (n < 0)
    return (void) fuse_reply_err (req, errno);
  if ((size_t) n == sizeof buf)
    return (void) fuse_reply_err (req, ENAMETOOLONG);
  buf[n] = '\0';
  fuse_reply_readlink (req, buf);
}

/* mkdir, mknod and symlink: make the entry, then look it up. */
static void
make_entry (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
            dev_t rdev, const char *link, const char *opname)
{
  int dfd = get_inode (req, parent)->fd;
  struct fuse_entry_param e;
  int ret, err;

  ret = meta_gate (req_fs (req), dfd, name, opname);
  if (ret < 0)
    return (void) fuse_reply_err (req, -ret);
  if (link)
    ret = symlinkat (link, dfd, name);
  else if (S_ISDIR (mode))
    ret = mkdirat (dfd, name, mode & 07777);
  else
    ret = mknodat (dfd, name, mode, rdev);
  if (ret < 0)
    return (void) fuse_reply_err (req, errno);
  err = do_lookup (req, parent, name, &e);
  if (err)
    fuse_reply_err (req, err);
  else
    fuse_reply_entry (req, &e);
}

static void
op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
          dev_t rdev)
{
  make_entry (req, parent, name, mode, rdev, NULL, "mknod");
}

static void
op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  make_entry (req, parent, name, S_IFDIR | mode, 0, NULL, "mkdir");
}

static void
op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent,
            const char *name)
{
  make_entry (req, parent, name, S_IFLNK, 0, link, "symlink");
}

static void
op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
  struct vmdkfs *fs = req_fs (req);
  struct vmdkfs_inode *inode = get_inode (req, ino);
  struct fuse_entry_param e;
  char proc[64];
  int ret;

  ret = meta_gate (fs, get_inode (req, parent)->fd, name, "link");
  if (ret < 0)
    return (void) fuse_reply_err (req, -ret);
  memset (&e, 0, sizeof e);
  e.attr_timeout = fs->timeout;
  e.entry_timeout = 0; /* as in do_lookup */
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", inode->fd);
  if (linkat (AT_FDCWD, proc, get_inode (req, parent)->fd, name,
              AT_SYMLINK_FOLLOW) < 0)
    return (void) fuse_reply_err (req, errno);
  if (fstatat (inode->fd, "", &e.attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return (void) fuse_reply_err (req, errno);
  pthread_mutex_lock (&fs->inode_lock);
  inode->nlookup++;
  pthread_mutex_unlock (&fs->inode_lock);
  e.ino = (uintptr_t) inode;
  fuse_reply_entry (req, &e);
}

static void
op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  int dfd = get_inode (req, parent)->fd;
  int ret = meta_gate (req_fs (req), dfd, name, "unlink");

  if (ret == 0 && unlinkat (dfd, name, 0) < 0)
    ret = -errno;
  fuse_reply_err (req, -ret);
}

static void
op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  int dfd = get_inode (req, parent)->fd;
  int ret = meta_gate (req_fs (req), dfd, name, "rmdir");

  if (ret == 0 && unlinkat (dfd, name, AT_REMOVEDIR) < 0)
    ret = -errno;
  fuse_reply_err (req, -ret);
}

static void
op_rename (fuse_req_t req, fuse_ino_t parent, const char *name,
           fuse_ino_t newparent, const char *newname, unsigned int flags)
{
  int dfd = get_inode (req, parent)->fd;
  int ndfd = get_inode (req, newparent)->fd;
  int ret = meta_gate (req_fs (req), dfd, name, "rename");

  if (ret == 0)
    ret = meta_gate (req_fs (req), ndfd, newname, "rename");
  if (ret == 0 && renameat2 (dfd, name, ndfd, newname, flags) < 0)
    ret = -errno;
  fuse_reply_err (req, -ret);
}

static void
op_statfs (fuse_req_t req, fuse_ino_t ino)
{
  struct statvfs st;

  if (fstatvfs (get_inode (req, ino)->fd, &st) < 0)
    return (void) fuse_reply_err (req, errno);
  fuse_reply_statfs (req, &st);
}

/* ------------------------------------------------------------------ */
/* Directories.                                                       */

struct vmdkfs_dir
{
  DIR *dp;
  struct dirent *entry;        /* read but not yet returned */
  off_t offset;
};

static void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs_dir *d = calloc (1, sizeof *d);
  int fd, err;

  if (!d)
    return (void) fuse_reply_err (req, ENOMEM);
  fd = openat (get_inode (req, ino)->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || !(d->dp = fdopendir (fd)))
    {
      err = errno;
      if (fd >= 0)
        close (fd);
      free (d);
      return (void) fuse_reply_err (req, err);
    }
  fi->fh = (uintptr_t) d;
  fuse_reply_open (req, fi);
}

static bool
is_dot (const char *name)
{
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void
do_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
            struct fuse_file_info *fi, bool plus)
{
  struct vmdkfs_dir *d = (struct vmdkfs_dir *) (uintptr_t) fi->fh;
  size_t rem = size;
  char *buf, *p;
  int err = 0;

  buf = calloc (1, size);
  if (!buf)
    return (void) fuse_reply_err (req, ENOMEM);
  p = buf;
  if (offset != d->offset)
    {
      seekdir (d->dp, offset);
      d->entry = NULL;
      d->offset = offset;
    }
  for (;;)
    {
      fuse_ino_t entry_ino = 0;
      size_t entsize;
      off_t nextoff;
      const char *name;

      if (!d->entry)
        {
          errno = 0;
          d->entry = readdir (d->dp);
          if (!d->entry)
            {
              err = errno;
              break;
            }
        }
      nextoff = d->entry->d_off;
      name = d->entry->d_name;
      if (plus)
        {
          struct fuse_entry_param e;

          if (is_dot (name))
            {
              memset (&e, 0, sizeof e);
              e.attr.st_ino = d->entry->d_ino;
              e.attr.st_mode = d->entry->d_type << 12;
            }
          else
            {
              err = do_lookup (req, ino, name, &e);
              if (err)
                break;
              entry_ino = e.ino;
            }
          entsize = fuse_add_direntry_plus (req, p, rem, name, &e, nextoff);
        }
      else
        {
          struct stat st = { .st_ino = d->entry->d_ino,
                             .st_mode = d->entry->d_type << 12 };

          entsize = fuse_add_direntry (req, p, rem, name, &st, nextoff);
        }
      if (entsize > rem)
        {
          /* Did not fit: undo the lookup the kernel will never see. */
          if (entry_ino)
            forget_one (req, entry_ino, 1);
          break;
        }
      p += entsize;
      rem -= entsize;
      d->entry = NULL;
      d->offset = nextoff;
    }
  /* An error can only be reported while the buffer is empty: entries
   * already added carry lookup counts the kernel must receive. */
  if (err && rem == size)
    fuse_reply_err (req, err);
  else
    fuse_reply_buf (req, buf, size - rem);
  free (buf);
}

static void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
            struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, offset, fi, false);
}

static void
op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, offset, fi, true);
}

static void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs_dir *d = (struct vmdkfs_dir *) (uintptr_t) fi->fh;

  (void) ino;
  closedir (d->dp);
  free (d);
  fuse_reply_err (req, 0);
}

static void
op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync,
             struct fuse_file_info *fi)
{
  struct vmdkfs_dir *d = (struct vmdkfs_dir *) (uintptr_t) fi->fh;
  int fd = dirfd (d->dp);
  int ret;

  (void) ino;
  ret = datasync ? fdatasync (fd) : fsync (fd);
  fuse_reply_err (req, ret < 0 ? errno : 0);
}

/* ------------------------------------------------------------------ */
/* Open files.                                                        */

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

static void
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

static void
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

static void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs_file *f = get_file (fi);

  (void) ino;
  file_free (f);
  fuse_reply_err (req, 0);
}

static void
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

static void
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
  if (f->fd_buffered >= 0 && (io->op == VMDKFS_IO_READ || io->op == VMDKFS_IO_WRITE)
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

static void
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

static void
op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
              struct fuse_file_info *fi)
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

static void
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

static void
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

const struct fuse_lowlevel_ops vmdkfs_ops = {
  .init = op_init,
  .destroy = op_destroy,
  .lookup = op_lookup,
  .forget = op_forget,
  .forget_multi = op_forget_multi,
  .getattr = op_getattr,
  .setattr = op_setattr,
  .readlink = op_readlink,
  .mknod = op_mknod,
  .mkdir = op_mkdir,
  .symlink = op_symlink,
  .link = op_link,
  .unlink = op_unlink,
  .rmdir = op_rmdir,
  .rename = op_rename,
  .statfs = op_statfs,
  .opendir = op_opendir,
  .readdir = op_readdir,
  .readdirplus = op_readdirplus,
  .releasedir = op_releasedir,
  .fsyncdir = op_fsyncdir,
  .open = op_open,
  .create = op_create,
  .release = op_release,
  .flush = op_flush,
  .lseek = op_lseek,
  .read = op_read,
  .write_buf = op_write_buf,
  .fsync = op_fsync,
  .fallocate = op_fallocate,
};
