/* Datastores as folders of the backing root, the dockvols layout, volume
 * resolution and the cross-process volume locks. */
#include "mock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_BUCKETS 256

int
mock_write_atomic (const char *path, const char *data, size_t len)
{
  char tmp[PATH_MAX];
  const char *slash = strrchr (path, '/');
  int fd, r = 0;

  /* The temp name starts with '.' and never ends in .vmdk, so listing and
   * lookups ignore it; it lives in the same folder so rename is atomic. */
  if (snprintf (tmp, sizeof tmp, "%.*s.%s.tmp%d", (int) (slash - path + 1),
                path, slash + 1, (int) gettid ())
      >= (int) sizeof tmp)
    return -ENAMETOOLONG;
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  for (size_t off = 0; off < len;)
    {
      ssize_t n = write (fd, data + off, len - off);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          r = -errno;
          break;
        }
      off += (size_t) n;
    }
  if (r == 0 && fsync (fd) < 0)
    r = -errno;
  if (close (fd) < 0 && r == 0)
    r = -errno;
  if (r == 0 && rename (tmp, path) < 0)
    r = -errno;
  if (r < 0)
    unlink (tmp);
  return r;
}

int
mock_datastores_init (struct mock *m, vdvs_error_t *err)
{
  char list[sizeof m->cfg.datastores];
  char *save = NULL;

  strcpy (list, m->cfg.datastores);
  m->n_ds = 0;
  for (char *ds = strtok_r (list, ",", &save); ds;
       ds = strtok_r (NULL, ",", &save))
    {
      char path[PATH_MAX];
      int r;

      while (*ds == ' ')
        ds++;
      if (*ds == '\0')
        continue;
      if (m->n_ds == MOCK_MAX_DATASTORES)
        return vdvs_error_set (err, EINVAL, "too many datastores (max %d)",
                               MOCK_MAX_DATASTORES);
      if (strlen (ds) > VDVS_MAX_DS_NAME_LEN || strchr (ds, '/')
          || strchr (ds, '@') || ds[0] == '.')
        return vdvs_error_set (err, EINVAL,
                               "invalid datastore name `%s`: at most %d "
                               "characters, no '/', '@' or leading '.'",
                               ds, VDVS_MAX_DS_NAME_LEN);
      strcpy (m->ds[m->n_ds++], ds);
      /* dockvols/<tenant-uuid> plus the readable _DEFAULT alias. */
      snprintf (path, sizeof path, "%s/%s/dockvols/%s", m->cfg.root, ds,
                MOCK_TENANT_UUID);
      if ((r = vdvs_mkdir_p (path, 0755)) < 0)
        return vdvs_error_set (err, -r,
                               "dockvols creation failed - %s on datastore %s",
                               strerror (-r), ds);
      snprintf (path, sizeof path, "%s/%s/dockvols/%s", m->cfg.root, ds,
                MOCK_TENANT_NAME);
      if (symlink (MOCK_TENANT_UUID, path) < 0 && errno != EEXIST)
        return vdvs_error_set (err, errno, "cannot create `%s`: %s", path,
                               strerror (errno));
    }
  if (m->n_ds == 0)
    return vdvs_error_set (err, EINVAL, "no datastore configured");
  return 0;
}

int
mock_tenant_dir (const struct mock *m, const char *ds, const char *uuid,
                 const char *name, vdvs_error_t *err)
{
  char path[PATH_MAX];
  int r;

  snprintf (path, sizeof path, "%s/%s/dockvols/%s", m->cfg.root, ds, uuid);
  if ((r = vdvs_mkdir_p (path, 0755)) < 0)
    return vdvs_error_set (err, -r,
                           "dockvols creation failed - %s on datastore %s",
                           strerror (-r), ds);
  /* The readable alias; a name that is not a plain file name gets none. */
  if (name[0] == '\0' || name[0] == '.' || strchr (name, '/'))
    return 0;
  snprintf (path, sizeof path, "%s/%s/dockvols/%s", m->cfg.root, ds, name);
  if (symlink (uuid, path) < 0 && errno != EEXIST)
    vdvs_log (VDVS_LOG_WARN, "vmgroup alias not created",
              "path=%s error=\"%s\"", path, strerror (errno));
  return 0;
}

int
mock_vol_paths (const struct mock *m, const char *ds, const char *vol,
                struct mock_vol *v, vdvs_error_t *err)
{
  return mock_vol_paths_in (m, ds, vol, MOCK_TENANT_UUID, MOCK_TENANT_NAME, v,
                            err);
}

void
mock_vol_key (const struct mock_vol *v, char *key, size_t len)
{
  if (strcmp (v->tenant, MOCK_TENANT_UUID) == 0)
    snprintf (key, len, "%s/%s", v->ds, v->vol);
  else
    snprintf (key, len, "%s/%s/%s", v->ds, v->tenant, v->vol);
}

int
mock_vol_from_key (const struct mock *m, const char *key, struct mock_vol *v,
                   vdvs_error_t *err)
{
  char buf[1200];
  char *slash, *second;

  snprintf (buf, sizeof buf, "%s", key);
  if ((slash = strchr (buf, '/')) == NULL)
    return vdvs_error_set (err, EINVAL, "bad unit record key `%s`", key);
  *slash = '\0';
  if ((second = strchr (slash + 1, '/')) == NULL)
    return mock_vol_paths (m, buf, slash + 1, v, err);
  *second = '\0';
  /* The alias of another vmgroup is not known here: the uuid stands in. */
  return mock_vol_paths_in (m, buf, second + 1, slash + 1, slash + 1, v, err);
}

int
mock_vol_paths_in (const struct mock *m, const char *ds, const char *vol,
                   const char *uuid, const char *name, struct mock_vol *v,
                   vdvs_error_t *err)
{
  memset (v, 0, sizeof *v);
  snprintf (v->tenant, sizeof v->tenant, "%s", uuid);
  if (snprintf (v->vol, sizeof v->vol, "%s", vol) >= (int) sizeof v->vol
      || snprintf (v->ds, sizeof v->ds, "%s", ds) >= (int) sizeof v->ds)
    return vdvs_error_set (err, ENAMETOOLONG, "volume name too long");
  /* A name of 100 multi-byte characters can exceed NAME_MAX bytes once
   * suffixed: refuse it rather than truncate the file names. */
  if (snprintf (v->flat_name, sizeof v->flat_name, "%s-flat.vmdk", vol)
          >= (int) sizeof v->flat_name
      || snprintf (v->sidecar_name, sizeof v->sidecar_name, "%s-%016llx.vmfd",
                   vol, (unsigned long long) vdvs_hash (vol))
             >= (int) sizeof v->sidecar_name)
    return vdvs_error_set (err, ENAMETOOLONG,
                           "Volume name `%s` is too long for the datastore "
                           "(at most %d bytes of UTF-8)",
                           vol, NAME_MAX - 22);
  if (snprintf (v->dir, sizeof v->dir, "%s/%s/dockvols/%s", m->cfg.root, ds,
                uuid)
          >= (int) sizeof v->dir
      || snprintf (v->descriptor, sizeof v->descriptor, "%s/%s.vmdk", v->dir,
                   vol)
             >= (int) sizeof v->descriptor
      || snprintf (v->flat, sizeof v->flat, "%s/%s", v->dir, v->flat_name)
             >= (int) sizeof v->flat
      || snprintf (v->sidecar, sizeof v->sidecar, "%s/%s", v->dir,
                   v->sidecar_name)
             >= (int) sizeof v->sidecar)
    return vdvs_error_set (err, ENAMETOOLONG, "path of volume `%s` too long",
                           vol);
  snprintf (v->esx_path, sizeof v->esx_path,
            "/vmfs/volumes/%s/dockvols/%s/%s.vmdk", ds, name, vol);
  return 0;
}

int
mock_resolve (const struct mock *m, const char *name, struct mock_vol *v,
              vdvs_error_t *err)
{
  struct vdvs_name n;
  const char *ds;
  int r = mock_resolve_name (m, name, &n, &ds, err);

  if (r < 0)
    return r;
  return mock_vol_paths (m, ds, n.volume, v, err);
}

/* Python's repr() of a str appended to buf[len] at *off: single quotes,
 * or double ones when the text holds a single quote and no double one;
 * backslash, the quote and control characters escaped. */
static void
py_repr (char *buf, size_t len, size_t *off, const char *s)
{
  char q = strchr (s, '\'') && !strchr (s, '"') ? '"' : '\'';

#define PUT(...)                                                              \
  do                                                                          \
    {                                                                         \
      if (*off < len)                                                         \
        *off += (size_t) snprintf (buf + *off, len - *off, __VA_ARGS__);      \
    }                                                                         \
  while (0)
  PUT ("%c", q);
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '\\' || c == (unsigned char) q)
        PUT ("\\%c", c);
      else if (c == '\n')
        PUT ("\\n");
      else if (c == '\t')
        PUT ("\\t");
      else if (c == '\r')
        PUT ("\\r");
      else if (c < 0x20 || c == 0x7f)
        PUT ("\\x%02x", c);
      else
        PUT ("%c", c);
    }
  PUT ("%c", q);
#undef PUT
}

/* Upstream raises a ValidationError with the Python list of the matches
 * and answers str() of it, which is repr() of the message: the list's
 * own quotes make that a double-quoted text. */
static int
multiple_datastores (const struct mock *m, const char *want, vdvs_error_t *err)
{
  char list[4096], msg[4200], out[8600];
  size_t off = 0, moff = 0;
  int first = 1;

  off += (size_t) snprintf (list, sizeof list, "[");
  for (size_t i = 0; i < m->n_ds; i++)
    if (strcasecmp (m->ds[i], want) == 0)
      {
        if (!first && off < sizeof list)
          off += (size_t) snprintf (list + off, sizeof list - off, ", ");
        py_repr (list, sizeof list, &off, m->ds[i]);
        first = 0;
      }
  if (off < sizeof list)
    snprintf (list + off, sizeof list - off, "]");
  snprintf (msg, sizeof msg,
            "Found multiple datastores with same name (ignoring case "
            "difference): %s",
            list);
  py_repr (out, sizeof out, &moff, msg);
  return vdvs_error_set (err, EINVAL, "%s", out);
}

int
mock_resolve_name (const struct mock *m, const char *name,
                   struct vdvs_name *out, const char **ds_out,
                   vdvs_error_t *err)
{
  struct vdvs_name n;
  const char *ds = NULL;
  size_t matches = 0;

  if (vdvs_name_parse (name, &n, err) < 0)
    return -EINVAL;
  if (n.datastore[0] == '\0')
    ds = mock_auth_default_ds ((struct mock *) m);
  else
    {
      /* Case-insensitive, corrected to the real case (upstream #1712). */
      for (size_t i = 0; i < m->n_ds; i++)
        if (strcasecmp (m->ds[i], n.datastore) == 0)
          {
            ds = m->ds[i];
            matches++;
          }
      if (matches > 1)
        return multiple_datastores (m, n.datastore, err);
      if (ds == NULL)
        {
          char known[2048] = "";
          size_t off = 0;
          for (size_t i = 0; i < m->n_ds && off < sizeof known; i++)
            off += (size_t) snprintf (known + off, sizeof known - off, "%s%s",
                                      i ? ", " : "", m->ds[i]);
          return vdvs_error_set (err, EINVAL,
                                 "Invalid datastore '%s'.\nKnown datastores: "
                                 "%s.\nDefault datastore: %s",
                                 n.datastore, known, m->ds[0]);
        }
    }
  *out = n;
  *ds_out = ds;
  return 0;
}

bool
mock_vol_exists (const struct mock_vol *v)
{
  struct stat st;
  return stat (v->descriptor, &st) == 0 && S_ISREG (st.st_mode);
}

int
mock_not_found (const struct mock_vol *v, vdvs_error_t *err)
{
  return vdvs_error_set (err, ENOENT, "Volume %s not found (file: %s)", v->vol,
                         v->esx_path);
}

unsigned
mock_lock_bucket (const struct mock_vol *v)
{
  char key[1024];

  snprintf (key, sizeof key, "%s/%s", v->ds, v->vol);
  return (unsigned) (vdvs_hash (key) % LOCK_BUCKETS);
}

int
mock_lock (const struct mock *m, const struct mock_vol *v, vdvs_error_t *err)
{
  char path[PATH_MAX];
  int fd;

  snprintf (path, sizeof path, "%s/.locks", m->cfg.root);
  if (vdvs_mkdir_p (path, 0700) < 0)
    return vdvs_error_set (err, errno, "cannot create `%s`: %s", path,
                           strerror (errno));
  snprintf (path, sizeof path, "%s/.locks/vol-%02x.lock", m->cfg.root,
            mock_lock_bucket (v));
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return vdvs_error_set (err, errno, "cannot open lock `%s`: %s", path,
                           strerror (errno));
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return vdvs_error_set (err, e, "cannot lock `%s`: %s", path,
                               strerror (e));
      }
  return fd;
}

void
mock_unlock (int fd)
{
  if (fd >= 0)
    close (fd); /* releases the flock */
}
