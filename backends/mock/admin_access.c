/* vmgroup access add/rm/ls/set: per-datastore privileges of a vmgroup
 * (auth_api.py, reference admin-tenancy.md §5.2). */
#include "authdb_i.h"

#include <errno.h>
#include <inttypes.h>

/* Start an access command: the transaction, the vmgroup's id and the
 * datastore's URL; <0 with the DB closed when one is missing. */
static int
access_begin (struct mock *m, const char *func, const char *name,
              const char *ds, sqlite3 **db, char *id, size_t idlen, char *url,
              size_t urllen, vdvs_error_t *err)
{
  int r;

  if (adb_begin_admin (m, db, func, err) < 0)
    return -1;
  if ((r = adb_tenant_id (*db, name, id, idlen, err)) < 0
      || (r = adb_ds_url (m, ds, url, urllen, err)) < 0)
    return adb_end_admin (*db, r, err);
  return 0;
}

int
vdvs_mock_access_add (void *handle, const char *name, const char *ds,
                      bool allow_create, const char *max, const char *total,
                      vdvs_error_t *err)
{
  struct mock *m = handle;
  char id[64], url[PATH_MAX];
  uint64_t max_mb = max ? mock_convert_to_mb (max) : 0;
  uint64_t total_mb = total ? mock_convert_to_mb (total) : 0;
  sqlite3 *db = NULL;
  int r;

  if (access_begin (m, "_tenant_access_add", name, ds, &db, id, sizeof id, url,
                    sizeof url, err)
      < 0)
    return -1;
  r = adb_privilege_exists (db, id, url, err);
  if (r == 1)
    r = vdvs_error_set (err, EEXIST,
                        "Access privilege for (%s, %s) already exists", name,
                        ds);
  else if (r == 0 && max_mb && total_mb && max_mb > total_mb)
    r = vdvs_error_set (err, EINVAL,
                        "Volume max size %" PRIu64 "MB exceeds the total "
                        "size %" PRIu64 "MB",
                        max_mb, total_mb);
  else if (r == 0)
    r = adb_exec (db, err, "INSERT INTO privileges VALUES (?, ?, ?, ?, ?)",
                  "ssiii", id, url, (int64_t) allow_create, (int64_t) max_mb,
                  (int64_t) total_mb);
  return adb_end_admin (db, r, err);
}

int
vdvs_mock_access_rm (void *handle, const char *name, const char *ds,
                     vdvs_error_t *err)
{
  struct mock *m = handle;
  char id[64], url[PATH_MAX], def[PATH_MAX];
  sqlite3 *db = NULL;
  int r;

  if (access_begin (m, "_tenant_access_rm", name, ds, &db, id, sizeof id, url,
                    sizeof url, err)
      < 0)
    return -1;
  r = adb_privilege_exists (db, id, url, err);
  if (r == 0)
    r = vdvs_error_set (err, ENOENT, "No access privilege exists for (%s, %s)",
                        name, ds);
  else if (r == 1)
    r = adb_text (db, def, sizeof def, err,
                  "SELECT default_datastore_url FROM tenants WHERE id = ?", id,
                  NULL);
  if (r == 1 && strcmp (def, url) == 0)
    r = vdvs_error_set (err, EINVAL,
                        "Removing of access privilege to 'default_datastore' "
                        "is not supported");
  else if (r == 1)
    r = adb_exec (db, err,
                  "DELETE FROM privileges WHERE tenant_id = ? AND "
                  "datastore_url = ?",
                  "ss", id, url);
  return adb_end_admin (db, r, err);
}

int
vdvs_mock_access_ls (void *handle, const char *name, cJSON **rows,
                     vdvs_error_t *err)
{
  char id[64];
  sqlite3 *db = NULL;
  sqlite3_stmt *st;
  cJSON *arr;

  if (adb_begin_read (handle, name, "_tenant_access_ls", &db, id, sizeof id,
                      err)
      < 0)
    return -1;
  arr = cJSON_CreateArray ();
  st = adb_query (db,
                  "SELECT datastore_url, allow_create, max_volume_size, "
                  "usage_quota FROM privileges WHERE tenant_id = ? "
                  "ORDER BY datastore_url",
                  "s", id);
  while (st != NULL && sqlite3_step (st) == SQLITE_ROW)
    {
      const char *url = (const char *) sqlite3_column_text (st, 0);
      uint64_t max = (uint64_t) sqlite3_column_int64 (st, 2);
      uint64_t tot = (uint64_t) sqlite3_column_int64 (st, 3);
      char ds[256], smax[32] = "Unset", stot[32] = "Unset";
      cJSON *o = cJSON_CreateObject ();

      adb_ds_name (handle, url ? url : "", ds, sizeof ds);
      if (max)
        mock_mb_human (max, smax, sizeof smax);
      if (tot)
        mock_mb_human (tot, stot, sizeof stot);
      cJSON_AddStringToObject (o, "Datastore", ds);
      cJSON_AddStringToObject (o, "Allow_create",
                               sqlite3_column_int (st, 1) ? "True" : "False");
      cJSON_AddStringToObject (o, "Max_volume_size", smax);
      cJSON_AddStringToObject (o, "Total_size", stot);
      cJSON_AddItemToArray (arr, o);
    }
  sqlite3_finalize (st);
  sqlite3_close (db);
  *rows = arr;
  return 0;
}

int
vdvs_mock_access_set (void *handle, const char *name, const char *ds,
                      const char *allow_create, const char *max,
                      const char *total, vdvs_error_t *err)
{
  struct mock *m = handle;
  char id[64], url[PATH_MAX];
  uint64_t max_mb = max ? mock_convert_to_mb (max) : 0;
  uint64_t total_mb = total ? mock_convert_to_mb (total) : 0;
  int64_t allow = -1, cur_max = 0, cur_total = 0;
  sqlite3_stmt *st;
  sqlite3 *db = NULL;
  int r;

  if (access_begin (m, "_tenant_access_set", name, ds, &db, id, sizeof id, url,
                    sizeof url, err)
      < 0)
    return -1;
  st = adb_query (db,
                  "SELECT allow_create, max_volume_size, usage_quota FROM "
                  "privileges WHERE tenant_id = ? AND datastore_url = ?",
                  "ss", id, url);
  if (st == NULL)
    return adb_end_admin (db, adb_sqlite_error (err), err);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      allow = sqlite3_column_int64 (st, 0);
      cur_max = sqlite3_column_int64 (st, 1);
      cur_total = sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  if (allow < 0)
    return adb_end_admin (db,
                          vdvs_error_set (err, ENOENT,
                                          "No access privilege exists for (%s, "
                                          "%s)",
                                          name, ds),
                          err);
  if (allow_create != NULL)
    {
      if (strcasecmp (allow_create, "true") == 0)
        allow = 1;
      else if (strcasecmp (allow_create, "false") == 0)
        allow = 0;
      else
        return adb_end_admin (db,
                              vdvs_error_set (err, EINVAL,
                                              "Invalid value %s for allow-create "
                                              "option",
                                              allow_create),
                              err);
    }
  /* Only given, non-zero sizes change (so Unset is never restored). */
  if (max_mb)
    cur_max = (int64_t) max_mb;
  if (total_mb)
    cur_total = (int64_t) total_mb;
  if (cur_max && cur_total && cur_max > cur_total)
    return adb_end_admin (db,
                          vdvs_error_set (err, EINVAL,
                                          "Volume max size %" PRId64
                                          "MB exceeds the total size %" PRId64
                                          "MB",
                                          cur_max, cur_total),
                          err);
  r = adb_exec (db, err,
                "UPDATE privileges SET allow_create = ?, max_volume_size = ?, "
                "usage_quota = ? WHERE tenant_id = ? AND datastore_url = ?",
                "iiiss", allow, cur_max, cur_total, id, url);
  return adb_end_admin (db, r, err);
}
