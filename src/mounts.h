/* The mount table and mount(2)/umount(2). */
#ifndef VDVS_MOUNTS_H
#define VDVS_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

/* Is `mountpoint` a mount point now?  If so and `source` is not NULL, its
 * source device is copied there. */
bool vdvs_is_mounted (const char *mountpoint, char *source, size_t len);
/* Call fn for every mount whose parent directory is `root` (the mount
 * point's last component, unescaped). */
int vdvs_mounts_under (const char *root,
                       void (*fn) (const char *name, const char *source,
                                   void *opaque),
                       void *opaque);
/* Parse MountOptions ("nosuid,nodev"): the mount flags it names, or an
 * error naming the unknown option and the valid ones.  "" is 0. */
int vdvs_mount_options_parse (const char *options, unsigned long *flags,
                              vdvs_error_t *err);
/* The flags of a volume's mount: as upstream and Docker's local driver,
 * none by default (setuid binaries and device nodes on a volume work in
 * containers), plus read-only and the configured `options`. */
unsigned long vdvs_mount_flags (bool read_only, unsigned long options);
int vdvs_mount (const char *device, const char *mountpoint, const char *fstype,
                bool read_only, unsigned long options, vdvs_error_t *err);
/* Unmount; a busy mount is retried for a second, then detached lazily.
 * 0 only once `device` (the mount's source) is free: a lazily detached
 * file system still in use fails with EBUSY, and the caller must keep the
 * disk attached (see vdvs_device_free). */
int vdvs_umount (const char *mountpoint, const char *device,
                 vdvs_error_t *err);
/* Nobody holds `device`: an O_EXCL open of it succeeds. */
bool vdvs_device_free (const char *device);

#endif
