/* vmdkfs's metadata and directory ops: lookups, attributes, the namespace
 * (mknod, mkdir, symlink, link, unlink, rmdir, rename), statfs and
 * directory listing.  They run inline on the FUSE worker thread and reply
 * there; namespace and attribute changes pass the fault gate first. */
#include "ops_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

void
op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fuse_entry_param e;
  int err = do_lookup (req, parent, name, &e);

  if (err)
    fuse_reply_err (req, err);
  else
    fuse_reply_entry (req, &e);
}

void
op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  forget_one (req, ino, nlookup);
  fuse_reply_none (req);
}

void
op_forget_multi (fuse_req_t req, size_t count,
                 struct fuse_forget_data *forgets)
{
  for (size_t i = 0; i < count; i++)
    forget_one (req, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none (req);
}

void
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

void
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
      ret = ffd >= 0 ? fchmod (ffd, attr->st_mode)
                     : chmod (proc, attr->st_mode);
      if (ret < 0)
        return (void) fuse_reply_err (req, errno);
    }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
    {
      uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t) -1;
      gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t) -1;

      if (fchownat (ifd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
          < 0)
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

void
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

void
op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
          dev_t rdev)
{
  make_entry (req, parent, name, mode, rdev, NULL, "mknod");
}

void
op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  make_entry (req, parent, name, S_IFDIR | mode, 0, NULL, "mkdir");
}

void
op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent,
            const char *name)
{
  make_entry (req, parent, name, S_IFLNK, 0, link, "symlink");
}

void
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
              AT_SYMLINK_FOLLOW)
      < 0)
    return (void) fuse_reply_err (req, errno);
  if (fstatat (inode->fd, "", &e.attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
      < 0)
    return (void) fuse_reply_err (req, errno);
  pthread_mutex_lock (&fs->inode_lock);
  inode->nlookup++;
  pthread_mutex_unlock (&fs->inode_lock);
  e.ino = (uintptr_t) inode;
  fuse_reply_entry (req, &e);
}

void
op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  int dfd = get_inode (req, parent)->fd;
  int ret = meta_gate (req_fs (req), dfd, name, "unlink");

  if (ret == 0 && unlinkat (dfd, name, 0) < 0)
    ret = -errno;
  fuse_reply_err (req, -ret);
}

void
op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  int dfd = get_inode (req, parent)->fd;
  int ret = meta_gate (req_fs (req), dfd, name, "rmdir");

  if (ret == 0 && unlinkat (dfd, name, AT_REMOVEDIR) < 0)
    ret = -errno;
  fuse_reply_err (req, -ret);
}

void
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

void
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
  struct dirent *entry; /* read but not yet returned */
  off_t offset;
};

void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs_dir *d = calloc (1, sizeof *d);
  int fd, err;

  if (!d)
    return (void) fuse_reply_err (req, ENOMEM);
  fd = openat (get_inode (req, ino)->fd, ".",
               O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
  return name[0] == '.'
         && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
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

void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
            struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, offset, fi, false);
}

void
op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, offset, fi, true);
}

void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct vmdkfs_dir *d = (struct vmdkfs_dir *) (uintptr_t) fi->fh;

  (void) ino;
  closedir (d->dp);
  free (d);
  fuse_reply_err (req, 0);
}

void
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
