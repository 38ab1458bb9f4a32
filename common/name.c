/* Volume name parsing with the upstream rules (reference §3.2). */
#include "vdvs/name.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Number of UTF-8 code points; Python's len() on the decoded name. */
static size_t
utf8_chars (const char *s, size_t n)
{
  size_t chars = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char) s[i] & 0xC0) != 0x80)
      chars++;
  return chars;
}

/* Upstream's ESX delta-disk rule: ^.*-[0-9]{6}$ */
static bool
has_delta_suffix (const char *s, size_t n)
{
  if (n < 7 || s[n - 7] != '-')
    return false;
  for (size_t i = n - 6; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* Upstream passes these messages through Python's repr(), so the text the
 * user sees is wrapped in quotes: single ones, or double ones when the
 * message itself holds a single quote.  We keep that quirk. */
int
vdvs_name_parse (const char *name, struct vdvs_name *out, vdvs_error_t *err)
{
  const char *at;
  size_t vlen, dlen;

  if (name == NULL || name[0] == '\0')
    return vdvs_error_set (err, EINVAL, "Volume name is empty");
  for (const char *p = name; *p; p++)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      return vdvs_error_set (err, EINVAL,
                             "Volume name contains control characters "
                             "(byte 0x%02x at offset %zu)",
                             (unsigned char) *p, (size_t) (p - name));

  at = strrchr (name, '@');
  vlen = at ? (size_t) (at - name) : strlen (name);
  dlen = at ? strlen (at + 1) : 0;

  if (vlen == 0)
    return vdvs_error_set (err, EINVAL, "Volume name is empty in `%s`", name);
  if (utf8_chars (name, vlen) > VDVS_MAX_VOL_NAME_LEN
      || vlen >= sizeof out->volume)
    return vdvs_error_set (err, EINVAL,
                           "'Volume name is too long (max len is %d)'",
                           VDVS_MAX_VOL_NAME_LEN);
  for (size_t i = 0; i < vlen; i++)
    {
      if (name[i] == '/')
        return vdvs_error_set (err, EINVAL,
                               "'Volume name contains illegal characters: /'");
      if (name[i] == '\\')
        return vdvs_error_set (err, EINVAL,
                               "'Volume name contains illegal characters: \\\\'");
    }
  if (has_delta_suffix (name, vlen))
    return vdvs_error_set (err, EINVAL,
                           "\"Volume names ending with '-NNNNNN' (where N is a "
                           "digit) are not supported\"");
  /* "vol@": upstream's parse_vol_name takes the empty datastore as none
   * given, so the default one. */
  if (utf8_chars (at ? at + 1 : "", dlen) > VDVS_MAX_DS_NAME_LEN
      || dlen >= sizeof out->datastore)
    return vdvs_error_set (err, EINVAL,
                           "'Datastore name is too long (max len is %d)'",
                           VDVS_MAX_DS_NAME_LEN);
  if (at != NULL
      && (strchr (at + 1, '/') || strchr (at + 1, '\\')
          || strcmp (at + 1, ".") == 0 || strcmp (at + 1, "..") == 0))
    return vdvs_error_set (err, EINVAL, "Invalid datastore '%s'", at + 1);

  memcpy (out->volume, name, vlen);
  out->volume[vlen] = '\0';
  memcpy (out->datastore, at ? at + 1 : "", dlen);
  out->datastore[dlen] = '\0';
  return 0;
}

int
vdvs_name_check_mountable (const char *volume, const char *datastore,
                           vdvs_error_t *err)
{
  /* Not known yet (the backend's default): at least one byte. */
  size_t n = strlen (volume) + 1 + (datastore[0] ? strlen (datastore) : 1);

  if (n <= VDVS_MOUNT_NAME_MAX)
    return 0;
  if (datastore[0] == '\0')
    return vdvs_error_set (err, ENAMETOOLONG,
                           "Volume name `%s` is too long to mount: with `@` "
                           "and a datastore name it is over %d bytes, the "
                           "limit for both names together (in UTF-8)",
                           volume, VDVS_MOUNT_NAME_MAX);
  return vdvs_error_set (err, ENAMETOOLONG,
                         "Volume name `%s@%s` is too long to mount: %zu "
                         "bytes, over the %d-byte limit for the volume and "
                         "datastore names together (in UTF-8)",
                         volume, datastore, n, VDVS_MOUNT_NAME_MAX);
}
