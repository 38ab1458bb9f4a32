/* Client of the vmdkfs control socket; see ctl_client.h. */
#include "ctl_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "errname.h"

#define MAX_REPLY (1024 * 1024)

static int
local_error (char **reply_out, int err, const char *what, const char *path)
{
  if (reply_out
      && asprintf (reply_out, "%s `%s': %s", what, path, strerror (err)) < 0)
    *reply_out = NULL;
  return -err;
}

static int
write_all (int fd, const char *p, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      p += n;
      len -= n;
    }
  return 0;
}

int
vmdkfs_ctl_request (const char *sock_path, const char *line, char **reply_out)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct timeval tv = { 30, 0 };
  char *buf = NULL, *nl, *status;
  size_t len = 0, cap = 0;
  int fd, ret, err;

  if (reply_out)
    *reply_out = NULL;
  if (!sock_path)
    sock_path = VMDKFS_CTL_DEFAULT_PATH;
  if (strlen (sock_path) >= sizeof addr.sun_path)
    return local_error (reply_out, ENAMETOOLONG, "control socket", sock_path);
  if (strchr (line, '\n') && strchr (line, '\n')[1] != '\0')
    return local_error (reply_out, EINVAL, "multi-line request", line);
  strcpy (addr.sun_path, sock_path);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return local_error (reply_out, errno, "socket for", sock_path);
  /* A stalled vmdkfs must not hang the caller forever. */
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      err = errno;
      close (fd);
      return local_error (reply_out, err, "cannot connect to", sock_path);
    }
  ret = write_all (fd, line, strlen (line));
  if (ret == 0 && (!*line || line[strlen (line) - 1] != '\n'))
    ret = write_all (fd, "\n", 1);
  if (ret < 0)
    {
      close (fd);
      return local_error (reply_out, -ret, "cannot write to", sock_path);
    }
  shutdown (fd, SHUT_WR);

  for (;;)
    {
      ssize_t n;

      if (len + 4096 + 1 > cap)
        {
          char *nb;

          if (cap >= MAX_REPLY)
            break;
          cap = cap ? cap * 2 : 8192;
          nb = realloc (buf, cap);
          if (!nb)
            {
              free (buf);
              close (fd);
              return local_error (reply_out, ENOMEM, "reading", sock_path);
            }
          buf = nb;
        }
      n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          err = errno;
          free (buf);
          close (fd);
          return local_error (reply_out, err, "cannot read from", sock_path);
        }
      if (n == 0)
        break;
      len += n;
    }
  close (fd);
  if (!buf || len == 0)
    {
      free (buf);
      return local_error (reply_out, EPROTO, "empty reply from", sock_path);
    }
  buf[len] = '\0';

  nl = strchr (buf, '\n');
  if (nl)
    *nl = '\0';
  status = buf;
  if (strcmp (status, "ok") == 0)
    {
      if (reply_out)
        *reply_out = strdup (nl ? nl + 1 : "");
      free (buf);
      return 0;
    }
  if (strncmp (status, "err ", 4) == 0)
    {
      char *name = status + 4;
      char *msg = name + strcspn (name, " ");

      if (*msg)
        *msg++ = '\0';
      ret = vmdkfs_errno_parse (name);
      if (ret < 0)
        ret = EPROTO;
      if (reply_out)
        *reply_out = strdup (msg);
      free (buf);
      return -ret;
    }
  if (reply_out)
    *reply_out = strdup (status);
  free (buf);
  return -EPROTO;
}
