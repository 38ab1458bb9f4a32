/* ESX wire framing: see wire.h. */
#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/clock.h"
#include "vdvs/error.h"

int64_t
esx_now_ms (void)
{
  return vdvs_mono_ns () / 1000000;
}

int64_t
esx_deadline_in (int64_t ms)
{
  return ms < 0 ? -1 : esx_now_ms () + ms;
}

static void
put_le32 (uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t
get_le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}

int
esx_wire_frame (const char *json, size_t json_len, uint8_t **frame,
                size_t *frame_len, vdvs_error_t *err)
{
  uint8_t *f;

  if (json_len >= UINT32_MAX)
    return vdvs_error_set (err, EMSGSIZE, "Message too large: %zu bytes",
                           json_len);
  f = malloc (ESX_WIRE_HEADER_SIZE + json_len + 1);
  if (f == NULL)
    return vdvs_error_set (err, ENOMEM, "Failed to allocate memory len : %zu",
                           json_len + 1);
  put_le32 (f, ESX_WIRE_MAGIC);
  put_le32 (f + 4, (uint32_t) (json_len + 1));
  memcpy (f + ESX_WIRE_HEADER_SIZE, json, json_len);
  f[ESX_WIRE_HEADER_SIZE + json_len] = '\0';
  *frame = f;
  *frame_len = ESX_WIRE_HEADER_SIZE + json_len + 1;
  return 0;
}

int
esx_wire_header_parse (const uint8_t hdr[ESX_WIRE_HEADER_SIZE], size_t max,
                       uint32_t *length, vdvs_error_t *err)
{
  uint32_t magic = get_le32 (hdr);
  uint32_t len = get_le32 (hdr + 4);

  if (magic != ESX_WIRE_MAGIC)
    return vdvs_error_set (err, EBADMSG, "Wrong magic: got 0x%x expected 0x%x",
                           magic, ESX_WIRE_MAGIC);
  if (max != 0 && len > max)
    return vdvs_error_set (err, ERANGE, "Query is too large: %u (max %zu)",
                           len, max);
  /* Even an empty JSON text carries its NUL: length 0 is not a frame. */
  if (len == 0)
    return vdvs_error_set (err, EBADMSG, "Protocol error: len mismatch");
  *length = len;
  return 0;
}

int
esx_wire_payload_check (const char *buf, size_t length, vdvs_error_t *err)
{
  if (length == 0 || buf[length - 1] != '\0'
      || memchr (buf, '\0', length) != buf + length - 1)
    return vdvs_error_set (err, EBADMSG, "Protocol error: len mismatch");
  return 0;
}

/* Wait until fd is ready for `events` or the deadline passes.
 * 0 or -errno. */
static int
wait_fd (int fd, short events, int64_t deadline)
{
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = events };
      int timeout = -1, r;

      if (deadline >= 0)
        {
          int64_t left = deadline - esx_now_ms ();
          if (left <= 0)
            return -ETIMEDOUT;
          timeout = left > INT32_MAX ? INT32_MAX : (int) left;
        }
      r = poll (&p, 1, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        return -ETIMEDOUT;
      return 0;
    }
}

/* 0 or -errno; *got counts bytes read.  EOF before len is -EBADMSG, as
 * upstream's CHECK_ERRNO forces for a short read without errno. */
static int
read_exact (int fd, void *buf, size_t len, size_t *got, int64_t deadline)
{
  *got = 0;
  while (*got < len)
    {
      ssize_t n = recv (fd, (char *) buf + *got, len - *got, MSG_DONTWAIT);
      if (n > 0)
        {
          *got += (size_t) n;
          continue;
        }
      if (n == 0)
        return -EBADMSG;
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
      int r = wait_fd (fd, POLLIN, deadline);
      if (r < 0)
        return r;
    }
  return 0;
}

static int
write_exact (int fd, const void *buf, size_t len, int64_t deadline)
{
  size_t done = 0;

  while (done < len)
    {
      ssize_t n = send (fd, (const char *) buf + done, len - done,
                        MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0)
        {
          done += (size_t) n;
          continue;
        }
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
      int r = wait_fd (fd, POLLOUT, deadline);
      if (r < 0)
        return r;
    }
  return 0;
}

static const char *
io_reason (int e)
{
  if (e == EBADMSG)
    return "connection closed by peer";
  if (e == ETIMEDOUT)
    return "timed out";
  return strerror (e);
}

int
esx_wire_write_all (int fd, const void *buf, size_t len, int64_t deadline,
                    vdvs_error_t *err)
{
  int r = write_exact (fd, buf, len, deadline);
  if (r < 0)
    return vdvs_error_set (err, -r, "Failed to send data: %s", io_reason (-r));
  return 0;
}

int
esx_wire_read_all (int fd, void *buf, size_t len, size_t *got,
                   int64_t deadline, vdvs_error_t *err)
{
  int r = read_exact (fd, buf, len, got, deadline);
  if (r < 0)
    return vdvs_error_set (err, -r,
                           "Failed to receive data: received %zu expected "
                           "%zu bytes (%s)",
                           *got, len, io_reason (-r));
  return 0;
}

int
esx_wire_send (int fd, const char *json, int64_t deadline, vdvs_error_t *err)
{
  uint8_t *frame;
  size_t len;
  int r;

  if (esx_wire_frame (json, strlen (json), &frame, &len, err) < 0)
    return -1;
  r = write_exact (fd, frame, len, deadline);
  free (frame);
  if (r < 0)
    return vdvs_error_set (err, -r, "Failed to send request: %s",
                           io_reason (-r));
  return 0;
}

int
esx_wire_recv (int fd, size_t max, char **json, size_t *json_len,
               int64_t deadline, vdvs_error_t *err)
{
  uint8_t hdr[ESX_WIRE_HEADER_SIZE];
  uint32_t length;
  size_t got;
  char *buf;
  int r;

  r = read_exact (fd, hdr, 4, &got, deadline);
  if (r < 0)
    return vdvs_error_set (err, -r,
                           "Failed to receive magic data: received %zu "
                           "expected 4 bytes (%s)",
                           got, io_reason (-r));
  /* Like the upstream server, give up on a bad magic before reading on. */
  if (get_le32 (hdr) != ESX_WIRE_MAGIC)
    return vdvs_error_set (err, EBADMSG, "Wrong magic: got 0x%x expected 0x%x",
                           get_le32 (hdr), ESX_WIRE_MAGIC);
  r = read_exact (fd, hdr + 4, 4, &got, deadline);
  if (r < 0)
    return vdvs_error_set (err, -r,
                           "Failed to receive data len : ret %zu (%s)", got,
                           io_reason (-r));
  if (esx_wire_header_parse (hdr, max, &length, err) < 0)
    return -1;

  /* Any size is accepted, but memory follows the bytes that really
   * arrive: a header announcing 4 GiB costs nothing until they come. */
  {
    size_t cap = length < 65536 ? (size_t) length + 1 : 65536, have = 0;
    buf = malloc (cap);
    if (buf == NULL)
      return vdvs_error_set (err, ENOMEM, "Failed to allocate memory len : %u",
                             length);
    while (have < length)
      {
        size_t want = (size_t) length - have;
        if (have + 1 >= cap)
          {
            size_t ncap = cap * 2 > (size_t) length + 1 ? (size_t) length + 1
                                                        : cap * 2;
            char *nb = realloc (buf, ncap);
            if (nb == NULL)
              {
                free (buf);
                return vdvs_error_set (err, ENOMEM,
                                       "Failed to allocate memory len : %u",
                                       length);
              }
            buf = nb;
            cap = ncap;
          }
        if (want > cap - 1 - have)
          want = cap - 1 - have;
        r = read_exact (fd, buf + have, want, &got, deadline);
        have += got;
        if (r < 0)
          {
            free (buf);
            return vdvs_error_set (err, -r,
                                   "Failed to receive message data: received "
                                   "%zu expected %u (%s)",
                                   have, length, io_reason (-r));
          }
      }
  }
  buf[length] = '\0';
  if (esx_wire_payload_check (buf, length, err) < 0)
    {
      free (buf);
      return -1;
    }
  *json = buf;
  *json_len = length - 1;
  return 0;
}
