/* Mount references per volume: a counter per Docker mount ID, because the
 * engine reuses a running container's ID for `docker cp` (Mount + Unmount
 * with the same ID must not unmount the volume under the container), plus
 * anonymous references recovered from the engine when IDs are unknown.
 * Persisted atomically per volume so that a crash at any point leaves
 * either the old or the new counts on disk. */
#ifndef VDVS_REFSTORE_H
#define VDVS_REFSTORE_H

#include <stddef.h>

#include "vdvs/error.h"

#define VDVS_MOUNT_ID_MAX 128
/* A volume's refs file is read whole up to this size (about 100,000
 * mount IDs); a larger one is reported and its references dropped. */
#define VDVS_REFS_FILE_MAX (16 * 1024 * 1024)

struct vdvs_ref
{
  char id[VDVS_MOUNT_ID_MAX + 1];
  unsigned count;
};

struct vdvs_refs
{
  size_t n;
  struct vdvs_ref *v; /* owned */
  unsigned anon;      /* recovered users whose mount IDs are unknown */
  /* Taken before the Docker engine's latest activation (IDs forgotten):
   * after an engine crash, those of its dead containers never get their
   * Unmount.  Persisted with `anon`. */
  unsigned prior;
};

unsigned vdvs_refs_total (const struct vdvs_refs *r);
/* Count one more Mount of `id`. 0 or -ENOMEM. */
int vdvs_refs_add (struct vdvs_refs *r, const char *id);
/* Undo one Mount of `id`: 1 when `id` was known, 0 when a prior or
 * anonymous reference was used up instead, -1 when nothing matched. */
int vdvs_refs_drop (struct vdvs_refs *r, const char *id);
void vdvs_refs_clear (struct vdvs_refs *r);
/* A new engine activated us: every reference held now becomes prior. */
void vdvs_refs_age (struct vdvs_refs *r);

int vdvs_refstore_init (const char *dir, vdvs_error_t *err);
/* Persist; a volume with no references has no file. */
int vdvs_refstore_save (const char *dir, const char *full,
                        const struct vdvs_refs *r, vdvs_error_t *err);
/* Load every persisted volume; fn takes ownership of *r's contents. */
int vdvs_refstore_load (const char *dir,
                        void (*fn) (const char *full, struct vdvs_refs *r,
                                    void *opaque),
                        void *opaque);

#endif
