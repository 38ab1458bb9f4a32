/* The Docker volume plugin API (src/api.c) over the mock backend on a
 * temporary root, vmdkfs off: request parsing, reply shapes and the error
 * texts that need no loop device. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <string.h>

#include "api.h"
#include "backend_i.h"
#include "config.h"
#include "t_helpers.h"
#include "volumes.h"

static char tmp[PATH_MAX];
static struct vdvs_config cfg;
static struct vdvs_bk bk;

static void
bk_config (const char *key, const char *fmt, const char *arg)
{
  char value[PATH_MAX * 2];
  vdvs_error_t err = NULL;

  snprintf (value, sizeof value, fmt, arg);
  cr_assert_eq (vdvs_bk_config (&bk, key, value, &err), 0, "%s",
                err ? err->msg : "");
}

static void
setup_with (const char *datastores)
{
  vdvs_error_t err = NULL;

  t_mkdtemp (tmp, sizeof tmp, "api");
  cr_assert_eq (vdvs_bk_load (&bk, "mock", &err), 0);
  bk_config ("root", "%s/root", tmp);
  bk_config ("datastores", "%s", datastores);
  bk_config ("vm-name", "%s", "photon-VM0.3");
  bk_config ("vm-uuid", "%s", "564d0000-1111-2222-3333-444455556666");
  bk_config ("sysfs-root", "%s/sys", tmp);
  bk_config ("dev-root", "%s/dev", tmp);
  bk_config ("vmdkfs", "%s", "off");
  cr_assert_eq (vdvs_bk_open (&bk, &err), 0, "%s", err ? err->msg : "");

  memset (&cfg, 0, sizeof cfg);
  snprintf (cfg.mount_root, sizeof cfg.mount_root, "%s/mnt", tmp);
  snprintf (cfg.state_dir, sizeof cfg.state_dir, "%s/state", tmp);
  cfg.device_timeout_ms = 2000;
  cr_assert_eq (vdvs_volumes_init (&cfg, &bk, &err), 0, "%s",
                err ? err->msg : "");
}

static void
setup (void)
{
  setup_with ("datastore1,ds2");
}

static void
teardown (void)
{
  vdvs_bk_close (&bk);
  t_rmrf (tmp);
}

/* Call the handler; the reply must be a JSON object. */
static cJSON *
call (const char *path, const char *body)
{
  char *out = vdvs_api_handle (path, body, body ? strlen (body) : 0);
  cJSON *j;

  cr_assert_not_null (out);
  j = cJSON_Parse (out);
  cr_assert (cJSON_IsObject (j), "%s -> %s", path, out);
  free (out);
  return j;
}

static const char *
str_of (const cJSON *j, const char *key)
{
  const cJSON *s = cJSON_GetObjectItemCaseSensitive (j, key);
  cr_assert (cJSON_IsString (s), "no string `%s`", key);
  return s->valuestring;
}

/* The request fails with exactly `msg` (NULL: any non-empty Err). */
static void
expect_err (const char *path, const char *body, const char *msg)
{
  cJSON *j = call (path, body);
  const char *e = str_of (j, "Err");

  if (msg)
    cr_assert_str_eq (e, msg, "%s %s", path, body ? body : "(none)");
  else
    cr_assert_neq (e[0], '\0', "%s %s succeeded", path, body ? body : "");
  cJSON_Delete (j);
}

static void
expect_ok (const char *path, const char *body)
{
  cJSON *j = call (path, body);
  cr_assert_str_eq (str_of (j, "Err"), "", "%s %s", path, body);
  cJSON_Delete (j);
}

TestSuite (api, .init = setup, .fini = teardown);

Test (api, activate)
{
  char *out = vdvs_api_handle ("/Plugin.Activate", "", 0);
  cr_assert_str_eq (out, "{\"Implements\":[\"VolumeDriver\"]}");
  free (out);
}

Test (api, capabilities_scope_global)
{
  cJSON *j = call ("/VolumeDriver.Capabilities", "{}");
  const cJSON *c = cJSON_GetObjectItemCaseSensitive (j, "Capabilities");

  cr_assert (cJSON_IsObject (c));
  cr_assert_str_eq (str_of (c, "Scope"), "global");
  cr_assert_str_eq (str_of (j, "Err"), "");
  cJSON_Delete (j);
  /* Docker may send no body at all. */
  j = call ("/VolumeDriver.Capabilities", NULL);
  cJSON_Delete (j);
}

Test (api, unknown_endpoints)
{
  expect_err ("/VolumeDriver.Frobnicate", "{}",
              "unknown endpoint `/VolumeDriver.Frobnicate`");
  expect_err ("/Plugin.Deactivate", "{}",
              "unknown endpoint `/Plugin.Deactivate`");
  expect_err ("/", "", "unknown endpoint `/`");
}

Test (api, malformed_bodies_on_every_named_endpoint)
{
  static const char *const eps[] = {
    "/VolumeDriver.Create",  "/VolumeDriver.Remove", "/VolumeDriver.Mount",
    "/VolumeDriver.Unmount", "/VolumeDriver.Path",   "/VolumeDriver.Get",
  };
  char msg[128];

  for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++)
    {
      expect_err (eps[i], "", "request body is empty; expected a JSON object");
      snprintf (msg, sizeof msg, "request body is not valid JSON (%zu bytes)",
                strlen ("{\"Name\":"));
      expect_err (eps[i], "{\"Name\":", msg);
      expect_err (eps[i], "not json",
                  "request body is not valid JSON (8 bytes)");
      expect_err (eps[i], "[\"v\"]", "request body must be a JSON object");
      expect_err (eps[i], "\"v\"", "request body must be a JSON object");
      expect_err (eps[i], "null", "request body must be a JSON object");
      expect_err (eps[i], "{}", "request has no string `Name`");
      expect_err (eps[i], "{\"Name\":5}", "request has no string `Name`");
      expect_err (eps[i], "{\"Name\":null}", "request has no string `Name`");
      expect_err (eps[i], "{\"name\":\"v\"}", "request has no string `Name`");
      expect_err (eps[i], "{\"Name\":\"\"}",
                  "No volume with name as empty string exists");
      /* An escaped NUL would end the C string: refused as such, at the
       * start of a name or inside it. */
      expect_err (eps[i], "{\"Name\":\"\\u0000x\"}",
                  "request contains a NUL character (\\u0000) in a string; "
                  "names, IDs and options cannot hold one");
      expect_err (eps[i], "{\"Name\":\"nul\\u0000after\"}",
                  "request contains a NUL character (\\u0000) in a string; "
                  "names, IDs and options cannot hold one");
    }
}

static void make_volume (const char *name, const char *size);

/* A raw NUL byte inside a string: cJSON would end the name there and act
 * on volume `a`.  The whole body is refused, on every endpoint. */
Test (api, raw_nul_byte_in_the_body_is_refused)
{
  static const char *const eps[] = {
    "/VolumeDriver.Create",  "/VolumeDriver.Remove", "/VolumeDriver.Mount",
    "/VolumeDriver.Unmount", "/VolumeDriver.Path",   "/VolumeDriver.Get",
    "/VolumeDriver.List",
  };
  static const char body[] = "{\"Name\":\"a\0b\",\"ID\":\"x\"}";
  cJSON *j;
  char *out;

  make_volume ("a", NULL);
  for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++)
    {
      out = vdvs_api_handle (eps[i], body, sizeof body - 1);
      j = cJSON_Parse (out);
      cr_assert_str_eq (str_of (j, "Err"),
                        "request body contains a NUL byte (at offset 10); "
                        "JSON text cannot hold one",
                        "%s", eps[i]);
      cJSON_Delete (j);
      free (out);
    }
  /* `a` is untouched: still there, never mounted. */
  j = call ("/VolumeDriver.Get", "{\"Name\":\"a\"}");
  cr_assert_str_eq (str_of (j, "Err"), "");
  cJSON_Delete (j);
  j = call ("/VolumeDriver.Path", "{\"Name\":\"a\"}");
  cr_assert_str_eq (str_of (j, "Mountpoint"), "");
  cJSON_Delete (j);
}

/* The mount point /mnt/vmdk/<vol@ds> is one file name: at most 255
 * bytes.  100 characters of 4-byte UTF-8 are 400. */
Test (api, create_refuses_names_too_long_to_mount)
{
  char vol[512] = "", body[1024], msg[1024];
  const char *face = "\xf0\x9f\x98\x80"; /* U+1F600, 4 bytes */

  for (int i = 0; i < 100; i++)
    strcat (vol, face);
  snprintf (body, sizeof body, "{\"Name\":\"%s@datastore1\"}", vol);
  snprintf (msg, sizeof msg,
            "Volume name `%s@datastore1` is too long to mount: 411 bytes, "
            "over the 255-byte limit for the volume and datastore names "
            "together (in UTF-8)",
            vol);
  expect_err ("/VolumeDriver.Create", body, msg);
  snprintf (body, sizeof body, "{\"Name\":\"%s\"}", vol);
  snprintf (msg, sizeof msg,
            "Volume name `%s` is too long to mount: with `@` and a datastore "
            "name it is over 255 bytes, the limit for both names together "
            "(in UTF-8)",
            vol);
  expect_err ("/VolumeDriver.Create", body, msg);
}

#define LONG_DS "datastore-with-a-long-name-0123456789-0123456789-0123456789"

static void
setup_long_ds (void)
{
  setup_with (LONG_DS);
}

/* 55 characters (220 bytes) fit with a short datastore name, not with
 * the default one here: found once the backend has chosen it, and the
 * volume this Create made is removed again. */
Test (api, create_refuses_a_name_too_long_on_the_default_datastore,
      .init = setup_long_ds, .fini = teardown)
{
  char vol[512] = "", body[1024], msg[1024];
  DIR *d;
  struct dirent *de;

  for (int i = 0; i < 55; i++)
    strcat (vol, "\xf0\x9f\x98\x80");
  snprintf (body, sizeof body, "{\"Name\":\"%s\"}", vol);
  snprintf (msg, sizeof msg,
            "Volume name `%s@" LONG_DS "` is too long to mount: %zu bytes, "
            "over the 255-byte limit for the volume and datastore names "
            "together (in UTF-8)",
            vol, strlen (vol) + 1 + strlen (LONG_DS));
  expect_err ("/VolumeDriver.Create", body, msg);
  snprintf (body, sizeof body,
            "%s/root/" LONG_DS "/dockvols/"
            "11111111-1111-1111-1111-111111111111",
            tmp);
  d = opendir (body);
  cr_assert_not_null (d);
  while ((de = readdir (d)) != NULL)
    cr_assert (de->d_name[0] == '.', "left behind: %s", de->d_name);
  closedir (d);
}

Test (api, body_length_is_respected)
{
  /* Only `len` bytes count: the rest of the buffer is not the body. */
  const char *buf = "{\"Name\":\"v\"}garbage";
  char *out = vdvs_api_handle ("/VolumeDriver.Create", buf, 5);
  cJSON *j = cJSON_Parse (out);

  cr_assert_str_eq (str_of (j, "Err"),
                    "request body is not valid JSON (5 bytes)");
  cJSON_Delete (j);
  free (out);
}

Test (api, mount_needs_a_valid_id)
{
  char body[512], id[200];
  const char *msg = "request has no valid mount `ID` (a string of at most "
                    "128 characters)";

  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"v\"}", msg);
  expect_err ("/VolumeDriver.Unmount", "{\"Name\":\"v\"}", msg);
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"v\",\"ID\":7}", msg);
  expect_err ("/VolumeDriver.Mount", "{\"Name\":\"v\",\"ID\":\"../../x\"}",
              msg);
  memset (id, 'a', 129);
  id[129] = '\0';
  snprintf (body, sizeof body, "{\"Name\":\"v\",\"ID\":\"%s\"}", id);
  expect_err ("/VolumeDriver.Unmount", body, msg);
}

Test (api, opts_must_be_an_object_of_strings)
{
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":{\"size\":5}}",
              "option `size` must have a string value");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"v\",\"Opts\":{\"size\":null}}",
              "option `size` must have a string value");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"v\",\"Opts\":{\"a\":{\"b\":\"c\"}}}",
              "option `a` must have a string value");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":\"size=1gb\"}",
              "`Opts` must be an object or null");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":[]}",
              "`Opts` must be an object or null");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"v\",\"Opts\":{\"size\":\"1gb\",\"size\":\"2gb\"}}",
              "option `size` given twice");
}

Test (api, create_refuses_bad_names)
{
  char body[512], name[128];

  expect_err ("/VolumeDriver.Create", "{\"Name\":\"v-000001\",\"Opts\":null}",
              "\"Volume names ending with '-NNNNNN' (where N is a digit) are "
              "not supported\"");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"a/b\"}",
              "'Volume name contains illegal characters: /'");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"../x\"}",
              "'Volume name contains illegal characters: /'");
  memset (name, 'n', 101);
  name[101] = '\0';
  snprintf (body, sizeof body, "{\"Name\":\"%s\"}", name);
  expect_err ("/VolumeDriver.Create", body,
              "'Volume name is too long (max len is 100)'");
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"v@invalidDatastore\"}",
              "Invalid datastore 'invalidDatastore'.\nKnown datastores: "
              "datastore1, ds2.\nDefault datastore: datastore1");
}

Test (api, create_option_errors_are_upstream_texts)
{
  static const char *const cases[][2] = {
    { "{\"size\":\"100mbb\"}",
      "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "
      "where X is an integer. Default = 100mb" },
    { "{\"size\":\"100gbEE\"}",
      "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "
      "where X is an integer. Default = 100mb" },
    /* Sizes whose byte count does not fit an off_t (these two are 2^64
     * bytes and wrapped to 0). */
    { "{\"size\":\"16777216tb\"}",
      "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "
      "where X is an integer. Default = 100mb" },
    { "{\"size\":\"17592186044416mb\"}",
      "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "
      "where X is an integer. Default = 100mb" },
    { "{\"size\":\"8388608tb\"}",
      "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "
      "where X is an integer. Default = 100mb" },
    { "{\"sizes\":\"100mb\"}",
      "Invalid options: ['sizes'] \nValid options and defaults: [('size', "
      "'100mb'), ('vsan-policy-name', '[VSAN default]'), ('diskformat', "
      "'thin'), ('attach-as', 'independent_persistent'), ('access', "
      "'read-write'), ('fstype', 'ext4'), ('clone-from', 'None')]" },
    { "{\"diskformat\":\"zeroedthickk\"}",
      "Disk Allocation Format 'zeroedthickk' is not supported. Valid options "
      "are: ['zeroedthick', 'thin', 'eagerzeroedthick']." },
    { "{\"diskformat\":\"zeroedthick,thin\"}",
      "Disk Allocation Format 'zeroedthick,thin' is not supported. Valid "
      "options are: ['zeroedthick', 'thin', 'eagerzeroedthick']." },
    { "{\"access\":\"read-write-both\"}",
      "Access type 'read-write-both' is not supported. Valid options are: "
      "['read-write', 'read-only']" },
    { "{\"access\":\"write-only\"}",
      "Access type 'write-only' is not supported. Valid options are: "
      "['read-write', 'read-only']" },
    { "{\"attach-as\":\"nonpersistent\"}",
      "Attach type 'nonpersistent' is not supported. Valid options are: "
      "['independent_persistent', 'persistent']" },
    { "{\"vsan-policy-name\":\"gold\"}",
      "Cannot use a VSAN policy on a non-VSAN datastore" },
    { "{\"clone-from\":\"IDontExist\"}",
      "Could not find volume for cloning IDontExist" },
    { "{\"clone-from\":\"x\",\"size\":\"1gb\"}",
      "Cannot define the size for a clone" },
    { "{\"clone-from\":\"x\",\"fstype\":\"ext4\"}",
      "Cannot define the filesystem type for a clone" },
  };
  char body[512], dir[PATH_MAX * 2];
  DIR *d;
  struct dirent *de;

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      snprintf (body, sizeof body, "{\"Name\":\"v\",\"Opts\":%s}",
                cases[i][0]);
      expect_err ("/VolumeDriver.Create", body, cases[i][1]);
    }
  /* Nothing was left on the datastore. */
  snprintf (dir, sizeof dir,
            "%s/root/datastore1/dockvols/"
            "11111111-1111-1111-1111-111111111111",
            tmp);
  d = opendir (dir);
  cr_assert_not_null (d);
  while ((de = readdir (d)) != NULL)
    cr_assert (de->d_name[0] == '.', "left behind: %s", de->d_name);
  closedir (d);
}

Test (api, create_with_a_missing_mkfs)
{
  const char *prefix =
      "Not found mkfs for xfs_ext\nSupported filesystems found: ";
  cJSON *j = call ("/VolumeDriver.Create",
                   "{\"Name\":\"v\",\"Opts\":{\"fstype\":\"xfs_ext\"}}");
  const char *e = str_of (j, "Err");

  cr_assert_eq (strncmp (e, prefix, strlen (prefix)), 0, "%s", e);
  cr_assert (strstr (e, "ext4") != NULL);
  cJSON_Delete (j);
}

Test (api, get_of_a_missing_volume)
{
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"x\"}",
              "Volume x not found (file: /vmfs/volumes/datastore1/dockvols/"
              "_DEFAULT/x.vmdk)");
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"x@DS2\"}",
              "Volume x not found (file: /vmfs/volumes/ds2/dockvols/"
              "_DEFAULT/x.vmdk)");
  expect_err ("/VolumeDriver.Path", "{\"Name\":\"x\"}",
              "Volume x not found (file: /vmfs/volumes/datastore1/dockvols/"
              "_DEFAULT/x.vmdk)");
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"x@nowhere\"}",
              "Invalid datastore 'nowhere'.\nKnown datastores: datastore1, "
              "ds2.\nDefault datastore: datastore1");
}

Test (api, list_of_an_empty_datastore)
{
  char *out = vdvs_api_handle ("/VolumeDriver.List", "{}", 2);
  cr_assert_str_eq (out, "{\"Volumes\":[],\"Err\":\"\"}");
  free (out);
  /* Docker sends List without a body too. */
  out = vdvs_api_handle ("/VolumeDriver.List", "", 0);
  cr_assert_str_eq (out, "{\"Volumes\":[],\"Err\":\"\"}");
  free (out);
}

Test (api, remove_and_unmount_of_missing_volumes_succeed)
{
  /* A retried Remove, an Unmount after a Remove: the engine expects
   * success. */
  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"gone\"}");
  expect_ok ("/VolumeDriver.Unmount", "{\"Name\":\"gone\",\"ID\":\"abc\"}");
}

/* A volume made by the backend directly (no attach, no mkfs). */
static void
make_volume (const char *name, const char *size)
{
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;

  vdvs_opts_set (&o, "fstype", "ext4");
  if (size)
    vdvs_opts_set (&o, "size", size);
  cr_assert_eq (vdvs_bk_create (&bk, name, &o, &err), 0, "%s",
                err ? err->msg : "");
  vdvs_opts_clear (&o);
}

Test (api, get_reply_shape)
{
  cJSON *j, *vol, *st, *cap;
  char mp[PATH_MAX * 2];
  regex_t re;

  make_volume ("MyVolume", "10gb");
  j = call ("/VolumeDriver.Get", "{\"Name\":\"MyVolume\"}");
  cr_assert_str_eq (str_of (j, "Err"), "");
  vol = cJSON_GetObjectItemCaseSensitive (j, "Volume");
  cr_assert (cJSON_IsObject (vol));
  cr_assert_str_eq (str_of (vol, "Name"), "MyVolume");
  snprintf (mp, sizeof mp, "%s/mnt/MyVolume@datastore1", tmp);
  cr_assert_str_eq (str_of (vol, "Mountpoint"), mp);
  cr_assert_eq (regcomp (&re,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                         "[0-9]{2}Z$",
                         REG_EXTENDED | REG_NOSUB),
                0);
  cr_assert_eq (regexec (&re, str_of (vol, "CreatedAt"), 0, NULL, 0), 0,
                "CreatedAt `%s`", str_of (vol, "CreatedAt"));
  regfree (&re);

  st = cJSON_GetObjectItemCaseSensitive (vol, "Status");
  cr_assert (cJSON_IsObject (st));
  cr_assert_str_eq (str_of (st, "created by VM"), "photon-VM0.3");
  cr_assert_str_eq (str_of (st, "status"), "detached");
  cr_assert_str_eq (str_of (st, "datastore"), "datastore1");
  cr_assert_str_eq (str_of (st, "fstype"), "ext4");
  cr_assert_str_eq (str_of (st, "diskformat"), "thin");
  cr_assert_str_eq (str_of (st, "attach-as"), "independent_persistent");
  cr_assert_str_eq (str_of (st, "access"), "read-write");
  cr_assert_str_eq (str_of (st, "clone-from"), "None");
  cap = cJSON_GetObjectItemCaseSensitive (st, "capacity");
  cr_assert (cJSON_IsObject (cap));
  cr_assert_str_eq (str_of (cap, "size"), "10GB");
  str_of (cap, "allocated");
  cr_assert_null (cJSON_GetObjectItemCaseSensitive (st, "attached to VM"));
  cr_assert_null (cJSON_GetObjectItemCaseSensitive (st, "attachedVMDevice"));
  cr_assert_null (cJSON_GetObjectItemCaseSensitive (st, "vsan-policy-name"));
  cr_assert_null (cJSON_GetObjectItemCaseSensitive (st, "datastore status"));
  str_of (st, "created");
  cJSON_Delete (j);
}

/* A volume vdvsd knows, while the datastore root cannot be resolved (a
 * symlink loop: the backend fails, not "not found"): Get answers the last
 * known state, says why and that the datastore is down. */
Test (api, get_reply_from_last_known_state_when_backend_fails)
{
  char root[PATH_MAX + 8], away[PATH_MAX + 8], want[PATH_MAX * 2];
  cJSON *j, *st;

  make_volume ("kv", NULL);
  /* An Unmount of an unknown ID makes the volume known (no-op). */
  expect_ok ("/VolumeDriver.Unmount", "{\"Name\":\"kv\",\"ID\":\"c\"}");
  expect_ok ("/VolumeDriver.Get", "{\"Name\":\"kv\"}");
  snprintf (root, sizeof root, "%s/root", tmp);
  snprintf (away, sizeof away, "%s/root.away", tmp);
  cr_assert_eq (rename (root, away), 0);
  cr_assert_eq (symlink ("root", root), 0);

  j = call ("/VolumeDriver.Get", "{\"Name\":\"kv\"}");
  cr_assert_str_eq (str_of (j, "Err"), "");
  st = cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (j, "Volume"), "Status");
  cr_assert_str_eq (str_of (st, "datastore"), "datastore1");
  snprintf (want, sizeof want,
            "down: datastore root `%s`: Too many levels of symbolic links",
            root);
  cr_assert_str_eq (str_of (st, "datastore status"), want);
  snprintf (want, sizeof want,
            "cannot open `%s/datastore1/dockvols/"
            "11111111-1111-1111-1111-111111111111/kv.vmdk`: Too many levels "
            "of symbolic links",
            root);
  cr_assert_str_eq (str_of (st, "backend"), want);
  cJSON_Delete (j);

  cr_assert_eq (unlink (root), 0);
  cr_assert_eq (rename (away, root), 0);
}

Test (api, list_path_and_remove_of_existing_volumes)
{
  cJSON *j, *vols, *v;
  char mp[PATH_MAX * 2];
  int seen = 0;

  make_volume ("a", NULL);
  make_volume ("b@ds2", NULL);
  j = call ("/VolumeDriver.List", "{}");
  cr_assert_str_eq (str_of (j, "Err"), "");
  vols = cJSON_GetObjectItemCaseSensitive (j, "Volumes");
  cr_assert_eq (cJSON_GetArraySize (vols), 2);
  cJSON_ArrayForEach (v, vols)
    {
      const char *n = str_of (v, "Name");
      cr_assert (strcmp (n, "a@datastore1") == 0 || strcmp (n, "b@ds2") == 0,
                 "%s", n);
      snprintf (mp, sizeof mp, "%s/mnt/%s", tmp, n);
      cr_assert_str_eq (str_of (v, "Mountpoint"), mp);
      seen++;
    }
  cr_assert_eq (seen, 2);
  cJSON_Delete (j);

  /* Not mounted: Path answers an empty mount point. */
  j = call ("/VolumeDriver.Path", "{\"Name\":\"a\"}");
  cr_assert_str_eq (str_of (j, "Err"), "");
  cr_assert_str_eq (str_of (j, "Mountpoint"), "");
  cJSON_Delete (j);

  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"a\"}");
  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"b@DS2\"}");
  j = call ("/VolumeDriver.List", NULL);
  cr_assert_eq (cJSON_GetArraySize (
                    cJSON_GetObjectItemCaseSensitive (j, "Volumes")),
                0);
  cJSON_Delete (j);
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"a\"}",
              "Volume a not found (file: /vmfs/volumes/datastore1/dockvols/"
              "_DEFAULT/a.vmdk)");
}

Test (api, unmount_of_a_never_mounted_id_is_ignored)
{
  make_volume ("v", NULL);
  expect_ok ("/VolumeDriver.Unmount", "{\"Name\":\"v\",\"ID\":\"nobody\"}");
  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"v\"}");
}

Test (api, clone_from_an_existing_volume)
{
  cJSON *j, *st;

  make_volume ("src", "20mb");
  /* A clone brings its data: no attach, no mkfs, so no loop device. */
  expect_ok ("/VolumeDriver.Create",
             "{\"Name\":\"dst\",\"Opts\":{\"clone-from\":\"src\","
             "\"access\":\"read-only\"}}");
  j = call ("/VolumeDriver.Get", "{\"Name\":\"dst\"}");
  st = cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (j, "Volume"), "Status");
  cr_assert_str_eq (str_of (st, "clone-from"), "src");
  cr_assert_str_eq (str_of (st, "access"), "read-only");
  cr_assert_str_eq (str_of (st, "fstype"), "ext4");
  cr_assert_str_eq (str_of (cJSON_GetObjectItemCaseSensitive (st, "capacity"),
                            "size"),
                    "20MB");
  cJSON_Delete (j);
}

/* The whole Get reply as text. */
static char *
get_text (const char *name)
{
  char body[256];
  snprintf (body, sizeof body, "{\"Name\":\"%s\"}", name);
  return vdvs_api_handle ("/VolumeDriver.Get", body, strlen (body));
}

/* A file of the volume's folder whose name ends in `suffix`. */
static void
volume_file (const char *vol, const char *suffix, char *out, size_t len)
{
  char dir[PATH_MAX];
  struct dirent *de;
  DIR *d;
  size_t vl = strlen (vol), sl = strlen (suffix);

  snprintf (dir, sizeof dir,
            "%s/root/datastore1/dockvols/"
            "11111111-1111-1111-1111-111111111111",
            tmp);
  d = opendir (dir);
  cr_assert_not_null (d);
  out[0] = '\0';
  while ((de = readdir (d)) != NULL)
    {
      size_t n = strlen (de->d_name);
      if (n >= vl + sl && strncmp (de->d_name, vol, vl) == 0
          && de->d_name[vl] == '-'
          && strcmp (de->d_name + n - sl, suffix) == 0)
        snprintf (out, len, "%s/%s", dir, de->d_name);
    }
  closedir (d);
  cr_assert_neq (out[0], '\0', "no %s*%s", vol, suffix);
}

/* Get follows every change: another VM's sidecar edit, data written to
 * the extent, the volume removed.  The reply always echoes the name asked. */
Test (api, get_reply_follows_every_change)
{
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;
  char *a, *b, *c, path[PATH_MAX * 2];
  static char block[1 << 20];
  size_t len;
  int fd;

  vdvs_opts_set (&o, "access", "read-write");
  cr_assert_eq (vdvs_bk_create (&bk, "v", &o, &err), 0, "%s",
                err ? err->msg : "");
  vdvs_opts_clear (&o);
  a = get_text ("v");
  b = get_text ("v");
  cr_assert_str_eq (a, b);
  cr_assert (strstr (a, "\"Name\":\"v\"") != NULL, "%s", a);
  cr_assert (strstr (a, "\"allocated\":\"0\"") != NULL, "%s", a);
  c = get_text ("v@datastore1");
  cr_assert (strstr (c, "\"Name\":\"v@datastore1\"") != NULL, "%s", c);
  free (b);
  free (c);

  /* Data in the extent: allocated follows. */
  volume_file ("v", "-flat.vmdk", path, sizeof path);
  memset (block, 3, sizeof block);
  fd = open (path, O_WRONLY);
  cr_assert_geq (fd, 0);
  cr_assert_eq (pwrite (fd, block, sizeof block, 0), (ssize_t) sizeof block);
  fsync (fd);
  close (fd);
  b = get_text ("v");
  cr_assert (strstr (b, "\"allocated\":\"1MB\"") != NULL, "%s", b);
  free (b);

  /* Another VM flips access in the sidecar (in place, then closes it). */
  volume_file ("v", ".vmfd", path, sizeof path);
  {
    char *text = t_read_file (path, &len), *p = strstr (text, "read-write");
    cr_assert_not_null (p, "%s", text);
    memcpy (p, "read-only\"", 10);
    memmove (p + 10, p + 11, strlen (p + 11) + 1);
    t_write_file (path, text, strlen (text));
    free (text);
  }
  b = get_text ("v");
  cr_assert (strstr (b, "\"access\":\"read-only\"") != NULL, "%s", b);
  c = get_text ("v");
  cr_assert_str_eq (b, c);
  free (b);
  free (c);

  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"v\"}");
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"v\"}",
              "Volume v not found (file: /vmfs/volumes/datastore1/dockvols/"
              "_DEFAULT/v.vmdk)");
  free (a);
}

/* The bytes Docker sees: key order, no spaces, escaping. */
Test (api, replies_byte_for_byte)
{
  char want[8192], *got;
  const char *created, *created_at;
  cJSON *j, *vol;

  make_volume ("My\"Vol", "10gb");
  got = vdvs_api_handle ("/VolumeDriver.Get", "{\"Name\":\"My\\\"Vol\"}",
                         strlen ("{\"Name\":\"My\\\"Vol\"}"));
  j = cJSON_Parse (got);
  cr_assert_not_null (j, "%s", got);
  vol = cJSON_GetObjectItemCaseSensitive (j, "Volume");
  created_at = str_of (vol, "CreatedAt");
  created = str_of (cJSON_GetObjectItemCaseSensitive (vol, "Status"),
                    "created");
  snprintf (want, sizeof want,
            "{\"Volume\":{\"Name\":\"My\\\"Vol\",\"Mountpoint\":\"%s/mnt/"
            "My\\\"Vol@datastore1\",\"CreatedAt\":\"%s\",\"Status\":{"
            "\"created by VM\":\"photon-VM0.3\",\"created\":\"%s\","
            "\"status\":\"detached\",\"capacity\":{\"size\":\"10GB\","
            "\"allocated\":\"0\"},\"datastore\":\"datastore1\","
            "\"fstype\":\"ext4\",\"diskformat\":\"thin\","
            "\"attach-as\":\"independent_persistent\","
            "\"access\":\"read-write\",\"clone-from\":\"None\"}},"
            "\"Err\":\"\"}",
            tmp, created_at, created);
  cr_assert_str_eq (got, want);
  cJSON_Delete (j);
  free (got);

  got = vdvs_api_handle ("/VolumeDriver.List", "{}", 2);
  snprintf (want, sizeof want,
            "{\"Volumes\":[{\"Name\":\"My\\\"Vol@datastore1\","
            "\"Mountpoint\":\"%s/mnt/My\\\"Vol@datastore1\"}],\"Err\":\"\"}",
            tmp);
  cr_assert_str_eq (got, want);
  free (got);

  got = vdvs_api_handle ("/VolumeDriver.Path", "{\"Name\":\"My\\\"Vol\"}",
                         strlen ("{\"Name\":\"My\\\"Vol\"}"));
  cr_assert_str_eq (got, "{\"Mountpoint\":\"\",\"Err\":\"\"}");
  free (got);
}

/* Entries of the volume table and name locks go with their volume:
 * churn of distinct names does not grow the table.  An existing volume
 * keeps its entry (the last known state answers Get while the backend is
 * down) until it is removed. */
Test (api, table_entries_are_freed_after_remove)
{
  char body[256];
  size_t base = vdvs_volumes_table_entries ();

  make_volume ("src", NULL);
  for (int i = 0; i < 200; i++)
    {
      snprintf (body, sizeof body,
                "{\"Name\":\"churn%d\",\"Opts\":{\"clone-from\":\"src\"}}", i);
      expect_ok ("/VolumeDriver.Create", body);
      snprintf (body, sizeof body, "{\"Name\":\"churn%d\",\"ID\":\"c\"}", i);
      expect_ok ("/VolumeDriver.Unmount", body); /* an unknown ID: no-op */
      expect_ok ("/VolumeDriver.Get", body);
      expect_ok ("/VolumeDriver.Path", body);
      expect_ok ("/VolumeDriver.Remove", body);
      expect_ok ("/VolumeDriver.Remove", body); /* already gone */
      snprintf (body, sizeof body,
                "{\"Name\":\"bad%d\",\"Opts\":{\"size\":\"1xb\"}}", i);
      expect_err ("/VolumeDriver.Create", body, NULL);
    }
  cr_assert_eq (vdvs_volumes_table_entries (), base);

  /* A volume that stays keeps one entry, freed by its Remove. */
  expect_ok ("/VolumeDriver.Unmount", "{\"Name\":\"src\",\"ID\":\"c\"}");
  cr_assert_eq (vdvs_volumes_table_entries (), base + 1);
  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"src\"}");
  cr_assert_eq (vdvs_volumes_table_entries (), base);
}

/* Threads creating, removing and looking up the same few names at once:
 * an entry is freed only when no thread holds it (a use-after-free shows
 * under ASan), and the table ends empty again. */
static void *
churn_thread (void *arg)
{
  static const char *const eps[] = {
    "/VolumeDriver.Create", "/VolumeDriver.Remove",  "/VolumeDriver.Get",
    "/VolumeDriver.Path",   "/VolumeDriver.Unmount", "/VolumeDriver.Remove",
  };
  long t = (long) arg;
  char body[256];

  for (int i = 0; i < 150; i++)
    {
      const char *ep = eps[(t + i) % 6];
      snprintf (body, sizeof body,
                "{\"Name\":\"n%d%s\",\"ID\":\"x\",\"Opts\":"
                "{\"clone-from\":\"src\"}}",
                i % 3, i % 2 ? "@datastore1" : "");
      if (strcmp (ep, "/VolumeDriver.Create") != 0)
        strcpy (strstr (body, ",\"Opts\""), "}");
      free (vdvs_api_handle (ep, body, strlen (body)));
    }
  return NULL;
}

Test (api, concurrent_churn_on_few_names)
{
  size_t base = vdvs_volumes_table_entries ();
  pthread_t t[4];

  make_volume ("src", NULL);
  for (long i = 0; i < 4; i++)
    cr_assert_eq (pthread_create (&t[i], NULL, churn_thread, (void *) i), 0);
  for (int i = 0; i < 4; i++)
    pthread_join (t[i], NULL);
  for (int i = 0; i < 3; i++)
    {
      char body[64];
      snprintf (body, sizeof body, "{\"Name\":\"n%d\"}", i);
      expect_ok ("/VolumeDriver.Remove", body);
    }
  expect_ok ("/VolumeDriver.Remove", "{\"Name\":\"src\"}");
  cr_assert_eq (vdvs_volumes_table_entries (), base);
}

Test (api, create_of_an_existing_volume_is_refused)
{
  char path[PATH_MAX], want[PATH_MAX];
  size_t len;

  /* "already exists" is an error and the volume is left alone.  It is
   * in use (attached), so Create does not even look at its disk. */
  make_volume ("v", "1gb");
  volume_file ("v", ".vmfd", path, sizeof path);
  {
    char *text = t_read_file (path, &len), *p = strstr (text, "\"detached\"");
    cr_assert_not_null (p, "%s", text);
    memcpy (p, "\"attached\"", 10);
    t_write_file (path, text, strlen (text));
    free (text);
  }
  snprintf (want, sizeof want,
            "File /vmfs/volumes/datastore1/dockvols/"
            "_DEFAULT/v.vmdk already exists");
  expect_err ("/VolumeDriver.Create",
              "{\"Name\":\"v\",\"Opts\":{\"size\":\"2gb\"}}", want);
  expect_err ("/VolumeDriver.Create", "{\"Name\":\"v\"}", want);
}

/* List's kept reply is replaced whenever the set of volumes changes,
 * whoever changes it (here the backend directly, as another VM would). */
Test (api, list_follows_every_change)
{
  vdvs_error_t err = NULL;
  char *a, *b;

  make_volume ("one", NULL);
  a = vdvs_api_handle ("/VolumeDriver.List", "{}", 2);
  b = vdvs_api_handle ("/VolumeDriver.List", "{}", 2);
  cr_assert_str_eq (a, b);
  free (b);
  cr_assert_eq (vdvs_bk_create (&bk, "two", &(struct vdvs_opts){ 0 }, &err), 0,
                "%s", err ? err->msg : "");
  b = vdvs_api_handle ("/VolumeDriver.List", "{}", 2);
  cr_assert (strstr (b, "\"Name\":\"two@datastore1\"") != NULL, "%s", b);
  free (b);
  cr_assert_eq (vdvs_bk_remove (&bk, "one", NULL, &err), 0);
  b = vdvs_api_handle ("/VolumeDriver.List", "{}", 2);
  cr_assert (strstr (b, "one@") == NULL, "%s", b);
  free (a);
  free (b);
}

static void
setup_mixed_case_ds (void)
{
  setup_with ("datastore1,vsanDatastore");
}

/* Linux keeps names as ESX spells them (Windows lower-cases List: see
 * test_names_windows.c), and a datastore given in another case is the
 * one ESX has: Get answers the mount point under ESX's spelling. */
Test (api, names_keep_their_case_and_the_datastore_its_real_spelling,
      .init = setup_mixed_case_ds, .fini = teardown)
{
  cJSON *j, *v;
  char mp[PATH_MAX * 2];

  make_volume ("MixVol@vsandatastore", NULL);
  j = call ("/VolumeDriver.List", "{}");
  v = cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (j, "Volumes"), 0);
  cr_assert_not_null (v);
  cr_assert_str_eq (str_of (v, "Name"), "MixVol@vsanDatastore");
  snprintf (mp, sizeof mp, "%s/mnt/MixVol@vsanDatastore", tmp);
  cr_assert_str_eq (str_of (v, "Mountpoint"), mp);
  cJSON_Delete (j);

  j = call ("/VolumeDriver.Get", "{\"Name\":\"MixVol@VSANDATASTORE\"}");
  cr_assert_str_eq (str_of (j, "Err"), "");
  v = cJSON_GetObjectItemCaseSensitive (j, "Volume");
  cr_assert_str_eq (str_of (v, "Name"), "MixVol@VSANDATASTORE");
  cr_assert_str_eq (str_of (v, "Mountpoint"), mp);
  cJSON_Delete (j);

  /* Windows' reserved names and characters are fine on Linux. */
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"con\"}",
              "Volume con not found (file: /vmfs/volumes/datastore1/"
              "dockvols/_DEFAULT/con.vmdk)");
  expect_err ("/VolumeDriver.Get", "{\"Name\":\"a:b\"}",
              "Volume a:b not found (file: /vmfs/volumes/datastore1/"
              "dockvols/_DEFAULT/a:b.vmdk)");
}
