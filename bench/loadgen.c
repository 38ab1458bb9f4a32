/* loadgen: a closed-loop HTTP/1.1 load generator for the plugin API on a
 * unix socket.
 *
 * N keep-alive connections, each with exactly one request in flight: a new
 * request is sent as soon as the previous reply is complete (closed loop).
 * One thread drives every connection through epoll, so the generator costs
 * one core at most, whatever N is.  After a warm-up, every reply's latency
 * (request written -> last byte of the reply read) is recorded for a fixed
 * duration; requests/s, p50, p99 and max are printed as one key=value line
 * (with `requests`, those measured, and `total`, every reply including the
 * warm-up: the count to divide a server's CPU time by).
 *
 *   loadgen -s SOCK [-c CONNS] [-d SECONDS] [-w WARMUP] [-n N] PATH [BODY]
 *
 * BODY may contain one `%d`: it is replaced by a counter modulo N (-n), so
 * that Get can cycle over many volumes.  A reply whose HTTP status is not
 * 200 or whose JSON carries a non-empty "Err" counts as an error.
 * `-1` sends a single request and prints its latency and reply size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn
{
  int fd;
  uint64_t t0;     /* when the current request was written */
  char *in;        /* reply bytes received so far */
  size_t len, cap;
  bool counting;   /* request written inside the measured window */
};

static const char *sock_path, *url, *body_tmpl = "{}";
static unsigned n_names = 0;
static uint64_t counter;

static uint64_t *lat;
static size_t n_lat, cap_lat;
static uint64_t n_err, n_reconnect;
static uint64_t n_total; /* every reply, warm-up included */
static char last_err[256];

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
die (const char *what)
{
  fprintf (stderr, "loadgen: %s: %s\n", what, strerror (errno));
  exit (1);
}

static int
connect_unix (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    die ("socket");
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    die (sock_path);
  return fd;
}

static void
send_request (struct conn *c)
{
  char body[1024], req[2048];
  int bl, rl;
  size_t off = 0;

  if (n_names > 0)
    bl = snprintf (body, sizeof body, body_tmpl,
                   (int) (counter++ % n_names));
  else
    bl = snprintf (body, sizeof body, "%s", body_tmpl);
  rl = snprintf (req, sizeof req,
                 "POST %s HTTP/1.1\r\nHost: plugin\r\n"
                 "Accept: application/vnd.docker.plugins.v1.2+json\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n"
                 "\r\n%s",
                 url, bl, body);
  c->t0 = now_ns ();
  /* A request is far smaller than the socket buffer: one write, which
   * only a full buffer (never, closed loop) could shorten. */
  while (off < (size_t) rl)
    {
      ssize_t n = write (c->fd, req + off, (size_t) rl - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          struct timespec ts = { 0, 10000 };
          nanosleep (&ts, NULL);
          continue;
        }
      if (n < 0)
        die ("write");
      off += (size_t) n;
    }
}

/* Length of a complete reply at the head of c->in, 0 if incomplete, -1 if
 * malformed.  *status and *err_seen describe it. */
static ssize_t
parse_reply (struct conn *c, int *status, bool *err_seen, bool *close_after)
{
  char *hdr_end, *p, *line, *body = NULL;
  size_t hlen, clen = 0, blen = 0;
  bool chunked = false, have_cl = false;
  static char *dec;
  static size_t dec_cap;

  if (c->len < 12)
    return 0;
  hdr_end = memmem (c->in, c->len, "\r\n\r\n", 4);
  if (hdr_end == NULL)
    return 0;
  hlen = (size_t) (hdr_end - c->in) + 4;
  if (sscanf (c->in, "HTTP/1.%*d %d", status) != 1)
    return -1;
  *close_after = false;
  for (line = memchr (c->in, '\n', hlen) + 1; line < hdr_end;
       line = memchr (line, '\n', (size_t) (hdr_end - line) + 2) + 1)
    {
      if (strncasecmp (line, "Content-Length:", 15) == 0)
        {
          clen = strtoull (line + 15, NULL, 10);
          have_cl = true;
        }
      else if (strncasecmp (line, "Transfer-Encoding:", 18) == 0)
        chunked = strncasecmp (line + 18 + strspn (line + 18, " "), "chunked",
                               7)
                  == 0;
      else if (strncasecmp (line, "Connection:", 11) == 0)
        *close_after = strncasecmp (line + 11 + strspn (line + 11, " "),
                                    "close", 5)
                       == 0;
    }
  if (chunked)
    {
      size_t pos = hlen;
      blen = 0;
      for (;;)
        {
          char *eol = memmem (c->in + pos, c->len - pos, "\r\n", 2);
          size_t sz;
          if (eol == NULL)
            return 0;
          sz = strtoull (c->in + pos, NULL, 16);
          pos = (size_t) (eol - c->in) + 2;
          if (sz == 0)
            {
              /* No trailers from either server: the final CRLF. */
              if (c->len < pos + 2)
                return 0;
              pos += 2;
              break;
            }
          if (c->len < pos + sz + 2)
            return 0;
          if (blen + sz + 1 > dec_cap)
            {
              dec_cap = (blen + sz + 1) * 2;
              dec = realloc (dec, dec_cap);
              if (dec == NULL)
                die ("realloc");
            }
          memcpy (dec + blen, c->in + pos, sz);
          blen += sz;
          pos += sz + 2;
        }
      body = dec;
      hlen = pos; /* total length */
    }
  else if (have_cl)
    {
      if (c->len < hlen + clen)
        return 0;
      body = c->in + hlen;
      blen = clen;
      hlen += clen;
    }
  else
    return -1; /* neither: the reply would end at EOF; not keep-alive */
  *err_seen = false;
  p = memmem (body, blen, "\"Err\":\"", 7);
  if (p != NULL && p + 7 < body + blen && p[7] != '"')
    {
      *err_seen = true;
      snprintf (last_err, sizeof last_err, "%.*s",
                (int) (blen < 200 ? blen : 200), body);
    }
  return (ssize_t) hlen;
}

static void
record (uint64_t ns)
{
  if (n_lat == cap_lat)
    {
      cap_lat = cap_lat ? cap_lat * 2 : 1 << 16;
      lat = realloc (lat, cap_lat * sizeof *lat);
      if (lat == NULL)
        die ("realloc");
    }
  lat[n_lat++] = ns;
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

static double
pct (double p)
{
  size_t i;
  if (n_lat == 0)
    return 0;
  i = (size_t) (p / 100.0 * (double) n_lat);
  if (i >= n_lat)
    i = n_lat - 1;
  return (double) lat[i] / 1000.0;
}

static void
usage (void)
{
  fprintf (stderr,
           "usage: loadgen -s SOCK [-c CONNS] [-d SECONDS] [-w WARMUP] "
           "[-n N] [-1] PATH [BODY]\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  unsigned conns = 1;
  double dur = 3, warm = 0.5;
  bool once = false;
  int opt, ep;
  struct conn *cs;
  uint64_t start, t_begin, t_end;
  struct epoll_event evs[64];

  while ((opt = getopt (argc, argv, "s:c:d:w:n:1")) != -1)
    switch (opt)
      {
      case 's': sock_path = optarg; break;
      case 'c': conns = (unsigned) atoi (optarg); break;
      case 'd': dur = atof (optarg); break;
      case 'w': warm = atof (optarg); break;
      case 'n': n_names = (unsigned) atoi (optarg); break;
      case '1': once = true; break;
      default: usage ();
      }
  if (sock_path == NULL || optind >= argc || conns == 0 || conns > 4096)
    usage ();
  url = argv[optind];
  if (optind + 1 < argc)
    body_tmpl = argv[optind + 1];
  if (once)
    {
      conns = 1;
      warm = 0;
    }

  ep = epoll_create1 (EPOLL_CLOEXEC);
  if (ep < 0)
    die ("epoll_create1");
  cs = calloc (conns, sizeof *cs);
  if (cs == NULL)
    die ("calloc");
  start = now_ns ();
  t_begin = start + (uint64_t) (warm * 1e9);
  t_end = t_begin + (uint64_t) (dur * 1e9);
  for (unsigned i = 0; i < conns; i++)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
      cs[i].fd = connect_unix ();
      cs[i].cap = 65536;
      cs[i].in = malloc (cs[i].cap);
      if (cs[i].in == NULL)
        die ("malloc");
      if (epoll_ctl (ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
        die ("epoll_ctl");
      send_request (&cs[i]);
      cs[i].counting = once || cs[i].t0 >= t_begin;
    }

  for (;;)
    {
      uint64_t now = now_ns ();
      int n, timeout_ms;

      if (now >= t_end && !once)
        break;
      timeout_ms = once ? 30000 : (int) ((t_end - now) / 1000000) + 1;
      n = epoll_wait (ep, evs, 64, timeout_ms);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die ("epoll_wait");
      if (n == 0 && once)
        {
          fprintf (stderr, "loadgen: no reply in 30 s\n");
          return 1;
        }
      for (int k = 0; k < n; k++)
        {
          struct conn *c = evs[k].data.ptr;
          ssize_t r;

          if (c->len + 4096 > c->cap)
            {
              c->cap *= 2;
              c->in = realloc (c->in, c->cap);
              if (c->in == NULL)
                die ("realloc");
            }
          r = read (c->fd, c->in + c->len, c->cap - c->len);
          if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (r <= 0)
            {
              /* The server closed the connection: reconnect, resend. */
              n_reconnect++;
              epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
              close (c->fd);
              c->fd = connect_unix ();
              c->len = 0;
              struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
              if (epoll_ctl (ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
                die ("epoll_ctl");
              send_request (c);
              c->counting = c->t0 >= t_begin;
              continue;
            }
          c->len += (size_t) r;
          for (;;)
            {
              int status = 0;
              bool err_seen = false, close_after = false;
              ssize_t used = parse_reply (c, &status, &err_seen, &close_after);
              uint64_t t;

              if (used == 0)
                break;
              if (used < 0)
                {
                  fprintf (stderr, "loadgen: malformed reply: %.200s\n",
                           c->in);
                  return 1;
                }
              t = now_ns ();
              n_total++;
              if (status != 200 || err_seen)
                {
                  n_err++;
                  if (status != 200)
                    snprintf (last_err, sizeof last_err, "HTTP %d", status);
                }
              if (once)
                {
                  printf ("latency_us=%.1f bytes=%zd status=%d err=%d\n",
                          (double) (t - c->t0) / 1000.0, used, status,
                          err_seen);
                  if (err_seen)
                    fprintf (stderr, "loadgen: %s\n", last_err);
                  return status == 200 && !err_seen ? 0 : 1;
                }
              if (c->counting && t <= t_end)
                record (t - c->t0);
              memmove (c->in, c->in + used, c->len - (size_t) used);
              c->len -= (size_t) used;
              if (close_after)
                {
                  c->len = 0; /* handled as EOF by the next read */
                  break;
                }
              if (t < t_end)
                {
                  send_request (c);
                  c->counting = c->t0 >= t_begin;
                }
              break;
            }
        }
    }
  qsort (lat, n_lat, sizeof *lat, cmp_u64);
  printf ("rps=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f requests=%zu "
          "total=%llu errors=%llu reconnects=%llu\n",
          (double) n_lat / dur, pct (50), pct (99),
          n_lat ? (double) lat[n_lat - 1] / 1000.0 : 0.0, n_lat,
          (unsigned long long) n_total, (unsigned long long) n_err,
          (unsigned long long) n_reconnect);
  if (n_err)
    fprintf (stderr, "loadgen: %llu errors; last: %s\n",
             (unsigned long long) n_err, last_err);
  return n_err ? 1 : 0;
}
