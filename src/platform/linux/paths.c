/* Linux defaults: see platform/paths.h. */
#include "platform/paths.h"

#include <stdio.h>

const char *
vdvs_path_config (void)
{
  return "/etc/vdvs.conf";
}

const char *
vdvs_path_mount_root (void)
{
  return "/mnt/vmdk";
}

const char *
vdvs_path_engine (void)
{
  return "/var/run/docker.sock";
}

void
vdvs_path_plugin (const char *driver, char *out, size_t len)
{
  snprintf (out, len, "/run/docker/plugins/%s.sock", driver);
}

void
vdvs_path_state_dir (const char *driver, char *out, size_t len)
{
  snprintf (out, len, "/run/vdvs/%s", driver);
}

const char *
vdvs_path_log_file (void)
{
  return "";
}

const struct vdvs_path_texts *
vdvs_path_texts (void)
{
  static const struct vdvs_path_texts t = {
    .config = "/etc/vdvs.conf",
    .plugin = "/run/docker/plugins/DRIVER.sock",
    .mount_root = "/mnt/vmdk",
    .state_dir = "/run/vdvs/DRIVER",
    .engine = "/var/run/docker.sock",
    .log_file = "stderr",
  };
  return &t;
}

bool
vdvs_path_is_absolute (const char *path)
{
  return path[0] == '/';
}
