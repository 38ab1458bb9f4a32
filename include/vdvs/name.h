/* Volume names: "vol" or "vol@datastore", split at the LAST '@', with
 * the upstream limits and messages. */
#ifndef VDVS_NAME_H
#define VDVS_NAME_H

#include "vdvs/error.h"

/* Upstream limits (reference §3.2). */
#define VDVS_MAX_VOL_NAME_LEN 100
#define VDVS_MAX_DS_NAME_LEN 100
/* volume + '@' + datastore + NUL */
#define VDVS_FULL_NAME_MAX                                                    \
  (VDVS_MAX_VOL_NAME_LEN * 4 + 1 + VDVS_MAX_DS_NAME_LEN * 4 + 1)

struct vdvs_name
{
  char volume[VDVS_MAX_VOL_NAME_LEN * 4 + 1];   /* UTF-8, at most 100 chars */
  char datastore[VDVS_MAX_DS_NAME_LEN * 4 + 1]; /* "" when not given */
};

/* Split and validate `name` with the upstream rules and messages (length in
 * characters, no '/' or '\\', no -NNNNNN suffix; plus: not empty, no control
 * characters).  Datastore existence is the backend's business. */
int vdvs_name_parse (const char *name, struct vdvs_name *out,
                     vdvs_error_t *err);
/* A volume is mounted at <mount root>/<volume>@<datastore>, one file name
 * of at most VDVS_MOUNT_NAME_MAX bytes (NAME_MAX): 0 when `volume` on
 * `datastore` fits, else an error saying so.  `datastore` "": not known
 * yet; the check then assumes a one-byte name. */
#define VDVS_MOUNT_NAME_MAX 255
int vdvs_name_check_mountable (const char *volume, const char *datastore,
                               vdvs_error_t *err);

#endif
