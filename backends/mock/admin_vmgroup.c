/* vmgroup create/rm/ls/update: the groups, their folders and, with
 * --remove-volumes, their volumes (auth_api.py, reference
 * admin-tenancy.md §5.2). */
#include "authdb_i.h"
#include "index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

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
  return adb_ds_url (m, ds, url, len, err);
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

  if (adb_begin_admin (m, &db, "_tenant_create", err) < 0)
    return -1;
  if (!tenant_name_valid (name))
    r = vdvs_error_set (err, EINVAL,
                        "Vmgroup name %s is invalid, only "
                        "[a-zA-Z0-9_][a-zA-Z0-9_.-]* is allowed",
                        name);
  else if (vm_list && vm_list[0] && is_default)
    {
      /* The split list, as a Python list. */
      char py[2048] = "['";
      size_t off = 2;
      for (const char *p = vm_list; *p && off + 8 < sizeof py; p++)
        if (*p == ',')
          off += (size_t) snprintf (py + off, sizeof py - off, "', '");
        else
          py[off++] = *p;
      snprintf (py + off, sizeof py - off, "']");
      r = vdvs_error_set (err, EINVAL, "Invalid Argument(%s)", py);
    }
  else if (vm_list && vm_list[0]
           && (adb_vm_list_parse (m, vm_list, &l, err) < 0
               || adb_vm_list_check_add (db, m, &l,
                                         "Cannot add VM to vmgroup ", err)
                      < 0))
    r = -1;
  else if (check_default_ds (m, default_ds, url, sizeof url, err) < 0)
    r = -1;
  else if ((r = adb_text (db, g, sizeof g, err,
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
      r = adb_exec (db, err, "INSERT INTO tenants VALUES (?, ?, ?, ?)", "ssss",
                    id, name, description ? description : "", url);
      if (r == 0)
        r = adb_exec (db, err, "INSERT INTO privileges VALUES (?, ?, 1, 0, 0)",
                      "ss", id, url);
      if (r == 0)
        r = adb_vm_list_insert (db, id, &l, err);
    }
  return adb_end_admin (db, r, err);
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
      && adb_exec (g->db, &e,
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
  int r = adb_text (db, any, sizeof any, err,
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
  if (adb_begin_admin (m, &db, "_tenant_rm", err) < 0)
    return -1;
  if ((r = adb_tenant_id (db, name, id, sizeof id, err)) == 0)
    r = check_no_vms (db, id, name, force, err);
  adb_end_admin (db, -1, NULL);
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
  if (adb_begin_admin (m, &db, "_tenant_rm", err) < 0)
    return -1;
  /* Re-checked in the transaction that deletes: the vmgroup may have
   * changed since. */
  if ((r = adb_tenant_id (db, name, id, sizeof id, err)) == 0)
    r = check_no_vms (db, id, name, force, err);
  if (r == 0)
    r = adb_exec (db, err, "DELETE FROM vms WHERE tenant_id = ?", "s", id);
  if (r == 0)
    r = adb_exec (db, err, "DELETE FROM privileges WHERE tenant_id = ?", "s",
                  id);
  if (r == 0)
    r = adb_exec (db, err, "DELETE FROM volumes WHERE tenant_id = ?", "s", id);
  if (r == 0)
    r = adb_exec (db, err, "DELETE FROM tenants WHERE id = ?", "s", id);
  /* As upstream, the name alias goes in any case: a later vmgroup of the
   * same name must not find it pointing here. */
  if ((r = adb_end_admin (db, r, err)) == 0)
    remove_group_folders (m, id, name);
  return r;
}

/* The Default_datastore cell of a stored URL. */
static void
default_ds_cell (const struct mock *m, const char *url, char *buf, size_t len)
{
  adb_ds_name (m, url, buf, len);
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
    return adb_internal_error (NULL, err);
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
  st = adb_query (db,
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
      vs = adb_query (db,
                      "SELECT vm_id, vm_name FROM vms WHERE tenant_id = ? "
                      "ORDER BY rowid",
                      "s", id);
      while (vs != NULL && sqlite3_step (vs) == SQLITE_ROW)
        {
          const char *vid = (const char *) sqlite3_column_text (vs, 0);
          const char *vname = (const char *) sqlite3_column_text (vs, 1);
          adb_vm_name (m, vid, live, sizeof live);
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
    r = adb_sqlite_error (err);
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

  if (adb_begin_admin (m, &db, "_tenant_update", err) < 0)
    return -1;
  if ((r = adb_tenant_id (db, name, id, sizeof id, err)) < 0)
    return adb_end_admin (db, r, err);
  /* The default datastore first; a full row only where there is none
   * (a mount-only row stays), the old default's row kept. */
  if (default_ds && default_ds[0])
    {
      if (check_default_ds (m, default_ds, url, sizeof url, err) < 0)
        return adb_end_admin (db, -1, err);
      r = adb_exec (db, err,
                    "UPDATE tenants SET default_datastore_url = ? WHERE id = ?",
                    "ss", url, id);
      if (r == 0)
        r = adb_privilege_exists (db, id, url, err);
      if (r == 0)
        r = adb_exec (db, err, "INSERT INTO privileges VALUES (?, ?, 1, 0, 0)",
                      "ss", id, url);
      if (r < 0)
        return adb_end_admin (db, r, err);
      r = 0;
    }
  if (new_name && new_name[0])
    {
      if (strcmp (name, MOCK_DEFAULT_TENANT) == 0)
        return adb_end_admin (db,
                              vdvs_error_set (err, EINVAL,
                                              "Vmgroup name _DEFAULT is invalid, "
                                              "only rename of vmgroups other "
                                              "than _DEFAULT is allowed"),
                              err);
      r = adb_text (db, any, sizeof any, err,
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
        r = adb_exec (db, err, "UPDATE tenants SET name = ? WHERE id = ?",
                      "ss", new_name, id);
      if (r < 0)
        return adb_end_admin (db, r, err);
      rename_aliases (m, id, name, new_name);
    }
  if (description && description[0])
    r = adb_exec (db, err, "UPDATE tenants SET description = ? WHERE id = ?",
                  "ss", description, id);
  return adb_end_admin (db, r, err);
}
