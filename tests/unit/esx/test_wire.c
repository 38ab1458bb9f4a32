/* ESX framing over socketpairs: exact bytes, partial I/O, large replies and
 * every malformed-frame case. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

static int sv[2];

static void
setup (void)
{
  cr_assert_eq (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
teardown (void)
{
  close (sv[0]);
  if (sv[1] >= 0)
    close (sv[1]);
}

TestSuite (wire, .init = setup, .fini = teardown, .timeout = 20);

/* Write raw bytes to the peer end and close it. */
static void
feed (const void *bytes, size_t n)
{
  cr_assert_eq (write (sv[1], bytes, n), (ssize_t) n);
  close (sv[1]);
  sv[1] = -1;
}

static void
expect_recv_error (size_t max, int status, const char *msg)
{
  vdvs_error_t err = NULL;
  char *json = NULL;
  size_t len;

  cr_assert_lt (esx_wire_recv (sv[0], max, &json, &len, esx_deadline_in (5000),
                               &err),
                0);
  cr_assert_null (json);
  cr_assert_eq (err->status, status, "status %d msg %s", err->status,
                err->msg);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
}

Test (wire, send_exact_bytes)
{
  static const char json[] = "{\"cmd\":\"get\",\"details\":{\"Name\":\"vol1\"},"
                             "\"version\":\"2\"}";
  uint8_t buf[128];
  ssize_t n;

  cr_assert_eq (esx_wire_send (sv[1], json, -1, NULL), 0);
  n = read (sv[0], buf, sizeof buf);
  cr_assert_eq (n, 62);
  cr_assert_eq (buf[0], 0xef);
  cr_assert_eq (buf[1], 0xbe);
  cr_assert_eq (buf[2], 0xad);
  cr_assert_eq (buf[3], 0x0b);
  cr_assert_eq (buf[4], 0x36);
  cr_assert_eq (buf[5] | buf[6] | buf[7], 0);
  cr_assert_arr_eq (buf + 8, json, 53);
  cr_assert_eq (buf[61], 0);
}

Test (wire, round_trip)
{
  char *json;
  size_t len;

  cr_assert_eq (esx_wire_send (sv[1], "null", -1, NULL), 0);
  cr_assert_eq (esx_wire_recv (sv[0], ESX_WIRE_SERVER_MAX, &json, &len, -1,
                               NULL),
                0);
  cr_assert_str_eq (json, "null");
  cr_assert_eq (len, 4);
  free (json);
}

struct slow_writer
{
  int fd;
  const uint8_t *bytes;
  size_t n;
  size_t chunk;
};

static void *
slow_write (void *arg)
{
  struct slow_writer *w = arg;

  for (size_t off = 0; off < w->n; off += w->chunk)
    {
      size_t k = w->n - off < w->chunk ? w->n - off : w->chunk;
      if (esx_wire_write_all (w->fd, w->bytes + off, k, -1, NULL) < 0)
        break;
      if (w->chunk < 16)
        usleep (1000);
    }
  return NULL;
}

Test (wire, byte_by_byte)
{
  static const char json[] = "[{\"Name\": \"vol1@datastore1\", "
                             "\"Attributes\": {}}]";
  uint8_t *frame;
  size_t flen, len;
  struct slow_writer w;
  pthread_t t;
  char *got;

  cr_assert_eq (esx_wire_frame (json, strlen (json), &frame, &flen, NULL), 0);
  w = (struct slow_writer){ sv[1], frame, flen, 1 };
  pthread_create (&t, NULL, slow_write, &w);
  cr_assert_eq (esx_wire_recv (sv[0], 0, &got, &len, esx_deadline_in (10000),
                               NULL),
                0);
  pthread_join (t, NULL);
  cr_assert_str_eq (got, json);
  free (got);
  free (frame);
}

Test (wire, large_reply_any_size)
{
  size_t n = 3 * 1024 * 1024, flen, len;
  char *json = malloc (n + 1), *got;
  uint8_t *frame;
  struct slow_writer w;
  pthread_t t;

  memset (json, 'a', n);
  json[0] = '"';
  json[n - 1] = '"';
  json[n] = '\0';
  cr_assert_eq (esx_wire_frame (json, n, &frame, &flen, NULL), 0);
  w = (struct slow_writer){ sv[1], frame, flen, 65536 };
  pthread_create (&t, NULL, slow_write, &w);
  cr_assert_eq (esx_wire_recv (sv[0], 0, &got, &len, esx_deadline_in (10000),
                               NULL),
                0);
  pthread_join (t, NULL);
  cr_assert_eq (len, n);
  cr_assert_eq (memcmp (got, json, n), 0);
  free (got);
  free (frame);
  free (json);
}

Test (wire, bad_magic)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0xde, 5,   0, 0,
                               0,    'n',  'u',  'l',  'l', 0 };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG,
                     "Wrong magic: got 0xdeadbeef expected "
                     "0xbadbeef");
}

Test (wire, bad_magic_big_endian)
{
  static const uint8_t f[] = { 0x0b, 0xad, 0xbe, 0xef, 0, 0, 0, 5 };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG,
                     "Wrong magic: got 0xefbead0b expected "
                     "0xbadbeef");
}

Test (wire, empty_connection)
{
  feed ("", 0);
  expect_recv_error (0, EBADMSG,
                     "Failed to receive magic data: received 0 "
                     "expected 4 bytes (connection closed by "
                     "peer)");
}

Test (wire, short_magic)
{
  static const uint8_t f[] = { 0xef, 0xbe };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG,
                     "Failed to receive magic data: received 2 "
                     "expected 4 bytes (connection closed by "
                     "peer)");
}

Test (wire, short_length)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0x0b, 5, 0 };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG,
                     "Failed to receive data len : ret 2 "
                     "(connection closed by peer)");
}

Test (wire, short_body)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0x0b, 5, 0, 0, 0, 'n', 'u' };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG,
                     "Failed to receive message data: received 2 "
                     "expected 5 (connection closed by peer)");
}

Test (wire, missing_nul)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0x0b, 4,   0,
                               0,    0,    'n',  'u',  'l', 'l' };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG, "Protocol error: len mismatch");
}

Test (wire, nul_inside)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0x0b, 6,   0,   0,
                               0,    'n',  'u',  0,    'l', 'l', 0 };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG, "Protocol error: len mismatch");
}

Test (wire, zero_length)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0x0b, 0, 0, 0, 0 };
  feed (f, sizeof f);
  expect_recv_error (0, EBADMSG, "Protocol error: len mismatch");
}

Test (wire, too_large_for_server)
{
  static const uint8_t f[] = { 0xef, 0xbe, 0xad, 0x0b, 0x01, 0x10, 0, 0 };
  feed (f, sizeof f);
  expect_recv_error (ESX_WIRE_SERVER_MAX, ERANGE,
                     "Query is too large: 4097 (max 4096)");
}

Test (wire, exactly_server_max)
{
  char json[4096];
  char *got;
  size_t len;
  struct slow_writer w;
  uint8_t *frame;
  size_t flen;
  pthread_t t;

  memset (json, ' ', sizeof json - 1);
  json[0] = '1';
  json[sizeof json - 1] = '\0';
  cr_assert_eq (esx_wire_frame (json, 4095, &frame, &flen, NULL), 0);
  w = (struct slow_writer){ sv[1], frame, flen, 65536 };
  pthread_create (&t, NULL, slow_write, &w);
  cr_assert_eq (esx_wire_recv (sv[0], ESX_WIRE_SERVER_MAX, &got, &len, -1,
                               NULL),
                0);
  pthread_join (t, NULL);
  cr_assert_eq (len, 4095);
  free (got);
  free (frame);
}

Test (wire, timeout)
{
  vdvs_error_t err = NULL;
  char *json;
  size_t len;
  int64_t t0 = esx_now_ms ();

  cr_assert_lt (esx_wire_recv (sv[0], 0, &json, &len, esx_deadline_in (200),
                               &err),
                0);
  cr_assert_eq (err->status, ETIMEDOUT);
  cr_assert_geq (esx_now_ms () - t0, 150);
  cr_assert_str_eq (err->msg, "Failed to receive magic data: received 0 "
                              "expected 4 bytes (timed out)");
  vdvs_error_release (&err);
}

Test (wire, header_parse)
{
  static const uint8_t ok[] = { 0xef, 0xbe, 0xad, 0x0b, 0x36, 0, 0, 0 };
  uint32_t len;

  cr_assert_eq (esx_wire_header_parse (ok, ESX_WIRE_SERVER_MAX, &len, NULL),
                0);
  cr_assert_eq (len, 54);
  cr_assert_eq (esx_wire_payload_check ("null", 5, NULL), 0);
  cr_assert_lt (esx_wire_payload_check ("null", 4, NULL), 0);
}

Test (wire, send_to_closed_peer)
{
  vdvs_error_t err = NULL;

  close (sv[1]);
  sv[1] = -1;
  /* No SIGPIPE: the error comes back as EPIPE. */
  cr_assert_lt (esx_wire_send (sv[0], "null", -1, &err), 0);
  cr_assert_eq (err->status, EPIPE);
  vdvs_error_release (&err);
}
