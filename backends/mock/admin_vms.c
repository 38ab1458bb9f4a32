/* The VMs of a vmgroup: vmgroup vm add/rm/ls/replace and the VM list
 * parsing and checks vmgroup create shares (auth_api.py, reference
 * admin-tenancy.md §5.2). */
#include "authdb_i.h"

#include <errno.h>
#include <stdio.h>

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
int
adb_vm_list_parse (const struct mock *m, const char *s, struct vm_list *l,
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
    if (!adb_vm_uuid (m, l->name[i], l->uuid[i], sizeof l->uuid[0])
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
      r = adb_text (db, g, sizeof g, err,
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
int
adb_vm_list_check_add (sqlite3 *db, const struct mock *m,
                       const struct vm_list *l, const char *mounted_prefix,
                       vdvs_error_t *err)
{
  if (vm_list_check_free (db, l, err) < 0)
    return -1;
  for (size_t i = 0; i < l->n; i++)
    if (vm_has_mounted (m, l->uuid[i]))
      return vdvs_error_set (err, EBUSY, "%sVM '%s' has volumes mounted.",
                             mounted_prefix, l->name[i]);
  return 0;
}

int
adb_vm_list_insert (sqlite3 *db, const char *tenant, const struct vm_list *l,
                    vdvs_error_t *err)
{
  for (size_t i = 0; i < l->n; i++)
    if (adb_exec (db, err, "INSERT INTO vms VALUES (?, ?, ?)", "sss",
                  l->uuid[i], tenant, l->name[i])
        < 0)
      return -1;
  return 0;
}

/* vm add/rm: the checks both share, in upstream's order. */
static int
vm_cmd_begin (struct mock *m, const char *name, const char *vm_list,
              const char *empty, struct vm_list *l, sqlite3 **db, char *id,
              size_t idlen, vdvs_error_t *err)
{
  /* upstream's decorator around vm add/rm/replace is named check_name. */
  if (adb_begin_admin (m, db, "check_name", err) < 0)
    return -1;
  if (strcmp (name, MOCK_DEFAULT_TENANT) == 0)
    return adb_end_admin (*db,
                          vdvs_error_set (err, EINVAL,
                                          "This feature is not supported "
                                          "for vmgroup _DEFAULT."),
                          err);
  if (adb_tenant_id (*db, name, id, idlen, err) < 0)
    return adb_end_admin (*db, -1, err);
  if (vm_list == NULL || vm_list[0] == '\0')
    return adb_end_admin (*db, vdvs_error_set (err, EINVAL, "%s", empty), err);
  if (adb_vm_list_parse (m, vm_list, l, err) < 0)
    return adb_end_admin (*db, -1, err);
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
  r = adb_vm_list_check_add (db, handle, &l, "Cannot add VM to vmgroup ", err);
  if (r == 0)
    r = adb_vm_list_insert (db, id, &l, err);
  return adb_end_admin (db, r, err);
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
      r = adb_text (db, t, sizeof t, err,
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
    r = adb_exec (db, err, "DELETE FROM vms WHERE vm_id = ?", "s", l.uuid[i]);
  return adb_end_admin (db, r, err);
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
  if (adb_begin_read (handle, name, NULL, &db, id, sizeof id, err) < 0)
    return -1;
  arr = cJSON_CreateArray ();
  st = adb_query (db,
                  "SELECT vm_id, vm_name FROM vms WHERE tenant_id = ? "
                  "ORDER BY rowid",
                  "s", id);
  while (st != NULL && sqlite3_step (st) == SQLITE_ROW)
    {
      const char *vid = (const char *) sqlite3_column_text (st, 0);
      const char *vname = (const char *) sqlite3_column_text (st, 1);
      cJSON *o = cJSON_CreateObject ();

      adb_vm_name (handle, vid, live, sizeof live);
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
    return adb_end_admin (db, -1, err);
  /* The members replaced out must have nothing mounted. */
  st = adb_query (db,
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
      adb_vm_name (handle, vid, live, sizeof live);
      r = vdvs_error_set (err, EBUSY,
                          "Cannot complete vmgroup vm replace. VM '%s' has "
                          "volumes mounted.",
                          live[0] ? live
                          : vname ? vname
                                  : vid);
    }
  if (st == NULL)
    r = adb_sqlite_error (err);
  sqlite3_finalize (st);
  if (r == 0)
    r = adb_exec (db, err, "DELETE FROM vms WHERE tenant_id = ?", "s", id);
  if (r == 0)
    r = adb_vm_list_insert (db, id, &l, err);
  return adb_end_admin (db, r, err);
}
