/* Small helpers shared by the core and mock unit tests: temporary
 * directories under /tmp, whole-file reads and writes, a child process
 * run step by step. */
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
#include <sys/wait.h>
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

/* A child process that runs step(n, arg) for n = 0, 1, ... each time the
 * parent calls t_child_step.  Start it before the test opens anything that
 * starts threads: a fork while another thread holds the allocator's lock
 * (ASan's has no fork handler) leaves the child hung. */
struct t_child
{
  pid_t pid;
  int go;   /* parent writes a byte per step; closed = stop */
  int done; /* child writes each step's result (0 = success) */
};

static inline void
t_child_start (struct t_child *c, int (*step) (int n, void *arg), void *arg)
{
  int go[2], done[2];

  cr_assert_eq (pipe2 (go, O_CLOEXEC), 0);
  cr_assert_eq (pipe2 (done, O_CLOEXEC), 0);
  c->pid = fork ();
  cr_assert_geq (c->pid, 0, "fork: %s", strerror (errno));
  if (c->pid == 0)
    {
      char b;
      close (go[1]);
      close (done[0]);
      for (int n = 0; read (go[0], &b, 1) == 1; n++)
        {
          b = (char) (step (n, arg) == 0 ? 0 : 1);
          if (write (done[1], &b, 1) != 1)
            _exit (1);
        }
      _exit (0);
    }
  close (go[0]);
  close (done[1]);
  c->go = go[1];
  c->done = done[0];
}

/* Run the child's next step; its result. */
static inline int
t_child_step (struct t_child *c)
{
  char b = 0;

  cr_assert_eq (write (c->go, &b, 1), 1);
  cr_assert_eq (read (c->done, &b, 1), 1, "the child died in its step");
  return b;
}

static inline void
t_child_stop (struct t_child *c)
{
  int st;

  close (c->go);
  close (c->done);
  cr_assert_eq (waitpid (c->pid, &st, 0), c->pid);
  cr_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0, "child status %d", st);
}

#endif
