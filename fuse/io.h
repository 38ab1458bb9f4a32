/* The I/O unit (io.c): allocate a data request, hand it to the engine,
 * and complete it with its FUSE reply.  Used by ops_file.c and delayq.c to
 * submit and by the engines to complete; it calls neither of them. */
#ifndef VMDKFS_IO_H
#define VMDKFS_IO_H

#include "engine.h"

#include <stdint.h>

struct vmdkfs;

/* CLOCK_MONOTONIC in ns: the clock of io->due_ns. */
uint64_t vmdkfs_now_ns (void);
const char *vmdkfs_io_op_name (enum vmdkfs_io_op op);

/* Allocate an io with a data buffer of `buflen` bytes (0 for none), from
 * the engine's pool when it has one free.  NULL when out of memory. */
struct vmdkfs_io *vmdkfs_io_new (fuse_req_t req, enum vmdkfs_io_op op, int fd,
                                 off_t off, uint64_t len, size_t buflen);
/* Free an io that was never submitted nor answered, giving its pooled
 * buffer back.  fs is passed in since io->req is gone once answered. */
void vmdkfs_io_free (struct vmdkfs *fs, struct vmdkfs_io *io);
/* Hand io to the engine, failing it if the engine refuses. */
void vmdkfs_io_submit (struct vmdkfs *fs, struct vmdkfs_io *io);
/* End an io: res >= 0 success (bytes for read/write), else -errno.  Sends
 * the reply, counts it, frees io.  Any thread. */
void vmdkfs_io_complete (struct vmdkfs_io *io, int64_t res);

#endif
