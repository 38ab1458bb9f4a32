/* Docker on Windows finds a legacy (v1) plugin through a spec file in
 * C:\ProgramData\docker\plugins; the plugin name is the file's basename. */
#ifndef VDVS_SPEC_H
#define VDVS_SPEC_H

#include "vdvs/error.h"

/* Hard-coded as upstream does (not %ProgramData%): Docker reads this path. */
#define VDVS_SPEC_PATH "C:\\ProgramData\\docker\\plugins\\vsphere.json"
#define VDVS_SPEC_ADDR "npipe:////./pipe/vsphere-dvs"

/* Write {"Name":name,"Addr":addr} to path atomically (a temporary file
 * renamed over it), creating the folders on the way. */
int vdvs_spec_write (const char *path, const char *name, const char *addr,
                     vdvs_error_t *err);
/* Remove the spec file; a missing one is not an error. */
int vdvs_spec_remove (const char *path, vdvs_error_t *err);

#endif
