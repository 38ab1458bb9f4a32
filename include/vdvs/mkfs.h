/* Making file systems on new volumes. */
#ifndef VDVS_MKFS_H
#define VDVS_MKFS_H

#include <stddef.h>

#include "vdvs/error.h"

/* mkfs.<fstype> in /sbin, /usr/sbin, /bin, /usr/bin, or the upstream
 * "Not found mkfs for <fs>\nSupported filesystems found: ..." error. */
int vdvs_mkfs_find (const char *fstype, char *path, size_t len,
                    vdvs_error_t *err);
/* Run mkfs with label `label`; never discards (a discard would free a
 * thick volume's preallocated extent). */
int vdvs_mkfs_run (const char *fstype, const char *device, const char *label,
                   vdvs_error_t *err);
/* Run argv, capture stdout+stderr into out (NUL-terminated, truncated;
 * "" when argv[0] could not be started).  Returns the exit status (>=0)
 * or -errno. */
int vdvs_run_capture (char *const argv[], char *out, size_t len);

#endif
