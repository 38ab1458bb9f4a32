/* Create-option validation, with the upstream service's exact messages
 * (reference §3.1).  The guest-side fstype check (a mkfs must exist) is the
 * core's; here fstype is only checked against clone-from. */
#include "mock_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/size.h"

/* In the order of upstream's VALID_ALLOCATION_FORMATS (volume_kv.py),
 * which its "not supported" message lists. */
const char *const mock_diskformats[3] = { "zeroedthick", "thin",
                                          "eagerzeroedthick" };

static const char *const valid_keys[] = {
  "size",   "vsan-policy-name", "diskformat", "attach-as",
  "access", "fstype",           "clone-from",
};

static bool
is_valid_key (const char *k)
{
  for (size_t i = 0; i < sizeof valid_keys / sizeof valid_keys[0]; i++)
    if (strcmp (k, valid_keys[i]) == 0)
      return true;
  return false;
}

/* Python's repr() of a str, close enough for option keys: single quotes,
 * backslash and quote escaped, control characters as \xNN. */
static void
py_repr (FILE *f, const char *s)
{
  fputc ('\'', f);
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '\\' || c == '\'')
        fprintf (f, "\\%c", c);
      else if (c == '\n')
        fputs ("\\n", f);
      else if (c < 0x20 || c == 0x7f)
        fprintf (f, "\\x%02x", c);
      else
        fputc (c, f);
    }
  fputc ('\'', f);
}

static int
invalid_keys_error (const struct vdvs_opts *o, vdvs_error_t *err)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  bool first = true;
  int r;

  if (f == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  fputs ("Invalid options: [", f);
  for (size_t i = 0; i < o->n; i++)
    if (!is_valid_key (o->v[i].key))
      {
        if (!first)
          fputs (", ", f);
        py_repr (f, o->v[i].key);
        first = false;
      }
  fputs ("] \nValid options and defaults: [('size', '100mb'), "
         "('vsan-policy-name', '[VSAN default]'), ('diskformat', 'thin'), "
         "('attach-as', 'independent_persistent'), "
         "('access', 'read-write'), ('fstype', 'ext4'), "
         "('clone-from', 'None')]",
         f);
  fclose (f);
  r = vdvs_error_set (err, EINVAL, "%s", buf);
  free (buf);
  return r;
}

static int
check_attach_as (const char *v, vdvs_error_t *err)
{
  if (v != NULL && strcmp (v, "independent_persistent") != 0
      && strcmp (v, "persistent") != 0)
    return vdvs_error_set (err, EINVAL,
                           "Attach type '%s' is not supported. Valid options "
                           "are: ['independent_persistent', 'persistent']",
                           v);
  return 0;
}

static int
check_access (const char *v, vdvs_error_t *err)
{
  if (v != NULL && strcmp (v, "read-write") != 0
      && strcmp (v, "read-only") != 0)
    return vdvs_error_set (err, EINVAL,
                           "Access type '%s' is not supported. Valid options "
                           "are: ['read-write', 'read-only']",
                           v);
  return 0;
}

int
mock_options_validate (const struct mock *m, const char *ds,
                       const struct vdvs_opts *o, vdvs_error_t *err)
{
  const char *v;
  bool clone = vdvs_opts_get (o, "clone-from") != NULL;
  uint64_t mb;

  for (size_t i = 0; i < o->n; i++)
    if (!is_valid_key (o->v[i].key))
      return invalid_keys_error (o, err);

  if ((v = vdvs_opts_get (o, "size")) != NULL)
    {
      if (clone)
        return vdvs_error_set (err, EINVAL,
                               "Cannot define the size for a clone");
      if (vdvs_size_parse_mb (v, &mb) < 0)
        return vdvs_error_set (err, EINVAL,
                               "Invalid format for size. \nValid sizes must be "
                               "of form X[mMgGtT]b where X is an integer. "
                               "Default = 100mb");
      if (mb == 0)
        return vdvs_error_set (err, EINVAL, "Invalid volume size specified.");
    }
  if (mock_policy_check (m, ds, vdvs_opts_get (o, "vsan-policy-name"), err)
      < 0)
    return -EINVAL;
  if ((v = vdvs_opts_get (o, "diskformat")) != NULL && strcmp (v, "thin") != 0
      && strcmp (v, "zeroedthick") != 0 && strcmp (v, "eagerzeroedthick") != 0)
    return vdvs_error_set (err, EINVAL,
                           "Disk Allocation Format '%s' is not supported. "
                           "Valid options are: ['zeroedthick', 'thin', "
                           "'eagerzeroedthick'].",
                           v);
  if (check_attach_as (vdvs_opts_get (o, "attach-as"), err) < 0
      || check_access (vdvs_opts_get (o, "access"), err) < 0)
    return -EINVAL;
  if (clone && vdvs_opts_get (o, "fstype") != NULL)
    return vdvs_error_set (err, EINVAL,
                           "Cannot define the filesystem type for a clone");
  return 0;
}

/* What an admin may change on an existing volume (reference §5.3): only
 * how the next attach treats it.  The size, format and the rest are facts
 * of the disk that a sidecar edit cannot change. */
int
mock_options_validate_set (const struct vdvs_opts *o, vdvs_error_t *err)
{
  if (o->n == 0)
    return vdvs_error_set (err, EINVAL,
                           "No option to set. Settable options: "
                           "['access', 'attach-as']");
  for (size_t i = 0; i < o->n; i++)
    {
      const char *k = o->v[i].key;
      if (strcmp (k, "access") == 0 || strcmp (k, "attach-as") == 0)
        continue;
      if (is_valid_key (k))
        return vdvs_error_set (err, EINVAL,
                               "Option '%s' cannot be changed after create. "
                               "Settable options: ['access', 'attach-as']",
                               k);
      return vdvs_error_set (err, EINVAL,
                             "Invalid option '%s'. Settable options: "
                             "['access', 'attach-as']",
                             k);
    }
  if (check_attach_as (vdvs_opts_get (o, "attach-as"), err) < 0
      || check_access (vdvs_opts_get (o, "access"), err) < 0)
    return -EINVAL;
  return 0;
}
