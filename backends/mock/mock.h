/* The emulated ESX datastore service, as a library.
 *
 * The backend itself is `vdvs_backend_mock` (a struct vdvs_backend).  Its
 * config keys are copied into the handle at open(), so one process can open
 * several handles with different VM identities over one datastore root
 * (that is how esxsim serves two VMs):
 *
 *   root=/var/lib/vdvs          backing root, one folder per datastore
 *   datastores=datastore1[,ds2] datastores (folders created if missing);
 *                               the first is the VM's own (default) one
 *   vm-name=NAME  vm-uuid=UUID  identity of the VM this handle acts for
 *   sysfs-root=/run/vdvs/sys    where attach publishes the PCI tree
 *   dev-root=/run/vdvs/dev      where attach publishes disk/by-path links
 *   vmdkfs=auto|off|PATH        serve extents through vmdkfs (see fuse/)
 *   vmdkfs-mount=/run/vdvs/vmfs/volumes
 *   auth-db=PATH                the Config DB (authdb.h), by default
 *                               <root>/.vmdkops/auth-db
 *   inventory=yes|no            record vm-name under <root>/.vms/<uuid>/
 *                               (the host inventory); "no" for admin tools
 */
#ifndef VDVS_MOCK_H
#define VDVS_MOCK_H

#include "vdvs/backend.h"

extern const struct vdvs_backend vdvs_backend_mock;

/* "Power off" the handle's VM: detach every disk attached to it (loop
 * devices released, sidecars marked detached).  Returns the number of disks
 * detached, or <0 with *err set. */
int vdvs_mock_power_off (void *handle, vdvs_error_t *err);

/* The UUID of the VM called `vm` (its name, as its disks' sidecars carry
 * it, or its UUID) among the VMs with disks attached on this datastore.
 * 0 with uuid[len] set, or <0 with *err naming the VMs there are. */
int vdvs_mock_find_vm (void *handle, const char *vm, char *uuid, size_t len,
                       vdvs_error_t *err);

/* Admin `volume set`: change the options an admin may change (access,
 * attach-as; anything else is refused with the key named) in the volume's
 * sidecar, under the volume's lock, replacing the file atomically.  Takes
 * effect at the next attach/mount.  0, or <0 with *err set. */
int vdvs_mock_set_options (void *handle, const char *name,
                           const struct vdvs_opts *opts, vdvs_error_t *err);

/* Path of a volume's data extent on the backing root, for an admin tool
 * that formats a volume it just created (nothing attaches it then).
 * 0, or <0 with *err set (the upstream "not found" when it does not
 * exist). */
int vdvs_mock_extent_path (void *handle, const char *name, char *buf,
                           size_t len, vdvs_error_t *err);

#endif
