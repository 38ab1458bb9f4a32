/* vdvs — the backend interface.
 *
 * This is the ONLY header of the core that a backend includes.  A backend is
 * a `const struct vdvs_backend` of operations over the typed structs below,
 * registered by name in src/backend.c and chosen with `--backend NAME`.  The
 * core never knows which backend it runs on.
 *
 * Versioning (the nbdkit model): the struct starts with its own size and the
 * API version it was compiled against.  Fields are append-only; the loader
 * copies min(sizeof, struct_size) bytes and zero-fills the rest, rejects an
 * unknown api_version and refuses a backend whose mandatory operations
 * (create, remove, attach, detach, list, get) are missing.
 *
 * Error convention (control path): every operation returns 0 on success and
 * a negative value on failure, after filling *err with vdvs_error_set().  The
 * message of that error reaches the Docker user verbatim as the `Err` field,
 * so it must be the exact upstream text where one exists.
 *
 * Threading: operations are called concurrently from many threads, for
 * different volumes and for the same volume (Get during a slow Mount).  The
 * core serializes create/remove/attach/detach of ONE volume within one vdvsd;
 * a backend that shares state with other processes (other VMs, esxsim) must
 * do its own cross-process locking.
 */
#ifndef VDVS_BACKEND_H
#define VDVS_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VDVS_BACKEND_API_VERSION 1

/* Upstream limits (reference §3.2). */
#define VDVS_MAX_VOL_NAME_LEN 100
#define VDVS_MAX_DS_NAME_LEN 100
/* volume + '@' + datastore + NUL */
#define VDVS_FULL_NAME_MAX (VDVS_MAX_VOL_NAME_LEN * 4 + 1 + VDVS_MAX_DS_NAME_LEN * 4 + 1)

/* ------------------------------------------------------------------ */
/* Errors: control-path error objects (crun style).                    */

/* An error: errno-like status plus a malloc'd message meant for the user.
 * Owned by whoever holds the pointer; free with vdvs_error_release(). */
struct vdvs_error
{
  int status;
  char *msg;
};
typedef struct vdvs_error *vdvs_error_t;

/* Fill *err (which must be NULL) with a formatted message and status.
 * Always returns a negative value (-status, or -EIO when status is 0) so
 * that call sites read `return vdvs_error_set (err, EINVAL, "...")`. */
int vdvs_error_set (vdvs_error_t *err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Prefix the existing message with "<context>: ". Returns the same negative
 * value as vdvs_error_set. */
int vdvs_error_wrap (vdvs_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Free the error and set *err to NULL; NULL-safe. */
void vdvs_error_release (vdvs_error_t *err);

/* ------------------------------------------------------------------ */
/* Logging: one key=value line per event, with a level.                */

enum vdvs_log_level
{
  VDVS_LOG_ERROR,
  VDVS_LOG_WARN,
  VDVS_LOG_INFO,
  VDVS_LOG_DEBUG,
};

/* `msg` is a human sentence, `fmt` the key=value part (may be NULL).
 * Example: vdvs_log (VDVS_LOG_INFO, "Volume mounted", "name=%s refcount=%d",
 * name, n). Thread-safe. */
void vdvs_log (enum vdvs_log_level level, const char *msg, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* Volume names: "vol" or "vol@datastore", split at the LAST '@'.     */

struct vdvs_name
{
  char volume[VDVS_MAX_VOL_NAME_LEN * 4 + 1];   /* UTF-8, at most 100 chars */
  char datastore[VDVS_MAX_DS_NAME_LEN * 4 + 1]; /* "" when not given */
};

/* Split and validate `name` with the upstream rules and messages (length in
 * characters, no '/' or '\\', no -NNNNNN suffix; plus: not empty, no control
 * characters).  Datastore existence is the backend's business. */
int vdvs_name_parse (const char *name, struct vdvs_name *out, vdvs_error_t *err);
/* A volume is mounted at <mount root>/<volume>@<datastore>, one file name
 * of at most VDVS_MOUNT_NAME_MAX bytes (NAME_MAX): 0 when `volume` on
 * `datastore` fits, else an error saying so.  `datastore` "": not known
 * yet; the check then assumes a one-byte name. */
#define VDVS_MOUNT_NAME_MAX 255
int vdvs_name_check_mountable (const char *volume, const char *datastore,
                               vdvs_error_t *err);

/* ------------------------------------------------------------------ */
/* Small file-system helpers every program and backend shares.          */

/* mkdir -p: create `path` and its missing parents with `mode`; existing
 * directories are fine.  0 or -errno (-ENAMETOOLONG beyond PATH_MAX,
 * -ENOTDIR when a component is a file). */
int vdvs_mkdir_p (const char *path, mode_t mode);
/* vdvs_mkdir_p of the directory that holds `path` (a socket, a pidfile);
 * nothing to do for a bare name or a file in "/". */
int vdvs_mkdir_parent (const char *path, mode_t mode);

/* ------------------------------------------------------------------ */
/* Typed request/reply structs: exactly what the ESX wire codec encodes. */

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
  char unit[16];       /* SCSI target, "0".."15" except "7" */
  char pci_slot[16];   /* ControllerPciSlotNumber, e.g. "224" */
  char pci_bus[16];    /* ControllerPciBusNumber, e.g. "17.0" */
};

/* The `get` reply (upstream §2.3.6). Every member is a malloc'd string or
 * NULL when the upstream reply omits the key; free with
 * vdvs_volume_info_clear. */
struct vdvs_volume_info
{
  char *created_by;     /* "created by VM" */
  char *created;        /* asctime UTC: "Wed Mar  1 20:06:02 2017" */
  char *status;         /* "attached" | "detached" */
  char *capacity_size;  /* "capacity": {"size": "10GB", */
  char *capacity_allocated; /*           "allocated": "13MB"} */
  char *datastore;      /* real datastore name */
  char *attached_to_vm; /* "attached to VM", NULL when detached */
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

/* ------------------------------------------------------------------ */
/* Progress of long backend work.                                      */

enum vdvs_progress_state
{
  VDVS_PROGRESS_START,  /* first call, done == 0 */
  VDVS_PROGRESS_UPDATE, /* the work advanced */
  VDVS_PROGRESS_DONE,   /* last call on success, done == total */
  VDVS_PROGRESS_FAILED, /* last call on failure */
};

/* One long operation (an eagerzeroedthick zero-fill, the copy of a clone)
 * as a backend reports it.  The backend owns the struct for the whole
 * operation and passes the same pointer to every call: START, UPDATE as
 * often as it likes (the receiver decides what to show), then exactly one
 * DONE or FAILED. */
struct vdvs_progress
{
  enum vdvs_progress_state state;
  const char *op;     /* "create" | "clone" */
  const char *volume; /* "vol@datastore" being made */
  const char *what;   /* "eagerzeroedthick", "copy from src@ds" */
  uint64_t done;      /* bytes, never decreasing */
  uint64_t total;     /* bytes */
  void *user;         /* the receiver's: NULL at START, never touched by
                         the backend, so per-operation state lives here */
};

/* Called from the thread doing the work, for several operations at once:
 * must be thread-safe, quick, and must not call the backend. */
typedef void (*vdvs_progress_fn) (void *opaque, struct vdvs_progress *p);

/* ------------------------------------------------------------------ */
/* The operations.                                                     */

struct vdvs_backend
{
  /* Set by VDVS_BACKEND_INIT; do not set by hand. */
  uint32_t struct_size;
  uint32_t api_version;

  const char *name;        /* registry name, e.g. "mock" */
  const char *description; /* one line for --help */
  /* Help text for the backend's config keys (may be NULL). */
  const char *config_help;

  /* Called once per key=value given with --backend-opt or in the config
   * file's "backend" object, before open.  Unknown key: error. Optional. */
  int (*config) (const char *key, const char *value, vdvs_error_t *err);

  /* Start the backend; returns a handle passed to every other op. Called
   * once, before the plugin socket is served. Optional (handle NULL). */
  int (*open) (void **handle, vdvs_error_t *err);
  /* Stop and free. Optional. */
  void (*close) (void *handle);

  /* Mandatory. `name` is the volume name as Docker gave it. */
  int (*create) (void *handle, const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err);
  int (*remove) (void *handle, const char *name, const struct vdvs_opts *opts,
                 vdvs_error_t *err);
  /* Attach to this VM; idempotent when already attached here. */
  int (*attach) (void *handle, const char *name, struct vdvs_device *dev,
                 vdvs_error_t *err);
  /* Detach from this VM; detaching a detached disk is success. */
  int (*detach) (void *handle, const char *name, vdvs_error_t *err);
  int (*list) (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err);
  /* Not found: the upstream "Volume <vol> not found (file: <path>)" and
   * status ENOENT. */
  int (*get) (void *handle, const char *name, struct vdvs_volume_info *out,
              vdvs_error_t *err);

  /* Optional: clone `source` into `name`. Default: create with the
   * clone-from option set (that is how the wire carries it). */
  int (*clone) (void *handle, const char *name, const char *source,
                const struct vdvs_opts *opts, vdvs_error_t *err);
  /* Optional: default "always up". */
  void (*health) (void *handle, struct vdvs_backend_health *out);
  /* Optional: default /sys and /dev. */
  void (*device_roots) (void *handle, struct vdvs_device_roots *out);
  /* Optional: where to report the progress of long work (create, clone).
   * Called at most once, after open and before any other op.  Default: a
   * backend that reports nothing. */
  void (*set_progress) (void *handle, vdvs_progress_fn fn, void *opaque);
  /* Optional: a version of list's answer: it changes whenever the answer
   * may have changed, counting every change that completed before the
   * call; 0 when not known.  Lets the core reuse its last List reply.
   * Default: 0 (every List asks list). */
  uint64_t (*list_version) (void *handle);
};

#define VDVS_BACKEND_INIT                                  \
  .struct_size = sizeof (struct vdvs_backend),             \
  .api_version = VDVS_BACKEND_API_VERSION

#endif /* VDVS_BACKEND_H */
