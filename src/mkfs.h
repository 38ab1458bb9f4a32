/* Making file systems on new volumes. */
#ifndef VDVS_MKFS_H
#define VDVS_MKFS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* mkfs.<fstype> in /sbin, /usr/sbin, /bin, /usr/bin, or the upstream
 * "Not found mkfs for <fs>\nSupported filesystems found: ..." error. */
int vdvs_mkfs_find (const char *fstype, char *path, size_t len,
                    vdvs_error_t *err);
/* Run mkfs on a blank device, labelled with `name` cut to the file
 * system's label limit; never discards (a discard would free a thick
 * volume's preallocated extent).  A device with any signature (see
 * vdvs_fs_probe) is refused with EEXIST and left untouched. */
int vdvs_mkfs_run (const char *fstype, const char *device, const char *name,
                   vdvs_error_t *err);
/* Ask libblkid whether `device` (or an image file) holds a file system,
 * partition table or other signature: 1 (its type in type[len]), 0 when
 * blank, <0 with err when it cannot be read. */
int vdvs_fs_probe (const char *device, char *type, size_t len,
                   vdvs_error_t *err);
/* The label mkfs.<fstype> gets for volume `name`: the name cut to the file
 * system's limit (ext* 16 bytes, xfs 12, btrfs 255) at a UTF-8 boundary. */
void vdvs_mkfs_label (const char *fstype, const char *name, char *out,
                      size_t len);
/* The smallest volume mkfs.<fstype> accepts, in MiB (0: no limit known). */
uint64_t vdvs_mkfs_min_mb (const char *fstype);
/* Run argv, capture stdout+stderr into out (NUL-terminated, truncated;
 * "" when argv[0] could not be started).  Returns the exit status (>=0)
 * or -errno. */
int vdvs_run_capture (char *const argv[], char *out, size_t len);

#endif
