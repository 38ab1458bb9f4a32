/* vmdkfs-ioprobe: run one file syscall and report its exact result, for
 * the integration tests (tests/integration/30-vmdkfs-*.sh).
 *
 *   vmdkfs-ioprobe read FILE OFF LEN [direct]
 *   vmdkfs-ioprobe write FILE OFF LEN [BYTE] [direct]
 *   vmdkfs-ioprobe fsync FILE
 *   vmdkfs-ioprobe punch|zero|alloc FILE OFF LEN
 *   vmdkfs-ioprobe openw FILE
 *   vmdkfs-ioprobe writeloop FILE BLOCKS
 *   vmdkfs-ioprobe verify FILE BLOCKS
 *   vmdkfs-ioprobe ctl SOCKET WORDS...
 *
 * Prints "ok N" (bytes moved, or 0) and exits 0, or "err ENAME" and exits 1.
 * writeloop writes 1 MiB blocks of value (block % 251 + 1), fsyncs after
 * each and prints "synced I" for each block, until BLOCKS or an error;
 * verify checks that the first BLOCKS blocks hold that pattern.  ctl sends
 * WORDS as one control line to vmdkfs and prints the reply (exit 0 on
 * "ok"), so tests need no vdvsctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_client.h"

static const char *
ename (int err)
{
  static char buf[16];

  switch (err)
    {
    case EIO:
      return "EIO";
    case ENOSPC:
      return "ENOSPC";
    case EROFS:
      return "EROFS";
    case ENOTCONN:
      return "ENOTCONN";
    case ECONNABORTED:
      return "ECONNABORTED";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EINVAL:
      return "EINVAL";
    case EAGAIN:
      return "EAGAIN";
    case EDQUOT:
      return "EDQUOT";
    case ENODEV:
      return "ENODEV";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    }
  snprintf (buf, sizeof buf, "%d", err);
  return buf;
}

static int
report (long long res)
{
  if (res < 0)
    {
      printf ("err %s\n", ename ((int) -res));
      return 1;
    }
  printf ("ok %lld\n", res);
  return 0;
}

static void *
aligned_buf (size_t len, int byte)
{
  void *p;

  if (posix_memalign (&p, 4096, len ? len : 1) != 0)
    {
      perror ("posix_memalign");
      exit (2);
    }
  memset (p, byte, len);
  return p;
}

static int
open_or_report (const char *path, int flags)
{
  int fd = open (path, flags);

  if (fd < 0)
    exit (report (-errno));
  return fd;
}

int
main (int argc, char **argv)
{
  const char *op, *path;
  long long off = 0, len = 0;
  int fd, flags = 0;
  ssize_t n;
  void *buf;

  if (argc < 3)
    {
      fprintf (stderr, "usage: see the comment at the top of ioprobe.c\n");
      return 2;
    }
  op = argv[1];
  path = argv[2];
  if (argc >= 5)
    {
      off = strtoll (argv[3], NULL, 0);
      len = strtoll (argv[4], NULL, 0);
    }
  for (int i = 5; i < argc; i++)
    if (strcmp (argv[i], "direct") == 0)
      flags |= O_DIRECT;

  if (strcmp (op, "read") == 0 && argc >= 5)
    {
      fd = open_or_report (path, O_RDONLY | flags);
      buf = aligned_buf (len, 0);
      n = pread (fd, buf, len, off);
      return report (n < 0 ? -errno : n);
    }
  if (strcmp (op, "write") == 0 && argc >= 5)
    {
      int byte = argc >= 6 && strcmp (argv[5], "direct") ? atoi (argv[5])
                                                         : 0xab;

      fd = open_or_report (path, O_WRONLY | flags);
      buf = aligned_buf (len, byte);
      n = pwrite (fd, buf, len, off);
      return report (n < 0 ? -errno : n);
    }
  if (strcmp (op, "fsync") == 0)
    {
      fd = open_or_report (path, O_WRONLY);
      return report (fsync (fd) < 0 ? -errno : 0);
    }
  if ((strcmp (op, "punch") == 0 || strcmp (op, "zero") == 0
       || strcmp (op, "alloc") == 0)
      && argc >= 5)
    {
      int mode = 0;

      if (strcmp (op, "punch") == 0)
        mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
      else if (strcmp (op, "zero") == 0)
        mode = FALLOC_FL_ZERO_RANGE;
      fd = open_or_report (path, O_WRONLY);
      return report (fallocate (fd, mode, off, len) < 0 ? -errno : 0);
    }
  if (strcmp (op, "openw") == 0)
    {
      fd = open (path, O_WRONLY);
      return report (fd < 0 ? -errno : 0);
    }
  if (strcmp (op, "writeloop") == 0 && argc >= 4)
    {
      long long blocks = strtoll (argv[3], NULL, 0);
      const size_t bs = 1024 * 1024;

      setvbuf (stdout, NULL, _IOLBF, 0);
      fd = open (path, O_WRONLY | O_CREAT, 0644);
      if (fd < 0)
        return report (-errno);
      buf = aligned_buf (bs, 0);
      for (long long i = 0; i < blocks; i++)
        {
          memset (buf, (int) (i % 251 + 1), bs);
          n = pwrite (fd, buf, bs, i * (long long) bs);
          if (n < 0)
            return report (-errno);
          if ((size_t) n != bs)
            return report (-EIO);
          if (fsync (fd) < 0)
            return report (-errno);
          printf ("synced %lld\n", i);
        }
      return report (0);
    }
  if (strcmp (op, "verify") == 0 && argc >= 4)
    {
      long long blocks = strtoll (argv[3], NULL, 0);
      const size_t bs = 1024 * 1024;
      char *want = aligned_buf (bs, 0);

      fd = open_or_report (path, O_RDONLY);
      buf = aligned_buf (bs, 0);
      for (long long i = 0; i < blocks; i++)
        {
          memset (want, (int) (i % 251 + 1), bs);
          n = pread (fd, buf, bs, i * (long long) bs);
          if (n < 0)
            return report (-errno);
          if ((size_t) n != bs || memcmp (buf, want, bs) != 0)
            {
              printf ("mismatch block %lld\n", i);
              return 1;
            }
        }
      return report (blocks);
    }
  if (strcmp (op, "ctl") == 0 && argc >= 4)
    {
      char line[4096] = "", *reply = NULL;
      int ret;

      for (int i = 3; i < argc; i++)
        {
          if (strlen (line) + strlen (argv[i]) + 2 > sizeof line)
            return 2;
          if (i > 3)
            strcat (line, " ");
          strcat (line, argv[i]);
        }
      ret = vmdkfs_ctl_request (path, line, &reply);
      if (ret < 0)
        fprintf (stderr, "ctl: %s\n", reply ? reply : strerror (-ret));
      else if (reply)
        fputs (reply, stdout);
      free (reply);
      return ret < 0;
    }
  fprintf (stderr, "ioprobe: bad arguments for `%s'\n", op);
  return 2;
}
