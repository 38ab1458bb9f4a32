/* vdvsd on Windows: the core and the ESX backend behind the named pipe
 * (pipe.h) and the spec file (spec.h), run in the foreground until Ctrl-C
 * or Ctrl-Break.  The Linux main (src/main.c) does the same on a unix
 * socket with signals. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <windows.h>

#include "vdvs/error.h"
#include "vdvs/log.h"

#include "api.h"
#include "backend_i.h"
#include "config.h"
#include "pipe.h"
#include "recovery.h"
#include "spec.h"
#include "volumes.h"

static HANDLE stop_event;

static BOOL WINAPI
on_console (DWORD type)
{
  (void) type;
  SetEvent (stop_event);
  return TRUE;
}

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
  struct vdvs_pipe *pipe = NULL;
  vdvs_error_t err = NULL;
  int r, fd = -1;

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
  if (cfg.log_file[0]
      && (fd = _open (cfg.log_file,
                      _O_WRONLY | _O_CREAT | _O_APPEND | _O_BINARY
                          | _O_NOINHERIT,
                      _S_IREAD | _S_IWRITE))
             < 0)
    {
      fprintf (stderr, "vdvsd: cannot open log file `%s`: %s\n", cfg.log_file,
               strerror (errno));
      vdvs_config_free (&cfg);
      return 2;
    }
  vdvs_log_setup (cfg.log_level, fd);
  stop_event = CreateEventW (NULL, TRUE, FALSE, NULL);
  SetConsoleCtrlHandler (on_console, TRUE);

  vdvs_log (VDVS_LOG_INFO, "Starting plugin",
            "driver=%s backend=%s pipe=%s mount_root=%s version=%s",
            cfg.driver, cfg.backend, cfg.socket_path, cfg.mount_root,
            VDVS_VERSION);
  if (vdvs_bk_start (&bk, &cfg, &err) < 0)
    return fail (&err, &cfg);
  if (vdvs_volumes_init (&cfg, &bk, &err) < 0)
    {
      vdvs_bk_close (&bk);
      return fail (&err, &cfg);
    }
  vdvs_recovery_init (&cfg, &bk);
  vdvs_volumes_sweep_stale ();
  /* The pipe first, then the spec file that tells Docker about it. */
  if (vdvs_pipe_start (cfg.socket_path, cfg.max_connections, vdvs_api_handle,
                       &pipe, &err)
          < 0
      || vdvs_spec_write (VDVS_SPEC_PATH, cfg.driver, VDVS_SPEC_ADDR, &err)
             < 0)
    {
      if (pipe != NULL)
        vdvs_pipe_stop (pipe);
      vdvs_volumes_shutdown ();
      vdvs_bk_close (&bk);
      return fail (&err, &cfg);
    }
  vdvs_volumes_start_recovery ();
  vdvs_log (VDVS_LOG_INFO, "Serving", "pipe=%s spec=%s", cfg.socket_path,
            VDVS_SPEC_PATH);

  WaitForSingleObject (stop_event, INFINITE);

  vdvs_log (VDVS_LOG_INFO, "Stopping", NULL);
  if (vdvs_spec_remove (VDVS_SPEC_PATH, &err) < 0)
    {
      vdvs_log (VDVS_LOG_WARN, "Cannot remove the spec file", "error=\"%s\"",
                err->msg);
      vdvs_error_release (&err);
    }
  vdvs_pipe_stop (pipe);
  vdvs_volumes_shutdown ();
  vdvs_bk_close (&bk);
  vdvs_config_free (&cfg);
  vdvs_log (VDVS_LOG_INFO, "Stopped", NULL);
  return EXIT_SUCCESS;
}
