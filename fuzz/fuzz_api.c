/* libFuzzer harness: the Docker plugin API request handling
 * (vdvs_api_handle: endpoint dispatch, JSON body parsing and validation,
 * the volume layer and the mock backend's name/option/path handling).
 *
 * Input: byte 0 picks the endpoint from a dictionary (or, for the last
 * values, the path is the bytes up to the first '\n'); the rest is the
 * request body, handed over in an exact-size buffer so ASan sees any read
 * past its length.
 *
 * The core runs on the real mock backend over a private root, vmdkfs=off,
 * no Docker socket, with three operations replaced so that nothing leaves
 * the temp directory: attach always fails (no loop device, no mkfs, no
 * mount: Create of a valid name is created, fails its attach and is rolled
 * back; Mount fails after the name, the refcount path and the mount point
 * checks), detach is a no-op, and thick disk formats are created thin (no
 * fallocate of a fuzzed size).  Volumes the input created or removed are
 * put back to the seed set after each input, so every input starts from
 * the same datastore.
 *
 * Properties: every answer is a JSON object; every answer but Activate's
 * carries a string "Err". */
#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/stat.h>

#include "api.h"
#include "backend_i.h"
#include "config.h"
#include "fuzz_common.h"
#include "volumes.h"

static const char *const endpoints[] = {
  "/VolumeDriver.Create",  "/VolumeDriver.Remove",       "/VolumeDriver.Mount",
  "/VolumeDriver.Unmount", "/VolumeDriver.Path",         "/VolumeDriver.Get",
  "/VolumeDriver.List",    "/VolumeDriver.Capabilities", "/Plugin.Activate",
  "/VolumeDriver.",        "/VolumeDriver.Foo",          "/",
};
#define N_ENDPOINTS (sizeof endpoints / sizeof endpoints[0])

static struct vdvs_config cfg;
static struct vdvs_bk bk;
static struct vdvs_backend real; /* the mock's own operations */
static bool dirty;               /* the datastore left the seed state */
static char top[4096];

/* The seed volumes every input starts with. */
static const struct
{
  const char *name, *full;
  const char *opts[4][2];
} seeds[] = {
  { "vol1", "vol1@datastore1", { { "size", "1mb" } } },
  { "vol2@ds2",
    "vol2@ds2",
    { { "size", "2mb" }, { "access", "read-only" }, { "fstype", "ext4" } } },
  { ".dot", ".dot@datastore1", { { "size", "1mb" } } },
  { "\xc3\xbcml\xc3\xa4ut@DS2",
    "\xc3\xbcml\xc3\xa4ut@ds2",
    { { "size", "1mb" } } },
};
#define N_SEEDS (sizeof seeds / sizeof seeds[0])

static int
fuzz_create (void *h, const char *name, const struct vdvs_opts *opts,
             vdvs_error_t *err)
{
  struct vdvs_opts o = { 0 };
  const char *fmt = vdvs_opts_get (opts, "diskformat");
  int r = 0;

  for (size_t i = 0; i < opts->n && r == 0; i++)
    r = vdvs_opts_set (&o, opts->v[i].key, opts->v[i].value);
  /* Valid thick formats become thin: a fuzzed size must not be written
   * or fallocated.  Invalid values stay, for validation. */
  if (r == 0 && fmt != NULL
      && (strcmp (fmt, "zeroedthick") == 0
          || strcmp (fmt, "eagerzeroedthick") == 0))
    r = vdvs_opts_set (&o, "diskformat", "thin");
  if (r < 0)
    {
      vdvs_opts_clear (&o);
      return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  r = real.create (h, name, &o, err);
  vdvs_opts_clear (&o);
  if (r == 0)
    dirty = true;
  return r;
}

static int
fuzz_remove (void *h, const char *name, const struct vdvs_opts *opts,
             vdvs_error_t *err)
{
  int r = real.remove (h, name, opts, err);
  if (r == 0)
    dirty = true;
  return r;
}

static int
fuzz_attach (void *h, const char *name, struct vdvs_device *dev,
             vdvs_error_t *err)
{
  (void) h;
  (void) name;
  (void) dev;
  return vdvs_error_set (err, EIO, "fuzz: attach disabled");
}

static int
fuzz_detach (void *h, const char *name, vdvs_error_t *err)
{
  (void) h;
  (void) name;
  (void) err;
  return 0;
}

static bool
is_seed (const char *full)
{
  for (size_t i = 0; i < N_SEEDS; i++)
    if (strcmp (full, seeds[i].full) == 0)
      return true;
  return false;
}

/* Back to the seed volumes: remove what inputs created, recreate what
 * they removed. */
static void
reset_datastore (void)
{
  struct vdvs_volume_list l = { 0 };
  vdvs_error_t err = NULL;

  if (real.list (bk.handle, &l, &err) < 0)
    {
      fprintf (stderr, "fuzz_api: list: %s\n", err->msg);
      abort ();
    }
  for (size_t i = 0; i < l.n; i++)
    if (!is_seed (l.names[i]))
      {
        struct vdvs_opts none = { 0 };
        if (real.remove (bk.handle, l.names[i], &none, &err) < 0)
          {
            fprintf (stderr, "fuzz_api: reset remove %s: %s\n", l.names[i],
                     err->msg);
            abort ();
          }
      }
  vdvs_volume_list_clear (&l);
  for (size_t i = 0; i < N_SEEDS; i++)
    {
      struct vdvs_opts o = { 0 };
      for (size_t k = 0; k < 4 && seeds[i].opts[k][0]; k++)
        vdvs_opts_set (&o, seeds[i].opts[k][0], seeds[i].opts[k][1]);
      if (real.create (bk.handle, seeds[i].name, &o, &err) < 0)
        {
          if (strstr (err->msg, "already exists") == NULL)
            {
              fprintf (stderr, "fuzz_api: seed %s: %s\n", seeds[i].name,
                       err->msg);
              abort ();
            }
          vdvs_error_release (&err);
        }
      vdvs_opts_clear (&o);
    }
  dirty = false;
}

static void
at_exit (void)
{
  fuzz_rm_rf (top);
}

static void
set (char *dst, size_t len, const char *a, const char *b)
{
  snprintf (dst, len, "%s%s", a, b);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char root[4096 + 16], buf[4096 + 64];
  vdvs_error_t err = NULL;

  (void) argc;
  (void) argv;
  fuzz_quiet ();
  fuzz_tmpdir (top, sizeof top, "api");
  atexit (at_exit);

  snprintf (cfg.driver, sizeof cfg.driver, "vsphere");
  set (cfg.mount_root, sizeof cfg.mount_root, top, "/mnt");
  set (cfg.state_dir, sizeof cfg.state_dir, top, "/state");
  set (cfg.socket_path, sizeof cfg.socket_path, top, "/vsphere.sock");
  snprintf (cfg.backend, sizeof cfg.backend, "mock");
  cfg.docker_socket[0] = '\0';
  cfg.log_level = VDVS_LOG_ERROR;
  cfg.device_timeout_ms = 100;
  cfg.max_connections = 16;

  snprintf (root, sizeof root, "%s/root", top);
  struct
  {
    const char *k;
    char v[sizeof buf];
  } kv[] = {
    { "root", "" },
    { "datastores", "datastore1,ds2,Ds3" },
    { "vm-name", "fuzzvm" },
    { "vm-uuid", "42000000-0000-0000-0000-0000000000f1" },
    { "sysfs-root", "" },
    { "dev-root", "" },
    { "vmdkfs", "off" },
    { "vmdkfs-mount", "" },
    { "vmdkfs-ctl", "" },
  };
  snprintf (kv[0].v, sizeof kv[0].v, "%s", root);
  snprintf (kv[4].v, sizeof kv[4].v, "%s/sys", top);
  snprintf (kv[5].v, sizeof kv[5].v, "%s/dev", top);
  snprintf (kv[7].v, sizeof kv[7].v, "%s/vmfs", top);
  snprintf (kv[8].v, sizeof kv[8].v, "%s/vmdkfs.ctl", top);

  if (vdvs_bk_load (&bk, "mock", &err) < 0)
    goto fail;
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (vdvs_bk_config (&bk, kv[i].k, kv[i].v, &err) < 0)
      goto fail;
  if (vdvs_bk_open (&bk, &err) < 0)
    goto fail;
  real = bk.ops;
  bk.ops.create = fuzz_create;
  bk.ops.remove = fuzz_remove;
  bk.ops.attach = fuzz_attach;
  bk.ops.detach = fuzz_detach;
  bk.ops.clone = NULL; /* the default: create with clone-from */
  if (vdvs_volumes_init (&cfg, &bk, &err) < 0)
    goto fail;
  reset_datastore ();
  return 0;

fail:
  fprintf (stderr, "fuzz_api: set-up failed: %s\n", err ? err->msg : "?");
  abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *path, *body, *out;
  size_t blen;
  cJSON *j;

  if (size < 1)
    return 0;
  if (data[0] < N_ENDPOINTS * 16)
    {
      path = strdup (endpoints[data[0] % N_ENDPOINTS]);
      body = fuzz_memdup (data + 1, size - 1);
      blen = size - 1;
    }
  else
    {
      const uint8_t *nl = memchr (data + 1, '\n', size - 1);
      size_t plen = nl ? (size_t) (nl - data - 1) : size - 1;
      path = fuzz_strndup (data + 1, plen);
      blen = nl ? size - 1 - plen - 1 : 0;
      body = fuzz_memdup (nl ? nl + 1 : data + size, blen);
    }
  if (path == NULL)
    abort ();

  out = vdvs_api_handle (path, body, blen);
  FUZZ_CHECK (out != NULL);
  j = cJSON_Parse (out);
  FUZZ_CHECK (cJSON_IsObject (j));
  if (strcmp (path, "/Plugin.Activate") != 0)
    FUZZ_CHECK (cJSON_IsString (cJSON_GetObjectItemCaseSensitive (j, "Err")));
  cJSON_Delete (j);
  free (out);
  free (path);
  free (body);
  if (dirty)
    reset_datastore ();
  return 0;
}
