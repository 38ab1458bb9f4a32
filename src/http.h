/* The plugin's HTTP server on a unix socket (libmicrohttpd, a thread per
 * connection), so a slow Mount never holds up another connection. */
#ifndef VDVS_HTTP_H
#define VDVS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "vdvs/error.h"

#define VDVS_HTTP_MAX_BODY (1024 * 1024)

/* Handle one POST: return a malloc'd JSON body (always HTTP 200). */
typedef char *(*vdvs_http_handler) (const char *path, const char *body,
                                    size_t len);

struct vdvs_http;
/* Bind `socket_path` (stale socket replaced, mode 0600) and serve at most
 * `max_connections` connections at once (more wait in the backlog). */
int vdvs_http_start (const char *socket_path, int max_connections,
                     vdvs_http_handler handler, struct vdvs_http **out,
                     vdvs_error_t *err);
/* Stop serving and remove the socket. */
void vdvs_http_stop (struct vdvs_http *h);

#endif
