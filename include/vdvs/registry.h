/* The backends built into vdvsd, by name (backends/registry.c): the one
 * place that names them, so the core includes no backend's header. */
#ifndef VDVS_REGISTRY_H
#define VDVS_REGISTRY_H

#include "vdvs/backend.h"

/* Every built-in backend in --help order, NULL-terminated. */
extern const struct vdvs_backend *const vdvs_registry[];

#endif
