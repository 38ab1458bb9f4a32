/* The vmdkfs control-socket client against a scripted server. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_client.h"

static char dir[] = "/tmp/vmdkfs-ctl-XXXXXX";
static char path[128];
static int lfd = -1;
static char last_request[256];

/* Serves one connection: records the request line, sends `reply'. */
static void *
serve (void *arg)
{
  const char *reply = arg;
  char buf[256];
  size_t len = 0;
  ssize_t n;
  int fd = accept (lfd, NULL, NULL);

  if (fd < 0)
    return NULL;
  while ((n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += n;
  buf[len] = '\0';
  strcpy (last_request, buf);
  if (write (fd, reply, strlen (reply)) < 0)
    perror ("write");
  close (fd);
  return NULL;
}

static void
setup (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  cr_assert_not_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/ctl", dir);
  strcpy (addr.sun_path, path);
  lfd = socket (AF_UNIX, SOCK_STREAM, 0);
  cr_assert_geq (lfd, 0);
  cr_assert_eq (bind (lfd, (struct sockaddr *) &addr, sizeof addr), 0);
  cr_assert_eq (listen (lfd, 4), 0);
}

static void
teardown (void)
{
  close (lfd);
  unlink (path);
  rmdir (dir);
}

TestSuite (ctl, .init = setup, .fini = teardown);

static int
request (const char *reply, const char *line, char **out)
{
  pthread_t th;
  int ret;

  pthread_create (&th, NULL, serve, (void *) reply);
  ret = vmdkfs_ctl_request (path, line, out);
  pthread_join (th, NULL);
  return ret;
}

Test (ctl, ok_reply_gives_body)
{
  char *out;

  cr_assert_eq (request ("ok\npong\n", "ping", &out), 0);
  cr_assert_str_eq (last_request, "ping\n");
  cr_assert_str_eq (out, "pong\n");
  free (out);
}

Test (ctl, err_reply_gives_errno_and_message)
{
  char *out;

  cr_assert_eq (request ("err ENOENT no rule x\n", "fault clear x", &out),
                -ENOENT);
  cr_assert_str_eq (last_request, "fault clear x\n");
  cr_assert_str_eq (out, "no rule x");
  free (out);
}

Test (ctl, garbage_reply_is_eproto)
{
  char *out;

  cr_assert_eq (request ("hello\n", "ping", &out), -EPROTO);
  free (out);
}

Test (ctl, no_server_is_reported)
{
  char missing[160], *out;

  snprintf (missing, sizeof missing, "%s/none", dir);
  cr_assert_eq (vmdkfs_ctl_request (missing, "ping", &out), -ENOENT);
  cr_assert_not_null (strstr (out, missing));
  free (out);
}

Test (ctl, multi_line_request_refused)
{
  char *out;

  cr_assert_eq (vmdkfs_ctl_request (path, "ping\nstats", &out), -EINVAL);
  free (out);
}
