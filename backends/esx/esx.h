/* The ESX backend: the VMCI/vSocket client of the upstream ESX service
 * (vmdk_ops.py), or of esxsim.
 *
 * Config keys (--backend-opt KEY=VALUE):
 *   esx=URL             vsock://CID:PORT (default vsock://2:1019),
 *                       unix:///path or tcp://127.0.0.1:PORT
 *   timeout=SECONDS     connect timeout of every call; for get and list
 *                       also the send and the wait for the reply (default
 *                       120).  create, clone, remove, attach and detach wait
 *                       for their reply as long as the service keeps the
 *                       connection open, as upstream (a big eagerzeroedthick
 *                       create or a clone takes minutes)
 *   retries=N           retries after a transport failure (default 5, so 6
 *                       tries as upstream); a create, clone, remove, attach
 *                       or detach only when the connection could not be
 *                       made: once sent, it is never sent again
 *   retry-delay=SECONDS pause between tries (default 1)
 *   total-timeout=SECONDS  bound on one get or list call, retries included,
 *                       and on the connect tries of the others (default 180)
 *   source-port=privileged|any  bind a source port in 100..1023 (default)
 *                       or let the kernel pick one (tests of the server's
 *                       privileged-port rule)
 *   protocol-version=V  the "version" sent (default "2"; the environment
 *                       variable VDVS_TEST_PROTOCOL_VERSION also sets it,
 *                       as upstream)
 *   sysfs-root=/sys  dev-root=/dev  where the core looks for attached disks
 *
 * Calls share no lock: requests for different volumes run in parallel.
 */
#ifndef VDVS_ESX_H
#define VDVS_ESX_H

#include "vdvs/backend.h"

extern const struct vdvs_backend vdvs_backend_esx;

#endif
