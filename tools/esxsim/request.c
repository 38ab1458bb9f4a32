/* One request of the ESX wire protocol, as the upstream service serves it
 * (reference §1.2-§1.6): the privileged source port rule (tcp, vsock) or
 * root peer (unix), one frame in, the command run on the VM's mock handle,
 * the reply in Python json.dumps form.  Bad frames are closed without a
 * reply.  Per-volume locking is the mock's (cross-process file locks). */
#include "esxsim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>

#include "vdvs/backend.h"
#include "vdvs/log.h"
#include "vdvs/name.h"

#include "codec.h"
#include "mock.h"
#include "wire.h"

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
                    "uid=%u pid=%d vm=%s", (unsigned) cred.uid, (int) cred.pid,
                    c->l->vm_name);
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

void
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
      vdvs_log (VDVS_LOG_INFO, "Request",
                "vm=%s cmd=%s name=\"%s\" ms=%lld "
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
