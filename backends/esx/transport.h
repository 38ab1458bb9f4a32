/* Transports of the ESX wire protocol: where the frames travel.
 *
 *   vsock://CID:PORT     AF_VSOCK, the production path (default 2:1019)
 *   unix:///path         a unix stream socket (tests, esxsim)
 *   tcp://127.0.0.1:PORT TCP (tests, esxsim); IPv4 literal only
 *
 * The client binds a privileged source port (100..1023, round robin over a
 * process-wide counter, next port on EADDRINUSE) on vsock and tcp: the
 * server's only proof that the request comes from root in the guest.
 * Unix sockets have no port; esxsim checks the peer's uid instead.
 */
#ifndef VDVS_ESX_TRANSPORT_H
#define VDVS_ESX_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "vdvs/error.h"

#define ESX_DEFAULT_URL "vsock://2:1019"
#define ESX_VMCI_CID 2
#define ESX_DEFAULT_PORT 1019
#define ESX_START_CLIENT_PORT 100
#define ESX_MAX_CLIENT_PORT 1023
#define ESX_START_NON_PRIVILEGED_PORT 1024

enum esx_transport
{
  ESX_TRANSPORT_VSOCK,
  ESX_TRANSPORT_UNIX,
  ESX_TRANSPORT_TCP,
};

struct esx_addr
{
  enum esx_transport transport;
  uint32_t cid;  /* vsock */
  uint32_t port; /* vsock, tcp */
  uint32_t ip;   /* tcp, network order */
  char path[sizeof ((struct sockaddr_un *) 0)->sun_path]; /* unix */
};

/* Parse a URL of the forms above.  EINVAL with a message naming the URL. */
int esx_addr_parse (const char *url, struct esx_addr *out, vdvs_error_t *err);
/* The URL back, for messages (static-size buffer of the caller). */
void esx_addr_format (const struct esx_addr *a, char *buf, size_t size);

/* Connect to the service before the deadline (-1: none).  When
 * privileged_port is true (vsock, tcp), bind a source port in 100..1023
 * first.  Returns a non-blocking, close-on-exec socket or <0 with *err set
 * and a status usable for the retry decision: EAFNOSUPPORT when vsock is
 * missing (message with the upstream FAQ advice), ECONNREFUSED/ENOENT when
 * nobody listens, ETIMEDOUT. */
int esx_connect (const struct esx_addr *a, bool privileged_port,
                 int64_t deadline, vdvs_error_t *err);

/* Server side: a listening socket (close-on-exec, blocking).  A unix path
 * is unlinked first when it is a stale socket. */
int esx_listen (const struct esx_addr *a, vdvs_error_t *err);

#endif
