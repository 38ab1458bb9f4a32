/* Replies kept per key while the backend's version of the answer stays
 * the same (backend.h, get_version and list_version), so a Get of an
 * unchanged volume or an unchanged List costs a version check and a copy
 * instead of asking the backend and rendering.
 *
 * Get's key is the name exactly as the request gave it ("vol" and
 * "vol@ds" are two entries: the reply echoes the name); List's is one no
 * volume name can be (api.c).  Thread-safe.  Bounded: past
 * VDVS_REPLYCACHE_MAX keys the cache starts over empty. */
#ifndef VDVS_REPLYCACHE_H
#define VDVS_REPLYCACHE_H

#include <stddef.h>
#include <stdint.h>

#define VDVS_REPLYCACHE_MAX 32768

/* A malloc'd copy of the reply stored for `name` under `version`, or NULL
 * (none, another version, version 0, out of memory). */
char *vdvs_replycache_find (const char *name, uint64_t version);
/* Store a copy of `reply` for `name` under `version` (not 0), replacing
 * what the name had.  Best effort: out of memory stores nothing. */
void vdvs_replycache_store (const char *name, uint64_t version,
                            const char *reply);
/* Forget `name` (its volume is gone). */
void vdvs_replycache_forget (const char *name);
/* Number of names held, and empty it: for tests and shutdown. */
size_t vdvs_replycache_size (void);
void vdvs_replycache_clear (void);

#endif
