/* File-system helpers shared by vdvsd, the backends, vmdkfs and vdvsctl
 * (declared in include/vdvs/fsutil.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "vdvs/fsutil.h"

int
vdvs_mkdir_p (const char *path, mode_t mode)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);

  if (len == 0 || len >= sizeof buf)
    return -ENAMETOOLONG;
  memcpy (buf, path, len + 1);
  /* Each parent in turn: mkdir(2) needs them to exist. */
  for (char *p = buf + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (buf, mode) < 0 && errno != EEXIST)
          return -errno;
        *p = '/';
      }
  if (mkdir (buf, mode) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

int
vdvs_mkdir_parent (const char *path, mode_t mode)
{
  char buf[PATH_MAX];
  char *slash;
  size_t len = strlen (path);

  if (len >= sizeof buf)
    return -ENAMETOOLONG;
  memcpy (buf, path, len + 1);
  slash = strrchr (buf, '/');
  if (!slash || slash == buf)
    return 0;
  *slash = '\0';
  return vdvs_mkdir_p (buf, mode);
}
