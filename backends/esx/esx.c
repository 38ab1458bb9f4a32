/* The ESX backend: one framed JSON request per connection (reference
 * §1.5).  A change (create, clone, remove, attach, detach) is sent at most
 * once per call and its reply awaited without a time limit; get and list
 * are bounded and retried.  See esx.h for the config keys. */
#include "esx.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/log.h"

#include "codec.h"
#include "transport.h"
#include "wire.h"

#define ESX_FAQ_HINT                                                          \
  " Cannot communicate with ESX, please refer to the FAQ "                    \
  "https://github.com/vmware/vsphere-storage-for-docker/wiki#faq"
/* After a change request went out and its reply did not come back. */
#define ESX_SENT_ONCE_NOTE                                                    \
  "; the request reached the ESX service and was not sent again: check "      \
  "whether it took effect"

struct esx_config
{
  char url[256];
  int64_t timeout_ms;
  int retries;
  int64_t retry_delay_ms;
  int64_t total_timeout_ms;
  bool privileged_port;
  char version[32];
  struct vdvs_device_roots roots;
};

/* Set by .config before .open, from one thread; copied into the handle. */
static struct esx_config config = {
  .url = ESX_DEFAULT_URL,
  .timeout_ms = 120 * 1000,
  .retries = 5,
  .retry_delay_ms = 1000,
  .total_timeout_ms = 180 * 1000,
  .privileged_port = true,
  .version = ESX_PROTOCOL_VERSION,
  .roots = { .sysfs_root = "/sys", .dev_root = "/dev" },
};

struct esx_handle
{
  struct esx_config cfg; /* read-only after open */
  struct esx_addr addr;  /* read-only after open */
  /* The outcome of the last call, for .health. */
  pthread_mutex_t health_lock;
  struct vdvs_backend_health health; /* protected by health_lock */
};

static int
parse_seconds (const char *key, const char *value, int64_t *ms,
               vdvs_error_t *err)
{
  char *end;
  double d;

  errno = 0;
  d = strtod (value, &end);
  if (errno != 0 || end == value || *end != '\0' || !isfinite (d) || d < 0
      || d > 86400.0 * 365)
    return vdvs_error_set (err, EINVAL,
                           "Invalid value '%s' for esx backend option %s: "
                           "expected a number of seconds",
                           value, key);
  *ms = (int64_t) (d * 1000.0 + 0.5);
  return 0;
}

static int
copy_string (char *dst, size_t size, const char *key, const char *value,
             vdvs_error_t *err)
{
  if (strlen (value) >= size)
    return vdvs_error_set (err, ENAMETOOLONG,
                           "Value of esx backend option %s is too long (max "
                           "%zu bytes)",
                           key, size - 1);
  strcpy (dst, value);
  return 0;
}

static int
esx_config (const char *key, const char *value, vdvs_error_t *err)
{
  if (strcmp (key, "esx") == 0)
    {
      struct esx_addr a;
      if (esx_addr_parse (value, &a, err) < 0)
        return -1;
      return copy_string (config.url, sizeof config.url, key, value, err);
    }
  if (strcmp (key, "timeout") == 0)
    {
      int r = parse_seconds (key, value, &config.timeout_ms, err);
      if (r == 0 && config.timeout_ms == 0)
        return vdvs_error_set (err, EINVAL,
                               "esx backend option timeout must be > 0");
      return r;
    }
  if (strcmp (key, "retry-delay") == 0)
    return parse_seconds (key, value, &config.retry_delay_ms, err);
  if (strcmp (key, "total-timeout") == 0)
    return parse_seconds (key, value, &config.total_timeout_ms, err);
  if (strcmp (key, "retries") == 0)
    {
      char *end;
      long n;

      errno = 0;
      n = strtol (value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || n < 0 || n > 1000)
        return vdvs_error_set (err, EINVAL,
                               "Invalid value '%s' for esx backend option "
                               "retries: expected 0..1000",
                               value);
      config.retries = (int) n;
      return 0;
    }
  if (strcmp (key, "source-port") == 0)
    {
      if (strcmp (value, "privileged") == 0)
        config.privileged_port = true;
      else if (strcmp (value, "any") == 0)
        config.privileged_port = false;
      else
        return vdvs_error_set (err, EINVAL,
                               "Invalid value '%s' for esx backend option "
                               "source-port: expected privileged or any",
                               value);
      return 0;
    }
  if (strcmp (key, "protocol-version") == 0)
    return copy_string (config.version, sizeof config.version, key, value,
                        err);
  if (strcmp (key, "sysfs-root") == 0)
    return copy_string (config.roots.sysfs_root,
                        sizeof config.roots.sysfs_root, key, value, err);
  if (strcmp (key, "dev-root") == 0)
    return copy_string (config.roots.dev_root, sizeof config.roots.dev_root,
                        key, value, err);
  return vdvs_error_set (err, EINVAL,
                         "Unknown esx backend option '%s' (known: esx, "
                         "timeout, retries, retry-delay, total-timeout, "
                         "source-port, protocol-version, sysfs-root, "
                         "dev-root)",
                         key);
}

static int
esx_open (void **handle, vdvs_error_t *err)
{
  struct esx_handle *h = calloc (1, sizeof *h);
  const char *env;

  if (h == NULL)
    return vdvs_error_set (err, ENOMEM, "Out of memory");
  h->cfg = config;
  env = getenv ("VDVS_TEST_PROTOCOL_VERSION");
  if (env != NULL && env[0] != '\0'
      && copy_string (h->cfg.version, sizeof h->cfg.version,
                      "VDVS_TEST_PROTOCOL_VERSION", env, err)
             < 0)
    {
      free (h);
      return -1;
    }
  if (esx_addr_parse (h->cfg.url, &h->addr, err) < 0)
    {
      free (h);
      return -1;
    }
  pthread_mutex_init (&h->health_lock, NULL);
  h->health.up = true;
  vdvs_log (VDVS_LOG_INFO, "ESX backend ready",
            "esx=%s timeout_ms=%lld retries=%d", h->cfg.url,
            (long long) h->cfg.timeout_ms, h->cfg.retries);
  *handle = h;
  return 0;
}

static void
esx_close (void *handle)
{
  struct esx_handle *h = handle;

  if (h == NULL)
    return;
  pthread_mutex_destroy (&h->health_lock);
  free (h);
}

static void
set_health (struct esx_handle *h, bool up, const char *detail)
{
  pthread_mutex_lock (&h->health_lock);
  h->health.up = up;
  snprintf (h->health.detail, sizeof h->health.detail, "%s", up ? "" : detail);
  pthread_mutex_unlock (&h->health_lock);
}

/* Errors that another try cannot fix. */
static bool
permanent_error (int status)
{
  switch (status)
    {
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
    case EINVAL:
    case ENAMETOOLONG:
    case EACCES:
    case EPERM:
    case ENOMEM:
    case EMSGSIZE:
      return true;
    default:
      return false;
    }
}

static void
sleep_ms (int64_t ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Whether a command only reads (get, list, version).  Every other
 * command changes state on ESX, so its request is sent at most once per
 * call, and its reply is awaited for as long as the service keeps the
 * connection open, as upstream does: a big eagerzeroedthick create or a
 * clone may take many minutes. */
static bool
read_only (const char *cmd)
{
  return strcmp (cmd, "get") == 0 || strcmp (cmd, "list") == 0
         || strcmp (cmd, "version") == 0;
}

/* One try: connect before connect_deadline, send before io_deadline and
 * wait for the reply until reply_deadline (-1: none).  *sent tells whether
 * the connection was made, so the request may have reached the server. */
static int
esx_try (struct esx_handle *h, const char *json, int64_t connect_deadline,
         int64_t io_deadline, int64_t reply_deadline, char **reply,
         size_t *reply_len, bool *sent, vdvs_error_t *err)
{
  int fd, r;

  *sent = false;
  fd = esx_connect (&h->addr, h->cfg.privileged_port, connect_deadline, err);
  if (fd < 0)
    return -1;
  *sent = true;
  r = esx_wire_send (fd, json, io_deadline, err);
  if (r == 0)
    r = esx_wire_recv (fd, 0, reply, reply_len, reply_deadline, err);
  close (fd);
  return r;
}

/* Send (cmd, name, opts) and parse the reply.  *out is the reply tree
 * (cJSON_Delete it).  get and list are retried after any transport
 * failure but a timed-out reply; other commands only when the connection
 * could not be made (nothing was sent).  An {"Error": ...} reply fails
 * with the server's text verbatim; a transport failure with the upstream
 * "Run '<cmd>' failed: ..." text. */
static int
esx_call (struct esx_handle *h, const char *cmd, const char *name,
          const struct vdvs_opts *opts, cJSON **out, vdvs_error_t *err)
{
  char *json, *reply = NULL;
  size_t reply_len = 0;
  vdvs_error_t terr = NULL;
  bool ro = read_only (cmd), sent = false;
  int64_t start = esx_now_ms ();
  int64_t total_deadline = start + h->cfg.total_timeout_ms;
  int status, r;

  json = esx_request_encode (cmd, name, opts, h->cfg.version);
  if (json == NULL)
    return vdvs_error_set (err, ENOMEM, "Out of memory");

  for (int attempt = 0;; attempt++)
    {
      int64_t deadline = esx_now_ms () + h->cfg.timeout_ms;

      if (h->cfg.total_timeout_ms > 0 && deadline > total_deadline)
        deadline = total_deadline;
      vdvs_error_release (&terr);
      r = esx_try (h, json, deadline, deadline, ro ? deadline : -1, &reply,
                   &reply_len, &sent, &terr);
      if (r == 0)
        break;
      status = terr->status;
      /* Once the request may have reached the server, a change is not
       * sent again (a second create could meet the first one's volume),
       * and a read is not queued behind a server still working on it. */
      if (permanent_error (status) || (sent && (!ro || status == ETIMEDOUT))
          || attempt >= h->cfg.retries)
        break;
      if (h->cfg.total_timeout_ms > 0
          && esx_now_ms () + h->cfg.retry_delay_ms >= total_deadline)
        break;
      vdvs_log (VDVS_LOG_WARN, "ESX request failed. Retrying...",
                "cmd=%s name=%s attempt=%d error=\"%s\"", cmd, name,
                attempt + 1, terr->msg);
      sleep_ms (h->cfg.retry_delay_ms);
    }
  free (json);

  if (r < 0)
    {
      int e = terr->status;
      r = vdvs_error_set (err, e, "Run '%s' failed: %s (errno=%d) - %s%s%s",
                          cmd, strerror (e), e, terr->msg,
                          sent && !ro ? ESX_SENT_ONCE_NOTE : "",
                          (e == ECONNRESET || e == ETIMEDOUT) ? ESX_FAQ_HINT
                                                              : "");
      set_health (h, false, terr->msg);
      vdvs_error_release (&terr);
      return r;
    }
  set_health (h, true, NULL);

  r = esx_reply_parse (reply, reply_len, out, &terr);
  free (reply);
  if (r < 0)
    {
      r = vdvs_error_set (err, terr->status, "%s", terr->msg);
      vdvs_error_release (&terr);
      return r;
    }
  vdvs_log (VDVS_LOG_DEBUG, "ESX request done", "cmd=%s name=%s ms=%lld", cmd,
            name, (long long) (esx_now_ms () - start));
  return 0;
}

static int
esx_create (void *handle, const char *name, const struct vdvs_opts *opts,
            vdvs_error_t *err)
{
  cJSON *reply = NULL;
  int r = esx_call (handle, "create", name, opts, &reply, err);
  cJSON_Delete (reply);
  return r;
}

static int
esx_remove (void *handle, const char *name, const struct vdvs_opts *opts,
            vdvs_error_t *err)
{
  cJSON *reply = NULL;
  int r = esx_call (handle, "remove", name, opts, &reply, err);
  cJSON_Delete (reply);
  return r;
}

static int
esx_attach (void *handle, const char *name, struct vdvs_device *dev,
            vdvs_error_t *err)
{
  cJSON *reply = NULL;
  int r = esx_call (handle, "attach", name, NULL, &reply, err);
  if (r == 0 && (r = esx_reply_to_device (reply, dev, err)) < 0)
    {
      /* The disk may be attached to this VM: do not leave it there (as
       * upstream's Attach does on a reply it cannot decode). */
      vdvs_error_t derr = NULL;
      cJSON *dreply = NULL;

      vdvs_log (VDVS_LOG_WARN, "Attach reply not understood, detaching",
                "name=%s error=\"%s\"", name, (*err)->msg);
      if (esx_call (handle, "detach", name, NULL, &dreply, &derr) < 0)
        {
          vdvs_log (VDVS_LOG_WARN, "Detach volume failed",
                    "name=%s error=\"%s\"", name, derr->msg);
          vdvs_error_release (&derr);
        }
      cJSON_Delete (dreply);
    }
  cJSON_Delete (reply);
  return r;
}

static int
esx_detach (void *handle, const char *name, vdvs_error_t *err)
{
  cJSON *reply = NULL;
  int r = esx_call (handle, "detach", name, NULL, &reply, err);
  cJSON_Delete (reply);
  return r;
}

static int
esx_list (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err)
{
  cJSON *reply = NULL;
  int r = esx_call (handle, "list", "", NULL, &reply, err);
  if (r == 0)
    r = esx_reply_to_list (reply, out, err);
  cJSON_Delete (reply);
  return r;
}

static int
esx_get (void *handle, const char *name, struct vdvs_volume_info *out,
         vdvs_error_t *err)
{
  cJSON *reply = NULL;
  int r;

  memset (out, 0, sizeof *out);
  r = esx_call (handle, "get", name, NULL, &reply, err);
  if (r == 0 && cJSON_IsNull (reply))
    /* Upstream answers null when it cannot read the volume's metadata
     * (a corrupt sidecar): the volume exists, its details are unknown. */
    r = vdvs_error_set (err, ENODATA,
                        "Volume %s: ESX has no metadata for it (get "
                        "answered null; its sidecar file may be corrupt)",
                        name);
  else if (r == 0)
    r = esx_reply_to_info (reply, out, err);
  cJSON_Delete (reply);
  return r;
}

static void
esx_health (void *handle, struct vdvs_backend_health *out)
{
  struct esx_handle *h = handle;

  pthread_mutex_lock (&h->health_lock);
  *out = h->health;
  pthread_mutex_unlock (&h->health_lock);
}

static void
esx_device_roots (void *handle, struct vdvs_device_roots *out)
{
  struct esx_handle *h = handle;
  *out = h->cfg.roots;
}

const struct vdvs_backend vdvs_backend_esx = {
  VDVS_BACKEND_INIT,
  .name = "esx",
  .description = "the upstream ESX service (vmdk_ops) over VMCI/vSocket, or "
                 "esxsim over unix/tcp",
  .config_help =
      "  esx=URL             ESX service: vsock://CID:PORT (default "
      "vsock://2:1019),\n"
      "                      unix:///path or tcp://127.0.0.1:PORT (esxsim)\n"
      "  timeout=SEC         connect timeout of every call; for get and list\n"
      "                      also the wait for the reply (120).  create, "
      "clone,\n"
      "                      remove, attach and detach wait for their reply "
      "as\n"
      "                      long as the service keeps the connection open\n"
      "  retries=N           retries after a transport failure (5: 6 tries);"
      " create,\n"
      "                      clone, remove, attach and detach are retried "
      "only\n"
      "                      when the connection failed (nothing was sent)\n"
      "  retry-delay=SEC     pause between tries (1)\n"
      "  total-timeout=SEC   bound on one get or list, retries included, and"
      " on\n"
      "                      the connect tries of the other calls (180)\n"
      "  source-port=privileged|any  bind a source port in 100..1023 "
      "(privileged)\n"
      "  protocol-version=V  protocol version sent (2)\n"
      "  sysfs-root=DIR      guest sysfs for device discovery (/sys)\n"
      "  dev-root=DIR        guest /dev for disk/by-path (/dev)\n",
  .config = esx_config,
  .open = esx_open,
  .close = esx_close,
  .create = esx_create,
  .remove = esx_remove,
  .attach = esx_attach,
  .detach = esx_detach,
  .list = esx_list,
  .get = esx_get,
  .health = esx_health,
  .device_roots = esx_device_roots,
};
