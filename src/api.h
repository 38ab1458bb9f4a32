/* The Docker volume plugin API (v1): request parsing, dispatch, replies. */
#ifndef VDVS_API_H
#define VDVS_API_H

#include <stddef.h>

/* The vdvs_http_handler: every answer is a JSON body for HTTP 200, with a
 * non-empty "Err" on failure. */
char *vdvs_api_handle (const char *path, const char *body, size_t len);

#endif
