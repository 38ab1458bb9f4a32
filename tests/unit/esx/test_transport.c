/* ESX transports: URL parsing, unix and TCP on 127.0.0.1, the privileged
 * source port, and the vsock error path.  Never connects to a vsock CID. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t_esx.h"
#include "transport.h"
#include "wire.h"

Test (addr, parse_forms)
{
  struct esx_addr a;
  char buf[160];

  cr_assert_eq (esx_addr_parse ("vsock://", &a, NULL), 0);
  cr_assert_eq (a.transport, ESX_TRANSPORT_VSOCK);
  cr_assert_eq (a.cid, 2);
  cr_assert_eq (a.port, 1019);
  cr_assert_eq (esx_addr_parse ("vsock://3:1020", &a, NULL), 0);
  cr_assert_eq (a.cid, 3);
  cr_assert_eq (a.port, 1020);
  esx_addr_format (&a, buf, sizeof buf);
  cr_assert_str_eq (buf, "vsock://3:1020");
  cr_assert_eq (esx_addr_parse (ESX_DEFAULT_URL, &a, NULL), 0);
  cr_assert_eq (a.cid, 2);
  cr_assert_eq (a.port, 1019);
  cr_assert_eq (esx_addr_parse ("unix:///run/vdvs/esx.sock", &a, NULL), 0);
  cr_assert_eq (a.transport, ESX_TRANSPORT_UNIX);
  cr_assert_str_eq (a.path, "/run/vdvs/esx.sock");
  cr_assert_eq (esx_addr_parse ("tcp://127.0.0.1:1019", &a, NULL), 0);
  cr_assert_eq (a.transport, ESX_TRANSPORT_TCP);
  cr_assert_eq (a.port, 1019);
  cr_assert_eq (a.ip, htonl (INADDR_LOOPBACK));
  esx_addr_format (&a, buf, sizeof buf);
  cr_assert_str_eq (buf, "tcp://127.0.0.1:1019");
}

Test (addr, parse_errors)
{
  const char *bad[] = { "http://x",
                        "vsock://x:1",
                        "vsock://2:",
                        "vsock://2:-1",
                        "unix://relative",
                        "tcp://localhost:1019",
                        "tcp://127.0.0.1",
                        "tcp://127.0.0.1:0",
                        "tcp://127.0.0.1:70000",
                        "",
                        NULL };
  for (int i = 0; bad[i]; i++)
    {
      struct esx_addr a;
      vdvs_error_t err = NULL;
      cr_assert_lt (esx_addr_parse (bad[i], &a, &err), 0, "%s", bad[i]);
      cr_assert_not_null (strstr (err->msg, "Invalid ESX service URL"));
      cr_assert_eq (err->status, EINVAL);
      vdvs_error_release (&err);
    }
}

Test (vsock, missing_family_is_clear)
{
  struct esx_addr a;
  vdvs_error_t err = NULL;

  /* Only the error path is testable here: with vsock present a connect
   * would go to a real CID, which tests never do. */
  t_hide_vsock ();
  cr_assert_lt (socket (AF_VSOCK, SOCK_STREAM, 0), 0);
  cr_assert_eq (esx_addr_parse ("vsock://2:1019", &a, NULL), 0);
  cr_assert_lt (esx_connect (&a, true, esx_deadline_in (1000), &err), 0);
  cr_assert_eq (err->status, EAFNOSUPPORT);
  cr_assert_not_null (strstr (err->msg, "(errno=97)"), "%s", err->msg);
  cr_assert_not_null (strstr (err->msg, "open-vm-tools"));
  cr_assert_not_null (strstr (err->msg, "FAQ"));
  vdvs_error_release (&err);
}

Test (unixsock, unreachable)
{
  struct esx_addr a;
  vdvs_error_t err = NULL;

  esx_addr_parse ("unix:///nonexistent/esx.sock", &a, NULL);
  cr_assert_lt (esx_connect (&a, true, esx_deadline_in (1000), &err), 0);
  cr_assert_eq (err->status, ENOENT);
  cr_assert_str_eq (err->msg, "Failed to connect to the ESX service at "
                              "unix:///nonexistent/esx.sock: No such file or "
                              "directory");
  vdvs_error_release (&err);
}

Test (unixsock, listen_connect_and_stale_socket)
{
  char dir[] = "/tmp/esx-test-XXXXXX", url[128];
  struct esx_addr a;
  vdvs_error_t err = NULL;
  int l, c, s;
  char *json;
  size_t len;

  cr_assert_not_null (mkdtemp (dir));
  snprintf (url, sizeof url, "unix://%s/esx.sock", dir);
  cr_assert_eq (esx_addr_parse (url, &a, NULL), 0);
  l = esx_listen (&a, NULL);
  cr_assert_geq (l, 0);
  c = esx_connect (&a, true, esx_deadline_in (1000), NULL);
  cr_assert_geq (c, 0);
  s = accept (l, NULL, NULL);
  cr_assert_eq (esx_wire_send (c, "{\"cmd\":\"list\"}", -1, NULL), 0);
  cr_assert_eq (esx_wire_recv (s, 4096, &json, &len, -1, NULL), 0);
  cr_assert_str_eq (json, "{\"cmd\":\"list\"}");
  free (json);
  close (c);
  close (s);
  /* A live listener is not replaced. */
  cr_assert_lt (esx_listen (&a, &err), 0);
  cr_assert_eq (err->status, EADDRINUSE);
  vdvs_error_release (&err);
  close (l);
  /* A dead server's socket file is cleaned up. */
  l = esx_listen (&a, NULL);
  cr_assert_geq (l, 0);
  close (l);
  unlink (a.path);
  rmdir (dir);
}

static int
tcp_listener (struct esx_addr *a)
{
  struct sockaddr_in in;
  socklen_t len = sizeof in;
  int l;

  esx_addr_parse ("tcp://127.0.0.1:1", a, NULL);
  a->port = 0;
  l = esx_listen (a, NULL);
  cr_assert_geq (l, 0);
  getsockname (l, (struct sockaddr *) &in, &len);
  a->port = ntohs (in.sin_port);
  return l;
}

static int
peer_port (int l, int *conn)
{
  struct sockaddr_in in;
  socklen_t len = sizeof in;

  *conn = accept (l, (struct sockaddr *) &in, &len);
  cr_assert_geq (*conn, 0);
  return ntohs (in.sin_port);
}

Test (tcp, privileged_source_port_round_robin)
{
  struct esx_addr a;
  int l, c1, c2, s1, s2, p1, p2;

  if (geteuid () != 0)
    cr_skip_test ("binding ports below 1024 needs root");
  l = tcp_listener (&a);
  c1 = esx_connect (&a, true, esx_deadline_in (2000), NULL);
  cr_assert_geq (c1, 0);
  p1 = peer_port (l, &s1);
  c2 = esx_connect (&a, true, esx_deadline_in (2000), NULL);
  cr_assert_geq (c2, 0);
  p2 = peer_port (l, &s2);
  cr_assert (p1 >= 100 && p1 <= 1023, "port %d", p1);
  cr_assert (p2 >= 100 && p2 <= 1023, "port %d", p2);
  cr_assert_neq (p1, p2);
  close (c1);
  close (c2);
  close (s1);
  close (s2);
  close (l);
}

Test (tcp, skips_ports_in_use)
{
  struct esx_addr a;
  int l, blockers[8], c, s, p;

  if (geteuid () != 0)
    cr_skip_test ("binding ports below 1024 needs root");
  l = tcp_listener (&a);
  /* Find the next port of the counter, then occupy it and a few after. */
  c = esx_connect (&a, true, esx_deadline_in (2000), NULL);
  p = peer_port (l, &s);
  close (c);
  close (s);
  for (int i = 0; i < 8; i++)
    {
      struct sockaddr_in in = { .sin_family = AF_INET,
                                .sin_port = htons (
                                    p + 1 + i > 1023 ? 100 + i : p + 1 + i) };
      blockers[i] = socket (AF_INET, SOCK_STREAM, 0);
      bind (blockers[i], (struct sockaddr *) &in, sizeof in);
    }
  c = esx_connect (&a, true, esx_deadline_in (2000), NULL);
  cr_assert_geq (c, 0);
  p = peer_port (l, &s);
  cr_assert (p >= 100 && p <= 1023);
  close (c);
  close (s);
  for (int i = 0; i < 8; i++)
    close (blockers[i]);
  close (l);
}

Test (tcp, any_source_port)
{
  struct esx_addr a;
  int l, c, s, p;

  l = tcp_listener (&a);
  c = esx_connect (&a, false, esx_deadline_in (2000), NULL);
  cr_assert_geq (c, 0);
  p = peer_port (l, &s);
  cr_assert_geq (p, 1024);
  close (c);
  close (s);
  close (l);
}

Test (tcp, refused)
{
  struct esx_addr a;
  vdvs_error_t err = NULL;
  int l = tcp_listener (&a);

  close (l);
  cr_assert_lt (esx_connect (&a, false, esx_deadline_in (2000), &err), 0);
  cr_assert_eq (err->status, ECONNREFUSED);
  cr_assert_not_null (strstr (err->msg, "Connection refused"));
  vdvs_error_release (&err);
}
