/* The ESX JSON codec against the reference's example messages, byte for
 * byte, in both directions. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "wire.h"

static void
check_request (const char *cmd, const char *name, const struct vdvs_opts *o,
               const char *expected)
{
  char *s = esx_request_encode (cmd, name, o, "2");
  cr_assert_not_null (s);
  cr_assert_str_eq (s, expected);
  free (s);
}

Test (request, get_example_frame_bytes)
{
  static const char json[] = "{\"cmd\":\"get\",\"details\":{\"Name\":\"vol1\"},"
                             "\"version\":\"2\"}";
  static const uint8_t head[] = { 0xef, 0xbe, 0xad, 0x0b, 0x36, 0, 0, 0 };
  char *s = esx_request_encode ("get", "vol1", NULL, "2");
  uint8_t *frame;
  size_t len;

  cr_assert_str_eq (s, json);
  cr_assert_eq (strlen (s), 53);
  cr_assert_eq (esx_wire_frame (s, strlen (s), &frame, &len, NULL), 0);
  cr_assert_eq (len, 8 + 54);
  cr_assert_arr_eq (frame, head, 8);
  cr_assert_arr_eq (frame + 8, json, 53);
  cr_assert_eq (frame[61], 0);
  free (frame);
  free (s);
}

Test (request, create_opts_sorted)
{
  struct vdvs_opts o = { 0 };

  vdvs_opts_set (&o, "size", "10gb");
  vdvs_opts_set (&o, "fstype", "ext4");
  check_request ("create", "MyVolume", &o,
                 "{\"cmd\":\"create\",\"details\":{\"Name\":\"MyVolume\","
                 "\"Opts\":{\"fstype\":\"ext4\",\"size\":\"10gb\"}},"
                 "\"version\":\"2\"}");
  vdvs_opts_clear (&o);
}

Test (request, transcripts)
{
  struct vdvs_opts o = { 0 };

  check_request ("attach", "MyVolume", NULL,
                 "{\"cmd\":\"attach\",\"details\":{\"Name\":\"MyVolume\"},"
                 "\"version\":\"2\"}");
  check_request ("detach", "MyVolume", &o,
                 "{\"cmd\":\"detach\",\"details\":{\"Name\":\"MyVolume\"},"
                 "\"version\":\"2\"}");
  check_request ("list", "", NULL,
                 "{\"cmd\":\"list\",\"details\":{\"Name\":\"\"},"
                 "\"version\":\"2\"}");
  vdvs_opts_set (&o, "size", "100mbb");
  vdvs_opts_set (&o, "fstype", "ext4");
  check_request ("create", "v", &o,
                 "{\"cmd\":\"create\",\"details\":{\"Name\":\"v\",\"Opts\":{"
                 "\"fstype\":\"ext4\",\"size\":\"100mbb\"}},\"version\":\"2\"}");
  vdvs_opts_clear (&o);
}

Test (request, go_escaping)
{
  /* <, >, & are HTML-escaped, U+2028/2029 escaped, other non-ASCII raw,
   * DEL raw, invalid UTF-8 becomes \ufffd. */
  check_request ("get", "a<b>&c\"d\\e\n\r\t\x01\x08\x0c\x7f", NULL,
                 "{\"cmd\":\"get\",\"details\":{\"Name\":\"a\\u003cb\\u003e"
                 "\\u0026c\\\"d\\\\e\\n\\r\\t\\u0001\\u0008\\u000c\x7f\"},"
                 "\"version\":\"2\"}");
  check_request ("get", "Volume-\xe4\xbd\xa0\xe2\x80\xa8\xe2\x80\xa9\xff",
                 NULL,
                 "{\"cmd\":\"get\",\"details\":{\"Name\":\"Volume-\xe4\xbd\xa0"
                 "\\u2028\\u2029\\ufffd\"},\"version\":\"2\"}");
}

Test (request, version_default_and_override)
{
  char *s = esx_request_encode ("get", "v", NULL, NULL);
  cr_assert_str_eq (s, "{\"cmd\":\"get\",\"details\":{\"Name\":\"v\"},"
                       "\"version\":\"2\"}");
  free (s);
  s = esx_request_encode ("get", "v", NULL, "1");
  cr_assert_str_eq (s, "{\"cmd\":\"get\",\"details\":{\"Name\":\"v\"},"
                       "\"version\":\"1\"}");
  free (s);
}

Test (request, decode_round_trip)
{
  struct vdvs_opts o = { 0 };
  struct esx_request r;
  char *s;

  vdvs_opts_set (&o, "size", "10gb");
  vdvs_opts_set (&o, "diskformat", "thin");
  s = esx_request_encode ("create", "a<b@datastore1", &o, "2");
  cr_assert_eq (esx_request_decode (s, strlen (s), &r, NULL), 0);
  cr_assert_str_eq (r.cmd, "create");
  cr_assert_str_eq (r.name, "a<b@datastore1");
  cr_assert_eq (r.version, 2);
  cr_assert_eq (r.opts.n, 2);
  cr_assert_str_eq (vdvs_opts_get (&r.opts, "size"), "10gb");
  cr_assert_str_eq (vdvs_opts_get (&r.opts, "diskformat"), "thin");
  esx_request_clear (&r);
  vdvs_opts_clear (&o);
  free (s);
}

Test (request, decode_version_rules)
{
  struct esx_request r;
  vdvs_error_t err = NULL;
  const char *absent = "{\"cmd\":\"get\",\"details\":{\"Name\":\"v\"}}";
  const char *num =
      "{\"version\":3,\"cmd\":\"get\",\"details\":{\"Name\":\"v\"}}";
  const char *str =
      "{\"cmd\":\"get\",\"details\":{\"Name\":\"v\"},\"version\":\" 1 \"}";
  const char *bad =
      "{\"cmd\":\"get\",\"details\":{\"Name\":\"v\"},\"version\":\"x\"}";

  cr_assert_eq (esx_request_decode (absent, strlen (absent), &r, NULL), 0);
  cr_assert_eq (r.version, 2);
  esx_request_clear (&r);
  cr_assert_eq (esx_request_decode (num, strlen (num), &r, NULL), 0);
  cr_assert_eq (r.version, 3);
  esx_request_clear (&r);
  cr_assert_eq (esx_request_decode (str, strlen (str), &r, NULL), 0);
  cr_assert_eq (r.version, 1);
  esx_request_clear (&r);
  cr_assert_lt (esx_request_decode (bad, strlen (bad), &r, &err), 0);
  cr_assert_str_eq (err->msg, "Server returned an error: ValueError(\"invalid "
                              "literal for int() with base 10: 'x'\",)");
  vdvs_error_release (&err);
}

Test (request, decode_errors)
{
  struct esx_request r;
  vdvs_error_t err = NULL;
  const char *nocmd = "{\"details\":{\"Name\":\"v\"},\"version\":\"2\"}";
  const char *nodetails = "{\"cmd\":\"get\",\"version\":\"2\"}";

  cr_assert_lt (esx_request_decode ("{bad", 4, &r, &err), 0);
  cr_assert_str_eq (err->msg, "Failed to parse json '{bad'.");
  vdvs_error_release (&err);
  cr_assert_lt (esx_request_decode (nocmd, strlen (nocmd), &r, &err), 0);
  cr_assert_str_eq (err->msg, "Server returned an error: KeyError('cmd',)");
  vdvs_error_release (&err);
  cr_assert_lt (esx_request_decode (nodetails, strlen (nodetails), &r, &err),
                0);
  cr_assert_str_eq (err->msg,
                    "Server returned an error: KeyError('details',)");
  vdvs_error_release (&err);
}

Test (request, version_mismatch_text)
{
  char *s = esx_version_mismatch_text (1, 2);
  char *reply = esx_reply_error (s);

  /* Byte for byte what vmdk_ops.py sends: its triple-quoted string keeps
   * the line breaks and the 36-space indentation of the source. */
#define IND "\\n                                    "
  cr_assert_str_eq (reply,
                    "{\"Error\": \"There is a mismatch between VDVS client "
                    "(Docker plugin) protocol version" IND "(1) and server "
                    "(ESXi) protocol version (2) which indicates different" IND
                    "versions of the product are installed on Guest and ESXi "
                    "sides," IND "please make sure VDVS plugin and driver are "
                    "from the same release version." IND "\"}");
#undef IND
  free (reply);
  free (s);
}

/* ---- replies ------------------------------------------------------ */

static const char attach_reply[] =
    "{\"Unit\": \"0\", \"ControllerPciSlotNumber\": \"224\", "
    "\"ControllerPciBusNumber\": \"17.0\"}";

static const char get_reply[] =
    "{\"created by VM\": \"photon-VM0.3\", \"created\": \"Sat Mar  4 "
    "09:26:00 2017\", \"status\": \"attached\", \"capacity\": {\"size\": "
    "\"100MB\", \"allocated\": \"13MB\"}, \"datastore\": \"sharedVmfs-0\", "
    "\"attached to VM\": \"photon-VM0.3\", \"attachedVMDevice\": {\"Unit\": "
    "\"0\", \"ControllerPciSlotNumber\": \"160\", \"ControllerPciBusNumber\": "
    "\"15.0\"}, \"fstype\": \"ext4\", \"diskformat\": \"thin\", "
    "\"attach-as\": \"independent_persistent\", \"access\": \"read-write\", "
    "\"clone-from\": \"None\", \"vsan-policy-name\": \"myPolicy\"}";

static const char list_reply[] =
    "[{\"Name\": \"vol1@datastore1\", \"Attributes\": {}}, {\"Name\": "
    "\"db@vsanDatastore\", \"Attributes\": {}}]";

Test (reply, attach_encode_and_decode)
{
  struct vdvs_device d = { "0", "224", "17.0" }, back;
  char *s = esx_reply_device (&d);
  cJSON *j;

  cr_assert_str_eq (s, attach_reply);
  cr_assert_eq (esx_reply_parse (s, strlen (s), &j, NULL), 0);
  cr_assert_eq (esx_reply_to_device (j, &back, NULL), 0);
  cr_assert_str_eq (back.unit, "0");
  cr_assert_str_eq (back.pci_slot, "224");
  cr_assert_str_eq (back.pci_bus, "17.0");
  cJSON_Delete (j);
  free (s);
}

Test (reply, get_round_trip)
{
  struct vdvs_volume_info info;
  cJSON *j;
  char *s;

  cr_assert_eq (esx_reply_parse (get_reply, strlen (get_reply), &j, NULL), 0);
  cr_assert_eq (esx_reply_to_info (j, &info, NULL), 0);
  cr_assert_str_eq (info.created_by, "photon-VM0.3");
  cr_assert_str_eq (info.created, "Sat Mar  4 09:26:00 2017");
  cr_assert_str_eq (info.capacity_size, "100MB");
  cr_assert_str_eq (info.capacity_allocated, "13MB");
  cr_assert (info.has_device);
  cr_assert_str_eq (info.device.pci_bus, "15.0");
  cr_assert_str_eq (info.vsan_policy_name, "myPolicy");
  s = esx_reply_info (&info);
  cr_assert_str_eq (s, get_reply);
  /* The generic dumper keeps member order too. */
  free (s);
  s = esx_json_dumps (j);
  cr_assert_str_eq (s, get_reply);
  free (s);
  vdvs_volume_info_clear (&info);
  cJSON_Delete (j);
}

Test (reply, get_detached_omits_keys)
{
  struct vdvs_volume_info info = { 0 };
  char *s;

  info.created_by = strdup ("vm1");
  info.created = strdup ("Wed Mar  1 20:06:02 2017");
  info.status = strdup ("detached");
  info.capacity_size = strdup ("100MB");
  info.capacity_allocated = strdup ("0");
  info.datastore = strdup ("datastore1");
  info.diskformat = strdup ("thin");
  info.attach_as = strdup ("independent_persistent");
  info.access = strdup ("read-write");
  info.clone_from = strdup ("None");
  s = esx_reply_info (&info);
  cr_assert_str_eq (s,
                    "{\"created by VM\": \"vm1\", \"created\": \"Wed Mar  "
                    "1 20:06:02 2017\", \"status\": \"detached\", "
                    "\"capacity\": {\"size\": \"100MB\", \"allocated\": "
                    "\"0\"}, \"datastore\": \"datastore1\", \"diskformat\": "
                    "\"thin\", \"attach-as\": \"independent_persistent\", "
                    "\"access\": \"read-write\", \"clone-from\": \"None\"}");
  free (s);
  vdvs_volume_info_clear (&info);
}

Test (reply, list_round_trip)
{
  struct vdvs_volume_list l, empty = { 0 };
  cJSON *j;
  char *s;

  cr_assert_eq (esx_reply_parse (list_reply, strlen (list_reply), &j, NULL),
                0);
  cr_assert_eq (esx_reply_to_list (j, &l, NULL), 0);
  cr_assert_eq (l.n, 2);
  cr_assert_str_eq (l.names[0], "vol1@datastore1");
  cr_assert_str_eq (l.names[1], "db@vsanDatastore");
  s = esx_reply_list (&l);
  cr_assert_str_eq (s, list_reply);
  free (s);
  s = esx_reply_list (&empty);
  cr_assert_str_eq (s, "[]");
  free (s);
  vdvs_volume_list_clear (&l);
  cJSON_Delete (j);
}

Test (reply, null_and_version)
{
  struct vdvs_volume_info info;
  vdvs_error_t err = NULL;
  cJSON *j;
  char *s = esx_reply_null ();

  cr_assert_str_eq (s, "null");
  cr_assert_eq (esx_reply_parse (s, 4, &j, NULL), 0);
  cr_assert (cJSON_IsNull (j));
  /* Upstream answers null to get when the sidecar is corrupt: the core
   * must be able to tell that from a volume that is not there. */
  cr_assert_lt (esx_reply_to_info (j, &info, &err), 0);
  cr_assert_eq (err->status, ENODATA);
  cr_assert_null (info.status);
  vdvs_error_release (&err);
  cJSON_Delete (j);
  free (s);
  s = esx_reply_version ("0.21.c420818-0.0.1");
  cr_assert_str_eq (s, "{\"version\": \"0.21.c420818-0.0.1\"}");
  free (s);
}

Test (reply, error_transcripts)
{
  const char *nf = "Volume nosuch not found (file: "
                   "/vmfs/volumes/datastore1/dockvols/_DEFAULT/nosuch.vmdk)";
  const char *size = "Invalid format for size. \nValid sizes must be of form "
                     "X[mMgGtT]b where X is an integer. Default = 100mb";
  vdvs_error_t err = NULL;
  cJSON *j = NULL;
  char *s;

  s = esx_reply_error (nf);
  cr_assert_str_eq (s, "{\"Error\": \"Volume nosuch not found (file: "
                       "/vmfs/volumes/datastore1/dockvols/_DEFAULT/"
                       "nosuch.vmdk)\"}");
  cr_assert_lt (esx_reply_parse (s, strlen (s), &j, &err), 0);
  cr_assert_str_eq (err->msg, nf);
  cr_assert_eq (err->status, ENOENT);
  vdvs_error_release (&err);
  free (s);

  s = esx_reply_error (size);
  cr_assert_str_eq (s, "{\"Error\": \"Invalid format for size. \\nValid sizes "
                       "must be of form X[mMgGtT]b where X is an integer. "
                       "Default = 100mb\"}");
  cr_assert_lt (esx_reply_parse (s, strlen (s), &j, &err), 0);
  cr_assert_str_eq (err->msg, size);
  cr_assert_eq (err->status, EIO);
  vdvs_error_release (&err);
  free (s);
}

Test (reply, python_escaping)
{
  char *s = esx_reply_error ("Volume-\xe4\xbd\xa0 \xf0\x9f\x98\x80 \x7f\b\f\t"
                             "\x01\"\\<&>\xc3");
  cr_assert_str_eq (s, "{\"Error\": \"Volume-\\u4f60 \\ud83d\\ude00 \\u007f"
                       "\\b\\f\\t\\u0001\\\"\\\\<&>\\ufffd\"}");
  free (s);
}

Test (reply, error_detection_like_go)
{
  vdvs_error_t err = NULL;
  cJSON *j = NULL;
  const char *lower = "{\"error\": \"File x already exists\"}";
  const char *empty = "{\"Error\": \"\"}";
  const char *nonstr = "{\"Error\": 3}";

  cr_assert_lt (esx_reply_parse (lower, strlen (lower), &j, &err), 0);
  cr_assert_eq (err->status, EEXIST);
  vdvs_error_release (&err);
  cr_assert_eq (esx_reply_parse (empty, strlen (empty), &j, NULL), 0);
  cJSON_Delete (j);
  cr_assert_eq (esx_reply_parse (nonstr, strlen (nonstr), &j, NULL), 0);
  cJSON_Delete (j);
  cr_assert_lt (esx_reply_parse ("none", 4, &j, &err), 0);
  cr_assert_eq (err->status, EBADMSG);
  vdvs_error_release (&err);
}

Test (reply, bad_shapes)
{
  struct vdvs_device d;
  struct vdvs_volume_list l;
  vdvs_error_t err = NULL;
  cJSON *j = cJSON_Parse ("{\"Unit\": 0}");

  cr_assert_lt (esx_reply_to_device (j, &d, &err), 0);
  cr_assert_eq (err->status, EBADMSG);
  vdvs_error_release (&err);
  cr_assert_lt (esx_reply_to_list (j, &l, &err), 0);
  vdvs_error_release (&err);
  cJSON_Delete (j);
  j = cJSON_Parse ("[\"0\"]");
  cr_assert_lt (esx_reply_to_device (j, &d, &err), 0);
  cr_assert_str_eq (err->msg, "Invalid attach reply from ESX: [\"0\"]");
  cr_assert_eq (err->status, EBADMSG);
  vdvs_error_release (&err);
  cJSON_Delete (j);
}

/* Older VIBs answer attach without ControllerPciBusNumber (or with the
 * 2016 {"Unit", "Bus"} shape): as the Go plugin, the missing fields are
 * empty strings, so the device lookup fails with "Device not found"
 * instead of the attach failing on the reply. */
Test (reply, attach_missing_fields_are_empty)
{
  static const struct
  {
    const char *json, *unit, *slot;
  } cases[] = {
    { "{\"Unit\": \"0\", \"ControllerPciSlotNumber\": \"224\"}", "0", "224" },
    { "{\"Unit\": \"1\", \"Bus\": \"1\"}", "1", "" },
    { "{\"unit\": \"2\", \"ControllerPciBusNumber\": null}", "2", "" },
    { "{}", "", "" },
    { "null", "", "" },
  };
  struct vdvs_device d;

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cJSON *j = cJSON_Parse (cases[i].json);
      vdvs_error_t err = NULL;

      memset (&d, 'x', sizeof d);
      cr_assert_eq (esx_reply_to_device (j, &d, &err), 0, "%s: %s",
                    cases[i].json, err ? err->msg : "");
      cr_assert_str_eq (d.unit, cases[i].unit, "%s", cases[i].json);
      cr_assert_str_eq (d.pci_slot, cases[i].slot, "%s", cases[i].json);
      cr_assert_str_eq (d.pci_bus, "", "%s", cases[i].json);
      cJSON_Delete (j);
    }
}

Test (reply, error_status_mapping)
{
  cr_assert_eq (esx_error_status ("Failed to remove volume v, in use by VM = "
                                  "vm1."),
                EBUSY);
  cr_assert_eq (esx_error_status ("Failed to add disk 'scsi1:0'. disk /x.vmdk "
                                  "already attached to VM=vm1"),
                EBUSY);
  cr_assert_eq (esx_error_status ("File /x.vmdk already exists"), EEXIST);
  cr_assert_eq (esx_error_status ("Unknown command:foo"), EIO);
}
