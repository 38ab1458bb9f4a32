/* vdvsctl: admin view of the emulated datastore (the counterpart of the
 * upstream vmdkops_admin), fault injection in vmdkfs, VM power-off.
 *
 *   vdvsctl [--root DIR] [--datastores A,B] [--json] ls
 *   vdvsctl [...] inspect VOLUME[@DS]
 *   vdvsctl [...] vm power-off --vm-uuid UUID [--vm-name NAME]
 *   vdvsctl fault ...            (see `vdvsctl fault help`)
 *   vdvsctl status               vdvsd / vmdkfs sockets answering?
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "mock.h"

int vdvsctl_fault_main (int argc, char **argv);

static const char usage[] =
    "Usage: vdvsctl [--root DIR] [--datastores A[,B]] [--json] COMMAND\n"
    "Admin tool of the vdvs emulated datastore.\n\n"
    "  ls                         volumes: datastore, created, created-by,\n"
    "                             attached-to, capacity, used, disk format,\n"
    "                             filesystem, access\n"
    "  inspect VOLUME[@DS]        every field of one volume\n"
    "  vm power-off --vm-uuid U   detach every disk of that VM (as ESX does\n"
    "                             when a VM powers off)\n"
    "  fault ...                  fault injection in vmdkfs (`fault help`)\n"
    "  status                     are vdvsd and vmdkfs answering?\n\n"
    "  --root DIR                 backing root (default /var/lib/vdvs)\n"
    "  --datastores A[,B]         datastores (default datastore1)\n"
    "  --json                     JSON output for scripts\n";

static bool json_out;

static int
die (vdvs_error_t *err)
{
  fprintf (stderr, "vdvsctl: %s\n", (*err)->msg);
  vdvs_error_release (err);
  return 1;
}

static cJSON *
info_json (const char *name, const struct vdvs_volume_info *i)
{
  cJSON *o = cJSON_CreateObject ();
#define S(k, v) \
  if (v) cJSON_AddStringToObject (o, k, v)
  S ("volume", name);
  S ("datastore", i->datastore);
  S ("created", i->created);
  S ("created-by", i->created_by);
  S ("status", i->status);
  S ("attached-to", i->attached_to_vm);
  S ("policy", i->vsan_policy_name);
  S ("capacity", i->capacity_size);
  S ("used", i->capacity_allocated);
  S ("diskformat", i->diskformat);
  S ("fstype", i->fstype);
  S ("access", i->access);
  S ("attach-as", i->attach_as);
  S ("clone-from", i->clone_from);
#undef S
  return o;
}

static int
cmd_ls (void *h, const char *only)
{
  struct vdvs_volume_list l = { 0 };
  vdvs_error_t err = NULL;
  cJSON *arr = cJSON_CreateArray ();

  if (vdvs_backend_mock.list (h, &l, &err) < 0)
    return die (&err);
  if (!json_out && only == NULL)
    printf ("%-32s %-12s %-24s %-12s %-12s %-9s %-8s %-16s %-6s %-10s\n",
            "VOLUME", "DATASTORE", "CREATED", "CREATED-BY", "ATTACHED-TO",
            "CAPACITY", "USED", "DISKFORMAT", "FSTYPE", "ACCESS");
  for (size_t i = 0; i < l.n; i++)
    {
      struct vdvs_volume_info info = { 0 };
      if (only && strcmp (only, l.names[i]) != 0)
        continue;
      if (vdvs_backend_mock.get (h, l.names[i], &info, &err) < 0)
        {
          /* One corrupt volume must not hide the others. */
          fprintf (stderr, "vdvsctl: %s: %s\n", l.names[i], err->msg);
          vdvs_error_release (&err);
          continue;
        }
      if (json_out || only)
        cJSON_AddItemToArray (arr, info_json (l.names[i], &info));
      else
        printf ("%-32s %-12s %-24s %-12s %-12s %-9s %-8s %-16s %-6s %-10s\n",
                l.names[i], info.datastore, info.created, info.created_by,
                info.attached_to_vm ? info.attached_to_vm : "detached",
                info.capacity_size, info.capacity_allocated, info.diskformat,
                info.fstype ? info.fstype : "-", info.access);
      vdvs_volume_info_clear (&info);
    }
  if (json_out || only)
    {
      char *s = cJSON_Print (only && cJSON_GetArraySize (arr) == 1
                                 ? cJSON_GetArrayItem (arr, 0)
                                 : arr);
      puts (s);
      free (s);
    }
  cJSON_Delete (arr);
  vdvs_volume_list_clear (&l);
  return 0;
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

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "root", required_argument, NULL, 'r' },
    { "datastores", required_argument, NULL, 'd' },
    { "vm-uuid", required_argument, NULL, 'u' },
    { "vm-name", required_argument, NULL, 'n' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *cfg[][2] = { { "vmdkfs", "off" } };
  vdvs_error_t err = NULL;
  void *h = NULL;
  int c, r;

  vdvs_log_setup (VDVS_LOG_WARN, -1);
  if (argc > 1 && strcmp (argv[1], "fault") == 0)
    return vdvsctl_fault_main (argc - 1, argv + 1);
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    {
      const char *key = c == 'r' ? "root" : c == 'd' ? "datastores"
                      : c == 'u' ? "vm-uuid" : c == 'n' ? "vm-name" : NULL;
      if (key != NULL)
        {
          if (vdvs_backend_mock.config (key, optarg, &err) < 0)
            return die (&err);
        }
      else if (c == 'j')
        json_out = true;
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
  const char *cmd = argv[optind];
  if (strcmp (cmd, "status") == 0)
    {
      const char *socks[][2] = {
        { "vdvsd (vsphere)", "/run/docker/plugins/vsphere.sock" },
        { "vdvsd (vmdk)", "/run/docker/plugins/vmdk.sock" },
        { "vmdkfs", "/run/vdvs/vmdkfs.ctl" },
      };
      for (size_t i = 0; i < 3; i++)
        printf ("%-16s %-36s %s\n", socks[i][0], socks[i][1],
                sock_alive (socks[i][1]) ? "up" : "down");
      return 0;
    }
  /* Read-only admin views never start vmdkfs. */
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
    vdvs_backend_mock.config (cfg[i][0], cfg[i][1], NULL);
  if (strcmp (cmd, "ls") != 0 && strcmp (cmd, "inspect") != 0
      && strcmp (cmd, "vm") != 0)
    {
      fprintf (stderr, "vdvsctl: unknown command `%s`\n%s", cmd, usage);
      return 2;
    }
  /* Parse the rest (vm power-off takes --vm-uuid after the verb). */
  int rest = optind + 1;
  optind = rest;
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    {
      const char *key = c == 'u' ? "vm-uuid" : c == 'n' ? "vm-name" : NULL;
      if (key && vdvs_backend_mock.config (key, optarg, &err) < 0)
        return die (&err);
      if (c == 'j')
        json_out = true;
    }
  if (vdvs_backend_mock.open (&h, &err) < 0)
    return die (&err);
  if (strcmp (cmd, "ls") == 0)
    r = cmd_ls (h, NULL);
  else if (strcmp (cmd, "inspect") == 0)
    {
      struct vdvs_volume_info info = { 0 };
      if (optind >= argc)
        {
          fprintf (stderr, "vdvsctl: inspect needs a volume name\n");
          r = 2;
        }
      else if (vdvs_backend_mock.get (h, argv[optind], &info, &err) < 0)
        r = die (&err);
      else
        {
          cJSON *o = info_json (argv[optind], &info);
          char *s = cJSON_Print (o);
          puts (s);
          free (s);
          cJSON_Delete (o);
          vdvs_volume_info_clear (&info);
          r = 0;
        }
    }
  else
    {
      if (optind >= argc || strcmp (argv[optind], "power-off") != 0)
        {
          fprintf (stderr, "vdvsctl: usage: vm power-off --vm-uuid UUID\n");
          r = 2;
        }
      else if ((r = vdvs_mock_power_off (h, &err)) < 0)
        r = die (&err);
      else
        {
          printf ("detached %d disk(s)\n", r);
          r = 0;
        }
    }
  vdvs_backend_mock.close (h);
  return r;
}
