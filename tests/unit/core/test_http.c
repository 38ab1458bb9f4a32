/* The plugin socket's HTTP server (src/http.c) with a stub handler: many
 * concurrent requests on the endpoints that run on threads of their own.
 * Its point is the hand-back from a request thread to the pool thread
 * (resume): a request may be answered and freed by the pool thread the
 * moment it is resumed, so the request thread must not touch it after. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "http.h"
#include "t_helpers.h"

/* MHD_resume_connection with a pause after it: http.c is linked into this
 * program, so its calls come here.  The pause opens wide the window in
 * which the pool thread answers and completes the resumed request. */
void
MHD_resume_connection (struct MHD_Connection *conn)
{
  static void (*real) (struct MHD_Connection *);
  struct timespec ts = { 0, 200 * 1000 };

  if (real == NULL)
    real = (void (*) (
        struct MHD_Connection *)) dlsym (RTLD_NEXT, "MHD_resume_connection");
  real (conn);
  nanosleep (&ts, NULL);
}

static char tmp[PATH_MAX];
static char sock[PATH_MAX + 16];
static atomic_long handled;

static char *
handler (const char *path, const char *body, size_t len)
{
  (void) body;
  (void) len;
  atomic_fetch_add (&handled, 1);
  /* Give the CPU away now and then, so request threads, pool threads and
   * clients interleave in every order. */
  if (atomic_load (&handled) % 3 == 0)
    sched_yield ();
  if (strcmp (path, "/VolumeDriver.Mount") == 0)
    return strdup ("{\"Mountpoint\":\"/mnt/vmdk/v@ds\",\"Err\":\"\"}");
  return strdup ("{\"Err\":\"\"}");
}

static int
connect_sock (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  cr_assert_geq (fd, 0);
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", sock);
  cr_assert_eq (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0,
                "connect: %s", strerror (errno));
  return fd;
}

/* One request on a keep-alive connection; true when a full 200 reply with
 * an empty Err came back. */
static bool
one_request (int fd, const char *ep)
{
  char req[256], buf[4096];
  size_t have = 0;
  int n =
      snprintf (req, sizeof req,
                "POST /VolumeDriver.%s HTTP/1.1\r\nHost: p\r\n"
                "Content-Length: 31\r\n\r\n{\"Name\":\"v@ds\",\"ID\":\"abcdef\"}  ",
                ep);

  if (write (fd, req, (size_t) n) != n)
    return false;
  for (;;)
    {
      ssize_t r = read (fd, buf + have, sizeof buf - 1 - have);
      char *hdr_end, *cl;
      if (r <= 0)
        return false;
      have += (size_t) r;
      buf[have] = '\0';
      if ((hdr_end = strstr (buf, "\r\n\r\n")) == NULL)
        continue;
      if ((cl = strcasestr (buf, "Content-Length:")) == NULL)
        return false;
      if (have >= (size_t) (hdr_end + 4 - buf) + strtoul (cl + 15, NULL, 10))
        return strncmp (buf, "HTTP/1.1 200", 12) == 0
               && strstr (buf, "\"Err\":\"\"") != NULL;
    }
}

static atomic_long replies;

static void *
client (void *arg)
{
  static const char *const eps[] = { "Mount", "Unmount", "Create", "Remove" };
  long id = (long) arg;
  struct timespec t0, t;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (long i = 0;; i++)
    {
      int fd = connect_sock ();
      /* A few requests per connection, then a new one: completions and
       * closes both race the resumes. */
      for (int k = 0; k < 4; k++)
        {
          if (!one_request (fd, eps[(id + i + k) % 4]))
            {
              close (fd);
              return (void *) 1;
            }
          atomic_fetch_add (&replies, 1);
        }
      close (fd);
      clock_gettime (CLOCK_MONOTONIC, &t);
      if (t.tv_sec - t0.tv_sec >= 3 || i >= 4000)
        break;
    }
  return NULL;
}

Test (http, threaded_requests_survive_their_resume, .timeout = 60)
{
  struct vdvs_http *h = NULL;
  vdvs_error_t err = NULL;
  pthread_t t[12];
  void *rv;

  t_mkdtemp (tmp, sizeof tmp, "http");
  snprintf (sock, sizeof sock, "%s/p.sock", tmp);
  cr_assert_eq (vdvs_http_start (sock, 256, handler, &h, &err), 0, "%s",
                err ? err->msg : "");
  for (long i = 0; i < 12; i++)
    cr_assert_eq (pthread_create (&t[i], NULL, client, (void *) i), 0);
  for (int i = 0; i < 12; i++)
    {
      pthread_join (t[i], &rv);
      cr_assert_null (rv, "a request got no full reply");
    }
  vdvs_http_stop (h);
  t_rmrf (tmp);
  cr_assert_eq (atomic_load (&replies), atomic_load (&handled));
  cr_assert_gt (atomic_load (&replies), 1000);
}
