/* Volume names as this OS's Docker uses them (the platform seam: one
 * implementation in src/platform/linux/, one in src/platform/windows/). */
#ifndef VDVS_PLATFORM_NAMES_H
#define VDVS_PLATFORM_NAMES_H

#include "vdvs/error.h"

/* Turn `name`, as ESX lists it, into the name List gives Docker, in place
 * (never longer).  Docker on Windows lower-cases every volume name, so
 * List does too there; Linux keeps the name as it is. */
void vdvs_name_for_docker (char *name);

/* 0 when a volume called `name` can be used on this OS, else an error
 * naming the value and what is valid (Windows: no reserved device name,
 * no character a folder name cannot hold). */
int vdvs_name_check_platform (const char *name, vdvs_error_t *err);

#endif
