/* config init --local|--datastore and config rm: creating, sharing and
 * removing the Config DB as upstream (auth_api.py, reference
 * admin-tenancy.md §2). */
#include "authdb_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Upstream's tables and the default vmgroup a new DB starts with. */
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

/* The refusals of config init on a configured path (upstream's order). */
static int
init_refused (const char *path, vdvs_error_t *err)
{
  enum mock_db_mode mode = adb_mode_of (path, NULL);
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
vdvs_mock_config_init_args (void *handle, bool local, const char *ds,
                            vdvs_error_t *err)
{
  struct mock *m = handle;
  bool known = false;

  for (size_t i = 0; ds != NULL && i < m->n_ds; i++)
    known |= strcmp (m->ds[i], ds) == 0;
  if (ds != NULL && !known)
    return vdvs_error_set (err, ENOENT, "No such datastore: %s", ds);
  if (ds != NULL && local)
    return vdvs_error_set (err, EINVAL,
                           "Error: only one of '--datastore' "
                           "or '--local' can be set");
  if (ds == NULL && !local)
    return vdvs_error_set (err, EINVAL,
                           "Error: one of '--datastore' or "
                           "'--local' have to be set");
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
  mode = adb_mode_of (path, NULL);
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
