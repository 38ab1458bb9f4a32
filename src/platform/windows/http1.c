/* HTTP/1.x over a byte stream: see http1.h. */
#include "http1.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTENT_TYPE "application/vnd.docker.plugins.v1.2+json"
/* How much of a refused line is quoted back in an error. */

struct conn
{
  const struct vdvs_http1_io *io;
  size_t len; /* bytes in buf: the head being read, then what follows it */
  char buf[VDVS_HTTP1_MAX_HEAD];
};

struct request
{
  bool http10;     /* the request said HTTP/1.0: so does the reply */
  bool keep_alive; /* the connection stays open after the reply */
  bool have_length;
  unsigned long long length;
  char method[16];
  char path[VDVS_HTTP1_MAX_HEAD];
};

static char *
err_json (const char *fmt, ...)
{
  char msg[512];
  char *out;
  va_list ap;
  cJSON *j = cJSON_CreateObject ();

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  out = j != NULL && cJSON_AddStringToObject (j, "Err", msg) != NULL
            ? cJSON_PrintUnformatted (j)
            : NULL;
  cJSON_Delete (j);
  return out;
}

static const char *
status_text (unsigned status)
{
  switch (status)
    {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    default:
      return "Error";
    }
}

/* Send one reply and free `json` (NULL: out of memory).  Returns 0 or <0. */
static int
reply (struct conn *c, const struct request *r, unsigned status, char *json)
{
  char head[256];
  int n, rc;

  if (json == NULL)
    json = strdup ("{\"Err\":\"internal error: out of memory\"}");
  if (json == NULL)
    return -1;
  n = snprintf (head, sizeof head,
                "HTTP/1.%d %u %s\r\nContent-Type: " CONTENT_TYPE
                "\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                r->http10 ? 0 : 1, status, status_text (status), strlen (json),
                r->keep_alive ? "keep-alive" : "close");
  rc = c->io->write (c->io->ctx, head, (size_t) n);
  if (rc == 0)
    rc = c->io->write (c->io->ctx, json, strlen (json));
  free (json);
  return rc;
}

/* A refusal that ends the connection. */
static void
refuse (struct conn *c, struct request *r, unsigned status, char *json)
{
  r->keep_alive = false;
  reply (c, r, status, json);
}

/* Offset just past the blank line ending the head in buf, or 0. */
static size_t
head_end (const struct conn *c)
{
  for (size_t i = 0; i + 1 < c->len; i++)
    {
      if (c->buf[i] != '\n')
        continue;
      if (c->buf[i + 1] == '\n')
        return i + 2;
      if (i + 2 < c->len && c->buf[i + 1] == '\r' && c->buf[i + 2] == '\n')
        return i + 3;
    }
  return 0;
}

void
vdvs_http1_header_value (const char *l, size_t n, size_t name, const char **v,
                         size_t *vn)
{
  *v = l + name + 1;
  *vn = n - name - 1;
  while (*vn > 0 && (**v == ' ' || **v == '\t'))
    (*v)++, (*vn)--;
  while (*vn > 0 && ((*v)[*vn - 1] == ' ' || (*v)[*vn - 1] == '\t'))
    (*vn)--;
}

int
vdvs_http1_parse_length (const char *v, size_t vn, unsigned long long *x)
{
  size_t k;

  *x = 0;
  for (k = 0; k < vn && k < 18 && v[k] >= '0' && v[k] <= '9'; k++)
    *x = *x * 10 + (unsigned) (v[k] - '0');
  return vn == 0 || k != vn ? -1 : 0;
}

void
vdvs_http1_quote (char out[VDVS_HTTP1_QUOTE_MAX + 4], const char *s, size_t n)
{
  size_t i, m = n > VDVS_HTTP1_QUOTE_MAX ? VDVS_HTTP1_QUOTE_MAX : n;

  for (i = 0; i < m; i++)
    out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
  strcpy (out + i, n > m ? "..." : "");
}

bool
vdvs_http1_ieq (const char *a, size_t alen, const char *b)
{
  if (alen != strlen (b))
    return false;
  for (size_t i = 0; i < alen; i++)
    {
      char x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
      if (x != b[i])
        return false;
    }
  return true;
}

/* Whether the comma-separated header value v[0..n) lists token t. */
static bool
has_token (const char *v, size_t n, const char *t)
{
  size_t i = 0;

  while (i < n)
    {
      size_t s, e;
      while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
        i++;
      s = i;
      while (i < n && v[i] != ',')
        i++;
      e = i;
      while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
      if (e > s && vdvs_http1_ieq (v + s, e - s, t))
        return true;
    }
  return false;
}

/* "METHOD /path HTTP/1.x": fills r, or returns false. */
static bool
parse_request_line (const char *l, size_t n, struct request *r)
{
  size_t i = 0, m, p;

  while (i < n && l[i] >= 'A' && l[i] <= 'Z')
    i++;
  if (i == 0 || i >= sizeof r->method || i >= n || l[i] != ' ')
    return false;
  memcpy (r->method, l, i);
  r->method[i] = '\0';
  m = ++i;
  if (i >= n || l[i] != '/')
    return false;
  while (i < n && l[i] > 0x20 && l[i] < 0x7f)
    i++;
  if (i >= n || l[i] != ' ')
    return false;
  /* The path without a query string, as libmicrohttpd passes it. */
  for (p = m; p < i && l[p] != '?'; p++)
    ;
  memcpy (r->path, l + m, p - m);
  r->path[p - m] = '\0';
  i++;
  if (n - i != 8 || memcmp (l + i, "HTTP/1.", 7) != 0
      || (l[i + 7] != '0' && l[i + 7] != '1'))
    return false;
  r->http10 = l[i + 7] == '0';
  r->keep_alive = !r->http10;
  return true;
}

/* Parse the head buf[0..end): 0 on success, else the reply was sent. */
static int
parse_head (struct conn *c, size_t end, struct request *r)
{
  char q[VDVS_HTTP1_QUOTE_MAX + 4];
  const char *l = c->buf, *stop = c->buf + end;
  bool first = true;
  bool want_close = false, want_keep = false;

  while (l < stop)
    {
      const char *nl = memchr (l, '\n', (size_t) (stop - l));
      size_t n = (size_t) (nl - l);
      if (n > 0 && l[n - 1] == '\r')
        n--;
      if (first)
        {
          first = false;
          if (!parse_request_line (l, n, r))
            {
              vdvs_http1_quote (q, l, n);
              refuse (c, r, 400,
                      err_json ("malformed HTTP request line \"%s\": "
                                "expected \"POST /Plugin.Activate HTTP/1.1\"",
                                q));
              return -1;
            }
        }
      else if (n > 0)
        {
          const char *colon = memchr (l, ':', n);
          const char *v;
          size_t vn, name;
          if (colon == NULL || colon == l
              || memchr (l, ' ', (size_t) (colon - l))
              || memchr (l, '\t', (size_t) (colon - l)))
            {
              vdvs_http1_quote (q, l, n);
              refuse (c, r, 400,
                      err_json ("malformed HTTP header line \"%s\": "
                                "expected \"Name: value\"",
                                q));
              return -1;
            }
          name = (size_t) (colon - l);
          vdvs_http1_header_value (l, n, name, &v, &vn);
          if (vdvs_http1_ieq (l, name, "content-length"))
            {
              unsigned long long x = 0;
              if (vdvs_http1_parse_length (v, vn, &x) < 0
                  || (r->have_length && x != r->length))
                {
                  vdvs_http1_quote (q, v, vn);
                  refuse (c, r, 400,
                          err_json ("bad Content-Length \"%s\": expected one "
                                    "decimal byte count",
                                    q));
                  return -1;
                }
              r->have_length = true;
              r->length = x;
            }
          else if (vdvs_http1_ieq (l, name, "transfer-encoding"))
            {
              vdvs_http1_quote (q, v, vn);
              refuse (c, r, 501,
                      err_json ("Transfer-Encoding \"%s\" is not supported: "
                                "send the body with Content-Length",
                                q));
              return -1;
            }
          else if (vdvs_http1_ieq (l, name, "connection"))
            {
              want_close |= has_token (v, vn, "close");
              want_keep |= has_token (v, vn, "keep-alive");
            }
        }
      l = nl + 1;
    }
  if (want_close)
    r->keep_alive = false;
  else if (want_keep)
    r->keep_alive = true;
  return 0;
}

/* Read exactly n bytes into out (NULL: drop them), first from what
 * follows the head in buf.  Returns 0 or <0. */
static int
read_body (struct conn *c, size_t *pos, char *out, unsigned long long n)
{
  size_t have = c->len - *pos;
  size_t take = have < n ? have : (size_t) n;
  char sink[4096];

  if (out != NULL)
    memcpy (out, c->buf + *pos, take);
  *pos += take;
  n -= take;
  while (n > 0)
    {
      char *dst = out != NULL ? out + take : sink;
      size_t want = out != NULL ? (size_t) n
                                : (n < sizeof sink ? (size_t) n : sizeof sink);
      long got = c->io->read (c->io->ctx, dst, want);
      if (got <= 0)
        return -1;
      n -= (unsigned long long) got;
      if (out != NULL)
        take += (size_t) got;
    }
  return 0;
}

/* One request: 1 if the connection goes on, 0 if it ends. */
static int
serve_one (struct conn *c, vdvs_http_handler handler)
{
  struct request r = { .keep_alive = true };
  size_t end = 0, pos;
  char *body;
  int rc;

  for (;;)
    {
      long got;
      /* Empty lines before a request line are allowed (RFC 9112 2.2). */
      while (c->len > 0 && (c->buf[0] == '\r' || c->buf[0] == '\n'))
        memmove (c->buf, c->buf + 1, --c->len);
      if (c->len > 0 && (end = head_end (c)) != 0)
        break;
      if (c->len == sizeof c->buf)
        {
          refuse (c, &r, 431,
                  err_json ("request head larger than %d bytes",
                            VDVS_HTTP1_MAX_HEAD));
          return 0;
        }
      got = c->io->read (c->io->ctx, c->buf + c->len, sizeof c->buf - c->len);
      if (got <= 0)
        return 0; /* closed, between requests or within one */
      c->len += (size_t) got;
    }
  if (parse_head (c, end, &r) < 0)
    return 0;
  pos = end;
  if (r.length > VDVS_HTTP_MAX_BODY)
    {
      /* Refused as src/http.c does (200 and Err), after dropping the body
       * when it is not huge. */
      bool drain = r.length <= VDVS_HTTP1_MAX_DRAIN;
      if (drain && read_body (c, &pos, NULL, r.length) < 0)
        return 0;
      r.keep_alive &= drain;
      rc = reply (c, &r, 200,
                  err_json ("request body of %llu bytes is too large "
                            "(max %d bytes)",
                            r.length, VDVS_HTTP_MAX_BODY));
    }
  else
    {
      body = malloc ((size_t) r.length + 1);
      if (body == NULL || read_body (c, &pos, body, r.length) < 0)
        {
          free (body);
          return 0;
        }
      body[r.length] = '\0';
      if (strcmp (r.method, "POST") != 0)
        rc = reply (c, &r, 405,
                    err_json ("method %s not allowed: the plugin API is POST "
                              "only",
                              r.method));
      else
        rc = reply (c, &r, 200, handler (r.path, body, (size_t) r.length));
      free (body);
    }
  if (rc < 0 || !r.keep_alive)
    return 0;
  /* Keep what followed this request: the next (pipelined) one. */
  if (pos < c->len)
    memmove (c->buf, c->buf + pos, c->len - pos);
  c->len -= pos < c->len ? pos : c->len;
  return 1;
}

unsigned
vdvs_http1_serve (const struct vdvs_http1_io *io, vdvs_http_handler handler)
{
  struct conn *c = malloc (sizeof *c);
  unsigned n = 0;

  if (c == NULL)
    return 0;
  c->io = io;
  c->len = 0;
  while (serve_one (c, handler) > 0)
    n++;
  free (c);
  return n;
}
