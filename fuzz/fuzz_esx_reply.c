/* libFuzzer harness: an ESX reply as the client (backends/esx) decodes it:
 * esx_reply_parse, then the typed decoders of the attach, get and list
 * replies, and esx_json_dumps (what tools echo).
 *
 * Input: the JSON text of a reply frame (exact-size buffer, no NUL).
 *
 * Properties:
 *  - esx_json_dumps of any parsed reply is what Python's json.dumps
 *    writes: JSON, plus Infinity/NaN for non-finite numbers;
 *  - round trips through the server's encoders, for valid UTF-8 values:
 *    device -> esx_reply_device -> device, info -> esx_reply_info -> info,
 *    list -> esx_reply_list -> list. */
#include <cjson/cJSON.h>

#include "codec.h"
#include "fuzz_common.h"

static cJSON *
reparse (const char *text)
{
  cJSON *tree = NULL;
  vdvs_error_t err = NULL;
  int r = esx_reply_parse (text, strlen (text), &tree, &err);
  if (r < 0)
    fprintf (stderr, "re-parse of `%s` failed: %s\n", text, err->msg);
  FUZZ_CHECK (r == 0);
  return tree;
}

static bool
dev_eq (const struct vdvs_device *a, const struct vdvs_device *b)
{
  return strcmp (a->unit, b->unit) == 0
         && strcmp (a->pci_slot, b->pci_slot) == 0
         && strcmp (a->pci_bus, b->pci_bus) == 0;
}

static bool
dev_utf8 (const struct vdvs_device *d)
{
  return fuzz_utf8_valid (d->unit) && fuzz_utf8_valid (d->pci_slot)
         && fuzz_utf8_valid (d->pci_bus);
}

/* clang-format off */
#define INFO_FIELDS(X)                                                        \
  X (created_by) X (created) X (status) X (capacity_size)                     \
  X (capacity_allocated) X (datastore) X (attached_to_vm) X (fstype)          \
  X (diskformat) X (attach_as) X (access) X (clone_from) X (vsan_policy_name)
/* clang-format on */

static bool
info_utf8 (const struct vdvs_volume_info *i)
{
#define U(f)                                                                  \
  if (i->f && !fuzz_utf8_valid (i->f))                                        \
    return false;
  INFO_FIELDS (U)
#undef U
  return !i->has_device || dev_utf8 (&i->device);
}

static bool
info_eq (const struct vdvs_volume_info *a, const struct vdvs_volume_info *b)
{
#define E(f)                                                                  \
  if (!fuzz_streq (a->f, b->f))                                               \
    return false;
  INFO_FIELDS (E)
#undef E
  return a->has_device == b->has_device
         && (!a->has_device || dev_eq (&a->device, &b->device));
}

/* cJSON_Parse of Python's json.dumps output: outside strings, Infinity,
 * -Infinity and NaN (Python's spellings of non-finite floats) become
 * numbers first. */
static cJSON *
parse_python_json (const char *text)
{
  size_t n = strlen (text);
  char *buf = malloc (n * 2 + 1), *o = buf;
  bool in_str = false;
  cJSON *t;

  FUZZ_CHECK (buf != NULL);
  for (const char *p = text; *p;)
    {
      if (in_str)
        {
          if (*p == '\\' && p[1])
            *o++ = *p++;
          else if (*p == '"')
            in_str = false;
          *o++ = *p++;
        }
      else if (*p == '"')
        in_str = true, *o++ = *p++;
      else if (strncmp (p, "Infinity", 8) == 0)
        memcpy (o, "1e999", 5), o += 5, p += 8;
      else if (strncmp (p, "NaN", 3) == 0)
        memcpy (o, "0", 1), o += 1, p += 3;
      else
        *o++ = *p++;
    }
  *o = '\0';
  t = cJSON_Parse (buf);
  free (buf);
  return t;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  cJSON *tree = NULL, *t2;
  vdvs_error_t err = NULL;
  char *json = fuzz_memdup (data, size), *text;
  struct vdvs_device dev, dev2;
  struct vdvs_volume_info info, info2;
  struct vdvs_volume_list list, list2;
  int r;

  r = esx_reply_parse (json, size, &tree, &err);
  free (json);
  if (r < 0)
    {
      FUZZ_CHECK (err != NULL && err->msg != NULL && err->status != 0);
      vdvs_error_release (&err);
      return 0;
    }
  FUZZ_CHECK (tree != NULL);

  /* What a tool echoing the reply prints must be JSON. */
  text = esx_json_dumps (tree);
  FUZZ_CHECK (text != NULL);
  t2 = parse_python_json (text);
  if (t2 == NULL)
    fprintf (stderr, "esx_json_dumps wrote invalid JSON: %s\n", text);
  FUZZ_CHECK (t2 != NULL);
  cJSON_Delete (t2);
  free (text);

  /* attach */
  if (esx_reply_to_device (tree, &dev, &err) == 0)
    {
      if (dev_utf8 (&dev))
        {
          text = esx_reply_device (&dev);
          t2 = reparse (text);
          FUZZ_CHECK (esx_reply_to_device (t2, &dev2, &err) == 0);
          FUZZ_CHECK (dev_eq (&dev, &dev2));
          cJSON_Delete (t2);
          free (text);
        }
    }
  else
    FUZZ_CHECK (err != NULL && err->msg != NULL);
  vdvs_error_release (&err);

  /* get */
  if (esx_reply_to_info (tree, &info, &err) == 0)
    {
      if (!cJSON_IsNull (tree) && info_utf8 (&info))
        {
          text = esx_reply_info (&info);
          t2 = reparse (text);
          FUZZ_CHECK (esx_reply_to_info (t2, &info2, &err) == 0);
          if (!info_eq (&info, &info2))
            fprintf (stderr, "info round trip differs: %s\n", text);
          FUZZ_CHECK (info_eq (&info, &info2));
          vdvs_volume_info_clear (&info2);
          cJSON_Delete (t2);
          free (text);
        }
      vdvs_volume_info_clear (&info);
    }
  else
    FUZZ_CHECK (err != NULL && err->msg != NULL);
  vdvs_error_release (&err);

  /* list */
  if (esx_reply_to_list (tree, &list, &err) == 0)
    {
      bool ok = true;
      for (size_t i = 0; i < list.n; i++)
        ok = ok && fuzz_utf8_valid (list.names[i]);
      if (ok)
        {
          text = esx_reply_list (&list);
          t2 = reparse (text);
          FUZZ_CHECK (esx_reply_to_list (t2, &list2, &err) == 0);
          FUZZ_CHECK (list2.n == list.n);
          for (size_t i = 0; i < list.n; i++)
            FUZZ_CHECK (strcmp (list.names[i], list2.names[i]) == 0);
          vdvs_volume_list_clear (&list2);
          cJSON_Delete (t2);
          free (text);
        }
      vdvs_volume_list_clear (&list);
    }
  else
    FUZZ_CHECK (err != NULL && err->msg != NULL);
  vdvs_error_release (&err);

  cJSON_Delete (tree);
  return 0;
}
