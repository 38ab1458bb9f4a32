/* A small HTTP/1.x server loop for the plugin API over any byte stream
 * (on Windows: a named-pipe connection, which libmicrohttpd cannot serve).
 * Portable C: the transport is two callbacks, so the parser knows nothing
 * of pipes and builds anywhere.
 *
 * What it accepts: `METHOD /path HTTP/1.0|1.1`, header lines `Name: value`,
 * a body of Content-Length bytes (at most VDVS_HTTP_MAX_BODY; no chunked
 * bodies), keep-alive (1.1 unless `Connection: close`, 1.0 only with
 * `Connection: keep-alive`) and pipelined requests.  Replies are the
 * handler's JSON with Docker's plugin content type, as src/http.c sends. */
#ifndef VDVS_HTTP1_H
#define VDVS_HTTP1_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* Request head limit (request line plus headers). */
#define VDVS_HTTP1_MAX_HEAD (8 * 1024)
/* An oversize body up to this size is read and dropped, so the refusal is
 * an ordinary reply on a connection that stays usable; a larger one gets
 * the refusal and the connection is closed. */
#define VDVS_HTTP1_MAX_DRAIN (16 * VDVS_HTTP_MAX_BODY)

struct vdvs_http1_io
{
  void *ctx;
  /* Read up to n bytes: >0 bytes read, 0 at end of stream, <0 on error
   * (including the transport's timeout or shutdown). */
  long (*read) (void *ctx, char *buf, size_t n);
  /* Write all n bytes: 0, or <0 on error. */
  int (*write) (void *ctx, const char *buf, size_t n);
};

/* Printable ASCII copy of at most VDVS_HTTP1_QUOTE_MAX bytes of s[0..n)
 * ("..." when cut), for quoting the peer's input in an error message. */
#define VDVS_HTTP1_QUOTE_MAX 80
void vdvs_http1_quote (char out[VDVS_HTTP1_QUOTE_MAX + 4], const char *s,
                       size_t n);

/* Does a[0..alen) equal the lower-case b, ignoring ASCII case (header
 * names and tokens)? */
bool vdvs_http1_ieq (const char *a, size_t alen, const char *b);

/* The value of header line l[0..n) whose name is l[0..name) (l[name]
 * is the colon), without the blanks around it, into v[0..*vn). */
void vdvs_http1_header_value (const char *l, size_t n, size_t name,
                              const char **v, size_t *vn);
/* A Content-Length value: decimal digits only, at most 18.  0 with *x,
 * or -1. */
int vdvs_http1_parse_length (const char *v, size_t vn, unsigned long long *x);

/* Serve requests on one connection until the peer closes it, an error, or
 * a request that ends the connection; each POST goes to `handler` (path
 * without query, NUL-terminated body).  Returns the number of requests
 * answered. */
unsigned vdvs_http1_serve (const struct vdvs_http1_io *io,
                           vdvs_http_handler handler);

#endif
