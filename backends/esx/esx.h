/* The ESX backend: the VMCI/vSocket client of the upstream ESX service
 * (vmdk_ops.py), or of esxsim.
 *
 * Config keys (--backend-opt KEY=VALUE):
 *   esx=URL             vsock://CID:PORT (default vsock://2:1019),
 *                       unix:///path or tcp://127.0.0.1:PORT
 *   timeout=SECONDS     per attempt: connect, send and wait for the reply
 *                       (default 120)
 *   retries=N           retries after a transport failure (default 5, so 6
 *                       tries as upstream)
 *   retry-delay=SECONDS pause between tries (default 1)
 *   total-timeout=SECONDS  bound on one call, retries included (default 180)
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

#include "backend.h"

extern const struct vdvs_backend vdvs_backend_esx;

#endif
