/* The plugin spec file: see spec.h. */
#include "spec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static const char *
win_strerror (DWORD e, char *buf, size_t n)
{
  DWORD len = FormatMessageA (FORMAT_MESSAGE_FROM_SYSTEM
                                  | FORMAT_MESSAGE_IGNORE_INSERTS,
                              NULL, e, 0, buf, (DWORD) n, NULL);
  while (
      len > 0
      && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == '.'))
    buf[--len] = '\0';
  if (len == 0)
    snprintf (buf, n, "Windows error %lu", (unsigned long) e);
  return buf;
}

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
                               win_strerror (GetLastError (), msg,
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
                             win_strerror (e, msg, sizeof msg));
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
                           win_strerror (GetLastError (), msg, sizeof msg));
  return 0;
}
