/* A test server for the Windows transport: the real pipe server and spec
 * file (src/platform/windows) with a fixed handler in place of the plugin
 * core, which does not build for Windows yet.  Driven by
 * vdvs-pipe-test-client under wine (tests/integration/95-windows-pipe.sh).
 *
 * Usage: vdvs-pipe-test-server [--pipe NAME] [--spec PATH]
 *                              [--max-connections N]
 * Runs until POST /Test.Shutdown or Ctrl-C, then removes the spec file. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "pipe.h"
#include "spec.h"
#include "vdvs/log.h"

static HANDLE stop_event;

/* /Test.Barrier: every request waits until N are inside the handler at
 * once, which only a server running connections concurrently achieves. */
static CRITICAL_SECTION barrier_lock;
static CONDITION_VARIABLE barrier_cv;
static int barrier_in;         /* under barrier_lock */
static unsigned barrier_round; /* under barrier_lock */

static char *
json_err (const char *msg)
{
  cJSON *j = cJSON_CreateObject ();
  char *s;
  cJSON_AddStringToObject (j, "Err", msg);
  s = cJSON_PrintUnformatted (j);
  cJSON_Delete (j);
  return s;
}

static char *
barrier (const char *body)
{
  cJSON *req = cJSON_Parse (body), *n = cJSON_GetObjectItem (req, "N");
  int want = cJSON_IsNumber (n) ? n->valueint : 0, got;
  unsigned round;
  ULONGLONG deadline = GetTickCount64 () + 10000;
  char msg[128], *out;

  cJSON_Delete (req);
  if (want < 1)
    return json_err ("barrier: body must be {\"N\": count}");
  EnterCriticalSection (&barrier_lock);
  round = barrier_round;
  if (++barrier_in == want)
    {
      barrier_in = 0;
      barrier_round++;
      WakeAllConditionVariable (&barrier_cv);
    }
  while (barrier_round == round && GetTickCount64 () < deadline)
    SleepConditionVariableCS (&barrier_cv, &barrier_lock,
                              (DWORD) (deadline - GetTickCount64 ()));
  got = barrier_round != round ? want : barrier_in;
  if (barrier_round == round)
    barrier_in--;
  LeaveCriticalSection (&barrier_lock);
  if (got != want)
    {
      snprintf (msg, sizeof msg,
                "barrier timed out: %d of %d requests were served at once",
                got, want);
      return json_err (msg);
    }
  snprintf (msg, sizeof msg, "{\"Reached\":%d}", want);
  out = strdup (msg);
  return out;
}

static char *
handle (const char *path, const char *body, size_t len)
{
  char *out;
  cJSON *j;

  if (strcmp (path, "/Plugin.Activate") == 0)
    return strdup ("{\"Implements\":[\"VolumeDriver\"]}");
  if (strcmp (path, "/VolumeDriver.Capabilities") == 0)
    return strdup ("{\"Capabilities\":{\"Scope\":\"global\"}}");
  if (strcmp (path, "/Test.Echo") == 0)
    {
      /* Length and a checksum, so a big body is checked without echoing. */
      unsigned long sum = 0;
      for (size_t i = 0; i < len; i++)
        sum = sum * 31 + (unsigned char) body[i];
      j = cJSON_CreateObject ();
      cJSON_AddNumberToObject (j, "Len", (double) len);
      cJSON_AddNumberToObject (j, "Sum", (double) (sum & 0xffffffffUL));
      out = cJSON_PrintUnformatted (j);
      cJSON_Delete (j);
      return out;
    }
  if (strcmp (path, "/Test.Barrier") == 0)
    return barrier (body);
  if (strcmp (path, "/Test.Shutdown") == 0)
    {
      SetEvent (stop_event);
      return strdup ("{}");
    }
  return json_err ("unknown endpoint");
}

static BOOL WINAPI
on_ctrl (DWORD type)
{
  (void) type;
  SetEvent (stop_event);
  return TRUE;
}

int
main (int argc, char **argv)
{
  const char *pipe_name = VDVS_PIPE_NAME, *spec = VDVS_SPEC_PATH;
  int max_conn = 16;
  struct vdvs_pipe *p = NULL;
  vdvs_error_t err = NULL;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--pipe") == 0 && i + 1 < argc)
        pipe_name = argv[++i];
      else if (strcmp (argv[i], "--spec") == 0 && i + 1 < argc)
        spec = argv[++i];
      else if (strcmp (argv[i], "--max-connections") == 0 && i + 1 < argc)
        max_conn = atoi (argv[++i]);
      else
        {
          fprintf (stderr,
                   "usage: %s [--pipe NAME] [--spec PATH] "
                   "[--max-connections N]\n",
                   argv[0]);
          return 2;
        }
    }
  InitializeCriticalSection (&barrier_lock);
  InitializeConditionVariable (&barrier_cv);
  stop_event = CreateEventW (NULL, TRUE, FALSE, NULL);
  SetConsoleCtrlHandler (on_ctrl, TRUE);
  /* The pipe first, then the spec file: Docker may connect at once. */
  if (vdvs_pipe_start (pipe_name, max_conn, handle, &p, &err) < 0
      || vdvs_spec_write (spec, "vsphere", VDVS_SPEC_ADDR, &err) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Cannot serve the plugin API", "error=\"%s\"",
                err->msg);
      vdvs_error_release (&err);
      vdvs_pipe_stop (p);
      return 1;
    }
  vdvs_log (VDVS_LOG_INFO, "Serving the plugin API", "pipe=%s spec=%s",
            pipe_name, spec);
  WaitForSingleObject (stop_event, INFINITE);
  /* The spec file goes first: Docker must not find a dead address. */
  if (vdvs_spec_remove (spec, &err) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Cannot remove the spec file", "error=\"%s\"",
                err->msg);
      vdvs_error_release (&err);
    }
  vdvs_pipe_stop (p);
  vdvs_log (VDVS_LOG_INFO, "Stopped", NULL);
  return 0;
}
