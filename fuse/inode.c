/* vmdkfs's backing inodes, as in libfuse's passthrough_ll: an O_PATH fd
 * per inode the kernel knows, with its lookup count, hashed in fs->buckets
 * under fs->inode_lock; freed when the kernel forgets the last lookup. */
#include "ops_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t
bucket_of (ino_t ino, dev_t dev)
{
  uint64_t h = (uint64_t) ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) dev;

  return (h >> 20) % VMDKFS_INODE_BUCKETS;
}

/* Lookup parent/name and take one lookup reference.  0 or positive errno
 * (the FUSE reply convention for the metadata side). */
int
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

  fd = openat (get_inode (req, parent)->fd, name,
               O_PATH | O_NOFOLLOW | O_CLOEXEC);
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

void
forget_one (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  unref_inode (req_fs (req), get_inode (req, ino), nlookup);
}
