/* vdvs — the backend interface.
 *
 * A backend is a `const struct vdvs_backend` of operations over the typed
 * structs of types.h, registered by name in backends/registry.c and chosen
 * with `--backend NAME`.  The core never knows which backend it runs on.
 *
 * Versioning (the nbdkit model): the struct starts with its own size and the
 * API version it was compiled against.  Fields are append-only; the loader
 * copies min(sizeof, struct_size) bytes and zero-fills the rest, rejects an
 * unknown api_version and refuses a backend whose mandatory operations
 * (create, remove, attach, detach, list, get) are missing.
 *
 * Error convention (control path): every operation returns 0 on success and
 * a negative value on failure, after filling *err with vdvs_error_set().  The
 * message of that error reaches the Docker user verbatim as the `Err` field,
 * so it must be the exact upstream text where one exists.
 *
 * Threading: operations are called concurrently from many threads, for
 * different volumes and for the same volume (Get during a slow Mount).  The
 * core serializes create/remove/attach/detach of ONE volume within one vdvsd;
 * a backend that shares state with other processes (other VMs, esxsim) must
 * do its own cross-process locking.
 */
#ifndef VDVS_BACKEND_H
#define VDVS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdvs/error.h"
#include "vdvs/progress.h"
#include "vdvs/types.h"

#define VDVS_BACKEND_API_VERSION 1

struct vdvs_backend
{
  /* sizeof (struct vdvs_backend) the backend was built with; set by
   * VDVS_BACKEND_INIT, do not set by hand. */
  uint32_t struct_size;
  /* VDVS_BACKEND_API_VERSION the backend was built with; set by
   * VDVS_BACKEND_INIT. */
  uint32_t api_version;

  const char *name;        /* registry name, e.g. "mock" */
  const char *description; /* one line for --help */
  /* Help text for the backend's config keys (may be NULL). */
  const char *config_help;

  /* Called once per key=value given with --backend-opt or in the config
   * file's "backend" object, before open.  Unknown key: error. Optional. */
  int (*config) (const char *key, const char *value, vdvs_error_t *err);

  /* Start the backend; returns a handle passed to every other op. Called
   * once, before the plugin socket is served. Optional (handle NULL). */
  int (*open) (void **handle, vdvs_error_t *err);
  /* Stop and free. Optional. */
  void (*close) (void *handle);

  /* Mandatory: make volume `name` (as Docker gave it) with `opts`. */
  int (*create) (void *handle, const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err);
  /* Mandatory: delete volume `name`; `opts` as given to create. */
  int (*remove) (void *handle, const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err);
  /* Mandatory: attach to this VM; idempotent when already attached here. */
  int (*attach) (void *handle, const char *name, struct vdvs_device *dev,
                 vdvs_error_t *err);
  /* Mandatory: detach from this VM; detaching a detached disk is success. */
  int (*detach) (void *handle, const char *name, vdvs_error_t *err);
  /* Mandatory: every volume, fully qualified "vol@datastore". */
  int (*list) (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err);
  /* Mandatory: the metadata of one volume.  Not found: the upstream "Volume <vol> not found (file: <path>)" and
   * status ENOENT. */
  int (*get) (void *handle, const char *name, struct vdvs_volume_info *out,
              vdvs_error_t *err);

  /* Optional: clone `source` into `name`. Default: create with the
   * clone-from option set (that is how the wire carries it). */
  int (*clone) (void *handle, const char *name, const char *source,
                const struct vdvs_opts *opts, vdvs_error_t *err);
  /* Optional: default "always up". */
  void (*health) (void *handle, struct vdvs_backend_health *out);
  /* Optional: default /sys and /dev. */
  void (*device_roots) (void *handle, struct vdvs_device_roots *out);
  /* Optional: where to report the progress of long work (create, clone).
   * Called at most once, after open and before any other op.  Default: a
   * backend that reports nothing. */
  void (*set_progress) (void *handle, vdvs_progress_fn fn, void *opaque);
  /* Optional: a version of list's answer: it changes whenever the answer
   * may have changed, counting every change that completed before the
   * call; 0 when not known.  Lets the core reuse its last List reply.
   * Default: 0 (every List asks list). */
  uint64_t (*list_version) (void *handle);
};

#define VDVS_BACKEND_INIT                                                     \
  .struct_size = sizeof (struct vdvs_backend),                                \
  .api_version = VDVS_BACKEND_API_VERSION

#endif /* VDVS_BACKEND_H */
