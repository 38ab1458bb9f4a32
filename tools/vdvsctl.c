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
 * ls and inspect are in vdvsctl-show.c; this file parses the command line
 * and does set, create, clone, vm power-off and status.
 *
 * It works on the datastore's files directly (it links the mock backend),
 * as vmdkops_admin works on ESX, so it needs no running daemon.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vdvs/log.h"
#include "vdvs/mkfs.h"
#include "vdvs/name.h"
#include "vdvs/types.h"

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
cmd_set (void *h, const char *volume, const char *const *words, size_t n,
         bool split)
{
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;
  int r;

  if (vdvsctl_parse_opts (words, n, split, &o, &err) < 0
      || vdvs_mock_set_options (h, volume, &o, &err) < 0)
    r = vdvsctl_die (&err);
  else
    r = vdvsctl_show (h, volume, NULL,
                      "Successfully updated settings (effective at the next "
                      "attach) for",
                      json_out);
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
  return vdvsctl_show (h, volume, NULL, source ? "Cloned" : "Created",
                       json_out);

fail:
  vdvs_opts_clear (&o);
  return vdvsctl_die (&err);
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
    vdvsctl_print_json (arr);
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
    return vdvsctl_die (&err);
  vdvs_backend_mock.close (*h);
  *h = NULL;
  if (vdvs_backend_mock.config ("vm-uuid", uuid, &err) < 0
      || (strcmp (uuid, vm) != 0
          && vdvs_backend_mock.config ("vm-name", vm, &err) < 0)
      || vdvs_backend_mock.open (h, &err) < 0)
    return vdvsctl_die (&err);
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
            return vdvsctl_die (&err);
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
  if (cols != NULL && strcmp (cmd, "ls") != 0)
    return usage_error ("-c belongs to `ls`, not `%s`", cmd);
  bool sel[VDVSCTL_VOLUME_COLS];
  if (cols != NULL && vdvsctl_volume_columns (cols, sel) < 0)
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
    return vdvsctl_die (&err);
  if (strcmp (cmd, "ls") == 0)
    r = nargs ? usage_error ("ls takes no argument (got `%s`)", args[0])
              : vdvsctl_ls (h, vmgroup, cols, json_out);
  else if (strcmp (cmd, "inspect") == 0)
    r = vdvsctl_show (h, args[0], vmgroup, NULL, json_out);
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
    r = vdvsctl_die (&err);
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
