/* The admin volume commands (vmdkops_admin.py volume ls|set): every
 * volume of every vmgroup folder and the orphans directly in dockvols/,
 * with its vmgroup; a volume's options changed in a named vmgroup's
 * folder, with upstream's texts. */
#include "authdb_i.h"
#include "index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vdvs/name.h"

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
      cJSON_AddBoolToObject (o, "vsan", mock_is_vsan (m, ds));
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

/* ---- volume set ------------------------------------------------------ */

/* Append Python's repr() of s (a str) to buf[len]. */
static void
py_repr (const char *s, char *buf, size_t len)
{
  char q = strchr (s, '\'') && !strchr (s, '"') ? '"' : '\'';
  size_t o = strlen (buf);

  if (o + 1 < len)
    buf[o++] = q;
  for (; *s && o + 5 < len; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '\\' || c == (unsigned char) q)
        o += (size_t) snprintf (buf + o, len - o, "\\%c", c);
      else if (c == '\n')
        o += (size_t) snprintf (buf + o, len - o, "\\n");
      else if (c == '\t')
        o += (size_t) snprintf (buf + o, len - o, "\\t");
      else if (c == '\r')
        o += (size_t) snprintf (buf + o, len - o, "\\r");
      else if (c < 0x20 || c == 0x7f)
        o += (size_t) snprintf (buf + o, len - o, "\\x%02x", c);
      else
        buf[o++] = (char) c;
    }
  if (o + 1 < len)
    buf[o++] = q;
  buf[o] = '\0';
}

/* upstream's dict(i.split(":") for i in opts.split(",")) after removing
 * blanks and turning '=' into ':'.  Fills *o; on a malformed element the
 * text of Python's ValueError into why. */
static int
parse_set_options (const char *text, struct vdvs_opts *o, char *why,
                   size_t whylen)
{
  char *flat = malloc (strlen (text) + 1), *p, *next;
  size_t n = 0;
  int elem = 0, r = 0;

  if (flat == NULL)
    return -ENOMEM;
  for (const char *t = text; *t; t++)
    if (!isspace ((unsigned char) *t))
      flat[n++] = *t == '=' ? ':' : *t;
  flat[n] = '\0';
  for (p = flat; r == 0; p = next + 1, elem++)
    {
      char *colon = strchr (p, ':');
      int parts = 1;

      next = p + strcspn (p, ",");
      for (char *c = p; c < next; c++)
        parts += *c == ':';
      if (parts != 2)
        {
          snprintf (why, whylen,
                    "dictionary update sequence element #%d has length %d; "
                    "2 is required",
                    elem, parts);
          r = -EINVAL;
          break;
        }
      *colon = '\0';
      {
        char save = *next;
        *next = '\0';
        if (vdvs_opts_set (o, p, colon + 1) < 0)
          r = -ENOMEM;
        *next = save;
      }
      if (*next == '\0')
        break;
    }
  free (flat);
  return r;
}

/* The id of vmgroup `name`: from the DB, or _DEFAULT's without one. */
static int
vmgroup_id (struct mock *m, const char *name, char *id, size_t len,
            vdvs_error_t *err)
{
  sqlite3 *db = NULL;
  int r;

  if (mock_authdb_open (m, (void **) &db, err) < 0)
    return -1;
  if (db == NULL)
    {
      if (strcmp (name, MOCK_TENANT_NAME) != 0)
        return vdvs_error_set (err, ENOENT, "Vmgroup %s does not exist", name);
      snprintf (id, len, "%s", MOCK_TENANT_UUID);
      return 0;
    }
  r = adb_tenant_id (db, name, id, len, err);
  mock_authdb_close (db);
  return r;
}

/* Why upstream's set_vol_opts returns False: logged, as it logs it; the
 * admin sees only "Failed to update". */
static int
refused (vdvs_error_t *err, const char *options, const char *name,
         const char *why)
{
  vdvs_log (VDVS_LOG_WARN, "Volume options not set", "volume=%s reason=\"%s\"",
            name, why);
  return vdvs_error_set (err, EINVAL, "Failed to update %s for %s.", options,
                         name);
}

int
vdvs_mock_volume_set (void *handle, const char *name, const char *vmgroup,
                      const char *options, vdvs_error_t *err)
{
  static const char *const access[] = { "read-write", "read-only" };
  static const char *const attach_as[] = { "persistent",
                                           "independent_persistent" };
  struct mock *m = handle;
  struct vdvs_opts o = { 0 };
  struct vdvs_name n;
  struct mock_vol v;
  vdvs_error_t why = NULL;
  char id[64], text[1024] = "", bad[1024] = "[";
  const char *ds = NULL;
  int r = -1;

  if ((r = parse_set_options (options, &o, text, sizeof text)) < 0)
    {
      vdvs_opts_clear (&o);
      if (r == -ENOMEM)
        return vdvs_error_set (err, ENOMEM, "out of memory");
      return vdvs_error_set (err, EINVAL, "Failed to update %s for %s - %s.",
                             options, name, text);
    }
  r = -1;
  if (vdvs_name_parse (name, &n, &why) < 0)
    r = refused (err, options, name, why->msg);
  else if (n.datastore[0] == '\0')
    r = refused (err, options, name, "Invalid datastore 'None'.");
  else if (vmgroup_id (m, vmgroup, id, sizeof id, &why) < 0)
    r = refused (err, options, name, why->msg);
  else if (mock_resolve_name (m, name, &n, &ds, &why) < 0
           || mock_vol_paths_in (m, ds, n.volume, id, vmgroup, &v, &why) < 0)
    r = refused (err, options, name, why->msg);
  else if (!mock_vol_exists (&v))
    {
      snprintf (text, sizeof text, "Volume %s not found.", n.volume);
      r = refused (err, options, name, text);
    }
  else
    {
      /* Unknown keys: upstream raises, and the admin shows the repr of
       * the message; bad values: it returns False. */
      char bad_value[512] = "";
      for (size_t i = 0; i < o.n; i++)
        {
          const char *k = o.v[i].key, *val = o.v[i].value;
          bool is_access = strcmp (k, "access") == 0;
          const char *const *ok = is_access ? access : attach_as;
          if (!is_access && strcmp (k, "attach-as") != 0)
            {
              if (bad[1] != '\0')
                strncat (bad, ", ", sizeof bad - strlen (bad) - 1);
              py_repr (k, bad, sizeof bad);
              continue;
            }
          if (strcmp (val, ok[0]) != 0 && strcmp (val, ok[1]) != 0)
            snprintf (bad_value, sizeof bad_value,
                      "Invalid option value %s for %s. Supported values "
                      "are ['%s', '%s'].",
                      val, k, ok[0], ok[1]);
        }
      if (bad[1] != '\0')
        {
          char msg[1200];
          snprintf (msg, sizeof msg,
                    "Invalid options: %s] \nOptions that can be edited: "
                    "['access', 'attach-as']",
                    bad);
          py_repr (msg, text, sizeof text);
          r = vdvs_error_set (err, EINVAL, "Failed to update %s for %s - %s.",
                              options, name, text);
        }
      else if (bad_value[0])
        r = refused (err, options, name, bad_value);
      else if ((r = mock_vol_set_options (m, &v, &o, &why)) < 0)
        r = refused (err, options, name, why->msg);
    }
  vdvs_error_release (&why);
  vdvs_opts_clear (&o);
  return r;
}
