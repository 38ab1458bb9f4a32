/* HTTP/1.1 GET and a strict reply reader: see http1_client.h. */
#include "http1_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a refused line is quoted in an error. */
/* A chunk-size line (hex size and extensions). */
#define CHUNK_LINE_MAX 1024

struct rd
{
  const struct vdvs_http1_io *io;
  size_t pos, len;
  char buf[VDVS_HTTP1_CLIENT_MAX_HEAD];
};

/* More bytes into buf after what is unread: >0 read, 0 end, <0 error. */
static long
fill (struct rd *r)
{
  long got;

  if (r->pos > 0)
    {
      memmove (r->buf, r->buf + r->pos, r->len - r->pos);
      r->len -= r->pos;
      r->pos = 0;
    }
  if (r->len == sizeof r->buf)
    return -2; /* no room: the caller's line is too long */
  got = r->io->read (r->io->ctx, r->buf + r->len, sizeof r->buf - r->len);
  if (got > 0)
    r->len += (size_t) got;
  return got;
}

static int
read_failed (long got, const char *what, vdvs_error_t *err)
{
  return vdvs_error_set (err, EIO, "%s before the end of the %s",
                         got == 0 ? "connection closed" : "read failed", what);
}

/* The next line (without CR LF) as buf[*start..*start+*n), at most max
 * bytes.  0, or <0 with *err set. */
static int
line (struct rd *r, size_t max, const char *what, size_t *start, size_t *n,
      vdvs_error_t *err)
{
  for (;;)
    {
      char *nl = memchr (r->buf + r->pos, '\n', r->len - r->pos);
      long got;
      if (nl != NULL)
        {
          *start = r->pos;
          *n = (size_t) (nl - (r->buf + r->pos));
          r->pos += *n + 1;
          if (*n > 0 && r->buf[*start + *n - 1] == '\r')
            (*n)--;
          if (*n > max)
            return vdvs_error_set (err, EPROTO, "%s longer than %zu bytes",
                                   what, max);
          return 0;
        }
      /* max bytes and a CR may wait for their LF */
      if (r->len - r->pos > max + 1)
        return vdvs_error_set (err, EPROTO, "%s longer than %zu bytes", what,
                               max);
      got = fill (r);
      if (got == -2)
        return vdvs_error_set (err, EPROTO, "%s longer than %zu bytes", what,
                               max);
      if (got <= 0)
        return read_failed (got, what, err);
    }
}

static bool
is_token_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Append n bytes to the body, refusing to pass max. */
static int
grow (struct vdvs_http1_reply *out, size_t *cap, size_t n, size_t max,
      vdvs_error_t *err)
{
  if (n > max - out->len)
    return vdvs_error_set (err, EFBIG,
                           "reply body larger than the limit of %zu bytes",
                           max);
  if (out->len + n + 1 > *cap)
    {
      size_t c = *cap ? *cap : 4096;
      char *b;
      while (c < out->len + n + 1)
        c *= 2;
      if ((b = realloc (out->body, c)) == NULL)
        return vdvs_error_set (err, ENOMEM, "out of memory");
      out->body = b;
      *cap = c;
    }
  return 0;
}

/* Exactly n body bytes (first what is buffered). */
static int
read_exact (struct rd *r, struct vdvs_http1_reply *out, size_t *cap,
            unsigned long long n, size_t max, vdvs_error_t *err)
{
  unsigned long long want = n;

  if (n > max - out->len)
    return vdvs_error_set (err, EFBIG,
                           "reply body of %llu bytes is larger than the "
                           "limit of %zu bytes",
                           n + out->len, max);
  if (grow (out, cap, (size_t) n, max, err) < 0)
    return -1;
  while (n > 0)
    {
      size_t have = r->len - r->pos, take;
      if (have == 0)
        {
          long got = fill (r);
          if (got <= 0)
            return vdvs_error_set (err, EIO,
                                   "%s after %llu of %llu body bytes",
                                   got == 0 ? "connection closed"
                                            : "read failed",
                                   want - n, want);
          continue;
        }
      take = have < n ? have : (size_t) n;
      memcpy (out->body + out->len, r->buf + r->pos, take);
      out->len += take;
      r->pos += take;
      n -= take;
    }
  return 0;
}

static int
read_chunked (struct rd *r, struct vdvs_http1_reply *out, size_t *cap,
              size_t max, vdvs_error_t *err)
{
  char q[VDVS_HTTP1_QUOTE_MAX + 4];

  for (;;)
    {
      size_t s, n, i;
      unsigned long long size = 0;
      if (line (r, CHUNK_LINE_MAX, "chunk-size line", &s, &n, err) < 0)
        return -1;
      for (i = 0; i < n && i < 15; i++)
        {
          char c = r->buf[s + i];
          int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
          if (d < 0)
            break;
          size = size * 16 + (unsigned) d;
        }
      if (i == 0
          || (i < n && r->buf[s + i] != ';' && r->buf[s + i] != ' '
              && r->buf[s + i] != '\t'))
        {
          vdvs_http1_quote (q, r->buf + s, n);
          return vdvs_error_set (err, EPROTO,
                                 "malformed chunk-size line \"%s\": expected "
                                 "a hexadecimal size",
                                 q);
        }
      if (size == 0)
        break;
      if (read_exact (r, out, cap, size, max, err) < 0)
        return -1;
      if (line (r, 0, "chunk end", &s, &n, err) < 0)
        return vdvs_error_wrap (err, "chunk data not followed by CR LF");
    }
  /* Trailer fields, up to the empty line. */
  for (size_t total = 0;;)
    {
      size_t s, n;
      if (line (r, sizeof r->buf, "trailer line", &s, &n, err) < 0)
        return -1;
      if (n == 0)
        return 0;
      total += n;
      if (total > VDVS_HTTP1_CLIENT_MAX_HEAD)
        return vdvs_error_set (err, EPROTO, "trailer longer than %d bytes",
                               VDVS_HTTP1_CLIENT_MAX_HEAD);
    }
}

/* The body up to the end of the stream. */
static int
read_to_end (struct rd *r, struct vdvs_http1_reply *out, size_t *cap,
             size_t max, vdvs_error_t *err)
{
  for (;;)
    {
      size_t have = r->len - r->pos;
      long got;
      if (grow (out, cap, have, max, err) < 0)
        return -1;
      memcpy (out->body + out->len, r->buf + r->pos, have);
      out->len += have;
      r->pos = r->len = 0;
      got = fill (r);
      if (got == 0)
        return 0;
      if (got < 0)
        return vdvs_error_set (err, EIO, "read failed after %zu body bytes",
                               out->len);
    }
}

static int
read_reply (struct rd *r, size_t max, struct vdvs_http1_reply *out,
            size_t *cap, vdvs_error_t *err)
{
  char q[VDVS_HTTP1_QUOTE_MAX + 4];
  size_t s, n, head = 0;
  const char *l;
  bool have_length = false, chunked = false;
  unsigned long long length = 0;

  if (line (r, VDVS_HTTP1_CLIENT_MAX_HEAD, "reply status line", &s, &n, err)
      < 0)
    return -1;
  l = r->buf + s;
  if (n < 12 || memcmp (l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1')
      || l[8] != ' ' || l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9'
      || l[11] < '0' || l[11] > '9' || (n > 12 && l[12] != ' '))
    {
      vdvs_http1_quote (q, l, n);
      return vdvs_error_set (err, EPROTO,
                             "malformed HTTP status line \"%s\": expected "
                             "\"HTTP/1.1 200 OK\"",
                             q);
    }
  out->status = (unsigned) ((l[9] - '0') * 100 + (l[10] - '0') * 10
                            + (l[11] - '0'));
  if (out->status < 200)
    return vdvs_error_set (err, EPROTO,
                           "unexpected interim reply %u to a plain GET",
                           out->status);
  head = n;
  for (;;)
    {
      const char *colon, *v;
      size_t vn, name;
      if (line (r, VDVS_HTTP1_CLIENT_MAX_HEAD, "reply header line", &s, &n,
                err)
          < 0)
        return -1;
      if (n == 0)
        break;
      head += n;
      if (head > VDVS_HTTP1_CLIENT_MAX_HEAD)
        return vdvs_error_set (err, EPROTO, "reply head larger than %d bytes",
                               VDVS_HTTP1_CLIENT_MAX_HEAD);
      l = r->buf + s;
      colon = memchr (l, ':', n);
      for (name = 0; colon != NULL && l + name < colon; name++)
        if (!is_token_char (l[name]))
          break;
      if (colon == NULL || colon == l || l + name != colon)
        {
          vdvs_http1_quote (q, l, n);
          return vdvs_error_set (err, EPROTO,
                                 "malformed HTTP header line \"%s\": expected "
                                 "\"Name: value\"",
                                 q);
        }
      vdvs_http1_header_value (l, n, name, &v, &vn);
      if (vdvs_http1_ieq (l, name, "content-length"))
        {
          unsigned long long x = 0;
          if (vdvs_http1_parse_length (v, vn, &x) < 0
              || (have_length && x != length))
            {
              vdvs_http1_quote (q, v, vn);
              return vdvs_error_set (err, EPROTO,
                                     "bad Content-Length \"%s\": expected one "
                                     "decimal byte count",
                                     q);
            }
          have_length = true;
          length = x;
        }
      else if (vdvs_http1_ieq (l, name, "transfer-encoding"))
        {
          if (!vdvs_http1_ieq (v, vn, "chunked"))
            {
              vdvs_http1_quote (q, v, vn);
              return vdvs_error_set (err, EPROTO,
                                     "Transfer-Encoding \"%s\" is not "
                                     "supported: expected chunked",
                                     q);
            }
          chunked = true;
        }
    }
  if (chunked && have_length)
    return vdvs_error_set (err, EPROTO,
                           "reply has both Content-Length and "
                           "Transfer-Encoding");
  if (out->status == 204 || out->status == 304)
    return 0;
  if (chunked)
    return read_chunked (r, out, cap, max, err);
  if (have_length)
    return read_exact (r, out, cap, length, max, err);
  return read_to_end (r, out, cap, max, err);
}

int
vdvs_http1_get (const struct vdvs_http1_io *io, const char *path,
                size_t max_body, struct vdvs_http1_reply *out,
                vdvs_error_t *err)
{
  char req[1024];
  int n = snprintf (req, sizeof req,
                    "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: "
                    "vdvsd\r\nAccept: application/json\r\nConnection: "
                    "close\r\n\r\n",
                    path);
  struct rd *r;
  size_t cap = 0;
  int rc;

  memset (out, 0, sizeof *out);
  if (n < 0 || (size_t) n >= sizeof req)
    return vdvs_error_set (err, EINVAL, "request path too long: %.80s...",
                           path);
  if (io->write (io->ctx, req, (size_t) n) < 0)
    return vdvs_error_set (err, EIO, "sending the request failed");
  if ((r = malloc (sizeof *r)) == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  r->io = io;
  r->pos = r->len = 0;
  rc = read_reply (r, max_body, out, &cap, err);
  free (r);
  if (rc == 0 && grow (out, &cap, 0, max_body, err) < 0)
    rc = -1;
  if (rc < 0)
    {
      free (out->body);
      memset (out, 0, sizeof *out);
      return -1;
    }
  out->body[out->len] = '\0';
  return 0;
}
