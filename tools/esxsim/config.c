/* esxsim's configuration: the options, and the VMs, one per --listen,
 * each with its own mock handle over the one datastore root; and the state
 * the other files share (esxsim.h), kept here so that calls go one way. */
#include "esxsim.h"

#include <stdlib.h>
#include <string.h>

#include "vdvs/backend.h"

#include "mock.h"

struct esxsim sim = { .admin_fd = -1,
                      .vib_version = "esxsim-" VDVS_VERSION,
                      .request_timeout_ms = 10000 };

atomic_bool stopping;
/* Fault injection from the admin socket: delay requests before executing. */
pthread_mutex_t stall_lock = PTHREAD_MUTEX_INITIALIZER;
int64_t stall_ms;       /* protected by stall_lock */
char stall_volume[256]; /* "" = every request; protected by stall_lock */
char stall_cmd[32];     /* "" = every command; protected by stall_lock */

void
usage (FILE *f)
{
  fprintf (f,
           "Usage: esxsim --root DIR [--datastores DS1[,DS2...]]\n"
           "              --listen URL[,vm-name=NAME][,vm-uuid=UUID][,KEY=VALUE...]"
           " ...\n"
           "              [--admin PATH] [--pidfile PATH] [--sysfs-root DIR]"
           " [--dev-root DIR]\n"
           "              [--backend-opt KEY=VALUE ...] [--vib-version V]\n"
           "              [--request-timeout SECONDS] [--allow-nonroot]"
           " [--log-level LEVEL]\n"
           "\n"
           "Serves the ESX service wire protocol (the vmdk_ops.py of vSphere "
           "Docker Volume\nService) over the emulated datastore of the mock "
           "backend.  URL is\nunix:///path, tcp://127.0.0.1:PORT or "
           "vsock://CID:PORT; each --listen is one VM.\nKEY=VALUE are mock "
           "backend options (root, datastores, sysfs-root, dev-root,\n"
           "vmdkfs, ...), per VM after the URL or for all VMs with "
           "--backend-opt.\n");
}

int
add_kv (struct kv *arr, int *n, const char *key, size_t klen,
        const char *value)
{
  if (*n >= MAX_OPTS)
    {
      fprintf (stderr, "esxsim: too many options\n");
      return -1;
    }
  arr[*n].key = strndup (key, klen);
  arr[*n].value = strdup (value);
  if (arr[*n].key == NULL || arr[*n].value == NULL)
    abort ();
  (*n)++;
  return 0;
}

int
add_kv_arg (struct kv *arr, int *n, const char *arg)
{
  const char *eq = strchr (arg, '=');

  if (eq == NULL || eq == arg)
    {
      fprintf (stderr, "esxsim: expected KEY=VALUE, got '%s'\n", arg);
      return -1;
    }
  return add_kv (arr, n, arg, (size_t) (eq - arg), eq + 1);
}

/* --listen URL[,k=v...] */
int
add_listener (const char *arg)
{
  struct listener *l;
  vdvs_error_t err = NULL;
  char *copy, *tok, *save = NULL;
  int r = 0;

  if (sim.nlisteners >= MAX_LISTENERS)
    {
      fprintf (stderr, "esxsim: at most %d listeners\n", MAX_LISTENERS);
      return -1;
    }
  l = &sim.listeners[sim.nlisteners];
  l->fd = -1;
  copy = strdup (arg);
  if (copy == NULL)
    abort ();
  tok = strtok_r (copy, ",", &save);
  if (tok == NULL || strlen (tok) >= sizeof l->url)
    {
      fprintf (stderr, "esxsim: bad --listen '%s'\n", arg);
      free (copy);
      return -1;
    }
  strcpy (l->url, tok);
  if (esx_addr_parse (l->url, &l->addr, &err) < 0)
    {
      fprintf (stderr, "esxsim: %s\n", err->msg);
      vdvs_error_release (&err);
      free (copy);
      return -1;
    }
  while (r == 0 && (tok = strtok_r (NULL, ",", &save)) != NULL)
    r = add_kv_arg (l->opts, &l->nopts, tok);
  free (copy);
  if (r == 0)
    sim.nlisteners++;
  return r;
}

static const char *
find_kv (const struct kv *arr, int n, const char *key)
{
  const char *v = NULL;
  for (int i = 0; i < n; i++)
    if (strcmp (arr[i].key, key) == 0)
      v = arr[i].value;
  return v;
}

/* A stable UUID for a VM given only a name, so that restarts of esxsim
 * keep the identity (the sidecars record it). */
static void
uuid_from_name (const char *name, char *out, size_t size)
{
  uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull * 31;

  for (const unsigned char *p = (const unsigned char *) name; *p; p++)
    {
      h1 = (h1 ^ *p) * 1099511628211ull;
      h2 = (h2 ^ *p) * 1469598103934665603ull + 7;
    }
  snprintf (out, size, "%08x-%04x-%04x-%04x-%012llx", (unsigned) (h1 >> 32),
            (unsigned) (h1 >> 16) & 0xffff, (unsigned) h1 & 0xffff,
            (unsigned) (h2 >> 48),
            (unsigned long long) h2 & 0xffffffffffffull);
}

static int
mock_config_all (const struct kv *arr, int n, vdvs_error_t *err)
{
  for (int i = 0; i < n; i++)
    if (vdvs_backend_mock.config (arr[i].key, arr[i].value, err) < 0)
      return -1;
  return 0;
}

/* Configure the mock for listener l and open its handle.  The mock copies
 * its config at open, so the shared options are replayed before each
 * VM's own. */
int
open_vm (struct listener *l, int index, vdvs_error_t *err)
{
  const char *name = find_kv (l->opts, l->nopts, "vm-name");
  const char *uuid = find_kv (l->opts, l->nopts, "vm-uuid");

  if (name != NULL)
    snprintf (l->vm_name, sizeof l->vm_name, "%s", name);
  else
    snprintf (l->vm_name, sizeof l->vm_name, "vm%d", index + 1);
  if (uuid != NULL)
    snprintf (l->vm_uuid, sizeof l->vm_uuid, "%s", uuid);
  else
    uuid_from_name (l->vm_name, l->vm_uuid, sizeof l->vm_uuid);

  if (mock_config_all (sim.opts, sim.nopts, err) < 0
      || vdvs_backend_mock.config ("vm-name", l->vm_name, err) < 0
      || vdvs_backend_mock.config ("vm-uuid", l->vm_uuid, err) < 0
      || mock_config_all (l->opts, l->nopts, err) < 0)
    return -1;
  if (vdvs_backend_mock.open (&l->handle, err) < 0)
    return -1;
  /* The ESX side does the long work, so its log shows the progress. */
  vdvs_backend_mock.set_progress (l->handle, vdvs_progress_log, NULL);
  return 0;
}

struct listener *
find_vm (const char *id)
{
  for (int i = 0; i < sim.nlisteners; i++)
    if (strcmp (sim.listeners[i].vm_name, id) == 0
        || strcmp (sim.listeners[i].vm_uuid, id) == 0)
      return &sim.listeners[i];
  return NULL;
}
