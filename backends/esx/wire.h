/* ESX wire framing (reference §1.3), shared by the client and esxsim.
 *
 *   +------------------+------------------+------------------------------+
 *   | LE u32 magic     | LE u32 length    | length bytes: JSON text + NUL|
 *   | 0x0BADBEEF       | strlen(json) + 1 |                              |
 *   +------------------+------------------+------------------------------+
 *
 * One frame each way per connection.  Upstream sends the three parts with
 * three send() calls and reads each with one recv(); we loop on partial
 * reads and writes, and every I/O call honours an absolute deadline so a
 * hung peer becomes ETIMEDOUT instead of a blocked thread.
 *
 * Error messages reuse the upstream client texts ("Wrong magic: got 0x%x
 * expected 0x%x", ...) because they end up in the user's Err after
 * "Run '<cmd>' failed: ... - ".
 */
#ifndef VDVS_ESX_WIRE_H
#define VDVS_ESX_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "vdvs/error.h"

#define ESX_WIRE_MAGIC 0x0BADBEEFu
#define ESX_WIRE_HEADER_SIZE 8
/* Upstream client cap on a request (MAXBUF). */
#define ESX_WIRE_CLIENT_MAX (1024 * 1024)
/* Upstream server buffer (MAX_JSON_SIZE), NUL included. */
#define ESX_WIRE_SERVER_MAX 4096

/* Monotonic clock in milliseconds, for deadlines. */
int64_t esx_now_ms (void);
/* Deadline `ms` milliseconds from now; ms < 0 means "none" (-1). */
int64_t esx_deadline_in (int64_t ms);

/* Build a frame for `json` (without its NUL) into a malloc'd buffer; the
 * caller frees *frame.  Returns 0, or <0 with *err set when the JSON does
 * not fit in a u32 length. */
int esx_wire_frame (const char *json, size_t json_len, uint8_t **frame,
                    size_t *frame_len, vdvs_error_t *err);

/* Check an 8-byte header; on success *length is the announced payload size
 * (NUL included).  max == 0 means no upper bound (the client accepts any
 * reply size); over max is ERANGE, bad magic or zero length EBADMSG. */
int esx_wire_header_parse (const uint8_t hdr[ESX_WIRE_HEADER_SIZE], size_t max,
                           uint32_t *length, vdvs_error_t *err);

/* Check a received payload: it must be NUL-terminated exactly at its end
 * (upstream: strlen(buf) + 1 == length).  EBADMSG otherwise. */
int esx_wire_payload_check (const char *buf, size_t length, vdvs_error_t *err);

/* Write all of buf to a (possibly non-blocking) socket before the
 * deadline (-1: none).  No SIGPIPE. */
int esx_wire_write_all (int fd, const void *buf, size_t len, int64_t deadline,
                        vdvs_error_t *err);
/* Read exactly len bytes.  *got receives the number read even on error
 * (a peer that closes early gives EBADMSG). */
int esx_wire_read_all (int fd, void *buf, size_t len, size_t *got,
                       int64_t deadline, vdvs_error_t *err);

/* Send one frame carrying json (a C string). */
int esx_wire_send (int fd, const char *json, int64_t deadline,
                   vdvs_error_t *err);
/* Receive one frame: *json is a malloc'd NUL-terminated string owned by the
 * caller, *json_len its strlen.  max as in esx_wire_header_parse. */
int esx_wire_recv (int fd, size_t max, char **json, size_t *json_len,
                   int64_t deadline, vdvs_error_t *err);

#endif
