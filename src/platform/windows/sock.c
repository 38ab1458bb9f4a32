/* Winsock behind the BSD socket calls of the ESX codec: see sock.h. */
#include "sock.h"

#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <winioctl.h>

#undef socket
#undef bind
#undef connect
#undef listen
#undef getsockopt
#undef setsockopt
#undef recv
#undef send
#undef poll
#undef fcntl
#undef close

/* WSA error codes as the errno values the codec tests for. */
static int
map_wsa (int w)
{
  switch (w)
    {
    case WSAEWOULDBLOCK:
      return EWOULDBLOCK;
    case WSAEINPROGRESS:
    case WSAEALREADY:
      return EINPROGRESS;
    case WSAEINTR:
      return EINTR;
    case WSAEACCES:
      return EACCES;
    case WSAEADDRINUSE:
      return EADDRINUSE;
    case WSAEADDRNOTAVAIL:
      return EADDRNOTAVAIL;
    case WSAEAFNOSUPPORT:
    case WSAEPFNOSUPPORT:
      return EAFNOSUPPORT;
    case WSAEPROTONOSUPPORT:
      return EPROTONOSUPPORT;
    case WSAECONNREFUSED:
      return ECONNREFUSED;
    case WSAECONNRESET:
      return ECONNRESET;
    case WSAECONNABORTED:
      return ECONNABORTED;
    case WSAETIMEDOUT:
      return ETIMEDOUT;
    case WSAENETUNREACH:
      return ENETUNREACH;
    case WSAEHOSTUNREACH:
      return EHOSTUNREACH;
    case WSAENOTSOCK:
      return ENOTSOCK;
    case WSAEINVAL:
      return EINVAL;
    case WSAENOBUFS:
      return ENOBUFS;
    case WSAEMFILE:
      return EMFILE;
    case WSAESHUTDOWN:
      return EPIPE;
    case 0:
      return 0;
    default:
      return EIO;
    }
}

static int
fail (void)
{
  errno = map_wsa (WSAGetLastError ());
  return -1;
}

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_status;

static BOOL CALLBACK
wsa_start (PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  WSADATA data;

  (void) once, (void) param, (void) ctx;
  wsa_status = WSAStartup (MAKEWORD (2, 2), &data);
  return TRUE;
}

/* The VMCI driver's IOCTL for the vSocket address family (upstream's
 * Windows client asks it the same way); -1 without the driver. */
#define VMCI_IOCTL_GET_AF_VALUE 0x81032068

static int
vsock_family_query (void)
{
  HANDLE h = CreateFileW (L"\\\\.\\VMCI", GENERIC_READ, 0, NULL, OPEN_EXISTING,
                          0, NULL);
  unsigned int af = (unsigned int) -1;
  DWORD got = 0;

  if (h == INVALID_HANDLE_VALUE)
    return -1;
  if (!DeviceIoControl (h, VMCI_IOCTL_GET_AF_VALUE, &af, sizeof af, &af,
                        sizeof af, &got, NULL))
    af = (unsigned int) -1;
  CloseHandle (h);
  return (int) af;
}

static INIT_ONCE vsock_once = INIT_ONCE_STATIC_INIT;
static int vsock_af;

static BOOL CALLBACK
vsock_start (PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  (void) once, (void) param, (void) ctx;
  vsock_af = vsock_family_query ();
  return TRUE;
}

int
vdvs_win_vsock_family (void)
{
  InitOnceExecuteOnce (&vsock_once, vsock_start, NULL, NULL);
  return vsock_af;
}

int
vdvs_win_socket (int family, int type, int proto)
{
  SOCKET s;

  InitOnceExecuteOnce (&wsa_once, wsa_start, NULL, NULL);
  if (wsa_status != 0)
    {
      errno = map_wsa (wsa_status);
      return -1;
    }
  if (family < 0)
    {
      errno = EAFNOSUPPORT;
      return -1;
    }
  s = socket (family, type, proto);
  if (s == INVALID_SOCKET)
    return fail ();
  return (int) s;
}

int
vdvs_win_bind (int fd, const struct sockaddr *sa, int len)
{
  return bind ((SOCKET) fd, sa, len) == 0 ? 0 : fail ();
}

int
vdvs_win_connect (int fd, const struct sockaddr *sa, int len)
{
  if (connect ((SOCKET) fd, sa, len) == 0)
    return 0;
  fail ();
  /* A non-blocking connect under way, as EINPROGRESS on POSIX. */
  if (errno == EWOULDBLOCK)
    errno = EINPROGRESS;
  return -1;
}

int
vdvs_win_listen (int fd, int backlog)
{
  return listen ((SOCKET) fd, backlog) == 0 ? 0 : fail ();
}

int
vdvs_win_getsockopt (int fd, int level, int name, void *val, int *len)
{
  if (getsockopt ((SOCKET) fd, level, name, val, len) != 0)
    return fail ();
  if (level == SOL_SOCKET && name == SO_ERROR && *len >= (int) sizeof (int))
    *(int *) val = map_wsa (*(int *) val);
  return 0;
}

int
vdvs_win_setsockopt (int fd, int level, int name, const void *val, int len)
{
  return setsockopt ((SOCKET) fd, level, name, val, len) == 0 ? 0 : fail ();
}

ssize_t
vdvs_win_recv (int fd, void *buf, size_t len, int flags)
{
  int n = recv ((SOCKET) fd, buf, len > INT_MAX ? INT_MAX : (int) len, flags);
  return n == SOCKET_ERROR ? fail () : n;
}

ssize_t
vdvs_win_send (int fd, const void *buf, size_t len, int flags)
{
  int n = send ((SOCKET) fd, buf, len > INT_MAX ? INT_MAX : (int) len, flags);
  return n == SOCKET_ERROR ? fail () : n;
}

int
vdvs_win_poll (struct pollfd *p, unsigned long n, int timeout)
{
  int r = WSAPoll (p, n, timeout);
  return r == SOCKET_ERROR ? fail () : r;
}

/* F_GETFL reports 0; F_SETFL with O_NONBLOCK makes the socket
 * non-blocking (Winsock cannot report the mode). */
int
vdvs_win_fcntl (int fd, int cmd, ...)
{
  va_list ap;
  int arg;
  u_long on;

  if (cmd == F_GETFL)
    return 0;
  if (cmd != F_SETFL)
    {
      errno = EINVAL;
      return -1;
    }
  va_start (ap, cmd);
  arg = va_arg (ap, int);
  va_end (ap);
  on = (arg & O_NONBLOCK) != 0;
  return ioctlsocket ((SOCKET) fd, FIONBIO, &on) == 0 ? 0 : fail ();
}

int
vdvs_win_close (int fd)
{
  if (closesocket ((SOCKET) fd) == 0)
    return 0;
  if (WSAGetLastError () == WSAENOTSOCK)
    return _close (fd);
  return fail ();
}
