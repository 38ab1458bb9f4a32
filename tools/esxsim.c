/* esxsim: the ESX service (vmdk_ops.py) wire protocol served over the
 * emulated datastore of backends/mock.
 *
 *   esxsim --root DIR --datastores datastore1[,ds2]
 *          --listen unix:///run/vdvs/esx-vm1.sock,vm-name=vm1,vm-uuid=U1
 *          --listen tcp://127.0.0.1:1019,vm-name=vm2,vm-uuid=U2
 *          [--admin /run/vdvs/esxsim.ctl] [--pidfile FILE]
 *
 * Each listener is one VM: the upstream service learns the caller's VM
 * from the vSocket peer; we learn it from the socket the request came in
 * on.  Each listener gets its own mock handle (the mock copies its config
 * at open), all over one datastore root, so two listeners behave like two
 * VMs on one host.
 *
 * Server rules as upstream (reference §1.2-§1.6): one frame per
 * connection, 4096-byte request limit and bad frames closed without a
 * reply, the privileged source port rule (tcp, vsock) or root peer (unix),
 * one thread per request, replies in Python json.dumps form, then close.
 * Unlike upstream we never give up after repeated bad connections: a
 * misbehaving client must not take the service down for the others.
 * Per-volume locking is the mock's (cross-process file locks).
 *
 * The admin socket takes one command per line and answers one line:
 *   ping                 -> ok pong
 *   vms                  -> ok <name> <uuid> <url>[; ...]
 *   power-off VM         -> ok detached=N   (VM = name or uuid)
 *   stall SECONDS [VOL [CMD]]  -> ok   (delay every request, or those
 *                                 naming VOL ("*": any), or only its
 *                                 command CMD; 0 turns it off)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>

#include "vdvs/backend.h"
#include "vdvs/fsutil.h"
#include "vdvs/log.h"
#include "vdvs/name.h"

#include "codec.h"
#include "mock.h"
#include "transport.h"
#include "wire.h"

#define MAX_LISTENERS 16
#define MAX_OPTS 32
/* Upstream WAIT_OPS_TIMEOUT: how long shutdown waits for requests. */
#define WAIT_OPS_SECONDS 20

struct kv
{
  char *key;
  char *value;
};

struct listener
{
  char url[300];
  struct esx_addr addr;
  struct kv opts[MAX_OPTS]; /* mock config for this VM */
  int nopts;
  char vm_name[256];
  char vm_uuid[64];
  void *handle; /* the mock handle acting for this VM */
  int fd;
};

static struct
{
  struct listener listeners[MAX_LISTENERS];
  int nlisteners;
  struct kv opts[MAX_OPTS]; /* mock config for every VM */
  int nopts;
  char admin_path[sizeof ((struct sockaddr_un *) 0)->sun_path];
  int admin_fd;
  const char *pidfile;
  const char *vib_version;
  int64_t request_timeout_ms;
  bool allow_nonroot;
} sim = { .admin_fd = -1,
          .vib_version = "esxsim-" VDVS_VERSION,
          .request_timeout_ms = 10000 };

static atomic_bool stopping;
/* Fault injection from the admin socket: delay requests before executing. */
static pthread_mutex_t stall_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t stall_ms;       /* protected by stall_lock */
static char stall_volume[256]; /* "" = every request; protected by stall_lock */
static char stall_cmd[32];     /* "" = every command; protected by stall_lock */
static int signal_pipe[2] = { -1, -1 };

/* In-flight requests, for a graceful stop. */
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ops_cond = PTHREAD_COND_INITIALIZER;
static int ops_in_flight; /* protected by ops_lock */

static void
ops_enter (void)
{
  pthread_mutex_lock (&ops_lock);
  ops_in_flight++;
  pthread_mutex_unlock (&ops_lock);
}

static void
ops_leave (void)
{
  pthread_mutex_lock (&ops_lock);
  if (--ops_in_flight == 0)
    pthread_cond_broadcast (&ops_cond);
  pthread_mutex_unlock (&ops_lock);
}

static void
on_signal (int sig)
{
  char c = (char) sig;
  ssize_t r = write (signal_pipe[1], &c, 1);
  (void) r;
}

static void
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

static int
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

static int
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
static int
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
            (unsigned) (h2 >> 48), (unsigned long long) h2 & 0xffffffffffffull);
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
static int
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

/* ---- one request ----------------------------------------------------- */

struct conn
{
  int fd;
  struct listener *l; /* NULL for the admin socket */
};

/* The privileged-caller rule: on ports, the peer must use a port below
 * 1024 (only root can bind one); on unix sockets, the peer must be root. */
static bool
peer_allowed (const struct conn *c)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;

  if (c->l->addr.transport == ESX_TRANSPORT_UNIX)
    {
      struct ucred cred;
      socklen_t clen = sizeof cred;

      if (sim.allow_nonroot)
        return true;
      if (getsockopt (c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
        return false;
      if (cred.uid != 0)
        {
          vdvs_log (VDVS_LOG_WARN, "Connection from non root",
                    "uid=%u pid=%d vm=%s", (unsigned) cred.uid,
                    (int) cred.pid, c->l->vm_name);
          return false;
        }
      return true;
    }
  if (getpeername (c->fd, (struct sockaddr *) &ss, &len) < 0)
    return false;
  if (ss.ss_family == AF_INET)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) &ss;
      unsigned port = ntohs (in->sin_port);
      char ip[INET_ADDRSTRLEN];

      if (port >= ESX_START_NON_PRIVILEGED_PORT)
        {
          inet_ntop (AF_INET, &in->sin_addr, ip, sizeof ip);
          vdvs_log (VDVS_LOG_WARN, "Connection from non root",
                    "port=%u addr=%s vm=%s", port, ip, c->l->vm_name);
          return false;
        }
      return true;
    }
  if (ss.ss_family == AF_VSOCK)
    {
      struct sockaddr_vm *vm = (struct sockaddr_vm *) &ss;

      if (vm->svm_port >= ESX_START_NON_PRIVILEGED_PORT)
        {
          vdvs_log (VDVS_LOG_WARN, "Connection from non root",
                    "port=%u cid=%u vm=%s", vm->svm_port, vm->svm_cid,
                    c->l->vm_name);
          return false;
        }
      return true;
    }
  return false;
}

static char *
error_reply (vdvs_error_t *err)
{
  char *s = esx_reply_error ((*err)->msg);
  vdvs_error_release (err);
  return s;
}

/* The mock's "Volume <vol> not found (file: <path>)". */
static bool
missing_volume (const vdvs_error_t err)
{
  return err->status == ENOENT && strncmp (err->msg, "Volume ", 7) == 0
         && strstr (err->msg, " not found (file: ") != NULL;
}

/* Execute a decoded request for VM l; returns the reply text. */
static char *
execute (struct listener *l, const struct esx_request *req)
{
  const struct vdvs_backend *b = &vdvs_backend_mock;
  vdvs_error_t err = NULL;
  char *reply;

  if (req->version != ESX_SERVER_PROTOCOL_VERSION)
    {
      char *text = esx_version_mismatch_text (req->version,
                                              ESX_SERVER_PROTOCOL_VERSION);
      reply = text ? esx_reply_error (text) : NULL;
      free (text);
      return reply;
    }
  if (strcmp (req->cmd, "version") == 0)
    return esx_reply_version (sim.vib_version);
  if (strcmp (req->cmd, "list") == 0)
    {
      struct vdvs_volume_list list = { 0 };
      if (b->list (l->handle, &list, &err) < 0)
        return error_reply (&err);
      reply = esx_reply_list (&list);
      vdvs_volume_list_clear (&list);
      return reply;
    }
  if (strcmp (req->cmd, "create") == 0)
    return b->create (l->handle, req->name, &req->opts, &err) < 0
               ? error_reply (&err)
               : esx_reply_null ();
  if (strcmp (req->cmd, "remove") == 0)
    {
      /* Upstream deletes without looking first and takes vSphere's
       * FileNotFound as success: removing a missing volume answers null. */
      if (b->remove (l->handle, req->name, &req->opts, &err) == 0
          || missing_volume (err))
        {
          vdvs_error_release (&err);
          return esx_reply_null ();
        }
      return error_reply (&err);
    }
  if (strcmp (req->cmd, "detach") == 0)
    return b->detach (l->handle, req->name, &err) < 0 ? error_reply (&err)
                                                      : esx_reply_null ();
  if (strcmp (req->cmd, "attach") == 0)
    {
      struct vdvs_device dev;
      if (b->attach (l->handle, req->name, &dev, &err) < 0)
        return error_reply (&err);
      return esx_reply_device (&dev);
    }
  if (strcmp (req->cmd, "get") == 0)
    {
      struct vdvs_volume_info info = { 0 };
      if (b->get (l->handle, req->name, &info, &err) < 0)
        {
          /* Upstream answers null when building the info throws, as on a
           * corrupt sidecar. */
          if (strstr (err->msg, " has corrupt metadata") != NULL)
            {
              vdvs_log (VDVS_LOG_WARN, "Failed to get disk details",
                        "vm=%s name=\"%s\" error=\"%s\"", l->vm_name,
                        req->name, err->msg);
              vdvs_error_release (&err);
              return esx_reply_null ();
            }
          return error_reply (&err);
        }
      reply = esx_reply_info (&info);
      vdvs_volume_info_clear (&info);
      return reply;
    }
  /* Upstream validates the volume name before it looks at the command. */
  {
    struct vdvs_name n;
    char *text;

    if (vdvs_name_parse (req->name, &n, &err) < 0)
      return error_reply (&err);
    if (asprintf (&text, "Unknown command:%s", req->cmd) < 0)
      return NULL;
    reply = esx_reply_error (text);
    free (text);
    return reply;
  }
}

static void
sleep_ms (int64_t ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static void
serve_request (struct conn *c)
{
  struct listener *l = c->l;
  struct esx_request req;
  vdvs_error_t err = NULL;
  char *json = NULL, *reply;
  size_t len;
  int64_t t0 = esx_now_ms (), stall;

  if (!peer_allowed (c))
    return;
  if (esx_wire_recv (c->fd, ESX_WIRE_SERVER_MAX, &json, &len,
                     esx_deadline_in (sim.request_timeout_ms), &err)
      < 0)
    {
      /* Upstream closes without a reply: the client cannot even be trusted
       * to be waiting for one. */
      vdvs_log (VDVS_LOG_WARN, "Bad request frame, closed without reply",
                "vm=%s error=\"%s\"", l->vm_name, err->msg);
      vdvs_error_release (&err);
      return;
    }
  /* As upstream, a stopping service declines a request before it even
   * parses it. */
  if (atomic_load (&stopping))
    reply = esx_reply_error ("Service is being stopped: operation declined!");
  else if (esx_request_decode (json, len, &req, &err) < 0)
    {
      reply = error_reply (&err);
      vdvs_log (VDVS_LOG_INFO, "Request rejected", "vm=%s reply=%s",
                l->vm_name, reply ? reply : "?");
    }
  else
    {
      pthread_mutex_lock (&stall_lock);
      stall = (stall_volume[0] == '\0' || strcmp (stall_volume, req.name) == 0)
                      && (stall_cmd[0] == '\0'
                          || strcmp (stall_cmd, req.cmd) == 0)
                  ? stall_ms
                  : 0;
      pthread_mutex_unlock (&stall_lock);
      if (stall > 0)
        {
          vdvs_log (VDVS_LOG_INFO, "Request stalled",
                    "vm=%s cmd=%s name=\"%s\" ms=%lld", l->vm_name, req.cmd,
                    req.name, (long long) stall);
          sleep_ms (stall);
        }
      reply = execute (l, &req);
      vdvs_log (VDVS_LOG_INFO, "Request", "vm=%s cmd=%s name=\"%s\" ms=%lld "
                                          "reply=%s",
                l->vm_name, req.cmd, req.name,
                (long long) (esx_now_ms () - t0), reply ? reply : "?");
      esx_request_clear (&req);
    }
  free (json);
  if (reply == NULL)
    reply = esx_reply_error ("Server returned an error: MemoryError()");
  if (reply != NULL
      && esx_wire_send (c->fd, reply, esx_deadline_in (sim.request_timeout_ms),
                        &err)
             < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Reply not sent", "vm=%s error=\"%s\"",
                l->vm_name, err->msg);
      vdvs_error_release (&err);
    }
  free (reply);
}

/* ---- admin ------------------------------------------------------------ */

static struct listener *
find_vm (const char *id)
{
  for (int i = 0; i < sim.nlisteners; i++)
    if (strcmp (sim.listeners[i].vm_name, id) == 0
        || strcmp (sim.listeners[i].vm_uuid, id) == 0)
      return &sim.listeners[i];
  return NULL;
}

static void
admin_reply (int fd, const char *fmt, ...)
{
  char line[4096];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (line, sizeof line - 1, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t) n > sizeof line - 2)
    n = sizeof line - 2;
  line[n++] = '\n';
  esx_wire_write_all (fd, line, (size_t) n, esx_deadline_in (5000), NULL);
}

static void
serve_admin (int fd)
{
  char line[1024];
  size_t n = 0;

  /* One command per connection; read up to the newline or EOF. */
  while (n < sizeof line - 1)
    {
      ssize_t r = read (fd, line + n, 1);
      if (r <= 0 || line[n] == '\n')
        break;
      n++;
    }
  line[n] = '\0';
  if (n > 0 && line[n - 1] == '\r')
    line[--n] = '\0';

  if (strcmp (line, "ping") == 0)
    admin_reply (fd, "ok pong");
  else if (strcmp (line, "vms") == 0)
    {
      char out[3000] = "ok";
      for (int i = 0; i < sim.nlisteners; i++)
        {
          size_t k = strlen (out);
          snprintf (out + k, sizeof out - k, "%s %s %s %s",
                    i ? ";" : "", sim.listeners[i].vm_name,
                    sim.listeners[i].vm_uuid, sim.listeners[i].url);
        }
      admin_reply (fd, "%s", out);
    }
  else if (strncmp (line, "power-off ", 10) == 0)
    {
      struct listener *l = find_vm (line + 10);
      vdvs_error_t err = NULL;
      int r;

      if (l == NULL)
        {
          admin_reply (fd, "error unknown VM '%s'", line + 10);
          return;
        }
      r = vdvs_mock_power_off (l->handle, &err);
      if (r < 0)
        {
          admin_reply (fd, "error %s", err->msg);
          vdvs_error_release (&err);
          return;
        }
      vdvs_log (VDVS_LOG_INFO, "VM powered off by admin", "vm=%s detached=%d",
                l->vm_name, r);
      admin_reply (fd, "ok detached=%d", r);
    }
  else if (strncmp (line, "stall ", 6) == 0)
    {
      char *end, *vol, *cmd;
      double sec = strtod (line + 6, &end);
      size_t vlen;

      vol = end + strspn (end, " ");
      vlen = strcspn (vol, " ");
      cmd = vol + vlen + strspn (vol + vlen, " ");
      if (end == line + 6 || (*end != '\0' && *end != ' ') || sec < 0
          || sec > 86400 || vlen >= sizeof stall_volume
          || strlen (cmd) >= sizeof stall_cmd || strchr (cmd, ' ') != NULL)
        {
          admin_reply (fd, "error usage: stall SECONDS [VOLUME [COMMAND]]");
          return;
        }
      vol[vlen] = '\0';
      if (strcmp (vol, "*") == 0)
        vol[0] = '\0';
      pthread_mutex_lock (&stall_lock);
      stall_ms = (int64_t) (sec * 1000);
      strcpy (stall_volume, vol);
      strcpy (stall_cmd, cmd);
      pthread_mutex_unlock (&stall_lock);
      vdvs_log (VDVS_LOG_INFO, "Request stall set",
                "seconds=%g volume=%s command=%s", sec, vol[0] ? vol : "*",
                cmd[0] ? cmd : "*");
      admin_reply (fd, "ok");
    }
  else
    admin_reply (fd, "error unknown command '%s' (ping, vms, power-off VM, "
                     "stall SECONDS [VOLUME [COMMAND]])",
                 line);
}

static void *
conn_thread (void *arg)
{
  struct conn *c = arg;

  if (c->l != NULL)
    serve_request (c);
  else
    serve_admin (c->fd);
  close (c->fd);
  free (c);
  ops_leave ();
  return NULL;
}

static void
spawn (int fd, struct listener *l)
{
  struct conn *c = malloc (sizeof *c);
  pthread_attr_t attr;
  pthread_t t;

  if (c == NULL)
    {
      close (fd);
      return;
    }
  c->fd = fd;
  c->l = l;
  ops_enter ();
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create (&t, &attr, conn_thread, c) != 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Cannot start a request thread", NULL);
      close (fd);
      free (c);
      ops_leave ();
    }
  pthread_attr_destroy (&attr);
}

/* ---- main ------------------------------------------------------------- */

static int
admin_listen (vdvs_error_t *err)
{
  struct esx_addr a = { .transport = ESX_TRANSPORT_UNIX };

  if (strlen (sim.admin_path) >= sizeof a.path)
    return vdvs_error_set (err, ENAMETOOLONG, "admin path too long");
  strcpy (a.path, sim.admin_path);
  vdvs_mkdir_parent (a.path, 0755);
  return esx_listen (&a, err);
}

/* True when every request has finished. */
static bool
wait_for_requests (void)
{
  bool done;
  struct timespec deadline;
  int r = 0;

  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += WAIT_OPS_SECONDS;
  pthread_mutex_lock (&ops_lock);
  while (ops_in_flight > 0 && r != ETIMEDOUT)
    r = pthread_cond_timedwait (&ops_cond, &ops_lock, &deadline);
  if (ops_in_flight > 0)
    vdvs_log (VDVS_LOG_WARN, "Requests still running at exit", "count=%d",
              ops_in_flight);
  done = ops_in_flight == 0;
  pthread_mutex_unlock (&ops_lock);
  return done;
}

int
main (int argc, char **argv)
{
  enum
  {
    OPT_ROOT = 256,
    OPT_DATASTORES,
    OPT_LISTEN,
    OPT_ADMIN,
    OPT_PIDFILE,
    OPT_SYSFS,
    OPT_DEV,
    OPT_BACKEND_OPT,
    OPT_VIB,
    OPT_TIMEOUT,
    OPT_NONROOT,
    OPT_LOG,
  };
  static const struct option longopts[] = {
    { "root", required_argument, NULL, OPT_ROOT },
    { "datastores", required_argument, NULL, OPT_DATASTORES },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "admin", required_argument, NULL, OPT_ADMIN },
    { "pidfile", required_argument, NULL, OPT_PIDFILE },
    { "sysfs-root", required_argument, NULL, OPT_SYSFS },
    { "dev-root", required_argument, NULL, OPT_DEV },
    { "backend-opt", required_argument, NULL, OPT_BACKEND_OPT },
    { "vib-version", required_argument, NULL, OPT_VIB },
    { "request-timeout", required_argument, NULL, OPT_TIMEOUT },
    { "allow-nonroot", no_argument, NULL, OPT_NONROOT },
    { "log-level", required_argument, NULL, OPT_LOG },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  enum vdvs_log_level level = VDVS_LOG_INFO;
  struct pollfd pfds[MAX_LISTENERS + 2];
  vdvs_error_t err = NULL;
  struct sigaction sa;
  int opt, status = 1, nfds;
  bool idle = false;

  while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1)
    {
      int r = 0;
      switch (opt)
        {
        case OPT_ROOT:
          r = add_kv (sim.opts, &sim.nopts, "root", 4, optarg);
          break;
        case OPT_DATASTORES:
          r = add_kv (sim.opts, &sim.nopts, "datastores", 10, optarg);
          break;
        case OPT_SYSFS:
          r = add_kv (sim.opts, &sim.nopts, "sysfs-root", 10, optarg);
          break;
        case OPT_DEV:
          r = add_kv (sim.opts, &sim.nopts, "dev-root", 8, optarg);
          break;
        case OPT_BACKEND_OPT:
          r = add_kv_arg (sim.opts, &sim.nopts, optarg);
          break;
        case OPT_LISTEN:
          r = add_listener (optarg);
          break;
        case OPT_ADMIN:
          if (strlen (optarg) >= sizeof sim.admin_path)
            {
              fprintf (stderr, "esxsim: --admin path too long\n");
              return 2;
            }
          strcpy (sim.admin_path, optarg);
          break;
        case OPT_PIDFILE:
          sim.pidfile = optarg;
          break;
        case OPT_VIB:
          sim.vib_version = optarg;
          break;
        case OPT_TIMEOUT:
          {
            char *end;
            double s = strtod (optarg, &end);
            if (end == optarg || *end != '\0' || s <= 0)
              {
                fprintf (stderr, "esxsim: bad --request-timeout '%s'\n",
                         optarg);
                return 2;
              }
            sim.request_timeout_ms = (int64_t) (s * 1000);
          }
          break;
        case OPT_NONROOT:
          sim.allow_nonroot = true;
          break;
        case OPT_LOG:
          if (vdvs_log_level_parse (optarg, &level) < 0)
            {
              fprintf (stderr, "esxsim: bad --log-level '%s'\n", optarg);
              return 2;
            }
          break;
        case 'h':
          usage (stdout);
          return 0;
        default:
          usage (stderr);
          return 2;
        }
      if (r < 0)
        return 2;
    }
  if (optind != argc || sim.nlisteners == 0)
    {
      if (sim.nlisteners == 0)
        fprintf (stderr, "esxsim: at least one --listen is needed\n");
      usage (stderr);
      return 2;
    }
  vdvs_log_setup (level, -1);

  if (pipe2 (signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      perror ("esxsim: pipe");
      return 1;
    }
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, NULL);

  for (int i = 0; i < sim.nlisteners; i++)
    {
      struct listener *l = &sim.listeners[i];

      if (open_vm (l, i, &err) < 0)
        {
          fprintf (stderr, "esxsim: VM for %s: %s\n", l->url, err->msg);
          goto out;
        }
      for (int j = 0; j < i; j++)
        if (strcmp (sim.listeners[j].vm_uuid, l->vm_uuid) == 0)
          {
            fprintf (stderr, "esxsim: %s and %s have the same VM uuid %s; "
                             "one identity per listener\n",
                     sim.listeners[j].url, l->url, l->vm_uuid);
            goto out;
          }
      if (l->addr.transport == ESX_TRANSPORT_UNIX)
        vdvs_mkdir_parent (l->addr.path, 0755);
      l->fd = esx_listen (&l->addr, &err);
      if (l->fd < 0)
        {
          fprintf (stderr, "esxsim: %s\n", err->msg);
          goto out;
        }
      vdvs_log (VDVS_LOG_INFO, "Listening", "url=%s vm=%s vm_uuid=%s",
                l->url, l->vm_name, l->vm_uuid);
    }
  if (sim.admin_path[0] != '\0')
    {
      sim.admin_fd = admin_listen (&err);
      if (sim.admin_fd < 0)
        {
          fprintf (stderr, "esxsim: admin socket: %s\n", err->msg);
          goto out;
        }
    }
  if (sim.pidfile != NULL)
    {
      FILE *f = fopen (sim.pidfile, "we");
      if (f == NULL || fprintf (f, "%d\n", (int) getpid ()) < 0
          || fclose (f) != 0)
        {
          fprintf (stderr, "esxsim: cannot write %s: %s\n", sim.pidfile,
                   strerror (errno));
          goto out;
        }
    }
  vdvs_log (VDVS_LOG_INFO, "esxsim ready", "vms=%d admin=%s pid=%d",
            sim.nlisteners, sim.admin_path[0] ? sim.admin_path : "none",
            (int) getpid ());

  nfds = 0;
  for (int i = 0; i < sim.nlisteners; i++)
    pfds[nfds++] = (struct pollfd){ .fd = sim.listeners[i].fd,
                                    .events = POLLIN };
  pfds[nfds++] = (struct pollfd){ .fd = sim.admin_fd, .events = POLLIN };
  pfds[nfds++] = (struct pollfd){ .fd = signal_pipe[0], .events = POLLIN };
  while (!atomic_load (&stopping))
    {
      if (poll (pfds, (nfds_t) nfds, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("esxsim: poll");
          goto out;
        }
      if (pfds[nfds - 1].revents)
        {
          atomic_store (&stopping, true);
          break;
        }
      for (int i = 0; i < nfds - 1; i++)
        {
          int fd;

          if (!(pfds[i].revents & POLLIN))
            continue;
          fd = accept4 (pfds[i].fd, NULL, NULL, SOCK_CLOEXEC);
          if (fd < 0)
            continue;
          spawn (fd, i < sim.nlisteners ? &sim.listeners[i] : NULL);
        }
    }
  vdvs_log (VDVS_LOG_INFO, "esxsim stopping", "in_flight_wait_s=%d",
            WAIT_OPS_SECONDS);
  idle = wait_for_requests ();
  status = 0;

out:
  vdvs_error_release (&err);
  for (int i = 0; i < sim.nlisteners; i++)
    {
      struct listener *l = &sim.listeners[i];
      if (l->fd >= 0)
        {
          close (l->fd);
          if (l->addr.transport == ESX_TRANSPORT_UNIX)
            unlink (l->addr.path);
        }
      if (l->handle != NULL && idle)
        vdvs_backend_mock.close (l->handle);
    }
  if (sim.admin_fd >= 0)
    {
      close (sim.admin_fd);
      unlink (sim.admin_path);
    }
  if (sim.pidfile != NULL && status == 0)
    unlink (sim.pidfile);
  return status;
}
