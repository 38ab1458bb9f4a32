/* Mount table parsing (/proc/self/mountinfo) and mounting. */
#include "vdvs/log.h"

#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0'
          && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
          r += 3;
        }
      else
        *w++ = *r;
    }
  *w = '\0';
}

/* Iterate mountinfo: fn returns true to stop. */
static int
each_mount (bool (*fn) (const char *mp, const char *source, void *opaque),
            void *opaque)
{
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  char *line = NULL;
  size_t cap = 0;

  if (f == NULL)
    return -errno;
  while (getline (&line, &cap, f) > 0)
    {
      /* id parent maj:min root mountpoint opts [optional...] - fstype src */
      char *save = NULL, *mp = NULL, *src = NULL, *tok;
      int field = 0;
      bool after_dash = false;
      int after = 0;
      for (tok = strtok_r (line, " \n", &save); tok;
           tok = strtok_r (NULL, " \n", &save), field++)
        {
          if (field == 4)
            mp = tok;
          else if (field > 5 && !after_dash && strcmp (tok, "-") == 0)
            after_dash = true;
          else if (after_dash && ++after == 2)
            src = tok;
        }
      if (mp == NULL)
        continue;
      unescape (mp);
      if (src)
        unescape (src);
      if (fn (mp, src ? src : "", opaque))
        break;
    }
  free (line);
  fclose (f);
  return 0;
}

struct find_ctx
{
  const char *mp;
  char *source;
  size_t len;
  bool found;
};

static bool
find_cb (const char *mp, const char *source, void *opaque)
{
  struct find_ctx *c = opaque;
  if (strcmp (mp, c->mp) != 0)
    return false;
  c->found = true;
  if (c->source)
    snprintf (c->source, c->len, "%s", source);
  return false; /* keep going: the last (topmost) mount wins */
}

bool
vdvs_is_mounted (const char *mountpoint, char *source, size_t len)
{
  struct find_ctx c = { mountpoint, source, len, false };
  each_mount (find_cb, &c);
  return c.found;
}

struct under_ctx
{
  const char *root;
  size_t rlen;
  void (*fn) (const char *, const char *, void *);
  void *opaque;
};

static bool
under_cb (const char *mp, const char *source, void *opaque)
{
  struct under_ctx *c = opaque;
  if (strncmp (mp, c->root, c->rlen) == 0 && mp[c->rlen] == '/'
      && mp[c->rlen + 1] != '\0' && strchr (mp + c->rlen + 1, '/') == NULL)
    c->fn (mp + c->rlen + 1, source, c->opaque);
  return false;
}

int
vdvs_mounts_under (const char *root,
                   void (*fn) (const char *, const char *, void *),
                   void *opaque)
{
  struct under_ctx c = { root, strlen (root), fn, opaque };
  return each_mount (under_cb, &c);
}

/* The options MountOptions may add: mount flags that harden or tune a
 * volume's mount, none of which the plugin relies on. */
static const struct
{
  const char *name;
  unsigned long flag;
} mount_opts[] = {
  { "nosuid", MS_NOSUID },           { "nodev", MS_NODEV },
  { "noexec", MS_NOEXEC },           { "noatime", MS_NOATIME },
  { "nodiratime", MS_NODIRATIME },   { "relatime", MS_RELATIME },
  { "strictatime", MS_STRICTATIME }, { "lazytime", MS_LAZYTIME },
  { "sync", MS_SYNCHRONOUS },        { "dirsync", MS_DIRSYNC },
};

int
vdvs_mount_options_parse (const char *options, unsigned long *flags,
                          vdvs_error_t *err)
{
  unsigned long f = 0;
  const char *p = options;

  while (*p != '\0')
    {
      size_t n, k;
      const char *end = strchr (p, ',');

      n = end ? (size_t) (end - p) : strlen (p);
      while (n > 0 && *p == ' ')
        p++, n--;
      while (n > 0 && p[n - 1] == ' ')
        n--;
      for (k = 0; k < sizeof mount_opts / sizeof mount_opts[0]; k++)
        if (strlen (mount_opts[k].name) == n
            && strncmp (mount_opts[k].name, p, n) == 0)
          break;
      if (k == sizeof mount_opts / sizeof mount_opts[0])
        {
          char valid[256] = "";
          for (k = 0; k < sizeof mount_opts / sizeof mount_opts[0]; k++)
            {
              if (k > 0)
                strcat (valid, ", ");
              strcat (valid, mount_opts[k].name);
            }
          return vdvs_error_set (err, EINVAL,
                                 "mount option `%.*s` in `%s` is not "
                                 "supported; valid options (comma-separated): "
                                 "%s",
                                 (int) n, p, options, valid);
        }
      f |= mount_opts[k].flag;
      if (end == NULL)
        break;
      p = end + 1;
      if (*p == '\0')
        return vdvs_error_set (err, EINVAL,
                               "mount options `%s` end with a comma", options);
    }
  *flags = f;
  return 0;
}

unsigned long
vdvs_mount_flags (bool read_only, unsigned long options)
{
  return options | (read_only ? MS_RDONLY : 0);
}

int
vdvs_mount (const char *device, const char *mountpoint, const char *fstype,
            bool read_only, unsigned long options, vdvs_error_t *err)
{
  unsigned long flags = vdvs_mount_flags (read_only, options);
  /* ext4 made with lazy_itable_init (mkfs.c) would have ext4lazyinit zero
   * the inode tables after mount with write-zeroes requests that a loop
   * device turns into punched holes: a thick volume's preallocated extent
   * would silently become partly thin.  The groups stay flagged
   * uninitialised, which ext4 and e2fsck handle. */
  const char *data = strcmp (fstype, "ext4") == 0 ? "noinit_itable" : NULL;

  /* A clone of an xfs volume carries its source's UUID, which xfs refuses
   * to mount twice on one host. */
  if (strcmp (fstype, "xfs") == 0)
    data = "nouuid";

  if (mount (device, mountpoint, fstype, flags, data) < 0)
    return vdvs_error_set (err, errno, "Failed to mount device %s at %s: %s",
                           device, mountpoint, strerror (errno));
  return 0;
}

bool
vdvs_device_free (const char *device)
{
  /* A block device a file system (or anyone else) holds refuses O_EXCL
   * with EBUSY; a source that is not a device node is never "free". */
  int fd = device[0] == '/' ? open (device, O_RDONLY | O_EXCL | O_CLOEXEC)
                            : -1;

  if (fd < 0)
    return false;
  close (fd);
  return true;
}

int
vdvs_umount (const char *mountpoint, const char *device, vdvs_error_t *err)
{
  int e = 0;
  bool lazy = false;

  for (int i = 0; i < 10; i++)
    {
      if (umount2 (mountpoint, UMOUNT_NOFOLLOW) == 0)
        {
          e = 0;
          break;
        }
      e = errno;
      if (e == EINVAL || e == ENOENT)
        return 0; /* not mounted */
      if (e != EBUSY)
        return vdvs_error_set (err, e, "Unmount device at %s failed: %s",
                               mountpoint, strerror (e));
      struct timespec ts = { 0, 100 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  if (e == EBUSY)
    {
      /* Take the mount out of the tree so no new user finds it; the file
       * system lives on until its last user lets go. */
      vdvs_log (VDVS_LOG_WARN, "Mount busy, detaching lazily",
                "mountpoint=%s device=%s", mountpoint, device);
      if (umount2 (mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
        {
          e = errno;
          return vdvs_error_set (err, e, "Unmount device at %s failed: %s",
                                 mountpoint, strerror (e));
        }
      lazy = true;
    }
  /* The same file system may live on elsewhere (a lazy unmount, a copy of
   * the mount in another namespace): the disk is free only when no one
   * holds the device. */
  for (int i = 0; i < 10; i++)
    {
      if (vdvs_device_free (device))
        return 0;
      struct timespec ts = { 0, 100 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return vdvs_error_set (err, EBUSY,
                         "Unmount device at %s failed: %s (%s; %s stays "
                         "attached until it is released)",
                         mountpoint, strerror (EBUSY),
                         lazy ? "the file system is still in use"
                              : "the device is still in use",
                         device);
}
