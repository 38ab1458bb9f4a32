/* vdvsctl's views of volumes: the `ls` table and `inspect`'s fields (and
 * the volume shown after set, create and clone), with the mock backend's
 * get; with a Config DB across every vmgroup's folder. */
#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vdvs/name.h"
#include "vdvs/types.h"

#include "authdb.h"
#include "mock.h"
#include "vdvsctl.h"

/* ---- the columns of ls (and the fields of inspect) ------------------ */

#define NCOLS 11
static const char *const col_head[NCOLS] = {
  "VOLUME",      "DATASTORE",  "CREATED",  "CREATED-BY",
  "ATTACHED-TO", "POLICY",     "CAPACITY", "USED",
  "DISK-FORMAT", "FILESYSTEM", "ACCESS",
};
static const char *const col_key[NCOLS] = {
  "volume",   "datastore", "created",    "created-by", "attached-to", "policy",
  "capacity", "used",      "diskformat", "fstype",     "access",
};

/* Missing values as upstream's admin CLI shows them: "detached" for the
 * attachment, "N/A" for the rest (policy: no emulated datastore is
 * vSAN, so only a volume that names one has one). */
static void
columns (const char *name, const struct vdvs_volume_info *i,
         const char *v[NCOLS])
{
#define OR_NA(x) ((x) ? (x) : "N/A")
  v[0] = name;
  v[1] = OR_NA (i->datastore);
  v[2] = OR_NA (i->created);
  v[3] = OR_NA (i->created_by);
  v[4] = i->attached_to_vm ? i->attached_to_vm : "detached";
  v[5] = OR_NA (i->vsan_policy_name);
  v[6] = OR_NA (i->capacity_size);
  v[7] = OR_NA (i->capacity_allocated);
  v[8] = OR_NA (i->diskformat);
  v[9] = OR_NA (i->fstype);
  v[10] = OR_NA (i->access);
#undef OR_NA
}

static cJSON *
info_json (const char *name, const struct vdvs_volume_info *i)
{
  cJSON *o = cJSON_CreateObject ();
  const char *v[NCOLS];

  columns (name, i, v);
  for (size_t k = 0; k < NCOLS; k++)
    cJSON_AddStringToObject (o, col_key[k], v[k]);
#define S(k, x)                                                               \
  if (x)                                                                      \
  cJSON_AddStringToObject (o, k, x)
  S ("status", i->status);
  S ("attach-as", i->attach_as);
  S ("clone-from", i->clone_from);
#undef S
  if (i->has_device)
    {
      cJSON *d = cJSON_AddObjectToObject (o, "attachedVMDevice");
      cJSON_AddStringToObject (d, "Unit", i->device.unit);
      cJSON_AddStringToObject (d, "ControllerPciSlotNumber",
                               i->device.pci_slot);
      cJSON_AddStringToObject (d, "ControllerPciBusNumber", i->device.pci_bus);
    }
  return o;
}

/* One volume, a field a line ("capacity:     10GB"). */
static void
print_fields (const char *name, const struct vdvs_volume_info *i)
{
  cJSON *o = info_json (name, i), *it;

  cJSON_ArrayForEach (it, o)
    {
      if (cJSON_IsString (it))
        printf ("%s:%*s%s\n", it->string, (int) (13 - strlen (it->string)), "",
                it->valuestring);
    }
  if (i->has_device)
    printf ("%-13s unit %s, pci slot %s, bus %s\n", "device:", i->device.unit,
            i->device.pci_slot, i->device.pci_bus);
  cJSON_Delete (o);
}

/* ls -c: upstream's column names (vmdkops_admin volume ls -c) for our
 * columns, then ATTACH-AS and VMGROUP, which the default table shows
 * not, or only with a Config DB.  Selected columns keep this order. */
#define NSEL (NCOLS + 2)
static const char *const sel_name[NSEL] = {
  "volume", "datastore", "created", "created-by",  "attached-to",
  "policy", "capacity",  "used",    "disk-format", "fstype",
  "access", "attach-as", "vmgroup",
};
static const char *const sel_head[NSEL - NCOLS] = { "ATTACH-AS", "VMGROUP" };
static const char *const sel_key[NSEL - NCOLS] = { "attach-as", "vmgroup" };

/* `-c COL[,COL...]` into sel[]; an unknown name is an error with
 * upstream's text (vdvsctl_volume_columns). */
static int
parse_columns (const char *spec, bool sel[NSEL])
{
  bool known[VDVSCTL_VOLUME_COLS];
  const char *p = spec;

  if (vdvsctl_volume_columns (spec, known) < 0)
    return -1;
  memset (sel, 0, NSEL * sizeof *sel);
  for (;;)
    {
      size_t len = strcspn (p, ",");
      for (size_t k = 0; k < NSEL; k++)
        if (strlen (sel_name[k]) == len && strncmp (p, sel_name[k], len) == 0)
          sel[k] = true;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Column k of ls -c for one volume (v: its columns ()). */
static const char *
cell (size_t k, const char *const v[NCOLS], const struct vdvs_volume_info *i,
      const char *group)
{
  if (k < NCOLS)
    return v[k];
  if (k == NCOLS)
    return i->attach_as ? i->attach_as : "independent_persistent";
  return group;
}

/* With a Config DB: every vmgroup's volumes (admin `volume ls`), with a
 * VMGROUP column; `only` (a pattern) keeps those vmgroups'.  Without one: the default
 * folder, as the VMs see it.  sel: the -c columns (NULL: the default). */
int
vdvsctl_ls (void *h, const char *only, const char *cols, bool json_out)
{
  bool selected[NSEL], *sel = NULL;
  int r = 0;

  if (cols != NULL && parse_columns (cols, selected) < 0)
    return 2;
  if (cols != NULL)
    sel = selected;
  struct vdvs_volume_list l = { 0 };
  struct vdvs_volume_info *infos;
  cJSON *rows = NULL;
  const char **uuid = NULL, **group = NULL;
  bool *ok, groups = only != NULL
                     || vdvs_mock_authdb_mode (h) != MOCK_DB_NOT_CONFIGURED;
  size_t width[NSEL];
  bool show[NSEL];
  vdvs_error_t err = NULL;

  if (groups)
    {
      cJSON *it;
      if (vdvs_mock_volume_ls_all (h, &rows, &err) < 0)
        return vdvsctl_die (&err);
      uuid = calloc ((size_t) cJSON_GetArraySize (rows) + 1, sizeof *uuid);
      group = calloc ((size_t) cJSON_GetArraySize (rows) + 1, sizeof *group);
      cJSON_ArrayForEach (it, rows)
        {
          const char *g = cJSON_GetStringValue (
              cJSON_GetObjectItem (it, "vmgroup"));
          if (uuid == NULL || group == NULL
              || (only != NULL && !vdvsctl_vmgroup_matches (g, only)))
            continue;
          if (vdvs_volume_list_add (&l,
                                    cJSON_GetStringValue (
                                        cJSON_GetObjectItem (it, "volume")))
              < 0)
            break;
          uuid[l.n - 1] = cJSON_GetStringValue (
              cJSON_GetObjectItem (it, "uuid"));
          group[l.n - 1] = g;
        }
    }
  else
    {
      if (vdvs_backend_mock.list (h, &l, &err) < 0)
        return vdvsctl_die (&err);
      qsort (l.names, l.n, sizeof *l.names, cmp_str);
    }
  infos = calloc (l.n + 1, sizeof *infos);
  ok = calloc (l.n + 1, sizeof *ok);
  if (infos == NULL || ok == NULL
      || (groups && (uuid == NULL || group == NULL)))
    {
      fprintf (stderr, "vdvsctl: out of memory\n");
      r = 1;
      goto out;
    }
  for (size_t k = 0; k < NSEL; k++)
    {
      show[k] = sel ? sel[k] : k < NCOLS || (k == NSEL - 1 && groups);
      width[k] = strlen (k < NCOLS ? col_head[k] : sel_head[k - NCOLS]);
    }
  for (size_t i = 0; i < l.n; i++)
    {
      const char *v[NCOLS], *g = groups ? group[i] : MOCK_DEFAULT_TENANT;
      if ((groups ? vdvs_mock_get_in (h, l.names[i], uuid[i], &infos[i], &err)
                  : vdvs_backend_mock.get (h, l.names[i], &infos[i], &err))
          < 0)
        {
          /* One corrupt volume must not hide the others. */
          fprintf (stderr, "vdvsctl: %s: %s\n", l.names[i], err->msg);
          vdvs_error_release (&err);
          continue;
        }
      ok[i] = true;
      columns (l.names[i], &infos[i], v);
      for (size_t k = 0; k < NSEL; k++)
        if (strlen (cell (k, v, &infos[i], g)) > width[k])
          width[k] = strlen (cell (k, v, &infos[i], g));
    }
  if (json_out)
    {
      cJSON *arr = cJSON_CreateArray ();
      for (size_t i = 0; i < l.n; i++)
        if (ok[i])
          {
            const char *v[NCOLS], *g = groups ? group[i] : MOCK_DEFAULT_TENANT;
            cJSON *o = sel ? cJSON_CreateObject ()
                           : info_json (l.names[i], &infos[i]);
            columns (l.names[i], &infos[i], v);
            /* -c: those keys only, with the names the default uses. */
            for (size_t k = 0; sel && k < NSEL; k++)
              if (sel[k])
                cJSON_AddStringToObject (o,
                                         k < NCOLS ? col_key[k]
                                                   : sel_key[k - NCOLS],
                                         cell (k, v, &infos[i], g));
            if (!sel && groups)
              cJSON_AddStringToObject (o, "vmgroup", g);
            cJSON_AddItemToArray (arr, o);
          }
      vdvsctl_print_json (arr);
      cJSON_Delete (arr);
    }
  else
    for (size_t i = 0; i <= l.n; i++)
      {
        const char *v[NCOLS];
        size_t last = 0;
        for (size_t k = 0; k < NSEL; k++)
          if (show[k])
            last = k;
        if (i == 0)
          memcpy (v, col_head, sizeof v);
        else if (!ok[i - 1])
          continue;
        else
          columns (l.names[i - 1], &infos[i - 1], v);
        for (size_t k = 0; k <= last; k++)
          if (show[k])
            printf ("%-*s%s", k < last ? (int) width[k] : 0,
                    i == 0 && k >= NCOLS ? sel_head[k - NCOLS]
                    : i == 0
                        ? v[k]
                        : cell (k, v, &infos[i - 1],
                                groups ? group[i - 1] : MOCK_DEFAULT_TENANT),
                    k < last ? "  " : "\n");
      }
out:
  for (size_t i = 0; infos != NULL && i < l.n; i++)
    vdvs_volume_info_clear (&infos[i]);
  free (infos);
  free (ok);
  free (uuid);
  free (group);
  cJSON_Delete (rows);
  vdvs_volume_list_clear (&l);
  return r;
}

/* With a Config DB, inspect looks in every vmgroup's folder (`only`: in
 * that vmgroup's): the uuid of the one folder holding `name` into
 * uuid[len]; 0 when none does (the VM's own view answers then), <0 when
 * several do and no --vmgroup says which. */
static int
find_in_groups (void *h, const char *name, const char *only, char *uuid,
                size_t len)
{
  cJSON *rows = NULL, *it;
  vdvs_error_t err = NULL;
  struct vdvs_name n;
  char want[VDVS_FULL_NAME_MAX], groups[1024] = "";
  size_t found = 0, off = 0;

  if (vdvs_name_parse (name, &n, NULL) < 0
      || vdvs_mock_volume_ls_all (h, &rows, &err) < 0)
    {
      vdvs_error_release (&err);
      return 0;
    }
  snprintf (want, sizeof want, "%s@", n.volume);
  cJSON_ArrayForEach (it, rows)
    {
      const char *v = cJSON_GetStringValue (
          cJSON_GetObjectItem (it, "volume"));
      const char *g = cJSON_GetStringValue (
          cJSON_GetObjectItem (it, "vmgroup"));
      /* A short name matches on any datastore; "vol@ds" on that one. */
      if (strncmp (v, want, strlen (want)) != 0
          || (n.datastore[0] && strcasecmp (v + strlen (want), n.datastore))
          || (only != NULL && strcmp (g, only) != 0))
        continue;
      if (found++ == 0)
        snprintf (uuid, len, "%s",
                  cJSON_GetStringValue (cJSON_GetObjectItem (it, "uuid")));
      if (off < sizeof groups)
        off += (size_t) snprintf (groups + off, sizeof groups - off, "%s%s",
                                  off ? ", " : "", g);
    }
  cJSON_Delete (rows);
  if (found > 1)
    {
      fprintf (stderr,
               "vdvsctl: volume `%s` is in several vmgroups or datastores "
               "(%s): name one with --vmgroup NAME and VOLUME@DS\n",
               name, groups);
      return -1;
    }
  return found == 1;
}

int
vdvsctl_show (void *h, const char *name, const char *show_vmgroup,
              const char *human_prefix, bool json_out)
{
  struct vdvs_volume_info info = { 0 };
  vdvs_error_t err = NULL;
  char full[VDVS_FULL_NAME_MAX], uuid[64];
  struct vdvs_name n;
  int r = 0;

  if (human_prefix == NULL
      && (show_vmgroup != NULL
          || vdvs_mock_authdb_mode (h) != MOCK_DB_NOT_CONFIGURED)
      && (r = find_in_groups (h, name, show_vmgroup, uuid, sizeof uuid)) < 0)
    return 1;
  if ((r == 1 ? vdvs_mock_get_in (h, name, uuid, &info, &err)
              : vdvs_backend_mock.get (h, name, &info, &err))
      < 0)
    return vdvsctl_die (&err);
  if (vdvs_name_parse (name, &n, NULL) == 0 && info.datastore)
    snprintf (full, sizeof full, "%s@%s", n.volume, info.datastore);
  else
    snprintf (full, sizeof full, "%s", name);
  if (json_out)
    {
      cJSON *o = info_json (full, &info);
      vdvsctl_print_json (o);
      cJSON_Delete (o);
    }
  else
    {
      if (human_prefix)
        printf ("%s %s\n", human_prefix, full);
      print_fields (full, &info);
    }
  vdvs_volume_info_clear (&info);
  return 0;
}
