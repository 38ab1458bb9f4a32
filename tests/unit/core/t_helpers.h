/* Small helpers shared by the core and mock unit tests: temporary
 * directories under /tmp, whole-file reads and writes. */
#ifndef VDVS_T_HELPERS_H
#define VDVS_T_HELPERS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory /tmp/vdvs-unit-<what>.XXXXXX, written into buf. */
static inline void
t_mkdtemp (char *buf, size_t len, const char *what)
{
  snprintf (buf, len, "/tmp/vdvs-unit-%s.XXXXXX", what);
  cr_assert_not_null (mkdtemp (buf), "mkdtemp: %s", strerror (errno));
}

static inline int
t_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP)
    return rmdir (path);
  return unlink (path);
}

/* rm -rf, not following symbolic links or crossing mounts. */
static inline void
t_rmrf (const char *dir)
{
  if (dir[0] != '\0')
    nftw (dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static inline void
t_write_file (const char *path, const void *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert_geq (fd, 0, "open %s: %s", path, strerror (errno));
  cr_assert_eq (write (fd, data, len), (ssize_t) len);
  close (fd);
}

/* The whole file, NUL-terminated, malloc'd; *len gets its size. */
static inline char *
t_read_file (const char *path, size_t *len)
{
  struct stat st;
  char *buf;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  cr_assert_geq (fd, 0, "open %s: %s", path, strerror (errno));
  cr_assert_eq (fstat (fd, &st), 0);
  buf = malloc ((size_t) st.st_size + 1);
  cr_assert_not_null (buf);
  cr_assert_eq (read (fd, buf, (size_t) st.st_size), st.st_size);
  buf[st.st_size] = '\0';
  close (fd);
  if (len)
    *len = (size_t) st.st_size;
  return buf;
}

static inline bool
t_exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

#endif
