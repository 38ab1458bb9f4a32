/* vdvsd configuration precedence: flags > environment > config file, and a
 * layer's BackendOptions belong to the backend that layer names. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "t_helpers.h"

static char dir[PATH_MAX];
static char conf[PATH_MAX + 16];

static void
setup (void)
{
  t_mkdtemp (dir, sizeof dir, "config");
  snprintf (conf, sizeof conf, "%s/vdvs.conf", dir);
  unsetenv ("VDVS_CONFIG");
  unsetenv ("VDVS_DRIVER");
  unsetenv ("VDVS_BACKEND");
  unsetenv ("VDVS_BACKEND_OPTS");
  unsetenv ("VDVS_LOG_LEVEL");
  unsetenv ("VDVS_SOCKET");
  unsetenv ("VDVS_MOUNT_ROOT");
}

static void
teardown (void)
{
  t_rmrf (dir);
}

static void
write_conf (const char *json)
{
  FILE *f = fopen (conf, "w");
  cr_assert_not_null (f);
  fputs (json, f);
  fclose (f);
}

/* The installed /etc/vdvs.conf: mock with a root and a datastore list. */
static const char dist_conf[] =
    "{ \"Driver\": \"vsphere\", \"Backend\": \"mock\", \"LogLevel\": \"info\","
    "  \"MountRoot\": \"/mnt/vmdk\","
    "  \"BackendOptions\": { \"root\": \"/var/lib/vdvs\","
    "                        \"datastores\": \"datastore1\" } }";

/* Load with argv = "vdvsd" + the given flags (NULL-terminated). */
static void
load (struct vdvs_config *c, ...)
{
  char *argv[32] = { (char *) "vdvsd", (char *) "--config", conf };
  int argc = 3;
  va_list ap;
  const char *a;
  vdvs_error_t err = NULL;

  va_start (ap, c);
  while ((a = va_arg (ap, const char *)) != NULL && argc < 31)
    argv[argc++] = (char *) a;
  va_end (ap);
  argv[argc] = NULL;
  cr_assert_eq (vdvs_config_load (c, argc, argv, &err), 0, "config: %s",
                err ? err->msg : "?");
}

/* The value of backend option KEY, or NULL; fails on a duplicate key. */
static const char *
opt (const struct vdvs_config *c, const char *key)
{
  const char *v = NULL;
  for (size_t i = 0; i < c->n_backend_opts; i++)
    if (strcmp (c->backend_opts[i].key, key) == 0)
      {
        cr_assert_null (v, "backend option %s given twice", key);
        v = c->backend_opts[i].value;
      }
  return v;
}

TestSuite (config, .init = setup, .fini = teardown);

Test (config, file_options_reach_the_file_backend)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  load (&c, NULL);
  cr_assert_str_eq (c.backend, "mock");
  cr_assert_str_eq (opt (&c, "root"), "/var/lib/vdvs");
  cr_assert_str_eq (opt (&c, "datastores"), "datastore1");
  vdvs_config_free (&c);
}

/* The log file: the platform's default (Linux: stderr, ""), a path from
 * the file or a flag, and `-` for stderr over a file's LogPath. */
Test (config, log_file_default_path_and_dash)
{
  struct vdvs_config c;
  write_conf ("{ \"LogPath\": \"/var/log/vdvsd.log\" }");
  load (&c, NULL);
  cr_assert_str_eq (c.log_file, "/var/log/vdvsd.log");
  vdvs_config_free (&c);
  load (&c, "--log-file", "-", NULL);
  cr_assert_str_eq (c.log_file, "");
  vdvs_config_free (&c);
  write_conf ("{}");
  load (&c, NULL);
  cr_assert_str_eq (c.log_file, "");
  vdvs_config_free (&c);
}

Test (config, backend_flag_drops_the_file_options_of_another_backend)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  load (&c, "--backend", "esx", "-o", "esx=unix:///tmp/x.sock", NULL);
  cr_assert_str_eq (c.backend, "esx");
  cr_assert_null (opt (&c, "root"), "the mock root reached the esx backend");
  cr_assert_null (opt (&c, "datastores"));
  cr_assert_str_eq (opt (&c, "esx"), "unix:///tmp/x.sock");
  cr_assert_eq (c.n_backend_opts, 1);
  vdvs_config_free (&c);
}

Test (config, esx_shorthand_drops_the_file_options_of_mock)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  load (&c, "--esx", "vsock://2:1019", NULL);
  cr_assert_str_eq (c.backend, "esx");
  cr_assert_eq (c.n_backend_opts, 1);
  cr_assert_str_eq (opt (&c, "esx"), "vsock://2:1019");
  vdvs_config_free (&c);
}

Test (config, backend_env_drops_the_file_options_of_another_backend)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  setenv ("VDVS_BACKEND", "esx", 1);
  load (&c, NULL);
  cr_assert_str_eq (c.backend, "esx");
  cr_assert_eq (c.n_backend_opts, 0);
  vdvs_config_free (&c);
}

Test (config, same_backend_flag_keeps_the_file_options)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  load (&c, "--backend", "mock", NULL);
  cr_assert_str_eq (opt (&c, "root"), "/var/lib/vdvs");
  vdvs_config_free (&c);
}

Test (config, flag_beats_env_beats_file_per_key)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  setenv ("VDVS_BACKEND_OPTS", "root=/env;vm-name=envvm", 1);
  load (&c, "-o", "vm-name=flagvm", NULL);
  cr_assert_str_eq (opt (&c, "root"), "/env");
  cr_assert_str_eq (opt (&c, "vm-name"), "flagvm");
  cr_assert_str_eq (opt (&c, "datastores"), "datastore1");
  vdvs_config_free (&c);
}

Test (config, env_options_without_env_backend_follow_the_flag)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  setenv ("VDVS_BACKEND_OPTS", "esx=vsock://2:1019", 1);
  load (&c, "--backend", "esx", NULL);
  cr_assert_eq (c.n_backend_opts, 1);
  cr_assert_str_eq (opt (&c, "esx"), "vsock://2:1019");
  vdvs_config_free (&c);
}

Test (config, env_options_for_another_backend_are_dropped)
{
  struct vdvs_config c;
  write_conf ("{}");
  setenv ("VDVS_BACKEND", "mock", 1);
  setenv ("VDVS_BACKEND_OPTS", "root=/env", 1);
  load (&c, "--backend", "esx", NULL);
  cr_assert_eq (c.n_backend_opts, 0);
  vdvs_config_free (&c);
}

Test (config, scalar_precedence)
{
  struct vdvs_config c;
  write_conf (dist_conf);
  setenv ("VDVS_MOUNT_ROOT", "/env-mnt", 1);
  setenv ("VDVS_LOG_LEVEL", "debug", 1);
  load (&c, "--log-level", "error", NULL);
  cr_assert_str_eq (c.mount_root, "/env-mnt");
  cr_assert_eq (c.log_level, VDVS_LOG_ERROR);
  vdvs_config_free (&c);
}

Test (config, file_without_backend_passes_options_to_the_chosen_one)
{
  struct vdvs_config c;
  write_conf ("{ \"BackendOptions\": { \"timeout\": \"30\" } }");
  load (&c, "--backend", "esx", NULL);
  cr_assert_str_eq (opt (&c, "timeout"), "30");
  vdvs_config_free (&c);
}

/* The "(default N)" that man/vdvsd.8 states for --OPTION. */
static long
man_default (const char *man, const char *option)
{
  char key[64] = "\\-\\-"; /* troff's \- for each dash */
  size_t k = strlen (key);

  for (const char *o = option; *o && k + 3 < sizeof key; o++)
    {
      if (*o == '-')
        key[k++] = '\\';
      key[k++] = *o;
    }
  key[k] = '\0';
  const char *at = strstr (man, key);
  cr_assert_not_null (at, "man/vdvsd.8 does not document --%s", option);
  const char *next = strstr (at, "\n.TP");
  const char *d = strstr (at, "(default ");
  cr_assert (d != NULL && (next == NULL || d < next),
             "man/vdvsd.8 states no default for --%s", option);
  return strtol (d + strlen ("(default "), NULL, 10);
}

Test (config, man_page_states_the_numeric_defaults)
{
  struct vdvs_config c;
  char *man = t_read_file (VDVS_SOURCE_ROOT "/man/vdvsd.8", NULL);

  write_conf ("{}");
  load (&c, NULL);
  cr_expect_eq (man_default (man, "device-timeout") * 1000,
                c.device_timeout_ms);
  cr_expect_eq (man_default (man, "max-connections"), c.max_connections);
  cr_expect_eq (man_default (man, "recovery-grace"), c.recovery_grace_s);
  vdvs_config_free (&c);
  free (man);
}
