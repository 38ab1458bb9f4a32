/* The guest side of a volume's life: create (attach, mkfs, detach),
 * refcounted mount/unmount, remove.  Recovery after restarts: recovery.h. */
#ifndef VDVS_VOLUMES_H
#define VDVS_VOLUMES_H

#include <stddef.h>

#include "vdvs/name.h"

#include "backend_i.h"
#include "config.h"

/* Load persisted refcounts and the mount table; call before serving. */
int vdvs_volumes_init (const struct vdvs_config *cfg, struct vdvs_bk *bk,
                       vdvs_error_t *err);

int vdvs_vol_create (const char *name, const struct vdvs_opts *opts,
                     vdvs_error_t *err);
int vdvs_vol_remove (const char *name, vdvs_error_t *err);
int vdvs_vol_mount (const char *name, const char *id, char *mountpoint,
                    size_t len, vdvs_error_t *err);
int vdvs_vol_unmount (const char *name, const char *id, vdvs_error_t *err);
int vdvs_vol_path (const char *name, char *mountpoint, size_t len,
                   vdvs_error_t *err);

/* What Get answers: backend info plus the guest's view. */
struct vdvs_vol_status
{
  struct vdvs_volume_info info;
  char full[VDVS_FULL_NAME_MAX];
  char mountpoint[4096];
  unsigned refcount;
  bool mounted;
  bool stale; /* backend unreachable: answered from cache */
  char stale_reason[512];
  struct vdvs_backend_health health;
};
int vdvs_vol_get (const char *name, struct vdvs_vol_status *st,
                  vdvs_error_t *err);
int vdvs_vol_list (struct vdvs_volume_list *out, vdvs_error_t *err);
/* The backend's version of List's answer (0: unknown); see backend.h. */
uint64_t vdvs_vol_list_version (void);
/* Entries of the volume table (volumes and name locks): for tests. */
size_t vdvs_volumes_table_entries (void);
/* Mount point of a full name. */
void vdvs_vol_mountpoint (const char *full, char *out, size_t len);

#endif
