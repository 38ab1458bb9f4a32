/* Small file-system helpers every program and backend shares. */
#ifndef VDVS_FSUTIL_H
#define VDVS_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: create `path` and its missing parents with `mode`; existing
 * directories are fine.  0 or -errno (-ENAMETOOLONG beyond PATH_MAX,
 * -ENOTDIR when a component is a file). */
int vdvs_mkdir_p (const char *path, mode_t mode);
/* vdvs_mkdir_p of the directory that holds `path` (a socket, a pidfile);
 * nothing to do for a bare name or a file in "/". */
int vdvs_mkdir_parent (const char *path, mode_t mode);

#endif
