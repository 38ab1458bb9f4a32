/* Finding and running mkfs (common/mkfs.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vdvs/mkfs.h"

#include "t_helpers.h"

Test (mkfs, ext4_is_found)
{
  char path[PATH_MAX];
  vdvs_error_t err = NULL;
  size_t n;

  cr_assert_eq (vdvs_mkfs_find ("ext4", path, sizeof path, &err), 0, "%s",
                err ? err->msg : "");
  n = strlen (path);
  cr_assert_geq (n, 10);
  cr_assert_str_eq (path + n - 10, "/mkfs.ext4");
  cr_assert_eq (access (path, X_OK), 0);
}

/* The "Supported filesystems found: a, b" list: non-empty, sorted, no
 * duplicates, every entry a real mkfs.<fs>. */
static void
check_supported_list (const char *list)
{
  char *copy = strdup (list), *save = NULL, prev[64] = "";
  int n = 0;

  for (char *fs = strtok_r (copy, ",", &save); fs;
       fs = strtok_r (NULL, ",", &save))
    {
      char path[PATH_MAX];
      if (n > 0)
        {
          cr_assert_eq (fs[0], ' ', "entries are separated by \", \"");
          fs++;
        }
      cr_assert_gt (strlen (fs), 0);
      cr_assert_gt (strcmp (fs, prev), 0, "`%s` after `%s`", fs, prev);
      snprintf (prev, sizeof prev, "%s", fs);
      snprintf (path, sizeof path, "/sbin/mkfs.%s", fs);
      if (access (path, X_OK) != 0)
        snprintf (path, sizeof path, "/usr/sbin/mkfs.%s", fs);
      if (access (path, X_OK) != 0)
        snprintf (path, sizeof path, "/usr/bin/mkfs.%s", fs);
      if (access (path, X_OK) != 0)
        snprintf (path, sizeof path, "/bin/mkfs.%s", fs);
      cr_assert_eq (access (path, F_OK), 0, "no mkfs.%s exists", fs);
      n++;
    }
  cr_assert_gt (n, 0);
  free (copy);
}

Test (mkfs, missing_fstype_lists_the_supported_ones)
{
  const char *prefix =
      "Not found mkfs for xfs_ext\nSupported filesystems found: ";
  char path[PATH_MAX];
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_mkfs_find ("xfs_ext", path, sizeof path, &err), -ENOENT);
  cr_assert_eq (strncmp (err->msg, prefix, strlen (prefix)), 0, "%s",
                err->msg);
  cr_assert (strstr (err->msg + strlen (prefix), "ext4") != NULL, "%s",
             err->msg);
  check_supported_list (err->msg + strlen (prefix));
  vdvs_error_release (&err);
}

Test (mkfs, hostile_fstype_is_never_a_path)
{
  static const char *const bad[] = { "../../bin/true",
                                     "ext4/../ext4",
                                     "EXT4",
                                     "ext4 -O",
                                     "",
                                     "a-b",
                                     "0123456789012345678901234567890123" };
  char path[PATH_MAX];

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      vdvs_error_t err = NULL;
      char want[256];
      cr_assert_eq (vdvs_mkfs_find (bad[i], path, sizeof path, &err), -ENOENT,
                    "`%s` found", bad[i]);
      snprintf (want, sizeof want, "Not found mkfs for %s\n", bad[i]);
      cr_assert_eq (strncmp (err->msg, want, strlen (want)), 0, "%s",
                    err->msg);
      vdvs_error_release (&err);
    }
}

Test (run_capture, output_and_exit_status)
{
  char *argv[] = { (char *) "/bin/sh", (char *) "-c",
                   (char *) "echo out; echo err >&2; read x; echo \"[$x]\"; "
                            "exit 3",
                   NULL };
  char out[256];

  /* stdin is /dev/null, so `read` sees EOF at once. */
  cr_assert_eq (vdvs_run_capture (argv, out, sizeof out), 3);
  cr_assert_str_eq (out, "out\nerr\n[]\n");
}

Test (run_capture, output_is_truncated_to_the_buffer)
{
  char *argv[] = { (char *) "/bin/sh", (char *) "-c",
                   (char *) "i=0; while [ $i -lt 2000 ]; do echo 0123456789; "
                            "i=$((i+1)); done",
                   NULL };
  char out[16];

  /* The child is not blocked by a full pipe: the rest is drained. */
  cr_assert_eq (vdvs_run_capture (argv, out, sizeof out), 0);
  cr_assert_str_eq (out, "0123456789\n0123");
}

Test (run_capture, killed_child_and_missing_binary)
{
  char *kill_argv[] = { (char *) "/bin/sh", (char *) "-c",
                        (char *) "kill -9 $$", NULL };
  char *none_argv[] = { (char *) "/nonexistent/vdvs-mkfs", NULL };
  char out[16];

  cr_assert_eq (vdvs_run_capture (kill_argv, out, sizeof out), 128 + 9);
  cr_assert_eq (vdvs_run_capture (none_argv, out, sizeof out), -ENOENT);
}

/* A program that cannot be started leaves an empty output, not whatever
 * the buffer held (mkfs prints it in its error). */
Test (run_capture, spawn_failure_leaves_an_empty_output)
{
  char *none_argv[] = { (char *) "/nonexistent/mkfs.vdvs", NULL };
  char out[32];

  memset (out, 'X', sizeof out);
  cr_assert_eq (vdvs_run_capture (none_argv, out, sizeof out), -ENOENT);
  cr_assert_eq (out[0], '\0', "output not set: %.8s", out);
}

Test (mkfs, run_makes_a_labelled_ext4)
{
  char dir[PATH_MAX], img[PATH_MAX + 16];
  unsigned char sb[1024];
  vdvs_error_t err = NULL;
  int fd;

  t_mkdtemp (dir, sizeof dir, "mkfs");
  snprintf (img, sizeof img, "%s/disk.img", dir);
  fd = open (img, O_RDWR | O_CREAT | O_EXCL, 0600);
  cr_assert_geq (fd, 0);
  cr_assert_eq (ftruncate (fd, 16 << 20), 0);
  close (fd);
  cr_assert_eq (vdvs_mkfs_run ("ext4", img, "MyVolume", &err), 0, "%s",
                err ? err->msg : "");
  fd = open (img, O_RDONLY);
  cr_assert_eq (pread (fd, sb, sizeof sb, 1024), (ssize_t) sizeof sb);
  close (fd);
  t_rmrf (dir);
  /* ext4 superblock: magic 0xEF53 at 0x38, volume name at 0x78. */
  cr_assert_eq (sb[0x38] | sb[0x39] << 8, 0xEF53);
  cr_assert_str_eq ((char *) sb + 0x78, "MyVolume");
}

Test (mkfs, run_failure_carries_the_output)
{
  char dir[PATH_MAX], img[PATH_MAX + 16], prefix[PATH_MAX * 2];
  vdvs_error_t err = NULL;

  /* A small image: blank to libblkid, too small for mkfs. */
  static const char zeros[4096];
  t_mkdtemp (dir, sizeof dir, "mkfs");
  snprintf (img, sizeof img, "%s/small.img", dir);
  t_write_file (img, zeros, sizeof zeros);
  snprintf (prefix, sizeof prefix,
            "Failed to create filesystem on %s: "
            "exit status nonzero. Output = ",
            img);
  cr_assert_lt (vdvs_mkfs_run ("ext4", img, "v", &err), 0);
  t_rmrf (dir);
  cr_assert_eq (err->status, EIO);
  cr_assert_eq (strncmp (err->msg, prefix, strlen (prefix)), 0, "%s",
                err->msg);
  cr_assert_gt (strlen (err->msg), strlen (prefix), "mkfs said nothing?");
  cr_assert_neq (err->msg[strlen (err->msg) - 1], '\n');
  vdvs_error_release (&err);
}

Test (mkfs, run_of_a_missing_device_is_a_probe_error)
{
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_mkfs_run ("ext4", "/nonexistent/vdvs-dev", "v", &err), 0);
  cr_assert_str_eq (err->msg, "Cannot probe /nonexistent/vdvs-dev for a file "
                              "system: No such file or directory");
  vdvs_error_release (&err);
}

Test (mkfs, run_of_a_missing_fstype_is_the_find_error)
{
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_mkfs_run ("xfs_ext", "/dev/null", "v", &err), 0);
  cr_assert_eq (strncmp (err->msg, "Not found mkfs for xfs_ext\n", 27), 0);
  vdvs_error_release (&err);
}

/* A sparse image of `mb` MiB in a fresh directory. */
static void
make_image (char *dir, size_t dlen, char *img, size_t ilen, int mb)
{
  int fd;

  t_mkdtemp (dir, dlen, "mkfs");
  snprintf (img, ilen, "%s/disk.img", dir);
  fd = open (img, O_RDWR | O_CREAT | O_EXCL, 0600);
  cr_assert_geq (fd, 0);
  cr_assert_eq (ftruncate (fd, (off_t) mb << 20), 0);
  close (fd);
}

/* The first `n` bytes of `path`, malloc'd. */
static unsigned char *
head_of (const char *path, size_t n)
{
  unsigned char *b = malloc (n);
  int fd = open (path, O_RDONLY);

  cr_assert_geq (fd, 0);
  cr_assert_eq (pread (fd, b, n, 0), (ssize_t) n);
  close (fd);
  return b;
}

Test (mkfs, probe_tells_blank_from_formatted)
{
  char dir[PATH_MAX], img[PATH_MAX + 16], type[64], empty[PATH_MAX + 16];
  vdvs_error_t err = NULL;

  /* No size (a disk still coming up) cannot be told from blank. */
  t_mkdtemp (dir, sizeof dir, "mkfs");
  snprintf (empty, sizeof empty, "%s/empty.img", dir);
  t_write_file (empty, "", 0);
  cr_assert_lt (vdvs_fs_probe (empty, type, sizeof type, &err), 0);
  cr_assert (strstr (err->msg, "it has no size") != NULL, "%s", err->msg);
  vdvs_error_release (&err);
  t_rmrf (dir);

  make_image (dir, sizeof dir, img, sizeof img, 16);
  cr_assert_eq (vdvs_fs_probe (img, type, sizeof type, &err), 0, "%s",
                err ? err->msg : "");
  cr_assert_eq (vdvs_mkfs_run ("ext4", img, "v", &err), 0, "%s",
                err ? err->msg : "");
  cr_assert_eq (vdvs_fs_probe (img, type, sizeof type, &err), 1);
  cr_assert_str_eq (type, "ext4");
  t_rmrf (dir);
}

/* A retried Create, a resumed one, or a device path that points at the
 * wrong disk: mkfs never runs over an existing file system. */
Test (mkfs, run_never_formats_over_a_file_system)
{
  char dir[PATH_MAX], img[PATH_MAX + 16];
  vdvs_error_t err = NULL;
  unsigned char *before, *after;
  const size_t n = 4 << 20;

  make_image (dir, sizeof dir, img, sizeof img, 16);
  cr_assert_eq (vdvs_mkfs_run ("ext4", img, "data", &err), 0, "%s",
                err ? err->msg : "");
  before = head_of (img, n);
  for (int i = 0; i < 2; i++)
    {
      const char *fs = i == 0 ? "ext4" : "btrfs";
      char want[PATH_MAX * 2];
      cr_assert_lt (vdvs_mkfs_run (fs, img, "other", &err), 0,
                    "mkfs.%s formatted over ext4", fs);
      if (err->status == ENOENT)
        {
          vdvs_error_release (&err); /* no mkfs.btrfs here */
          continue;
        }
      snprintf (want, sizeof want,
                "Refusing to create a filesystem on %s: "
                "it already holds ext4",
                img);
      cr_assert_str_eq (err->msg, want);
      cr_assert_eq (err->status, EEXIST);
      vdvs_error_release (&err);
    }
  after = head_of (img, n);
  t_rmrf (dir);
  cr_assert_eq (memcmp (before, after, n), 0, "the image changed");
  free (before);
  free (after);
}

Test (mkfs, label_is_cut_to_the_file_system_limit)
{
  char out[256];

  vdvs_mkfs_label ("ext4", "abcdefghijklmnopqrstuvwxyz", out, sizeof out);
  cr_assert_str_eq (out, "abcdefghijklmnop");
  vdvs_mkfs_label ("ext3", "short", out, sizeof out);
  cr_assert_str_eq (out, "short");
  vdvs_mkfs_label ("xfs", "abcdefghijklmnopqrstuvwxyz", out, sizeof out);
  cr_assert_str_eq (out, "abcdefghijkl");
  vdvs_mkfs_label ("xfs", "abcdefghijkl", out, sizeof out);
  cr_assert_str_eq (out, "abcdefghijkl");
  /* 11 ASCII bytes then a 2-byte character: cut before it, not inside. */
  vdvs_mkfs_label ("xfs", "abcdefghijk\xc3\xa9z", out, sizeof out);
  cr_assert_str_eq (out, "abcdefghijk");
  /* Four 4-byte characters fill ext4's 16 bytes exactly; a fifth goes. */
  vdvs_mkfs_label ("ext4",
                   "\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3"
                   "\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3",
                   out, sizeof out);
  cr_assert_str_eq (out, "\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3"
                         "\xf0\x9f\x90\xb3");
  vdvs_mkfs_label ("ext4", "abcdefghijklmno\xc3\xa9", out, sizeof out);
  cr_assert_str_eq (out, "abcdefghijklmno");
}

Test (mkfs, xfs_takes_a_long_name_and_has_a_minimum_size)
{
  char dir[PATH_MAX], img[PATH_MAX + 16], cmd[PATH_MAX * 2], label[64] = "";
  vdvs_error_t err = NULL;
  FILE *p;

  cr_assert_eq (vdvs_mkfs_min_mb ("xfs"), 300);
  cr_assert_eq (vdvs_mkfs_min_mb ("ext4"), 0);
  if (vdvs_mkfs_find ("xfs", cmd, sizeof cmd, &err) < 0)
    {
      vdvs_error_release (&err);
      cr_skip_test ("no mkfs.xfs");
    }
  make_image (dir, sizeof dir, img, sizeof img, 300);
  cr_assert_eq (vdvs_mkfs_run ("xfs", img, "a-volume-name-longer-than-12",
                               &err),
                0, "%s", err ? err->msg : "");
  snprintf (cmd, sizeof cmd, "blkid -p -o value -s LABEL %s", img);
  p = popen (cmd, "r");
  cr_assert_not_null (p);
  cr_assert_not_null (fgets (label, sizeof label, p));
  pclose (p);
  t_rmrf (dir);
  cr_assert_str_eq (label, "a-volume-nam\n");
}
