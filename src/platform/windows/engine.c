/* The Docker engine client of vdvsd.exe (docker.h): the engine's API on
 * its named pipe (npipe:////./pipe/docker_engine), one GET per call with
 * http1_client.c's reader, every step bounded by one 5 s deadline, and
 * the container walk shared with Linux (docker_walk.c). */
#include "docker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "http1_client.h"
#include "winerr.h"

#define ENGINE_TIMEOUT_MS 5000

struct pipe_io
{
  HANDLE h, ev;
  ULONGLONG deadline;
  bool timed_out;
};

static DWORD
remaining (const struct pipe_io *p)
{
  ULONGLONG now = GetTickCount64 ();
  return now >= p->deadline ? 0 : (DWORD) (p->deadline - now);
}

/* One overlapped ReadFile/WriteFile finished or given up at the
 * deadline: bytes moved, or -1 (0 for a read at the end of the stream). */
static long
finish (struct pipe_io *p, OVERLAPPED *ov, BOOL ok, bool reading)
{
  DWORD n = 0, e = ok ? 0 : GetLastError ();

  if (!ok && e == ERROR_IO_PENDING)
    {
      if (WaitForSingleObject (p->ev, remaining (p)) != WAIT_OBJECT_0)
        {
          p->timed_out = true;
          CancelIoEx (p->h, ov);
        }
      /* Waits for a cancelled one too: ov and the buffer are ours until
       * it is done. */
      ok = GetOverlappedResult (p->h, ov, &n, TRUE);
      e = ok ? 0 : GetLastError ();
      if (p->timed_out)
        return -1;
    }
  else if (ok)
    GetOverlappedResult (p->h, ov, &n, FALSE);
  if (ok || e == ERROR_MORE_DATA) /* a message-mode pipe: still bytes */
    return (long) n;
  if (reading && (e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED))
    return 0;
  return -1;
}

static long
pio_read (void *ctx, char *buf, size_t len)
{
  struct pipe_io *p = ctx;
  OVERLAPPED ov = { .hEvent = p->ev };
  DWORD want = len > (1u << 20) ? (1u << 20) : (DWORD) len;

  ResetEvent (p->ev);
  return finish (p, &ov, ReadFile (p->h, buf, want, NULL, &ov), true);
}

static int
pio_write (void *ctx, const char *buf, size_t len)
{
  struct pipe_io *p = ctx;

  while (len > 0)
    {
      OVERLAPPED ov = { .hEvent = p->ev };
      DWORD want = len > (1u << 20) ? (1u << 20) : (DWORD) len;
      long n;
      ResetEvent (p->ev);
      n = finish (p, &ov, WriteFile (p->h, buf, want, NULL, &ov), false);
      if (n <= 0)
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* npipe:////./pipe/NAME (Docker's spelling), //./pipe/NAME or
 * \\.\pipe\NAME as \\.\pipe\NAME in out; false for anything else. */
static bool
pipe_name (const char *address, wchar_t *out, size_t len)
{
  char name[MAX_PATH];
  const char *a = address;

  if (strncmp (a, "npipe://", 8) == 0)
    a += 8;
  if (strlen (a) >= sizeof name)
    return false;
  strcpy (name, a);
  for (char *c = name; *c; c++)
    if (*c == '/')
      *c = '\\';
  if (_strnicmp (name, "\\\\.\\pipe\\", 9) != 0 || name[9] == '\0'
      || strchr (name + 9, '\\') != NULL)
    return false;
  return MultiByteToWideChar (CP_UTF8, 0, name, -1, out, (int) len) > 0;
}

bool
vdvs_docker_present (const char *address)
{
  wchar_t name[MAX_PATH];

  /* A malformed address is "present": the call then says what is wrong. */
  if (!pipe_name (address, name, MAX_PATH))
    return true;
  return WaitNamedPipeW (name, 1) || GetLastError () != ERROR_FILE_NOT_FOUND;
}

/* Open the engine's pipe, waiting for a free instance until the
 * deadline.  Never lets the engine act as us (an anonymous token). */
static int
open_pipe (const char *address, const wchar_t *name, struct pipe_io *p,
           vdvs_error_t *err)
{
  char msg[256];

  for (;;)
    {
      DWORD e;
      p->h = CreateFileW (name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                          OPEN_EXISTING,
                          FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT
                              | SECURITY_ANONYMOUS,
                          NULL);
      if (p->h != INVALID_HANDLE_VALUE)
        return 0;
      e = GetLastError ();
      if (e == ERROR_PIPE_BUSY && remaining (p) > 0)
        {
          WaitNamedPipeW (name, remaining (p));
          continue;
        }
      if (e == ERROR_PIPE_BUSY)
        return vdvs_error_set (err, ETIMEDOUT,
                               "Docker engine at `%s` not answering: every "
                               "instance of its pipe stayed busy for %d s",
                               address, ENGINE_TIMEOUT_MS / 1000);
      return vdvs_error_set (err, e == ERROR_FILE_NOT_FOUND ? ENOENT : EIO,
                             "Docker engine at `%s` not answering: %s",
                             address,
                             vdvs_win_error_text (e, msg, sizeof msg));
    }
}

int
vdvs_docker_mounts (const char *address,
                    void (*fn) (const char *, const char *, const char *,
                                long long, bool, void *),
                    void *opaque, vdvs_error_t *err)
{
  wchar_t name[MAX_PATH];
  struct pipe_io p = { .h = INVALID_HANDLE_VALUE };
  struct vdvs_http1_io io = { &p, pio_read, pio_write };
  struct vdvs_http1_reply rep;
  int r;

  if (!pipe_name (address, name, MAX_PATH))
    return vdvs_error_set (err, EINVAL,
                           "Docker engine address `%s` is not a named pipe: "
                           "expected npipe:////./pipe/NAME or \\\\.\\pipe\\NAME",
                           address);
  p.deadline = GetTickCount64 () + ENGINE_TIMEOUT_MS;
  if ((p.ev = CreateEventW (NULL, TRUE, FALSE, NULL)) == NULL)
    return vdvs_error_set (err, ENOMEM, "CreateEvent failed");
  r = open_pipe (address, name, &p, err);
  if (r == 0)
    {
      r = vdvs_http1_get (&io, VDVS_DOCKER_CONTAINERS_PATH,
                          VDVS_DOCKER_MAX_REPLY, &rep, err);
      CloseHandle (p.h);
      if (r < 0 && p.timed_out)
        {
          vdvs_error_release (err);
          r = vdvs_error_set (err, ETIMEDOUT,
                              "Docker engine at `%s` not answering: no "
                              "complete reply within %d s",
                              address, ENGINE_TIMEOUT_MS / 1000);
        }
      else if (r < 0)
        r = vdvs_error_wrap (err,
                             (*err)->status == EIO
                                 ? "Docker engine at `%s` not answering"
                                 : "Docker engine at `%s` sent a bad reply",
                             address);
    }
  CloseHandle (p.ev);
  if (r < 0)
    return r;
  if (rep.status != 200)
    {
      char q[204];
      size_t i;
      for (i = 0; i < rep.len && i < 200; i++)
        q[i] = rep.body[i] >= 0x20 && rep.body[i] < 0x7f ? rep.body[i] : '?';
      q[i] = '\0';
      r = vdvs_error_set (err, EHOSTUNREACH,
                          "Docker engine at `%s` answered HTTP %u: %s%s",
                          address, rep.status, q, rep.len > i ? "..." : "");
    }
  else
    r = vdvs_docker_walk (rep.body, rep.len, fn, opaque, err);
  free (rep.body);
  return r;
}
