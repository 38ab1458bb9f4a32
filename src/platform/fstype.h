/* The file system a volume gets when nobody names one (the platform seam:
 * one implementation in src/platform/linux/, one in src/platform/windows/). */
#ifndef VDVS_PLATFORM_FSTYPE_H
#define VDVS_PLATFORM_FSTYPE_H

/* Create's fstype without -o fstype, and the fstype of a volume whose
 * metadata names none: ext4 on Linux, ntfs on Windows (upstream's
 * FstypeDefault on each). */
const char *vdvs_fstype_default (void);

#endif
