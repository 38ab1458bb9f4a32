/* esxsim's admin socket: one command per connection, one line back.
 *   ping                 -> ok pong
 *   vms                  -> ok <name> <uuid> <url>[; ...]
 *   power-off VM         -> ok detached=N   (VM = name or uuid)
 *   stall SECONDS [VOL [CMD]]  -> ok   (delay every request, or those
 *                                 naming VOL ("*": any), or only its
 *                                 command CMD; 0 turns it off)
 */
#include "esxsim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdvs/fsutil.h"
#include "vdvs/log.h"

#include "mock.h"
#include "wire.h"

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

void
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
          snprintf (out + k, sizeof out - k, "%s %s %s %s", i ? ";" : "",
                    sim.listeners[i].vm_name, sim.listeners[i].vm_uuid,
                    sim.listeners[i].url);
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
    admin_reply (fd,
                 "error unknown command '%s' (ping, vms, power-off VM, "
                 "stall SECONDS [VOLUME [COMMAND]])",
                 line);
}

int
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
