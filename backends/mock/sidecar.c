/* The sidecar key/value store (<vol>-<hash>.vmfd): one JSON object with the
 * upstream keys, padded with spaces to a multiple of 4 KiB (KV_ALIGN) minus
 * one, plus a newline.  Written atomically (temp file + rename), so a crash
 * never leaves half a sidecar; a corrupt one is an error for that volume
 * only (upstream #662). */
#include "mock_i.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KV_ALIGN 4096
#define SIDECAR_MAX (64 * 1024)

void
mock_sidecar_clear (struct mock_sidecar *s)
{
  vdvs_opts_clear (&s->vol_opts);
  memset (s, 0, sizeof *s);
}

int
mock_sidecar_format (const struct mock_sidecar *s, char **out, size_t *len)
{
  cJSON *root = cJSON_CreateObject (), *opts = cJSON_CreateObject ();
  char *json, *buf;
  size_t n, padded;

  if (root == NULL || opts == NULL)
    {
      cJSON_Delete (root);
      cJSON_Delete (opts);
      return -ENOMEM;
    }
  cJSON_AddStringToObject (root, "status", s->status);
  for (size_t i = 0; i < s->vol_opts.n; i++)
    cJSON_AddStringToObject (opts, s->vol_opts.v[i].key,
                             s->vol_opts.v[i].value);
  cJSON_AddItemToObject (root, "volOpts", opts);
  cJSON_AddStringToObject (root, "created", s->created);
  cJSON_AddStringToObject (root, "created-by", s->created_by);
  if (s->attached)
    {
      cJSON *dev = cJSON_CreateObject ();
      cJSON_AddStringToObject (root, "attachedVMUuid", s->attached_uuid);
      cJSON_AddStringToObject (root, "attachedVMName", s->attached_name);
      cJSON_AddStringToObject (dev, "Unit", s->device.unit);
      cJSON_AddStringToObject (dev, "ControllerPciSlotNumber",
                               s->device.pci_slot);
      cJSON_AddStringToObject (dev, "ControllerPciBusNumber",
                               s->device.pci_bus);
      cJSON_AddItemToObject (root, "attachedVMDevice", dev);
    }
  json = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  if (json == NULL)
    return -ENOMEM;
  n = strlen (json);
  padded = (n / KV_ALIGN + 1) * KV_ALIGN;
  buf = malloc (padded);
  if (buf == NULL)
    {
      free (json);
      return -ENOMEM;
    }
  memcpy (buf, json, n);
  memset (buf + n, ' ', padded - n - 1);
  buf[padded - 1] = '\n';
  free (json);
  *out = buf;
  *len = padded;
  return 0;
}

static int
copy_str (const cJSON *o, const char *key, char *dst, size_t len,
          bool required, vdvs_error_t *err)
{
  const cJSON *j = cJSON_GetObjectItemCaseSensitive (o, key);
  if (j == NULL && !required)
    return 0;
  if (!cJSON_IsString (j) || strlen (j->valuestring) >= len)
    return vdvs_error_set (err, EINVAL, "key `%s` missing or invalid", key);
  strcpy (dst, j->valuestring);
  return 0;
}

int
mock_sidecar_parse (const char *text, size_t len, struct mock_sidecar *s,
                    vdvs_error_t *err)
{
  cJSON *root;
  const cJSON *opts, *o, *dev;
  int r = 0;

  memset (s, 0, sizeof *s);
  root = cJSON_ParseWithLength (text, len);
  if (!cJSON_IsObject (root))
    {
      cJSON_Delete (root);
      return vdvs_error_set (err, EINVAL, "not a JSON object");
    }
  if (copy_str (root, "status", s->status, sizeof s->status, true, err) < 0
      || copy_str (root, "created", s->created, sizeof s->created, true, err)
             < 0
      || copy_str (root, "created-by", s->created_by, sizeof s->created_by,
                   true, err)
             < 0)
    goto fail;
  if (strcmp (s->status, "attached") != 0
      && strcmp (s->status, "detached") != 0)
    {
      vdvs_error_set (err, EINVAL, "bad status `%s`", s->status);
      goto fail;
    }
  opts = cJSON_GetObjectItemCaseSensitive (root, "volOpts");
  if (opts != NULL && !cJSON_IsObject (opts))
    {
      vdvs_error_set (err, EINVAL, "key `volOpts` is not an object");
      goto fail;
    }
  cJSON_ArrayForEach (o, opts)
    {
      if (!cJSON_IsString (o))
        {
          vdvs_error_set (err, EINVAL, "volOpts `%s` is not a string",
                          o->string);
          goto fail;
        }
      if (vdvs_opts_set (&s->vol_opts, o->string, o->valuestring) < 0)
        {
          vdvs_error_set (err, ENOMEM, "out of memory");
          goto fail;
        }
    }
  if (cJSON_GetObjectItemCaseSensitive (root, "attachedVMUuid") != NULL)
    {
      s->attached = true;
      if (copy_str (root, "attachedVMUuid", s->attached_uuid,
                    sizeof s->attached_uuid, true, err)
              < 0
          || copy_str (root, "attachedVMName", s->attached_name,
                       sizeof s->attached_name, false, err)
                 < 0)
        goto fail;
      dev = cJSON_GetObjectItemCaseSensitive (root, "attachedVMDevice");
      if (dev != NULL
          && (copy_str (dev, "Unit", s->device.unit, sizeof s->device.unit,
                        true, err)
                  < 0
              || copy_str (dev, "ControllerPciSlotNumber", s->device.pci_slot,
                           sizeof s->device.pci_slot, true, err)
                     < 0
              || copy_str (dev, "ControllerPciBusNumber", s->device.pci_bus,
                           sizeof s->device.pci_bus, true, err)
                     < 0))
        goto fail;
    }
  cJSON_Delete (root);
  return r;

fail:
  cJSON_Delete (root);
  vdvs_opts_clear (&s->vol_opts);
  return -EINVAL;
}

int
mock_sidecar_read (const char *path, struct mock_sidecar *s, vdvs_error_t *err)
{
  char buf[SIDECAR_MAX];
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return vdvs_error_set (err, errno, "cannot open sidecar `%s`: %s", path,
                           strerror (errno));
  n = read (fd, buf, sizeof buf);
  close (fd);
  if (n < 0)
    return vdvs_error_set (err, errno, "cannot read sidecar `%s`: %s", path,
                           strerror (errno));
  if ((size_t) n == sizeof buf)
    return vdvs_error_set (err, EFBIG, "sidecar `%s` is larger than %d bytes",
                           path, SIDECAR_MAX);
  if (mock_sidecar_parse (buf, (size_t) n, s, err) < 0)
    return vdvs_error_wrap (err, "corrupt sidecar `%s`", path);
  return 0;
}

int
mock_sidecar_write (const char *path, const struct mock_sidecar *s,
                    vdvs_error_t *err)
{
  char *buf;
  size_t len;
  int r;

  if (mock_sidecar_format (s, &buf, &len) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  r = mock_write_atomic (path, buf, len);
  free (buf);
  if (r < 0)
    return vdvs_error_set (err, -r, "cannot write sidecar `%s`: %s", path,
                           strerror (-r));
  return 0;
}
