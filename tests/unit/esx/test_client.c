/* The esx backend (vdvs_backend_esx) against a scripted fake service on a
 * unix (or tcp) socket: requests on the wire, reply mapping, changes sent
 * at most once and waited for without a time limit, bounded and retried
 * reads, and calls that do not wait for each other. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "esx.h"
#include "t_esx.h"
#include "transport.h"
#include "wire.h"

/* What the fake service does with connection number i. */
enum action
{
  REPLY, /* read the request, send replies[i] */
  DROP,  /* read the request, close without a reply */
  HANG,  /* read the request, never answer */
  SLOW,  /* read the request, wait delay_ms, send replies[i] */
};

#define MAX_CONN 16

static struct
{
  char dir[64];
  char url[128];
  int listen_fd;
  pthread_t thread;
  enum action actions[MAX_CONN];
  const char *replies[MAX_CONN];
  char *requests[MAX_CONN]; /* what was received */
  int served;
  int hung[MAX_CONN];
  int delay_ms;
  int start_after_ms; /* fake_start: listen only after this long */
} fake;

static void *
fake_serve (void *arg)
{
  (void) arg;
  for (int i = 0; i < MAX_CONN; i++)
    {
      int fd = accept (fake.listen_fd, NULL, NULL);
      char *json;
      size_t len;

      if (fd < 0)
        return NULL;
      if (esx_wire_recv (fd, ESX_WIRE_SERVER_MAX, &json, &len, -1, NULL) == 0)
        fake.requests[i] = json;
      fake.served = i + 1;
      switch (fake.actions[i])
        {
        case REPLY:
          esx_wire_send (fd, fake.replies[i] ? fake.replies[i] : "null", -1,
                         NULL);
          close (fd);
          break;
        case DROP:
          close (fd);
          break;
        case HANG:
          fake.hung[i] = fd;
          break;
        case SLOW:
          usleep ((useconds_t) fake.delay_ms * 1000);
          esx_wire_send (fd, fake.replies[i] ? fake.replies[i] : "null", -1,
                         NULL);
          close (fd);
          break;
        }
    }
  return NULL;
}

/* Listen (after start_after_ms, so that the first connects fail), then
 * serve. */
static void *
fake_listen_and_serve (void *arg)
{
  struct esx_addr a;

  (void) arg;
  usleep ((useconds_t) fake.start_after_ms * 1000);
  cr_assert_eq (esx_addr_parse (fake.url, &a, NULL), 0);
  fake.listen_fd = esx_listen (&a, NULL);
  cr_assert_geq (fake.listen_fd, 0);
  return fake_serve (NULL);
}

static void
fake_start (void)
{
  struct esx_addr a;

  strcpy (fake.dir, "/tmp/esx-client-XXXXXX");
  cr_assert_not_null (mkdtemp (fake.dir));
  snprintf (fake.url, sizeof fake.url, "unix://%s/esx.sock", fake.dir);
  if (fake.start_after_ms > 0)
    {
      pthread_create (&fake.thread, NULL, fake_listen_and_serve, NULL);
      return;
    }
  cr_assert_eq (esx_addr_parse (fake.url, &a, NULL), 0);
  fake.listen_fd = esx_listen (&a, NULL);
  cr_assert_geq (fake.listen_fd, 0);
  pthread_create (&fake.thread, NULL, fake_serve, NULL);
}

/* The same fake on 127.0.0.1 (the client then needs source-port=any
 * unless it runs as root). */
static void
fake_start_tcp (void)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  struct esx_addr a;

  strcpy (fake.dir, "/nonexistent");
  cr_assert_eq (esx_addr_parse ("tcp://127.0.0.1:1", &a, NULL), 0);
  a.port = 0;
  fake.listen_fd = esx_listen (&a, NULL);
  cr_assert_geq (fake.listen_fd, 0);
  cr_assert_eq (getsockname (fake.listen_fd, (struct sockaddr *) &sin, &len),
                0);
  snprintf (fake.url, sizeof fake.url, "tcp://127.0.0.1:%d",
            (int) ntohs (sin.sin_port));
  pthread_create (&fake.thread, NULL, fake_serve, NULL);
}

static void
cleanup (void)
{
  char path[128];

  snprintf (path, sizeof path, "%s/esx.sock", fake.dir);
  unlink (path);
  rmdir (fake.dir);
}

TestSuite (client, .fini = cleanup, .timeout = 30);

static void *
open_backend (const char *extra_key, const char *extra_value)
{
  void *h = NULL;
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_backend_esx.config ("esx", fake.url, NULL), 0);
  cr_assert_eq (vdvs_backend_esx.config ("retry-delay", "0.05", NULL), 0);
  cr_assert_eq (vdvs_backend_esx.config ("timeout", "5", NULL), 0);
  if (extra_key)
    cr_assert_eq (vdvs_backend_esx.config (extra_key, extra_value, NULL), 0);
  cr_assert_eq (vdvs_backend_esx.open (&h, &err), 0);
  return h;
}

Test (client, requests_on_the_wire)
{
  struct vdvs_opts o = { 0 };
  struct vdvs_device d;
  struct vdvs_volume_list l;
  struct vdvs_volume_info info;
  void *h;

  fake.replies[1] = "{\"Unit\": \"1\", \"ControllerPciSlotNumber\": \"224\", "
                    "\"ControllerPciBusNumber\": \"17.0\"}";
  fake.replies[3] = "[{\"Name\": \"MyVolume@datastore1\", \"Attributes\": {}}]";
  fake.replies[4] = "{\"created by VM\": \"vm1\", \"status\": \"detached\", "
                    "\"capacity\": {\"size\": \"10GB\", \"allocated\": "
                    "\"0\"}, \"datastore\": \"datastore1\"}";
  fake_start ();
  h = open_backend (NULL, NULL);
  vdvs_opts_set (&o, "size", "10gb");
  vdvs_opts_set (&o, "fstype", "ext4");
  cr_assert_eq (vdvs_backend_esx.create (h, "MyVolume", &o, NULL), 0);
  cr_assert_eq (vdvs_backend_esx.attach (h, "MyVolume", &d, NULL), 0);
  cr_assert_str_eq (d.unit, "1");
  cr_assert_str_eq (d.pci_bus, "17.0");
  cr_assert_eq (vdvs_backend_esx.detach (h, "MyVolume", NULL), 0);
  cr_assert_eq (vdvs_backend_esx.list (h, &l, NULL), 0);
  cr_assert_eq (l.n, 1);
  cr_assert_str_eq (l.names[0], "MyVolume@datastore1");
  cr_assert_eq (vdvs_backend_esx.get (h, "MyVolume", &info, NULL), 0);
  cr_assert_str_eq (info.capacity_size, "10GB");
  cr_assert_str_eq (info.datastore, "datastore1");
  cr_assert_null (info.attached_to_vm);
  vdvs_backend_esx.remove (h, "MyVolume", NULL, NULL);

  cr_assert_str_eq (fake.requests[0],
                    "{\"cmd\":\"create\",\"details\":{\"Name\":\"MyVolume\","
                    "\"Opts\":{\"fstype\":\"ext4\",\"size\":\"10gb\"}},"
                    "\"version\":\"2\"}");
  cr_assert_str_eq (fake.requests[1], "{\"cmd\":\"attach\",\"details\":{"
                                      "\"Name\":\"MyVolume\"},\"version\":"
                                      "\"2\"}");
  cr_assert_str_eq (fake.requests[2], "{\"cmd\":\"detach\",\"details\":{"
                                      "\"Name\":\"MyVolume\"},\"version\":"
                                      "\"2\"}");
  cr_assert_str_eq (fake.requests[3], "{\"cmd\":\"list\",\"details\":{"
                                      "\"Name\":\"\"},\"version\":\"2\"}");
  cr_assert_str_eq (fake.requests[5], "{\"cmd\":\"remove\",\"details\":{"
                                      "\"Name\":\"MyVolume\"},\"version\":"
                                      "\"2\"}");
  vdvs_volume_list_clear (&l);
  vdvs_volume_info_clear (&info);
  vdvs_opts_clear (&o);
  vdvs_backend_esx.close (h);
}

Test (client, error_reply_verbatim)
{
  const char *msg = "Volume nosuch not found (file: /vmfs/volumes/datastore1/"
                    "dockvols/_DEFAULT/nosuch.vmdk)";
  struct vdvs_volume_info info;
  vdvs_error_t err = NULL;
  char *reply = esx_reply_error (msg);
  void *h;

  fake.replies[0] = reply;
  fake_start ();
  h = open_backend (NULL, NULL);
  cr_assert_lt (vdvs_backend_esx.get (h, "nosuch", &info, &err), 0);
  cr_assert_str_eq (err->msg, msg);
  cr_assert_eq (err->status, ENOENT);
  /* An error reply is an answer, not a transport failure: no retry. */
  cr_assert_eq (fake.served, 1);
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
  free (reply);
}

/* Create of v answered "already exists" by the service is that error,
 * with the service's words. */
static void
expect_create_exists (void *h)
{
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_backend_esx.create (h, "v", NULL, &err), 0);
  cr_assert_eq (err->status, EEXIST);
  cr_assert_str_eq (err->msg, "File /x/v.vmdk already exists");
  vdvs_error_release (&err);
}

Test (client, first_try_already_exists_is_an_error)
{
  void *h;

  fake.replies[0] = "{\"Error\": \"File /x/v.vmdk already exists\"}";
  fake_start ();
  h = open_backend (NULL, NULL);
  expect_create_exists (h);
  vdvs_backend_esx.close (h);
}

Test (client, retries_exhausted)
{
  vdvs_error_t err = NULL;
  void *h;

  for (int i = 0; i < MAX_CONN; i++)
    fake.actions[i] = DROP;
  fake_start ();
  h = open_backend ("retries", "3");
  /* A read is retried even after it went out: it changes nothing. */
  cr_assert_lt (vdvs_backend_esx.list (h, &(struct vdvs_volume_list){ 0 },
                                       &err),
                0);
  cr_assert_eq (fake.served, 4);
  cr_assert_eq (err->status, EBADMSG);
  cr_assert_str_eq (err->msg, "Run 'list' failed: Bad message (errno=74) - "
                              "Failed to receive magic data: received 0 "
                              "expected 4 bytes (connection closed by peer)");
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
}

/* A create whose reply takes longer than the configured timeout (as a big
 * eagerzeroedthick create or a clone does on ESX) is waited for: the
 * timeout bounds the connect, not the work. */
static void
long_create_succeeds (void)
{
  vdvs_error_t err = NULL;
  int64_t t0;
  void *h;

  h = open_backend ("timeout", "0.5");
  t0 = esx_now_ms ();
  cr_assert_eq (vdvs_backend_esx.create (h, "big", NULL, &err), 0, "%s",
                err ? err->msg : "");
  cr_assert_geq (esx_now_ms () - t0, 1400);
  cr_assert_eq (fake.served, 1);
  cr_assert_not_null (strstr (fake.requests[0], "\"cmd\":\"create\""));
  vdvs_backend_esx.close (h);
}

Test (client, long_create_waits_for_the_reply_unix)
{
  fake.actions[0] = SLOW;
  fake.delay_ms = 1500;
  fake_start ();
  long_create_succeeds ();
}

Test (client, long_create_waits_for_the_reply_tcp)
{
  fake.actions[0] = SLOW;
  fake.delay_ms = 1500;
  fake_start_tcp ();
  cr_assert_eq (vdvs_backend_esx.config ("source-port", "any", NULL), 0);
  long_create_succeeds ();
}

/* A change whose connection breaks after the request went out is not sent
 * again: ESX may be carrying it out.  The error says so. */
Test (client, change_dropped_after_send_is_not_resent)
{
  static const char *cmds[] = { "create", "clone", "remove", "attach",
                                "detach" };
  struct vdvs_opts clone = { 0 };
  struct vdvs_device d;
  void *h;

  for (int i = 0; i < MAX_CONN; i++)
    fake.actions[i] = DROP;
  fake_start ();
  h = open_backend ("retries", "5");
  vdvs_opts_set (&clone, "clone-from", "src");
  for (int i = 0; i < 5; i++)
    {
      vdvs_error_t err = NULL;
      int r;

      switch (i)
        {
        case 0:
          r = vdvs_backend_esx.create (h, "v", NULL, &err);
          break;
        case 1:
          r = vdvs_backend_esx.create (h, "v", &clone, &err);
          break;
        case 2:
          r = vdvs_backend_esx.remove (h, "v", NULL, &err);
          break;
        case 3:
          r = vdvs_backend_esx.attach (h, "v", &d, &err);
          break;
        default:
          r = vdvs_backend_esx.detach (h, "v", &err);
          break;
        }
      cr_assert_lt (r, 0, "%s", cmds[i]);
      cr_assert_eq (fake.served, i + 1, "%s was sent %d times", cmds[i],
                    fake.served - i);
      cr_assert_eq (err->status, EBADMSG, "%s", cmds[i]);
      cr_assert_not_null (strstr (err->msg, " - Failed to receive magic "
                                            "data: received 0 expected 4 "
                                            "bytes (connection closed by "
                                            "peer); the request reached the "
                                            "ESX service and was not sent "
                                            "again"),
                          "%s: %s", cmds[i], err->msg);
      vdvs_error_release (&err);
    }
  cr_assert_not_null (strstr (fake.requests[1], "\"clone-from\":\"src\""));
  vdvs_opts_clear (&clone);
  vdvs_backend_esx.close (h);
}

/* Nothing was sent while the service was not listening: the connect is
 * retried, and "already exists" then is the service's answer to this very
 * request, so it stays an error (never taken as this call's success). */
Test (client, connect_retried_and_already_exists_is_an_error)
{
  void *h;

  fake.replies[0] = "{\"Error\": \"File /x/v.vmdk already exists\"}";
  fake.start_after_ms = 150;
  fake_start ();
  h = open_backend ("retries", "20");
  expect_create_exists (h);
  cr_assert_eq (fake.served, 1);
  vdvs_backend_esx.close (h);
}

/* A remove goes straight to the service (no get first), once. */
Test (client, remove_is_one_request)
{
  vdvs_error_t err = NULL;
  void *h;

  fake.replies[0] = "{\"Error\": \"Volume v not found (file: /x/v.vmdk)\"}";
  fake_start ();
  h = open_backend (NULL, NULL);
  cr_assert_lt (vdvs_backend_esx.remove (h, "v@ds1", NULL, &err), 0);
  cr_assert_eq (err->status, ENOENT);
  cr_assert_eq (fake.served, 1);
  cr_assert_str_eq (fake.requests[0], "{\"cmd\":\"remove\",\"details\":{"
                                      "\"Name\":\"v@ds1\"},\"version\":"
                                      "\"2\"}");
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
}

/* get answered with null (upstream, when a sidecar is corrupt) is ENODATA,
 * neither a volume without metadata nor "not found". */
Test (client, get_null_is_enodata)
{
  struct vdvs_volume_info info;
  vdvs_error_t err = NULL;
  void *h;

  fake.replies[0] = "null";
  fake_start ();
  h = open_backend (NULL, NULL);
  cr_assert_lt (vdvs_backend_esx.get (h, "corrupt@datastore1", &info, &err),
                0);
  cr_assert_eq (err->status, ENODATA);
  cr_assert_str_eq (err->msg, "Volume corrupt@datastore1: ESX has no "
                              "metadata for it (get answered null; its "
                              "sidecar file may be corrupt)");
  cr_assert_null (info.datastore);
  cr_assert_eq (fake.served, 1);
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
}

/* An older VIB's attach reply without ControllerPciBusNumber: the attach
 * succeeds with the field empty (the core's lookup then reports "Device
 * not found"), and the detach of that volume works. */
Test (client, attach_reply_of_an_older_vib)
{
  struct vdvs_device d;
  vdvs_error_t err = NULL;
  void *h;

  fake.replies[0] = "{\"Unit\": \"3\", \"ControllerPciSlotNumber\": "
                    "\"224\"}";
  fake_start ();
  h = open_backend (NULL, NULL);
  cr_assert_eq (vdvs_backend_esx.attach (h, "old", &d, &err), 0);
  cr_assert_str_eq (d.unit, "3");
  cr_assert_str_eq (d.pci_slot, "224");
  cr_assert_str_eq (d.pci_bus, "");
  cr_assert_eq (vdvs_backend_esx.detach (h, "old", &err), 0);
  cr_assert_eq (fake.served, 2);
  cr_assert_str_eq (fake.requests[1], "{\"cmd\":\"detach\",\"details\":{"
                                      "\"Name\":\"old\"},\"version\":"
                                      "\"2\"}");
  vdvs_backend_esx.close (h);
}

/* An attach reply that cannot be decoded: the disk may be attached, so the
 * client detaches it before failing (as upstream's Attach does). */
Test (client, undecodable_attach_reply_detaches)
{
  struct vdvs_device d;
  vdvs_error_t err = NULL;
  void *h;

  fake.replies[0] = "{\"Unit\": 0, \"ControllerPciBusNumber\": \"17.0\"}";
  fake_start ();
  h = open_backend (NULL, NULL);
  cr_assert_lt (vdvs_backend_esx.attach (h, "bad", &d, &err), 0);
  cr_assert_eq (err->status, EBADMSG);
  cr_assert_str_eq (err->msg, "Invalid attach reply from ESX: no string Unit");
  cr_assert_eq (fake.served, 2);
  cr_assert_str_eq (fake.requests[1], "{\"cmd\":\"detach\",\"details\":{"
                                      "\"Name\":\"bad\"},\"version\":"
                                      "\"2\"}");
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
}

Test (client, unreachable_bounded)
{
  vdvs_error_t err = NULL;
  void *h = NULL;
  int64_t t0;

  strcpy (fake.dir, "/nonexistent");
  strcpy (fake.url, "unix:///nonexistent/esx.sock");
  h = open_backend ("retries", "5");
  t0 = esx_now_ms ();
  cr_assert_lt (vdvs_backend_esx.list (h, &(struct vdvs_volume_list){ 0 },
                                       &err),
                0);
  /* 6 tries, 5 pauses of 50 ms. */
  cr_assert_geq (esx_now_ms () - t0, 250);
  cr_assert_eq (err->status, ENOENT);
  cr_assert_str_eq (err->msg, "Run 'list' failed: No such file or directory "
                              "(errno=2) - Failed to connect to the ESX "
                              "service at unix:///nonexistent/esx.sock: No "
                              "such file or directory");
  vdvs_error_release (&err);
  vdvs_backend_esx.config ("total-timeout", "0.2", NULL);
  vdvs_backend_esx.close (h);
  h = open_backend ("retry-delay", "1");
  t0 = esx_now_ms ();
  cr_assert_lt (vdvs_backend_esx.list (h, &(struct vdvs_volume_list){ 0 },
                                       &err),
                0);
  /* The total bound stops retrying instead of sleeping past it. */
  cr_assert_lt (esx_now_ms () - t0, 900);
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
}

struct call
{
  void *h;
  const char *name;
  int ret;
  int64_t ms;
  vdvs_error_t err;
};

static void *
do_get (void *arg)
{
  struct call *c = arg;
  struct vdvs_volume_info info;
  int64_t t0 = esx_now_ms ();

  c->ret = vdvs_backend_esx.get (c->h, c->name, &info, &c->err);
  c->ms = esx_now_ms () - t0;
  if (c->ret == 0)
    vdvs_volume_info_clear (&info);
  return NULL;
}

Test (client, hung_call_times_out_without_blocking_others)
{
  struct call slow = { 0 }, fast = { 0 };
  pthread_t t1, t2;
  void *h;

  fake.actions[0] = HANG;
  fake.replies[1] = "{\"status\": \"detached\"}";
  fake_start ();
  h = open_backend ("timeout", "1");
  slow.h = fast.h = h;
  slow.name = "hung";
  fast.name = "fine";
  pthread_create (&t1, NULL, do_get, &slow);
  while (fake.served < 1)
    usleep (1000);
  pthread_create (&t2, NULL, do_get, &fast);
  pthread_join (t2, NULL);
  pthread_join (t1, NULL);
  cr_assert_eq (fast.ret, 0);
  cr_assert_lt (fast.ms, 500, "fast call took %lld ms", (long long) fast.ms);
  cr_assert_lt (slow.ret, 0);
  cr_assert_geq (slow.ms, 900);
  /* The request went out: no retry behind a hung server. */
  cr_assert_lt (slow.ms, 1900);
  cr_assert_eq (slow.err->status, ETIMEDOUT);
  cr_assert_str_eq (slow.err->msg,
                    "Run 'get' failed: Connection timed out (errno=110) - "
                    "Failed to receive magic data: received 0 expected 4 "
                    "bytes (timed out) Cannot communicate with ESX, please "
                    "refer to the FAQ "
                    "https://github.com/vmware/vsphere-storage-for-docker/"
                    "wiki#faq");
  vdvs_error_release (&slow.err);
  vdvs_backend_esx.close (h);
}

Test (client, config_errors)
{
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_backend_esx.config ("esx", "http://x", &err), 0);
  vdvs_error_release (&err);
  cr_assert_lt (vdvs_backend_esx.config ("timeout", "soon", &err), 0);
  vdvs_error_release (&err);
  cr_assert_lt (vdvs_backend_esx.config ("retries", "-1", &err), 0);
  vdvs_error_release (&err);
  cr_assert_lt (vdvs_backend_esx.config ("bogus", "1", &err), 0);
  cr_assert_not_null (strstr (err->msg, "Unknown esx backend option 'bogus'"));
  vdvs_error_release (&err);
}

Test (client, device_roots_and_protocol_version)
{
  struct vdvs_device_roots roots;
  vdvs_error_t err = NULL;
  void *h;

  fake.replies[0] = "{\"Error\": \"mismatch\"}";
  fake_start ();
  vdvs_backend_esx.config ("sysfs-root", "/run/x/sys", NULL);
  vdvs_backend_esx.config ("dev-root", "/run/x/dev", NULL);
  setenv ("VDVS_TEST_PROTOCOL_VERSION", "1", 1);
  h = open_backend (NULL, NULL);
  vdvs_backend_esx.device_roots (h, &roots);
  cr_assert_str_eq (roots.sysfs_root, "/run/x/sys");
  cr_assert_str_eq (roots.dev_root, "/run/x/dev");
  vdvs_backend_esx.detach (h, "v", &err);
  vdvs_error_release (&err);
  cr_assert_str_eq (fake.requests[0], "{\"cmd\":\"detach\",\"details\":{"
                                      "\"Name\":\"v\"},\"version\":\"1\"}");
  vdvs_backend_esx.close (h);
}

Test (client, no_vsock_is_a_clear_error_without_retries)
{
  struct vdvs_volume_info info;
  vdvs_error_t err = NULL;
  void *h = NULL;
  int64_t t0;

  t_hide_vsock ();
  strcpy (fake.dir, "/nonexistent");
  cr_assert_eq (vdvs_backend_esx.config ("retry-delay", "1", NULL), 0);
  cr_assert_eq (vdvs_backend_esx.open (&h, &err), 0);
  t0 = esx_now_ms ();
  cr_assert_lt (vdvs_backend_esx.get (h, "v", &info, &err), 0);
  cr_assert_lt (esx_now_ms () - t0, 500);
  cr_assert_eq (err->status, EAFNOSUPPORT);
  cr_assert_not_null (strstr (err->msg, "Run 'get' failed: Address family not "
                                        "supported by protocol (errno=97) - "
                                        "Failed to create a vSocket"),
                      "%s", err->msg);
  vdvs_error_release (&err);
  vdvs_backend_esx.close (h);
}
