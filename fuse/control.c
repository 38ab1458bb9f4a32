/* The control socket: a unix stream socket (mode 0600) that takes one
 * request line per connection and answers with a status line and a body,
 * then closes.  See ctl_client.h for the protocol. */
#include "vmdkfs.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vdvs/log.h"

#include "errname.h"
#include "fault_ctl.h"

#define MAX_LINE 4096

struct vmdkfs_control
{
  struct vmdkfs *fs;
  int listen_fd;
  int stop_pipe[2]; /* written once to stop the thread */
  char *path;
  pthread_t thread;
};

static char *
reply_text (int ret, const char *body)
{
  char *s = NULL;
  int n;

  if (ret == 0)
    n = asprintf (&s, "ok\n%s", body ? body : "");
  else
    n = asprintf (&s, "err %s %s\n", vmdkfs_errno_name (-ret),
                  body && *body ? body : strerror (-ret));
  return n < 0 ? NULL : s;
}

static char *
stats_text (struct vmdkfs *fs)
{
  char *s = NULL;

  if (asprintf (&s,
                "engine=%s reads=%" PRIu64 " writes=%" PRIu64
                " read_bytes=%" PRIu64 " write_bytes=%" PRIu64
                " fsyncs=%" PRIu64 " fallocates=%" PRIu64 " errors=%" PRIu64
                " injected=%" PRIu64 " inflight=%u parked=%u rules=%u\n",
                fs->engine_ops->name,
                (uint64_t) atomic_load (&fs->stats.reads),
                (uint64_t) atomic_load (&fs->stats.writes),
                (uint64_t) atomic_load (&fs->stats.read_bytes),
                (uint64_t) atomic_load (&fs->stats.write_bytes),
                (uint64_t) atomic_load (&fs->stats.fsyncs),
                (uint64_t) atomic_load (&fs->stats.fallocates),
                (uint64_t) atomic_load (&fs->stats.errors),
                (uint64_t) atomic_load (&fs->stats.injected),
                fs->engine_ops->inflight (fs->engine),
                vmdkfs_delayq_count (fs), atomic_load (&fs->faults.nrules))
      < 0)
    return NULL;
  return s;
}

static const char help_text[] =
    "ping\n"
    "stats\n"
    "fault add [id=ID] path=GLOB|ds=DS errno=EIO|ENOSPC|... [op=read|write|rw|fsync|meta|all]"
    " [rate=0.25|25%] [after=N] [trigger=on|off]\n"
    "fault trigger ID on|off\n"
    "fault delay [id=ID] path=GLOB|ds=DS ms=N [op=...]\n"
    "fault stall [id=ID] path=GLOB|ds=DS [op=...]\n"
    "fault release [ID]\n"
    "fault readonly ds=DS on|off\n"
    "fault clear [ID]\n"
    "fault list\n";

char *
vmdkfs_control_exec (struct vmdkfs *fs, const char *line)
{
  char *body = NULL, *out;
  size_t n;
  int ret;

  while (*line == ' ' || *line == '\t')
    line++;
  n = strcspn (line, " \t\r\n");
  if (n == 4 && strncmp (line, "ping", 4) == 0)
    return reply_text (0, "pong\n");
  if (n == 4 && strncmp (line, "help", 4) == 0)
    return reply_text (0, help_text);
  if (n == 5 && strncmp (line, "stats", 5) == 0)
    {
      body = stats_text (fs);
      out = reply_text (body ? 0 : -ENOMEM, body);
      free (body);
      return out;
    }
  if (n == 5 && strncmp (line, "fault", 5) == 0)
    {
      ret = fault_control (&fs->faults, line + 5, &body);
      /* Rule changes are worth a line in the log; polling `list` is not. */
      const char *verb = line + 5 + strspn (line + 5, " \t");
      bool quiet = ret == 0 && strncmp (verb, "list", 4) == 0;

      vdvs_log (quiet      ? VDVS_LOG_DEBUG
                : ret == 0 ? VDVS_LOG_INFO
                           : VDVS_LOG_WARN,
                "Control request", "request=\"%.*s\" result=%s",
                (int) strcspn (line, "\r\n"), line,
                ret == 0 ? "ok" : vmdkfs_errno_name (-ret));
      out = reply_text (ret, body);
      free (body);
      return out;
    }
  return reply_text (-EINVAL, "unknown request; try `help'");
}

static void
serve_one (struct vmdkfs_control *c, int fd)
{
  struct timeval tv = { 5, 0 };
  char line[MAX_LINE + 1];
  size_t len = 0;
  char *reply;
  ssize_t n;

  /* A client that connects and says nothing must not block the others
   * for long. */
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  while (len < MAX_LINE)
    {
      n = read (fd, line + len, MAX_LINE - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += n;
      if (memchr (line + len - n, '\n', n))
        break;
    }
  line[len] = '\0';
  line[strcspn (line, "\n")] = '\0';
  if (len >= MAX_LINE)
    reply = reply_text (-E2BIG, "request line too long");
  else
    reply = vmdkfs_control_exec (c->fs, line);
  if (reply)
    {
      size_t off = 0, total = strlen (reply);

      while (off < total)
        {
          n = send (fd, reply + off, total - off, MSG_NOSIGNAL);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          off += n;
        }
      free (reply);
    }
}

static void *
control_main (void *arg)
{
  struct vmdkfs_control *c = arg;
  struct pollfd pfd[2] = { { c->listen_fd, POLLIN, 0 },
                           { c->stop_pipe[0], POLLIN, 0 } };
  int fd;

  for (;;)
    {
      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          vdvs_log (VDVS_LOG_ERROR, "Control socket poll failed", "errno=%d",
                    errno);
          return NULL;
        }
      if (pfd[1].revents)
        return NULL;
      if (!(pfd[0].revents & POLLIN))
        continue;
      fd = accept4 (c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      serve_one (c, fd);
      close (fd);
    }
}

int
vmdkfs_control_start (struct vmdkfs *fs, const char *path,
                      struct vmdkfs_control **out)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct vmdkfs_control *c;
  mode_t old;
  int ret;

  if (strlen (path) >= sizeof addr.sun_path)
    return -ENAMETOOLONG;
  strcpy (addr.sun_path, path);
  c = calloc (1, sizeof *c);
  if (!c)
    return -ENOMEM;
  c->fs = fs;
  c->stop_pipe[0] = c->stop_pipe[1] = -1;
  c->path = strdup (path);
  c->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!c->path || c->listen_fd < 0 || pipe2 (c->stop_pipe, O_CLOEXEC) < 0)
    {
      ret = -errno;
      goto fail;
    }
  /* A socket left by a killed vmdkfs would make bind fail; nobody else
   * may own this path. */
  unlink (path);
  old = umask (0077);
  ret = bind (c->listen_fd, (struct sockaddr *) &addr, sizeof addr);
  umask (old);
  if (ret < 0 || chmod (path, 0600) < 0 || listen (c->listen_fd, 16) < 0)
    {
      ret = -errno;
      goto fail;
    }
  ret = -pthread_create (&c->thread, NULL, control_main, c);
  if (ret < 0)
    goto fail;
  *out = c;
  return 0;

fail:
  if (c->listen_fd >= 0)
    close (c->listen_fd);
  if (c->stop_pipe[0] >= 0)
    {
      close (c->stop_pipe[0]);
      close (c->stop_pipe[1]);
    }
  free (c->path);
  free (c);
  return ret;
}

void
vmdkfs_control_stop (struct vmdkfs_control *c)
{
  if (!c)
    return;
  if (write (c->stop_pipe[1], "x", 1) < 0)
    vdvs_log (VDVS_LOG_WARN, "Control stop write failed", "errno=%d", errno);
  pthread_join (c->thread, NULL);
  close (c->listen_fd);
  close (c->stop_pipe[0]);
  close (c->stop_pipe[1]);
  unlink (c->path);
  free (c->path);
  free (c);
}
