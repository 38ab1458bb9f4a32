/* Transports of the ESX wire protocol: see transport.h. */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "wire.h"

#define ESX_FAQ_URL                                                           \
  "https://github.com/vmware/vsphere-storage-for-docker/wiki#faq"

static int
parse_u32 (const char *s, uint32_t *out)
{
  char *end;
  unsigned long long v;

  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno != 0 || *end != '\0' || v > UINT32_MAX)
    return -1;
  *out = (uint32_t) v;
  return 0;
}

int
esx_addr_parse (const char *url, struct esx_addr *out, vdvs_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (strncmp (url, "vsock://", 8) == 0)
    {
      const char *rest = url + 8, *colon = strchr (rest, ':');
      char cid[16];

      out->transport = ESX_TRANSPORT_VSOCK;
      out->cid = ESX_VMCI_CID;
      out->port = ESX_DEFAULT_PORT;
      if (*rest == '\0')
        return 0;
      if (colon == NULL)
        colon = rest + strlen (rest);
      if ((size_t) (colon - rest) >= sizeof cid)
        goto bad;
      if (colon > rest)
        {
          memcpy (cid, rest, (size_t) (colon - rest));
          cid[colon - rest] = '\0';
          if (parse_u32 (cid, &out->cid) < 0)
            goto bad;
        }
      if (*colon == ':' && (parse_u32 (colon + 1, &out->port) < 0))
        goto bad;
      return 0;
    }
  if (strncmp (url, "unix://", 7) == 0)
    {
      const char *path = url + 7;

      out->transport = ESX_TRANSPORT_UNIX;
      if (path[0] != '/')
        return vdvs_error_set (err, EINVAL,
                               "Invalid ESX service URL '%s': a unix socket "
                               "needs an absolute path (unix:///path)",
                               url);
      if (strlen (path) >= sizeof out->path)
        return vdvs_error_set (err, ENAMETOOLONG,
                               "Invalid ESX service URL '%s': socket path "
                               "longer than %zu bytes",
                               url, sizeof out->path - 1);
      strcpy (out->path, path);
      return 0;
    }
  if (strncmp (url, "tcp://", 6) == 0)
    {
      const char *rest = url + 6, *colon = strrchr (rest, ':');
      char host[64];
      struct in_addr ia;

      out->transport = ESX_TRANSPORT_TCP;
      if (colon == NULL || (size_t) (colon - rest) >= sizeof host)
        goto bad;
      memcpy (host, rest, (size_t) (colon - rest));
      host[colon - rest] = '\0';
      if (inet_pton (AF_INET, host, &ia) != 1)
        return vdvs_error_set (err, EINVAL,
                               "Invalid ESX service URL '%s': the host must "
                               "be an IPv4 address such as 127.0.0.1",
                               url);
      out->ip = ia.s_addr;
      if (parse_u32 (colon + 1, &out->port) < 0 || out->port == 0
          || out->port > 65535)
        goto bad;
      return 0;
    }
bad:
  return vdvs_error_set (err, EINVAL,
                         "Invalid ESX service URL '%s': expected "
                         "vsock://CID:PORT, unix:///path or "
                         "tcp://127.0.0.1:PORT",
                         url);
}

void
esx_addr_format (const struct esx_addr *a, char *buf, size_t size)
{
  char ip[INET_ADDRSTRLEN];

  switch (a->transport)
    {
    case ESX_TRANSPORT_VSOCK:
      snprintf (buf, size, "vsock://%" PRIu32 ":%" PRIu32, a->cid, a->port);
      break;
    case ESX_TRANSPORT_UNIX:
      snprintf (buf, size, "unix://%s", a->path);
      break;
    case ESX_TRANSPORT_TCP:
      inet_ntop (AF_INET, &a->ip, ip, sizeof ip);
      snprintf (buf, size, "tcp://%s:%" PRIu32, ip, a->port);
      break;
    }
}

/* The sockaddr for `a` with the given port (vsock, tcp). */
static socklen_t
make_sockaddr (const struct esx_addr *a, struct sockaddr_storage *ss,
               bool local, uint32_t port)
{
  memset (ss, 0, sizeof *ss);
  switch (a->transport)
    {
    case ESX_TRANSPORT_VSOCK:
      {
        struct sockaddr_vm *vm = (struct sockaddr_vm *) ss;
        vm->svm_family = AF_VSOCK;
        vm->svm_cid = local ? VMADDR_CID_ANY : a->cid;
        vm->svm_port = port;
        return sizeof *vm;
      }
    case ESX_TRANSPORT_TCP:
      {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = local ? htonl (INADDR_ANY) : a->ip;
        in->sin_port = htons ((uint16_t) port);
        return sizeof *in;
      }
    case ESX_TRANSPORT_UNIX:
      {
        struct sockaddr_un *un = (struct sockaddr_un *) ss;
        un->sun_family = AF_UNIX;
        strcpy (un->sun_path, a->path);
        return sizeof *un;
      }
    }
  return 0;
}

static int
make_socket (const struct esx_addr *a, vdvs_error_t *err)
{
  int family = a->transport == ESX_TRANSPORT_VSOCK  ? AF_VSOCK
               : a->transport == ESX_TRANSPORT_UNIX ? AF_UNIX
                                                    : AF_INET;
  int fd = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int e = errno;

  if (fd >= 0)
    return fd;
  if (a->transport == ESX_TRANSPORT_VSOCK
      && (e == EAFNOSUPPORT || e == EPROTONOSUPPORT || e == ENODEV))
    return vdvs_error_set (
        err, EAFNOSUPPORT,
        "Failed to create a vSocket: %s (errno=%d). vSockets are not "
        "available in this VM: load the vsock kernel modules (vsock, "
        "vmw_vsock_vmci_transport) or install open-vm-tools, please refer "
        "to the FAQ " ESX_FAQ_URL,
        strerror (e), e);
  return vdvs_error_set (err, e, "Failed to create a socket: %s",
                         strerror (e));
}

/* Process-wide round-robin counter over 100..1023 (upstream keeps one
 * static counter per process); atomic because calls run in parallel. */
static atomic_uint next_port_index;

static int
bind_privileged (int fd, const struct esx_addr *a, vdvs_error_t *err)
{
  const unsigned span = ESX_MAX_CLIENT_PORT - ESX_START_CLIENT_PORT + 1;
  int last = 0;

  for (unsigned tries = 0; tries < span - 1; tries++)
    {
      struct sockaddr_storage ss;
      uint32_t port = ESX_START_CLIENT_PORT
                      + atomic_fetch_add (&next_port_index, 1) % span;
      socklen_t len = make_sockaddr (a, &ss, true, port);

      if (bind (fd, (struct sockaddr *) &ss, len) == 0)
        return 0;
      last = errno;
      if (last == EACCES || last == EPERM)
        return vdvs_error_set (err, last,
                               "Failed to bind a privileged source port "
                               "(%d): %s; the ESX service only serves root "
                               "(or CAP_NET_BIND_SERVICE)",
                               (int) port, strerror (last));
      if (last != EADDRINUSE && last != EADDRNOTAVAIL)
        break;
    }
  return vdvs_error_set (err, last,
                         "Failed to bind a source port in %d..%d: %s",
                         ESX_START_CLIENT_PORT, ESX_MAX_CLIENT_PORT,
                         strerror (last));
}

static int
set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  return fl < 0 ? -1 : fcntl (fd, F_SETFL, fl | O_NONBLOCK);
}

static int
connect_error (const struct esx_addr *a, int e, vdvs_error_t *err)
{
  char url[160];

  esx_addr_format (a, url, sizeof url);
  if (e == ETIMEDOUT)
    return vdvs_error_set (err, e,
                           "Timed out connecting to the ESX service "
                           "at %s",
                           url);
  return vdvs_error_set (err, e,
                         "Failed to connect to the ESX service at %s: %s", url,
                         strerror (e));
}

int
esx_connect (const struct esx_addr *a, bool privileged_port, int64_t deadline,
             vdvs_error_t *err)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fd, e;

  fd = make_socket (a, err);
  if (fd < 0)
    return -1;
  if (privileged_port && a->transport != ESX_TRANSPORT_UNIX
      && bind_privileged (fd, a, err) < 0)
    {
      close (fd);
      return -1;
    }
  if (set_nonblock (fd) < 0)
    {
      e = errno;
      close (fd);
      return vdvs_error_set (err, e, "fcntl: %s", strerror (e));
    }
  len = make_sockaddr (a, &ss, false, a->port);
  for (;;)
    {
      if (connect (fd, (struct sockaddr *) &ss, len) == 0)
        return fd;
      e = errno;
      if (e == EINTR)
        continue;
      /* A unix listener with a full backlog: try again shortly. */
      if (e == EAGAIN && a->transport == ESX_TRANSPORT_UNIX)
        {
          struct timespec ts = { 0, 10 * 1000 * 1000 };
          if (deadline >= 0 && esx_now_ms () >= deadline)
            {
              e = ETIMEDOUT;
              break;
            }
          nanosleep (&ts, NULL);
          continue;
        }
      break;
    }
  if (e == EINPROGRESS)
    {
      for (;;)
        {
          struct pollfd p = { .fd = fd, .events = POLLOUT };
          int timeout = -1, r;
          socklen_t elen = sizeof e;

          if (deadline >= 0)
            {
              int64_t left = deadline - esx_now_ms ();
              timeout = left <= 0          ? 0
                        : left > INT32_MAX ? INT32_MAX
                                           : (int) left;
            }
          r = poll (&p, 1, timeout);
          if (r < 0 && errno == EINTR)
            continue;
          if (r < 0)
            e = errno;
          else if (r == 0)
            e = ETIMEDOUT;
          else if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
            e = errno;
          break;
        }
      if (e == 0)
        return fd;
    }
  close (fd);
  return connect_error (a, e, err);
}

/* Remove a unix socket left by a dead server; leave a live one alone. */
static int
clear_stale_socket (const struct esx_addr *a, vdvs_error_t *err)
{
  struct stat st;
  struct sockaddr_storage ss;
  socklen_t len;
  int fd, r;

  if (lstat (a->path, &st) < 0)
    return 0;
  if (!S_ISSOCK (st.st_mode))
    return vdvs_error_set (err, EEXIST, "%s exists and is not a socket",
                           a->path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return vdvs_error_set (err, errno, "socket: %s", strerror (errno));
  len = make_sockaddr (a, &ss, false, 0);
  r = connect (fd, (struct sockaddr *) &ss, len);
  close (fd);
  if (r == 0)
    return vdvs_error_set (err, EADDRINUSE,
                           "%s: another server is listening there", a->path);
  unlink (a->path);
  return 0;
}

int
esx_listen (const struct esx_addr *a, vdvs_error_t *err)
{
  struct sockaddr_storage ss;
  socklen_t len;
  char url[160];
  int fd, one = 1, e;

  if (a->transport == ESX_TRANSPORT_UNIX && clear_stale_socket (a, err) < 0)
    return -1;
  fd = make_socket (a, err);
  if (fd < 0)
    return -1;
  if (a->transport == ESX_TRANSPORT_TCP)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  len = make_sockaddr (a, &ss, false, a->port);
  if (a->transport == ESX_TRANSPORT_VSOCK)
    len = make_sockaddr (a, &ss, true, a->port);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0 || listen (fd, 128) < 0)
    {
      e = errno;
      close (fd);
      esx_addr_format (a, url, sizeof url);
      return vdvs_error_set (err, e, "Failed to listen on %s: %s", url,
                             strerror (e));
    }
  return fd;
}
