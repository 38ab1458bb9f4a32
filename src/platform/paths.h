/* Where vdvsd keeps its files by default, per OS (the platform seam: one
 * implementation in src/platform/linux/, one in src/platform/windows/). */
#ifndef VDVS_PLATFORM_PATHS_H
#define VDVS_PLATFORM_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* The config file read when --config and VDVS_CONFIG are not given. */
const char *vdvs_path_config (void);
/* The folder volumes are mounted under. */
const char *vdvs_path_mount_root (void);
/* The Docker engine's API, for restart recovery. */
const char *vdvs_path_engine (void);
/* The plugin's own address (socket or pipe) and its refcount state dir,
 * both per driver name. */
void vdvs_path_plugin (const char *driver, char *out, size_t len);
void vdvs_path_state_dir (const char *driver, char *out, size_t len);
/* The log file when none is given: "" logs to stderr (Linux: the
 * journal or Docker keeps it); Windows: upstream's file, as the service
 * has no console. */
const char *vdvs_path_log_file (void);
/* Is `path` absolute for this OS? */
bool vdvs_path_is_absolute (const char *path);

/* The defaults as --help names them.  On Windows the folders are spelled
 * %LOCALAPPDATA% and %ProgramData%: they differ between a user and the
 * LocalSystem service. */
struct vdvs_path_texts
{
  const char *config, *plugin, *mount_root, *state_dir, *engine, *log_file;
};
const struct vdvs_path_texts *vdvs_path_texts (void);

#endif
