/* Volumes made and unmade: create, clone and remove, with upstream's
 * messages.  Each runs under the volume's lock (a clone under both, in
 * bucket order); a volume exists iff its descriptor does. */
#include "authdb.h"
#include "mock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/size.h"

static void
now_asctime (char *buf, size_t len)
{
  time_t t = time (NULL);
  struct tm tm;
  char tmp[64];

  gmtime_r (&t, &tm);
  asctime_r (&tm, tmp);
  tmp[strcspn (tmp, "\n")] = '\0';
  snprintf (buf, len, "%s", tmp);
}

static void
remove_files (const struct mock_vol *v)
{
  unlink (v->descriptor);
  unlink (v->flat);
  unlink (v->sidecar);
}

static int
create_locked (struct mock *m, const struct mock_vol *v,
               const struct vdvs_opts *opts, vdvs_error_t *err)
{
  struct mock_sidecar sc;
  const char *size = vdvs_opts_get (opts, "size");
  const char *format = vdvs_opts_get (opts, "diskformat");
  uint64_t mb = 100;
  int r;

  if (mock_vol_exists (v))
    return vdvs_error_set (err, EEXIST, "File %s already exists", v->esx_path);
  if (size != NULL && vdvs_size_parse_mb (size, &mb) < 0)
    return vdvs_error_set (err, EINVAL, "Invalid format for size.");
  if (format == NULL)
    format = "thin";
  /* A stray extent or sidecar without a descriptor is debris of a crash in
   * an earlier create: the volume does not exist, so replace them. */
  unlink (v->flat);
  unlink (v->sidecar);
  if (mock_extent_make (m, v, mb * 1024 * 1024, format, err) < 0)
    return -1;

  memset (&sc, 0, sizeof sc);
  strcpy (sc.status, "detached");
  now_asctime (sc.created, sizeof sc.created);
  snprintf (sc.created_by, sizeof sc.created_by, "%s", m->cfg.vm_name);
  r = 0;
  for (size_t i = 0; i < opts->n && r == 0; i++)
    r = vdvs_opts_set (&sc.vol_opts, opts->v[i].key, opts->v[i].value);
  if (r == 0)
    r = vdvs_opts_set (&sc.vol_opts, "diskformat", format);
  if (r < 0)
    {
      mock_sidecar_clear (&sc);
      remove_files (v);
      return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  /* The descriptor is written last: a volume exists iff it does. */
  if (mock_sidecar_write (v->sidecar, &sc, err) < 0
      || mock_descriptor_write (v, mb * 1024 * 1024,
                                strcmp (format, "thin") == 0, err)
             < 0)
    {
      mock_sidecar_clear (&sc);
      remove_files (v);
      vdvs_error_wrap (err, "Failed to create metadata kv store for %s",
                       v->esx_path);
      return -1;
    }
  mock_sidecar_clear (&sc);
  vdvs_log (VDVS_LOG_INFO, "Volume created",
            "volume=%s datastore=%s size_mb=%llu diskformat=%s vm=%s", v->vol,
            v->ds, (unsigned long long) mb, format, m->cfg.vm_name);
  return 0;
}

static int
clone_locked (struct mock *m, const struct mock_vol *v,
              const struct mock_vol *src, const struct vdvs_opts *opts,
              vdvs_error_t *err)
{
  struct mock_sidecar sc;
  struct mock_descriptor d;
  const char *format = vdvs_opts_get (opts, "diskformat");
  const char *keys[] = { "diskformat", "access", "attach-as" };
  int r = 0;

  if (mock_vol_exists (v))
    return vdvs_error_set (err, EEXIST, "File %s already exists", v->esx_path);
  if (!mock_vol_exists (src))
    return vdvs_error_set (err, ENOENT, "Could not find volume for cloning %s",
                           vdvs_opts_get (opts, "clone-from"));
  if (mock_descriptor_read (src, &d, err) < 0
      || mock_sidecar_read (src->sidecar, &sc, err) < 0)
    return vdvs_error_wrap (err, "Failed to clone volume");
  unlink (v->flat);
  unlink (v->sidecar);
  if (mock_extent_copy (m, src, v, err) < 0)
    {
      mock_sidecar_clear (&sc);
      return -1;
    }
  if (format != NULL && strcmp (format, "thin") != 0)
    {
      int fd = open (v->flat, O_RDWR | O_CLOEXEC);
      if (fd >= 0)
        {
          r = posix_fallocate (fd, 0, (off_t) (d.sectors * 512));
          close (fd);
        }
    }
  /* The clone's sidecar is the source's with these overwritten. */
  strcpy (sc.status, "detached");
  sc.attached = false;
  now_asctime (sc.created, sizeof sc.created);
  snprintf (sc.created_by, sizeof sc.created_by, "%s", m->cfg.vm_name);
  if (r == 0)
    r = vdvs_opts_set (&sc.vol_opts, "clone-from", src->vol);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0] && r == 0; i++)
    {
      const char *val = vdvs_opts_get (opts, keys[i]);
      if (val != NULL)
        r = vdvs_opts_set (&sc.vol_opts, keys[i], val);
    }
  if (r != 0)
    {
      mock_sidecar_clear (&sc);
      remove_files (v);
      return vdvs_error_set (err, r > 0 ? r : ENOMEM,
                             "Failed to clone volume: %s",
                             strerror (r > 0 ? r : ENOMEM));
    }
  format = vdvs_opts_get (&sc.vol_opts, "diskformat");
  if (mock_sidecar_write (v->sidecar, &sc, err) < 0
      || mock_descriptor_write (v, d.sectors * 512,
                                format == NULL || strcmp (format, "thin") == 0,
                                err)
             < 0)
    {
      mock_sidecar_clear (&sc);
      remove_files (v);
      return vdvs_error_wrap (err, "Failed to clone volume");
    }
  mock_sidecar_clear (&sc);
  vdvs_log (VDVS_LOG_INFO, "Volume cloned",
            "volume=%s datastore=%s source=%s@%s", v->vol, v->ds, src->vol,
            src->ds);
  return 0;
}

/* The two locks of a clone are taken in bucket order, once when shared. */
static int
lock_pair (struct mock *m, const struct mock_vol *a, const struct mock_vol *b,
           int fds[2], vdvs_error_t *err)
{
  const struct mock_vol *first = a, *second = b;
  unsigned ba = mock_lock_bucket (a), bb = mock_lock_bucket (b);

  fds[0] = fds[1] = -1;
  if (bb < ba)
    {
      first = b;
      second = a;
    }
  if ((fds[0] = mock_lock (m, first, err)) < 0)
    return -1;
  if (ba != bb && (fds[1] = mock_lock (m, second, err)) < 0)
    {
      mock_unlock (fds[0]);
      return -1;
    }
  return 0;
}

/* The size a create asks for, in MiB, as upstream's authorization counts
 * it: -o size converted (0 if it does not convert), 100 by default, a
 * clone's source size. */
static uint64_t
requested_mb (const struct mock_vol *src, const struct vdvs_opts *opts)
{
  const char *size = vdvs_opts_get (opts, "size");
  struct mock_descriptor d;
  vdvs_error_t ignore = NULL;

  if (src != NULL)
    {
      if (mock_descriptor_read (src, &d, &ignore) < 0)
        {
          vdvs_error_release (&ignore);
          return 100;
        }
      return (d.sectors * 512 + (1 << 20) - 1) >> 20;
    }
  return size ? mock_convert_to_mb (size) : 100;
}

/* Create or clone v, authorized already. */
static int
create_authorized (struct mock *m, const struct mock_vol *v,
                   const struct mock_vol *src, const struct vdvs_opts *opts,
                   vdvs_error_t *err)
{
  int fd, fds[2], r;

  /* Upstream's createVMDK looks for the file before it validates the
   * options: a retried create with bad options still says "exists". */
  if (mock_vol_exists (v))
    return vdvs_error_set (err, EEXIST, "File %s already exists", v->esx_path);
  if (mock_options_validate (m, v->ds, opts, err) < 0)
    return -1;
  if (src != NULL)
    {
      if (lock_pair (m, v, src, fds, err) < 0)
        return -1;
      r = clone_locked (m, v, src, opts, err);
      mock_unlock (fds[1]);
      mock_unlock (fds[0]);
      return r;
    }
  if ((fd = mock_lock (m, v, err)) < 0)
    return -1;
  r = create_locked (m, v, opts, err);
  mock_unlock (fd);
  return r;
}

int
mock_create (void *handle, const char *name, const struct vdvs_opts *opts,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v, src;
  struct mock_auth a;
  const char *clone_from = vdvs_opts_get (opts, "clone-from");
  bool explicit_ds, src_explicit;
  int r;

  /* Authorization first (upstream's order): the vmgroup, the name on its
   * default datastore, the privilege, size and quota; only then the
   * file, the options and the work. */
  if (mock_auth_begin (m, &a, err) < 0)
    return -1;
  if (mock_auth_resolve (m, &a, name, &v, &explicit_ds, err) < 0)
    {
      mock_auth_end (&a, false);
      return -1;
    }
  if (clone_from != NULL)
    {
      vdvs_error_t e2 = NULL;
      if (mock_auth_resolve (m, &a, clone_from, &src, &src_explicit, &e2) < 0)
        {
          vdvs_error_release (&e2);
          mock_auth_end (&a, false);
          return vdvs_error_set (err, ENOENT,
                                 "Could not find volume for cloning %s",
                                 clone_from);
        }
    }
  /* A clone is never counted in the volumes table (as upstream). */
  if (mock_auth_create (m, &a, &v, explicit_ds,
                        requested_mb (clone_from ? &src : NULL, opts),
                        clone_from == NULL, err)
      < 0)
    {
      mock_auth_end (&a, false);
      return -1;
    }
  r = mock_tenant_dir (m, v.ds, a.tenant_id, a.tenant_name, err);
  if (r == 0)
    r = create_authorized (m, &v, clone_from ? &src : NULL, opts, err);
  mock_auth_end (&a, r == 0);
  return r;
}

int
mock_clone (void *handle, const char *name, const char *source,
            const struct vdvs_opts *opts, vdvs_error_t *err)
{
  struct vdvs_opts o = { 0 };
  int r = 0;

  for (size_t i = 0; i < opts->n && r == 0; i++)
    r = vdvs_opts_set (&o, opts->v[i].key, opts->v[i].value);
  if (r == 0)
    r = vdvs_opts_set (&o, "clone-from", source);
  if (r == 0)
    r = mock_create (handle, name, &o, err);
  else
    r = vdvs_error_set (err, ENOMEM, "out of memory");
  vdvs_opts_clear (&o);
  return r;
}

int
mock_remove_locked (const struct mock_vol *v, vdvs_error_t *err)
{
  struct mock_sidecar sc;
  vdvs_error_t serr = NULL;
  int r = 0;

  if (!mock_vol_exists (v))
    return mock_not_found (v, err);
  if (mock_sidecar_read (v->sidecar, &sc, &serr) == 0)
    {
      if (sc.attached || strcmp (sc.status, "attached") == 0)
        r = vdvs_error_set (err, EBUSY,
                            "Failed to remove volume %s, in use by VM = %s.",
                            v->vol,
                            sc.attached_name[0] ? sc.attached_name
                                                : sc.attached_uuid);
      mock_sidecar_clear (&sc);
      if (r < 0)
        return r;
    }
  else
    {
      /* A corrupt sidecar must not make a volume undeletable. */
      vdvs_log (VDVS_LOG_WARN, "Removing volume with unreadable sidecar",
                "volume=%s datastore=%s error=\"%s\"", v->vol, v->ds,
                serr->msg);
      vdvs_error_release (&serr);
    }
  /* Descriptor first: from that instant the volume no longer exists. */
  if (unlink (v->descriptor) < 0 && errno != ENOENT)
    return vdvs_error_set (err, errno, "Failed to remove volume: %s",
                           strerror (errno));
  unlink (v->flat);
  unlink (v->sidecar);
  vdvs_log (VDVS_LOG_INFO, "Volume removed", "volume=%s datastore=%s", v->vol,
            v->ds);
  return 0;
}

int
mock_remove (void *handle, const char *name, const struct vdvs_opts *opts,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;
  struct mock_auth a;
  bool explicit_ds;
  int fd, r;

  (void) opts;
  if (mock_auth_begin (m, &a, err) < 0)
    return -1;
  if (mock_auth_resolve (m, &a, name, &v, &explicit_ds, err) < 0
      || mock_auth_remove (m, &a, &v, explicit_ds, err) < 0
      || (fd = mock_lock (m, &v, err)) < 0)
    {
      mock_auth_end (&a, true);
      return -1;
    }
  r = mock_remove_locked (&v, err);
  if (r == 0)
    mock_auth_removed (&a);
  mock_unlock (fd);
  mock_auth_end (&a, true);
  return r;
}
