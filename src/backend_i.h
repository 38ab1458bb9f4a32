/* The core's side of the backend interface: registry, loader and the one
 * adapter that supplies defaults, so callers never test ops->foo. */
#ifndef VDVS_BACKEND_I_H
#define VDVS_BACKEND_I_H

#include <stdio.h>

#include "vdvs/backend.h"

/* A loaded backend: its operations (copied and zero-extended to our
 * struct size) and the handle open() returned.  Immutable after open. */
struct vdvs_bk
{
  struct vdvs_backend ops;
  void *handle;
};

/* Find `name` in the registry and validate it. */
int vdvs_bk_load (struct vdvs_bk *b, const char *name, vdvs_error_t *err);
int vdvs_bk_config (struct vdvs_bk *b, const char *key, const char *value,
                    vdvs_error_t *err);
int vdvs_bk_open (struct vdvs_bk *b, vdvs_error_t *err);
void vdvs_bk_close (struct vdvs_bk *b);
/* What vdvsd does at start: load cfg->backend, pass it cfg's backend
 * options, open it and send its progress to the log. */
struct vdvs_config;
int vdvs_bk_start (struct vdvs_bk *b, const struct vdvs_config *cfg,
                   vdvs_error_t *err);
void vdvs_backends_help (FILE *f);

int vdvs_bk_create (struct vdvs_bk *b, const char *name,
                    const struct vdvs_opts *opts, vdvs_error_t *err);
int vdvs_bk_remove (struct vdvs_bk *b, const char *name,
                    const struct vdvs_opts *opts, vdvs_error_t *err);
int vdvs_bk_attach (struct vdvs_bk *b, const char *name,
                    struct vdvs_device *dev, vdvs_error_t *err);
int vdvs_bk_detach (struct vdvs_bk *b, const char *name, vdvs_error_t *err);
int vdvs_bk_list (struct vdvs_bk *b, struct vdvs_volume_list *out,
                  vdvs_error_t *err);
int vdvs_bk_get (struct vdvs_bk *b, const char *name,
                 struct vdvs_volume_info *out, vdvs_error_t *err);
int vdvs_bk_locate (struct vdvs_bk *b, const char *name, char *ds, size_t len,
                    vdvs_error_t *err);
/* list_version, or 0 when the backend has none. */
uint64_t vdvs_bk_list_version (struct vdvs_bk *b);
int vdvs_bk_clone (struct vdvs_bk *b, const char *name, const char *source,
                   const struct vdvs_opts *opts, vdvs_error_t *err);
void vdvs_bk_health (struct vdvs_bk *b, struct vdvs_backend_health *out);
void vdvs_bk_device_roots (struct vdvs_bk *b, struct vdvs_device_roots *out);
void vdvs_bk_set_progress (struct vdvs_bk *b, vdvs_progress_fn fn,
                           void *opaque);

#endif
