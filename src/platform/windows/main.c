/* vdvsd on Windows: the core and the ESX backend behind the named pipe
 * (pipe.h) and the spec file (spec.h).  Run by the service manager as the
 * service `vdvs` (--service: stop and shutdown controls end it), or in
 * the foreground until Ctrl-C or Ctrl-Break.  --install-service and
 * --uninstall-service register and remove the service.  The Linux main
 * (src/main.c) does the same on a unix socket with signals. */
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
#include "platform/paths.h"
#include "recovery.h"
#include "spec.h"
#include "volumes.h"
#include "winerr.h"

#define SERVICE_NAME L"vdvs"
#define SERVICE_DISPLAY L"vSphere Docker Volume Service"
#define SERVICE_DESCRIPTION                                                   \
  L"Enables user to run stateful containerized applications on top of "       \
  L"VMware vSphere."

static const char service_usage[] =
    "\nWindows service (`vdvs`, run as LocalSystem):\n"
    "      --install-service    register vdvsd.exe as the service `vdvs`\n"
    "                           (started at boot), with the other options\n"
    "                           given here; start it with `sc start vdvs`\n"
    "      --uninstall-service  stop and remove the service `vdvs`\n"
    "      --service            run as the service (the service manager "
    "starts\n"
    "                           vdvsd.exe so; without it: the foreground, "
    "until\n"
    "                           Ctrl-C)\n";

static HANDLE stop_event;
/* The service's status handle; NULL in the foreground. */
static SERVICE_STATUS_HANDLE svc;
static int svc_argc, svc_rc;
static char **svc_argv;

static void
svc_report (DWORD state, int rc)
{
  SERVICE_STATUS st = {
    .dwServiceType = SERVICE_WIN32_OWN_PROCESS,
    .dwCurrentState = state,
    .dwControlsAccepted = state == SERVICE_RUNNING
                              ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN
                              : 0,
    .dwWin32ExitCode = rc ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR,
    .dwServiceSpecificExitCode = (DWORD) rc,
    .dwWaitHint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0
                                                                       : 30000,
  };
  static DWORD checkpoint;

  if (svc == NULL)
    return;
  if (state != SERVICE_RUNNING && state != SERVICE_STOPPED)
    st.dwCheckPoint = ++checkpoint;
  SetServiceStatus (svc, &st);
}

static BOOL WINAPI
on_console (DWORD type)
{
  (void) type;
  SetEvent (stop_event);
  return TRUE;
}

static DWORD WINAPI
on_control (DWORD ctrl, DWORD type, LPVOID data, LPVOID ctx)
{
  (void) type, (void) data, (void) ctx;
  switch (ctrl)
    {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      svc_report (SERVICE_STOP_PENDING, 0);
      SetEvent (stop_event);
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
    }
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

/* The folders above a file, made as needed (for the default log file). */
static void
make_parents (const char *file)
{
  char dir[PATH_MAX];

  snprintf (dir, sizeof dir, "%s", file);
  for (char *p = dir + 3; *p; p++)
    if (*p == '\\' || *p == '/')
      {
        char c = *p;
        *p = '\0';
        CreateDirectoryA (dir, NULL);
        *p = c;
      }
}

/* The plugin, until stop_event: 0, or the exit status. */
static int
run (int argc, char **argv)
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
    {
      for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
          {
            fputs (service_usage, stdout);
            break;
          }
      return EXIT_SUCCESS;
    }
  if (r < 0)
    {
      fprintf (stderr, "vdvsd: %s\n", err->msg);
      vdvs_error_release (&err);
      return 2;
    }
  if (cfg.log_file[0])
    {
      if (strcmp (cfg.log_file, vdvs_path_log_file ()) == 0)
        make_parents (cfg.log_file);
      fd = _open (cfg.log_file,
                  _O_WRONLY | _O_CREAT | _O_APPEND | _O_BINARY | _O_NOINHERIT,
                  _S_IREAD | _S_IWRITE);
      if (fd < 0)
        {
          fprintf (stderr, "vdvsd: cannot open log file `%s`: %s\n",
                   cfg.log_file, strerror (errno));
          vdvs_config_free (&cfg);
          return 2;
        }
      if (svc == NULL)
        fprintf (stderr, "vdvsd: logging to %s (--log-file - logs here)\n",
                 cfg.log_file);
    }
  vdvs_log_setup (cfg.log_level, fd);

  vdvs_log (VDVS_LOG_INFO, "Starting plugin",
            "driver=%s backend=%s pipe=%s mount_root=%s service=%s "
            "version=%s",
            cfg.driver, cfg.backend, cfg.socket_path, cfg.mount_root,
            svc ? "yes" : "no", VDVS_VERSION);
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
  svc_report (SERVICE_RUNNING, 0);

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

static void WINAPI
service_main (DWORD n, LPWSTR *args)
{
  (void) n, (void) args; /* start parameters: the options are argv's */
  svc = RegisterServiceCtrlHandlerExW (SERVICE_NAME, on_control, NULL);
  if (svc == NULL)
    return;
  svc_report (SERVICE_START_PENDING, 0);
  svc_rc = run (svc_argc, svc_argv);
  svc_report (SERVICE_STOPPED, svc_rc);
}

/* Register the service: this exe with --service and argv[1..argc). */
static int
install_service (int argc, char **argv)
{
  struct vdvs_config cfg;
  vdvs_error_t err = NULL;
  wchar_t exe[MAX_PATH], cmd[8192], arg[PATH_MAX];
  char msg[256];
  SC_HANDLE m, s;
  SERVICE_DESCRIPTIONW desc = { (LPWSTR) SERVICE_DESCRIPTION };
  int r;

  /* The options must be valid now, not at the next boot. */
  r = vdvs_config_load (&cfg, argc, argv, &err);
  vdvs_config_free (&cfg);
  if (r != 0)
    {
      if (r < 0)
        {
          fprintf (stderr, "vdvsd: %s\n", err->msg);
          vdvs_error_release (&err);
        }
      return r < 0 ? 2 : EXIT_SUCCESS;
    }
  if (GetModuleFileNameW (NULL, exe, MAX_PATH) == 0)
    return fprintf (stderr, "vdvsd: cannot find vdvsd.exe's path\n"), 1;
  _snwprintf (cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" --service", exe);
  for (int i = 1; i < argc; i++)
    {
      size_t l = wcslen (cmd);
      if (strchr (argv[i], '"') != NULL
          || MultiByteToWideChar (CP_UTF8, 0, argv[i], -1, arg, PATH_MAX) == 0
          || l + wcslen (arg) + 4 >= sizeof cmd / sizeof cmd[0])
        {
          fprintf (stderr,
                   "vdvsd: option `%s` cannot be passed to the service: "
                   "it holds a double quote or is too long\n",
                   argv[i]);
          return 2;
        }
      _snwprintf (cmd + l, sizeof cmd / sizeof cmd[0] - l, L" \"%ls\"", arg);
    }
  m = OpenSCManagerW (NULL, NULL, SC_MANAGER_CREATE_SERVICE);
  if (m == NULL)
    {
      fprintf (stderr, "vdvsd: cannot open the service manager: %s\n",
               vdvs_win_error_text (GetLastError (), msg, sizeof msg));
      return 1;
    }
  s = CreateServiceW (m, SERVICE_NAME, SERVICE_DISPLAY, SERVICE_ALL_ACCESS,
                      SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                      SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL, NULL, NULL);
  if (s == NULL)
    {
      DWORD e = GetLastError ();
      fprintf (stderr, "vdvsd: cannot install the service vdvs: %s%s\n",
               vdvs_win_error_text (e, msg, sizeof msg),
               e == ERROR_SERVICE_EXISTS ? " (vdvsd --uninstall-service "
                                           "removes it)"
                                         : "");
      CloseServiceHandle (m);
      return 1;
    }
  ChangeServiceConfig2W (s, SERVICE_CONFIG_DESCRIPTION, &desc);
  CloseServiceHandle (s);
  CloseServiceHandle (m);
  printf ("vdvsd: installed the service vdvs: %ls\n"
          "Start it with `sc start vdvs`.\n",
          cmd);
  return EXIT_SUCCESS;
}

/* Stop the service (waiting up to 60 s) and remove it. */
static int
uninstall_service (void)
{
  char msg[256];
  SC_HANDLE m, s;
  SERVICE_STATUS st;

  m = OpenSCManagerW (NULL, NULL, SC_MANAGER_CONNECT);
  if (m == NULL)
    {
      fprintf (stderr, "vdvsd: cannot open the service manager: %s\n",
               vdvs_win_error_text (GetLastError (), msg, sizeof msg));
      return 1;
    }
  s = OpenServiceW (m, SERVICE_NAME,
                    SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
  if (s == NULL)
    {
      fprintf (stderr, "vdvsd: cannot open the service vdvs: %s\n",
               vdvs_win_error_text (GetLastError (), msg, sizeof msg));
      CloseServiceHandle (m);
      return 1;
    }
  if (ControlService (s, SERVICE_CONTROL_STOP, &st))
    for (int i = 0; i < 600 && st.dwCurrentState != SERVICE_STOPPED; i++)
      {
        Sleep (100);
        if (!QueryServiceStatus (s, &st))
          break;
      }
  if (!DeleteService (s))
    {
      fprintf (stderr, "vdvsd: cannot remove the service vdvs: %s\n",
               vdvs_win_error_text (GetLastError (), msg, sizeof msg));
      CloseServiceHandle (s);
      CloseServiceHandle (m);
      return 1;
    }
  CloseServiceHandle (s);
  CloseServiceHandle (m);
  printf ("vdvsd: removed the service vdvs\n");
  return EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  bool service = false, install = false, uninstall = false;
  int n = 1;

  /* The service switches are this file's; the rest goes to the config. */
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--service") == 0)
        service = true;
      else if (strcmp (argv[i], "--install-service") == 0)
        install = true;
      else if (strcmp (argv[i], "--uninstall-service") == 0)
        uninstall = true;
      else
        argv[n++] = argv[i];
    }
  argv[n] = NULL;
  argc = n;
  if (service + install + uninstall > 1)
    {
      fprintf (stderr, "vdvsd: --service, --install-service and "
                       "--uninstall-service exclude each other\n");
      return 2;
    }
  if (install)
    return install_service (argc, argv);
  if (uninstall)
    {
      if (argc > 1)
        {
          fprintf (stderr,
                   "vdvsd: --uninstall-service takes no other "
                   "option (got `%s`)\n",
                   argv[1]);
          return 2;
        }
      return uninstall_service ();
    }
  stop_event = CreateEventW (NULL, TRUE, FALSE, NULL);
  if (service)
    {
      SERVICE_TABLE_ENTRYW table[] = { { (LPWSTR) SERVICE_NAME, service_main },
                                       { NULL, NULL } };
      char msg[256];
      svc_argc = argc;
      svc_argv = argv;
      if (!StartServiceCtrlDispatcherW (table))
        {
          fprintf (stderr,
                   "vdvsd: --service is for the service manager, which "
                   "did not start this process: %s\n",
                   vdvs_win_error_text (GetLastError (), msg, sizeof msg));
          return 2;
        }
      return svc_rc;
    }
  SetConsoleCtrlHandler (on_console, TRUE);
  return run (argc, argv);
}
