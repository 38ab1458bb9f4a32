/* Windows defaults, in upstream's places: the mount root under the user's
 * (the service's) LocalAppData, config and state under ProgramData, both
 * resolved with the Known Folders API.  See platform/paths.h. */
#include "platform/paths.h"

#include <windows.h>

#include <knownfolders.h>
#include <shlobj.h>
#include <stdio.h>
#include <stdlib.h>

#include "pipe.h"

#define VDVS_WIN_DIR "vsphere-storage-for-docker"

/* <known folder>\vsphere-storage-for-docker<tail> in out; "" if the folder
 * cannot be resolved (config then fails on the relative path). */
static void
known (REFKNOWNFOLDERID id, const char *tail, char *out, size_t len)
{
  PWSTR w = NULL;
  char base[MAX_PATH];

  out[0] = '\0';
  if (SHGetKnownFolderPath (id, 0, NULL, &w) == S_OK
      && WideCharToMultiByte (CP_UTF8, 0, w, -1, base, sizeof base, NULL, NULL)
             > 0)
    snprintf (out, len, "%s\\" VDVS_WIN_DIR "%s", base, tail);
  CoTaskMemFree (w);
}

const char *
vdvs_path_config (void)
{
  static char path[MAX_PATH * 2];

  if (path[0] == '\0')
    known (&FOLDERID_ProgramData, "\\" VDVS_WIN_DIR ".conf", path,
           sizeof path);
  return path;
}

const char *
vdvs_path_mount_root (void)
{
  static char path[MAX_PATH * 2];

  if (path[0] == '\0')
    known (&FOLDERID_LocalAppData, "\\mounts", path, sizeof path);
  return path;
}

const char *
vdvs_path_engine (void)
{
  return "npipe:////./pipe/docker_engine";
}

void
vdvs_path_plugin (const char *driver, char *out, size_t len)
{
  (void) driver; /* Docker names the plugin after the spec file */
  snprintf (out, len, "%s", VDVS_PIPE_NAME);
}

/* With '/' separators (Windows takes both): the core creates it with a
 * mkdir -p loop over '/'. */
void
vdvs_path_state_dir (const char *driver, char *out, size_t len)
{
  char base[MAX_PATH * 2];

  known (&FOLDERID_ProgramData, "\\state\\", base, sizeof base);
  for (char *p = base; *p; p++)
    if (*p == '\\')
      *p = '/';
  snprintf (out, len, "%s%s", base, driver);
}

const char *
vdvs_path_log_file (void)
{
  static char path[MAX_PATH * 2];

  if (path[0] == '\0')
    known (&FOLDERID_LocalAppData, "\\logs\\" VDVS_WIN_DIR ".log", path,
           sizeof path);
  return path;
}

const struct vdvs_path_texts *
vdvs_path_texts (void)
{
  static const struct vdvs_path_texts t = {
    .config = "%ProgramData%\\" VDVS_WIN_DIR "\\" VDVS_WIN_DIR ".conf",
    .plugin = VDVS_PIPE_NAME,
    .mount_root = "%LOCALAPPDATA%\\" VDVS_WIN_DIR "\\mounts",
    .state_dir = "%ProgramData%\\" VDVS_WIN_DIR "\\state\\DRIVER",
    .engine = "npipe:////./pipe/docker_engine",
    .log_file = "%LOCALAPPDATA%\\" VDVS_WIN_DIR "\\logs\\" VDVS_WIN_DIR ".log",
  };
  return &t;
}

bool
vdvs_path_is_absolute (const char *path)
{
  return ((path[0] >= 'A' && path[0] <= 'Z')
          || (path[0] >= 'a' && path[0] <= 'z'))
         && path[1] == ':' && (path[2] == '\\' || path[2] == '/');
}
