/* Errno names of the control protocol: replies say "err EIO ..." and
 * rules say errno=ENOSPC.  A fixed table, no state, no locks. */
#include "errname.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const struct
{
  const char *name;
  int err;
} errno_names[] = {
  { "EIO", EIO },       { "ENOSPC", ENOSPC },
  { "EROFS", EROFS },   { "EDQUOT", EDQUOT },
  { "EPERM", EPERM },   { "EACCES", EACCES },
  { "ENOMEM", ENOMEM }, { "EAGAIN", EAGAIN },
  { "EINTR", EINTR },   { "ETIMEDOUT", ETIMEDOUT },
  { "ENXIO", ENXIO },   { "ENODEV", ENODEV },
  { "EBUSY", EBUSY },   { "EFBIG", EFBIG },
  { "ESTALE", ESTALE }, { "ENOTCONN", ENOTCONN },
  { "EINVAL", EINVAL }, { "ENOENT", ENOENT },
  { "EEXIST", EEXIST }, { "E2BIG", E2BIG },
  { "EPROTO", EPROTO }, { "ENAMETOOLONG", ENAMETOOLONG },
  { "ENOSYS", ENOSYS },
};

int
vmdkfs_errno_parse (const char *s)
{
  char *end;
  long v;

  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
    if (strcasecmp (s, errno_names[i].name) == 0)
      return errno_names[i].err;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end || v <= 0 || v > 4095)
    return -EINVAL;
  return (int) v;
}

const char *
vmdkfs_errno_name (int err)
{
  static __thread char buf[16];

  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
    if (errno_names[i].err == err)
      return errno_names[i].name;
  snprintf (buf, sizeof buf, "%d", err);
  return buf;
}
