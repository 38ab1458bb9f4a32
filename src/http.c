/* HTTP on the plugin socket: see http.h.
 *
 * libmicrohttpd with a thread per connection: each connection's requests
 * run on its own thread, so a slow Create or Mount (attach, mkfs, mount)
 * blocks only the connection that asked for it, and the cheap endpoints
 * (Get, List, Path) are answered without a hand-off.
 *
 * Accepting is ours (accept_main hands each connection to MHD): MHD's
 * poll mode, needed for fds past FD_SETSIZE, would accept and drop the
 * connections past its limit, and ours waits at the limit instead, so
 * further connections wait in the listen backlog until one closes.
 *
 * Connection memory: the plugin's requests carry a few hundred bytes of
 * headers (bodies arrive in pieces through on_request), so the pool is
 * CONN_MEMORY, not MHD's 32 KiB default, which MHD zeroes per request.
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vdvs/error.h"
#include "vdvs/log.h"

#define CONTENT_TYPE "application/vnd.docker.plugins.v1.2+json"
#define CONN_MEMORY (8 * 1024)
/* Idle keep-alive connections and slow senders are dropped (seconds). */
#define CONN_TIMEOUT 120
/* Each connection thread's stack: handlers need little; MHD's default
 * would be the process default (8 MiB of address space each). */
#define CONN_STACK (256 * 1024)

struct vdvs_http
{
  struct MHD_Daemon *mhd;
  vdvs_http_handler handler; /* immutable */
  int listen_fd;
  unsigned limit; /* immutable */
  pthread_t acceptor;
  pthread_mutex_t lock;
  pthread_cond_t below_limit;
  unsigned open; /* connections accepted and not closed; under lock */
  bool stopping; /* under lock */
  char path[sizeof ((struct sockaddr_un *) 0)->sun_path];
};

/* Per-request state, in MHD's req_cls slot until on_completed frees it. */
struct request
{
  char *body;
  size_t len;
  size_t seen; /* bytes received, kept also past the limit */
  bool too_large;
};

static char *
err_json (const char *fmt, ...)
{
  char *msg, *out;
  va_list ap;
  cJSON_bool ok;
  cJSON *j = cJSON_CreateObject ();

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  ok = cJSON_AddStringToObject (j, "Err", msg) != NULL;
  out = ok ? cJSON_PrintUnformatted (j) : NULL;
  cJSON_Delete (j);
  free (msg);
  return out;
}

static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, char *json)
{
  struct MHD_Response *resp;
  enum MHD_Result r;

  if (json == NULL)
    json = strdup ("{\"Err\":\"internal error: out of memory\"}");
  if (json == NULL)
    return MHD_NO;
  resp = MHD_create_response_from_buffer (strlen (json), json,
                                          MHD_RESPMEM_MUST_FREE);
  if (resp == NULL)
    {
      free (json);
      return MHD_NO;
    }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
  r = MHD_queue_response (conn, status, resp);
  MHD_destroy_response (resp);
  return r;
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url,
            const char *method, const char *version, const char *upload_data,
            size_t *upload_data_size, void **req_cls)
{
  struct vdvs_http *h = cls;
  struct request *r = *req_cls;

  (void) version;
  if (r == NULL)
    {
      const char *cl =
          MHD_lookup_connection_value (conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_CONTENT_LENGTH);
      r = calloc (1, sizeof *r);
      if (r == NULL)
        return MHD_NO;
      *req_cls = r;
      /* Refuse an announced oversize body before reading it. */
      if (cl != NULL && strtoull (cl, NULL, 10) > VDVS_HTTP_MAX_BODY)
        {
          r->too_large = true;
          vdvs_log (VDVS_LOG_WARN, "Request refused: body too large",
                    "path=%s content_length=%s", url, cl);
          return reply (conn, MHD_HTTP_OK,
                        err_json ("request body of %s bytes is too large "
                                  "(max %d bytes)",
                                  cl, VDVS_HTTP_MAX_BODY));
        }
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      size_t n = *upload_data_size;
      r->seen += n;
      if (!r->too_large && r->len + n > VDVS_HTTP_MAX_BODY)
        {
          r->too_large = true;
          free (r->body);
          r->body = NULL;
          r->len = 0;
        }
      if (!r->too_large)
        {
          char *b = realloc (r->body, r->len + n + 1);
          if (b == NULL)
            return MHD_NO;
          memcpy (b + r->len, upload_data, n);
          r->body = b;
          r->len += n;
          b[r->len] = '\0';
        }
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (r->too_large)
    {
      vdvs_log (VDVS_LOG_WARN, "Request refused: body too large",
                "path=%s bytes=%zu", url, r->seen);
      return reply (conn, MHD_HTTP_OK,
                    err_json ("request body of %zu bytes is too large (max %d "
                              "bytes)",
                              r->seen, VDVS_HTTP_MAX_BODY));
    }
  if (strcmp (method, "POST") != 0)
    return reply (conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                  err_json ("method %s not allowed: the plugin API is POST only",
                            method));
  return reply (conn, MHD_HTTP_OK,
                h->handler (url, r->body ? r->body : "", r->len));
}

static void
on_completed (void *cls, struct MHD_Connection *conn, void **req_cls,
              enum MHD_RequestTerminationCode toe)
{
  struct request *r = *req_cls;

  (void) cls;
  (void) conn;
  (void) toe;
  if (r != NULL)
    {
      free (r->body);
      free (r);
      *req_cls = NULL;
    }
}

static void
on_connection (void *cls, struct MHD_Connection *conn, void **socket_ctx,
               enum MHD_ConnectionNotificationCode code)
{
  struct vdvs_http *h = cls;

  (void) conn;
  (void) socket_ctx;
  if (code != MHD_CONNECTION_NOTIFY_CLOSED)
    return; /* counted by accept_main before MHD sees it */
  pthread_mutex_lock (&h->lock);
  if (h->open-- == h->limit)
    pthread_cond_signal (&h->below_limit);
  pthread_mutex_unlock (&h->lock);
}

/* Accept while below the limit; MHD serves each connection on a thread. */
static void *
accept_main (void *arg)
{
  struct vdvs_http *h = arg;

  for (;;)
    {
      struct sockaddr_un sa;
      socklen_t len = sizeof sa;
      bool stop;
      int c;

      pthread_mutex_lock (&h->lock);
      while (h->open >= h->limit && !h->stopping)
        pthread_cond_wait (&h->below_limit, &h->lock);
      stop = h->stopping;
      h->open += !stop;
      pthread_mutex_unlock (&h->lock);
      if (stop)
        break;
      c = accept4 (h->listen_fd, (struct sockaddr *) &sa, &len, SOCK_CLOEXEC);
      if (c < 0
          || MHD_add_connection (h->mhd, c, (struct sockaddr *) &sa, len)
                 != MHD_YES)
        {
          /* Not MHD's: no close notification will count it down.  (MHD
           * closes a socket it refuses.) */
          pthread_mutex_lock (&h->lock);
          h->open--;
          pthread_mutex_unlock (&h->lock);
        }
      if (c < 0)
        {
          if (errno == EMFILE || errno == ENFILE || errno == ENOMEM
              || errno == ENOBUFS)
            usleep (10000); /* out of fds: let connections close */
          continue;         /* EINTR, ECONNABORTED; stop is seen above */
        }
    }
  return NULL;
}

static void
on_mhd_log (void *cls, const char *fmt, va_list ap)
{
  char buf[512];
  size_t n;

  (void) cls;
  /* MHD reports its failed TCP socket options on every reply over a unix
   * socket: format nothing unless it is shown. */
  if (!vdvs_log_enabled (VDVS_LOG_DEBUG))
    return;
  vsnprintf (buf, sizeof buf, fmt, ap);
  n = strlen (buf);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  vdvs_log (VDVS_LOG_DEBUG, "HTTP", "detail=\"%s\"", buf);
}

int
vdvs_http_start (const char *socket_path, int max_connections,
                 vdvs_http_handler handler, struct vdvs_http **out,
                 vdvs_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct vdvs_http *h;
  struct stat st;
  mode_t old;
  int fd, e;

  if (strlen (socket_path) >= sizeof sa.sun_path)
    return vdvs_error_set (err, ENAMETOOLONG, "socket path `%s` too long",
                           socket_path);
  strcpy (sa.sun_path, socket_path);
  {
    char dir[sizeof sa.sun_path];
    strcpy (dir, socket_path);
    for (char *p = dir + 1; (p = strchr (p, '/')) != NULL; p++)
      {
        *p = '\0';
        mkdir (dir, 0755);
        *p = '/';
      }
  }
  /* A stale socket from a crash: replace it.  A live one (another daemon
   * answers on it) or anything else: refuse. */
  if (lstat (socket_path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return vdvs_error_set (err, EEXIST,
                               "`%s` exists and is not a socket; not "
                               "replacing it",
                               socket_path);
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0)
        {
          close (fd);
          return vdvs_error_set (err, EADDRINUSE,
                                 "`%s` is in use: another plugin daemon "
                                 "serves it",
                                 socket_path);
        }
      if (fd >= 0)
        close (fd);
      unlink (socket_path);
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return vdvs_error_set (err, errno, "socket: %s", strerror (errno));
  old = umask (0177); /* the socket is root-only: 0600 */
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      e = errno;
      umask (old);
      close (fd);
      return vdvs_error_set (err, e, "cannot bind `%s`: %s", socket_path,
                             strerror (e));
    }
  umask (old);
  chmod (socket_path, 0600);
  if (listen (fd, 512) < 0)
    {
      e = errno;
      close (fd);
      unlink (socket_path);
      return vdvs_error_set (err, e, "listen: %s", strerror (e));
    }
  h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->handler = handler;
  h->listen_fd = fd;
  h->limit = (unsigned) max_connections;
  pthread_mutex_init (&h->lock, NULL);
  pthread_cond_init (&h->below_limit, NULL);
  strcpy (h->path, socket_path);
  h->mhd = MHD_start_daemon (
      /* poll, not select: connection fds past FD_SETSIZE must work. */
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD
          | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_ERROR_LOG,
      0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
      /* Above ours (accept_main): MHD's own would drop connections. */
      MHD_OPTION_CONNECTION_LIMIT, (unsigned) max_connections + 16,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONN_TIMEOUT,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONN_MEMORY,
      MHD_OPTION_THREAD_STACK_SIZE, (size_t) CONN_STACK,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
  if (h->mhd != NULL
      && pthread_create (&h->acceptor, NULL, accept_main, h) != 0)
    {
      MHD_stop_daemon (h->mhd);
      h->mhd = NULL;
    }
  if (h->mhd == NULL)
    {
      close (fd);
      unlink (socket_path);
      pthread_mutex_destroy (&h->lock);
      pthread_cond_destroy (&h->below_limit);
      free (h);
      return vdvs_error_set (err, EIO, "cannot start the HTTP server on `%s`",
                             socket_path);
    }
  *out = h;
  return 0;
}

void
vdvs_http_stop (struct vdvs_http *h)
{
  if (h == NULL)
    return;
  /* Stop accepting (shutdown wakes a blocked accept), then close every
   * connection and wait for its thread (a running request finishes). */
  pthread_mutex_lock (&h->lock);
  h->stopping = true;
  pthread_cond_broadcast (&h->below_limit);
  pthread_mutex_unlock (&h->lock);
  shutdown (h->listen_fd, SHUT_RDWR);
  pthread_join (h->acceptor, NULL);
  MHD_stop_daemon (h->mhd);
  close (h->listen_fd);
  unlink (h->path);
  pthread_mutex_destroy (&h->lock);
  pthread_cond_destroy (&h->below_limit);
  free (h);
}
