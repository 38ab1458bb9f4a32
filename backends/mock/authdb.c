/* The Config DB (authdb.h): its file, mode and schema, and the admin
 * commands over it with upstream's order of checks and texts (auth_api.py
 * via vmdkops_admin.py, reference §5.2-§5.3). */
#include "authdb.h"
#include "index.h"
#include "mock_i.h"

#include "vdvs/size.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Long enough for several vdvsd/esxsim processes queueing on one quota. */
#define BUSY_TIMEOUT_MS 15000

static const char schema[] =
    "CREATE TABLE tenants(id TEXT PRIMARY KEY NOT NULL,"
    " name TEXT UNIQUE NOT NULL, description TEXT,"
    " default_datastore_url TEXT);"
    "CREATE TABLE vms(vm_id TEXT PRIMARY KEY NOT NULL,"
    " tenant_id TEXT NOT NULL, vm_name TEXT,"
    " FOREIGN KEY(tenant_id) REFERENCES tenants(id));"
    "CREATE TABLE privileges(tenant_id TEXT NOT NULL,"
    " datastore_url TEXT NOT NULL, allow_create INTEGER,"
    " max_volume_size INTEGER, usage_quota INTEGER,"
    " PRIMARY KEY (tenant_id, datastore_url),"
    " FOREIGN KEY(tenant_id) REFERENCES tenants(id));"
    "CREATE TABLE volumes(tenant_id TEXT NOT NULL,"
    " datastore_url TEXT NOT NULL, volume_name TEXT, volume_size INTEGER,"
    " PRIMARY KEY(tenant_id, datastore_url, volume_name),"
    " FOREIGN KEY(tenant_id) REFERENCES tenants(id));"
    "CREATE TABLE versions(id INTEGER PRIMARY KEY NOT NULL,"
    " major_ver INTEGER NOT NULL, minor_ver INTEGER NOT NULL,"
    " vmodl_major_ver INTEGER NOT NULL, vmodl_minor_ver INTEGER NOT NULL);"
    "INSERT INTO versions VALUES (0, 1, 2, 1, 0);"
    "INSERT INTO tenants VALUES ('" MOCK_DEFAULT_TENANT_UUID
    "', '" MOCK_DEFAULT_TENANT "', 'This is a default vmgroup', '_VM_DS://');"
    "INSERT INTO privileges VALUES ('" MOCK_DEFAULT_TENANT_UUID "',"
    " '_ALL_DS://', 1, 0, 0);"
    "INSERT INTO privileges VALUES ('" MOCK_DEFAULT_TENANT_UUID "',"
    " '_VM_DS://', 1, 0, 0);";

/* ---- sizes ------------------------------------------------------------ */

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

/* ---- the file and its mode ------------------------------------------- */

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

static enum mock_db_mode
mode_of (const char *path, sqlite3 **dbp)
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
  return mode_of (path, NULL);
}

int
mock_authdb_open (struct mock *m, void **dbp, vdvs_error_t *err)
{
  char path[PATH_MAX];
  sqlite3 *db = NULL;

  vdvs_mock_authdb_path (m, path, sizeof path);
  switch (mode_of (path, &db))
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

/* ---- statements ------------------------------------------------------- */

/* Prepare `sql` with its parameters bound by `types`: 's' a string, 'i' an
 * int64.  NULL on failure (logged; the caller reports the upstream
 * "Sqlite3 error"). */
static sqlite3_stmt *
q (sqlite3 *db, const char *sql, const char *types, ...)
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
static int
q_exec (sqlite3 *db, vdvs_error_t *err, const char *sql, const char *types,
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
  return q_exec (db, err, "BEGIN IMMEDIATE", "");
}

int
mock_authdb_commit (void *db, vdvs_error_t *err)
{
  return q_exec (db, err, "COMMIT", "");
}

void
mock_authdb_rollback (void *db)
{
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sqlite_error (vdvs_error_t *err)
{
  return vdvs_error_set (err, EIO, "Sqlite3 error - see log for more info");
}

/* One text column of the first row, into buf; 1 found, 0 none, <0 error. */
static int
q_text (sqlite3 *db, char *buf, size_t len, vdvs_error_t *err, const char *sql,
        const char *a, const char *b)
{
  sqlite3_stmt *st = b ? q (db, sql, "ss", a, b) : q (db, sql, "s", a);
  int r;

  if (st == NULL)
    return sqlite_error (err);
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
    r = sqlite_error (err);
  sqlite3_finalize (st);
  return r;
}

/* ---- datastores and VMs of the emulated host ------------------------- */

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
static int
ds_url (const struct mock *m, const char *ds, char *url, size_t len,
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
static void
ds_name (const struct mock *m, const char *url, char *buf, size_t len)
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
static void
inventory_name (const struct mock *m, const char *uuid, char *buf, size_t len)
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
static bool
inventory_uuid (const struct mock *m, const char *name, char *uuid, size_t len)
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
      inventory_name (m, e->d_name, n, sizeof n);
      if (n[0] && strcmp (n, name) == 0)
        {
          snprintf (uuid, len, "%s", e->d_name);
          found = true;
        }
    }
  closedir (d);
  return found;
}

/* ---- the VM list of vmgroup create / vm add / vm rm ------------------ */

#define MAX_VMS 64
struct vm_list
{
  size_t n;
  char name[MAX_VMS][128];
  char uuid[MAX_VMS][64];
};

/* Python's str() of a list of names: ['a', 'b']. */
static void
py_list (const struct vm_list *l, char *buf, size_t len)
{
  size_t off = 0;

  off += (size_t) snprintf (buf, len, "[");
  for (size_t i = 0; i < l->n && off < len; i++)
    off += (size_t) snprintf (buf + off, len - off, "%s'%s'", i ? ", " : "",
                              l->name[i]);
  if (off < len)
    snprintf (buf + off, len - off, "]");
}

/* Split at ',' only (upstream keeps blanks); check duplicates, then that
 * every name is a VM of this host. */
static int
vm_list_parse (const struct mock *m, const char *s, struct vm_list *l,
               vdvs_error_t *err)
{
  char missing[2048] = "", buf[4096];
  const char *p = s;

  l->n = 0;
  while (p != NULL)
    {
      const char *c = strchr (p, ',');
      size_t n = c ? (size_t) (c - p) : strlen (p);
      if (l->n == MAX_VMS)
        return vdvs_error_set (err, EINVAL, "Too many VMs (at most %d)",
                               MAX_VMS);
      if (n >= sizeof l->name[0])
        return vdvs_error_set (err, EINVAL, "Cannot find vm %.*s", (int) n, p);
      snprintf (l->name[l->n++], sizeof l->name[0], "%.*s", (int) n, p);
      p = c ? c + 1 : NULL;
    }
  for (size_t i = 0; i < l->n; i++)
    for (size_t j = i + 1; j < l->n; j++)
      if (strcmp (l->name[i], l->name[j]) == 0)
        {
          py_list (l, buf, sizeof buf);
          return vdvs_error_set (err, EINVAL,
                                 "VMs %s contain duplicates, they should be "
                                 "unique",
                                 buf);
        }
  for (size_t i = 0; i < l->n; i++)
    if (!inventory_uuid (m, l->name[i], l->uuid[i], sizeof l->uuid[0])
        && strlen (missing) + strlen (l->name[i]) + 2 < sizeof missing)
      {
        strcat (missing, missing[0] ? "," : "");
        strcat (missing, l->name[i]);
      }
  if (missing[0])
    return vdvs_error_set (err, ENOENT, "Cannot find vm %s", missing);
  return 0;
}

/* Is a disk attached to VM `uuid` (any unit record of it)? */
static bool
vm_has_mounted (const struct mock *m, const char *uuid)
{
  char path[PATH_MAX], loopdev[64], key[1024];

  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        mock_vm_unit_path (m, uuid, c, u, path, sizeof path);
        if (mock_read_unit (path, loopdev, sizeof loopdev, key, sizeof key)
            == 0)
          return true;
      }
  return false;
}

/* No VM of l in any vmgroup. */
static int
vm_list_check_free (sqlite3 *db, const struct vm_list *l, vdvs_error_t *err)
{
  char g[256];
  int r;

  for (size_t i = 0; i < l->n; i++)
    {
      r = q_text (db, g, sizeof g, err,
                  "SELECT t.name FROM vms v JOIN tenants t ON t.id = "
                  "v.tenant_id WHERE v.vm_id = ?",
                  l->uuid[i], NULL);
      if (r < 0)
        return r;
      if (r == 1)
        return vdvs_error_set (err, EEXIST,
                               "VM '%s' has already been associated with "
                               "tenant '%s', can't add it",
                               l->name[i], g);
    }
  return 0;
}

/* No VM of l in any vmgroup, none with volumes mounted. */
static int
vm_list_check_add (sqlite3 *db, const struct mock *m, const struct vm_list *l,
                   const char *mounted_prefix, vdvs_error_t *err)
{
  if (vm_list_check_free (db, l, err) < 0)
    return -1;
  for (size_t i = 0; i < l->n; i++)
    if (vm_has_mounted (m, l->uuid[i]))
      return vdvs_error_set (err, EBUSY, "%sVM '%s' has volumes mounted.",
                             mounted_prefix, l->name[i]);
  return 0;
}

static int
vm_list_insert (sqlite3 *db, const char *tenant, const struct vm_list *l,
                vdvs_error_t *err)
{
  for (size_t i = 0; i < l->n; i++)
    if (q_exec (db, err, "INSERT INTO vms VALUES (?, ?, ?)", "sss", l->uuid[i],
                tenant, l->name[i])
        < 0)
      return -1;
  return 0;
}

/* ---- admin commands --------------------------------------------------- */

/* Open the DB for an admin command that needs one (INIT_NEEDED without,
 * the access error when broken) and start its transaction. */
static int
admin_begin (struct mock *m, sqlite3 **db, vdvs_error_t *err)
{
  void *h = NULL;

  *db = NULL;
  if (mock_authdb_open (m, &h, err) < 0)
    return -1;
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
static int
admin_end (sqlite3 *db, int r, vdvs_error_t *err)
{
  if (r == 0)
    r = mock_authdb_commit (db, err);
  if (r < 0)
    mock_authdb_rollback (db);
  sqlite3_close (db);
  return r;
}

/* The id of vmgroup `name`; <0 with "does not exist" if none. */
static int
tenant_id (sqlite3 *db, const char *name, char *id, size_t len,
           vdvs_error_t *err)
{
  int r = q_text (db, id, len, err, "SELECT id FROM tenants WHERE name = ?",
                  name, NULL);
  if (r == 0)
    return vdvs_error_set (err, ENOENT, "Vmgroup %s does not exist", name);
  return r < 0 ? r : 0;
}

static void
uuid4 (char *buf, size_t len)
{
  unsigned char b[16];

  if (getrandom (b, sizeof b, 0) != (ssize_t) sizeof b)
    for (size_t i = 0; i < sizeof b; i++)
      b[i] = (unsigned char) (rand () ^ (int) time (NULL));
  b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
  snprintf (buf, len,
            "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
            "%02x%02x%02x%02x%02x%02x",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
            b[11], b[12], b[13], b[14], b[15]);
}

static bool
tenant_name_valid (const char *n)
{
  if (!(isalnum ((unsigned char) n[0]) || n[0] == '_'))
    return false;
  for (const char *p = n + 1; *p; p++)
    if (!(isalnum ((unsigned char) *p) || *p == '_' || *p == '.' || *p == '-'))
      return false;
  return true;
}

/* The refusals of config init on a configured path (upstream's order). */
static int
init_refused (const char *path, vdvs_error_t *err)
{
  enum mock_db_mode mode = mode_of (path, NULL);
  char shared[PATH_MAX] = "N/A";
  ssize_t n;

  if (mode == MOCK_DB_BROKEN_LINK)
    return vdvs_error_set (err, EIO, "DB access error at %s: %s", path,
                           mock_db_mode_text (mode));
  if (mode == MOCK_DB_NOT_CONFIGURED)
    return 0;
  if (mode == MOCK_DB_MULTI_NODE
      && (n = readlink (path, shared, sizeof shared - 1)) > 0)
    shared[n] = '\0';
  return vdvs_error_set (err, EEXIST,
                         "Config DB  is already initialized. Use 'rm "
                         "--local' or 'rm --unlink' to reset. Additional "
                         "information: {'DB_LocalPath': '%s', "
                         "'DB_SharedLocation': '%s', 'DB_Mode': '%s'}",
                         path, shared, mock_db_mode_text (mode));
}

/* A new, empty DB at `path`: built aside and renamed into place, so a
 * crash leaves no half DB. */
static int
create_db_file (const char *path, vdvs_error_t *err)
{
  char tmp[PATH_MAX + 32];
  sqlite3 *db = NULL;
  int r;

  if ((r = vdvs_mkdir_parent (path, 0755)) < 0)
    return vdvs_error_set (err, -r,
                           "Init failed: cannot create the folder "
                           "of %s: %s",
                           path, strerror (-r));
  snprintf (tmp, sizeof tmp, "%s.new%d", path, (int) getpid ());
  unlink (tmp);
  if (sqlite3_open_v2 (tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                       NULL)
          != SQLITE_OK
      || sqlite3_exec (db, schema, NULL, NULL, NULL) != SQLITE_OK)
    {
      r = vdvs_error_set (err, EIO, "Init failed: %s",
                          db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      unlink (tmp);
      return r;
    }
  sqlite3_close (db);
  if (rename (tmp, path) < 0)
    {
      r = vdvs_error_set (err, errno, "Init failed: %s", strerror (errno));
      unlink (tmp);
      return r;
    }
  vdvs_log (VDVS_LOG_INFO, "Config DB created", "path=%s", path);
  return 0;
}

int
vdvs_mock_config_init_local (void *handle, char **out, vdvs_error_t *err)
{
  struct mock *m = handle;
  char path[PATH_MAX];

  vdvs_mock_authdb_path (m, path, sizeof path);
  if (init_refused (path, err) < 0 || create_db_file (path, err) < 0)
    return -1;
  if (asprintf (out,
                "Warning: this feature is EXPERIMENTAL\n"
                "Creating new DB at %s\n"
                "Warning: Local configuration will not survive ESXi reboot. "
                "See KB2043564 for details",
                path)
      < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  return 0;
}

int
vdvs_mock_config_init_datastore (void *handle, const char *ds, bool force,
                                 char **out, vdvs_error_t *err)
{
  struct mock *m = handle;
  char path[PATH_MAX], shared[PATH_MAX], other[4096] = "", *created = NULL;
  const char *real = NULL;
  size_t off = 0;
  struct stat st;
  int r;

  for (size_t i = 0; i < m->n_ds && real == NULL; i++)
    if (strcmp (m->ds[i], ds) == 0)
      real = m->ds[i];
  if (real == NULL)
    return vdvs_error_set (err, ENOENT, "No such datastore: %s", ds);
  vdvs_mock_authdb_path (m, path, sizeof path);
  if (init_refused (path, err) < 0)
    return -1;
  /* A shared DB on another datastore: joining a second one needs --force. */
  for (size_t i = 0; i < m->n_ds; i++)
    {
      char p[PATH_MAX];
      snprintf (p, sizeof p, "%s/%s/dockvols/vmdkops_config.db", m->cfg.root,
                m->ds[i]);
      if (strcmp (m->ds[i], real) != 0 && stat (p, &st) == 0
          && off < sizeof other)
        off += (size_t)
            snprintf (other + off, sizeof other - off,
                      "%s('%s', '/vmfs/volumes/%s/dockvols/vmdkops_config.db')",
                      off ? ", " : "", m->ds[i], m->ds[i]);
    }
  if (off && !force)
    return vdvs_error_set (err, EEXIST,
                           "Found Config DB on other datastores. . Add "
                           "'--force' flag to force the request execution. "
                           "Additional information: [%s]",
                           other);
  /* Absolute, so the link resolves from wherever it is. */
  if (realpath (m->cfg.root, shared) == NULL)
    snprintf (shared, sizeof shared, "%s", m->cfg.root);
  if (strlen (shared) + strlen (real) + 32 >= sizeof shared)
    return vdvs_error_set (err, ENAMETOOLONG, "No such datastore: %s", ds);
  snprintf (shared + strlen (shared), sizeof shared - strlen (shared),
            "/%s/dockvols/vmdkops_config.db", real);
  /* An existing shared DB is joined, not replaced. */
  if (stat (shared, &st) < 0)
    {
      if (create_db_file (shared, err) < 0)
        return -1;
      if (asprintf (&created, "Creating new DB at %s\n", shared) < 0)
        created = NULL;
    }
  if ((r = vdvs_mkdir_parent (path, 0755)) < 0 || symlink (shared, path) < 0)
    {
      r = r < 0 ? -r : errno;
      free (created);
      return vdvs_error_set (err, r, "Failed to create symlink at %s: %s",
                             path, strerror (r));
    }
  vdvs_log (VDVS_LOG_INFO, "Config DB linked", "path=%s shared=%s", path,
            shared);
  r = asprintf (out,
                "Warning: this feature is EXPERIMENTAL\n"
                "%sCreating a symlink to %s at %s",
                created ? created : "", shared, path);
  free (created);
  return r < 0 ? vdvs_error_set (err, ENOMEM, "out of memory") : 0;
}

int
vdvs_mock_config_rm (void *handle, bool local, bool unlink_, char **out,
                     vdvs_error_t *err)
{
  struct mock *m = handle;
  char path[PATH_MAX], stamp[64], bak[PATH_MAX + 80];
  enum mock_db_mode mode;
  time_t t = time (NULL);
  struct tm tm;

  vdvs_mock_authdb_path (m, path, sizeof path);
  mode = mode_of (path, NULL);
  *out = NULL;
  if (mode == MOCK_DB_BROKEN_LINK)
    {
      unlink (path);
      if (asprintf (out,
                    "Received error - removing comfiguration anyways. Err: "
                    "\"DB access error at %s: %s\"",
                    path, mock_db_mode_text (mode))
          < 0)
        return vdvs_error_set (err, ENOMEM, "out of memory");
      return 0;
    }
  if (mode == MOCK_DB_NOT_CONFIGURED)
    {
      *out = strdup ("");
      return *out ? 0 : vdvs_error_set (err, ENOMEM, "out of memory");
    }
  if (mode == MOCK_DB_MULTI_NODE)
    {
      if (local)
        return vdvs_error_set (err, EINVAL,
                               "'rm --local' is not supported when Config DB "
                               "is in MultiNode mode. Use 'rm --unlink' to "
                               "remove the local link to shared DB.");
      if (unlink (path) < 0)
        return vdvs_error_set (err, errno, "Failed to remove %s: %s", path,
                               strerror (errno));
      if (asprintf (out, "Removed link %s", path) < 0)
        return vdvs_error_set (err, ENOMEM, "out of memory");
      return 0;
    }
  if (unlink_)
    return vdvs_error_set (err, EINVAL,
                           "'rm --unlink' is not supported when Config DB "
                           "is in SingleNode mode. Use 'rm --local' to remove "
                           "local DB configuration.");
  localtime_r (&t, &tm);
  asctime_r (&tm, stamp);
  stamp[strcspn (stamp, "\n")] = '\0';
  for (char *p = stamp; *p; p++)
    if (*p == ' ')
      *p = '_';
  snprintf (bak, sizeof bak, "%s.bak_%s", path, stamp);
  /* The rename is atomic: every process sees either the DB or none. */
  if (rename (path, bak) < 0)
    return vdvs_error_set (err, errno, "Failed to move %s: %s", path,
                           strerror (errno));
  vdvs_log (VDVS_LOG_INFO, "Config DB removed", "path=%s backup=%s", path,
            bak);
  if (asprintf (out, "Moved %s to backup file %s", path, bak) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  return 0;
}

/* The default datastore of create: _ALL_DS refused, else it must exist. */
static int
check_default_ds (const struct mock *m, const char *ds, char *url, size_t len,
                  vdvs_error_t *err)
{
  if (strcmp (ds, MOCK_ALL_DS) == 0)
    return vdvs_error_set (err, EINVAL,
                           "Cannot use _ALL_DS as default datastore. Please "
                           "use specific datastore name or _VM_DS special "
                           "datastore");
  return ds_url (m, ds, url, len, err);
}

int
vdvs_mock_vmgroup_create (void *handle, const char *name,
                          const char *default_ds, const char *description,
                          const char *vm_list, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct vm_list l = { 0 };
  char url[PATH_MAX], id[64], g[64];
  bool is_default = strcmp (name, MOCK_DEFAULT_TENANT) == 0;
  sqlite3 *db = NULL;
  int r;

  if (admin_begin (m, &db, err) < 0)
    return -1;
  if (!tenant_name_valid (name))
    r = vdvs_error_set (err, EINVAL,
                        "Vmgroup name %s is invalid, only "
                        "[a-zA-Z0-9_][a-zA-Z0-9_.-]* is allowed",
                        name);
  else if (vm_list && vm_list[0] && is_default)
    r = vdvs_error_set (err, EINVAL, "Invalid Argument(%s)", vm_list);
  else if (vm_list && vm_list[0]
           && (vm_list_parse (m, vm_list, &l, err) < 0
               || vm_list_check_add (db, m, &l, "Cannot add VM to vmgroup ",
                                     err)
                      < 0))
    r = -1;
  else if (check_default_ds (m, default_ds, url, sizeof url, err) < 0)
    r = -1;
  else if ((r = q_text (db, g, sizeof g, err,
                        "SELECT id FROM tenants WHERE name = ?", name, NULL))
           != 0)
    r = r < 0
            ? r
            : vdvs_error_set (err, EEXIST, "Vmgroup %s already exists", name);
  else
    {
      /* _DEFAULT comes back with its fixed UUID, so its volumes do too. */
      if (is_default)
        snprintf (id, sizeof id, "%s", MOCK_DEFAULT_TENANT_UUID);
      else
        uuid4 (id, sizeof id);
      r = q_exec (db, err, "INSERT INTO tenants VALUES (?, ?, ?, ?)", "ssss",
                  id, name, description ? description : "", url);
      if (r == 0)
        r = q_exec (db, err, "INSERT INTO privileges VALUES (?, ?, 1, 0, 0)",
                    "ss", id, url);
      if (r == 0)
        r = vm_list_insert (db, id, &l, err);
    }
  return admin_end (db, r, err);
}

/* Each volume in vmgroup `uuid`'s folder on every datastore, to `fn`
 * (stops at the first <0 it returns); how many were seen, or <0. */
static int
each_group_volume (struct mock *m, const char *uuid,
                   int (*fn) (struct mock *, const char *ds, const char *vol,
                              void *),
                   void *opaque)
{
  int n = 0;

  for (size_t i = 0; i < m->n_ds; i++)
    {
      char dir[PATH_MAX], vol[NAME_MAX + 1];
      DIR *d;
      struct dirent *e;

      snprintf (dir, sizeof dir, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                uuid);
      if ((d = opendir (dir)) == NULL)
        continue;
      while ((e = readdir (d)) != NULL)
        if (mock_index_is_descriptor (dirfd (d), e->d_name, vol, sizeof vol))
          {
            n++;
            if (fn != NULL && fn (m, m->ds[i], vol, opaque) < 0)
              {
                closedir (d);
                return -1;
              }
          }
      closedir (d);
    }
  return n;
}

/* What --remove-volumes did: the refusals (upstream's texts, run on) and
 * the volumes rows of the volumes gone. */
struct group_rm
{
  const char *uuid, *name;
  char failed[4096];
  size_t off;
  sqlite3 *db;
};

static int
remove_group_volume (struct mock *m, const char *ds, const char *vol,
                     void *opaque)
{
  struct group_rm *g = opaque;
  struct mock_vol v;
  vdvs_error_t e = NULL;
  char url[PATH_MAX];
  int fd, r;

  /* Under the volume's lock, as a VM's remove: never a disk that a VM has
   * attached, and no attach starts meanwhile. */
  if ((r = mock_vol_paths_in (m, ds, vol, g->uuid, g->name, &v, &e)) == 0
      && (fd = mock_lock (m, &v, &e)) >= 0)
    {
      r = mock_remove_locked (&v, &e);
      mock_unlock (fd);
      /* Removed meanwhile by its VM: gone, as wanted. */
      if (r < 0 && e->status == ENOENT)
        {
          vdvs_error_release (&e);
          r = 0;
        }
    }
  else
    r = -1;
  if (r < 0)
    {
      if (g->off < sizeof g->failed)
        g->off += (size_t) snprintf (g->failed + g->off,
                                     sizeof g->failed - g->off, "%s%s",
                                     g->off ? " " : "", e->msg);
      vdvs_error_release (&e);
      return 0;
    }
  snprintf (url, sizeof url, "/vmfs/volumes/%s", ds);
  if (g->db != NULL
      && q_exec (g->db, &e,
                 "DELETE FROM volumes WHERE tenant_id = ? AND "
                 "datastore_url = ? AND volume_name = ?",
                 "sss", g->uuid, url, vol)
             < 0)
    vdvs_error_release (&e);
  return 0;
}

/* dockvols/<name> (when it names the uuid folder) and the folder itself,
 * if empty, on every datastore. */
static void
remove_group_folders (struct mock *m, const char *uuid, const char *name)
{
  for (size_t i = 0; i < m->n_ds; i++)
    {
      char path[PATH_MAX], target[128];
      ssize_t n;

      snprintf (path, sizeof path, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                name);
      n = readlink (path, target, sizeof target - 1);
      if (n > 0)
        {
          target[n] = '\0';
          if (strcmp (target, uuid) == 0)
            unlink (path);
        }
      snprintf (path, sizeof path, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                uuid);
      rmdir (path);
    }
}

/* A vmgroup's VMs refused (without force) as upstream; 0 or <0. */
static int
check_no_vms (sqlite3 *db, const char *id, const char *name, bool force,
              vdvs_error_t *err)
{
  char any[8];
  int r = q_text (db, any, sizeof any, err,
                  "SELECT 1 FROM vms WHERE tenant_id = ?", id, NULL);
  if (r == 1 && !force)
    return vdvs_error_set (err, EBUSY,
                           "Cannot delete non-empty vmgroup %s. Remove VMs "
                           "from the vmgroup before deleting it.",
                           name);
  return r < 0 ? r : 0;
}

int
vdvs_mock_vmgroup_rm (void *handle, const char *name, bool remove_volumes,
                      bool force, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct group_rm g = { 0 };
  char id[64];
  sqlite3 *db = NULL;
  int r;

  /* Upstream's order: the vmgroup, its VMs, its volumes (the files in its
   * folders), then the rows.  The volumes go outside any transaction: a
   * VM's remove holds a volume's lock while it writes the DB. */
  if (admin_begin (m, &db, err) < 0)
    return -1;
  if ((r = tenant_id (db, name, id, sizeof id, err)) == 0)
    r = check_no_vms (db, id, name, force, err);
  admin_end (db, -1, NULL);
  if (r < 0)
    return r;
  if (each_group_volume (m, id, NULL, NULL) > 0)
    {
      if (!remove_volumes)
        return vdvs_error_set (err, EBUSY,
                               "Internal Error(The vmgroup has volumes in "
                               "it, these must be removed/migrated before "
                               "deleting the vmgroup.)");
      g.uuid = id;
      g.name = name;
      if (mock_authdb_open (m, (void **) &g.db, err) < 0)
        return -1;
      each_group_volume (m, id, remove_group_volume, &g);
      mock_authdb_close (g.db);
      /* A volume in use keeps its vmgroup, as upstream. */
      if (g.off)
        return vdvs_error_set (err, EBUSY, "Internal Error(%s)", g.failed);
    }
  if (admin_begin (m, &db, err) < 0)
    return -1;
  /* Re-checked in the transaction that deletes: the vmgroup may have
   * changed since. */
  if ((r = tenant_id (db, name, id, sizeof id, err)) == 0)
    r = check_no_vms (db, id, name, force, err);
  if (r == 0)
    r = q_exec (db, err, "DELETE FROM vms WHERE tenant_id = ?", "s", id);
  if (r == 0)
    r = q_exec (db, err, "DELETE FROM privileges WHERE tenant_id = ?", "s",
                id);
  if (r == 0)
    r = q_exec (db, err, "DELETE FROM volumes WHERE tenant_id = ?", "s", id);
  if (r == 0)
    r = q_exec (db, err, "DELETE FROM tenants WHERE id = ?", "s", id);
  /* As upstream, the name alias goes in any case: a later vmgroup of the
   * same name must not find it pointing here. */
  if ((r = admin_end (db, r, err)) == 0)
    remove_group_folders (m, id, name);
  return r;
}

/* The Default_datastore cell of a stored URL. */
static void
default_ds_cell (const struct mock *m, const char *url, char *buf, size_t len)
{
  ds_name (m, url, buf, len);
}

int
vdvs_mock_vmgroup_ls (void *handle, cJSON **rows, vdvs_error_t *err)
{
  struct mock *m = handle;
  sqlite3 *db = NULL;
  sqlite3_stmt *st, *vs;
  cJSON *arr;
  int r = 0, s;

  if (mock_authdb_open (m, (void **) &db, err) < 0)
    return vdvs_error_wrap (err, "Internal Error");
  arr = cJSON_CreateArray ();
  if (db == NULL)
    {
      /* No DB: everything is the synthesized _DEFAULT. */
      cJSON *o = cJSON_CreateObject ();
      cJSON_AddStringToObject (o, "Uuid", MOCK_DEFAULT_TENANT_UUID);
      cJSON_AddStringToObject (o, "Name", MOCK_DEFAULT_TENANT);
      cJSON_AddStringToObject (o, "Description", "This is a default vmgroup");
      cJSON_AddStringToObject (o, "Default_datastore", MOCK_VM_DS);
      cJSON_AddStringToObject (o, "VM_list", "");
      cJSON_AddItemToArray (arr, o);
      *rows = arr;
      return 0;
    }
  st = q (db,
          "SELECT id, name, description, default_datastore_url FROM "
          "tenants ORDER BY rowid",
          "");
  while (st != NULL && (s = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (st, 0);
      const char *name = (const char *) sqlite3_column_text (st, 1);
      const char *desc = (const char *) sqlite3_column_text (st, 2);
      const char *url = (const char *) sqlite3_column_text (st, 3);
      char ds[256], vms[4096] = "", live[128];
      cJSON *o;

      if (url == NULL || url[0] == '\0')
        {
          r = vdvs_error_set (err, EINVAL,
                              "Default datastore is not set for vmgroup %s",
                              name);
          break;
        }
      default_ds_cell (m, url, ds, sizeof ds);
      vs = q (db,
              "SELECT vm_id, vm_name FROM vms WHERE tenant_id = ? "
              "ORDER BY rowid",
              "s", id);
      while (vs != NULL && sqlite3_step (vs) == SQLITE_ROW)
        {
          const char *vid = (const char *) sqlite3_column_text (vs, 0);
          const char *vname = (const char *) sqlite3_column_text (vs, 1);
          inventory_name (m, vid, live, sizeof live);
          if (strlen (vms) + sizeof live + 2 < sizeof vms)
            {
              strcat (vms, vms[0] ? "," : "");
              strcat (vms, live[0] ? live : vname && vname[0] ? vname : "N/A");
            }
        }
      sqlite3_finalize (vs);
      o = cJSON_CreateObject ();
      cJSON_AddStringToObject (o, "Uuid", id);
      cJSON_AddStringToObject (o, "Name", name);
      cJSON_AddStringToObject (o, "Description", desc ? desc : "");
      cJSON_AddStringToObject (o, "Default_datastore", ds);
      cJSON_AddStringToObject (o, "VM_list", vms);
      cJSON_AddItemToArray (arr, o);
    }
  if (st == NULL)
    r = sqlite_error (err);
  sqlite3_finalize (st);
  sqlite3_close (db);
  if (r < 0)
    {
      cJSON_Delete (arr);
      return r;
    }
  *rows = arr;
  return 0;
}

/* vm add/rm: the checks both share, in upstream's order. */
static int
vm_cmd_begin (struct mock *m, const char *name, const char *vm_list,
              const char *empty, struct vm_list *l, sqlite3 **db, char *id,
              size_t idlen, vdvs_error_t *err)
{
  if (admin_begin (m, db, err) < 0)
    return -1;
  if (strcmp (name, MOCK_DEFAULT_TENANT) == 0)
    return admin_end (*db,
                      vdvs_error_set (err, EINVAL,
                                      "This feature is not supported "
                                      "for vmgroup _DEFAULT."),
                      err);
  if (tenant_id (*db, name, id, idlen, err) < 0)
    return admin_end (*db, -1, err);
  if (vm_list == NULL || vm_list[0] == '\0')
    return admin_end (*db, vdvs_error_set (err, EINVAL, "%s", empty), err);
  if (vm_list_parse (m, vm_list, l, err) < 0)
    return admin_end (*db, -1, err);
  return 0;
}

int
vdvs_mock_vmgroup_vm_add (void *handle, const char *name, const char *vm_list,
                          vdvs_error_t *err)
{
  struct vm_list l = { 0 };
  char id[64];
  sqlite3 *db = NULL;
  int r;

  if (vm_cmd_begin (handle, name, vm_list, "VM list cannot be empty", &l, &db,
                    id, sizeof id, err)
      < 0)
    return -1;
  r = vm_list_check_add (db, handle, &l, "Cannot add VM to vmgroup ", err);
  if (r == 0)
    r = vm_list_insert (db, id, &l, err);
  return admin_end (db, r, err);
}

int
vdvs_mock_vmgroup_vm_rm (void *handle, const char *name, const char *vm_list,
                         vdvs_error_t *err)
{
  struct vm_list l = { 0 };
  char id[64], t[64];
  sqlite3 *db = NULL;
  int r = 0;

  if (vm_cmd_begin (handle, name, vm_list, "VM list cannot be empty", &l, &db,
                    id, sizeof id, err)
      < 0)
    return -1;
  for (size_t i = 0; i < l.n && r == 0; i++)
    if (vm_has_mounted (handle, l.uuid[i]))
      r = vdvs_error_set (err, EBUSY,
                          "Cannot complete vmgroup vm rm. VM '%s' has volumes "
                          "mounted.",
                          l.name[i]);
  for (size_t i = 0; i < l.n && r == 0; i++)
    {
      r = q_text (db, t, sizeof t, err,
                  "SELECT 1 FROM vms WHERE vm_id = ? AND tenant_id = ?",
                  l.uuid[i], id);
      if (r == 0)
        r = vdvs_error_set (err, ENOENT,
                            "VM '%s' has not been associated with tenant "
                            "'%s', cannot remove it",
                            l.name[i], name);
      else if (r == 1)
        r = 0;
    }
  for (size_t i = 0; i < l.n && r == 0; i++)
    r = q_exec (db, err, "DELETE FROM vms WHERE vm_id = ?", "s", l.uuid[i]);
  return admin_end (db, r, err);
}

/* Read-only commands: INIT_NEEDED without a DB, then the group's id. */
static int
read_begin (struct mock *m, const char *name, sqlite3 **db, char *id,
            size_t idlen, vdvs_error_t *err)
{
  void *h = NULL;

  if (mock_authdb_open (m, &h, err) < 0)
    return -1;
  if (h == NULL)
    return vdvs_error_set (err, ENOENT, MOCK_INIT_NEEDED);
  if (tenant_id (h, name, id, idlen, err) < 0)
    {
      sqlite3_close (h);
      return -1;
    }
  *db = h;
  return 0;
}

int
vdvs_mock_vmgroup_vm_ls (void *handle, const char *name, cJSON **rows,
                         vdvs_error_t *err)
{
  char id[64], live[128];
  sqlite3 *db = NULL;
  sqlite3_stmt *st;
  cJSON *arr;

  if (strcmp (name, MOCK_DEFAULT_TENANT) == 0)
    return vdvs_error_set (err, EINVAL,
                           "_DEFAULT tenant contains all VMs which were not "
                           "added to other tenants");
  if (read_begin (handle, name, &db, id, sizeof id, err) < 0)
    return -1;
  arr = cJSON_CreateArray ();
  st = q (db,
          "SELECT vm_id, vm_name FROM vms WHERE tenant_id = ? "
          "ORDER BY rowid",
          "s", id);
  while (st != NULL && sqlite3_step (st) == SQLITE_ROW)
    {
      const char *vid = (const char *) sqlite3_column_text (st, 0);
      const char *vname = (const char *) sqlite3_column_text (st, 1);
      cJSON *o = cJSON_CreateObject ();

      inventory_name (handle, vid, live, sizeof live);
      cJSON_AddStringToObject (o, "Uuid", vid);
      cJSON_AddStringToObject (o, "Name",
                               live[0]             ? live
                               : vname && vname[0] ? vname
                                                   : "N/A");
      cJSON_AddItemToArray (arr, o);
    }
  sqlite3_finalize (st);
  sqlite3_close (db);
  *rows = arr;
  return 0;
}

int
vdvs_mock_access_add (void *handle, const char *name, const char *ds,
                      bool allow_create, const char *max, const char *total,
                      vdvs_error_t *err)
{
  struct mock *m = handle;
  char id[64], url[PATH_MAX], any[8];
  uint64_t max_mb = max ? mock_convert_to_mb (max) : 0;
  uint64_t total_mb = total ? mock_convert_to_mb (total) : 0;
  sqlite3 *db = NULL;
  int r;

  if (admin_begin (m, &db, err) < 0)
    return -1;
  if ((r = tenant_id (db, name, id, sizeof id, err)) < 0
      || (r = ds_url (m, ds, url, sizeof url, err)) < 0)
    return admin_end (db, r, err);
  r = q_text (db, any, sizeof any, err,
              "SELECT 1 FROM privileges WHERE tenant_id = ? AND "
              "datastore_url = ?",
              id, url);
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
    r = q_exec (db, err, "INSERT INTO privileges VALUES (?, ?, ?, ?, ?)",
                "ssiii", id, url, (int64_t) allow_create, (int64_t) max_mb,
                (int64_t) total_mb);
  return admin_end (db, r, err);
}

int
vdvs_mock_access_rm (void *handle, const char *name, const char *ds,
                     vdvs_error_t *err)
{
  struct mock *m = handle;
  char id[64], url[PATH_MAX], def[PATH_MAX], any[8];
  sqlite3 *db = NULL;
  int r;

  if (admin_begin (m, &db, err) < 0)
    return -1;
  if ((r = tenant_id (db, name, id, sizeof id, err)) < 0
      || (r = ds_url (m, ds, url, sizeof url, err)) < 0)
    return admin_end (db, r, err);
  r = q_text (db, any, sizeof any, err,
              "SELECT 1 FROM privileges WHERE tenant_id = ? AND "
              "datastore_url = ?",
              id, url);
  if (r == 0)
    r = vdvs_error_set (err, ENOENT, "No access privilege exists for (%s, %s)",
                        name, ds);
  else if (r == 1)
    r = q_text (db, def, sizeof def, err,
                "SELECT default_datastore_url FROM tenants WHERE id = ?", id,
                NULL);
  if (r == 1 && strcmp (def, url) == 0)
    r = vdvs_error_set (err, EINVAL,
                        "Removing of access privilege to 'default_datastore' "
                        "is not supported");
  else if (r == 1)
    r = q_exec (db, err,
                "DELETE FROM privileges WHERE tenant_id = ? AND "
                "datastore_url = ?",
                "ss", id, url);
  return admin_end (db, r, err);
}

int
vdvs_mock_access_ls (void *handle, const char *name, cJSON **rows,
                     vdvs_error_t *err)
{
  char id[64];
  sqlite3 *db = NULL;
  sqlite3_stmt *st;
  cJSON *arr;

  if (read_begin (handle, name, &db, id, sizeof id, err) < 0)
    return -1;
  arr = cJSON_CreateArray ();
  st = q (db,
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

      ds_name (handle, url ? url : "", ds, sizeof ds);
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
vdvs_mock_vmgroup_vm_replace (void *handle, const char *name,
                              const char *vm_list, vdvs_error_t *err)
{
  struct vm_list l = { 0 };
  char id[64];
  sqlite3 *db = NULL;
  sqlite3_stmt *st;
  int r = 0;

  if (vm_cmd_begin (handle, name, vm_list, "Replace VM cannot be empty", &l,
                    &db, id, sizeof id, err)
      < 0)
    return -1;
  /* Upstream's "already in this group" test never matches, so a VM of
   * the group itself is refused by the "any group" one. */
  if (vm_list_check_free (db, &l, err) < 0)
    return admin_end (db, -1, err);
  /* The members replaced out must have nothing mounted. */
  st = q (db,
          "SELECT vm_id, vm_name FROM vms WHERE tenant_id = ? "
          "ORDER BY rowid",
          "s", id);
  while (r == 0 && st != NULL && sqlite3_step (st) == SQLITE_ROW)
    {
      const char *vid = (const char *) sqlite3_column_text (st, 0);
      const char *vname = (const char *) sqlite3_column_text (st, 1);
      char live[128];

      if (!vm_has_mounted (handle, vid))
        continue;
      inventory_name (handle, vid, live, sizeof live);
      r = vdvs_error_set (err, EBUSY,
                          "Cannot complete vmgroup vm replace. VM '%s' has "
                          "volumes mounted.",
                          live[0] ? live
                          : vname ? vname
                                  : vid);
    }
  if (st == NULL)
    r = sqlite_error (err);
  sqlite3_finalize (st);
  if (r == 0)
    r = q_exec (db, err, "DELETE FROM vms WHERE tenant_id = ?", "s", id);
  if (r == 0)
    r = vm_list_insert (db, id, &l, err);
  return admin_end (db, r, err);
}

/* A renamed vmgroup's alias dockvols/<name> follows it on every
 * datastore (only a link that names its folder). */
static void
rename_aliases (const struct mock *m, const char *id, const char *from,
                const char *to)
{
  for (size_t i = 0; i < m->n_ds; i++)
    {
      char old[PATH_MAX], new[PATH_MAX], target[128];
      ssize_t n;

      snprintf (old, sizeof old, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                from);
      snprintf (new, sizeof new, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                to);
      n = readlink (old, target, sizeof target - 1);
      if (n < 0)
        continue;
      target[n] = '\0';
      if (strcmp (target, id) == 0 && rename (old, new) < 0)
        vdvs_log (VDVS_LOG_WARN, "vmgroup alias not renamed",
                  "path=%s error=\"%s\"", old, strerror (errno));
    }
}

int
vdvs_mock_vmgroup_update (void *handle, const char *name, const char *new_name,
                          const char *description, const char *default_ds,
                          vdvs_error_t *err)
{
  struct mock *m = handle;
  char id[64], url[PATH_MAX], any[8];
  sqlite3 *db = NULL;
  int r;

  if (admin_begin (m, &db, err) < 0)
    return -1;
  if ((r = tenant_id (db, name, id, sizeof id, err)) < 0)
    return admin_end (db, r, err);
  /* The default datastore first; a full row only where there is none
   * (a mount-only row stays), the old default's row kept. */
  if (default_ds && default_ds[0])
    {
      if (check_default_ds (m, default_ds, url, sizeof url, err) < 0)
        return admin_end (db, -1, err);
      r = q_exec (db, err,
                  "UPDATE tenants SET default_datastore_url = ? WHERE id = ?",
                  "ss", url, id);
      if (r == 0)
        r = q_text (db, any, sizeof any, err,
                    "SELECT 1 FROM privileges WHERE tenant_id = ? AND "
                    "datastore_url = ?",
                    id, url);
      if (r == 0)
        r = q_exec (db, err, "INSERT INTO privileges VALUES (?, ?, 1, 0, 0)",
                    "ss", id, url);
      if (r < 0)
        return admin_end (db, r, err);
      r = 0;
    }
  if (new_name && new_name[0])
    {
      if (strcmp (name, MOCK_DEFAULT_TENANT) == 0)
        return admin_end (db,
                          vdvs_error_set (err, EINVAL,
                                          "Vmgroup name _DEFAULT is invalid, "
                                          "only rename of vmgroups other "
                                          "than _DEFAULT is allowed"),
                          err);
      r = q_text (db, any, sizeof any, err,
                  "SELECT 1 FROM tenants WHERE name = ?", new_name, NULL);
      if (r == 1)
        r = vdvs_error_set (err, EEXIST, "Vmgroup %s already exists",
                            new_name);
      /* upstream checks the old name against the pattern, not the new. */
      else if (r == 0 && !tenant_name_valid (name))
        r = vdvs_error_set (err, EINVAL,
                            "Vmgroup name %s is invalid, only "
                            "[a-zA-Z0-9_][a-zA-Z0-9_.-]* is allowed",
                            name);
      else if (r == 0)
        r = q_exec (db, err, "UPDATE tenants SET name = ? WHERE id = ?", "ss",
                    new_name, id);
      if (r < 0)
        return admin_end (db, r, err);
      rename_aliases (m, id, name, new_name);
    }
  if (description && description[0])
    r = q_exec (db, err, "UPDATE tenants SET description = ? WHERE id = ?",
                "ss", description, id);
  return admin_end (db, r, err);
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

  if (admin_begin (m, &db, err) < 0)
    return -1;
  if ((r = tenant_id (db, name, id, sizeof id, err)) < 0
      || (r = ds_url (m, ds, url, sizeof url, err)) < 0)
    return admin_end (db, r, err);
  st = q (db,
          "SELECT allow_create, max_volume_size, usage_quota FROM "
          "privileges WHERE tenant_id = ? AND datastore_url = ?",
          "ss", id, url);
  if (st == NULL)
    return admin_end (db, sqlite_error (err), err);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      allow = sqlite3_column_int64 (st, 0);
      cur_max = sqlite3_column_int64 (st, 1);
      cur_total = sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  if (allow < 0)
    return admin_end (db,
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
        return admin_end (db,
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
    return admin_end (db,
                      vdvs_error_set (err, EINVAL,
                                      "Volume max size %" PRId64
                                      "MB exceeds the total size %" PRId64
                                      "MB",
                                      cur_max, cur_total),
                      err);
  r = q_exec (db, err,
              "UPDATE privileges SET allow_create = ?, max_volume_size = ?, "
              "usage_quota = ? WHERE tenant_id = ? AND datastore_url = ?",
              "iiiss", allow, cur_max, cur_total, id, url);
  return admin_end (db, r, err);
}

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
      && q_text (db, buf, len, &ignore,
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
