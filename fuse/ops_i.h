/* Shared by vmdkfs's FUSE op files: ops.c (the table, session set-up),
 * ops_meta.c, ops_file.c, inode.c and fault_gate.c.  The calls go one way:
 * ops.c names the ops; the op files call inode.c and fault_gate.c. */
#ifndef VMDKFS_OPS_I_H
#define VMDKFS_OPS_I_H

#include "vmdkfs.h"

#include <stdint.h>

_Static_assert(sizeof (fuse_ino_t) >= sizeof (uintptr_t),
               "fuse_ino_t must hold a pointer");

static inline struct vmdkfs *
req_fs (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

static inline struct vmdkfs_inode *
get_inode (fuse_req_t req, fuse_ino_t ino)
{
  if (ino == FUSE_ROOT_ID)
    return &req_fs (req)->root;
  return (struct vmdkfs_inode *) (uintptr_t) ino;
}

static inline struct vmdkfs_file *
get_file (struct fuse_file_info *fi)
{
  return (struct vmdkfs_file *) (uintptr_t) fi->fh;
}

/* inode.c */
/* Lookup parent/name and take one lookup reference.  0 or positive errno
 * (the FUSE reply convention for the metadata side). */
int do_lookup (fuse_req_t req, fuse_ino_t parent, const char *name,
               struct fuse_entry_param *e);
/* Drop nlookup lookup references of ino; the last frees the inode. */
void forget_one (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);

/* fault_gate.c */
/* Write the path of fd (plus "/name" when name is given) relative to
 * SOURCE into buf.  0 or -errno.  The root itself is "". */
int relpath_of (struct vmdkfs *fs, int fd, const char *name, char *buf,
                size_t len);
/* Count and log a fault injected into `op` on `path`. */
void log_injected (struct vmdkfs *fs, const struct fault_verdict *v,
                   const char *op, const char *path);
/* Check a namespace or attribute change on parent/name (name may be NULL:
 * the inode itself).  0, or -errno to reply with.  Delays are served by
 * sleeping here; stalls apply to data ops only. */
int meta_gate (struct vmdkfs *fs, int fd, const char *name, const char *op);

/* ops_meta.c: metadata and directories, for vmdkfs_ops. */
void op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name);
void op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void op_forget_multi (fuse_req_t req, size_t count,
                      struct fuse_forget_data *forgets);
void op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
                 struct fuse_file_info *fi);
void op_readlink (fuse_req_t req, fuse_ino_t ino);
void op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, dev_t rdev);
void op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode);
void op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent,
                 const char *name);
void op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
              const char *name);
void op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rename (fuse_req_t req, fuse_ino_t parent, const char *name,
                fuse_ino_t newparent, const char *newname, unsigned int flags);
void op_statfs (fuse_req_t req, fuse_ino_t ino);
void op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                 struct fuse_file_info *fi);
void op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                     struct fuse_file_info *fi);
void op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync,
                  struct fuse_file_info *fi);

/* ops_file.c: open files and data, for vmdkfs_ops. */
void op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_create (fuse_req_t req, fuse_ino_t parent, const char *name,
                mode_t mode, struct fuse_file_info *fi);
void op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
               struct fuse_file_info *fi);
void op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi);
void op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
                   off_t off, struct fuse_file_info *fi);
void op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync,
               struct fuse_file_info *fi);
void op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
                   off_t len, struct fuse_file_info *fi);

#endif
