/* The Docker engine client's HTTP/1.1 reply reader
 * (src/platform/windows/http1_client.c, plain C) on Linux, over a memory
 * stream: good replies in every framing, and hostile ones refused with an
 * error naming what was wrong. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1_client.h"

struct mem
{
  const char *in;
  size_t len, pos, step; /* step: bytes per read (0: all) */
  char sent[2048];
  size_t sent_len;
};

static long
mem_read (void *ctx, char *buf, size_t n)
{
  struct mem *m = ctx;
  size_t take = m->len - m->pos;

  if (m->step && take > m->step)
    take = m->step;
  if (take > n)
    take = n;
  memcpy (buf, m->in + m->pos, take);
  m->pos += take;
  return (long) take;
}

static int
mem_write (void *ctx, const char *buf, size_t n)
{
  struct mem *m = ctx;

  if (n > sizeof m->sent - m->sent_len)
    return -1;
  memcpy (m->sent + m->sent_len, buf, n);
  m->sent_len += n;
  return 0;
}

/* GET over `in` (read `step` bytes at a time): 0 or <0 with *err. */
static int
get (const char *in, size_t len, size_t step, size_t max,
     struct vdvs_http1_reply *rep, vdvs_error_t *err)
{
  static struct mem m;
  static struct vdvs_http1_io io = { &m, mem_read, mem_write };

  memset (&m, 0, sizeof m);
  m.in = in;
  m.len = len;
  m.step = step;
  return vdvs_http1_get (&io, "/v1.24/containers/json", max, rep, err);
}

static void
good (const char *in, unsigned status, const char *body)
{
  for (size_t step = 0; step <= 1; step++)
    {
      struct vdvs_http1_reply rep;
      vdvs_error_t err = NULL;
      cr_assert_eq (get (in, strlen (in), step, 1024, &rep, &err), 0, "%s: %s",
                    in, err ? err->msg : "");
      cr_assert_eq (rep.status, status, "%s", in);
      cr_assert_eq (rep.len, strlen (body), "%s", in);
      cr_assert_str_eq (rep.body, body, "%s", in);
      free (rep.body);
    }
}

static void
bad (const char *in, size_t max, const char *want)
{
  size_t len = strlen (in);

  struct vdvs_http1_reply rep;
  vdvs_error_t err = NULL;

  cr_assert_lt (get (in, len, 0, max, &rep, &err), 0, "%s", in);
  cr_assert_null (rep.body);
  cr_assert (strstr (err->msg, want) != NULL, "%s: got `%s`, want `%s`", in,
             err->msg, want);
  vdvs_error_release (&err);
}

Test (http1_client, sends_one_get_that_closes)
{
  struct vdvs_http1_reply rep;
  vdvs_error_t err = NULL;
  static struct mem m = { .in = "HTTP/1.1 200 OK\r\n\r\n", .len = 19 };
  struct vdvs_http1_io io = { &m, mem_read, mem_write };

  cr_assert_eq (vdvs_http1_get (&io, "/v1.24/containers/json?all=1", 64, &rep,
                                &err),
                0);
  m.sent[m.sent_len] = '\0';
  cr_assert_str_eq (m.sent, "GET /v1.24/containers/json?all=1 HTTP/1.1\r\n"
                            "Host: localhost\r\nUser-Agent: vdvsd\r\n"
                            "Accept: application/json\r\n"
                            "Connection: close\r\n\r\n");
  cr_assert_eq (rep.len, 0);
  cr_assert_str_eq (rep.body, "");
  free (rep.body);
}

Test (http1_client, reads_every_framing)
{
  good ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n[]",
        200, "[]");
  /* Go's server past its 2 KiB buffer: chunked, with an extension and a
   * trailer. */
  good ("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
        "3;x=y\r\n[{}\r\nA\r\n,{\"a\":12}]\r\n0\r\nX-T: 1\r\n\r\n",
        200, "[{},{\"a\":12}]");
  good ("HTTP/1.0 200 OK\r\n\r\n[1,2]", 200, "[1,2]");
  good ("HTTP/1.1 500 Internal Server Error\nContent-Length: 15\n\n"
        "{\"message\":\"x\"}",
        500, "{\"message\":\"x\"}");
  good ("HTTP/1.1 204\r\n\r\n", 204, "");
}

Test (http1_client, refuses_hostile_replies)
{
  bad ("", 64, "connection closed before the end of the reply status line");
  bad ("SSH-2.0-OpenSSH_9.2\r\n\r\n", 64,
       "malformed HTTP status line \"SSH-2.0-OpenSSH_9.2\"");
  bad ("HTTP/1.1 2000 OK\r\n\r\n", 64, "malformed HTTP status line");
  bad ("HTTP/1.1 100 Continue\r\n\r\n", 64, "unexpected interim reply 100");
  bad ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", 64,
       "malformed HTTP header line \"No colon here\"");
  bad ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n[]",
       64, "bad Content-Length \"3\"");
  bad ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 64,
       "bad Content-Length \"-1\"");
  bad ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 64,
       "Transfer-Encoding \"gzip\" is not supported");
  bad ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: "
       "2\r\n\r\n",
       64, "both Content-Length and Transfer-Encoding");
  /* Truncated: in the head, in a Content-Length body, in a chunk. */
  bad ("HTTP/1.1 200 OK\r\nContent-Le", 64,
       "connection closed before the end of the reply header line");
  bad ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[{", 64,
       "connection closed after 2 of 10 body bytes");
  bad ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[]", 64,
       "connection closed after 2 of 5 body bytes");
  bad ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 64,
       "malformed chunk-size line \"zz\"");
  bad ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]xx", 64,
       "chunk data not followed by CR LF");
  /* Over the limits: announced, chunked, unframed, a head without end. */
  bad ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", 64,
       "reply body of 99999999999 bytes is larger than the limit of 64 bytes");
  bad ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "30\r\n012345678901234567890123456789012345678901234567\r\n"
       "30\r\n012345678901234567890123456789012345678901234567\r\n0\r\n\r\n",
       64, "larger than the limit of 64 bytes");
  {
    size_t n = 200000;
    char *big = malloc (n + 1);
    memset (big, 'a', n);
    big[n] = '\0';
    memcpy (big, "HTTP/1.1 200 OK\r\n\r\n", 19);
    bad (big, 1024, "reply body larger than the limit of 1024 bytes");
    memcpy (big, "HTTP/1.1 200 OK\r\nX: ", 20);
    bad (big, 1024, "reply header line longer than 16384 bytes");
    free (big);
  }
}
