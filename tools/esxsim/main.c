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
 * The files: main.c (this: start, accept loop, stop), config.c (options,
 * VMs), conn.c (a thread per connection), request.c (one wire request),
 * admin.c (the admin socket).
 */
#include "esxsim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vdvs/backend.h"
#include "vdvs/fsutil.h"
#include "vdvs/log.h"

#include "mock.h"

static int signal_pipe[2] = { -1, -1 };

static void
on_signal (int sig)
{
  char c = (char) sig;
  ssize_t r = write (signal_pipe[1], &c, 1);
  (void) r;
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
            fprintf (stderr,
                     "esxsim: %s and %s have the same VM uuid %s; "
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
      vdvs_log (VDVS_LOG_INFO, "Listening", "url=%s vm=%s vm_uuid=%s", l->url,
                l->vm_name, l->vm_uuid);
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
