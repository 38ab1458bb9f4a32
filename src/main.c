/* vdvsd: the vdvs Docker volume plugin daemon. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/error.h"
#include "vdvs/log.h"

#include "api.h"
#include "backend_i.h"
#include "config.h"
#include "http.h"
#include "recovery.h"
#include "volumes.h"

/* A socket someone still answers on is not stale: two daemons on one
 * driver name would split the engine's requests between them. */
static int
check_socket_free (const char *path, vdvs_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd, r;

  if (strlen (path) >= sizeof sa.sun_path)
    return 0; /* vdvs_http_start reports it */
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  r = connect (fd, (struct sockaddr *) &sa, sizeof sa);
  close (fd);
  if (r == 0)
    return vdvs_error_set (err, EADDRINUSE,
                           "another plugin is serving `%s`; stop it first "
                           "(or use --driver/--socket for a second one)",
                           path);
  return 0;
}

/* How long the start-up sweep may hold the socket back (seconds): a local
 * backend is done long before; a remote one that does not answer is swept
 * on while the socket serves. */
#define SWEEP_WAIT_S 5

static void *
sweep_main (void *arg)
{
  (void) arg;
  vdvs_volumes_sweep_stale ();
  return NULL;
}

/* Log and print *err, free it and the configuration; the exit status. */
static int
fail (vdvs_error_t *err, struct vdvs_config *cfg)
{
  vdvs_log (VDVS_LOG_ERROR, "Cannot start", "error=\"%s\"", (*err)->msg);
  fprintf (stderr, "vdvsd: %s\n", (*err)->msg);
  vdvs_error_release (err);
  vdvs_config_free (cfg);
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  struct vdvs_config cfg;
  struct vdvs_bk bk;
  struct vdvs_http *http = NULL;
  vdvs_error_t err = NULL;
  sigset_t sigs;
  pthread_t sweeper;
  bool sweeping;
  struct timespec until;
  int r, sig = 0;

  r = vdvs_config_load (&cfg, argc, argv, &err);
  if (r != 0)
    vdvs_config_free (&cfg);
  if (r > 0)
    return EXIT_SUCCESS;
  if (r < 0)
    {
      fprintf (stderr, "vdvsd: %s\n", err->msg);
      vdvs_error_release (&err);
      return 2;
    }
  {
    int fd = -1;
    if (cfg.log_file[0]
        && (fd = open (cfg.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                       0640))
               < 0)
      {
        fprintf (stderr, "vdvsd: cannot open log file `%s`: %s\n",
                 cfg.log_file, strerror (errno));
        vdvs_config_free (&cfg);
        return 2;
      }
    vdvs_log_setup (cfg.log_level, fd);
  }
  /* Each API connection holds a descriptor: take all the kernel allows, so
   * a client that leaks connections cannot lock the engine out early. */
  {
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
      {
        rl.rlim_cur = rl.rlim_max;
        setrlimit (RLIMIT_NOFILE, &rl);
      }
  }
  /* Every thread inherits this mask; main waits for the signals. */
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &sigs, NULL);
  signal (SIGPIPE, SIG_IGN);
  curl_global_init (CURL_GLOBAL_DEFAULT);

  vdvs_log (VDVS_LOG_INFO, "Starting plugin",
            "driver=%s backend=%s socket=%s mount_root=%s version=%s",
            cfg.driver, cfg.backend, cfg.socket_path, cfg.mount_root,
            VDVS_VERSION);
  if (check_socket_free (cfg.socket_path, &err) < 0
      || vdvs_bk_start (&bk, &cfg, &err) < 0)
    return fail (&err, &cfg);
  /* Local state first: the engine must never see "no such volume" for a
   * volume we simply had not loaded yet. */
  if (vdvs_volumes_init (&cfg, &bk, &err) < 0)
    {
      vdvs_bk_close (&bk);
      return fail (&err, &cfg);
    }
  vdvs_recovery_init (&cfg, &bk);
  /* Stale attachments of a crash go before the first request can meet
   * them (and without the engine, which may take minutes to answer), but
   * a backend that does not answer holds the socket back SWEEP_WAIT_S at
   * most. */
  sweeping = pthread_create (&sweeper, NULL, sweep_main, NULL) == 0;
  if (!sweeping)
    vdvs_volumes_sweep_stale ();
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += SWEEP_WAIT_S;
  if (sweeping && pthread_timedjoin_np (sweeper, NULL, &until) == 0)
    sweeping = false;
  if (vdvs_http_start (cfg.socket_path, cfg.max_connections, vdvs_api_handle,
                       &http, &err)
      < 0)
    {
      if (sweeping)
        pthread_join (sweeper, NULL);
      vdvs_bk_close (&bk);
      return fail (&err, &cfg);
    }
  vdvs_volumes_start_recovery ();
  vdvs_log (VDVS_LOG_INFO, "Serving", "socket=%s", cfg.socket_path);

  while (sigwait (&sigs, &sig) == 0 && sig == SIGHUP)
    vdvs_volumes_kick_recovery ();

  vdvs_log (VDVS_LOG_INFO, "Stopping", "signal=%d", sig);
  vdvs_http_stop (http);
  if (sweeping)
    pthread_join (sweeper, NULL);
  vdvs_volumes_shutdown ();
  vdvs_bk_close (&bk);
  vdvs_config_free (&cfg);
  curl_global_cleanup ();
  vdvs_log (VDVS_LOG_INFO, "Stopped", NULL);
  return EXIT_SUCCESS;
}
