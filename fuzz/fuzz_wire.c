/* libFuzzer harness: the ESX wire framing (backends/esx/wire.c), read from
 * a real socket as both ends do.
 *
 * Input: byte 0 picks the reader: even = the client (esx.c reads replies
 * with no size bound, max 0), odd = the server (esxsim reads requests with
 * ESX_WIRE_SERVER_MAX); the rest is the byte stream the peer sends, then
 * it closes its end.
 *
 * Properties: a frame accepted by esx_wire_recv is exactly what
 * esx_wire_frame builds for the JSON it returned (a prefix of the stream);
 * esx_wire_header_parse and esx_wire_payload_check agree with it; nothing
 * is read past the buffer or leaked.
 *
 * Client mode announces lengths up to 4 GiB and esx_wire_recv allocates
 * the announced length before reading it (fuzz/README.md, finding W1);
 * until the client has a bound, inputs announcing more than
 * FUZZ_CLIENT_ALLOC_MAX are only header-checked, so the fuzzer does not
 * stop on that one known report. */
#include <errno.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "wire.h"

#define FUZZ_STREAM_MAX (128 * 1024)
#define FUZZ_CLIENT_ALLOC_MAX (64u * 1024 * 1024)

static uint32_t
le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t max, n;
  const uint8_t *s;
  int sv[2];
  char *json = NULL;
  size_t json_len = 0;
  vdvs_error_t err = NULL;
  int r;

  if (size < 1 || size - 1 > FUZZ_STREAM_MAX)
    return 0;
  max = (data[0] & 1) ? ESX_WIRE_SERVER_MAX : 0;
  s = data + 1;
  n = size - 1;

  /* The pure checks on their own. */
  if (n >= ESX_WIRE_HEADER_SIZE)
    {
      uint32_t length = 0;
      r = esx_wire_header_parse (s, max, &length, &err);
      FUZZ_CHECK ((r == 0) == (err == NULL));
      if (r == 0)
        {
          FUZZ_CHECK (length > 0 && length == le32 (s + 4));
          FUZZ_CHECK (max == 0 || length <= max);
          if (length <= n - ESX_WIRE_HEADER_SIZE)
            {
              char *p = fuzz_memdup (s + ESX_WIRE_HEADER_SIZE, length);
              vdvs_error_t e2 = NULL;
              if (esx_wire_payload_check (p, length, &e2) == 0)
                FUZZ_CHECK (strlen (p) + 1 == length);
              else
                FUZZ_CHECK (e2 != NULL && e2->msg != NULL);
              vdvs_error_release (&e2);
              free (p);
            }
        }
      else
        FUZZ_CHECK (err->msg != NULL);
      vdvs_error_release (&err);
#ifndef FUZZ_WIRE_NO_W1_SKIP
      if (max == 0 && r == 0 && length > FUZZ_CLIENT_ALLOC_MAX)
        return 0; /* finding W1, see above */
#endif
    }

  /* The socket reader. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    abort ();
  {
    int sz = FUZZ_STREAM_MAX * 2;
    setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt (sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  if (n > 0
      && esx_wire_write_all (sv[0], s, n, esx_deadline_in (5000), &err) < 0)
    {
      fprintf (stderr, "fuzz_wire: cannot stage %zu bytes: %s\n", n, err->msg);
      abort ();
    }
  close (sv[0]);
  r = esx_wire_recv (sv[1], max, &json, &json_len, esx_deadline_in (5000),
                     &err);
  close (sv[1]);
  FUZZ_CHECK ((r == 0) == (err == NULL));
  if (r == 0)
    {
      uint8_t *frame = NULL;
      size_t flen = 0;

      FUZZ_CHECK (json != NULL && strlen (json) == json_len);
      FUZZ_CHECK (max == 0 || json_len + 1 <= max);
      FUZZ_CHECK (esx_wire_frame (json, json_len, &frame, &flen, &err) == 0);
      FUZZ_CHECK (flen == ESX_WIRE_HEADER_SIZE + json_len + 1 && flen <= n);
      FUZZ_CHECK (memcmp (frame, s, flen) == 0);
      free (frame);
      free (json);
    }
  else
    {
      FUZZ_CHECK (err->msg != NULL && err->status != 0);
      /* Never a timeout: the peer sent everything and closed. */
      FUZZ_CHECK (err->status != ETIMEDOUT);
    }
  vdvs_error_release (&err);
  return 0;
}
