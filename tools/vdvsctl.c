/* vdvsctl: admin view of the emulated datastore (the counterpart of the
 * upstream vmdkops_admin), fault injection in vmdkfs, VM power-off.
 *
 *   vdvsctl [--root DIR] [--datastores A,B] [--json] ls [--vmgroup GLOB]
 *           [-c COL[,COL...]]
 *   vdvsctl [...] inspect VOLUME[@DS]
 *   vdvsctl [...] set VOLUME[@DS] access=read-only|read-write [attach-as=..]
 *   vdvsctl [...] set --volume=VOLUME[@DS] --options="access=read-only"
 *   vdvsctl [...] create VOLUME[@DS] [size=.. diskformat=.. ...]
 *   vdvsctl [...] clone SOURCE[@DS] VOLUME[@DS] [diskformat=.. ...]
 *   vdvsctl [...] vm power-off NAME|UUID   (or --vm-uuid UUID)
 *   vdvsctl fault ...            (see `vdvsctl fault help`)
 *   vdvsctl status               vdvsd / vmdkfs sockets answering? (1: no vdvsd)
 *   vdvsctl config|vmgroup|policy|volume ...
 *                                vmdkops_admin's commands (vdvsctl-admin.c,
 *                                vdvsctl-volume.c)
 *
 * It works on the datastore's files directly (it links the mock backend),
 * as vmdkops_admin works on ESX, so it needs no running daemon.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vdvs/log.h"
#include "vdvs/mkfs.h"
#include "vdvs/name.h"
#include "vdvs/types.h"

#include "authdb.h"
#include "mock.h"
#include "vdvsctl.h"

/* Who an admin's create/clone is "created by" unless --vm-name says. */
#define ADMIN_IDENTITY "vdvsctl"

static const char usage[] =
    "Usage: vdvsctl [--root DIR] [--datastores A[,B]] [--json] COMMAND\n"
    "Admin tool of the vdvs emulated datastore.\n\n"
    "  ls [-c COL[,COL...]]       volumes: volume, datastore, created,\n"
    "                             created-by, attached-to, policy, capacity,\n"
    "                             used, disk-format, fstype, access;\n"
    "                             with a Config DB every vmgroup's, and\n"
    "                             vmgroup (--vmgroup GLOB: those whose\n"
    "                             name matches);\n"
    "                             -c: only those columns (these names,\n"
    "                             attach-as, vmgroup), in this order\n"
    "  inspect VOLUME[@DS]        every field of one volume (with a Config\n"
    "                             DB, in any vmgroup; --vmgroup NAME)\n"
    "  set VOLUME[@DS] KEY=VALUE...\n"
    "  set --volume=VOLUME[@DS] --options=\"KEY=VALUE[,KEY=VALUE]\"\n"
    "                             change access (read-write|read-only) or\n"
    "                             attach-as (independent_persistent|\n"
    "                             persistent); takes effect at the next\n"
    "                             attach\n"
    "  create VOLUME[@DS] [KEY=VALUE...]\n"
    "                             a volume as `docker volume create` makes\n"
    "                             it (the same options; formatted, fstype\n"
    "                             ext4 by default); created-by " ADMIN_IDENTITY
    "\n"
    "  clone SOURCE[@DS] VOLUME[@DS] [KEY=VALUE...]\n"
    "                             a copy of SOURCE (diskformat, access,\n"
    "                             attach-as may be given)\n"
    "  vm power-off NAME|UUID     detach every disk of that VM (as ESX does\n"
    "                             when a VM powers off); also --vm-uuid U\n"
    "  fault ...                  fault injection in vmdkfs (`fault help`)\n"
    "  status                     are vdvsd and vmdkfs answering? (exit\n"
    "                             status 1 when no vdvsd answers)\n"
    "  config init|status|rm ...  the Config DB of vmgroups and quotas\n"
    "  vmgroup create|rm|ls|vm|access ...\n"
    "                             vmgroups, their VMs and privileges\n"
    "  policy create|rm|ls|update ...\n"
    "                             vSAN storage policies\n"
    "  volume ls|set ...          vmdkops_admin's volume ls and set, with\n"
    "                             its columns and texts\n"
    "                             (`vdvsctl vmgroup --help` for these)\n\n"
    "  --root DIR                 backing root (default /var/lib/vdvs)\n"
    "  --datastores A[,B]         datastores (default datastore1)\n"
    "  --auth-db PATH             Config DB (<root>/.vmdkops/auth-db)\n"
    "  --vm-name NAME             created-by of create/clone (default " ADMIN_IDENTITY
    ")\n"
    "  --json                     JSON output for scripts (no progress)\n\n"
    "create and clone show their progress on stderr: a bar on a terminal,\n"
    "a line every 10% otherwise.\n";

static bool json_out;

static int
die (vdvs_error_t *err)
{
  fprintf (stderr, "vdvsctl: %s\n", (*err)->msg);
  vdvs_error_release (err);
  return 1;
}

static void
print_json (cJSON *o)
{
  char *s = cJSON_Print (o);
  if (s != NULL)
    puts (s);
  free (s);
}

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

/* inspect's --vmgroup (NULL: not given). */
static const char *show_vmgroup;

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
static int
cmd_ls (void *h, const char *only, const bool *sel)
{
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
        return die (&err);
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
        return die (&err);
      qsort (l.names, l.n, sizeof *l.names, cmp_str);
    }
  infos = calloc (l.n + 1, sizeof *infos);
  ok = calloc (l.n + 1, sizeof *ok);
  if (infos == NULL || ok == NULL
      || (groups && (uuid == NULL || group == NULL)))
    {
      free (infos);
      free (ok);
      free (uuid);
      free (group);
      cJSON_Delete (rows);
      vdvs_volume_list_clear (&l);
      fprintf (stderr, "vdvsctl: out of memory\n");
      return 1;
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
      print_json (arr);
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
  for (size_t i = 0; i < l.n; i++)
    vdvs_volume_info_clear (&infos[i]);
  free (infos);
  free (ok);
  free (uuid);
  free (group);
  cJSON_Delete (rows);
  vdvs_volume_list_clear (&l);
  return 0;
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

/* Show one volume after inspect/set/create/clone. */
static int
show (void *h, const char *name, const char *human_prefix)
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
    return die (&err);
  if (vdvs_name_parse (name, &n, NULL) == 0 && info.datastore)
    snprintf (full, sizeof full, "%s@%s", n.volume, info.datastore);
  else
    snprintf (full, sizeof full, "%s", name);
  if (json_out)
    {
      cJSON *o = info_json (full, &info);
      print_json (o);
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

static int
cmd_set (void *h, const char *volume, const char *const *words, size_t n,
         bool split)
{
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;
  int r;

  if (vdvsctl_parse_opts (words, n, split, &o, &err) < 0
      || vdvs_mock_set_options (h, volume, &o, &err) < 0)
    r = die (&err);
  else
    r = show (h, volume,
              "Successfully updated settings (effective at the next attach) "
              "for");
  vdvs_opts_clear (&o);
  return r;
}

/* create and clone: the backend's work with progress on stderr, then for
 * a create the file system, made on the extent in place as vdvsd makes
 * it on the attached disk (same mkfs, same flags, label = volume name),
 * so the volume mounts in a container like any other. */
static int
cmd_make (void *h, const char *volume, const char *source,
          const char *const *words, size_t n)
{
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;
  struct vdvs_name nm;
  char mkfs[PATH_MAX], extent[PATH_MAX];
  struct vdvsctl_progress pr = {
    .mode = json_out                 ? VDVSCTL_PROGRESS_NONE
            : isatty (STDERR_FILENO) ? VDVSCTL_PROGRESS_BAR
                                     : VDVSCTL_PROGRESS_LINES,
    .out = stderr,
  };
  const char *fstype = NULL;
  int r;

  if (vdvs_name_parse (volume, &nm, &err) < 0
      || vdvsctl_parse_opts (words, n, false, &o, &err) < 0)
    goto fail;
  if (source == NULL && vdvs_opts_get (&o, "clone-from") == NULL)
    {
      if (vdvs_opts_get (&o, "fstype") == NULL
          && vdvs_opts_set (&o, "fstype", "ext4") < 0)
        {
          vdvs_error_set (&err, ENOMEM, "out of memory");
          goto fail;
        }
      fstype = vdvs_opts_get (&o, "fstype");
      if (vdvs_mkfs_find (fstype, mkfs, sizeof mkfs, &err) < 0)
        goto fail;
    }
  vdvs_backend_mock.set_progress (h, vdvsctl_progress, &pr);
  r = source ? vdvs_backend_mock.clone (h, volume, source, &o, &err)
             : vdvs_backend_mock.create (h, volume, &o, &err);
  if (r < 0)
    goto fail;
  if (fstype != NULL
      && (vdvs_mock_extent_path (h, volume, extent, sizeof extent, &err) < 0
          || vdvs_mkfs_run (fstype, extent, nm.volume, &err) < 0))
    {
      vdvs_error_t e2 = NULL;
      if (vdvs_backend_mock.remove (h, volume, &o, &e2) < 0)
        {
          fprintf (stderr, "vdvsctl: removing %s after the failure: %s\n",
                   volume, e2->msg);
          vdvs_error_release (&e2);
        }
      goto fail;
    }
  vdvs_opts_clear (&o);
  return show (h, volume, source ? "Cloned" : "Created");

fail:
  vdvs_opts_clear (&o);
  return die (&err);
}

static bool
sock_alive (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  r = fd >= 0 ? connect (fd, (struct sockaddr *) &sa, sizeof sa) : -1;
  if (fd >= 0)
    close (fd);
  return r == 0;
}

static int
cmd_status (void)
{
  const char *socks[][2] = {
    { "vdvsd (vsphere)", "/run/docker/plugins/vsphere.sock" },
    { "vdvsd (vmdk)", "/run/docker/plugins/vmdk.sock" },
    { "vmdkfs", "/run/vdvs/vmdkfs.ctl" },
  };
  cJSON *arr = cJSON_CreateArray ();
  bool plugin_up = false;

  for (size_t i = 0; i < 3; i++)
    {
      bool up = sock_alive (socks[i][1]);
      const char *state = up ? "up" : "down";

      plugin_up |= up && i < 2;
      if (json_out)
        {
          cJSON *o = cJSON_CreateObject ();
          cJSON_AddStringToObject (o, "service", socks[i][0]);
          cJSON_AddStringToObject (o, "socket", socks[i][1]);
          cJSON_AddStringToObject (o, "status", state);
          cJSON_AddItemToArray (arr, o);
        }
      else
        printf ("%-16s %-36s %s\n", socks[i][0], socks[i][1], state);
    }
  if (json_out)
    print_json (arr);
  cJSON_Delete (arr);
  /* For scripts and health checks: the plugin is what Docker needs. */
  return plugin_up ? 0 : 1;
}

/* `vm power-off NAME|UUID`: find the VM, then reopen *h as that VM (the
 * units to release are its own). */
static int
power_off_named (void **h, const char *vm)
{
  vdvs_error_t err = NULL;
  char uuid[64];

  if (vdvs_mock_find_vm (*h, vm, uuid, sizeof uuid, &err) < 0)
    return die (&err);
  vdvs_backend_mock.close (*h);
  *h = NULL;
  if (vdvs_backend_mock.config ("vm-uuid", uuid, &err) < 0
      || (strcmp (uuid, vm) != 0
          && vdvs_backend_mock.config ("vm-name", vm, &err) < 0)
      || vdvs_backend_mock.open (h, &err) < 0)
    return die (&err);
  return 0;
}

static int
usage_error (const char *fmt, const char *arg)
{
  fputs ("vdvsctl: ", stderr);
  fprintf (stderr, fmt, arg);
  fputs ("\n", stderr);
  return 2;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "root", required_argument, NULL, 'r' },
    { "datastores", required_argument, NULL, 'd' },
    { "auth-db", required_argument, NULL, 'a' },
    { "vm-uuid", required_argument, NULL, 'u' },
    { "vm-name", required_argument, NULL, 'n' },
    { "volume", required_argument, NULL, 'V' },
    { "options", required_argument, NULL, 'O' },
    { "json", no_argument, NULL, 'j' },
    { "vmgroup", required_argument, NULL, 'g' },
    { "vsan-datastores", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  static const char *const commands[] = { "ls",     "inspect", "set",
                                          "create", "clone",   "vm" };
  vdvs_error_t err = NULL;
  const char *volume = NULL, *options = NULL, *vmgroup = NULL, *cmd;
  const char *cols = NULL;
  bool sel[NSEL];
  bool vm_name_given = false, vm_uuid_given = false, known = false;
  const char *const *args;
  size_t nargs;
  void *h = NULL;
  int c, r;

  vdvs_log_setup (VDVS_LOG_WARN, -1);
  if (argc > 1 && strcmp (argv[1], "fault") == 0)
    return vdvsctl_fault_main (argc - 1, argv + 1);
  if (vdvsctl_is_admin_command (argc, argv))
    return vdvsctl_admin_main (argc, argv);
  /* Options go before or after the command (getopt permutes), except
   * that `fault` takes the rest of the line as it is. */
  while ((c = getopt_long (argc, argv, "hc:", opts, NULL)) != -1)
    {
      const char *key = c == 'r'   ? "root"
                        : c == 'd' ? "datastores"
                        : c == 'a' ? "auth-db"
                        : c == 'u' ? "vm-uuid"
                        : c == 'n' ? "vm-name"
                        : c == 's' ? "vsan-datastores"
                                   : NULL;
      if (key != NULL)
        {
          if (vdvs_backend_mock.config (key, optarg, &err) < 0)
            return die (&err);
          vm_name_given |= c == 'n';
          vm_uuid_given |= c == 'u';
        }
      else if (c == 'V')
        volume = optarg;
      else if (c == 'O')
        options = optarg;
      else if (c == 'j')
        json_out = true;
      else if (c == 'g')
        vmgroup = optarg;
      else if (c == 'c')
        cols = optarg + (optarg[0] == '='); /* -c=COLS, as argparse */
      else if (c == 'h')
        {
          fputs (usage, stdout);
          return 0;
        }
      else
        {
          fputs (usage, stderr);
          return 2;
        }
    }
  if (optind >= argc)
    {
      fputs (usage, stderr);
      return 2;
    }
  cmd = argv[optind];
  args = (const char *const *) argv + optind + 1;
  nargs = (size_t) (argc - optind - 1);
  if (strcmp (cmd, "status") == 0)
    return cmd_status ();
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    known |= strcmp (cmd, commands[i]) == 0;
  if (!known)
    {
      fprintf (stderr, "vdvsctl: unknown command `%s`\n%s", cmd, usage);
      return 2;
    }
  /* Check the words before touching the datastore. */
  if (strcmp (cmd, "inspect") == 0 && nargs != 1)
    return usage_error ("%s", "usage: inspect VOLUME[@DS]");
  if (strcmp (cmd, "set") == 0)
    {
      if (volume == NULL && nargs == 0)
        return usage_error ("%s", "usage: set VOLUME[@DS] KEY=VALUE... or "
                                  "set --volume=VOLUME[@DS] "
                                  "--options=\"KEY=VALUE[,...]\"");
      if (volume != NULL && options == NULL && nargs == 0)
        return usage_error ("%s", "set: --options=\"KEY=VALUE[,...]\" is "
                                  "missing");
    }
  else if (volume != NULL || options != NULL)
    return usage_error ("--volume and --options belong to `set`, not `%s`",
                        cmd);
  if (vmgroup != NULL && strcmp (cmd, "ls") != 0
      && strcmp (cmd, "inspect") != 0)
    return usage_error ("--vmgroup belongs to `ls` and `inspect`, not `%s`",
                        cmd);
  show_vmgroup = vmgroup;
  if (cols != NULL && strcmp (cmd, "ls") != 0)
    return usage_error ("-c belongs to `ls`, not `%s`", cmd);
  if (cols != NULL && parse_columns (cols, sel) < 0)
    return 2;
  if (strcmp (cmd, "create") == 0 && nargs < 1)
    return usage_error ("%s", "usage: create VOLUME[@DS] [KEY=VALUE...]");
  if (strcmp (cmd, "clone") == 0 && nargs < 2)
    return usage_error ("%s", "usage: clone SOURCE[@DS] VOLUME[@DS] "
                              "[KEY=VALUE...]");
  if (strcmp (cmd, "vm") == 0
      && (nargs < 1 || nargs > 2 || strcmp (args[0], "power-off") != 0
          || (nargs == 1 && !vm_uuid_given)))
    return usage_error ("%s", "usage: vm power-off NAME|UUID "
                              "(or --vm-uuid UUID)");

  /* Admin work never starts vmdkfs: it reads and writes the files; nor
   * does it enter the host's VM inventory. */
  vdvs_backend_mock.config ("vmdkfs", "off", NULL);
  vdvs_backend_mock.config ("inventory", "no", NULL);
  if (!vm_name_given
      && (strcmp (cmd, "create") == 0 || strcmp (cmd, "clone") == 0))
    vdvs_backend_mock.config ("vm-name", ADMIN_IDENTITY, NULL);
  if (vdvs_backend_mock.open (&h, &err) < 0)
    return die (&err);
  if (strcmp (cmd, "ls") == 0)
    r = nargs ? usage_error ("ls takes no argument (got `%s`)", args[0])
              : cmd_ls (h, vmgroup, cols ? sel : NULL);
  else if (strcmp (cmd, "inspect") == 0)
    r = show (h, args[0], NULL);
  else if (strcmp (cmd, "set") == 0)
    {
      if (volume == NULL)
        {
          volume = args[0];
          args++;
          nargs--;
        }
      if (options != NULL)
        r = cmd_set (h, volume, &options, 1, true);
      else
        r = cmd_set (h, volume, args, nargs, false);
    }
  else if (strcmp (cmd, "create") == 0)
    r = cmd_make (h, args[0], NULL, args + 1, nargs - 1);
  else if (strcmp (cmd, "clone") == 0)
    r = cmd_make (h, args[1], args[0], args + 2, nargs - 2);
  else if (nargs == 2 && (r = power_off_named (&h, args[1])) != 0)
    ;
  else if ((r = vdvs_mock_power_off (h, &err)) < 0)
    r = die (&err);
  else
    {
      if (json_out)
        printf ("{\"detached\": %d}\n", r);
      else
        printf ("detached %d disk(s)\n", r);
      r = 0;
    }
  if (h != NULL)
    vdvs_backend_mock.close (h);
  return r;
}
