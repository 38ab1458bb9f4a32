/* The Windows disk layer inside vdvsd.exe.  disk.c runs the plugin's
 * steps (find the attached disk, wait for it, bring it online, MBR + NTFS
 * on first use, access paths as mounts, the mount table) on top of one
 * small set of OS operations, struct vdvs_win_disk_ops: the Win32 one
 * (disk_win32.c) and a simulated one for tests (disk_sim.c, selected by
 * VDVS_DISK_SIM=DIR).  disklayout.c is the plain C both share: device
 * ids, MBR and boot-sector layout, labels, paths, PowerShell's result. */
#ifndef VDVS_WIN_DISK_H
#define VDVS_WIN_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdvs/error.h"
#include "vdvs/types.h"

#define VDVS_WIN_SECTOR 512
/* Partition 1 starts at 1 MiB, as Windows aligns it. */
#define VDVS_WIN_PART_LBA 2048u
/* An NTFS label holds at most 32 UTF-16 units. */
#define VDVS_WIN_LABEL_MAX 32
/* What vdvs_win_format_script prints on success, then the file system. */
#define VDVS_WIN_FORMAT_TAG "vdvs-format:"

struct vdvs_win_disk_ops
{
  const char *name;
  /* Is the disk of attach reply `dev` present?  1 with its number in
   * *disk, 0 not (yet), <0 with err. */
  int (*find) (const struct vdvs_device_roots *roots,
               const struct vdvs_device *dev, int *disk, vdvs_error_t *err);
  int (*set_online) (int disk, bool online, vdvs_error_t *err);
  int (*set_read_only) (int disk, bool read_only, vdvs_error_t *err);
  /* The disk's size in bytes. */
  int (*size) (int disk, uint64_t *bytes, vdvs_error_t *err);
  /* Raw read of `n` bytes (a multiple of 512) at byte `off`. */
  int (*read) (int disk, uint64_t off, void *buf, size_t n, vdvs_error_t *err);
  /* Initialize MBR with signature `sig` and one partition of `sectors`
   * sectors at VDVS_WIN_PART_LBA, type NTFS. */
  int (*partition) (int disk, uint32_t sig, uint64_t sectors,
                    vdvs_error_t *err);
  /* Format partition 1 NTFS, labelled `label`. */
  int (*format) (int disk, const char *label, vdvs_error_t *err);
  /* Access paths of partition 1 (`dir` ends with a backslash). */
  int (*add_path) (int disk, const char *dir, vdvs_error_t *err);
  int (*remove_path) (const char *dir, vdvs_error_t *err);
  /* Call fn for every access path of every volume, with its disk. */
  int (*paths) (void (*fn) (const char *dir, int disk, void *opaque),
                void *opaque, vdvs_error_t *err);
};

extern const struct vdvs_win_disk_ops vdvs_win_disk_win32;
extern const struct vdvs_win_disk_ops vdvs_win_disk_sim;
/* The simulated layer keeps its state under `dir` (created). */
int vdvs_win_disk_sim_init (const char *dir, vdvs_error_t *err);

/* disklayout.c: plain C, also run by a Linux unit test. */

/* The device id of an attach reply: "scsi:<slot>:<unit>:<bus>".  A slot
 * or unit that is not a number, or a bus holding '/' or "..": upstream's
 * "Could not identify disk for controller = %s, unit = %s". */
int vdvs_win_device_id (const struct vdvs_device *dev, char *out, size_t len,
                        vdvs_error_t *err);
/* Back from a device id (0), or -1 when `id` is not one. */
int vdvs_win_device_id_parse (const char *id, struct vdvs_device *dev);
/* The disk number of "\\.\PhysicalDriveN", or -1. */
int vdvs_win_disk_number (const char *source);
void vdvs_win_disk_source (int disk, char *out, size_t len);
/* `name` cut to VDVS_WIN_LABEL_MAX UTF-16 units at a character
 * boundary. */
void vdvs_win_ntfs_label (const char *name, char *out, size_t len);
/* An MBR: disk signature `sig`, partition 1 type 0x07 at
 * VDVS_WIN_PART_LBA of `sectors` sectors (capped at MBR's 2^32-1). */
void vdvs_win_mbr_build (uint8_t s[VDVS_WIN_SECTOR], uint32_t sig,
                         uint64_t sectors);
/* The partition sectors an MBR of a disk of `bytes` gets; 0 if too small
 * for one. */
uint64_t vdvs_win_part_sectors (uint64_t bytes);
/* A sector with an MBR (0x55AA) whose partition 1 is used: 1 with its
 * first LBA, length and the disk signature; 0 otherwise. */
int vdvs_win_mbr_parse (const uint8_t s[VDVS_WIN_SECTOR], uint64_t *lba,
                        uint64_t *sectors, uint32_t *sig);
/* The simulated format's NTFS boot sector: OEM id "NTFS    ", geometry,
 * 0x55AA, and the label after "vdvs-sim-label:" in the boot code area. */
void vdvs_win_ntfs_boot_build (uint8_t s[VDVS_WIN_SECTOR], uint64_t sectors,
                               const char *label);
/* Is `s` an NTFS boot sector?  Its simulated label, if any, goes to
 * label ("" otherwise). */
bool vdvs_win_ntfs_boot_parse (const uint8_t s[VDVS_WIN_SECTOR], char *label,
                               size_t len);
/* What the first sector and partition 1's first sector (NULL: none) hold:
 * 1 with "ntfs", "mbr" (a partition table, no NTFS), "gpt" or "data"
 * (some other signature) in type; 0 when sector 0 is all zero. */
int vdvs_win_classify (const uint8_t s0[VDVS_WIN_SECTOR], const uint8_t *part,
                       char *type, size_t len);
/* A mount point as a Win32 access path: '/' as '\', one trailing '\'. */
void vdvs_win_dir (const char *path, char *out, size_t len);
/* Is access path `dir` directly under `root` (compared as Windows does,
 * ignoring case and slash kind)?  Its last component goes to name. */
bool vdvs_win_under (const char *dir, const char *root, char *name,
                     size_t len);
/* The PowerShell script that formats partition 1 of `disk` NTFS with
 * `label` and prints VDVS_WIN_FORMAT_TAG and the file system made. */
int vdvs_win_format_script (int disk, const char *label, char *out,
                            size_t len);
/* UTF-16LE base64 of a UTF-8 script, for powershell -EncodedCommand. */
int vdvs_win_ps_encode (const char *script, char *out, size_t len);
/* PowerShell's exit status and output: 0 when it exited 0 and printed
 * "<tag> <want>", else <0 with an error that quotes what it printed
 * (nothing printed is an error: wine's powershell.exe runs nothing). */
int vdvs_win_ps_check (int status, const char *out, const char *tag,
                       const char *want, vdvs_error_t *err);

#endif
