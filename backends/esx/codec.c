/* The JSON codec of the ESX wire protocol: see codec.h. */
#include "codec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growable string; `oom` makes every later append a no-op so that
 * encoders check once at the end. */
struct sbuf
{
  char *p;
  size_t len, cap;
  bool oom;
};

static void
sb_grow (struct sbuf *b, size_t more)
{
  size_t cap;
  char *p;

  if (b->oom || b->len + more + 1 <= b->cap)
    return;
  cap = b->cap ? b->cap : 64;
  while (cap < b->len + more + 1)
    cap *= 2;
  p = realloc (b->p, cap);
  if (p == NULL)
    {
      b->oom = true;
      return;
    }
  b->p = p;
  b->cap = cap;
}

static void
sb_putn (struct sbuf *b, const char *s, size_t n)
{
  sb_grow (b, n);
  if (b->oom)
    return;
  memcpy (b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void
sb_puts (struct sbuf *b, const char *s)
{
  sb_putn (b, s, strlen (s));
}

static void
sb_printf (struct sbuf *b, const char *fmt, ...)
{
  char tmp[64];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t) n >= sizeof tmp)
    {
      b->oom = true;
      return;
    }
  sb_putn (b, tmp, (size_t) n);
}

static char *
sb_finish (struct sbuf *b)
{
  if (b->oom)
    {
      free (b->p);
      return NULL;
    }
  if (b->p == NULL)
    return strdup ("");
  return b->p;
}

/* Decode one UTF-8 sequence at s (n bytes left).  Returns its length and
 * the code point, or 0 when invalid (overlong, surrogate, > U+10FFFF or
 * truncated), which both Go and our Python rendering turn into U+FFFD. */
static size_t
utf8_decode (const unsigned char *s, size_t n, uint32_t *cp)
{
  uint32_t c;
  size_t len, i;

  if (s[0] < 0x80)
    {
      *cp = s[0];
      return 1;
    }
  if ((s[0] & 0xE0) == 0xC0)
    len = 2, c = s[0] & 0x1F;
  else if ((s[0] & 0xF0) == 0xE0)
    len = 3, c = s[0] & 0x0F;
  else if ((s[0] & 0xF8) == 0xF0)
    len = 4, c = s[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (i = 1; i < len; i++)
    {
      if ((s[i] & 0xC0) != 0x80)
        return 0;
      c = c << 6 | (s[i] & 0x3F);
    }
  if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800)
      || (len == 4 && c < 0x10000) || c > 0x10FFFF
      || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return len;
}

/* A JSON string the way Go's encoding/json writes it (HTML-safe).  \b and
 * \f are written as \u0008 and \u000c: the upstream plugin was built with
 * Go releases older than 1.22, which had no short forms for them. */
static void
go_string (struct sbuf *b, const char *str)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *) str;
  size_t n = strlen (str), i = 0;

  sb_puts (b, "\"");
  while (i < n)
    {
      unsigned char c = s[i];
      uint32_t cp;
      size_t l;

      if (c < 0x80)
        {
          if (c == '"' || c == '\\')
            {
              char e[2] = { '\\', (char) c };
              sb_putn (b, e, 2);
            }
          else if (c == '\n')
            sb_puts (b, "\\n");
          else if (c == '\r')
            sb_puts (b, "\\r");
          else if (c == '\t')
            sb_puts (b, "\\t");
          else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            {
              char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF] };
              sb_putn (b, e, 6);
            }
          else
            sb_putn (b, (const char *) s + i, 1);
          i++;
          continue;
        }
      l = utf8_decode (s + i, n - i, &cp);
      if (l == 0)
        {
          sb_puts (b, "\\ufffd");
          i++;
          continue;
        }
      if (cp == 0x2028 || cp == 0x2029)
        sb_printf (b, "\\u%04x", cp);
      else
        sb_putn (b, (const char *) s + i, l);
      i += l;
    }
  sb_puts (b, "\"");
}

/* A JSON string the way Python's json.dumps (ensure_ascii=True) writes
 * it: only printable ASCII stays as is. */
static void
py_string (struct sbuf *b, const char *str)
{
  const unsigned char *s = (const unsigned char *) str;
  size_t n = strlen (str), i = 0;

  sb_puts (b, "\"");
  while (i < n)
    {
      unsigned char c = s[i];
      uint32_t cp;
      size_t l;

      if (c >= 0x20 && c < 0x7F)
        {
          if (c == '"' || c == '\\')
            {
              char e[2] = { '\\', (char) c };
              sb_putn (b, e, 2);
            }
          else
            sb_putn (b, (const char *) s + i, 1);
          i++;
          continue;
        }
      switch (c)
        {
        case '\b':
          sb_puts (b, "\\b");
          i++;
          continue;
        case '\f':
          sb_puts (b, "\\f");
          i++;
          continue;
        case '\n':
          sb_puts (b, "\\n");
          i++;
          continue;
        case '\r':
          sb_puts (b, "\\r");
          i++;
          continue;
        case '\t':
          sb_puts (b, "\\t");
          i++;
          continue;
        default:
          break;
        }
      l = utf8_decode (s + i, n - i, &cp);
      if (l == 0)
        {
          cp = 0xFFFD;
          l = 1;
        }
      if (cp >= 0x10000)
        {
          uint32_t v = cp - 0x10000;
          sb_printf (b, "\\u%04x\\u%04x", 0xD800 | (v >> 10),
                     0xDC00 | (v & 0x3FF));
        }
      else
        sb_printf (b, "\\u%04x", cp);
      i += l;
    }
  sb_puts (b, "\"");
}

/* ---- requests ---------------------------------------------------- */

static int
opt_cmp (const void *a, const void *b)
{
  const struct vdvs_opt *x = *(const struct vdvs_opt *const *) a;
  const struct vdvs_opt *y = *(const struct vdvs_opt *const *) b;
  return strcmp (x->key, y->key);
}

char *
esx_request_encode (const char *cmd, const char *name,
                    const struct vdvs_opts *opts, const char *version)
{
  struct sbuf b = { 0 };

  sb_puts (&b, "{\"cmd\":");
  go_string (&b, cmd);
  sb_puts (&b, ",\"details\":{\"Name\":");
  go_string (&b, name ? name : "");
  if (opts != NULL && opts->n > 0)
    {
      /* Go sorts map keys by their bytes; vdvs_opts is kept sorted, but
       * sorting a copy of the pointers makes the encoder not depend on it. */
      const struct vdvs_opt **v = malloc (opts->n * sizeof *v);
      if (v == NULL)
        {
          free (b.p);
          return NULL;
        }
      for (size_t i = 0; i < opts->n; i++)
        v[i] = &opts->v[i];
      qsort (v, opts->n, sizeof *v, opt_cmp);
      sb_puts (&b, ",\"Opts\":{");
      for (size_t i = 0; i < opts->n; i++)
        {
          if (i > 0)
            sb_puts (&b, ",");
          go_string (&b, v[i]->key);
          sb_puts (&b, ":");
          go_string (&b, v[i]->value);
        }
      sb_puts (&b, "}");
      free (v);
    }
  sb_puts (&b, "},\"version\":");
  go_string (&b, version ? version : ESX_PROTOCOL_VERSION);
  sb_puts (&b, "}");
  return sb_finish (&b);
}

void
esx_request_clear (struct esx_request *r)
{
  free (r->cmd);
  free (r->name);
  vdvs_opts_clear (&r->opts);
  memset (r, 0, sizeof *r);
}

/* A JSON value as a string: strings as they are, anything else as compact
 * JSON text (Python would pass the value through; our backends take
 * strings). */
static char *
value_string (const cJSON *v)
{
  if (cJSON_IsString (v))
    return strdup (v->valuestring);
  return cJSON_PrintUnformatted (v);
}

/* Python's int() of the version value.  0, or -1 with *err set to the
 * exception text. */
static int
python_int (const cJSON *v, long *out, vdvs_error_t *err)
{
  if (cJSON_IsNumber (v))
    {
      if (!isfinite (v->valuedouble))
        return vdvs_error_set (err, EINVAL,
                               "Server returned an error: OverflowError("
                               "'cannot convert float infinity to integer',)");
      /* Python's int() is unbounded; a long is not, and converting a
       * double beyond its range is undefined: clamp (still a mismatch). */
      if (v->valuedouble >= (double) LONG_MAX)
        *out = LONG_MAX;
      else if (v->valuedouble <= (double) LONG_MIN)
        *out = LONG_MIN;
      else
        *out = (long) v->valuedouble;
      return 0;
    }
  if (cJSON_IsString (v))
    {
      const char *s = v->valuestring;
      char *end;
      long n;

      errno = 0;
      n = strtol (s, &end, 10);
      while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
      if (end != s && *end == '\0' && errno == 0
          && strspn (s, " \t\n\r") < strlen (s))
        {
          *out = n;
          return 0;
        }
      return vdvs_error_set (err, EINVAL,
                             "Server returned an error: ValueError(\"invalid "
                             "literal for int() with base 10: '%s'\",)",
                             s);
    }
  return vdvs_error_set (err, EINVAL,
                         "Server returned an error: TypeError(\"int() "
                         "argument must be a string, a bytes-like object or "
                         "a number, not '%s'\",)",
                         cJSON_IsNull (v)    ? "NoneType"
                         : cJSON_IsBool (v)  ? "bool"
                         : cJSON_IsArray (v) ? "list"
                                             : "dict");
}

int
esx_request_decode (const char *json, size_t len, struct esx_request *out,
                    vdvs_error_t *err)
{
  cJSON *root, *cmd, *details, *name, *opts, *ver, *it;
  int ret = -1;

  memset (out, 0, sizeof *out);
  out->version = ESX_SERVER_PROTOCOL_VERSION;
  root = cJSON_ParseWithLength (json, len);
  if (root == NULL)
    return vdvs_error_set (err, EINVAL, "Failed to parse json '%.*s'.",
                           (int) len, json);
  if (!cJSON_IsObject (root))
    {
      vdvs_error_set (err, EINVAL,
                      "Server returned an error: TypeError('%s indices must "
                      "be integers, not str',)",
                      cJSON_IsArray (root) ? "list" : "string");
      goto out;
    }
  /* The upstream service reads "version" first (absent means 2), then
   * "cmd", then "details"["Name"]. */
  ver = cJSON_GetObjectItemCaseSensitive (root, "version");
  if (ver != NULL && python_int (ver, &out->version, err) < 0)
    goto out;
  cmd = cJSON_GetObjectItemCaseSensitive (root, "cmd");
  if (cmd == NULL)
    {
      vdvs_error_set (err, EINVAL,
                      "Server returned an error: KeyError('cmd',)");
      goto out;
    }
  details = cJSON_GetObjectItemCaseSensitive (root, "details");
  if (details == NULL || !cJSON_IsObject (details))
    {
      vdvs_error_set (err, EINVAL,
                      "Server returned an error: KeyError('details',)");
      goto out;
    }
  name = cJSON_GetObjectItemCaseSensitive (details, "Name");
  if (name == NULL)
    {
      vdvs_error_set (err, EINVAL,
                      "Server returned an error: KeyError('Name',)");
      goto out;
    }
  out->cmd = value_string (cmd);
  out->name = value_string (name);
  if (out->cmd == NULL || out->name == NULL)
    {
      vdvs_error_set (err, ENOMEM, "Server returned an error: MemoryError()");
      goto out;
    }
  opts = cJSON_GetObjectItemCaseSensitive (details, "Opts");
  if (cJSON_IsObject (opts))
    cJSON_ArrayForEach (it, opts)
      {
        char *v = value_string (it);
        int r = v ? vdvs_opts_set (&out->opts, it->string, v) : -ENOMEM;
        free (v);
        if (r < 0)
          {
            vdvs_error_set (err, ENOMEM,
                            "Server returned an error: MemoryError()");
            goto out;
          }
      }
  ret = 0;
out:
  cJSON_Delete (root);
  if (ret < 0)
    esx_request_clear (out);
  return ret;
}

char *
esx_version_mismatch_text (long client, long server)
{
  char *s;

  /* Upstream builds this from a Python triple-quoted string: each line
   * after the first keeps the 36 spaces of the source's indentation, and
   * the text ends with a line break and those spaces. */
#define ESX_MISMATCH_INDENT "\n                                    "
  if (asprintf (&s,
                "There is a mismatch between VDVS client (Docker plugin) "
                "protocol version" ESX_MISMATCH_INDENT "(%ld) and server "
                "(ESXi) protocol version (%ld) which indicates "
                "different" ESX_MISMATCH_INDENT "versions of the product are "
                "installed on Guest and ESXi sides," ESX_MISMATCH_INDENT
                "please make sure VDVS plugin and driver are from the same "
                "release version." ESX_MISMATCH_INDENT,
                client, server)
      < 0)
    return NULL;
  return s;
}

/* ---- replies (server side) --------------------------------------- */

char *
esx_reply_null (void)
{
  return strdup ("null");
}

char *
esx_reply_error (const char *msg)
{
  struct sbuf b = { 0 };

  sb_puts (&b, "{\"Error\": ");
  py_string (&b, msg);
  sb_puts (&b, "}");
  return sb_finish (&b);
}

static void
py_member (struct sbuf *b, bool *first, const char *key, const char *value)
{
  if (value == NULL)
    return;
  if (!*first)
    sb_puts (b, ", ");
  *first = false;
  py_string (b, key);
  sb_puts (b, ": ");
  py_string (b, value);
}

static void
py_device (struct sbuf *b, const struct vdvs_device *dev)
{
  bool first = true;

  sb_puts (b, "{");
  py_member (b, &first, "Unit", dev->unit);
  py_member (b, &first, "ControllerPciSlotNumber", dev->pci_slot);
  py_member (b, &first, "ControllerPciBusNumber", dev->pci_bus);
  sb_puts (b, "}");
}

char *
esx_reply_device (const struct vdvs_device *dev)
{
  struct sbuf b = { 0 };

  py_device (&b, dev);
  return sb_finish (&b);
}

char *
esx_reply_info (const struct vdvs_volume_info *i)
{
  struct sbuf b = { 0 };
  bool first = true;

  sb_puts (&b, "{");
  py_member (&b, &first, "created by VM", i->created_by);
  py_member (&b, &first, "created", i->created);
  py_member (&b, &first, "status", i->status);
  if (i->capacity_size != NULL || i->capacity_allocated != NULL)
    {
      bool cfirst = true;

      if (!first)
        sb_puts (&b, ", ");
      first = false;
      sb_puts (&b, "\"capacity\": {");
      py_member (&b, &cfirst, "size", i->capacity_size);
      py_member (&b, &cfirst, "allocated", i->capacity_allocated);
      sb_puts (&b, "}");
    }
  py_member (&b, &first, "datastore", i->datastore);
  py_member (&b, &first, "attached to VM", i->attached_to_vm);
  if (i->has_device)
    {
      if (!first)
        sb_puts (&b, ", ");
      first = false;
      sb_puts (&b, "\"attachedVMDevice\": ");
      py_device (&b, &i->device);
    }
  py_member (&b, &first, "fstype", i->fstype);
  py_member (&b, &first, "diskformat", i->diskformat);
  py_member (&b, &first, "attach-as", i->attach_as);
  py_member (&b, &first, "access", i->access);
  py_member (&b, &first, "clone-from", i->clone_from);
  py_member (&b, &first, "vsan-policy-name", i->vsan_policy_name);
  sb_puts (&b, "}");
  return sb_finish (&b);
}

char *
esx_reply_list (const struct vdvs_volume_list *l)
{
  struct sbuf b = { 0 };

  sb_puts (&b, "[");
  for (size_t i = 0; i < l->n; i++)
    {
      if (i > 0)
        sb_puts (&b, ", ");
      sb_puts (&b, "{\"Name\": ");
      py_string (&b, l->names[i]);
      sb_puts (&b, ", \"Attributes\": {}}");
    }
  sb_puts (&b, "]");
  return sb_finish (&b);
}

char *
esx_reply_version (const char *version)
{
  struct sbuf b = { 0 };
  bool first = true;

  sb_puts (&b, "{");
  py_member (&b, &first, "version", version);
  sb_puts (&b, "}");
  return sb_finish (&b);
}

static void
py_value (struct sbuf *b, const cJSON *v)
{
  const cJSON *it;

  if (cJSON_IsNull (v))
    sb_puts (b, "null");
  else if (cJSON_IsTrue (v))
    sb_puts (b, "true");
  else if (cJSON_IsFalse (v))
    sb_puts (b, "false");
  else if (cJSON_IsString (v))
    py_string (b, v->valuestring);
  else if (cJSON_IsNumber (v))
    {
      double d = v->valuedouble;
      /* cJSON reads 1e999 as infinity; Python writes it so. */
      if (isnan (d))
        sb_puts (b, "NaN");
      else if (isinf (d))
        sb_puts (b, d > 0 ? "Infinity" : "-Infinity");
      else if (d == floor (d) && fabs (d) < 1e15)
        sb_printf (b, "%lld", (long long) d);
      else
        sb_printf (b, "%.17g", d);
    }
  else if (cJSON_IsArray (v) || cJSON_IsObject (v))
    {
      bool obj = cJSON_IsObject (v), first = true;

      sb_puts (b, obj ? "{" : "[");
      cJSON_ArrayForEach (it, v)
        {
          if (!first)
            sb_puts (b, ", ");
          first = false;
          if (obj)
            {
              py_string (b, it->string);
              sb_puts (b, ": ");
            }
          py_value (b, it);
        }
      sb_puts (b, obj ? "}" : "]");
    }
  else
    sb_puts (b, "null");
}

char *
esx_json_dumps (const cJSON *item)
{
  struct sbuf b = { 0 };

  py_value (&b, item);
  return sb_finish (&b);
}

/* ---- replies (client side) --------------------------------------- */

int
esx_error_status (const char *msg)
{
  if (strstr (msg, "not found") != NULL)
    return ENOENT;
  if (strstr (msg, "already exists") != NULL)
    return EEXIST;
  if (strstr (msg, "in use by VM") != NULL
      || strstr (msg, "already attached to VM") != NULL)
    return EBUSY;
  return EIO;
}

int
esx_reply_parse (const char *json, size_t len, cJSON **out, vdvs_error_t *err)
{
  cJSON *root = cJSON_ParseWithLength (json, len);
  const cJSON *e;

  if (root == NULL)
    return vdvs_error_set (err, EBADMSG, "Invalid reply from ESX: '%.*s'",
                           (int) (len > 200 ? 200 : len), json);
  /* Go decodes the reply into struct { Error string }: field names match
   * case-insensitively, and a non-string or empty Error is no error. */
  e = cJSON_IsObject (root) ? cJSON_GetObjectItem (root, "Error") : NULL;
  if (cJSON_IsString (e) && e->valuestring[0] != '\0')
    {
      int r = vdvs_error_set (err, esx_error_status (e->valuestring), "%s",
                              e->valuestring);
      cJSON_Delete (root);
      return r;
    }
  *out = root;
  return 0;
}

static int
copy_field (char *dst, size_t size, const cJSON *obj, const char *key,
            vdvs_error_t *err)
{
  /* Go matches struct fields case-insensitively, leaves a missing (or
   * null) one empty, and refuses a value of another type. */
  const cJSON *v = cJSON_GetObjectItem (obj, key);

  dst[0] = '\0';
  if (v == NULL || cJSON_IsNull (v))
    return 0;
  if (!cJSON_IsString (v))
    return vdvs_error_set (err, EBADMSG,
                           "Invalid attach reply from ESX: no string %s", key);
  if (strlen (v->valuestring) >= size)
    return vdvs_error_set (err, EBADMSG,
                           "Invalid attach reply from ESX: %s too long", key);
  strcpy (dst, v->valuestring);
  return 0;
}

int
esx_reply_to_device (const cJSON *reply, struct vdvs_device *dev,
                     vdvs_error_t *err)
{
  char *text;

  memset (dev, 0, sizeof *dev);
  /* As Go decodes null into the struct: every field empty. */
  if (cJSON_IsNull (reply))
    return 0;
  if (!cJSON_IsObject (reply))
    {
      text = esx_json_dumps (reply);
      vdvs_error_set (err, EBADMSG, "Invalid attach reply from ESX: %s",
                      text ? text : "?");
      free (text);
      return -1;
    }
  if (copy_field (dev->unit, sizeof dev->unit, reply, "Unit", err) < 0
      || copy_field (dev->pci_slot, sizeof dev->pci_slot, reply,
                     "ControllerPciSlotNumber", err)
             < 0
      || copy_field (dev->pci_bus, sizeof dev->pci_bus, reply,
                     "ControllerPciBusNumber", err)
             < 0)
    return -1;
  return 0;
}

/* *dst = string form of obj[key], or NULL when absent.  0 or -ENOMEM. */
static int
info_field (char **dst, const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  *dst = NULL;
  if (v == NULL)
    return 0;
  *dst = value_string (v);
  return *dst ? 0 : -ENOMEM;
}

int
esx_reply_to_info (const cJSON *reply, struct vdvs_volume_info *info,
                   vdvs_error_t *err)
{
  const cJSON *cap, *dev;
  int r = 0;

  memset (info, 0, sizeof *info);
  if (cJSON_IsNull (reply))
    return vdvs_error_set (err, ENODATA,
                           "ESX has no metadata for the volume (get answered "
                           "null; its sidecar file may be corrupt)");
  if (!cJSON_IsObject (reply))
    return vdvs_error_set (err, EBADMSG,
                           "Invalid get reply from ESX: not an object");
  r |= info_field (&info->created_by, reply, "created by VM");
  r |= info_field (&info->created, reply, "created");
  r |= info_field (&info->status, reply, "status");
  cap = cJSON_GetObjectItemCaseSensitive (reply, "capacity");
  if (cJSON_IsObject (cap))
    {
      r |= info_field (&info->capacity_size, cap, "size");
      r |= info_field (&info->capacity_allocated, cap, "allocated");
    }
  r |= info_field (&info->datastore, reply, "datastore");
  r |= info_field (&info->attached_to_vm, reply, "attached to VM");
  dev = cJSON_GetObjectItemCaseSensitive (reply, "attachedVMDevice");
  if (cJSON_IsObject (dev))
    {
      vdvs_error_t derr = NULL;
      if (esx_reply_to_device (dev, &info->device, &derr) == 0)
        info->has_device = true;
      vdvs_error_release (&derr);
    }
  r |= info_field (&info->fstype, reply, "fstype");
  r |= info_field (&info->diskformat, reply, "diskformat");
  r |= info_field (&info->attach_as, reply, "attach-as");
  r |= info_field (&info->access, reply, "access");
  r |= info_field (&info->clone_from, reply, "clone-from");
  r |= info_field (&info->vsan_policy_name, reply, "vsan-policy-name");
  if (r != 0)
    {
      vdvs_volume_info_clear (info);
      return vdvs_error_set (err, ENOMEM, "Out of memory");
    }
  return 0;
}

int
esx_reply_to_list (const cJSON *reply, struct vdvs_volume_list *list,
                   vdvs_error_t *err)
{
  const cJSON *it;

  memset (list, 0, sizeof *list);
  if (!cJSON_IsArray (reply))
    return vdvs_error_set (err, EBADMSG,
                           "Invalid list reply from ESX: not an array");
  cJSON_ArrayForEach (it, reply)
    {
      const cJSON *name = cJSON_GetObjectItem (it, "Name");

      if (!cJSON_IsString (name))
        {
          vdvs_volume_list_clear (list);
          return vdvs_error_set (err, EBADMSG,
                                 "Invalid list reply from ESX: entry "
                                 "without a Name");
        }
      if (vdvs_volume_list_add (list, name->valuestring) < 0)
        {
          vdvs_volume_list_clear (list);
          return vdvs_error_set (err, ENOMEM, "Out of memory");
        }
    }
  return 0;
}
