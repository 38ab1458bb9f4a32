/* Checks the Windows pipe transport against vdvs-pipe-test-server: the
 * plugin API as Docker speaks it over \\.\pipe\vsphere-dvs, concurrency,
 * keep-alive, and hostile input.  One line per check, PASS or FAIL.
 *
 * Usage: vdvs-pipe-test-client [--pipe NAME] all|shutdown|limit N
 * (limit N: against a server run with --max-connections N; shuts it down)
 * Exit status: 0 when every check passed. */
#include <process.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "http.h"
#include "http1.h"
#include "pipe.h"

#define CONCURRENT 8
#define CT "application/vnd.docker.plugins.v1.2+json"

static const char *pipe_name = VDVS_PIPE_NAME;
static int failures;

struct reply
{
  int status;
  char version; /* '0' or '1', from "HTTP/1.x" */
  char head[2048];
  char *body;
};

static void
check (int ok, const char *name, const char *fmt, ...)
{
  va_list ap;

  printf ("%s %s", ok ? "PASS" : "FAIL", name);
  if (!ok)
    {
      printf (": ");
      va_start (ap, fmt);
      vprintf (fmt, ap);
      va_end (ap);
      failures++;
    }
  printf ("\n");
  fflush (stdout);
}

static HANDLE
connect_pipe (void)
{
  for (int tries = 0; tries < 50; tries++)
    {
      HANDLE h = CreateFileA (pipe_name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                              OPEN_EXISTING, 0, NULL);
      if (h != INVALID_HANDLE_VALUE)
        return h;
      if (GetLastError () == ERROR_PIPE_BUSY)
        WaitNamedPipeA (pipe_name, 5000);
      else
        Sleep (100);
    }
  fprintf (stderr, "cannot open %s: error %lu\n", pipe_name,
           (unsigned long) GetLastError ());
  return INVALID_HANDLE_VALUE;
}

static int
send_all (HANDLE h, const char *buf, size_t n)
{
  while (n > 0)
    {
      DWORD put;
      if (!WriteFile (h, buf, (DWORD) (n > 65536 ? 65536 : n), &put, NULL))
        return -1;
      buf += put;
      n -= put;
    }
  return 0;
}

/* Read one reply; -1 if the server closed the pipe first. */
static int
read_reply (HANDLE h, struct reply *r)
{
  size_t len = 0, clen;
  char *end = NULL, *cl;
  DWORD got;

  memset (r, 0, sizeof *r);
  /* The head, a byte at a time so nothing of the next reply is taken. */
  while (end == NULL)
    {
      if (len + 1 >= sizeof r->head
          || !ReadFile (h, r->head + len, 1, &got, NULL) || got == 0)
        return -1;
      len++;
      r->head[len] = '\0';
      end = strstr (r->head, "\r\n\r\n");
    }
  if (sscanf (r->head, "HTTP/1.%c %d", &r->version, &r->status) != 2)
    return -1;
  cl = strstr (r->head, "Content-Length: ");
  clen = cl != NULL ? strtoul (cl + 16, NULL, 10) : 0;
  r->body = calloc (1, clen + 1);
  for (size_t n = 0; n < clen; n += got)
    if (!ReadFile (h, r->body + n, (DWORD) (clen - n), &got, NULL) || got == 0)
      return -1;
  return 0;
}

/* Whether the server closes the connection (nothing more to read). */
static int
closed_by_server (HANDLE h)
{
  char c;
  DWORD got;
  return !ReadFile (h, &c, 1, &got, NULL) || got == 0;
}

static int
post (HANDLE h, const char *path, const char *body, struct reply *r)
{
  char head[256];
  int n = snprintf (head, sizeof head,
                    "POST %s HTTP/1.1\r\nHost: plugin\r\nContent-Length: "
                    "%zu\r\n\r\n",
                    path, strlen (body));
  if (send_all (h, head, (size_t) n) < 0
      || send_all (h, body, strlen (body)) < 0)
    return -1;
  return read_reply (h, r);
}

static void
t_activate (void)
{
  HANDLE h = connect_pipe ();
  struct reply r;
  int ok = h != INVALID_HANDLE_VALUE
           && post (h, "/Plugin.Activate", "{}", &r) == 0;

  check (ok && r.status == 200
             && strcmp (r.body, "{\"Implements\":[\"VolumeDriver\"]}") == 0
             && strstr (r.head, "Content-Type: " CT "\r\n") != NULL,
         "activate", "status %d head [%s] body [%s]", ok ? r.status : -1,
         ok ? r.head : "", ok ? r.body : "");
  if (ok)
    free (r.body);
  CloseHandle (h);
}

static void
t_keepalive (void)
{
  HANDLE h = connect_pipe ();
  struct reply a, b, c, d;
  int ok = post (h, "/Plugin.Activate", "{}", &a) == 0
           && post (h, "/VolumeDriver.Capabilities", "{}", &b) == 0;
  check (ok && a.status == 200 && b.status == 200
             && strstr (b.body, "\"Scope\":\"global\"") != NULL,
         "keep-alive: two requests on one connection", "ok %d body [%s]", ok,
         ok ? b.body : "");
  /* Two requests in one write (pipelined): two replies, in order. */
  {
    const char two[] =
        "POST /Test.Echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
        "POST /Plugin.Activate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    int ok2 = send_all (h, two, sizeof two - 1) == 0 && read_reply (h, &c) == 0
              && read_reply (h, &d) == 0;
    check (ok2 && strstr (c.body, "\"Len\":3") != NULL
               && strstr (d.body, "VolumeDriver") != NULL,
           "keep-alive: pipelined requests", "ok %d", ok2);
  }
  CloseHandle (h);
}

static void
t_http10 (void)
{
  HANDLE h = connect_pipe ();
  const char req[] =
      "POST /Plugin.Activate HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}";
  struct reply r;
  int ok = send_all (h, req, sizeof req - 1) == 0 && read_reply (h, &r) == 0;

  check (ok && r.version == '0' && r.status == 200
             && strncmp (r.head, "HTTP/1.0 200 OK\r\n", 17) == 0
             && closed_by_server (h),
         "HTTP/1.0: answered as 1.0, then closed", "head [%s]",
         ok ? r.head : "");
  CloseHandle (h);
}

static unsigned __stdcall barrier_main (void *arg)
{
  int *ok = arg;
  HANDLE h = connect_pipe ();
  struct reply r;
  char body[32];

  snprintf (body, sizeof body, "{\"N\":%d}", CONCURRENT);
  *ok = h != INVALID_HANDLE_VALUE && post (h, "/Test.Barrier", body, &r) == 0
        && r.status == 200 && strstr (r.body, "\"Reached\"") != NULL;
  if (!*ok && h != INVALID_HANDLE_VALUE)
    fprintf (stderr, "barrier reply: %s\n", r.body ? r.body : "(none)");
  CloseHandle (h);
  return 0;
}

static void
t_concurrent (void)
{
  HANDLE t[CONCURRENT];
  int ok[CONCURRENT], all = 1;

  for (int i = 0; i < CONCURRENT; i++)
    t[i] = (HANDLE) _beginthreadex (NULL, 0, barrier_main, &ok[i], 0, NULL);
  WaitForMultipleObjects (CONCURRENT, t, TRUE, INFINITE);
  for (int i = 0; i < CONCURRENT; i++)
    {
      all &= ok[i];
      CloseHandle (t[i]);
    }
  check (all, "concurrency: 8 clients served at once",
         "not all requests met inside the handler");
}

static void
t_body_limits (void)
{
  HANDLE h = connect_pipe ();
  size_t n = VDVS_HTTP_MAX_BODY;
  char *big = malloc (n + 2), head[128];
  struct reply r, s;
  int ok;

  memset (big, 'x', n + 1);
  big[n + 1] = '\0';
  /* Exactly the limit: accepted whole. */
  big[n] = '\0';
  ok = post (h, "/Test.Echo", big, &r) == 0;
  check (ok && r.status == 200 && strstr (r.body, "\"Len\":1048576,") != NULL,
         "body of exactly the limit accepted", "body [%s]", ok ? r.body : "");
  /* One byte more: refused with a clear error, connection still usable. */
  big[n] = 'x';
  ok = post (h, "/Test.Echo", big, &r) == 0
       && post (h, "/Plugin.Activate", "{}", &s) == 0;
  check (ok && r.status == 200
             && strstr (r.body, "\"Err\":\"request body of 1048577 bytes is "
                                "too large (max 1048576 bytes)\"")
                    != NULL
             && s.status == 200,
         "body over the limit refused, connection kept", "body [%s]",
         ok ? r.body : "");
  CloseHandle (h);
  /* A huge announced body: refused without reading it, then closed. */
  h = connect_pipe ();
  snprintf (head, sizeof head,
            "POST /Test.Echo HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n");
  ok = send_all (h, head, strlen (head)) == 0 && read_reply (h, &r) == 0;
  check (ok && strstr (r.body, "1000000000000 bytes is too large") != NULL
             && strstr (r.head, "Connection: close") != NULL,
         "huge announced body refused and closed", "body [%s]",
         ok ? r.body : "");
  CloseHandle (h);
  free (big);
}

/* Send raw bytes (n == 0: a string); expect `status` and `needle` in the
 * reply, then (then_closed) the end of the connection. */
static void
t_raw (const char *name, const char *req, size_t n, int status,
       const char *needle, int then_closed)
{
  HANDLE h = connect_pipe ();
  struct reply r;
  int ok = send_all (h, req, n != 0 ? n : strlen (req)) == 0
           && read_reply (h, &r) == 0;

  check (ok && r.status == status && strstr (r.body, needle) != NULL
             && (!then_closed || closed_by_server (h)),
         name, "status %d body [%s]", ok ? r.status : -1, ok ? r.body : "");
  CloseHandle (h);
}

static void
t_hostile (void)
{
  static char longhead[VDVS_HTTP1_MAX_HEAD + 64];
  const char bin[] = "\x01\x02\xff GET\r\n\r\n";

  t_raw ("garbage request line refused", "HELLO WORLD\r\n\r\n", 0, 400,
         "malformed HTTP request line \\\"HELLO WORLD\\\"", 1);
  t_raw ("binary request line refused", bin, sizeof bin - 1, 400,
         "malformed HTTP request line \\\"??? GET\\\"", 1);
  t_raw ("HTTP/2 refused", "POST / HTTP/2.0\r\n\r\n", 0, 400,
         "malformed HTTP request line", 1);
  t_raw ("header without colon refused",
         "POST /Plugin.Activate HTTP/1.1\r\nnonsense\r\n\r\n", 0, 400,
         "malformed HTTP header line \\\"nonsense\\\"", 1);
  t_raw ("bad Content-Length refused",
         "POST /Plugin.Activate HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n", 0,
         400, "bad Content-Length \\\"12abc\\\"", 1);
  t_raw ("chunked body refused",
         "POST /Plugin.Activate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
         0, 501, "Transfer-Encoding \\\"chunked\\\" is not supported", 1);
  t_raw ("GET refused, connection kept",
         "GET /Plugin.Activate HTTP/1.1\r\n\r\n", 0, 405,
         "method GET not allowed", 0);
  memcpy (longhead, "POST /Plugin.Activate HTTP/1.1\r\nX: ", 36);
  memset (longhead + 36, 'a', sizeof longhead - 36);
  t_raw ("oversize head refused", longhead, sizeof longhead, 431,
         "request head larger than", 1);
  /* A client that leaves mid-request must not disturb the server. */
  {
    HANDLE h = connect_pipe ();
    send_all (h, "POST /Plugin.Act", 16);
    CloseHandle (h);
    h = connect_pipe ();
    send_all (h, "POST /Test.Echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nab",
              51);
    CloseHandle (h);
  }
  t_activate ();
}

/* Random bytes on 64 connections (fixed seed), each closed by the client
 * mid-whatever; the server must still answer afterwards. */
static void
t_random (void)
{
  unsigned seed = 18;
  char buf[600];

  for (int i = 0; i < 64; i++)
    {
      HANDLE h = connect_pipe ();
      size_t n = 1 + (seed = seed * 1103515245 + 12345) % sizeof buf;
      for (size_t k = 0; k < n; k++)
        buf[k] = (char) ((seed = seed * 1103515245 + 12345) >> 16);
      /* Half of them start like a request, to get past the request line. */
      if (i % 2 && n > 39)
        memcpy (buf, "POST /Plugin.Activate HTTP/1.1\r\nContent", 39);
      send_all (h, buf, n);
      CloseHandle (h);
    }
  t_activate ();
}

/* Stop with an idle keep-alive connection and a half-sent request open:
 * the server closes both and exits (it does not wait for the idle
 * timeout). */
static void
t_shutdown (void)
{
  HANDLE idle = connect_pipe (), half = connect_pipe (), h = connect_pipe ();
  struct reply r, s;
  int ok = post (idle, "/Plugin.Activate", "{}", &r) == 0
           && send_all (half, "POST /Test.Echo HTTP/1.1\r\nContent-Le", 36)
                  == 0
           && post (h, "/Test.Shutdown", "{}", &s) == 0 && s.status == 200;

  check (ok, "shutdown request", "no reply");
  check (ok && closed_by_server (idle) && closed_by_server (half),
         "shutdown closes idle and half-sent connections", "not closed");
  CloseHandle (idle);
  CloseHandle (half);
  CloseHandle (h);
}

/* Against a server started with --max-connections n: with n connections
 * held open, one more client is connected but not answered; it is served
 * once a held connection closes.  Then the server is shut down. */
static void
t_limit (int n)
{
  HANDLE hold[64], extra, h;
  struct reply r;
  DWORD avail = 0;
  int ok = n >= 1 && n <= 64;
  const char req[] =
      "POST /Plugin.Activate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";

  for (int i = 0; ok && i < n; i++)
    ok = (hold[i] = connect_pipe ()) != INVALID_HANDLE_VALUE
         && post (hold[i], "/Plugin.Activate", "{}", &r) == 0;
  check (ok, "limit: connections up to the limit served", "n=%d", n);
  if (!ok)
    return;
  extra = connect_pipe ();
  ok = extra != INVALID_HANDLE_VALUE
       && send_all (extra, req, sizeof req - 1) == 0;
  for (int waited = 0; ok && waited < 1500 && avail == 0; waited += 100)
    {
      Sleep (100);
      ok = PeekNamedPipe (extra, NULL, 0, NULL, &avail, NULL);
    }
  check (ok && avail == 0, "limit: one more client waits, connected",
         "ok %d, %lu bytes of reply", ok, (unsigned long) avail);
  CloseHandle (hold[0]);
  ok = read_reply (extra, &r) == 0 && r.status == 200;
  check (ok, "limit: the waiting client is served when a slot frees",
         "no reply");
  CloseHandle (extra);
  for (int i = 1; i < n; i++)
    CloseHandle (hold[i]);
  h = connect_pipe ();
  ok = post (h, "/Test.Shutdown", "{}", &r) == 0;
  check (ok, "limit: shutdown", "no reply");
  CloseHandle (h);
}

/* One plugin API call for the scripts (96-windows-vdvsd.sh): the reply
 * body on stdout; exit 0 on HTTP 200, 1 otherwise. */
static int
post_one (const char *path, const char *body)
{
  HANDLE h = connect_pipe ();
  struct reply r;
  int ok;

  if (h == INVALID_HANDLE_VALUE)
    return 1;
  ok = post (h, path, body, &r) == 0;
  CloseHandle (h);
  if (!ok)
    {
      fprintf (stderr, "%s: no reply\n", path);
      return 1;
    }
  printf ("%s\n", r.body);
  free (r.body);
  return r.status == 200 ? 0 : 1;
}

int
main (int argc, char **argv)
{
  const char *what = NULL;
  int limit_n = 0;

  if (argc == 4 && strcmp (argv[1], "post") == 0)
    return post_one (argv[2], argv[3]);

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--pipe") == 0 && i + 1 < argc)
        pipe_name = argv[++i];
      else if (what == NULL)
        what = argv[i];
      else
        limit_n = atoi (argv[i]);
    }
  if (what != NULL && strcmp (what, "limit") == 0 && limit_n > 0)
    {
      t_limit (limit_n);
      return failures != 0;
    }
  if (what != NULL && strcmp (what, "shutdown") == 0)
    {
      t_shutdown ();
      return failures != 0;
    }
  if (what == NULL || strcmp (what, "all") != 0)
    {
      fprintf (stderr,
               "usage: %s [--pipe NAME] all|shutdown|limit N | post PATH BODY\n",
               argv[0]);
      return 2;
    }
  t_activate ();
  t_keepalive ();
  t_http10 ();
  t_concurrent ();
  t_body_limits ();
  t_hostile ();
  t_random ();
  printf ("%d failed\n", failures);
  return failures != 0;
}
