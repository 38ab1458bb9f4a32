/* The Config DB (authdb.h): its file, mode and schema, the statements and
 * transactions over it, and the datastore and VM lookups the admin
 * commands (admin_*.c, upstream's order of checks and texts) share. */
#include "authdb_i.h"

#include "vdvs/size.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

/* Long enough for several vdvsd/esxsim processes queueing on one quota. */
#define BUSY_TIMEOUT_MS 15000

uint64_t
mock_convert_to_mb (const char *s)
{
  uint64_t mb;
  size_t n = s ? strlen (s) : 0;

  if (n == 0)
    return 0;
  if (vdvs_size_parse_mb (s, &mb) == 0)
    return mb;
  if (n > 2 && strcasecmp (s + n - 2, "pb") == 0)
    {
      char tb[64];
      if (n - 2 + 3 > sizeof tb)
        return 0;
      snprintf (tb, sizeof tb, "%.*stb", (int) (n - 2), s);
      if (vdvs_size_parse_mb (tb, &mb) == 0 && mb <= UINT64_MAX / 1024)
        return mb * 1024;
    }
  return 0;
}

void
mock_mb_human (uint64_t mb, char *buf, size_t len)
{
  double v = (double) mb;

  if (mb >= 1024 * 1024)
    snprintf (buf, len, "%.2fTB", v / (1024 * 1024));
  else if (mb >= 1024)
    snprintf (buf, len, "%.2fGB", v / 1024);
  else
    snprintf (buf, len, "%.2fMB", v);
}

void
vdvs_mock_authdb_path (void *handle, char *buf, size_t len)
{
  struct mock *m = handle;

  if (m->cfg.auth_db[0])
    snprintf (buf, len, "%s", m->cfg.auth_db);
  else
    snprintf (buf, len, "%s/.vmdkops/auth-db", m->cfg.root);
}

const char *
mock_db_mode_text (enum mock_db_mode mode)
{
  switch (mode)
    {
    case MOCK_DB_SINGLE_NODE:
      return "SingleNode (local DB exists)";
    case MOCK_DB_MULTI_NODE:
      return "MultiNode (local symlink pointing to shared DB)";
    case MOCK_DB_BROKEN_LINK:
      return "BrokenLink (Broken link or corrupted DB file)";
    default:
      return "NotConfigured (no local DB, no symlink to shared DB)";
    }
}

/* A connection to `path` that reads its versions row; NULL if not a DB. */
static sqlite3 *
db_connect (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  bool ok = false;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    {
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  if (sqlite3_prepare_v2 (db, "SELECT major_ver FROM versions WHERE id = 0",
                          -1, &st, NULL)
          == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    ok = true;
  sqlite3_finalize (st);
  if (!ok)
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

enum mock_db_mode
adb_mode_of (const char *path, sqlite3 **dbp)
{
  struct stat st;
  sqlite3 *db = NULL;

  if (dbp)
    *dbp = NULL;
  if (lstat (path, &st) < 0)
    return MOCK_DB_NOT_CONFIGURED;
  if ((db = db_connect (path)) == NULL)
    return MOCK_DB_BROKEN_LINK;
  if (dbp)
    *dbp = db;
  else
    sqlite3_close (db);
  return S_ISLNK (st.st_mode) ? MOCK_DB_MULTI_NODE : MOCK_DB_SINGLE_NODE;
}

enum mock_db_mode
vdvs_mock_authdb_mode (void *handle)
{
  char path[PATH_MAX];

  vdvs_mock_authdb_path (handle, path, sizeof path);
  return adb_mode_of (path, NULL);
}

int
mock_authdb_open (struct mock *m, void **dbp, vdvs_error_t *err)
{
  char path[PATH_MAX];
  sqlite3 *db = NULL;

  vdvs_mock_authdb_path (m, path, sizeof path);
  switch (adb_mode_of (path, &db))
    {
    case MOCK_DB_NOT_CONFIGURED:
      *dbp = NULL;
      return 0;
    case MOCK_DB_BROKEN_LINK:
      return vdvs_error_set (err, EIO, "DB access error at %s: %s", path,
                             mock_db_mode_text (MOCK_DB_BROKEN_LINK));
    default:
      *dbp = db;
      return 0;
    }
}

void
mock_authdb_close (void *db)
{
  sqlite3_close (db);
}

/* Prepare `sql` with its parameters bound by `types`: 's' a string, 'i' an
 * int64.  NULL on failure (logged; the caller reports the upstream
 * "Sqlite3 error"). */
sqlite3_stmt *
adb_query (sqlite3 *db, const char *sql, const char *types, ...)
{
  sqlite3_stmt *st = NULL;
  va_list ap;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      vdvs_log (VDVS_LOG_ERROR, "Config DB statement failed",
                "error=\"%s\" sql=\"%s\"", sqlite3_errmsg (db), sql);
      return NULL;
    }
  va_start (ap, types);
  for (int i = 0; types[i]; i++)
    {
      if (types[i] == 's')
        sqlite3_bind_text (st, i + 1, va_arg (ap, const char *), -1,
                           SQLITE_TRANSIENT);
      else
        sqlite3_bind_int64 (st, i + 1, va_arg (ap, int64_t));
    }
  va_end (ap);
  return st;
}

/* Run a statement that returns no row; 0 or <0 with *err set. */
int
adb_exec (sqlite3 *db, vdvs_error_t *err, const char *sql, const char *types,
          ...)
{
  sqlite3_stmt *st = NULL;
  va_list ap;
  int r;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    goto fail;
  va_start (ap, types);
  for (int i = 0; types[i]; i++)
    {
      if (types[i] == 's')
        sqlite3_bind_text (st, i + 1, va_arg (ap, const char *), -1,
                           SQLITE_TRANSIENT);
      else
        sqlite3_bind_int64 (st, i + 1, va_arg (ap, int64_t));
    }
  va_end (ap);
  r = sqlite3_step (st);
  sqlite3_finalize (st);
  if (r == SQLITE_DONE || r == SQLITE_ROW)
    return 0;
fail:
  vdvs_log (VDVS_LOG_ERROR, "Config DB statement failed",
            "error=\"%s\" sql=\"%s\"", sqlite3_errmsg (db), sql);
  return vdvs_error_set (err, EIO, "Sqlite3 error - see log for more info");
}

int
mock_authdb_begin (void *db, vdvs_error_t *err)
{
  return adb_exec (db, err, "BEGIN IMMEDIATE", "");
}

int
mock_authdb_commit (void *db, vdvs_error_t *err)
{
  return adb_exec (db, err, "COMMIT", "");
}

void
mock_authdb_rollback (void *db)
{
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

int
adb_sqlite_error (vdvs_error_t *err)
{
  return vdvs_error_set (err, EIO, "Sqlite3 error - see log for more info");
}

/* One text column of the first row, into buf; 1 found, 0 none, <0 error. */
int
adb_text (sqlite3 *db, char *buf, size_t len, vdvs_error_t *err,
          const char *sql, const char *a, const char *b)
{
  sqlite3_stmt *st = b ? adb_query (db, sql, "ss", a, b)
                       : adb_query (db, sql, "s", a);
  int r;

  if (st == NULL)
    return adb_sqlite_error (err);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      const unsigned char *t = sqlite3_column_text (st, 0);
      snprintf (buf, len, "%s", t ? (const char *) t : "");
      r = 1;
    }
  else if (r == SQLITE_DONE)
    r = 0;
  else
    r = adb_sqlite_error (err);
  sqlite3_finalize (st);
  return r;
}

/* A real datastore of this host: one of the handle's, or a folder of the
 * root holding dockvols (another VM's datastore). */
static bool
ds_known (const struct mock *m, const char *ds)
{
  char path[PATH_MAX];
  struct stat st;

  for (size_t i = 0; i < m->n_ds; i++)
    if (strcmp (m->ds[i], ds) == 0)
      return true;
  if (ds[0] == '.' || ds[0] == '\0' || strchr (ds, '/'))
    return false;
  snprintf (path, sizeof path, "%s/%s/dockvols", m->cfg.root, ds);
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* The URL a datastore token is stored by; 0, or <0 if unknown. */
int
adb_ds_url (const struct mock *m, const char *ds, char *url, size_t len,
            vdvs_error_t *err)
{
  if (strcmp (ds, MOCK_VM_DS) == 0 || strcmp (ds, MOCK_ALL_DS) == 0)
    snprintf (url, len, "%s://", ds);
  else if (ds_known (m, ds))
    snprintf (url, len, "/vmfs/volumes/%s", ds);
  else
    return vdvs_error_set (err, ENOENT, "Datastore %s does not exist", ds);
  return 0;
}

/* The name shown for a stored URL ("" when it names no datastore here). */
void
adb_ds_name (const struct mock *m, const char *url, char *buf, size_t len)
{
  const char *p = "/vmfs/volumes/";
  size_t n = strlen (url);

  if (n > 3 && strcmp (url + n - 3, "://") == 0)
    snprintf (buf, len, "%.*s", (int) (n - 3), url);
  else if (strncmp (url, p, strlen (p)) == 0 && ds_known (m, url + strlen (p)))
    snprintf (buf, len, "%s", url + strlen (p));
  else
    buf[0] = '\0';
}

void
mock_inventory_register (const struct mock *m)
{
  char path[PATH_MAX], cur[256] = "";
  FILE *f;

  snprintf (path, sizeof path, "%s/.vms/%s/name", m->cfg.root, m->cfg.vm_uuid);
  if ((f = fopen (path, "re")) != NULL)
    {
      if (fgets (cur, sizeof cur, f) == NULL)
        cur[0] = '\0';
      fclose (f);
    }
  cur[strcspn (cur, "\n")] = '\0';
  if (strcmp (cur, m->cfg.vm_name) != 0)
    mock_write_atomic (path, m->cfg.vm_name, strlen (m->cfg.vm_name));
}

/* The registered name of VM `uuid` ("" if none). */
void
adb_vm_name (const struct mock *m, const char *uuid, char *buf, size_t len)
{
  char path[PATH_MAX];
  FILE *f;

  buf[0] = '\0';
  snprintf (path, sizeof path, "%s/.vms/%s/name", m->cfg.root, uuid);
  if ((f = fopen (path, "re")) != NULL)
    {
      if (fgets (buf, (int) len, f) == NULL)
        buf[0] = '\0';
      fclose (f);
    }
  buf[strcspn (buf, "\n")] = '\0';
}

/* The UUID of the VM registered as `name`; false if none. */
bool
adb_vm_uuid (const struct mock *m, const char *name, char *uuid, size_t len)
{
  char dir[PATH_MAX], n[256];
  struct dirent *e;
  bool found = false;
  DIR *d;

  snprintf (dir, sizeof dir, "%s/.vms", m->cfg.root);
  if ((d = opendir (dir)) == NULL)
    return false;
  while (!found && (e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      adb_vm_name (m, e->d_name, n, sizeof n);
      if (n[0] && strcmp (n, name) == 0)
        {
          snprintf (uuid, len, "%s", e->d_name);
          found = true;
        }
    }
  closedir (d);
  return found;
}

int
adb_internal_error (const char *func, vdvs_error_t *err)
{
  char msg[PATH_MAX + 128];

  snprintf (msg, sizeof msg, "%s", (*err)->msg);
  vdvs_error_release (err);
  if (func != NULL)
    return vdvs_error_set (err, EIO,
                           "Internal Error(@only_when_configured: %s)", func);
  return vdvs_error_set (err, EIO, "Internal Error(%s)", msg);
}

/* Open the DB for an admin command that needs one and start its
 * transaction. */
int
adb_begin_admin (struct mock *m, sqlite3 **db, const char *func,
                 vdvs_error_t *err)
{
  void *h = NULL;

  *db = NULL;
  if (mock_authdb_open (m, &h, err) < 0)
    return adb_internal_error (func, err);
  if (h == NULL)
    return vdvs_error_set (err, ENOENT, MOCK_INIT_NEEDED);
  if (mock_authdb_begin (h, err) < 0)
    {
      sqlite3_close (h);
      return -1;
    }
  *db = h;
  return 0;
}

/* Commit when r == 0, roll back otherwise; close.  Returns r or the
 * commit's failure. */
int
adb_end_admin (sqlite3 *db, int r, vdvs_error_t *err)
{
  if (r == 0)
    r = mock_authdb_commit (db, err);
  if (r < 0)
    mock_authdb_rollback (db);
  sqlite3_close (db);
  return r;
}

/* The id of vmgroup `name`; <0 with "does not exist" if none. */
int
adb_tenant_id (sqlite3 *db, const char *name, char *id, size_t len,
               vdvs_error_t *err)
{
  int r = adb_text (db, id, len, err, "SELECT id FROM tenants WHERE name = ?",
                    name, NULL);
  if (r == 0)
    return vdvs_error_set (err, ENOENT, "Vmgroup %s does not exist", name);
  return r < 0 ? r : 0;
}

int
adb_privilege_exists (sqlite3 *db, const char *id, const char *url,
                      vdvs_error_t *err)
{
  char any[8];

  return adb_text (db, any, sizeof any, err,
                   "SELECT 1 FROM privileges WHERE tenant_id = ? AND "
                   "datastore_url = ?",
                   id, url);
}

/* Read-only commands: INIT_NEEDED without a DB, then the group's id. */
int
adb_begin_read (struct mock *m, const char *name, const char *func,
                sqlite3 **db, char *id, size_t idlen, vdvs_error_t *err)
{
  void *h = NULL;

  if (mock_authdb_open (m, &h, err) < 0)
    return adb_internal_error (func, err);
  if (h == NULL)
    return vdvs_error_set (err, ENOENT, MOCK_INIT_NEEDED);
  if (adb_tenant_id (h, name, id, idlen, err) < 0)
    {
      sqlite3_close (h);
      return -1;
    }
  *db = h;
  return 0;
}
