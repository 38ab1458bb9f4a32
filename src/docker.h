/* The Docker engine API, asked (never from inside a plugin request) which
 * running containers use which volumes, for restart recovery. */
#ifndef VDVS_DOCKER_H
#define VDVS_DOCKER_H

#include <stdbool.h>

#include "vdvs/error.h"

/* For each volume mount of each running, paused, restarting or created
 * (not yet started) container: fn(volume name, mount source, driver,
 * container's creation time in seconds since the epoch (0 if unknown),
 * started: false for a created one).  Bounded by a 5 s timeout.
 * Returns 0, or <0 with *err set (engine not reachable). */
int vdvs_docker_mounts (const char *socket_path,
                        void (*fn) (const char *name, const char *source,
                                    const char *driver, long long created,
                                    bool started, void *opaque),
                        void *opaque, vdvs_error_t *err);

#endif
