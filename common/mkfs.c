/* mkfs: see mkfs.h. */
#include "vdvs/mkfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <blkid/blkid.h>

extern char **environ;

static const char *const mkfs_dirs[] = { "/sbin", "/usr/sbin", "/bin",
                                         "/usr/bin" };

static bool
valid_fstype (const char *fs)
{
  return fs[0] != '\0' && strlen (fs) < 32
         && strspn (fs, "abcdefghijklmnopqrstuvwxyz0123456789_")
                == strlen (fs);
}

int
vdvs_mkfs_find (const char *fstype, char *path, size_t len, vdvs_error_t *err)
{
  char found[1024] = "";
  size_t off = 0;

  if (valid_fstype (fstype))
    for (size_t i = 0; i < sizeof mkfs_dirs / sizeof mkfs_dirs[0]; i++)
      {
        snprintf (path, len, "%s/mkfs.%s", mkfs_dirs[i], fstype);
        if (access (path, X_OK) == 0)
          return 0;
      }
  /* List what exists, sorted and without duplicates (/sbin may be a
   * symlink to /usr/sbin). */
  char names[64][32];
  size_t n = 0;
  for (size_t i = 0; i < sizeof mkfs_dirs / sizeof mkfs_dirs[0]; i++)
    {
      DIR *d = opendir (mkfs_dirs[i]);
      struct dirent *de;
      if (d == NULL)
        continue;
      while ((de = readdir (d)) != NULL && n < 64)
        {
          const char *fs = de->d_name + 5;
          bool dup = false;
          if (strncmp (de->d_name, "mkfs.", 5) != 0 || strlen (fs) >= 32)
            continue;
          for (size_t k = 0; k < n; k++)
            dup = dup || strcmp (names[k], fs) == 0;
          if (!dup)
            strcpy (names[n++], fs);
        }
      closedir (d);
    }
  qsort (names, n, sizeof names[0],
         (int (*) (const void *, const void *)) strcmp);
  /* snprintf returns what it would have written: stop once full, or
   * sizeof found - off wraps around. */
  for (size_t k = 0; k < n && off < sizeof found; k++)
    off += (size_t) snprintf (found + off, sizeof found - off, "%s%s",
                              k ? ", " : "", names[k]);
  return vdvs_error_set (err, ENOENT,
                         "Not found mkfs for %s\nSupported filesystems found: %s",
                         fstype, found);
}

int
vdvs_run_capture (char *const argv[], char *out, size_t len)
{
  posix_spawn_file_actions_t fa;
  int pipefd[2], status;
  pid_t pid;
  size_t used = 0;
  int r;

  /* Callers print `out` on any failure, a spawn failure included. */
  if (len > 0)
    out[0] = '\0';
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return -errno;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 2);
  r = posix_spawn (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (pipefd[1]);
  if (r != 0)
    {
      close (pipefd[0]);
      return -r;
    }
  for (;;)
    {
      char buf[4096];
      ssize_t n = read (pipefd[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (len > 0 && used < len - 1)
        {
          size_t k = (size_t) n < len - 1 - used ? (size_t) n : len - 1 - used;
          memcpy (out + used, buf, k);
          used += k;
        }
    }
  close (pipefd[0]);
  if (len > 0)
    out[used] = '\0';
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -errno;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

int
vdvs_fs_probe (const char *device, char *type, size_t len, vdvs_error_t *err)
{
  const char *val = NULL;
  blkid_probe pr;
  int r;

  errno = 0;
  pr = blkid_new_probe_from_filename (device);
  if (pr == NULL)
    {
      int e = errno ? errno : EIO;
      return vdvs_error_set (err, e, "Cannot probe %s for a file system: %s",
                             device, strerror (e));
    }
  /* Every kind libblkid knows: file systems, RAID and LVM members,
   * partition tables. */
  blkid_probe_enable_superblocks (pr, 1);
  blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE);
  blkid_probe_enable_partitions (pr, 1);
  blkid_probe_set_partitions_flags (pr, BLKID_PARTS_MAGIC);
  /* A device that reads as empty (a disk still coming up) is not blank:
   * it cannot be told from one. */
  if (blkid_probe_get_size (pr) <= 0)
    {
      blkid_free_probe (pr);
      return vdvs_error_set (err, EIO,
                             "Cannot probe %s for a file system: "
                             "it has no size",
                             device);
    }
  r = blkid_do_safeprobe (pr);
  if (r == 0 && blkid_probe_lookup_value (pr, "TYPE", &val, NULL) != 0
      && blkid_probe_lookup_value (pr, "PTTYPE", &val, NULL) != 0)
    val = NULL;
  if (r == 0 || r == -2)
    snprintf (type, len, "%s",
              r == -2 ? "several signatures"
              : val   ? val
                      : "an unknown signature");
  blkid_free_probe (pr);
  if (r == 1)
    return 0;
  if (r == 0 || r == -2)
    return 1;
  return vdvs_error_set (err, EIO, "Cannot probe %s for a file system",
                         device);
}

/* Longest label each mkfs takes, in bytes (0: no known limit). */
static size_t
label_max (const char *fstype)
{
  if (strncmp (fstype, "ext", 3) == 0)
    return 16;
  if (strcmp (fstype, "xfs") == 0)
    return 12;
  if (strcmp (fstype, "btrfs") == 0)
    return 255;
  return 0;
}

void
vdvs_mkfs_label (const char *fstype, const char *name, char *out, size_t len)
{
  size_t max = label_max (fstype), n = strlen (name);

  if (max > 0 && n > max)
    {
      n = max;
      /* Never end inside a UTF-8 sequence: back off continuation bytes
       * and the lead byte they belong to. */
      while (n > 0 && ((unsigned char) name[n] & 0xC0) == 0x80)
        n--;
    }
  if (n >= len)
    n = len - 1;
  memcpy (out, name, n);
  out[n] = '\0';
}

uint64_t
vdvs_mkfs_min_mb (const char *fstype)
{
  /* mkfs.xfs: "Filesystem must be larger than 300MB." */
  return strcmp (fstype, "xfs") == 0 ? 300 : 0;
}

int
vdvs_mkfs_run (const char *fstype, const char *device, const char *name,
               vdvs_error_t *err)
{
  char path[PATH_MAX], out[2048], label[256], found[64];
  char *argv[16];
  int n = 0, r;

  if (vdvs_mkfs_find (fstype, path, sizeof path, err) < 0)
    return -1;
  /* mkfs below is forced (a whole disk, no questions): it must only ever
   * run on a blank device. */
  r = vdvs_fs_probe (device, found, sizeof found, err);
  if (r < 0)
    return -1;
  if (r > 0)
    return vdvs_error_set (err, EEXIST,
                           "Refusing to create a filesystem on %s: it "
                           "already holds %s",
                           device, found);
  vdvs_mkfs_label (fstype, name, label, sizeof label);
  argv[n++] = path;
  if (strncmp (fstype, "ext", 3) == 0)
    {
      /* -F: a whole disk, no partition table; lazy init keeps it fast. */
      argv[n++] = (char *) "-F";
      argv[n++] = (char *) "-q";
      argv[n++] = (char *) "-E";
      /* A new volume reads as zeros: nothing to initialise eagerly. */
      argv[n++] = (char *) "nodiscard,lazy_itable_init=1,lazy_journal_init=1";
    }
  else if (strcmp (fstype, "xfs") == 0 || strcmp (fstype, "btrfs") == 0)
    {
      argv[n++] = (char *) "-f";
      argv[n++] = (char *) "-K";
    }
  argv[n++] = (char *) "-L";
  argv[n++] = label;
  argv[n++] = (char *) device;
  argv[n] = NULL;
  r = vdvs_run_capture (argv, out, sizeof out);
  if (r != 0)
    {
      size_t l = strlen (out);
      while (l > 0 && (out[l - 1] == '\n' || out[l - 1] == ' '))
        out[--l] = '\0';
      return vdvs_error_set (err, EIO,
                             "Failed to create filesystem on %s: %s. Output = %s",
                             device,
                             r < 0 ? strerror (-r) : "exit status nonzero",
                             out);
    }
  return 0;
}
