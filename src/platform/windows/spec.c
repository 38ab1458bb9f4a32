/* The plugin spec file: see spec.h. */
#include "spec.h"
#include "winerr.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* Create every folder above the file `path` (X:\a\b\file). */
static int
make_parents (const char *path, vdvs_error_t *err)
{
  char dir[MAX_PATH], msg[256];
  size_t n = strlen (path);

  if (n >= sizeof dir)
    return vdvs_error_set (err, ENAMETOOLONG, "path `%s` too long", path);
  memcpy (dir, path, n + 1);
  /* Skip "X:\" so the drive itself is not created. */
  for (char *s = dir + (n > 3 && dir[1] == ':' ? 3 : 1);
       (s = strchr (s, '\\')) != NULL; s++)
    {
      *s = '\0';
      if (!CreateDirectoryA (dir, NULL)
          && GetLastError () != ERROR_ALREADY_EXISTS)
        return vdvs_error_set (err, EIO, "cannot create folder `%s`: %s", dir,
                               vdvs_win_error_text (GetLastError (), msg,
                                                    sizeof msg));
      *s = '\\';
    }
  return 0;
}

int
vdvs_spec_write (const char *path, const char *name, const char *addr,
                 vdvs_error_t *err)
{
  char tmp[MAX_PATH + 8], msg[256];
  cJSON *j = cJSON_CreateObject ();
  char *text;
  FILE *f;
  int ok;

  if (j == NULL || cJSON_AddStringToObject (j, "Name", name) == NULL
      || cJSON_AddStringToObject (j, "Addr", addr) == NULL
      || (text = cJSON_PrintUnformatted (j)) == NULL)
    abort ();
  cJSON_Delete (j);
  if (make_parents (path, err) < 0)
    {
      free (text);
      return vdvs_error_wrap (err, "plugin spec file");
    }
  snprintf (tmp, sizeof tmp, "%s.tmp", path);
  f = fopen (tmp, "wb");
  ok = f != NULL && fputs (text, f) >= 0 && fputs ("\n", f) >= 0;
  ok = f != NULL && fclose (f) == 0 && ok;
  free (text);
  if (!ok)
    {
      int e = errno;
      DeleteFileA (tmp);
      return vdvs_error_set (err, e, "cannot write plugin spec file `%s`: %s",
                             tmp, strerror (e));
    }
  if (!MoveFileExA (tmp, path, MOVEFILE_REPLACE_EXISTING))
    {
      DWORD e = GetLastError ();
      DeleteFileA (tmp);
      return vdvs_error_set (err, EIO,
                             "cannot write plugin spec file `%s`: %s", path,
                             vdvs_win_error_text (e, msg, sizeof msg));
    }
  return 0;
}

int
vdvs_spec_remove (const char *path, vdvs_error_t *err)
{
  char msg[256];

  if (!DeleteFileA (path) && GetLastError () != ERROR_FILE_NOT_FOUND
      && GetLastError () != ERROR_PATH_NOT_FOUND)
    return vdvs_error_set (err, EIO, "cannot remove plugin spec file `%s`: %s",
                           path,
                           vdvs_win_error_text (GetLastError (), msg,
                                                sizeof msg));
  return 0;
}
