/* The emulated ESX datastore service: the upstream vmdk_ops semantics
 * (reference §2.3, §5) on local files.  One handle = one VM's view. */
#include "mock_i.h"
#include "index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Config given before open(); copied into each handle.  Written only from
 * the main thread before any handle exists (or between opens in esxsim). */
static struct mock_config config = {
  .root = "/var/lib/vdvs",
  .datastores = "datastore1",
  .sysfs_root = "/run/vdvs/sys",
  .dev_root = "/run/vdvs/dev",
  .vmdkfs = "auto",
  .vmdkfs_mount = "/run/vdvs/vmfs/volumes",
  .vmdkfs_ctl = "/run/vdvs/vmdkfs.ctl",
};

#define CONFIG_KEYS(X)                         \
  X ("root", root)                             \
  X ("datastores", datastores)                 \
  X ("vm-name", vm_name)                       \
  X ("vm-uuid", vm_uuid)                       \
  X ("sysfs-root", sysfs_root)                 \
  X ("dev-root", dev_root)                     \
  X ("vmdkfs", vmdkfs)                         \
  X ("vmdkfs-mount", vmdkfs_mount)             \
  X ("vmdkfs-ctl", vmdkfs_ctl)                 \
  X ("vmdkfs-opts", vmdkfs_opts)

static int
mock_config_key (const char *key, const char *value, vdvs_error_t *err)
{
#define SET(k, field)                                                        \
  if (strcmp (key, k) == 0)                                                  \
    {                                                                        \
      if (strlen (value) >= sizeof config.field)                             \
        return vdvs_error_set (err, EINVAL, "mock: value of `%s` too long",  \
                               key);                                         \
      strcpy (config.field, value);                                          \
      return 0;                                                              \
    }
  CONFIG_KEYS (SET)
#undef SET
  return vdvs_error_set (err, EINVAL,
                         "mock: unknown option `%s`; valid: root, datastores, "
                         "vm-name, vm-uuid, sysfs-root, dev-root, vmdkfs, "
                         "vmdkfs-mount, vmdkfs-ctl, vmdkfs-opts",
                         key);
}

/* A VM identity when none is configured: the host name and a UUID derived
 * from /etc/machine-id, so restarts keep the same identity. */
static void
default_identity (struct mock_config *c)
{
  if (c->vm_name[0] == '\0' && gethostname (c->vm_name, sizeof c->vm_name) < 0)
    strcpy (c->vm_name, "localhost");
  if (c->vm_uuid[0] == '\0')
    {
      char id[64] = "";
      FILE *f = fopen ("/etc/machine-id", "re");
      if (f)
        {
          if (fgets (id, sizeof id, f) == NULL)
            id[0] = '\0';
          fclose (f);
        }
      id[strcspn (id, "\n")] = '\0';
      if (strlen (id) != 32)
        snprintf (id, sizeof id, "%016llx%016llx",
                  (unsigned long long) vdvs_hash (c->vm_name),
                  (unsigned long long) vdvs_hash (c->root));
      snprintf (c->vm_uuid, sizeof c->vm_uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", id,
                id + 8, id + 12, id + 16, id + 20);
    }
}

static int
mock_open (void **handle, vdvs_error_t *err)
{
  struct mock *m = calloc (1, sizeof *m);
  char path[PATH_MAX];
  int r;

  if (m == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  m->cfg = config;
  default_identity (&m->cfg);
  if ((r = vdvs_mkdir_p (m->cfg.root, 0755)) < 0)
    {
      vdvs_error_set (err, -r, "mock: cannot create root `%s`: %s",
                      m->cfg.root, strerror (-r));
      free (m);
      return -1;
    }
  snprintf (path, sizeof path, "%s/.vms/%s", m->cfg.root, m->cfg.vm_uuid);
  if ((r = vdvs_mkdir_p (path, 0700)) < 0)
    {
      vdvs_error_set (err, -r, "mock: cannot create `%s`: %s", path,
                      strerror (-r));
      free (m);
      return -1;
    }
  if (mock_datastores_init (m, err) < 0 || mock_vmdkfs_start (m, err) < 0)
    {
      free (m);
      return -1;
    }
  vdvs_log (VDVS_LOG_INFO, "Emulated datastore ready",
            "root=%s datastores=%s vm=%s vm_uuid=%s vmdkfs=%s", m->cfg.root,
            m->cfg.datastores, m->cfg.vm_name, m->cfg.vm_uuid,
            m->vmdkfs ? m->cfg.vmdkfs_mount : "off");
  mock_index_open (m);
  *handle = m;
  return 0;
}

static void
mock_close (void *handle)
{
  struct mock *m = handle;
  if (m == NULL)
    return;
  mock_index_close (m);
  mock_vmdkfs_stop (m);
  free (m);
}

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

static int
not_found (const struct mock_vol *v, vdvs_error_t *err)
{
  return vdvs_error_set (err, ENOENT, "Volume %s not found (file: %s)", v->vol,
                         v->esx_path);
}

static void
report (const struct mock *m, struct vdvs_progress *p,
        enum vdvs_progress_state state)
{
  p->state = state;
  if (m->progress)
    m->progress (m->progress_opaque, p);
}

/* Long writes go to disk as they are made, one chunk behind: the page
 * cache of a shared machine is not flooded with a whole disk of dirty
 * pages, the final fsync is short, and the progress shown is the disk's
 * (not the memory's).  Best effort: a file system without
 * sync_file_range just writes back later. */
#define CHUNK (8u << 20)

static void
write_behind (int fd, uint64_t off, uint64_t len)
{
  sync_file_range (fd, (off_t) off, (off_t) len, SYNC_FILE_RANGE_WRITE);
  if (off >= CHUNK)
    {
      sync_file_range (fd, (off_t) (off - CHUNK), CHUNK,
                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE
                           | SYNC_FILE_RANGE_WAIT_AFTER);
      posix_fadvise (fd, (off_t) (off - CHUNK), CHUNK, POSIX_FADV_DONTNEED);
    }
}

/* Write zeros over [0, bytes).  The source is a read-only anonymous
 * mapping: every page of it is the kernel's one zero page, so the big
 * buffer costs no memory and is always in cache.  Returns 0 or an errno. */
static int
zero_fill (const struct mock *m, int fd, struct vdvs_progress *p)
{
  void *zeros = mmap (NULL, CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
  int e = 0;

  if (zeros == MAP_FAILED)
    return errno;
  while (p->done < p->total && e == 0)
    {
      size_t n = p->total - p->done < CHUNK ? (size_t) (p->total - p->done)
                                            : CHUNK;
      ssize_t w = pwrite (fd, zeros, n, (off_t) p->done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          e = w < 0 ? errno : EIO;
          break;
        }
      if ((uint64_t) w == n && (p->done & (CHUNK - 1)) == 0)
        write_behind (fd, p->done, n);
      p->done += (uint64_t) w;
      report (m, p, VDVS_PROGRESS_UPDATE);
    }
  munmap (zeros, CHUNK);
  return e;
}

/* Allocate the extent per disk format: thin = sparse, zeroedthick =
 * fallocate, eagerzeroedthick = fallocate and write zeros to every block
 * (with progress: this is the long part of a create). */
static int
make_extent (const struct mock *m, const struct mock_vol *v, uint64_t bytes,
             const char *format, vdvs_error_t *err)
{
  int fd = open (v->flat, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int e = 0;
  bool started = false;
  char full[VDVS_FULL_NAME_MAX];
  struct vdvs_progress p = { .op = "create", .volume = full,
                             .what = "eagerzeroedthick", .total = bytes };

  if (fd < 0)
    return vdvs_error_set (err, errno, "Failed to create volume: %s",
                           strerror (errno));
  snprintf (full, sizeof full, "%s@%s", v->vol, v->ds);
  if (strcmp (format, "thin") == 0)
    {
      if (ftruncate (fd, (off_t) bytes) < 0)
        e = errno;
    }
  else if ((e = posix_fallocate (fd, 0, (off_t) bytes)) == 0
           && strcmp (format, "eagerzeroedthick") == 0)
    {
      report (m, &p, VDVS_PROGRESS_START);
      started = true;
      e = zero_fill (m, fd, &p);
    }
  if (e == 0 && fsync (fd) < 0)
    e = errno;
  close (fd);
  if (started)
    report (m, &p, e == 0 ? VDVS_PROGRESS_DONE : VDVS_PROGRESS_FAILED);
  if (e != 0)
    {
      unlink (v->flat);
      return vdvs_error_set (err, e, "Failed to create volume: %s",
                             strerror (e));
    }
  return 0;
}

/* Copy the data runs of [p->done, p->total) from in to out; holes stay
 * holes and count as done.  Returns 0 or an errno. */
static int
copy_runs (const struct mock *m, int in, int out, struct vdvs_progress *p)
{
  while (p->done < p->total)
    {
      off_t data = lseek (in, (off_t) p->done, SEEK_DATA), hole;
      if (data < 0)
        {
          if (errno != ENXIO) /* ENXIO: only a hole is left */
            return errno;
          break;
        }
      if ((hole = lseek (in, data, SEEK_HOLE)) < 0)
        hole = (off_t) p->total;
      p->done = (uint64_t) data;
      while (p->done < (uint64_t) hole)
        {
          off_t o_in = (off_t) p->done, o_out = (off_t) p->done;
          size_t want = (uint64_t) hole - p->done < CHUNK
                            ? (size_t) ((uint64_t) hole - p->done)
                            : CHUNK;
          ssize_t n = copy_file_range (in, &o_in, out, &o_out, want, 0);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return errno;
          if (n == 0) /* the source shrank under us */
            return EIO;
          if ((size_t) n == want && (p->done & (CHUNK - 1)) == 0)
            write_behind (out, p->done, want);
          p->done += (uint64_t) n;
          report (m, p, VDVS_PROGRESS_UPDATE);
        }
    }
  p->done = p->total;
  return 0;
}

/* Copy an extent, keeping holes; a reflink when the file system can.
 * Reports progress as a clone of `v` from `src`. */
static int
copy_extent (const struct mock *m, const struct mock_vol *src,
             const struct mock_vol *v, vdvs_error_t *err)
{
  int in = open (src->flat, O_RDONLY | O_CLOEXEC), out, e = 0;
  char full[VDVS_FULL_NAME_MAX], what[VDVS_FULL_NAME_MAX + 16];
  struct vdvs_progress p = { .op = "clone", .volume = full, .what = what };
  bool started = false;
  struct stat st;

  if (in < 0)
    return vdvs_error_set (err, errno, "Failed to clone volume: %s",
                           strerror (errno));
  out = open (v->flat, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    {
      e = errno;
      close (in);
      return vdvs_error_set (err, e, "Failed to clone volume: %s", strerror (e));
    }
  snprintf (full, sizeof full, "%s@%s", v->vol, v->ds);
  snprintf (what, sizeof what, "copy from %s@%s", src->vol, src->ds);
  if (fstat (in, &st) < 0)
    e = errno;
  else
    {
      p.total = (uint64_t) st.st_size;
      report (m, &p, VDVS_PROGRESS_START);
      started = true;
      if (ioctl (out, FICLONE, in) == 0)
        p.done = p.total;
      else if (ftruncate (out, st.st_size) < 0)
        e = errno;
      else
        e = copy_runs (m, in, out, &p);
    }
  if (e == 0 && fsync (out) < 0)
    e = errno;
  close (in);
  close (out);
  if (started)
    report (m, &p, e == 0 ? VDVS_PROGRESS_DONE : VDVS_PROGRESS_FAILED);
  if (e != 0)
    {
      unlink (v->flat);
      return vdvs_error_set (err, e, "Failed to clone volume: %s",
                             strerror (e));
    }
  return 0;
}

static int
write_descriptor (const struct mock_vol *v, uint64_t bytes, bool thin,
                  vdvs_error_t *err)
{
  struct mock_descriptor d;
  char *text, uuid[64];
  uint64_t h = vdvs_hash (v->descriptor);
  int r;

  memset (&d, 0, sizeof d);
  d.sectors = bytes / 512;
  d.thin = thin;
  strcpy (d.create_type, "vmfs");
  snprintf (d.extent, sizeof d.extent, "%s", v->flat_name);
  snprintf (d.sidecar, sizeof d.sidecar, "%s", v->sidecar_name);
  snprintf (uuid, sizeof uuid,
            "60 00 C2 %02x %02x %02x %02x %02x-%02x %02x %02x %02x %02x %02x "
            "%02x %02x",
            (unsigned) (h >> 56) & 0xff, (unsigned) (h >> 48) & 0xff,
            (unsigned) (h >> 40) & 0xff, (unsigned) (h >> 32) & 0xff,
            (unsigned) (h >> 24) & 0xff, (unsigned) (h >> 16) & 0xff,
            (unsigned) (h >> 8) & 0xff, (unsigned) h & 0xff,
            (unsigned) (bytes >> 8) & 0xff, (unsigned) bytes & 0xff,
            (unsigned) (h >> 4) & 0xff, (unsigned) (h >> 12) & 0xff,
            (unsigned) (h >> 20) & 0xff);
  if (mock_descriptor_format (&d, uuid, &text) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  r = mock_write_atomic (v->descriptor, text, strlen (text));
  free (text);
  if (r < 0)
    return vdvs_error_set (err, -r, "Failed to create volume: %s",
                           strerror (-r));
  return 0;
}

static int
read_descriptor (const struct mock_vol *v, struct mock_descriptor *d,
                 vdvs_error_t *err)
{
  char buf[8192];
  int fd = open (v->descriptor, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    {
      if (errno == ENOENT)
        return not_found (v, err);
      return vdvs_error_set (err, errno, "cannot open `%s`: %s", v->descriptor,
                             strerror (errno));
    }
  n = read (fd, buf, sizeof buf);
  close (fd);
  if (n < 0)
    return vdvs_error_set (err, errno, "cannot read `%s`: %s", v->descriptor,
                           strerror (errno));
  if (mock_descriptor_parse (buf, (size_t) n, d, err) < 0)
    return vdvs_error_wrap (err, "Volume %s has a corrupt descriptor (file: %s)",
                            v->vol, v->esx_path);
  return 0;
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
  if (size != NULL && mock_size_parse_mb (size, &mb) < 0)
    return vdvs_error_set (err, EINVAL, "Invalid format for size.");
  if (format == NULL)
    format = "thin";
  /* A stray extent or sidecar without a descriptor is debris of a crash in
   * an earlier create: the volume does not exist, so replace them. */
  unlink (v->flat);
  unlink (v->sidecar);
  if (make_extent (m, v, mb * 1024 * 1024, format, err) < 0)
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
      || write_descriptor (v, mb * 1024 * 1024, strcmp (format, "thin") == 0,
                           err) < 0)
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
  if (read_descriptor (src, &d, err) < 0
      || mock_sidecar_read (src->sidecar, &sc, err) < 0)
    return vdvs_error_wrap (err, "Failed to clone volume");
  unlink (v->flat);
  unlink (v->sidecar);
  if (copy_extent (m, src, v, err) < 0)
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
      return vdvs_error_set (err, r > 0 ? r : ENOMEM, "Failed to clone volume: %s",
                             strerror (r > 0 ? r : ENOMEM));
    }
  format = vdvs_opts_get (&sc.vol_opts, "diskformat");
  if (mock_sidecar_write (v->sidecar, &sc, err) < 0
      || write_descriptor (v, d.sectors * 512,
                           format == NULL || strcmp (format, "thin") == 0,
                           err) < 0)
    {
      mock_sidecar_clear (&sc);
      remove_files (v);
      return vdvs_error_wrap (err, "Failed to clone volume");
    }
  mock_sidecar_clear (&sc);
  vdvs_log (VDVS_LOG_INFO, "Volume cloned", "volume=%s datastore=%s source=%s@%s",
            v->vol, v->ds, src->vol, src->ds);
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

static int
mock_create (void *handle, const char *name, const struct vdvs_opts *opts,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v, src;
  const char *clone_from = vdvs_opts_get (opts, "clone-from");
  int fd, fds[2], r;

  if (mock_resolve (m, name, &v, err) < 0)
    return -1;
  /* Upstream's createVMDK looks for the file before it validates the
   * options: a retried create with bad options still says "exists". */
  if (mock_vol_exists (&v))
    return vdvs_error_set (err, EEXIST, "File %s already exists", v.esx_path);
  if (mock_options_validate (m, opts, err) < 0)
    return -1;
  if (clone_from != NULL)
    {
      vdvs_error_t e2 = NULL;
      if (mock_resolve (m, clone_from, &src, &e2) < 0)
        {
          vdvs_error_release (&e2);
          return vdvs_error_set (err, ENOENT,
                                 "Could not find volume for cloning %s",
                                 clone_from);
        }
      if (lock_pair (m, &v, &src, fds, err) < 0)
        return -1;
      r = clone_locked (m, &v, &src, opts, err);
      mock_unlock (fds[1]);
      mock_unlock (fds[0]);
      return r;
    }
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  r = create_locked (m, &v, opts, err);
  mock_unlock (fd);
  return r;
}

static int
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

static int
mock_remove (void *handle, const char *name, const struct vdvs_opts *opts,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;
  struct mock_sidecar sc;
  vdvs_error_t serr = NULL;
  int fd, r = 0;

  (void) opts;
  if (mock_resolve (m, name, &v, err) < 0)
    return -1;
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  if (!mock_vol_exists (&v))
    r = not_found (&v, err);
  else if (mock_sidecar_read (v.sidecar, &sc, &serr) == 0)
    {
      if (sc.attached || strcmp (sc.status, "attached") == 0)
        r = vdvs_error_set (err, EBUSY,
                            "Failed to remove volume %s, in use by VM = %s.",
                            v.vol, sc.attached_name[0] ? sc.attached_name
                                                       : sc.attached_uuid);
      mock_sidecar_clear (&sc);
    }
  else
    {
      /* A corrupt sidecar must not make a volume undeletable. */
      vdvs_log (VDVS_LOG_WARN, "Removing volume with unreadable sidecar",
                "volume=%s datastore=%s error=\"%s\"", v.vol, v.ds, serr->msg);
      vdvs_error_release (&serr);
    }
  if (r == 0)
    {
      /* Descriptor first: from that instant the volume no longer exists. */
      if (unlink (v.descriptor) < 0 && errno != ENOENT)
        r = vdvs_error_set (err, errno, "Failed to remove volume: %s",
                            strerror (errno));
      else
        {
          unlink (v.flat);
          unlink (v.sidecar);
          vdvs_log (VDVS_LOG_INFO, "Volume removed", "volume=%s datastore=%s",
                    v.vol, v.ds);
        }
    }
  mock_unlock (fd);
  return r;
}

/* ---- attach/detach: units are claimed with O_EXCL files per VM -------- */

/* The record of unit (ctl, unit) of the VM `uuid`. */
static void
vm_unit_path (const struct mock *m, const char *uuid, int ctl, int unit,
              char *buf, size_t len)
{
  snprintf (buf, len, "%s/.vms/%s/scsi%d:%d", m->cfg.root, uuid, ctl, unit);
}

/* ... of this VM. */
static void
unit_path (const struct mock *m, int ctl, int unit, char *buf, size_t len)
{
  vm_unit_path (m, m->cfg.vm_uuid, ctl, unit, buf, len);
}

/* Unit record: "<loop device>\n<datastore>/<volume>\n<extent>\n", the
 * extent as the loop device was given it (through vmdkfs or not), so that
 * whoever detaches (vdvsctl's power-off has no vmdkfs) checks the loop
 * against the file it really backs.  Records without the third line (older
 * ones) leave extent "".  A unit is claimed by making its record appear
 * already naming the volume (loop device still ""), so a record always
 * says whose unit it is: nothing ever reuses, releases or removes a unit
 * whose record names another volume. */
static int
read_unit_extent (const char *path, char *loopdev, size_t llen, char *key,
                  size_t klen, char *extent, size_t elen)
{
  char buf[64 + 1200 + PATH_MAX];
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  char *nl;

  if (fd < 0)
    return -errno;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -EIO;
  buf[n] = '\0';
  if ((nl = strchr (buf, '\n')) == NULL)
    return -EIO;
  *nl = '\0';
  snprintf (loopdev, llen, "%s", buf);
  snprintf (key, klen, "%.*s", (int) strcspn (nl + 1, "\n"), nl + 1);
  nl = strchr (nl + 1, '\n');
  if (extent != NULL)
    snprintf (extent, elen, "%.*s", nl ? (int) strcspn (nl + 1, "\n") : 0,
              nl ? nl + 1 : "");
  return 0;
}

static int
read_unit (const char *path, char *loopdev, size_t llen, char *key, size_t klen)
{
  return read_unit_extent (path, loopdev, llen, key, klen, NULL, 0);
}

/* The key unit records name a volume by: "<datastore>/<volume>". */
static void
unit_key (const struct mock_vol *v, char *key, size_t len)
{
  snprintf (key, len, "%s/%s", v->ds, v->vol);
}

/* The tag a volume's loop device carries (its lo_file_name). */
static void
loop_tag (const struct mock_vol *v, char *tag, size_t len)
{
  snprintf (tag, len, "vdvs:%s@%s", v->vol, v->ds);
}

#define UNIT_BIT(c, u) (UINT64_C (1) << ((c) * MOCK_PVSCSI_UNITS + (u)))

/* Claim unit (ctl, unit) for `key`: its record appears whole (written,
 * synced, then link(2)ed into place) or not at all (-EEXIST: taken). */
static int
claim_one (const struct mock *m, const char *key, int ctl, int unit)
{
  char path[PATH_MAX], tmp[PATH_MAX], rec[1200];
  int fd, r = 0;
  size_t len = (size_t) snprintf (rec, sizeof rec, "\n%s\n\n", key);

  if (len >= sizeof rec)
    return -ENAMETOOLONG;
  unit_path (m, ctl, unit, path, sizeof path);
  snprintf (tmp, sizeof tmp, "%s/.vms/%s/.claim.%d", m->cfg.root,
            m->cfg.vm_uuid, (int) gettid ());
  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  if (write (fd, rec, len) != (ssize_t) len)
    r = -EIO;
  else if (fsync (fd) < 0)
    r = -errno;
  close (fd);
  if (r == 0 && link (tmp, path) < 0)
    r = -errno;
  unlink (tmp);
  return r;
}

static int
claim_unit (const struct mock *m, const char *key, int *ctl_out, int *unit_out)
{
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        int r;
        if (u == MOCK_PVSCSI_RESERVED_UNIT)
          continue;
        if ((r = claim_one (m, key, c, u)) == -EEXIST)
          continue;
        if (r < 0)
          return r;
        *ctl_out = c;
        *unit_out = u;
        return 0;
      }
  return -ENOSPC;
}

static int
unit_of (const struct vdvs_device *d, int *ctl, int *unit)
{
  char *end;
  long u = strtol (d->unit, &end, 10);

  *ctl = mock_pvscsi_controller (d);
  if (*ctl < 0 || end == d->unit || *end || u < 0 || u >= MOCK_PVSCSI_UNITS
      || u == MOCK_PVSCSI_RESERVED_UNIT)
    return -1;
  *unit = (int) u;
  return 0;
}

/* This VM's units whose records name `v`, as UNIT_BIT()s. */
static uint64_t
units_of (const struct mock *m, const struct mock_vol *v)
{
  char path[PATH_MAX], loopdev[64], key[1024], want[1024];
  uint64_t mine = 0;

  unit_key (v, want, sizeof want);
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        unit_path (m, c, u, path, sizeof path);
        if (read_unit (path, loopdev, sizeof loopdev, key, sizeof key) == 0
            && strcmp (key, want) == 0)
          mine |= UNIT_BIT (c, u);
      }
  return mine;
}

/* Take unit (ctl, unit) away from the guest: its by-path name, and its
 * loop device while that still backs this volume's extent.  Only when the
 * record names `v`; the record itself stays (drop_record). */
static int
release_device (struct mock *m, const struct mock_vol *v, int ctl, int unit,
                vdvs_error_t *err)
{
  char path[PATH_MAX], loopdev[64], key[1024], want[1024], extent[PATH_MAX];
  char tag[64];
  struct vdvs_device d;

  unit_path (m, ctl, unit, path, sizeof path);
  unit_key (v, want, sizeof want);
  if (read_unit_extent (path, loopdev, sizeof loopdev, key, sizeof key,
                        extent, sizeof extent) < 0
      || strcmp (key, want) != 0)
    return 0; /* no record, or another volume's unit: not ours to touch */
  mock_pvscsi_device (ctl, unit, &d);
  mock_unpublish_device (m, &d);
  if (extent[0] == '\0')
    mock_vmdkfs_extent_path (m, v, extent, sizeof extent);
  loop_tag (v, tag, sizeof tag);
  return mock_loop_detach (loopdev, extent, tag, err);
}

/* Remove unit (ctl, unit)'s record if it names `v`.  Under v's lock the
 * check holds until the unlink: no one else claims a unit with a record. */
static void
drop_record (struct mock *m, const struct mock_vol *v, int ctl, int unit)
{
  char path[PATH_MAX], loopdev[64], key[1024], want[1024];

  unit_path (m, ctl, unit, path, sizeof path);
  unit_key (v, want, sizeof want);
  if (read_unit (path, loopdev, sizeof loopdev, key, sizeof key) == 0
      && strcmp (key, want) == 0)
    unlink (path);
}

/* Release one of v's units: device, then record. */
static int
release_unit (struct mock *m, const struct mock_vol *v, int ctl, int unit,
              vdvs_error_t *err)
{
  if (release_device (m, v, ctl, unit, err) < 0)
    return -1;
  drop_record (m, v, ctl, unit);
  return 0;
}

/* Detach v from this VM: the devices of all its units, then the sidecar
 * (if `sc`), then the records.  Records go last so that while a sidecar
 * names a unit, that unit's record still names the volume (no other
 * volume can claim it), and a crash at any step leaves a record the next
 * attach, detach or sweep of this volume finds and finishes. */
static int
drop_attachment (struct mock *m, const struct mock_vol *v,
                 struct mock_sidecar *sc, uint64_t mine, vdvs_error_t *err)
{
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      if ((mine & UNIT_BIT (c, u))
          && release_device (m, v, c, u, err) < 0)
        return vdvs_error_wrap (err, "Failed to detach %s", v->esx_path);
  if (sc != NULL && (sc->attached || strcmp (sc->status, "detached") != 0))
    {
      sc->attached = false;
      strcpy (sc->status, "detached");
      memset (&sc->device, 0, sizeof sc->device);
      if (mock_sidecar_write (v->sidecar, sc, err) < 0)
        return -1;
    }
  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      if (mine & UNIT_BIT (c, u))
        drop_record (m, v, c, u);
  return 0;
}

static int
attach_locked (struct mock *m, const struct mock_vol *v, struct vdvs_device *dev,
               vdvs_error_t *err)
{
  struct mock_sidecar sc;
  char path[PATH_MAX], loopdev[64] = "", extent[PATH_MAX], tag[64];
  char key[1024], rk[1024], rec[64 + 1200 + PATH_MAX];
  int ctl = -1, unit = -1, r;
  uint64_t mine;
  struct vdvs_backend_health h;

  if (!mock_vol_exists (v))
    return not_found (v, err);
  if (mock_sidecar_read (v->sidecar, &sc, err) < 0)
    return -1;
  if (sc.attached && strcmp (sc.attached_uuid, m->cfg.vm_uuid) != 0)
    {
      int c = 0, u = 0;
      unit_of (&sc.device, &c, &u);
      r = vdvs_error_set (err, EBUSY,
                          "Failed to add disk 'scsi%d:%d'. disk %s already "
                          "attached to VM=%s",
                          c + 1, u, v->esx_path,
                          sc.attached_name[0] ? sc.attached_name
                                              : sc.attached_uuid);
      mock_sidecar_clear (&sc);
      return r;
    }
  mock_vmdkfs_health (m, &h);
  if (!h.up)
    {
      mock_sidecar_clear (&sc);
      return vdvs_error_set (err, EIO,
                             "Failed to add disk to VM %s: datastore %s is "
                             "unavailable (%s)",
                             m->cfg.vm_name, v->ds, h.detail);
    }
  unit_key (v, key, sizeof key);
  loop_tag (v, tag, sizeof tag);
  mock_vmdkfs_extent_path (m, v, extent, sizeof extent);
  mine = units_of (m, v);
  if (sc.attached && unit_of (&sc.device, &ctl, &unit) == 0
      && (mine & UNIT_BIT (ctl, unit)))
    {
      /* Already attached here: idempotent only if the unit's loop device
       * backs this very extent now (after a host reboot the device may be
       * gone, or taken since for another volume's extent). */
      unit_path (m, ctl, unit, path, sizeof path);
      if (read_unit (path, loopdev, sizeof loopdev, rk, sizeof rk) == 0
          && mock_loop_is_backing (loopdev, extent))
        {
          mine &= ~UNIT_BIT (ctl, unit);
          for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
            for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
              if (mine & UNIT_BIT (c, u))
                release_unit (m, v, c, u, NULL); /* strays of a crash */
          *dev = sc.device;
          mock_sidecar_clear (&sc);
          return mock_publish_device (m, dev, loopdev, err);
        }
    }
  /* Whatever else the sidecar and this volume's records say is stale (a
   * host reboot, a crash mid-attach or mid-detach): drop it all, then
   * attach afresh. */
  if (drop_attachment (m, v, &sc, mine, err) < 0)
    {
      mock_sidecar_clear (&sc);
      return -1;
    }
  loopdev[0] = '\0';
  if ((r = claim_unit (m, key, &ctl, &unit)) < 0)
    {
      mock_sidecar_clear (&sc);
      if (r == -ENOSPC)
        return vdvs_error_set (err, ENOSPC,
                               "Failed to place new disk - The maximum number "
                               "of supported volumes has been reached.");
      return vdvs_error_set (err, -r, "Failed to place new disk - %s",
                             strerror (-r));
    }
  unit_path (m, ctl, unit, path, sizeof path);
  mock_pvscsi_device (ctl, unit, dev);
  if (mock_loop_attach (extent, tag, loopdev, sizeof loopdev, err) < 0)
    goto fail_unit;
  snprintf (rec, sizeof rec, "%s\n%s\n%s\n", loopdev, key, extent);
  if ((r = mock_write_atomic (path, rec, strlen (rec))) < 0)
    {
      vdvs_error_set (err, -r, "cannot record attachment: %s", strerror (-r));
      goto fail_loop;
    }
  sc.attached = true;
  strcpy (sc.status, "attached");
  snprintf (sc.attached_uuid, sizeof sc.attached_uuid, "%s", m->cfg.vm_uuid);
  snprintf (sc.attached_name, sizeof sc.attached_name, "%s", m->cfg.vm_name);
  sc.device = *dev;
  if (mock_sidecar_write (v->sidecar, &sc, err) < 0)
    goto fail_loop;
  if (mock_publish_device (m, dev, loopdev, err) < 0)
    goto fail_sidecar;
  mock_sidecar_clear (&sc);
  vdvs_log (VDVS_LOG_INFO, "Volume attached",
            "volume=%s datastore=%s vm=%s unit=%s bus=%s loop=%s", v->vol,
            v->ds, m->cfg.vm_name, dev->unit, dev->pci_bus, loopdev);
  return 0;

fail_sidecar:
  sc.attached = false;
  strcpy (sc.status, "detached");
  mock_sidecar_write (v->sidecar, &sc, NULL);
fail_loop:
  mock_loop_detach (loopdev, extent, tag, NULL);
fail_unit:
  drop_record (m, v, ctl, unit);
  mock_sidecar_clear (&sc);
  return -1;
}

static int
mock_attach (void *handle, const char *name, struct vdvs_device *dev,
             vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;
  int fd, r;

  if (mock_resolve (m, name, &v, err) < 0)
    return -1;
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  r = attach_locked (m, &v, dev, err);
  mock_unlock (fd);
  return r;
}

static int
detach_locked (struct mock *m, const struct mock_vol *v, vdvs_error_t *err)
{
  struct mock_sidecar sc;
  vdvs_error_t serr = NULL;
  uint64_t mine;
  bool have_sc;
  int r;

  if (!mock_vol_exists (v))
    return not_found (v, err);
  have_sc = mock_sidecar_read (v->sidecar, &sc, &serr) == 0;
  vdvs_error_release (&serr);
  if (have_sc && sc.attached && strcmp (sc.attached_uuid, m->cfg.vm_uuid) != 0)
    {
      /* Someone else's disk: not on this VM, which upstream answers null. */
      mock_sidecar_clear (&sc);
      return 0;
    }
  /* Only units whose records name this volume: a stale sidecar's unit may
   * be another volume's by now. */
  mine = units_of (m, v);
  r = drop_attachment (m, v, have_sc ? &sc : NULL, mine, err);
  if (have_sc)
    mock_sidecar_clear (&sc);
  if (r == 0 && mine != 0)
    vdvs_log (VDVS_LOG_INFO, "Volume detached", "volume=%s datastore=%s vm=%s",
              v->vol, v->ds, m->cfg.vm_name);
  return r;
}

static int
mock_detach (void *handle, const char *name, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;
  int fd, r;

  if (mock_resolve (m, name, &v, err) < 0)
    return -1;
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  r = detach_locked (m, &v, err);
  mock_unlock (fd);
  return r;
}

int
vdvs_mock_power_off (void *handle, vdvs_error_t *err)
{
  struct mock *m = handle;
  char path[PATH_MAX], loopdev[64], key[1024];
  int detached = 0;

  for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS; c++)
    for (int u = 0; u < MOCK_PVSCSI_UNITS; u++)
      {
        struct mock_vol v;
        char *slash;
        int fd;

        unit_path (m, c, u, path, sizeof path);
        if (read_unit (path, loopdev, sizeof loopdev, key, sizeof key) < 0
            || (slash = strchr (key, '/')) == NULL)
          continue;
        *slash = '\0';
        if (mock_vol_paths (m, key, slash + 1, &v, err) < 0)
          return -1;
        if ((fd = mock_lock (m, &v, err)) < 0)
          return -1;
        /* A unit left by a crash whose volume was removed since: release
         * it all the same. */
        if ((mock_vol_exists (&v) ? detach_locked (m, &v, err)
                                  : release_unit (m, &v, c, u, err))
            < 0)
          {
            mock_unlock (fd);
            return -1;
          }
        mock_unlock (fd);
        detached++;
      }
  vdvs_log (VDVS_LOG_INFO, "VM powered off", "vm=%s detached=%d",
            m->cfg.vm_name, detached);
  return detached;
}

/* The VM a name or UUID designates: a directory under .vms/ named by the
 * UUID, or a VM whose disks' sidecars carry that attachedVMName.  Only VMs
 * with a disk attached have a name here (ESX knows the others; this
 * datastore only knows what VMs attached). */
int
vdvs_mock_find_vm (void *handle, const char *vm, char *uuid, size_t len,
                   vdvs_error_t *err)
{
  struct mock *m = handle;
  char dir[PATH_MAX], path[PATH_MAX], loopdev[64], key[1024];
  char known[1024] = "";
  int matches = 0;
  struct dirent *e;
  DIR *d;

  snprintf (dir, sizeof dir, "%s/.vms", m->cfg.root);
  d = opendir (dir);
  while (d != NULL && (e = readdir (d)) != NULL)
    {
      char name[128] = "";
      bool is_it;

      if (e->d_name[0] == '.')
        continue;
      /* Any unit of that VM names a disk whose sidecar names the VM. */
      for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS && !name[0]; c++)
        for (int u = 0; u < MOCK_PVSCSI_UNITS && !name[0]; u++)
          {
            struct mock_sidecar sc = { 0 };
            struct mock_vol v;
            vdvs_error_t ignore = NULL;
            char *slash;

            vm_unit_path (m, e->d_name, c, u, path, sizeof path);
            if (read_unit (path, loopdev, sizeof loopdev, key, sizeof key) < 0
                || (slash = strchr (key, '/')) == NULL)
              continue;
            *slash = '\0';
            if (mock_vol_paths (m, key, slash + 1, &v, &ignore) == 0
                && mock_sidecar_read (v.sidecar, &sc, &ignore) == 0
                && sc.attached && strcmp (sc.attached_uuid, e->d_name) == 0)
              snprintf (name, sizeof name, "%s", sc.attached_name);
            mock_sidecar_clear (&sc);
            vdvs_error_release (&ignore);
          }
      is_it = strcmp (e->d_name, vm) == 0 || (name[0] && strcmp (name, vm) == 0);
      if (is_it && matches++ == 0)
        snprintf (uuid, len, "%s", e->d_name);
      if (name[0] && strlen (known) + strlen (name) + strlen (e->d_name) + 8
                         < sizeof known)
        {
          strcat (known, known[0] ? ", " : "");
          strcat (known, name);
          strcat (known, " (");
          strcat (known, e->d_name);
          strcat (known, ")");
        }
    }
  if (d != NULL)
    closedir (d);
  if (matches > 1)
    return vdvs_error_set (err, EEXIST,
                           "More than one VM is named '%s': give its UUID "
                           "(VMs with disks attached: %s)", vm, known);
  if (matches == 0)
    return vdvs_error_set (err, ENOENT,
                           "No VM named '%s' has a disk attached here (VMs "
                           "with disks attached: %s)", vm,
                           known[0] ? known : "none");
  return 0;
}

/* ---- admin ---------------------------------------------------------- */

int
vdvs_mock_set_options (void *handle, const char *name,
                       const struct vdvs_opts *opts, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_sidecar sc;
  struct mock_vol v;
  int fd, r = 0;

  if (mock_options_validate_set (opts, err) < 0
      || mock_resolve (m, name, &v, err) < 0)
    return -1;
  /* The lock attach and detach hold while they rewrite the sidecar: an
   * edit never loses their status change, nor they ours. */
  if ((fd = mock_lock (m, &v, err)) < 0)
    return -1;
  if (!mock_vol_exists (&v))
    r = not_found (&v, err);
  else if (mock_sidecar_read (v.sidecar, &sc, err) < 0)
    r = vdvs_error_wrap (err, "Volume %s has corrupt metadata", v.vol);
  else
    {
      for (size_t i = 0; i < opts->n && r == 0; i++)
        if (vdvs_opts_set (&sc.vol_opts, opts->v[i].key, opts->v[i].value) < 0)
          r = vdvs_error_set (err, ENOMEM, "out of memory");
      if (r == 0 && mock_sidecar_write (v.sidecar, &sc, err) < 0)
        r = -1;
      if (r == 0)
        {
          const char *a = vdvs_opts_get (&sc.vol_opts, "access");
          const char *as = vdvs_opts_get (&sc.vol_opts, "attach-as");
          vdvs_log (VDVS_LOG_INFO, "Volume options set",
                    "volume=%s datastore=%s access=%s attach-as=%s", v.vol,
                    v.ds, a ? a : "read-write",
                    as ? as : "independent_persistent");
        }
      mock_sidecar_clear (&sc);
    }
  mock_unlock (fd);
  return r;
}

int
vdvs_mock_extent_path (void *handle, const char *name, char *buf, size_t len,
                       vdvs_error_t *err)
{
  struct mock_vol v;

  if (mock_resolve (handle, name, &v, err) < 0)
    return -1;
  if (!mock_vol_exists (&v))
    return not_found (&v, err);
  snprintf (buf, len, "%s", v.flat);
  return 0;
}

/* ---- list/get ------------------------------------------------------ */

static int
mock_list (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err)
{
  struct mock *m = handle;
  int r = mock_index_list (m, out, err);

  if (r != 0) /* answered from the index (or out of memory) */
    return r < 0 ? -1 : 0;
  for (size_t i = 0; i < m->n_ds; i++)
    {
      char dir[PATH_MAX], vol[NAME_MAX + 1], full[NAME_MAX + 128];
      DIR *d;
      struct dirent *de;

      snprintf (dir, sizeof dir, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                MOCK_TENANT_UUID);
      if ((d = opendir (dir)) == NULL)
        {
          vdvs_log (VDVS_LOG_WARN, "Datastore unreadable", "datastore=%s error=\"%s\"",
                    m->ds[i], strerror (errno));
          continue;
        }
      while ((de = readdir (d)) != NULL)
        if (mock_index_is_descriptor (dirfd (d), de->d_name, vol, sizeof vol))
          {
            snprintf (full, sizeof full, "%s@%s", vol, m->ds[i]);
            if (vdvs_volume_list_add (out, full) < 0)
              {
                closedir (d);
                return vdvs_error_set (err, ENOMEM, "out of memory");
              }
          }
      closedir (d);
    }
  return 0;
}

static char *
xstrdup_or_null (const char *s)
{
  return s ? strdup (s) : NULL;
}

/* Everything of the get reply but the allocated size, from the descriptor
 * and the sidecar. */
static int
read_info (const struct mock_vol *v, struct vdvs_volume_info *out,
           vdvs_error_t *err)
{
  struct mock_descriptor d;
  struct mock_sidecar sc;
  char buf[64];
  const char *o;

  /* No lock: every file is replaced atomically, so a reader sees either
   * the old or the new version, and get never waits on a slow attach. */
  if (read_descriptor (v, &d, err) < 0)
    return -1;
  if (mock_sidecar_read (v->sidecar, &sc, err) < 0)
    return vdvs_error_wrap (err, "Volume %s has corrupt metadata", v->vol);

  memset (out, 0, sizeof *out);
  out->created_by = strdup (sc.created_by);
  out->created = strdup (sc.created);
  out->status = strdup (sc.status);
  mock_size_render (d.sectors * 512, buf, sizeof buf);
  out->capacity_size = strdup (buf);
  out->datastore = strdup (v->ds);
  if (sc.attached)
    {
      out->attached_to_vm = strdup (sc.attached_name[0] ? sc.attached_name
                                                        : sc.attached_uuid);
      if (sc.device.unit[0])
        {
          out->has_device = true;
          out->device = sc.device;
        }
    }
  out->fstype = xstrdup_or_null (vdvs_opts_get (&sc.vol_opts, "fstype"));
  out->vsan_policy_name
      = xstrdup_or_null (vdvs_opts_get (&sc.vol_opts, "vsan-policy-name"));
  o = vdvs_opts_get (&sc.vol_opts, "diskformat");
  out->diskformat = strdup (o ? o : "thin");
  o = vdvs_opts_get (&sc.vol_opts, "attach-as");
  out->attach_as = strdup (o ? o : "independent_persistent");
  o = vdvs_opts_get (&sc.vol_opts, "access");
  out->access = strdup (o ? o : "read-write");
  o = vdvs_opts_get (&sc.vol_opts, "clone-from");
  out->clone_from = strdup (o ? o : "None");
  mock_sidecar_clear (&sc);
  return 0;
}

/* Served from the index's record of the volume while no event touched its
 * descriptor, sidecar or extent (index.h); the files are read only after
 * such an event.  The allocated size changes with every write to the
 * extent (no event for those): a stat of the extent per call keeps it
 * true. */
static int
mock_get (void *handle, const char *name, struct vdvs_volume_info *out,
          vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_index *ix = mock_index_of (m);
  struct vdvs_name n;
  struct mock_vol v;
  struct stat st;
  uint64_t token = 0;
  int found = MOCK_IX_UNKNOWN;
  const char *ds;
  char buf[64];

  if (mock_resolve_name (m, name, &n, &ds, err) < 0)
    return -1;
  if (ix != NULL)
    {
      found = mock_index_lookup (ix, ds, n.volume, out, &token);
      if (found < 0)
        return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  if (mock_vol_paths (m, ds, n.volume, &v, err) < 0)
    return -1;
  if (found == MOCK_IX_RECORD)
    {
      if (stat (v.flat, &st) == 0)
        goto allocated;
      /* No extent where the record says a volume is: whatever happened
       * (the folder unreachable by its path, a half-made volume), the
       * files say it, as before the index. */
      vdvs_volume_info_clear (out);
      found = MOCK_IX_UNKNOWN;
    }
  if (found == MOCK_IX_ABSENT)
    return not_found (&v, err);
  if (read_info (&v, out, err) < 0)
    return -1;
  if (found == MOCK_IX_PRESENT)
    mock_index_store (ix, v.ds, v.vol, token, out);
  if (stat (v.flat, &st) < 0)
    st.st_blocks = 0;
allocated:
  mock_size_render ((uint64_t) st.st_blocks * 512, buf, sizeof buf);
  free (out->capacity_allocated);
  out->capacity_allocated = strdup (buf);
  return 0;
}

static uint64_t
mock_list_version (void *handle)
{
  return mock_index_version (handle);
}

static void
mock_health (void *handle, struct vdvs_backend_health *out)
{
  mock_vmdkfs_health (handle, out);
}

static void
mock_set_progress (void *handle, vdvs_progress_fn fn, void *opaque)
{
  struct mock *m = handle;
  m->progress = fn;
  m->progress_opaque = opaque;
}

static void
mock_device_roots (void *handle, struct vdvs_device_roots *out)
{
  struct mock *m = handle;
  snprintf (out->sysfs_root, sizeof out->sysfs_root, "%s", m->cfg.sysfs_root);
  snprintf (out->dev_root, sizeof out->dev_root, "%s", m->cfg.dev_root);
}

const struct vdvs_backend vdvs_backend_mock = {
  VDVS_BACKEND_INIT,
  .name = "mock",
  .description = "emulated ESX datastore on local files (loop devices, vmdkfs)",
  .config_help =
      "  root=DIR            backing root (default /var/lib/vdvs)\n"
      "  datastores=A[,B]    datastore folders; the first is the default "
      "(datastore1)\n"
      "  vm-name=NAME        this VM's name (default: host name)\n"
      "  vm-uuid=UUID        this VM's UUID (default: from /etc/machine-id)\n"
      "  sysfs-root=DIR      emulated sysfs for device discovery "
      "(/run/vdvs/sys)\n"
      "  dev-root=DIR        emulated /dev for disk/by-path (/run/vdvs/dev)\n"
      "  vmdkfs=auto|off|PATH  serve extents through vmdkfs (auto)\n"
      "  vmdkfs-mount=DIR    vmdkfs mount point (/run/vdvs/vmfs/volumes)\n"
      "  vmdkfs-ctl=PATH     vmdkfs control socket (/run/vdvs/vmdkfs.ctl)\n"
      "  vmdkfs-opts=OPTS    extra vmdkfs options, e.g. \"--engine=sync\"\n",
  .config = mock_config_key,
  .open = mock_open,
  .close = mock_close,
  .create = mock_create,
  .remove = mock_remove,
  .attach = mock_attach,
  .detach = mock_detach,
  .list = mock_list,
  .get = mock_get,
  .clone = mock_clone,
  .health = mock_health,
  .device_roots = mock_device_roots,
  .set_progress = mock_set_progress,
  .list_version = mock_list_version,
};
