/* Control-path errors (crun style): a status plus a message meant for the
 * user, returned up the stack instead of logged where they happen. */
#ifndef VDVS_ERROR_H
#define VDVS_ERROR_H

#include "vdvs/attr.h"

/* An error: errno-like status plus a malloc'd message meant for the user.
 * Owned by whoever holds the pointer; free with vdvs_error_release(). */
struct vdvs_error
{
  int status;
  char *msg;
};
typedef struct vdvs_error *vdvs_error_t;

/* Fill *err (which must be NULL) with a formatted message and status.
 * Always returns a negative value (-status, or -EIO when status is 0) so
 * that call sites read `return vdvs_error_set (err, EINVAL, "...")`. */
int vdvs_error_set (vdvs_error_t *err, int status, const char *fmt, ...)
    VDVS_PRINTF (3, 4);
/* Prefix the existing message with "<context>: ". Returns the same negative
 * value as vdvs_error_set. */
int vdvs_error_wrap (vdvs_error_t *err, const char *fmt, ...)
    VDVS_PRINTF (2, 3);
/* Free the error and set *err to NULL; NULL-safe. */
void vdvs_error_release (vdvs_error_t *err);

#endif
