/* Client side of the vmdkfs control socket.
 *
 * Protocol: connect to the unix stream socket (default
 * /run/vdvs/vmdkfs.ctl), write one request line ending in '\n', read the
 * reply until the server closes.  The reply's first line is "ok" or
 * "err ERRNAME message"; after "ok" come zero or more body lines.
 *
 * Requests: ping | stats | help | fault add|trigger|delay|stall|release|
 * readonly|clear|list ... (see `vmdkfs --help` or the `help` request).
 */
#ifndef VMDKFS_CTL_CLIENT_H
#define VMDKFS_CTL_CLIENT_H

#define VMDKFS_CTL_DEFAULT_PATH "/run/vdvs/vmdkfs.ctl"

/* Send `line` (no trailing newline needed) to the vmdkfs listening on
 * sock_path (NULL: the default).  Returns 0 when the server said "ok",
 * the server's errno negated when it said "err", or -errno when the
 * socket could not be used.  *reply_out (may be NULL) receives a malloc'd
 * string the caller frees: the body after "ok", the message after "err",
 * or a description of the local failure. */
int vmdkfs_ctl_request (const char *sock_path, const char *line,
                        char **reply_out);

#endif
