/* The Docker engine API, asked (never from inside a plugin request) which
 * running containers use which volumes, for restart recovery. */
#ifndef VDVS_DOCKER_H
#define VDVS_DOCKER_H

#include <stdbool.h>
#include <stddef.h>

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

/* Whether an engine may be listening at `address` (Linux: the socket file
 * exists; Windows: the named pipe exists).  False: recovery does not ask
 * and does not wait for one. */
bool vdvs_docker_present (const char *address);

/* What vdvs_docker_mounts asks: the containers recovery cares about, in
 * API 1.24 (the oldest the engine still serves, with Mounts). */
#define VDVS_DOCKER_CONTAINERS_PATH                                           \
  "/v1.24/containers/"                                                        \
  "json?all=1&filters=%7B%22status%22%3A%5B%22running%22%2C%22paused%22"      \
  "%2C%22restarting%22%2C%22created%22%5D%7D"
/* A container list longer than this is refused, not parsed. */
#define VDVS_DOCKER_MAX_REPLY (64 * 1024 * 1024)

/* The walk of vdvs_docker_mounts over the engine's container list
 * json[0..len) (one implementation for every transport).  Returns 0, or
 * <0 with *err set when it is not a JSON array. */
int vdvs_docker_walk (const char *json, size_t len,
                      void (*fn) (const char *name, const char *source,
                                  const char *driver, long long created,
                                  bool started, void *opaque),
                      void *opaque, vdvs_error_t *err);

#endif
