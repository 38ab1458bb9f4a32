/* Errno names of the vmdkfs control protocol (errname.c), shared by the
 * daemon, the fault rules' parser and the control client. */
#ifndef VMDKFS_ERRNAME_H
#define VMDKFS_ERRNAME_H

/* "EIO" (any case) or a decimal errno in 1..4095 -> the errno; else
 * -EINVAL. */
int vmdkfs_errno_parse (const char *s);
/* The name of err, or its number when the table lacks it (thread-local
 * buffer). */
const char *vmdkfs_errno_name (int err);

#endif
