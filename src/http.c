/* HTTP on the plugin socket: see http.h.
 *
 * Threading.  A small pool of threads (one per two CPUs, at least 1, at
 * most 4), each running a libmicrohttpd daemon with its own epoll set,
 * does all socket I/O and answers the cheap endpoints inline
 * (Capabilities, Activate, Get, List, Path): a busy thread picks up the
 * next ready connection without a context switch, which is what keeps the
 * control path fast under concurrent requests.  Half the CPUs, not all:
 * the clients (dockerd) and the request threads need CPUs too, and a
 * connection stays on the thread that accepted it, whichever won the
 * race.  On 2 vCPUs, 8 keep-alive connections split 7/1 or 6/2 over two
 * threads ran at 140-200k Capabilities/s with a p99 of 140-210 us; all
 * on one thread, 250-290k/s and 45-65 us.
 *
 * The endpoints that do slow work (Create, Remove, Mount, Unmount: attach,
 * mkfs, mount) never run on a pool thread: the connection is suspended
 * (MHD_suspend_connection) and the request runs on a thread of its own,
 * which stores the reply and resumes the connection.  A stalled Mount thus
 * holds exactly its own connection, as with a thread per connection.
 *
 * Get/List/Path are cheap on a local backend but may wait on a remote one
 * (the ESX service over vsock).  With a remote backend (watch_inline) an
 * inline call that takes longer than INLINE_SLOW_MS and blocked (the
 * thread gave up the CPU: a voluntary context switch, as waiting on a
 * socket does) moves that endpoint to its own threads for
 * INLINE_BACKOFF_S seconds, so one stall costs at most one pool thread
 * once.  A call that was only slow because other processes had the CPU
 * (involuntary switches) stays inline: a thread per request would make a
 * busy machine slower still.  A local backend's calls are not watched:
 * the two getrusage calls that tell blocked from starved were a tenth of
 * a Path's CPU.
 *
 * The pool threads are ours, each running one libmicrohttpd daemon in
 * external epoll mode (MHD_USE_EPOLL) on a dup of the shared listening
 * socket, so that the wait between requests is ours too: after serving,
 * a thread polls for the next request for up to SPIN_NS before it sleeps
 * in epoll_wait.  On a VM a sleeping vCPU is woken by the host (an IPI and
 * a VM exit, ~40 us of a 50 us round trip here; the guest's haltpoll does
 * not poll: guest_halt_poll_ns 0), and a client that sends its next
 * request within the window finds the thread awake.  Go's scheduler does
 * the same for every Go plugin (spinning Ms).  The spin is bounded four
 * ways: one thread spins at a time, only right after it served something
 * (an idle daemon sleeps), never when the thread may run on one CPU only
 * (the client could not run meanwhile), and it stops at once when another
 * task wanted the CPU (a sched_yield that let someone run), so under load
 * it costs a yield, not a core.
 *
 * Connection memory: MHD zeroes a connection's whole memory pool after
 * every request; the plugin's requests carry a few hundred bytes of
 * headers (bodies arrive in pieces through on_request), so the pool is
 * CONN_MEMORY, not MHD's 32 KiB default, whose memset was 2-3% of a Get.
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/clock.h"
#include "vdvs/error.h"
#include "vdvs/log.h"

#define CONTENT_TYPE "application/vnd.docker.plugins.v1.2+json"
#define MAX_POOL_THREADS 4
#define INLINE_SLOW_MS 20
#define INLINE_BACKOFF_S 60
#define CONN_MEMORY (8 * 1024)
/* The poll window after a request (see above): a round trip of the
 * plugin's cheap endpoints is 15-20 us when nobody sleeps. */
#define SPIN_NS 50000
/* A sched_yield that took longer than this ran another task. */
#define YIELD_RAN_OTHER_NS 3000
/* How often a pool thread reads its CPU affinity again (may_run_elsewhere). */
#define AFFINITY_NS 100000000

/* Endpoints answered on the pool threads while they stay fast. */
enum ep_class
{
  EP_INLINE,   /* never blocks: no backend call */
  EP_ADAPTIVE, /* Get, List, Path: inline unless recently slow */
  EP_THREAD,   /* Create, Remove, Mount, Unmount: always a thread */
};
enum
{
  ADAPT_GET,
  ADAPT_LIST,
  ADAPT_PATH,
  N_ADAPT
};

/* One pool thread and its daemon; only that thread runs the daemon
 * (MHD_resume_connection from request threads is MHD's thread-safe call). */
struct http_worker
{
  struct vdvs_http *h;
  struct MHD_Daemon *mhd;
  int ep;      /* epoll: the daemon's epoll fd, wake_fd and h->quit_fd */
  int wake_fd; /* eventfd: a request thread resumed a connection */
  pthread_t thread;
  bool started;
  bool closed; /* a connection closed in this MHD_run; worker thread only */
  /* Worker thread only: whether its CPU affinity allows more than one
   * CPU, as read at affinity_ns (may_run_elsewhere). */
  bool multi_cpu;
  int64_t affinity_ns;
};

struct vdvs_http
{
  struct http_worker workers[MAX_POOL_THREADS];
  unsigned n_workers; /* immutable once serving */
  int quit_fd;        /* eventfd, written once to stop the workers */
  atomic_bool quit;
  atomic_bool spinning; /* one worker spins at a time */
  vdvs_http_handler handler; /* immutable */
  bool watch_inline;         /* immutable */
  char path[sizeof ((struct sockaddr_un *) 0)->sun_path];
  /* CLOCK_MONOTONIC second until which an adaptive endpoint is threaded. */
  atomic_long offload_until[N_ADAPT];
  pthread_mutex_t lock;
  pthread_cond_t idle;
  unsigned running; /* request threads alive; protected by lock */
  bool stopping;    /* protected by lock */
};

/* The worker whose loop runs on this thread (NULL elsewhere). */
static _Thread_local struct http_worker *this_worker;

/* Per-request state, owned by MHD's req_cls slot until completion
 * (on_completed frees it).  A dispatched request belongs to its request
 * thread until that thread resumes the connection, and to the pool thread
 * from then on: the request thread touches it no more after the resume. */
struct request
{
  struct http_worker *worker; /* whose daemon holds the connection */
  char *body;
  size_t len;
  size_t seen;     /* bytes received, kept also past the limit */
  bool too_large;
  /* A request handed to its own thread: */
  bool dispatched;
  struct vdvs_http *h;
  struct MHD_Connection *conn;
  char *url;
  char *result; /* the handler's reply, set before the resume */
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
  resp = MHD_create_response_from_buffer (strlen (json), json,
                                          MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
  r = MHD_queue_response (conn, status, resp);
  MHD_destroy_response (resp);
  return r;
}

static long
mono_ms (void)
{
  return (long) (vdvs_mono_ns () / 1000000);
}

/* watch: Get/List/Path may block (a remote backend), so they are
 * adaptive; otherwise they are inline like the rest. */
static enum ep_class
classify (const char *url, bool watch, int *adapt)
{
  static const char *const threaded[] = { "Create", "Remove", "Mount",
                                          "Unmount" };
  const char *ep;

  *adapt = -1;
  if (strncmp (url, "/VolumeDriver.", 14) != 0)
    return EP_INLINE; /* Plugin.Activate, unknown endpoints */
  ep = url + 14;
  for (size_t i = 0; i < sizeof threaded / sizeof threaded[0]; i++)
    if (strcmp (ep, threaded[i]) == 0)
      return EP_THREAD;
  if (!watch)
    return EP_INLINE;
  if (strcmp (ep, "Get") == 0)
    *adapt = ADAPT_GET;
  else if (strcmp (ep, "List") == 0)
    *adapt = ADAPT_LIST;
  else if (strcmp (ep, "Path") == 0)
    *adapt = ADAPT_PATH;
  return *adapt >= 0 ? EP_ADAPTIVE : EP_INLINE;
}

static void *
request_thread (void *arg)
{
  struct request *r = arg;
  struct vdvs_http *h = r->h;
  /* Once the connection is resumed, the pool thread may answer it and
   * complete the request (on_completed frees r) before this thread runs
   * again: what is needed after the resume is copied out before it. */
  struct MHD_Connection *conn = r->conn;
  int wake_fd = r->worker->wake_fd;

  r->result = h->handler (r->url, r->body ? r->body : "", r->len);
  if (r->result == NULL)
    r->result = strdup ("{\"Err\":\"internal error: out of memory\"}");
  /* Taken so that stop cannot free the daemon between the resume and the
   * count going down. */
  pthread_mutex_lock (&h->lock);
  MHD_resume_connection (conn);
  /* r may be freed from here on. */
  /* In external mode MHD has no wake-up channel of its own. */
  if (eventfd_write (wake_fd, 1) < 0)
    abort (); /* cannot fail unless the counter overflows */
  if (--h->running == 0)
    pthread_cond_broadcast (&h->idle);
  pthread_mutex_unlock (&h->lock);
  return NULL;
}

/* Run the handler on a thread of its own; the connection waits suspended.
 * Returns false when no thread could be started (then answer inline). */
static bool
dispatch (struct vdvs_http *h, struct request *r, struct MHD_Connection *conn,
          const char *url)
{
  pthread_attr_t attr;
  pthread_t t;
  bool ok;

  r->url = strdup (url);
  if (r->url == NULL)
    return false;
  r->h = h;
  r->conn = conn;
  r->worker = this_worker;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock (&h->lock);
  ok = !h->stopping;
  if (ok)
    {
      r->dispatched = true;
      MHD_suspend_connection (conn);
      h->running++;
      if (pthread_create (&t, &attr, request_thread, r) != 0)
        {
          h->running--;
          MHD_resume_connection (conn);
          r->dispatched = false;
          ok = false;
        }
    }
  pthread_mutex_unlock (&h->lock);
  pthread_attr_destroy (&attr);
  return ok;
}

/* The handler inline on a pool thread; an adaptive endpoint that turns out
 * slow is threaded for a while. */
static long
voluntary_switches (void)
{
  struct rusage ru;
  return getrusage (RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

static char *
run_inline (struct vdvs_http *h, const char *url, struct request *r,
            int adapt)
{
  long t0 = adapt >= 0 ? mono_ms () : 0;
  long sw0 = adapt >= 0 ? voluntary_switches () : 0;
  char *out = h->handler (url, r->body ? r->body : "", r->len);

  if (adapt >= 0)
    {
      long dt = mono_ms () - t0;
      if (dt > INLINE_SLOW_MS && voluntary_switches () != sw0)
        {
          atomic_store (&h->offload_until[adapt],
                        (t0 + dt) / 1000 + INLINE_BACKOFF_S);
          vdvs_log (VDVS_LOG_WARN,
                    "Slow request on the I/O thread; running it on threads "
                    "for a while",
                    "path=%s ms=%ld backoff_s=%d", url, dt, INLINE_BACKOFF_S);
        }
    }
  return out;
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
      const char *cl = MHD_lookup_connection_value (conn, MHD_HEADER_KIND,
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
  if (r->dispatched)
    {
      /* Resumed: the request thread has left its reply. */
      char *out = r->result;
      r->result = NULL;
      return reply (conn, MHD_HTTP_OK, out);
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
      vdvs_log (VDVS_LOG_WARN, "Request refused: body too large", "path=%s bytes=%zu",
                url, r->seen);
      return reply (conn, MHD_HTTP_OK,
                    err_json ("request body of %zu bytes is too large (max %d "
                              "bytes)",
                              r->seen, VDVS_HTTP_MAX_BODY));
    }
  if (strcmp (method, "POST") != 0)
    return reply (conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                  err_json ("method %s not allowed: the plugin API is POST only",
                            method));
  {
    int adapt;
    enum ep_class c = classify (url, h->watch_inline, &adapt);
    if (c == EP_ADAPTIVE
        && atomic_load (&h->offload_until[adapt]) > mono_ms () / 1000)
      c = EP_THREAD;
    if (c == EP_THREAD && dispatch (h, r, conn, url))
      return MHD_YES;
    return reply (conn, MHD_HTTP_OK, run_inline (h, url, r, adapt));
  }
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
      free (r->url);
      free (r->result);
      free (r);
      *req_cls = NULL;
    }
}

static void
on_mhd_log (void *cls, const char *fmt, va_list ap)
{
  char buf[512];
  size_t n;

  (void) cls;
  vsnprintf (buf, sizeof buf, fmt, ap);
  n = strlen (buf);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  vdvs_log (VDVS_LOG_DEBUG, "HTTP", "detail=\"%s\"", buf);
}

/* --- the pool threads' loop ------------------------------------------ */

/* Tags of the events in a worker's epoll set. */
enum
{
  EV_DAEMON,
  EV_WAKE,
  EV_QUIT,
  N_EV
};

/* Whether this thread may run on another CPU than the one it is on.  With
 * one CPU allowed (taskset, a container on one cpuset CPU) the client runs
 * only once we stop, so a spin would cost a yield per request for nothing.
 * Affinity can change at run time: read again every AFFINITY_NS. */
static bool
may_run_elsewhere (struct http_worker *w, int64_t now)
{
  if (now - w->affinity_ns >= AFFINITY_NS || w->affinity_ns == 0)
    {
      cpu_set_t set;

      w->affinity_ns = now;
      w->multi_cpu = sched_getaffinity (0, sizeof set, &set) != 0
                     || CPU_COUNT (&set) > 1;
    }
  return w->multi_cpu;
}

/* After serving: poll w->ep for up to SPIN_NS.  Returns epoll_wait's
 * count (0: nothing came, or the spin gave way). */
static int
spin_for_events (struct http_worker *w, struct epoll_event *ev)
{
  int64_t end = vdvs_mono_ns ();
  int n = 0;

  if (!may_run_elsewhere (w, end) || atomic_exchange (&w->h->spinning, true))
    return 0;
  end += SPIN_NS;
  for (;;)
    {
      int64_t t0, t1;

      n = epoll_wait (w->ep, ev, N_EV, 0);
      if (n != 0)
        break;
      t0 = vdvs_mono_ns ();
      sched_yield ();
      t1 = vdvs_mono_ns ();
      if (t1 - t0 > YIELD_RAN_OTHER_NS || t1 >= end)
        break;
    }
  atomic_store (&w->h->spinning, false);
  return n;
}

/* The daemon's next deadline (idle connections), in ms for epoll_wait. */
static int
daemon_timeout_ms (struct MHD_Daemon *mhd)
{
  MHD_UNSIGNED_LONG_LONG ms;

  if (MHD_get_timeout (mhd, &ms) != MHD_YES)
    return -1;
  return ms > INT_MAX ? INT_MAX : (int) ms;
}

static void *
worker_loop (void *arg)
{
  struct http_worker *w = arg;
  struct epoll_event ev[N_EV];
  bool served = false;

  this_worker = w;
  while (!atomic_load (&w->h->quit))
    {
      int n = served ? spin_for_events (w, ev) : 0;
      eventfd_t count;

      if (n == 0)
        n = epoll_wait (w->ep, ev, N_EV, daemon_timeout_ms (w->mhd));
      if (n < 0 && errno != EINTR)
        {
          vdvs_log (VDVS_LOG_ERROR, "HTTP worker stopped", "error=\"%s\"",
                    strerror (errno));
          break;
        }
      for (int i = 0; i < n; i++)
        if (ev[i].data.u32 == EV_WAKE)
          eventfd_read (w->wake_fd, &count);
      if (atomic_load (&w->h->quit))
        break;
      MHD_run (w->mhd);
      /* At its connection limit a daemon takes the listening socket out of
       * its epoll set and puts it back at the start of a later run, which
       * nothing would trigger: run once more after a close, so connections
       * waiting in the backlog are accepted. */
      while (w->closed)
        {
          w->closed = false;
          MHD_run (w->mhd);
        }
      served = n > 0;
    }
  return NULL;
}

/* Stop and join the started workers, then their daemons (each closes its
 * listening fd). */
static void
stop_workers (struct vdvs_http *h)
{
  atomic_store (&h->quit, true);
  if (eventfd_write (h->quit_fd, 1) < 0)
    abort (); /* cannot fail unless the counter overflows */
  for (unsigned i = 0; i < h->n_workers; i++)
    {
      struct http_worker *w = &h->workers[i];

      if (w->started)
        pthread_join (w->thread, NULL);
      if (w->mhd != NULL)
        MHD_stop_daemon (w->mhd);
      if (w->ep >= 0)
        close (w->ep);
      if (w->wake_fd >= 0)
        close (w->wake_fd);
    }
  close (h->quit_fd);
}

static void
on_connection (void *cls, struct MHD_Connection *conn, void **socket_ctx,
               enum MHD_ConnectionNotificationCode code)
{
  (void) cls;
  (void) conn;
  (void) socket_ctx;
  if (code == MHD_CONNECTION_NOTIFY_CLOSED && this_worker != NULL)
    this_worker->closed = true;
}

/* Worker i: a daemon on `lfd` (owned by it from here on) and its thread. */
static int
start_worker (struct vdvs_http *h, unsigned i, int lfd, unsigned conn_limit)
{
  struct http_worker *w = &h->workers[i];
  const union MHD_DaemonInfo *info;
  struct epoll_event daemon_ev = { EPOLLIN, { .u32 = EV_DAEMON } };
  struct epoll_event wake_ev = { EPOLLIN, { .u32 = EV_WAKE } };
  struct epoll_event quit_ev = { EPOLLIN, { .u32 = EV_QUIT } };
  char name[16];

  w->h = h;
  w->ep = -1;
  w->wake_fd = -1;
  h->n_workers = i + 1;
  w->mhd = MHD_start_daemon (
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
      NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
      MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
      /* Idle keep-alive connections and slow senders are dropped. */
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONN_MEMORY,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
  if (w->mhd == NULL)
    {
      close (lfd);
      return -1;
    }
  info = MHD_get_daemon_info (w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  w->ep = epoll_create1 (EPOLL_CLOEXEC);
  w->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (info == NULL || w->ep < 0 || w->wake_fd < 0
      || epoll_ctl (w->ep, EPOLL_CTL_ADD, info->epoll_fd, &daemon_ev) < 0
      || epoll_ctl (w->ep, EPOLL_CTL_ADD, w->wake_fd, &wake_ev) < 0
      || epoll_ctl (w->ep, EPOLL_CTL_ADD, h->quit_fd, &quit_ev) < 0)
    return -1;
  if (pthread_create (&w->thread, NULL, worker_loop, w) != 0)
    return -1;
  w->started = true;
  snprintf (name, sizeof name, "vdvs-http-%u", i);
  pthread_setname_np (w->thread, name);
  return 0;
}

int
vdvs_http_start (const char *socket_path, int max_connections,
                 bool watch_inline, vdvs_http_handler handler,
                 struct vdvs_http **out, vdvs_error_t *err)
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
  h->watch_inline = watch_inline;
  strcpy (h->path, socket_path);
  pthread_mutex_init (&h->lock, NULL);
  pthread_cond_init (&h->idle, NULL);
  h->quit_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (h->quit_fd < 0)
    abort (); /* no fds left at start-up: nothing sensible to serve with */
  {
    long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
    unsigned pool = ncpu < 2 ? 1
                    : ncpu / 2 > MAX_POOL_THREADS ? MAX_POOL_THREADS
                                                  : (unsigned) ncpu / 2;
    /* Each daemon accepts from the shared queue until it holds its share;
     * then it stops accepting and the others take the rest. */
    unsigned limit = ((unsigned) max_connections + pool - 1) / pool;

    bool failed = false;

    for (unsigned i = 0; i < pool && !failed; i++)
      {
        bool last = i + 1 == pool;
        int lfd = last ? fd : fcntl (fd, F_DUPFD_CLOEXEC, 0);

        failed = lfd < 0 || start_worker (h, i, lfd, limit) < 0;
        if (failed && !last)
          close (fd); /* not handed to a daemon yet */
      }
    if (failed)
      {
        stop_workers (h);
        unlink (socket_path);
        pthread_mutex_destroy (&h->lock);
        pthread_cond_destroy (&h->idle);
        free (h);
        return vdvs_error_set (err, EIO,
                               "cannot start the HTTP server on `%s`",
                               socket_path);
      }
  }
  *out = h;
  return 0;
}

void
vdvs_http_stop (struct vdvs_http *h)
{
  if (h == NULL)
    return;
  /* No new request threads; the running ones finish and resume their
   * connections (MHD must not stop with a connection suspended). */
  pthread_mutex_lock (&h->lock);
  h->stopping = true;
  while (h->running > 0)
    pthread_cond_wait (&h->idle, &h->lock);
  pthread_mutex_unlock (&h->lock);
  stop_workers (h);
  unlink (h->path);
  pthread_mutex_destroy (&h->lock);
  pthread_cond_destroy (&h->idle);
  free (h);
}
