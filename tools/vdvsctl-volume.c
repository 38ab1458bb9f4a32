/* `vdvsctl volume ls|set`: vmdkops_admin's volume commands over the
 * emulated datastore, with its columns, cells and texts (reference
 * admin-tenancy.md §5.1). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdb.h"
#include "mock.h"
#include "vdvsctl.h"

/* The columns in upstream's order: their titles and -c words. */
static const char *const title[VDVSCTL_VOLUME_COLS] = {
  "Volume",     "Datastore",  "VMGroup",      "Capacity",    "Used",
  "Filesystem", "Policy",     "Disk Format",  "Attached-to", "Access",
  "Attach-as",  "Created By", "Created Date",
};
static const char *const word[VDVSCTL_VOLUME_COLS] = {
  "volume",    "datastore",  "vmgroup",     "capacity",    "used",
  "fstype",    "policy",     "disk-format", "attached-to", "access",
  "attach-as", "created-by", "created",
};

int
vdvsctl_volume_columns (const char *spec, bool sel[VDVSCTL_VOLUME_COLS])
{
  const char *p = spec;

  memset (sel, 0, VDVSCTL_VOLUME_COLS * sizeof *sel);
  for (;;)
    {
      size_t len = strcspn (p, ","), k;
      for (k = 0; k < VDVSCTL_VOLUME_COLS; k++)
        if (strlen (word[k]) == len && strncmp (p, word[k], len) == 0)
          break;
      if (k == VDVSCTL_VOLUME_COLS)
        {
          fprintf (stderr,
                   "vdvsctl: argument -c: invalid choices: %.*s (choices "
                   "must be a comma separated list of only the following "
                   "words \n ['volume','datastore','vmgroup','capacity',"
                   "'used','fstype','policy','disk-format','attached-to',"
                   "'access','attach-as','created-by','created']. No spaces "
                   "are allowed between choices.)\n",
                   (int) len, p);
          return -1;
        }
      sel[k] = true;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}

#define OR_NA(x) ((x) ? (x) : "N/A")

/* The cells of one volume (ls_all row `it`, get `i`), upstream's
 * generate_ls_rows. */
static void
cells (const cJSON *it, const struct vdvs_volume_info *i, char volume[],
       size_t vlen, const char *v[VDVSCTL_VOLUME_COLS])
{
  const char *full = cJSON_GetStringValue (cJSON_GetObjectItem (it, "volume"));
  const char *at = strrchr (full, '@');
  bool dated = i->created != NULL && i->created_by != NULL;

  snprintf (volume, vlen, "%.*s",
            (int) (at ? at - full : (long) strlen (full)), full);
  v[0] = volume;
  v[1] = OR_NA (i->datastore);
  v[2] = cJSON_GetStringValue (cJSON_GetObjectItem (it, "vmgroup"));
  v[3] = OR_NA (i->capacity_size);
  v[4] = OR_NA (i->capacity_allocated);
  v[5] = OR_NA (i->fstype);
  v[6] = i->vsan_policy_name ? i->vsan_policy_name
         : cJSON_IsTrue (cJSON_GetObjectItem (it, "vsan")) ? "[VSAN default]"
                                                           : "N/A";
  v[7] = OR_NA (i->diskformat);
  v[8] = i->attached_to_vm ? i->attached_to_vm : "detached";
  v[9] = i->access ? i->access : "read-write";
  v[10] = i->attach_as ? i->attach_as : "independent_persistent";
  v[11] = dated ? i->created_by : "N/A";
  v[12] = dated ? i->created : "N/A";
}

bool
vdvsctl_vmgroup_matches (const char *group, const char *pattern)
{
  if (strcmp (group, "N/A") == 0)
    return strcmp (pattern, "*") == 0;
  return fnmatch (pattern, group, 0) == 0;
}

int
vdvsctl_volume_ls (void *h, const char *pattern, const char *cols, bool json)
{
  bool sel[VDVSCTL_VOLUME_COLS];
  const char *heads[VDVSCTL_VOLUME_COLS];
  size_t nsel = 0;
  cJSON *all = NULL, *rows, *it;
  vdvs_error_t err = NULL;

  if (pattern == NULL || pattern[0] == '\0')
    pattern = "*";
  if (cols == NULL)
    memset (sel, 1, sizeof sel);
  else if (vdvsctl_volume_columns (cols, sel) < 0)
    return 2;
  for (size_t k = 0; k < VDVSCTL_VOLUME_COLS; k++)
    if (sel[k])
      heads[nsel++] = title[k];
  if (vdvs_mock_volume_ls_all (h, &all, &err) < 0)
    return vdvsctl_admin_fail (&err);
  rows = cJSON_CreateArray ();
  cJSON_ArrayForEach (it, all)
    {
      struct vdvs_volume_info i = { 0 };
      const char *v[VDVSCTL_VOLUME_COLS], *name;
      char volume[1024];
      cJSON *row;

      if (!vdvsctl_vmgroup_matches (cJSON_GetStringValue (
                                        cJSON_GetObjectItem (it, "vmgroup")),
                                    pattern))
        continue;
      name = cJSON_GetStringValue (cJSON_GetObjectItem (it, "volume"));
      if (vdvs_mock_get_in (h, name,
                            cJSON_GetStringValue (
                                cJSON_GetObjectItem (it, "uuid")),
                            &i, &err)
          < 0)
        {
          /* One corrupt volume must not hide the others. */
          fprintf (stderr, "vdvsctl: %s: %s\n", name, err->msg);
          vdvs_error_release (&err);
          continue;
        }
      cells (it, &i, volume, sizeof volume, v);
      row = cJSON_CreateObject ();
      for (size_t k = 0; k < VDVSCTL_VOLUME_COLS; k++)
        if (sel[k])
          cJSON_AddStringToObject (row, title[k], v[k]);
      cJSON_AddItemToArray (rows, row);
      vdvs_volume_info_clear (&i);
    }
  cJSON_Delete (all);
  return vdvsctl_listing (0, rows, NULL, json, heads, nsel);
}

int
vdvsctl_volume_set (void *h, const char *volume, const char *vmgroup,
                    const char *options)
{
  vdvs_error_t err = NULL;

  if (vdvs_mock_volume_set (h, volume, vmgroup, options, &err) < 0)
    return vdvsctl_admin_fail (&err);
  printf ("Successfully updated settings for %s\n", volume);
  return 0;
}
