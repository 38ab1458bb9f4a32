/* vmdkfs FUSE low-level operations: a passthrough of SOURCE in the manner
 * of libfuse's example/passthrough_ll.c (O_PATH inode fds, lookup counts),
 * with file data routed through the I/O engine and every op checked
 * against the fault rules first.
 *
 * Metadata ops run inline on the FUSE worker thread and reply there; data
 * ops (read, write, fsync, fallocate) become a `struct vmdkfs_io` that the
 * engine completes, possibly on another thread.
 *
 * This file holds the session set-up and the table of ops; the ops are in
 * ops_meta.c (metadata, directories) and ops_file.c (open files, data),
 * over inode.c (backing inodes) and fault_gate.c (fault rule checks).
 */
#include "ops_i.h"

#include <stdlib.h>
#include <unistd.h>

#include "vdvs/log.h"

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
