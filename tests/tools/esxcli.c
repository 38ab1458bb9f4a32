/* esxcli: test driver for the ESX wire protocol (tests/integration/40-esx-*).
 *
 *   esxcli [-o KEY=VALUE]... URL CMD [NAME [KEY=VALUE...]]
 *       One request through vdvs_backend_esx (create, remove, attach,
 *       detach, list, get; -o sets backend options such as retries=0).
 *       Prints the reply as the server encoded it (null, the device, the
 *       list, the volume info), or "Error: <Err text>" and exits 1.  Any
 *       other CMD (version, unknown ones) is sent as is and the raw reply
 *       printed.
 *   esxcli raw URL [--json TEXT] [--size N] [--magic HEX] [--length N]
 *                  [--no-nul] [--unprivileged]
 *       Send one crafted frame and print the reply, or "closed without
 *       reply" (exit 3).  --size pads the JSON with spaces to N bytes.
 *   esxcli hang URL
 *       Listen on URL, accept and read, never answer (a hung ESX service).
 *   esxcli par [-o KEY=VALUE]... URL CMD1 NAME1 CMD2 NAME2 ...
 *       Several get/attach/detach/remove requests at once, one thread each,
 *       over one backend handle (as vdvsd does); prints per request
 *       "CMD NAME ms=N <reply or Error: text>" in argument order.
 *   esxcli admin PATH COMMAND...
 *       One line to esxsim's admin socket; prints the answer line, exits 1
 *       when it does not start with "ok".
 * Log lines of the backend go to stderr, warnings and errors only.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vdvs/backend.h"
#include "vdvs/log.h"

#include "codec.h"
#include "esx.h"
#include "transport.h"
#include "wire.h"

static int
usage (void)
{
  fprintf (stderr,
           "usage: esxcli [-o KEY=VALUE]... URL CMD [NAME [KEY=VALUE...]]\n"
           "       esxcli raw URL [--json TEXT] [--size N] [--magic HEX] "
           "[--length N] [--no-nul] [--unprivileged]\n"
           "       esxcli hang URL\n"
           "       esxcli par [-o KEY=VALUE]... URL CMD1 NAME1 CMD2 NAME2 ...\n"
           "       esxcli admin PATH COMMAND...\n");
  return 2;
}

static int
print_error (vdvs_error_t *err)
{
  printf ("Error: %s\n", (*err)->msg);
  vdvs_error_release (err);
  return 1;
}

/* Send one request of any command and print the raw reply. */
static int
raw_request (const char *url, const char *cmd, const char *name,
             const struct vdvs_opts *opts)
{
  struct esx_addr a;
  vdvs_error_t err = NULL;
  char *json, *reply;
  size_t len;
  int fd;

  if (esx_addr_parse (url, &a, &err) < 0)
    return print_error (&err);
  json = esx_request_encode (cmd, name, opts, NULL);
  fd = esx_connect (&a, true, esx_deadline_in (10000), &err);
  if (fd < 0)
    return print_error (&err);
  if (esx_wire_send (fd, json, esx_deadline_in (10000), &err) < 0
      || esx_wire_recv (fd, 0, &reply, &len, esx_deadline_in (30000), &err)
             < 0)
    {
      close (fd);
      free (json);
      return print_error (&err);
    }
  printf ("%s\n", reply);
  free (reply);
  free (json);
  close (fd);
  return 0;
}

static int
run_command (int argc, char **argv)
{
  const struct vdvs_backend *b = &vdvs_backend_esx;
  struct vdvs_opts opts = { 0 };
  vdvs_error_t err = NULL;
  const char *url, *cmd, *name = "";
  char *out = NULL;
  void *h;
  int i = 1, r;

  for (; i + 1 < argc && strcmp (argv[i], "-o") == 0; i += 2)
    {
      char *eq = strchr (argv[i + 1], '=');
      if (eq == NULL)
        return usage ();
      *eq = '\0';
      if (b->config (argv[i + 1], eq + 1, &err) < 0)
        return print_error (&err);
    }
  if (argc - i < 2)
    return usage ();
  url = argv[i++];
  cmd = argv[i++];
  if (i < argc)
    name = argv[i++];
  for (; i < argc; i++)
    {
      char *eq = strchr (argv[i], '=');
      if (eq == NULL)
        return usage ();
      *eq = '\0';
      vdvs_opts_set (&opts, argv[i], eq + 1);
    }
  if (b->config ("esx", url, &err) < 0)
    return print_error (&err);

  if (strcmp (cmd, "create") && strcmp (cmd, "remove")
      && strcmp (cmd, "attach") && strcmp (cmd, "detach")
      && strcmp (cmd, "list") && strcmp (cmd, "get"))
    {
      r = raw_request (url, cmd, name, &opts);
      vdvs_opts_clear (&opts);
      return r;
    }

  if (b->open (&h, &err) < 0)
    return print_error (&err);
  if (strcmp (cmd, "create") == 0)
    r = b->create (h, name, &opts, &err);
  else if (strcmp (cmd, "remove") == 0)
    r = b->remove (h, name, &opts, &err);
  else if (strcmp (cmd, "detach") == 0)
    r = b->detach (h, name, &err);
  else if (strcmp (cmd, "attach") == 0)
    {
      struct vdvs_device d;
      r = b->attach (h, name, &d, &err);
      if (r == 0)
        out = esx_reply_device (&d);
    }
  else if (strcmp (cmd, "list") == 0)
    {
      struct vdvs_volume_list l = { 0 };
      r = b->list (h, &l, &err);
      if (r == 0)
        out = esx_reply_list (&l);
      vdvs_volume_list_clear (&l);
    }
  else
    {
      struct vdvs_volume_info info = { 0 };
      r = b->get (h, name, &info, &err);
      if (r == 0)
        out = esx_reply_info (&info);
      vdvs_volume_info_clear (&info);
    }
  b->close (h);
  vdvs_opts_clear (&opts);
  if (r < 0)
    return print_error (&err);
  printf ("%s\n", out ? out : "null");
  free (out);
  return 0;
}

static int
run_raw (int argc, char **argv)
{
  const char *json = "{\"cmd\":\"list\",\"details\":{\"Name\":\"\"},"
                     "\"version\":\"2\"}";
  unsigned long magic = ESX_WIRE_MAGIC, size = 0;
  long length = -1;
  bool nul = true, privileged = true;
  struct esx_addr a;
  vdvs_error_t err = NULL;
  uint8_t hdr[8];
  char *body, *reply;
  size_t blen, rlen;
  int fd;

  if (argc < 3)
    return usage ();
  for (int i = 3; i < argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0 && i + 1 < argc)
        json = argv[++i];
      else if (strcmp (argv[i], "--size") == 0 && i + 1 < argc)
        size = strtoul (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--magic") == 0 && i + 1 < argc)
        magic = strtoul (argv[++i], NULL, 16);
      else if (strcmp (argv[i], "--length") == 0 && i + 1 < argc)
        length = strtol (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--no-nul") == 0)
        nul = false;
      else if (strcmp (argv[i], "--unprivileged") == 0)
        privileged = false;
      else
        return usage ();
    }
  blen = strlen (json) > size ? strlen (json) : size;
  body = malloc (blen + 1);
  memset (body, ' ', blen);
  memcpy (body, json, strlen (json));
  body[blen] = '\0';
  if (nul)
    blen++;
  if (length < 0)
    length = (long) blen;
  for (int k = 0; k < 4; k++)
    {
      hdr[k] = (uint8_t) (magic >> (8 * k));
      hdr[4 + k] = (uint8_t) ((unsigned long) length >> (8 * k));
    }

  if (esx_addr_parse (argv[2], &a, &err) < 0)
    return print_error (&err);
  fd = esx_connect (&a, privileged, esx_deadline_in (10000), &err);
  if (fd < 0)
    return print_error (&err);
  /* The server may close early (bad magic, too large): keep going and
   * see whether a reply comes. */
  if (esx_wire_write_all (fd, hdr, sizeof hdr, esx_deadline_in (5000), NULL)
      == 0)
    esx_wire_write_all (fd, body, blen, esx_deadline_in (5000), NULL);
  shutdown (fd, SHUT_WR);
  free (body);
  if (esx_wire_recv (fd, 0, &reply, &rlen, esx_deadline_in (30000), &err) < 0)
    {
      int timed_out = err->status == ETIMEDOUT;
      vdvs_error_release (&err);
      close (fd);
      printf ("%s\n",
              timed_out ? "no reply (timed out)" : "closed without reply");
      return 3;
    }
  printf ("%s\n", reply);
  free (reply);
  close (fd);
  return 0;
}

static int
run_hang (int argc, char **argv)
{
  struct esx_addr a;
  vdvs_error_t err = NULL;
  int l;

  if (argc != 3)
    return usage ();
  if (esx_addr_parse (argv[2], &a, &err) < 0)
    return print_error (&err);
  l = esx_listen (&a, &err);
  if (l < 0)
    return print_error (&err);
  printf ("listening\n");
  fflush (stdout);
  for (;;)
    {
      int fd = accept (l, NULL, NULL);
      char buf[4096];

      if (fd < 0)
        continue;
      /* Read the request, then keep the connection open forever. */
      if (read (fd, buf, sizeof buf) < 0)
        close (fd);
    }
  return 0;
}

struct par_call
{
  void *h;
  const char *cmd, *name;
  int64_t ms;
  char *out; /* reply text or "Error: ..." */
};

static void *
par_thread (void *arg)
{
  const struct vdvs_backend *b = &vdvs_backend_esx;
  struct par_call *c = arg;
  vdvs_error_t err = NULL;
  int64_t t0 = esx_now_ms ();
  int r;

  if (strcmp (c->cmd, "attach") == 0)
    {
      struct vdvs_device d;
      r = b->attach (c->h, c->name, &d, &err);
      if (r == 0)
        c->out = esx_reply_device (&d);
    }
  else if (strcmp (c->cmd, "detach") == 0)
    r = b->detach (c->h, c->name, &err);
  else if (strcmp (c->cmd, "remove") == 0)
    r = b->remove (c->h, c->name, NULL, &err);
  else
    {
      struct vdvs_volume_info info = { 0 };
      r = b->get (c->h, c->name, &info, &err);
      if (r == 0)
        c->out = esx_reply_info (&info);
      vdvs_volume_info_clear (&info);
    }
  c->ms = esx_now_ms () - t0;
  if (r < 0)
    {
      if (asprintf (&c->out, "Error: %s", err->msg) < 0)
        c->out = NULL;
      vdvs_error_release (&err);
    }
  else if (c->out == NULL)
    c->out = strdup ("null");
  return NULL;
}

static int
run_par (int argc, char **argv)
{
  const struct vdvs_backend *b = &vdvs_backend_esx;
  struct par_call calls[16];
  pthread_t threads[16];
  vdvs_error_t err = NULL;
  void *h;
  int i = 2, n = 0, failed = 0;

  for (; i + 1 < argc && strcmp (argv[i], "-o") == 0; i += 2)
    {
      char *eq = strchr (argv[i + 1], '=');
      if (eq == NULL)
        return usage ();
      *eq = '\0';
      if (b->config (argv[i + 1], eq + 1, &err) < 0)
        return print_error (&err);
    }
  if (argc - i < 3 || (argc - i - 1) % 2 != 0 || (argc - i - 1) / 2 > 16)
    return usage ();
  if (b->config ("esx", argv[i], &err) < 0 || b->open (&h, &err) < 0)
    return print_error (&err);
  for (int k = i + 1; k < argc; k += 2, n++)
    {
      calls[n] = (struct par_call){ h, argv[k], argv[k + 1], 0, NULL };
      pthread_create (&threads[n], NULL, par_thread, &calls[n]);
    }
  for (int k = 0; k < n; k++)
    {
      pthread_join (threads[k], NULL);
      printf ("%s %s ms=%lld %s\n", calls[k].cmd, calls[k].name,
              (long long) calls[k].ms, calls[k].out ? calls[k].out : "?");
      failed |= calls[k].out == NULL
                || strncmp (calls[k].out, "Error:", 6) == 0;
      free (calls[k].out);
    }
  b->close (h);
  return failed;
}

static int
run_admin (int argc, char **argv)
{
  struct esx_addr a = { .transport = ESX_TRANSPORT_UNIX };
  vdvs_error_t err = NULL;
  char line[1024] = "", answer[4096];
  size_t n = 0;
  int fd;

  if (argc < 4 || strlen (argv[2]) >= sizeof a.path)
    return usage ();
  strcpy (a.path, argv[2]);
  for (int i = 3; i < argc; i++)
    snprintf (line + strlen (line), sizeof line - strlen (line), "%s%s",
              i > 3 ? " " : "", argv[i]);
  strncat (line, "\n", sizeof line - strlen (line) - 1);
  fd = esx_connect (&a, false, esx_deadline_in (5000), &err);
  if (fd < 0)
    return print_error (&err);
  if (esx_wire_write_all (fd, line, strlen (line), esx_deadline_in (5000),
                          &err)
      < 0)
    {
      close (fd);
      return print_error (&err);
    }
  while (n < sizeof answer - 1)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      ssize_t r;

      if (poll (&p, 1, 60000) <= 0)
        break;
      r = read (fd, answer + n, sizeof answer - 1 - n);
      if (r <= 0)
        break;
      n += (size_t) r;
    }
  close (fd);
  answer[n] = '\0';
  fputs (answer, stdout);
  return strncmp (answer, "ok", 2) == 0 ? 0 : 1;
}

int
main (int argc, char **argv)
{
  vdvs_log_setup (VDVS_LOG_WARN, -1);
  if (argc >= 2 && strcmp (argv[1], "par") == 0)
    return run_par (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "admin") == 0)
    return run_admin (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "raw") == 0)
    return run_raw (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "hang") == 0)
    return run_hang (argc, argv);
  return run_command (argc, argv);
}
