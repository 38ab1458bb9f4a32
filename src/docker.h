/* The Docker engine API, asked (never from inside a plugin request) which
 * running containers use which volumes, for restart recovery. */
#ifndef VDVS_DOCKER_H
#define VDVS_DOCKER_H

#include "vdvs/error.h"

/* For each volume mount of each running, paused or restarting container:
 * fn(volume name, mount source, driver).  Bounded by a 5 s timeout.
 * Returns 0, or <0 with *err set (engine not reachable). */
int vdvs_docker_mounts (const char *socket_path,
                        void (*fn) (const char *name, const char *source,
                                    const char *driver, void *opaque),
                        void *opaque, vdvs_error_t *err);

#endif
