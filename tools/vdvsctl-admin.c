/* `vdvsctl config|vmgroup|policy|volume ...`: upstream vmdkops_admin's
 * commands over the emulated host's Config DB (backends/mock/authdb.h),
 * with its flags, texts, table format and exit codes: a failure prints
 * "ERROR:<text>" on stdout and exits 2; a usage error exits 2 with the
 * usage on stderr. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdvs/log.h"

#include "authdb.h"
#include "mock.h"
#include "vdvsctl.h"

#define EXIT_USAGE 2

static const char admin_usage[] =
    "Usage: vdvsctl [--root DIR] [--datastores A[,B]] [--auth-db PATH] "
    "[--json]\n"
    "  config init --local | --datastore DS [--force]\n"
    "  config status\n"
    "  config rm --local|--unlink [--no-backup] --confirm\n"
    "  config mv --to DS [--force]   (not supported, as upstream)\n"
    "  vmgroup create --name N --default-datastore DS|_VM_DS\n"
    "                 [--description D] [--vm-list vm1,vm2]\n"
    "  vmgroup update --name N [--new-name M] [--description D]\n"
    "                 [--default-datastore DS]\n"
    "  vmgroup rm --name N [--remove-volumes] [--force]\n"
    "  vmgroup ls\n"
    "  vmgroup vm add|rm|replace --name N --vm-list vm1,vm2\n"
    "  vmgroup vm ls --name N\n"
    "  vmgroup access add --name N --datastore DS|_VM_DS|_ALL_DS\n"
    "                 [--allow-create] [--volume-maxsize S] "
    "[--volume-totalsize S]\n"
    "  vmgroup access set --name N --datastore DS [--allow-create "
    "True|False]\n"
    "                 [--volume-maxsize S] [--volume-totalsize S]\n"
    "  vmgroup access rm --name N --datastore DS\n"
    "  vmgroup access ls --name N\n"
    "  policy create --name N --content C   (needs --vsan-datastores DS)\n"
    "  policy rm --name N\n"
    "  policy update --name N --content C\n"
    "  policy ls\n"
    "  volume ls [-c COL[,COL...]] [--vmgroup GLOB]\n"
    "  volume set --volume VOL@DS --vmgroup NAME --options "
    "\"KEY=VALUE[,...]\"\n"
    "                 (access=read-write|read-only,\n"
    "                 attach-as=independent_persistent|persistent)\n"
    "Sizes: <int>MB|GB|TB|PB.  VMs are named as their vdvsd or esxsim\n"
    "listener calls them (vm-name), once it has started on this root.\n";

struct admin_args
{
  const char *name, *default_ds, *description, *vm_list, *datastore;
  const char *maxsize, *totalsize, *new_name, *to, *content;
  const char *allow_value; /* access set --allow-create VALUE */
  const char *vmgroup, *volume, *options, *cols; /* volume ls|set */
  bool allow_create, local, unlink, confirm, no_backup, remove_volumes, force,
      json;
  const char *datastore_flag_ds; /* config init --datastore */
};

static int
usage_fail (const char *what)
{
  fprintf (stderr, "vdvsctl: %s\n%s", what, admin_usage);
  return EXIT_USAGE;
}

static int
done (int r, vdvs_error_t *err, const char *msg)
{
  if (r < 0)
    return vdvsctl_admin_fail (err);
  puts (msg);
  return 0;
}

static int
cmd_config (void *h, const char *sub, const struct admin_args *a)
{
  vdvs_error_t err = NULL;
  char *out = NULL, path[4096];
  int r;

  if (strcmp (sub, "status") == 0)
    {
      enum mock_db_mode mode = vdvs_mock_authdb_mode (h);
      char shared[4096] = "N/A";
      ssize_t len;
      vdvs_mock_authdb_path (h, path, sizeof path);
      /* MultiNode: the shared DB the link names. */
      if (mode == MOCK_DB_MULTI_NODE
          && (len = readlink (path, shared, sizeof shared - 1)) > 0)
        shared[len] = '\0';
      if (a->json)
        {
          cJSON *o = cJSON_CreateObject ();
          char *s;
          cJSON_AddStringToObject (o, "DB_Mode", mock_db_mode_text (mode));
          cJSON_AddStringToObject (o, "DB_LocalPath",
                                   mode == MOCK_DB_NOT_CONFIGURED ? "N/A"
                                                                  : path);
          cJSON_AddStringToObject (o, "DB_SharedLocation", shared);
          s = cJSON_Print (o);
          if (s)
            puts (s);
          free (s);
          cJSON_Delete (o);
        }
      else
        printf ("DB_Mode: %s\nDB_LocalPath: %s\nDB_SharedLocation: %s\n",
                mock_db_mode_text (mode),
                mode == MOCK_DB_NOT_CONFIGURED ? "N/A" : path, shared);
      return 0;
    }
  if (strcmp (sub, "init") == 0)
    {
      if (vdvs_mock_config_init_args (h, a->local, a->datastore_flag_ds, &err)
          < 0)
        return vdvsctl_admin_fail (&err);
      if (a->datastore_flag_ds)
        r = vdvs_mock_config_init_datastore (h, a->datastore_flag_ds, a->force,
                                             &out, &err);
      else
        r = vdvs_mock_config_init_local (h, &out, &err);
    }
  else if (strcmp (sub, "rm") == 0)
    {
      if (!a->local && !a->unlink)
        {
          puts ("ERROR:\n        DB removal is irreversible operation. "
                "Please use '--local' flag for removing DB in SingleNode "
                "mode,\n        and use '--unlink' to unlink from DB in "
                "MultiNode mode.\n        Note that '--unlink' will not "
                "remove a shared DB, but simply configure the current ESXi "
                "host to stop using it.\n        For removing shared DB, run "
                "'vmdkops_admin config rm --unlink' on ESXi hosts using this "
                "DB, and then manually\n        remove the actual DB file "
                "'vmdkops_config.db' from shared storage.\n        ");
          return VDVSCTL_EXIT_OP_FAILED;
        }
      if (a->local && a->unlink)
        {
          puts ("ERROR:\n        Cannot use '--local' and '--unlink' "
                "together. Please use '--local' flag for removing DB in "
                "SingleNode mode,\n        and use '--unlink' to unlink from "
                "DB in MultiNode mode.\n        ");
          return VDVSCTL_EXIT_OP_FAILED;
        }
      if (!a->confirm)
        {
          puts ("ERROR:Warning: For extra safety, removal operation requires "
                "'--confirm' flag.");
          return VDVSCTL_EXIT_OP_FAILED;
        }
      /* upstream removes nothing with --no-backup (its bug, kept). */
      if (a->no_backup && vdvs_mock_authdb_mode (h) == MOCK_DB_SINGLE_NODE)
        return 0;
      r = vdvs_mock_config_rm (h, a->local, a->unlink, &out, &err);
    }
  else if (strcmp (sub, "mv") == 0)
    {
      if (a->to == NULL)
        return usage_fail ("the following arguments are required: --to");
      if (!a->force)
        {
          printf ("ERROR:Config DB  move to %s requires '--force' flag to "
                  "execute the request.\n",
                  a->to);
          return VDVSCTL_EXIT_OP_FAILED;
        }
      puts ("Sorry, configuration move ('config mv' command) is not "
            "supported yet");
      return 0;
    }
  else
    return usage_fail ("config: init, status, rm or mv");
  if (r < 0)
    return vdvsctl_admin_fail (&err);
  if (out[0])
    puts (out);
  free (out);
  return 0;
}

static const char *const group_cols[] = { "Uuid", "Name", "Description",
                                          "Default_datastore", "VM_list" };
static const char *const vm_cols[] = { "Uuid", "Name" };
static const char *const access_cols[] = { "Datastore", "Allow_create",
                                           "Max_volume_size", "Total_size" };

#define NEED(flag, what)                                                      \
  if (!(flag))                                                                \
  return usage_fail ("the following arguments are required: " what)

static int
cmd_vmgroup (void *h, const char *const *w, size_t n,
             const struct admin_args *a)
{
  vdvs_error_t err = NULL;
  cJSON *rows = NULL;
  char msg[512];
  int r;

  if (n == 1 && strcmp (w[0], "ls") == 0)
    {
      r = vdvs_mock_vmgroup_ls (h, &rows, &err);
      return vdvsctl_listing (r, rows, &err, a->json, group_cols, 5);
    }
  if (n == 1 && strcmp (w[0], "create") == 0)
    {
      NEED (a->name && a->default_ds, "--name, --default-datastore");
      r = vdvs_mock_vmgroup_create (h, a->name, a->default_ds, a->description,
                                    a->vm_list, &err);
      if (strcmp (a->name, MOCK_DEFAULT_TENANT) == 0)
        snprintf (msg, sizeof msg, "vmgroup '%s' is created.", a->name);
      else
        snprintf (msg, sizeof msg,
                  "vmgroup '%s' is created. Do not forget to run 'vmgroup vm "
                  "add' to add vm to vmgroup.",
                  a->name);
      return done (r, &err, msg);
    }
  if (n == 1 && strcmp (w[0], "update") == 0)
    {
      NEED (a->name, "--name");
      r = vdvs_mock_vmgroup_update (h, a->name, a->new_name, a->description,
                                    a->default_ds, &err);
      return done (r, &err, "vmgroup modify succeeded");
    }
  if (n == 1 && strcmp (w[0], "rm") == 0)
    {
      NEED (a->name, "--name");
      r = vdvs_mock_vmgroup_rm (h, a->name, a->remove_volumes, a->force, &err);
      return done (r, &err,
                   a->remove_volumes
                       ? "All Volumes will be removed. vmgroup rm "
                         "succeeded"
                       : "vmgroup rm succeeded");
    }
  if (n == 2 && strcmp (w[0], "vm") == 0)
    {
      NEED (a->name, "--name");
      if (strcmp (w[1], "ls") == 0)
        {
          r = vdvs_mock_vmgroup_vm_ls (h, a->name, &rows, &err);
          return vdvsctl_listing (r, rows, &err, a->json, vm_cols, 2);
        }
      NEED (a->vm_list, "--vm-list");
      if (strcmp (w[1], "add") == 0)
        return done (vdvs_mock_vmgroup_vm_add (h, a->name, a->vm_list, &err),
                     &err, "vmgroup vm add succeeded");
      if (strcmp (w[1], "rm") == 0)
        return done (vdvs_mock_vmgroup_vm_rm (h, a->name, a->vm_list, &err),
                     &err, "vmgroup vm rm succeeded");
      if (strcmp (w[1], "replace") == 0)
        return done (vdvs_mock_vmgroup_vm_replace (h, a->name, a->vm_list,
                                                   &err),
                     &err, "vmgroup vm replace succeeded");
    }
  /* access set --allow-create VALUE: getopt leaves VALUE a word. */
  if (n == 3 && strcmp (w[0], "access") == 0 && strcmp (w[1], "set") == 0
      && a->allow_create && a->allow_value == NULL)
    {
      struct admin_args b = *a;
      b.allow_value = w[2];
      return cmd_vmgroup (h, w, 2, &b);
    }
  if (n == 2 && strcmp (w[0], "access") == 0)
    {
      NEED (a->name, "--name");
      if (strcmp (w[1], "ls") == 0)
        {
          r = vdvs_mock_access_ls (h, a->name, &rows, &err);
          return vdvsctl_listing (r, rows, &err, a->json, access_cols, 4);
        }
      NEED (a->datastore, "--datastore");
      if (strcmp (w[1], "add") == 0)
        return done (vdvs_mock_access_add (h, a->name, a->datastore,
                                           a->allow_create, a->maxsize,
                                           a->totalsize, &err),
                     &err, "vmgroup access add succeeded");
      if (strcmp (w[1], "rm") == 0)
        return done (vdvs_mock_access_rm (h, a->name, a->datastore, &err),
                     &err, "vmgroup access rm succeeded");
      if (strcmp (w[1], "set") == 0)
        {
          if (a->allow_create && a->allow_value == NULL)
            return usage_fail ("argument --allow-create: expected one "
                               "argument");
          return done (vdvs_mock_access_set (h, a->name, a->datastore,
                                             a->allow_value, a->maxsize,
                                             a->totalsize, &err),
                       &err, "vmgroup access set succeeded");
        }
    }
  return usage_fail ("vmgroup: unknown or incomplete command");
}

bool
vdvsctl_is_admin_command (int argc, char **argv)
{
  /* vdvsctl's and the admin commands' options that take a value. */
  static const char *const with_value[] = {
    "--root",
    "--datastores",
    "--auth-db",
    "--vm-uuid",
    "--vm-name",
    "--volume",
    "--options",
    "--name",
    "--default-datastore",
    "--description",
    "--vm-list",
    "--datastore",
    "--volume-maxsize",
    "--volume-totalsize",
    "--new-name",
    "--to",
    "--content",
    "--vsan-datastores",
    "--vmgroup",
    "-c",
  };

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        return false;
      if (argv[i][0] != '-')
        return strcmp (argv[i], "config") == 0
               || strcmp (argv[i], "vmgroup") == 0
               || strcmp (argv[i], "policy") == 0
               || strcmp (argv[i], "volume") == 0;
      if (strchr (argv[i], '=') != NULL)
        continue;
      for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
        if (strcmp (argv[i], with_value[k]) == 0)
          {
            i++;
            break;
          }
    }
  return false;
}

/* policy create|rm|ls|update, upstream's texts (policy.c). */
static int
cmd_policy (void *h, const char *const *w, size_t n, struct admin_args *a)
{
  static const char *const cols[] = { "Policy Name", "Policy Content",
                                      "Active" };
  vdvs_error_t err = NULL;
  char msg[512];
  int r;

  if (n == 1 && strcmp (w[0], "ls") == 0)
    {
      cJSON *rows = NULL;
      r = vdvs_mock_policy_ls (h, &rows, &err);
      return vdvsctl_listing (r, rows, &err, a->json, cols, 3);
    }
  if (n == 1 && strcmp (w[0], "create") == 0)
    {
      if (a->name == NULL || a->content == NULL)
        return usage_fail ("policy create: --name and --content are needed");
      r = vdvs_mock_policy_create (h, a->name, a->content, &err);
      snprintf (msg, sizeof msg, "Successfully created policy: %s", a->name);
      return done (r, &err, msg);
    }
  if (n == 1 && strcmp (w[0], "rm") == 0)
    {
      if (a->name == NULL)
        return usage_fail ("policy rm: --name is needed");
      r = vdvs_mock_policy_rm (h, a->name, &err);
      snprintf (msg, sizeof msg, "Successfully removed policy: %s", a->name);
      return done (r, &err, msg);
    }
  if (n == 1 && strcmp (w[0], "update") == 0)
    {
      if (a->name == NULL || a->content == NULL)
        return usage_fail ("policy update: --name and --content are needed");
      r = vdvs_mock_policy_update (h, a->name, a->content, &err);
      snprintf (msg, sizeof msg, "Successfully updated policy %s", a->name);
      return done (r, &err, msg);
    }
  return usage_fail ("policy: create, rm, ls or update");
}

/* volume ls|set (vdvsctl-volume.c). */
static int
cmd_volume (void *h, const char *const *w, size_t n,
            const struct admin_args *a)
{
  if (n == 1 && strcmp (w[0], "ls") == 0)
    return vdvsctl_volume_ls (h, a->vmgroup, a->cols, a->json);
  if (n == 1 && strcmp (w[0], "set") == 0)
    {
      char missing[64] = "";
      if (!a->volume)
        strcat (missing, ", --volume");
      if (!a->vmgroup)
        strcat (missing, ", --vmgroup");
      if (!a->options)
        strcat (missing, ", --options");
      if (missing[0])
        {
          fprintf (stderr,
                   "vdvsctl: the following arguments are required: %s\n",
                   missing + 2);
          return EXIT_USAGE;
        }
      return vdvsctl_volume_set (h, a->volume, a->vmgroup, a->options);
    }
  return usage_fail ("volume: ls or set");
}

int
vdvsctl_admin_main (int argc, char **argv)
{
  enum
  {
    O_ROOT = 1000,
    O_DS,
    O_AUTHDB,
    O_JSON,
    O_NAME,
    O_DEFDS,
    O_DESC,
    O_VMS,
    O_DATASTORE,
    O_ALLOW,
    O_MAX,
    O_TOTAL,
    O_LOCAL,
    O_UNLINK,
    O_CONFIRM,
    O_NOBACKUP,
    O_RMVOLS,
    O_FORCE,
    O_HELP,
    O_NEWNAME,
    O_TO,
    O_CONTENT,
    O_VSAN,
    O_VMGROUP,
    O_VOLUME,
    O_OPTIONS,
  };
  static const struct option opts[] = {
    { "root", required_argument, NULL, O_ROOT },
    { "datastores", required_argument, NULL, O_DS },
    { "auth-db", required_argument, NULL, O_AUTHDB },
    { "json", no_argument, NULL, O_JSON },
    { "name", required_argument, NULL, O_NAME },
    { "default-datastore", required_argument, NULL, O_DEFDS },
    { "description", required_argument, NULL, O_DESC },
    { "vm-list", required_argument, NULL, O_VMS },
    { "datastore", required_argument, NULL, O_DATASTORE },
    { "allow-create", optional_argument, NULL, O_ALLOW },
    { "new-name", required_argument, NULL, O_NEWNAME },
    { "to", required_argument, NULL, O_TO },
    { "content", required_argument, NULL, O_CONTENT },
    { "vsan-datastores", required_argument, NULL, O_VSAN },
    { "volume-maxsize", required_argument, NULL, O_MAX },
    { "volume-totalsize", required_argument, NULL, O_TOTAL },
    { "local", no_argument, NULL, O_LOCAL },
    { "unlink", no_argument, NULL, O_UNLINK },
    { "confirm", no_argument, NULL, O_CONFIRM },
    { "no-backup", no_argument, NULL, O_NOBACKUP },
    { "remove-volumes", no_argument, NULL, O_RMVOLS },
    { "force", no_argument, NULL, O_FORCE },
    { "vmgroup", required_argument, NULL, O_VMGROUP },
    { "volume", required_argument, NULL, O_VOLUME },
    { "options", required_argument, NULL, O_OPTIONS },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct admin_args a = { 0 };
  vdvs_error_t err = NULL;
  const char *cmd;
  void *h = NULL;
  int c, r;

  optind = 1;
  while ((c = getopt_long (argc, argv, "hc:", opts, NULL)) != -1)
    {
      const char *key = c == O_ROOT     ? "root"
                        : c == O_DS     ? "datastores"
                        : c == O_AUTHDB ? "auth-db"
                        : c == O_VSAN   ? "vsan-datastores"
                                        : NULL;
      if (key != NULL)
        {
          if (vdvs_backend_mock.config (key, optarg, &err) < 0)
            {
              fprintf (stderr, "vdvsctl: %s\n", err->msg);
              vdvs_error_release (&err);
              return EXIT_USAGE;
            }
          continue;
        }
      switch (c)
        {
        case O_JSON:
          a.json = true;
          break;
        case O_NAME:
          a.name = optarg;
          break;
        case O_DEFDS:
          a.default_ds = optarg;
          break;
        case O_DESC:
          a.description = optarg;
          break;
        case O_VMS:
          a.vm_list = optarg;
          break;
        case O_DATASTORE:
          a.datastore = a.datastore_flag_ds = optarg;
          break;
        case O_ALLOW:
          a.allow_create = true;
          a.allow_value = optarg;
          break;
        case O_NEWNAME:
          a.new_name = optarg;
          break;
        case O_TO:
          a.to = optarg;
          break;
        case O_CONTENT:
          a.content = optarg;
          break;
        case O_MAX:
          a.maxsize = optarg;
          break;
        case O_TOTAL:
          a.totalsize = optarg;
          break;
        case O_LOCAL:
          a.local = true;
          break;
        case O_UNLINK:
          a.unlink = true;
          break;
        case O_CONFIRM:
          a.confirm = true;
          break;
        case O_NOBACKUP:
          a.no_backup = true;
          break;
        case O_RMVOLS:
          a.remove_volumes = true;
          break;
        case O_FORCE:
          a.force = true;
          break;
        case O_VMGROUP:
          a.vmgroup = optarg;
          break;
        case O_VOLUME:
          a.volume = optarg;
          break;
        case O_OPTIONS:
          a.options = optarg;
          break;
        case 'c':
          a.cols = optarg + (optarg[0] == '='); /* -c=COLS, as argparse */
          break;
        case 'h':
        case O_HELP:
          fputs (admin_usage, stdout);
          return 0;
        default:
          fputs (admin_usage, stderr);
          return EXIT_USAGE;
        }
    }
  if (optind >= argc)
    return usage_fail ("a command is missing");
  cmd = argv[optind];
  if (strcmp (cmd, "config") == 0 && argc - optind != 2)
    return usage_fail ("config: init, status or rm");
  /* The admin is not a VM: it opens the datastore without registering
   * itself in the inventory, and never starts vmdkfs. */
  vdvs_backend_mock.config ("inventory", "no", NULL);
  vdvs_backend_mock.config ("vmdkfs", "off", NULL);
  if (vdvs_backend_mock.open (&h, &err) < 0)
    {
      printf ("ERROR:%s\n", err->msg);
      vdvs_error_release (&err);
      return VDVSCTL_EXIT_OP_FAILED;
    }
  if (strcmp (cmd, "config") == 0)
    r = cmd_config (h, argv[optind + 1], &a);
  else if (strcmp (cmd, "volume") == 0)
    r = cmd_volume (h, (const char *const *) argv + optind + 1,
                    (size_t) (argc - optind - 1), &a);
  else if (strcmp (cmd, "policy") == 0)
    r = cmd_policy (h, (const char *const *) argv + optind + 1,
                    (size_t) (argc - optind - 1), &a);
  else
    r = cmd_vmgroup (h, (const char *const *) argv + optind + 1,
                     (size_t) (argc - optind - 1), &a);
  vdvs_backend_mock.close (h);
  return r;
}
