/* The named-pipe server: see pipe.h.
 *
 * One acceptor thread keeps one listening instance of the pipe at all
 * times; a client that connects while every connection slot is taken
 * stays connected, unserved, until a slot frees (like a unix socket's
 * backlog).  Each connected instance goes to a thread of its own that
 * runs the HTTP loop (http1.c) over overlapped ReadFile/WriteFile, so
 * every wait also watches the stop event and an idle timeout.
 */
#include "pipe.h"

#include <windows.h> /* before sddl.h, which needs its types */

#include <errno.h>
#include <process.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "winerr.h"

/* Idle keep-alive connections and slow senders are dropped, as on Linux. */
#define IDLE_TIMEOUT_MS (120 * 1000)
#define BUF_SIZE (64 * 1024)
/* Protected DACL: full access for LocalSystem and BUILTIN\Administrators,
 * nothing for anyone else (the creator included, unless an admin). */
#define PIPE_SDDL L"D:P(A;;GA;;;SY)(A;;GA;;;BA)"

struct vdvs_pipe
{
  vdvs_http_handler handler; /* immutable */
  LONG limit;                /* immutable */
  HANDLE stop;               /* manual-reset event, set once by stop */
  HANDLE slots;              /* semaphore: free connection slots */
  HANDLE acceptor;
  HANDLE first; /* the instance made by start, until the acceptor takes it */
  PSECURITY_DESCRIPTOR sd;
  SECURITY_ATTRIBUTES sa;
  wchar_t name[256];
};

/* One connection; owned by its thread. */
struct pconn
{
  struct vdvs_pipe *p;
  HANDLE h;
  HANDLE ev; /* for this connection's overlapped I/O */
  DWORD timeout_ms;
};

#define IO_EOF (-2)

/* Wait for overlapped I/O on c, the stop event or the timeout.  Returns
 * the bytes moved, IO_EOF when the client closed its end, or -1 (then the
 * I/O is cancelled and finished first, so `ov` and the buffer are free). */
static long
finish_io (struct pconn *c, OVERLAPPED *ov, BOOL started)
{
  HANDLE w[2] = { c->ev, c->p->stop };
  DWORD n = 0;

  if (!started && GetLastError () != ERROR_IO_PENDING)
    return GetLastError () == ERROR_BROKEN_PIPE ? IO_EOF : -1;
  if (WaitForMultipleObjects (2, w, FALSE, c->timeout_ms) != WAIT_OBJECT_0)
    {
      CancelIoEx (c->h, ov);
      GetOverlappedResult (c->h, ov, &n, TRUE);
      return -1;
    }
  if (!GetOverlappedResult (c->h, ov, &n, FALSE))
    return GetLastError () == ERROR_BROKEN_PIPE ? IO_EOF : -1;
  return (long) n;
}

static long
conn_read (void *ctx, char *buf, size_t n)
{
  struct pconn *c = ctx;
  long got;

  do
    {
      OVERLAPPED ov = { .hEvent = c->ev };
      ResetEvent (c->ev);
      got = finish_io (c, &ov,
                       ReadFile (c->h, buf,
                                 (DWORD) (n > BUF_SIZE ? BUF_SIZE : n), NULL,
                                 &ov));
    }
  while (got == 0); /* a zero-byte write by the client: not the end */
  return got == IO_EOF ? 0 : got;
}

static int
conn_write (void *ctx, const char *buf, size_t n)
{
  struct pconn *c = ctx;

  while (n > 0)
    {
      OVERLAPPED ov = { .hEvent = c->ev };
      DWORD chunk = (DWORD) (n > BUF_SIZE ? BUF_SIZE : n);
      long put;

      ResetEvent (c->ev);
      put = finish_io (c, &ov, WriteFile (c->h, buf, chunk, NULL, &ov));
      if (put <= 0)
        return -1;
      buf += put;
      n -= (size_t) put;
    }
  return 0;
}

static unsigned __stdcall conn_main (void *arg)
{
  struct pconn *c = arg;
  struct vdvs_http1_io io = { c, conn_read, conn_write };

  vdvs_http1_serve (&io, c->p->handler);
  /* Closing the server end without DisconnectNamedPipe, which would drop
   * a last reply the client has not read yet: the client still reads it,
   * then sees the end of the pipe. */
  CloseHandle (c->h);
  CloseHandle (c->ev);
  ReleaseSemaphore (c->p->slots, 1, NULL);
  free (c);
  return 0;
}

static HANDLE
make_instance (struct vdvs_pipe *p, BOOL first)
{
  return CreateNamedPipeW (p->name,
                           PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED
                               | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                           PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT
                               | PIPE_REJECT_REMOTE_CLIENTS,
                           PIPE_UNLIMITED_INSTANCES, BUF_SIZE, BUF_SIZE, 0,
                           &p->sa);
}

/* Wait for a client on instance h: TRUE when one is connected. */
static BOOL
await_client (struct vdvs_pipe *p, HANDLE h, HANDLE ev)
{
  OVERLAPPED ov = { .hEvent = ev };
  HANDLE w[2] = { ev, p->stop };
  DWORD n;

  ResetEvent (ev);
  if (ConnectNamedPipe (h, &ov))
    return TRUE;
  switch (GetLastError ())
    {
    case ERROR_PIPE_CONNECTED:
      return TRUE;
    case ERROR_IO_PENDING:
      if (WaitForMultipleObjects (2, w, FALSE, INFINITE) == WAIT_OBJECT_0)
        return GetOverlappedResult (h, &ov, &n, FALSE);
      CancelIoEx (h, &ov);
      GetOverlappedResult (h, &ov, &n, TRUE);
      return FALSE;
    default: /* e.g. ERROR_NO_DATA: the client came and went already */
      return FALSE;
    }
}

static unsigned __stdcall accept_main (void *arg)
{
  struct vdvs_pipe *p = arg;
  HANDLE h = p->first, ev = CreateEventW (NULL, TRUE, FALSE, NULL);
  HANDLE w[2] = { p->stop, p->slots };

  p->first = INVALID_HANDLE_VALUE;
  while (ev != NULL)
    {
      struct pconn *c;
      HANDLE t;

      if (h == INVALID_HANDLE_VALUE)
        {
          h = make_instance (p, FALSE);
          /* Out of resources: retry shortly unless stopping. */
          if (h == INVALID_HANDLE_VALUE)
            {
              if (WaitForSingleObject (p->stop, 100) == WAIT_OBJECT_0)
                break;
              continue;
            }
        }
      /* The instance listens already; a slot is needed to serve it. */
      if (WaitForMultipleObjects (2, w, FALSE, INFINITE) != WAIT_OBJECT_0 + 1)
        break;
      if (!await_client (p, h, ev))
        {
          /* A fresh instance next, after a pause so that a failing
           * ConnectNamedPipe cannot spin. */
          ReleaseSemaphore (p->slots, 1, NULL);
          CloseHandle (h);
          h = INVALID_HANDLE_VALUE;
          if (WaitForSingleObject (p->stop, 10) == WAIT_OBJECT_0)
            break;
          continue;
        }
      c = calloc (1, sizeof *c);
      t = NULL;
      if (c != NULL)
        {
          c->p = p;
          c->h = h;
          c->timeout_ms = IDLE_TIMEOUT_MS;
          c->ev = CreateEventW (NULL, TRUE, FALSE, NULL);
          if (c->ev != NULL)
            t = (HANDLE) _beginthreadex (NULL, 256 * 1024, conn_main, c, 0,
                                         NULL);
        }
      if (t == NULL)
        {
          if (c != NULL && c->ev != NULL)
            CloseHandle (c->ev);
          free (c);
          CloseHandle (h);
          ReleaseSemaphore (p->slots, 1, NULL);
        }
      else
        CloseHandle (t);
      h = INVALID_HANDLE_VALUE;
    }
  if (h != INVALID_HANDLE_VALUE)
    CloseHandle (h);
  if (ev != NULL)
    CloseHandle (ev);
  return 0;
}

static void
pipe_free (struct vdvs_pipe *p)
{
  if (p->first != INVALID_HANDLE_VALUE)
    CloseHandle (p->first);
  if (p->stop != NULL)
    CloseHandle (p->stop);
  if (p->slots != NULL)
    CloseHandle (p->slots);
  if (p->sd != NULL)
    LocalFree (p->sd);
  free (p);
}

int
vdvs_pipe_start (const char *name, int max_connections,
                 vdvs_http_handler handler, struct vdvs_pipe **out,
                 vdvs_error_t *err)
{
  struct vdvs_pipe *p;
  char msg[256];
  DWORD e;

  if (max_connections < 1)
    return vdvs_error_set (err, EINVAL,
                           "max connections %d: must be at least 1",
                           max_connections);
  p = calloc (1, sizeof *p);
  if (p == NULL)
    abort ();
  p->first = INVALID_HANDLE_VALUE;
  p->handler = handler;
  p->limit = max_connections;
  if (MultiByteToWideChar (CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, p->name,
                           (int) (sizeof p->name / sizeof p->name[0]))
          == 0
      || wcsncmp (p->name, L"\\\\.\\pipe\\", 9) != 0 || p->name[9] == 0)
    {
      pipe_free (p);
      return vdvs_error_set (err, EINVAL,
                             "pipe name `%s`: expected \\\\.\\pipe\\NAME",
                             name);
    }
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW (PIPE_SDDL,
                                                             SDDL_REVISION_1,
                                                             &p->sd, NULL))
    {
      e = GetLastError ();
      pipe_free (p);
      return vdvs_error_set (err, EIO, "pipe security descriptor: %s",
                             vdvs_win_error_text (e, msg, sizeof msg));
    }
  p->sa.nLength = sizeof p->sa;
  p->sa.lpSecurityDescriptor = p->sd;
  p->sa.bInheritHandle = FALSE;
  p->stop = CreateEventW (NULL, TRUE, FALSE, NULL);
  p->slots = CreateSemaphoreW (NULL, p->limit, p->limit, NULL);
  if (p->stop == NULL || p->slots == NULL)
    {
      e = GetLastError ();
      pipe_free (p);
      return vdvs_error_set (err, EIO, "pipe events: %s",
                             vdvs_win_error_text (e, msg, sizeof msg));
    }
  p->first = make_instance (p, TRUE);
  if (p->first == INVALID_HANDLE_VALUE)
    {
      e = GetLastError ();
      pipe_free (p);
      if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY)
        return vdvs_error_set (err, EEXIST,
                               "pipe `%s` is in use: another plugin daemon "
                               "serves it",
                               name);
      return vdvs_error_set (err, EIO, "cannot create pipe `%s`: %s", name,
                             vdvs_win_error_text (e, msg, sizeof msg));
    }
  p->acceptor = (HANDLE) _beginthreadex (NULL, 0, accept_main, p, 0, NULL);
  if (p->acceptor == NULL)
    {
      pipe_free (p);
      return vdvs_error_set (err, EIO, "cannot start the pipe server on `%s`",
                             name);
    }
  *out = p;
  return 0;
}

void
vdvs_pipe_stop (struct vdvs_pipe *p)
{
  if (p == NULL)
    return;
  SetEvent (p->stop);
  WaitForSingleObject (p->acceptor, INFINITE);
  CloseHandle (p->acceptor);
  /* Every connection gives its slot back when its thread ends. */
  for (LONG i = 0; i < p->limit; i++)
    WaitForSingleObject (p->slots, INFINITE);
  pipe_free (p);
}
