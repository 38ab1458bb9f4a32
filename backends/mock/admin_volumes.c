/* The admin volume listing: every volume of every vmgroup folder and
 * the orphans directly in dockvols/, with its vmgroup (vmdkops_admin.py
 * volume ls). */
#include "authdb_i.h"
#include "index.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The name of vmgroup `uuid`: from the DB, _DEFAULT's without one, else
 * "N/A". */
static void
vmgroup_name (const struct mock *m, sqlite3 *db, const char *uuid, char *buf,
              size_t len)
{
  vdvs_error_t ignore = NULL;

  snprintf (buf, len, "%s",
            strcmp (uuid, MOCK_TENANT_UUID) == 0 ? MOCK_TENANT_NAME : "N/A");
  if (db != NULL
      && adb_text (db, buf, len, &ignore,
                   "SELECT name FROM tenants WHERE id = ?", uuid, NULL)
             < 0)
    vdvs_error_release (&ignore);
  (void) m;
}

static int
cmp_rows (const void *a, const void *b)
{
  const cJSON *x = *(const cJSON *const *) a, *y = *(const cJSON *const *) b;
  int c = strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (x, "volume")),
                  cJSON_GetStringValue (cJSON_GetObjectItem (y, "volume")));
  return c ? c
           : strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (x, "vmgroup")),
                     cJSON_GetStringValue (
                         cJSON_GetObjectItem (y, "vmgroup")));
}

/* Rows for the volumes of folder `dir` (vmgroup folder `uuid`, "" for
 * dockvols/ itself) on datastore ds, appended to *v; false when out of
 * memory. */
static bool
ls_folder (struct mock *m, sqlite3 *db, const char *ds, const char *dir,
           const char *uuid, cJSON ***v, size_t *n, size_t *cap)
{
  char group[256], vol[NAME_MAX + 1], full[NAME_MAX + 128];
  DIR *vd;
  struct dirent *ve;
  bool ok = true;

  if ((vd = opendir (dir)) == NULL)
    return true;
  vmgroup_name (m, db, uuid, group, sizeof group);
  while (ok && (ve = readdir (vd)) != NULL)
    {
      cJSON *o;

      if (!mock_index_is_descriptor (dirfd (vd), ve->d_name, vol, sizeof vol))
        continue;
      if (*n == *cap)
        {
          cJSON **nv = realloc (*v,
                                (*cap = *cap ? 2 * *cap : 64) * sizeof **v);
          if (nv == NULL)
            {
              ok = false;
              break;
            }
          *v = nv;
        }
      snprintf (full, sizeof full, "%s@%s", vol, ds);
      o = cJSON_CreateObject ();
      cJSON_AddStringToObject (o, "volume", full);
      cJSON_AddStringToObject (o, "uuid", uuid);
      cJSON_AddStringToObject (o, "vmgroup", group);
      (*v)[(*n)++] = o;
    }
  closedir (vd);
  return ok;
}

int
vdvs_mock_volume_ls_all (void *handle, cJSON **rows, vdvs_error_t *err)
{
  struct mock *m = handle;
  sqlite3 *db = NULL;
  cJSON **v = NULL, *arr;
  size_t n = 0, cap = 0;
  vdvs_error_t ignore = NULL;
  bool ok = true;

  /* Without a readable DB the names are unknown, not the volumes. */
  if (mock_authdb_open (m, (void **) &db, &ignore) < 0)
    vdvs_error_release (&ignore);
  for (size_t i = 0; ok && i < m->n_ds; i++)
    {
      char dir[PATH_MAX];
      DIR *d;
      struct dirent *e;

      snprintf (dir, sizeof dir, "%s/%s/dockvols", m->cfg.root, m->ds[i]);
      /* Volumes directly in dockvols/ are orphans too, as upstream. */
      ok = ls_folder (m, db, m->ds[i], dir, "", &v, &n, &cap);
      if (!ok || (d = opendir (dir)) == NULL)
        continue;
      while (ok && (e = readdir (d)) != NULL)
        {
          char sub[PATH_MAX];
          struct stat st;

          /* The uuid folders; the name aliases are links to them. */
          snprintf (sub, sizeof sub, "%s/%s", dir, e->d_name);
          if (e->d_name[0] == '.' || strcmp (e->d_name, "policies") == 0
              || lstat (sub, &st) < 0 || !S_ISDIR (st.st_mode))
            continue;
          ok = ls_folder (m, db, m->ds[i], sub, e->d_name, &v, &n, &cap);
        }
      closedir (d);
    }
  mock_authdb_close (db);
  if (n)
    qsort (v, n, sizeof *v, cmp_rows);
  arr = cJSON_CreateArray ();
  for (size_t i = 0; i < n; i++)
    cJSON_AddItemToArray (arr, v[i]);
  free (v);
  *rows = arr;
  if (!ok)
    {
      cJSON_Delete (arr);
      *rows = NULL;
      return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}
