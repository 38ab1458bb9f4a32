/* A VM's create and remove authorized as upstream's vmdk_ops/auth.py
 * (reference admin-tenancy.md §3): the VM's vmgroup by UUID, its default
 * datastore, the privilege row (explicit datastore, then _VM_DS, then
 * _ALL_DS), allow-create, max size, quota.  The quota check and the
 * volumes row of a create are one transaction, so creates racing for one
 * quota (from any process) never exceed it. */
#include "authdb.h"
#include "mock_i.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Prepare and bind text parameters; NULL on failure. */
static sqlite3_stmt *
stmt (sqlite3 *db, const char *sql, int n, const char *a, const char *b,
      const char *c)
{
  sqlite3_stmt *st = NULL;
  const char *v[3] = { a, b, c };

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      vdvs_log (VDVS_LOG_ERROR, "Config DB statement failed",
                "error=\"%s\" sql=\"%s\"", sqlite3_errmsg (db), sql);
      return NULL;
    }
  for (int i = 0; i < n; i++)
    sqlite3_bind_text (st, i + 1, v[i], -1, SQLITE_TRANSIENT);
  return st;
}

static int
db_error (vdvs_error_t *err)
{
  return vdvs_error_set (err, EIO, "Sqlite3 error - see log for more info");
}

int
mock_auth_begin (struct mock *m, struct mock_auth *a, vdvs_error_t *err)
{
  sqlite3_stmt *st;
  int r;

  memset (a, 0, sizeof *a);
  snprintf (a->tenant_id, sizeof a->tenant_id, "%s", MOCK_TENANT_UUID);
  snprintf (a->tenant_name, sizeof a->tenant_name, "%s", MOCK_TENANT_NAME);
  snprintf (a->default_url, sizeof a->default_url, "_VM_DS://");
  if (mock_authdb_open (m, &a->db, err) < 0)
    return -1;
  if (a->db == NULL)
    return 0; /* NotConfigured: everything allowed, as _DEFAULT */
  /* The VM's row, else _DEFAULT if it exists. */
  st = stmt (a->db,
             "SELECT t.id, t.name, t.default_datastore_url, 0 AS pri FROM "
             "vms v JOIN tenants t ON t.id = v.tenant_id WHERE v.vm_id = ? "
             "UNION ALL SELECT id, name, default_datastore_url, 1 FROM "
             "tenants WHERE id = ? ORDER BY pri LIMIT 1",
             2, m->cfg.vm_uuid, MOCK_TENANT_UUID, NULL);
  if (st == NULL)
    r = db_error (err);
  else if ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *url = (const char *) sqlite3_column_text (st, 2);
      snprintf (a->tenant_id, sizeof a->tenant_id, "%s",
                (const char *) sqlite3_column_text (st, 0));
      snprintf (a->tenant_name, sizeof a->tenant_name, "%s",
                (const char *) sqlite3_column_text (st, 1));
      snprintf (a->default_url, sizeof a->default_url, "%s", url ? url : "");
      r = a->default_url[0]
              ? 0
              : vdvs_error_set (err, EINVAL,
                                "Default datastore is not set for vmgroup %s",
                                a->tenant_name);
    }
  else if (r == SQLITE_DONE)
    r = vdvs_error_set (err, EPERM, "VM %s does not belong to any vmgroup",
                        m->cfg.vm_name[0] ? m->cfg.vm_name : m->cfg.vm_uuid);
  else
    r = db_error (err);
  sqlite3_finalize (st);
  if (r < 0)
    mock_auth_end (a, false);
  return r < 0 ? -1 : 0;
}

/* The real datastore a default URL names: "_VM_DS://" (or any other
 * token, or a datastore this VM does not have) is the VM's own. */
static const char *
default_ds_of (const struct mock *m, const char *url)
{
  const char *prefix = "/vmfs/volumes/";

  if (strncmp (url, prefix, strlen (prefix)) == 0)
    for (size_t i = 0; i < m->n_ds; i++)
      if (strcmp (m->ds[i], url + strlen (prefix)) == 0)
        return m->ds[i];
  return m->ds[0];
}

const char *
mock_auth_default_ds (struct mock *m)
{
  struct mock_auth a;
  vdvs_error_t ignore = NULL;
  const char *ds;

  /* No DB (the common case) costs one lstat. */
  if (vdvs_mock_authdb_mode (m) == MOCK_DB_NOT_CONFIGURED)
    return m->ds[0];
  if (mock_auth_begin (m, &a, &ignore) < 0)
    {
      vdvs_error_release (&ignore);
      return m->ds[0];
    }
  ds = default_ds_of (m, a.default_url);
  mock_auth_end (&a, true);
  return ds;
}

int
mock_auth_resolve (const struct mock *m, const struct mock_auth *a,
                   const char *name, struct mock_vol *v, bool *explicit_ds,
                   vdvs_error_t *err)
{
  char full[VDVS_FULL_NAME_MAX];
  struct vdvs_name n;
  const char *ds;

  if (vdvs_name_parse (name, &n, err) < 0)
    return -1;
  *explicit_ds = n.datastore[0] != '\0';
  /* A short name goes to the vmgroup's default datastore. */
  if (!*explicit_ds)
    {
      snprintf (full, sizeof full, "%s@%s", n.volume,
                default_ds_of (m, a->default_url));
      name = full;
    }
  /* In the vmgroup's own folder: dockvols/<uuid>, shown by its name. */
  if (mock_resolve_name (m, name, &n, &ds, err) < 0)
    return -1;
  return mock_vol_paths_in (m, ds, n.volume, a->tenant_id, a->tenant_name, v,
                            err);
}

/* The privilege row for the target of v (§3.5); 1 found, 0 none, <0. */
static int
find_privilege (const struct mock *m, struct mock_auth *a,
                const struct mock_vol *v, bool explicit_ds, int64_t row[3],
                vdvs_error_t *err)
{
  const char *urls[3];
  size_t n = 0;

  if (!explicit_ds)
    urls[n++] = a->default_url;
  else
    {
      urls[n++] = a->url;
      if (strcmp (v->ds, m->ds[0]) == 0)
        urls[n++] = "_VM_DS://";
      urls[n++] = "_ALL_DS://";
    }
  for (size_t i = 0; i < n; i++)
    {
      sqlite3_stmt *st = stmt (a->db,
                               "SELECT allow_create, max_volume_size, "
                               "usage_quota FROM privileges WHERE "
                               "tenant_id = ? AND datastore_url = ?",
                               2, a->tenant_id, urls[i], NULL);
      int r;

      if (st == NULL)
        return db_error (err);
      r = sqlite3_step (st);
      if (r == SQLITE_ROW)
        for (int k = 0; k < 3; k++)
          row[k] = sqlite3_column_int64 (st, k);
      sqlite3_finalize (st);
      if (r == SQLITE_ROW)
        return 1;
      if (r != SQLITE_DONE)
        return db_error (err);
    }
  return 0;
}

int
mock_auth_create (const struct mock *m, struct mock_auth *a,
                  const struct mock_vol *v, bool explicit_ds, uint64_t mb,
                  bool account, vdvs_error_t *err)
{
  int64_t row[3], used = 0;
  sqlite3_stmt *st;
  int r;

  if (a->db == NULL)
    return 0;
  snprintf (a->url, sizeof a->url, "/vmfs/volumes/%s", v->ds);
  snprintf (a->vol, sizeof a->vol, "%s", v->vol);
  if (mock_authdb_begin (a->db, err) < 0)
    return -1;
  if ((r = find_privilege (m, a, v, explicit_ds, row, err)) < 0)
    goto out;
  if (r == 0)
    r = vdvs_error_set (err, EACCES, "No access privilege exists");
  else if (row[0] == 0)
    r = vdvs_error_set (err, EACCES, "No create privilege");
  else if (mb == 0)
    r = vdvs_error_set (err, EINVAL, "Invalid volume size specified.");
  else if (row[1] != 0 && (int64_t) mb > row[1])
    r = vdvs_error_set (err, EDQUOT,
                        "Volume size exceeds the max volume size limit");
  else
    r = 0;
  if (r < 0 || row[2] == 0)
    goto out;
  /* Usage is the requested sizes on this very datastore (§3). */
  st = stmt (a->db,
             "SELECT COALESCE(SUM(volume_size), 0) FROM volumes WHERE "
             "tenant_id = ? AND datastore_url = ?",
             2, a->tenant_id, a->url, NULL);
  if (st == NULL || sqlite3_step (st) != SQLITE_ROW)
    r = db_error (err);
  else
    used = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (r == 0 && used + (int64_t) mb > row[2])
    r = vdvs_error_set (err, EDQUOT,
                        "The total volume size exceeds the usage quota");
out:
  /* The row is written now, in the transaction of the check: a racing
   * create sees it.  It is taken back if the create fails. */
  if (r == 0 && account)
    {
      char size[32];
      snprintf (size, sizeof size, "%llu", (unsigned long long) mb);
      st = stmt (a->db,
                 "INSERT OR IGNORE INTO volumes VALUES (?, ?, ?, "
                 "CAST(? AS INTEGER))",
                 3, a->tenant_id, a->url, a->vol);
      if (st != NULL)
        sqlite3_bind_text (st, 4, size, -1, SQLITE_TRANSIENT);
      if (st == NULL || sqlite3_step (st) != SQLITE_DONE)
        r = db_error (err);
      else
        a->reserved = sqlite3_changes (a->db) == 1;
      sqlite3_finalize (st);
    }
  if (r == 0)
    r = mock_authdb_commit (a->db, err);
  if (r < 0)
    {
      mock_authdb_rollback (a->db);
      a->reserved = false;
    }
  return r < 0 ? -1 : 0;
}

int
mock_auth_remove (const struct mock *m, struct mock_auth *a,
                  const struct mock_vol *v, bool explicit_ds,
                  vdvs_error_t *err)
{
  int64_t row[3];
  int r;

  if (a->db == NULL)
    return 0;
  snprintf (a->url, sizeof a->url, "/vmfs/volumes/%s", v->ds);
  snprintf (a->vol, sizeof a->vol, "%s", v->vol);
  if ((r = find_privilege (m, a, v, explicit_ds, row, err)) < 0)
    return -1;
  if (r == 0)
    return vdvs_error_set (err, EACCES, "No access privilege exists");
  if (row[0] == 0)
    return vdvs_error_set (err, EACCES, "No delete privilege");
  return 0;
}

int
mock_auth_mount (struct mock *m, const char *name, struct mock_vol *v,
                 vdvs_error_t *err)
{
  struct mock_auth a;
  int64_t row[3];
  bool explicit_ds;
  int r;

  if (mock_auth_begin (m, &a, err) < 0)
    return -1;
  r = mock_auth_resolve (m, &a, name, v, &explicit_ds, err);
  if (r == 0 && a.db != NULL)
    {
      snprintf (a.url, sizeof a.url, "/vmfs/volumes/%s", v->ds);
      r = find_privilege (m, &a, v, explicit_ds, row, err);
      if (r == 0)
        r = vdvs_error_set (err, EACCES, "No access privilege exists");
      else if (r == 1)
        r = 0;
    }
  mock_auth_end (&a, true);
  return r < 0 ? -1 : 0;
}

int
mock_auth_locate (struct mock *m, const char *name, struct mock_vol *v,
                  vdvs_error_t *err)
{
  struct mock_auth a;
  bool explicit_ds;
  int r;

  if (mock_auth_begin (m, &a, err) < 0)
    return -1;
  r = mock_auth_resolve (m, &a, name, v, &explicit_ds, err);
  mock_auth_end (&a, true);
  return r < 0 ? -1 : 0;
}

void
mock_auth_removed (struct mock_auth *a)
{
  sqlite3_stmt *st;

  if (a->db == NULL)
    return;
  /* Each vmgroup has its own folder: only its row goes. */
  st = stmt (a->db,
             "DELETE FROM volumes WHERE tenant_id = ? AND datastore_url = ? "
             "AND volume_name = ?",
             3, a->tenant_id, a->url, a->vol);
  if (st == NULL || sqlite3_step (st) != SQLITE_DONE)
    vdvs_log (VDVS_LOG_ERROR, "Config DB: volume row not removed",
              "volume=%s url=%s error=\"%s\"", a->vol, a->url,
              sqlite3_errmsg (a->db));
  sqlite3_finalize (st);
}

void
mock_auth_end (struct mock_auth *a, bool ok)
{
  if (a->db == NULL)
    return;
  if (!ok && a->reserved)
    {
      sqlite3_stmt *st = stmt (a->db,
                               "DELETE FROM volumes WHERE tenant_id = ? AND "
                               "datastore_url = ? AND volume_name = ?",
                               3, a->tenant_id, a->url, a->vol);
      if (st == NULL || sqlite3_step (st) != SQLITE_DONE)
        vdvs_log (VDVS_LOG_ERROR, "Config DB: reservation not released",
                  "volume=%s url=%s error=\"%s\"", a->vol, a->url,
                  sqlite3_errmsg (a->db));
      sqlite3_finalize (st);
    }
  mock_authdb_close (a->db);
  a->db = NULL;
}
