/* Configuration from a JSON file, the environment and flags (flags win).
 * A layer's backend options are for the backend that layer names. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/backend.h"
#include "vdvs/cleanup.h"
#include "vdvs/log.h"

#include "backend_i.h"
#include "mounts.h"
#include "platform/paths.h"

/* A printf format: the defaults come from the platform seam, in the order
 * of print_usage. */
static const char usage[] =
    "Usage: vdvsd [OPTION]...\n"
    "Docker volume plugin for VMware vSphere: VMDK-backed volumes.\n"
    "\n"
    "  -c, --config FILE        JSON config file (default\n"
    "                           %s;\n"
    "                           env VDVS_CONFIG)\n"
    "  -d, --driver NAME        Docker driver name (default vsphere; `vmdk` "
    "is\n"
    "                           the original name; env VDVS_DRIVER)\n"
    "  -b, --backend NAME       backend: mock or esx (default mock; env "
    "VDVS_BACKEND)\n"
    "  -o, --backend-opt K=V    backend option, repeatable (env "
    "VDVS_BACKEND_OPTS=\"K=V;K=V\")\n"
    "      --esx URL            shorthand for --backend esx --backend-opt "
    "esx=URL\n"
    "  -s, --socket PATH        plugin socket or pipe (default %s)\n"
    "  -m, --mount-root DIR     where volumes are mounted (default\n"
    "                           %s)\n"
    "      --state-dir DIR      refcount state (default\n"
    "                           %s)\n"
    "      --docker-socket PATH Docker API used for restart recovery\n"
    "                           (default %s; `none` to disable)\n"
    "      --sysfs-root DIR     sysfs for device discovery (default: the "
    "backend's)\n"
    "      --dev-root DIR       /dev for device discovery (default: the "
    "backend's)\n"
    "      --device-timeout SEC wait for an attached disk to appear (10)\n"
    "      --max-connections N  concurrent API connections (8192)\n"
    "      --recovery-grace SEC recovery leaves volumes mounted less than SEC\n"
    "                           ago to their starting containers (60)\n"
    "      --mount-options LIST mount flags added to every volume, e.g.\n"
    "                           nosuid,nodev (default none, as Docker's local\n"
    "                           driver; env VDVS_MOUNT_OPTIONS)\n"
    "  -l, --log-level LEVEL    error|warn|info|debug (default info; env "
    "VDVS_LOG_LEVEL)\n"
    "      --log-file PATH      append logs to PATH, `-` for stderr (default\n"
    "                           %s)\n"
    "  -h, --help               this help, including the backends' options\n"
    "  -V, --version            print the version\n"
    "\n"
    "Config file keys (all optional): Driver, Backend, BackendOptions "
    "(object),\n"
    "Socket, MountRoot, StateDir, DockerSocket, SysfsRoot, DevRoot,\n"
    "DeviceTimeout (seconds), MaxConnections, MountOptions, LogLevel, "
    "LogPath.\n"
    "Flags beat the environment, which beats the file. BackendOptions (and\n"
    "VDVS_BACKEND_OPTS) are ignored when a later layer picks another backend.\n";

enum
{
  OPT_ESX = 256,
  OPT_STATE_DIR,
  OPT_DOCKER,
  OPT_SYSFS,
  OPT_DEV,
  OPT_DEVTIMEOUT,
  OPT_MAXCONN,
  OPT_GRACE,
  OPT_LOGFILE,
  OPT_MOUNTOPTS,
};

static const struct option long_opts[] = {
  { "config", required_argument, NULL, 'c' },
  { "driver", required_argument, NULL, 'd' },
  { "backend", required_argument, NULL, 'b' },
  { "backend-opt", required_argument, NULL, 'o' },
  { "esx", required_argument, NULL, OPT_ESX },
  { "socket", required_argument, NULL, 's' },
  { "mount-root", required_argument, NULL, 'm' },
  { "state-dir", required_argument, NULL, OPT_STATE_DIR },
  { "docker-socket", required_argument, NULL, OPT_DOCKER },
  { "sysfs-root", required_argument, NULL, OPT_SYSFS },
  { "dev-root", required_argument, NULL, OPT_DEV },
  { "device-timeout", required_argument, NULL, OPT_DEVTIMEOUT },
  { "max-connections", required_argument, NULL, OPT_MAXCONN },
  { "recovery-grace", required_argument, NULL, OPT_GRACE },
  { "log-level", required_argument, NULL, 'l' },
  { "log-file", required_argument, NULL, OPT_LOGFILE },
  { "mount-options", required_argument, NULL, OPT_MOUNTOPTS },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'V' },
  { NULL, 0, NULL, 0 },
};

static int
set_str (char *dst, size_t len, const char *what, const char *v,
         vdvs_error_t *err)
{
  if (strlen (v) >= len)
    return vdvs_error_set (err, EINVAL, "%s `%s` is too long (max %zu bytes)",
                           what, v, len - 1);
  strcpy (dst, v);
  return 0;
}
#define SET(field, what, v) set_str (c->field, sizeof c->field, what, v, err)

static int
add_backend_opt (struct vdvs_config *c, const char *kv, vdvs_error_t *err)
{
  const char *eq = strchr (kv, '=');
  struct vdvs_backend_opt *n;

  if (eq == NULL || eq == kv)
    return vdvs_error_set (err, EINVAL,
                           "backend option `%s` is not of the form KEY=VALUE",
                           kv);
  n = realloc (c->backend_opts, (c->n_backend_opts + 1) * sizeof *n);
  if (n == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  c->backend_opts = n;
  n[c->n_backend_opts].key = strndup (kv, (size_t) (eq - kv));
  n[c->n_backend_opts].value = strdup (eq + 1);
  c->n_backend_opts++;
  return 0;
}

static int
set_int (int *dst, const char *what, const char *v, int min, int max,
         vdvs_error_t *err)
{
  char *end;
  long n;

  errno = 0;
  n = strtol (v, &end, 10);
  if (errno || end == v || *end || n < min || n > max)
    return vdvs_error_set (err, EINVAL,
                           "%s `%s` is not a whole number in %d..%d", what, v,
                           min, max);
  *dst = (int) n;
  return 0;
}

static int
set_level (struct vdvs_config *c, const char *v, vdvs_error_t *err)
{
  if (vdvs_log_level_parse (v, &c->log_level) < 0)
    return vdvs_error_set (err, EINVAL,
                           "log level `%s` is not valid; valid: error, warn, "
                           "info, debug",
                           v);
  return 0;
}

static int
apply_file (struct vdvs_config *c, bool explicit, vdvs_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_cjson cJSON *j = NULL;
  FILE *f = fopen (c->config_file, "re");
  size_t len = 0;
  const cJSON *v;

  if (f == NULL)
    {
      if (errno == ENOENT && !explicit)
        return 0;
      return vdvs_error_set (err, errno, "cannot open config file `%s`: %s",
                             c->config_file, strerror (errno));
    }
  text = malloc (1 << 20);
  if (text)
    len = fread (text, 1, (1 << 20) - 1, f);
  fclose (f);
  if (text == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  j = cJSON_ParseWithLength (text, len);
  if (!cJSON_IsObject (j))
    return vdvs_error_set (err, EINVAL,
                           "config file `%s` is not a JSON object",
                           c->config_file);

  static const struct
  {
    const char *key;
    size_t off, len;
  } strs[] = {
#define S(k, f)                                                               \
  { k, offsetof (struct vdvs_config, f), sizeof ((struct vdvs_config *) 0)->f }
    S ("Driver", driver),
    S ("Backend", backend),
    S ("Socket", socket_path),
    S ("MountRoot", mount_root),
    S ("StateDir", state_dir),
    S ("DockerSocket", docker_socket),
    S ("SysfsRoot", sysfs_root),
    S ("DevRoot", dev_root),
    S ("LogPath", log_file),
    S ("LogFile", log_file),
    S ("MountOptions", mount_options),
#undef S
  };
  cJSON_ArrayForEach (v, j)
    {
      bool known = false;
      for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strcmp (v->string, strs[i].key) == 0)
          {
            known = true;
            if (!cJSON_IsString (v))
              return vdvs_error_set (err, EINVAL,
                                     "config `%s`: `%s` must be a string",
                                     c->config_file, v->string);
            if (set_str ((char *) c + strs[i].off, strs[i].len, v->string,
                         v->valuestring, err)
                < 0)
              return -1;
          }
      if (known)
        continue;
      if (strcmp (v->string, "LogLevel") == 0 && cJSON_IsString (v))
        {
          if (set_level (c, v->valuestring, err) < 0)
            return -1;
        }
      else if (strcmp (v->string, "DeviceTimeout") == 0 && cJSON_IsNumber (v))
        c->device_timeout_ms = (int) (v->valuedouble * 1000);
      else if (strcmp (v->string, "MaxConnections") == 0 && cJSON_IsNumber (v))
        c->max_connections = v->valueint;
      else if (strcmp (v->string, "BackendOptions") == 0 && cJSON_IsObject (v))
        {
          const cJSON *o;
          cJSON_ArrayForEach (o, v)
            {
              char kv[PATH_MAX + 128];
              if (!cJSON_IsString (o))
                return vdvs_error_set (err, EINVAL,
                                       "config `%s`: BackendOptions.%s must be a "
                                       "string",
                                       c->config_file, o->string);
              snprintf (kv, sizeof kv, "%s=%s", o->string, o->valuestring);
              if (add_backend_opt (c, kv, err) < 0)
                return -1;
            }
        }
      else
        return vdvs_error_set (err, EINVAL,
                               "config `%s`: unknown or mistyped key `%s` (see "
                               "vdvsd --help)",
                               c->config_file, v->string);
    }
  return 0;
}

static int
apply_env (struct vdvs_config *c, vdvs_error_t *err)
{
  const char *v;

  if ((v = getenv ("VDVS_DRIVER")) && *v && SET (driver, "driver", v) < 0)
    return -1;
  if ((v = getenv ("VDVS_BACKEND")) && *v && SET (backend, "backend", v) < 0)
    return -1;
  if ((v = getenv ("VDVS_LOG_LEVEL")) && *v && set_level (c, v, err) < 0)
    return -1;
  if ((v = getenv ("VDVS_SOCKET")) && *v && SET (socket_path, "socket", v) < 0)
    return -1;
  if ((v = getenv ("VDVS_MOUNT_ROOT")) && *v
      && SET (mount_root, "mount root", v) < 0)
    return -1;
  if ((v = getenv ("VDVS_MOUNT_OPTIONS")) && *v
      && SET (mount_options, "mount options", v) < 0)
    return -1;
  if ((v = getenv ("VDVS_BACKEND_OPTS")) && *v)
    {
      cleanup_free char *copy = strdup (v);
      char *save = NULL;
      for (char *kv = strtok_r (copy, ";", &save); kv;
           kv = strtok_r (NULL, ";", &save))
        if (add_backend_opt (c, kv, err) < 0)
          return -1;
    }
  return 0;
}

/* Keep the backend options the chosen backend should see. Options
 * [first, end) came from one layer (file or environment): they are dropped
 * when that layer named another backend (BACKEND non-empty), and each one
 * is dropped when a later layer (index >= LATER) sets the same key. */
static void
drop_backend_opts (struct vdvs_config *c, size_t first, size_t end,
                   const char *backend, size_t later)
{
  size_t out = first;

  for (size_t i = first; i < c->n_backend_opts; i++)
    {
      bool drop = false;
      if (i < end)
        {
          drop = backend[0] && strcmp (backend, c->backend) != 0;
          for (size_t j = later; !drop && j < c->n_backend_opts; j++)
            drop = strcmp (c->backend_opts[i].key, c->backend_opts[j].key)
                   == 0;
        }
      if (drop)
        {
          free (c->backend_opts[i].key);
          free (c->backend_opts[i].value);
        }
      else
        c->backend_opts[out++] = c->backend_opts[i];
    }
  c->n_backend_opts = out;
}

int
vdvs_config_load (struct vdvs_config *c, int argc, char **argv,
                  vdvs_error_t *err)
{
  /* The backend each layer named ("" = none) and where its options end. */
  char file_backend[sizeof c->backend] = "",
                           env_backend[sizeof c->backend] = "";
  size_t n_file, n_env;
  int opt;
  bool explicit_config = false;
  const char *env;

  memset (c, 0, sizeof *c);
  strcpy (c->config_file, vdvs_path_config ());
  strcpy (c->driver, "vsphere");
  strcpy (c->mount_root, vdvs_path_mount_root ());
  strcpy (c->docker_socket, vdvs_path_engine ());
  strcpy (c->log_file, vdvs_path_log_file ());
  c->log_level = VDVS_LOG_INFO;
  c->device_timeout_ms = 10000;
  c->max_connections = 8192;
  c->recovery_grace_s = 60;

  /* Pass 1: only --config (and help/version), so the file comes first. */
  if ((env = getenv ("VDVS_CONFIG")) && *env)
    {
      if (SET (config_file, "config file", env) < 0)
        return -1;
      explicit_config = true;
    }
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long (argc, argv, "c:d:b:o:s:m:l:hV", long_opts, NULL))
         != -1)
    {
      if (opt == 'c')
        {
          if (SET (config_file, "config file", optarg) < 0)
            return -1;
          explicit_config = true;
        }
      else if (opt == 'h')
        {
          const struct vdvs_path_texts *t = vdvs_path_texts ();
          printf (usage, t->config, t->plugin, t->mount_root, t->state_dir,
                  t->engine, t->log_file);
          vdvs_backends_help (stdout);
          return 1;
        }
      else if (opt == 'V')
        {
          printf ("vdvsd %s\n", VDVS_VERSION);
          return 1;
        }
    }
  /* The file's backend, "" when it names none: mock is the default. */
  if (apply_file (c, explicit_config, err) < 0)
    return -1;
  strcpy (file_backend, c->backend);
  if (c->backend[0] == '\0')
    strcpy (c->backend, "mock");
  n_file = c->n_backend_opts;
  if (apply_env (c, err) < 0)
    return -1;
  if ((env = getenv ("VDVS_BACKEND")) && *env)
    strcpy (env_backend, c->backend);
  n_env = c->n_backend_opts;

  opterr = 0;
  optind = 0;
  while ((opt = getopt_long (argc, argv, "c:d:b:o:s:m:l:hV", long_opts, NULL))
         != -1)
    {
      int r = 0;
      switch (opt)
        {
        case 'c':
          break;
        case 'd':
          r = SET (driver, "driver", optarg);
          break;
        case 'b':
          r = SET (backend, "backend", optarg);
          break;
        case 'o':
          r = add_backend_opt (c, optarg, err);
          break;
        case OPT_ESX:
          {
            char kv[PATH_MAX];
            strcpy (c->backend, "esx");
            snprintf (kv, sizeof kv, "esx=%s", optarg);
            r = add_backend_opt (c, kv, err);
          }
          break;
        case 's':
          r = SET (socket_path, "socket", optarg);
          break;
        case 'm':
          r = SET (mount_root, "mount root", optarg);
          break;
        case OPT_STATE_DIR:
          r = SET (state_dir, "state dir", optarg);
          break;
        case OPT_DOCKER:
          r = SET (docker_socket, "docker socket",
                   strcmp (optarg, "none") == 0 ? "" : optarg);
          break;
        case OPT_SYSFS:
          r = SET (sysfs_root, "sysfs root", optarg);
          break;
        case OPT_DEV:
          r = SET (dev_root, "dev root", optarg);
          break;
        case OPT_DEVTIMEOUT:
          r = set_int (&c->device_timeout_ms, "device timeout", optarg, 1,
                       3600, err);
          c->device_timeout_ms *= 1000;
          break;
        case OPT_MAXCONN:
          r = set_int (&c->max_connections, "max connections", optarg, 1,
                       100000, err);
          break;
        case OPT_GRACE:
          r = set_int (&c->recovery_grace_s, "recovery grace", optarg, 0,
                       86400, err);
          break;
        case 'l':
          r = set_level (c, optarg, err);
          break;
        case OPT_LOGFILE:
          r = SET (log_file, "log file", optarg);
          break;
        case OPT_MOUNTOPTS:
          r = SET (mount_options, "mount options", optarg);
          break;
        case 'h':
        case 'V':
          break;
        default:
          return vdvs_error_set (err, EINVAL,
                                 "unknown or incomplete option `%s`; see "
                                 "vdvsd --help",
                                 argv[optind - 1]);
        }
      if (r < 0)
        return -1;
    }
  if (optind < argc)
    return vdvs_error_set (err, EINVAL,
                           "unexpected argument `%s`; see "
                           "vdvsd --help",
                           argv[optind]);
  /* Flags > environment > file, per key; a layer's options are for the
   * backend that layer names, so switching backend drops them. */
  drop_backend_opts (c, n_file, n_env, env_backend, n_env);
  drop_backend_opts (c, 0, n_file, file_backend, n_file);
  if (c->driver[0] == '\0' || strchr (c->driver, '/') || c->driver[0] == '.')
    return vdvs_error_set (err, EINVAL,
                           "driver name `%s` is not valid: it must be a "
                           "non-empty file name",
                           c->driver);
  if (strcmp (c->log_file, "-") == 0)
    c->log_file[0] = '\0'; /* stderr */
  if (c->socket_path[0] == '\0')
    vdvs_path_plugin (c->driver, c->socket_path, sizeof c->socket_path);
  if (c->state_dir[0] == '\0')
    vdvs_path_state_dir (c->driver, c->state_dir, sizeof c->state_dir);
  if (!vdvs_path_is_absolute (c->mount_root))
    return vdvs_error_set (err, EINVAL, "mount root `%s` must be absolute",
                           c->mount_root);
  if (vdvs_mount_options_parse (c->mount_options, &c->mount_flags, err) < 0)
    return vdvs_error_wrap (err, "MountOptions (--mount-options)");
  return 0;
}

void
vdvs_config_free (struct vdvs_config *c)
{
  for (size_t i = 0; i < c->n_backend_opts; i++)
    {
      free (c->backend_opts[i].key);
      free (c->backend_opts[i].value);
    }
  free (c->backend_opts);
  c->backend_opts = NULL;
  c->n_backend_opts = 0;
}
