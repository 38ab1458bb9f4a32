/* One HTTP/1.1 GET over any byte stream, with a small strict reply reader
 * (for the Docker engine's API on a named pipe, where vdvsd.exe has no
 * curl).  Portable C over the same two callbacks as the server loop
 * (http1.h), so it builds and is tested on Linux; timeouts belong to the
 * transport, whose read fails once its deadline has passed.
 *
 * The reply: `HTTP/1.0|1.1 NNN reason`, header lines `Name: value`, the
 * head at most VDVS_HTTP1_CLIENT_MAX_HEAD bytes, then a body framed by
 * Content-Length, `Transfer-Encoding: chunked` or the end of the stream,
 * at most `max_body` bytes.  Anything else is an error quoting it. */
#ifndef VDVS_HTTP1_CLIENT_H
#define VDVS_HTTP1_CLIENT_H

#include <stddef.h>

#include "vdvs/error.h"

#include "http1.h"

#define VDVS_HTTP1_CLIENT_MAX_HEAD (16 * 1024)

struct vdvs_http1_reply
{
  unsigned status;
  char *body; /* NUL-terminated, owned: free() */
  size_t len;
};

/* Send `GET path HTTP/1.1` (Host: localhost, Connection: close) and read
 * the whole reply into *out.  Returns 0 (any status), or <0 with *err set:
 * EIO when the transport failed or the stream ended early, EPROTO for a
 * malformed reply, EFBIG for a body over max_body. */
int vdvs_http1_get (const struct vdvs_http1_io *io, const char *path,
                    size_t max_body, struct vdvs_http1_reply *out,
                    vdvs_error_t *err);

#endif
