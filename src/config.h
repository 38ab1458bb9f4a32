/* vdvsd configuration: defaults < JSON config file < environment < flags. */
#ifndef VDVS_CONFIG_H
#define VDVS_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "vdvs/error.h"
#include "vdvs/log.h"

struct vdvs_backend_opt
{
  char *key;
  char *value;
};

struct vdvs_config
{
  char config_file[PATH_MAX];
  char driver[64];              /* Docker driver name: vsphere */
  char socket_path[PATH_MAX];   /* /run/docker/plugins/<driver>.sock */
  char mount_root[PATH_MAX];    /* /mnt/vmdk */
  char state_dir[PATH_MAX];     /* /run/vdvs/<driver> */
  char backend[32];             /* mock | esx */
  char docker_socket[PATH_MAX]; /* /var/run/docker.sock, "" = none */
  char sysfs_root[256];         /* "" = the backend's answer */
  char dev_root[256];
  char log_file[PATH_MAX]; /* "" = stderr */
  enum vdvs_log_level log_level;
  int device_timeout_ms; /* wait for an attached disk (10 s) */
  int max_connections;
  int recovery_grace_s;      /* fresh mounts left alone (60 s) */
  char mount_options[256];   /* MountOptions: "" or e.g. "nosuid,nodev" */
  unsigned long mount_flags; /* mount_options parsed */
  /* Backend options in the order given (file, env, flags); owned. */
  size_t n_backend_opts;
  struct vdvs_backend_opt *backend_opts;
};

/* Parse everything. Returns 0 to run, 1 when --help/--version was served,
 * <0 with *err set on bad input. */
int vdvs_config_load (struct vdvs_config *c, int argc, char **argv,
                      vdvs_error_t *err);
void vdvs_config_free (struct vdvs_config *c);

#endif
