/* Typed request/reply structs of the backend operations: exactly what
 * the ESX wire codec encodes. */
#ifndef VDVS_TYPES_H
#define VDVS_TYPES_H

#include <stdbool.h>
#include <stddef.h>

/* Create options: string key/value pairs, kept sorted by key (the wire
 * encodes them in that order, like Go's encoding/json). */
struct vdvs_opt
{
  char *key;
  char *value;
};
struct vdvs_opts
{
  size_t n;
  struct vdvs_opt *v; /* owned; free with vdvs_opts_clear */
};
/* Insert or replace; keeps the array sorted. Returns 0 or -ENOMEM. */
int vdvs_opts_set (struct vdvs_opts *o, const char *key, const char *value);
/* Value for key or NULL. */
const char *vdvs_opts_get (const struct vdvs_opts *o, const char *key);
void vdvs_opts_clear (struct vdvs_opts *o);

/* The attach reply: where the guest finds the disk (upstream §2.3.3). All
 * three are strings on the wire. */
struct vdvs_device
{
  char unit[16];     /* SCSI target, "0".."15" except "7" */
  char pci_slot[16]; /* ControllerPciSlotNumber, e.g. "224" */
  char pci_bus[16];  /* ControllerPciBusNumber, e.g. "17.0" */
};

/* The `get` reply (upstream §2.3.6). Every member is a malloc'd string or
 * NULL when the upstream reply omits the key; free with
 * vdvs_volume_info_clear. */
struct vdvs_volume_info
{
  char *created_by;         /* "created by VM" */
  char *created;            /* asctime UTC: "Wed Mar  1 20:06:02 2017" */
  char *status;             /* "attached" | "detached" */
  char *capacity_size;      /* "capacity": {"size": "10GB", */
  char *capacity_allocated; /*           "allocated": "13MB"} */
  char *datastore;          /* real datastore name */
  char *attached_to_vm;     /* "attached to VM", NULL when detached */
  bool has_device;
  struct vdvs_device device; /* "attachedVMDevice" when has_device */
  char *fstype;
  char *diskformat;
  char *attach_as;
  char *access;
  char *clone_from;
  char *vsan_policy_name;
};
void vdvs_volume_info_clear (struct vdvs_volume_info *info);
/* Deep copy into *dst (overwritten, not freed first).  0, or -ENOMEM with
 * *dst left empty. */
int vdvs_volume_info_copy (struct vdvs_volume_info *dst,
                           const struct vdvs_volume_info *src);

/* One `list` entry: fully qualified "vol@datastore" plus attributes (always
 * empty upstream). */
struct vdvs_volume_list
{
  size_t n;
  char **names; /* owned; free with vdvs_volume_list_clear */
};
int vdvs_volume_list_add (struct vdvs_volume_list *l, const char *name);
void vdvs_volume_list_clear (struct vdvs_volume_list *l);

/* Health of the backend as seen by the core, for Get Status and for refusing
 * new attaches with a clear message. */
struct vdvs_backend_health
{
  bool up;
  char detail[256]; /* why it is down, "" when up */
};

/* Where the guest looks for disks.  Device discovery in the core resolves
 * <sysfs_root>/bus/pci/devices/0000:00:<bus>/pci_bus/<first> and waits for
 * <dev_root>/disk/by-path/pci-<first>:00.0-scsi-0:0:<unit>:0. */
struct vdvs_device_roots
{
  char sysfs_root[256]; /* "/sys" on a real guest */
  char dev_root[256];   /* "/dev" on a real guest */
};

#endif
