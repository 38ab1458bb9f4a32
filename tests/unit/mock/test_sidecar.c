/* The JSON sidecar (backends/mock/sidecar.c). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../core/t_helpers.h"
#include "mock_i.h"

static void
sample (struct mock_sidecar *s, bool attached)
{
  memset (s, 0, sizeof *s);
  strcpy (s->status, attached ? "attached" : "detached");
  strcpy (s->created, "Wed Mar  1 20:06:02 2017");
  strcpy (s->created_by, "photon-VM0.3");
  vdvs_opts_set (&s->vol_opts, "size", "10gb");
  vdvs_opts_set (&s->vol_opts, "fstype", "ext4");
  vdvs_opts_set (&s->vol_opts, "diskformat", "thin");
  if (attached)
    {
      s->attached = true;
      strcpy (s->attached_uuid, "564d0000-1111-2222-3333-444455556666");
      strcpy (s->attached_name, "vm \"quoted\" 你好");
      strcpy (s->device.unit, "8");
      strcpy (s->device.pci_slot, "224");
      strcpy (s->device.pci_bus, "17.0");
    }
}

static void
expect_same (const struct mock_sidecar *a, const struct mock_sidecar *b)
{
  cr_assert_str_eq (a->status, b->status);
  cr_assert_str_eq (a->created, b->created);
  cr_assert_str_eq (a->created_by, b->created_by);
  cr_assert_eq (a->attached, b->attached);
  cr_assert_str_eq (a->attached_uuid, b->attached_uuid);
  cr_assert_str_eq (a->attached_name, b->attached_name);
  cr_assert_str_eq (a->device.unit, b->device.unit);
  cr_assert_str_eq (a->device.pci_slot, b->device.pci_slot);
  cr_assert_str_eq (a->device.pci_bus, b->device.pci_bus);
  cr_assert_eq (a->vol_opts.n, b->vol_opts.n);
  for (size_t i = 0; i < a->vol_opts.n; i++)
    {
      cr_assert_str_eq (a->vol_opts.v[i].key, b->vol_opts.v[i].key);
      cr_assert_str_eq (a->vol_opts.v[i].value, b->vol_opts.v[i].value);
    }
}

static void
round_trip (const struct mock_sidecar *s)
{
  struct mock_sidecar back;
  vdvs_error_t err = NULL;
  char *buf;
  size_t len;

  cr_assert_eq (mock_sidecar_format (s, &buf, &len), 0);
  cr_assert_eq (len % 4096, 0, "length %zu", len);
  cr_assert_eq (buf[len - 1], '\n');
  cr_assert_eq (mock_sidecar_parse (buf, len, &back, &err), 0, "%s",
                err ? err->msg : "");
  expect_same (s, &back);
  mock_sidecar_clear (&back);
  free (buf);
}

Test (sidecar, round_trip_detached_and_attached)
{
  struct mock_sidecar s;

  sample (&s, false);
  round_trip (&s);
  mock_sidecar_clear (&s);
  sample (&s, true);
  round_trip (&s);
  mock_sidecar_clear (&s);
}

Test (sidecar, upstream_keys_and_padding)
{
  struct mock_sidecar s;
  char *buf;
  size_t len;
  cJSON *j, *dev;

  sample (&s, true);
  cr_assert_eq (mock_sidecar_format (&s, &buf, &len), 0);
  cr_assert_eq (len, 4096);
  j = cJSON_ParseWithLength (buf, len);
  cr_assert_not_null (j);
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (j, "status")->valuestring,
                    "attached");
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (j, "created-by")
                        ->valuestring,
                    "photon-VM0.3");
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (j, "created")
                        ->valuestring,
                    "Wed Mar  1 20:06:02 2017");
  cr_assert (cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (j, "volOpts")));
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (j, "attachedVMUuid")
                        ->valuestring,
                    "564d0000-1111-2222-3333-444455556666");
  dev = cJSON_GetObjectItemCaseSensitive (j, "attachedVMDevice");
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (dev, "Unit")->valuestring,
                    "8");
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (dev,
                                                      "ControllerPciSlotNumber")
                        ->valuestring,
                    "224");
  cr_assert_str_eq (cJSON_GetObjectItemCaseSensitive (dev,
                                                      "ControllerPciBusNumber")
                        ->valuestring,
                    "17.0");
  cJSON_Delete (j);
  /* The JSON object, then spaces up to the final newline. */
  {
    char *end = buf + len - 1;
    while (end > buf && *end != '}')
      end--;
    cr_assert_eq (*end, '}');
    for (char *p = end + 1; p < buf + len - 1; p++)
      cr_assert_eq (*p, ' ', "byte %td is %#x", p - buf, *p);
  }
  free (buf);
  mock_sidecar_clear (&s);
}

Test (sidecar, detached_has_no_attachment_keys)
{
  struct mock_sidecar s;
  char *buf;
  size_t len;

  sample (&s, false);
  mock_sidecar_format (&s, &buf, &len);
  /* The buffer is exactly len bytes, not a C string. */
  cr_assert_null (memmem (buf, len, "attachedVM", 10));
  free (buf);
  mock_sidecar_clear (&s);
}

Test (sidecar, grows_by_whole_blocks)
{
  struct mock_sidecar s;
  char key[32], val[200];
  char *buf;
  size_t len;

  sample (&s, true);
  memset (val, 'v', sizeof val - 1);
  val[sizeof val - 1] = '\0';
  for (int i = 0; i < 30; i++)
    {
      snprintf (key, sizeof key, "k%02d", i);
      vdvs_opts_set (&s.vol_opts, key, val);
    }
  cr_assert_eq (mock_sidecar_format (&s, &buf, &len), 0);
  cr_assert_eq (len, 8192);
  cr_assert_eq (buf[len - 1], '\n');
  free (buf);
  round_trip (&s);
  mock_sidecar_clear (&s);
}

static void
expect_bad (const char *json, const char *msg)
{
  struct mock_sidecar s;
  vdvs_error_t err = NULL;

  cr_assert_eq (mock_sidecar_parse (json, strlen (json), &s, &err), -EINVAL,
                "accepted: %s", json);
  cr_assert_str_eq (err->msg, msg);
  cr_assert_eq (s.vol_opts.n, 0);
  cr_assert_null (s.vol_opts.v);
  vdvs_error_release (&err);
}

#define BASE "\"status\":\"detached\",\"created\":\"Wed Mar  1 20:06:02 2017\""

Test (sidecar, corrupt_inputs)
{
  expect_bad ("", "not a JSON object");
  expect_bad ("garbage", "not a JSON object");
  expect_bad ("[]", "not a JSON object");
  expect_bad ("{\"status\":\"detached\"", "not a JSON object");
  expect_bad ("{" BASE "}", "key `created-by` missing or invalid");
  expect_bad ("{" BASE ",\"created-by\":7}",
              "key `created-by` missing or invalid");
  expect_bad ("{\"created\":\"x\",\"created-by\":\"vm\"}",
              "key `status` missing or invalid");
  expect_bad ("{\"status\":\"frozen\",\"created\":\"x\",\"created-by\":\"vm\"}",
              "bad status `frozen`");
  expect_bad ("{" BASE ",\"created-by\":\"vm\",\"volOpts\":[1]}",
              "key `volOpts` is not an object");
  /* The opts parsed before the bad one are freed (sanitizer build). */
  expect_bad ("{" BASE ",\"created-by\":\"vm\",\"volOpts\":{\"a\":\"1\","
              "\"size\":10}}",
              "volOpts `size` is not a string");
  expect_bad ("{" BASE ",\"created-by\":\"vm\",\"volOpts\":{\"a\":\"1\"},"
              "\"attachedVMUuid\":5}",
              "key `attachedVMUuid` missing or invalid");
  expect_bad ("{" BASE ",\"created-by\":\"vm\",\"attachedVMUuid\":\"u\","
              "\"attachedVMDevice\":{\"Unit\":\"0\"}}",
              "key `ControllerPciSlotNumber` missing or invalid");
}

Test (sidecar, overlong_values_are_refused)
{
  char json[512], by[200];

  memset (by, 'b', sizeof by - 1);
  by[sizeof by - 1] = '\0';
  snprintf (json, sizeof json, "{" BASE ",\"created-by\":\"%s\"}", by);
  expect_bad (json, "key `created-by` missing or invalid");
}

Test (sidecar, minimal_and_attached_without_device)
{
  const char *json = "{" BASE
                     ",\"created-by\":\"vm\",\"attachedVMUuid\":\"u1\"}";
  struct mock_sidecar s;
  vdvs_error_t err = NULL;

  cr_assert_eq (mock_sidecar_parse (json, strlen (json), &s, &err), 0);
  cr_assert (s.attached);
  cr_assert_str_eq (s.attached_uuid, "u1");
  cr_assert_str_eq (s.attached_name, "");
  cr_assert_str_eq (s.device.unit, "");
  cr_assert_eq (s.vol_opts.n, 0);
  mock_sidecar_clear (&s);
}

Test (sidecar, write_and_read_files)
{
  char dir[PATH_MAX], path[PATH_MAX + 16], want[PATH_MAX * 2];
  struct mock_sidecar s, back;
  vdvs_error_t err = NULL;
  size_t len;
  char *text;

  t_mkdtemp (dir, sizeof dir, "sidecar");
  snprintf (path, sizeof path, "%s/v-1.vmfd", dir);
  sample (&s, true);
  cr_assert_eq (mock_sidecar_write (path, &s, &err), 0);
  cr_assert_eq (mock_sidecar_read (path, &back, &err), 0);
  expect_same (&s, &back);
  mock_sidecar_clear (&back);
  text = t_read_file (path, &len);
  cr_assert_eq (len, 4096);
  free (text);

  t_write_file (path, "{\"status\":", 10);
  cr_assert_lt (mock_sidecar_read (path, &back, &err), 0);
  snprintf (want, sizeof want, "corrupt sidecar `%s`: not a JSON object",
            path);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);

  unlink (path);
  cr_assert_eq (mock_sidecar_read (path, &back, &err), -ENOENT);
  vdvs_error_release (&err);
  /* Writing into a missing directory fails cleanly. */
  snprintf (path, sizeof path, "%s/nodir/v.vmfd", dir);
  cr_assert_lt (mock_sidecar_write (path, &s, &err), 0);
  vdvs_error_release (&err);
  mock_sidecar_clear (&s);
  t_rmrf (dir);
}
