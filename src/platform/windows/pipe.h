/* The plugin's transport on Windows: HTTP/1.x (http1.h) on a named pipe,
 * where Linux has libmicrohttpd on a unix socket (http.h).  Same handler,
 * same start/stop shape. */
#ifndef VDVS_PIPE_H
#define VDVS_PIPE_H

#include "http.h"
#include "vdvs/error.h"

/* Where Docker on Windows looks for the vsphere plugin (spec file below). */
#define VDVS_PIPE_NAME "\\\\.\\pipe\\vsphere-dvs"

struct vdvs_pipe;
/* Create the first instance of pipe `name` (byte mode, duplex, remote
 * clients refused, only SYSTEM and Administrators may open it) and serve
 * it: a thread per connection, at most `max_connections` at once (more
 * wait connected until one closes).  Fails if another process serves the
 * name.  On return the pipe exists, so the spec file may be written. */
int vdvs_pipe_start (const char *name, int max_connections,
                     vdvs_http_handler handler, struct vdvs_pipe **out,
                     vdvs_error_t *err);
/* Stop accepting, end idle connections, wait for running requests. */
void vdvs_pipe_stop (struct vdvs_pipe *p);

#endif
