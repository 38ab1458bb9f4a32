/* A volume's mount flags and the MountOptions setting (src/mounts.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "mounts.h"

/* As upstream and Docker's local driver: nothing added by default, so
 * setuid binaries and device nodes on a volume work in containers. */
Test (mount_flags, default_is_no_flags)
{
  cr_assert_eq (vdvs_mount_flags (false, 0), 0);
  cr_assert_eq (vdvs_mount_flags (true, 0), MS_RDONLY);
  cr_assert_eq (vdvs_mount_flags (false, MS_NOSUID | MS_NODEV),
                MS_NOSUID | MS_NODEV);
  cr_assert_eq (vdvs_mount_flags (true, MS_NOEXEC), MS_RDONLY | MS_NOEXEC);
}

static unsigned long
parse_ok (const char *s)
{
  unsigned long f = 12345;
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_mount_options_parse (s, &f, &err), 0, "`%s`: %s", s,
                err ? err->msg : "");
  return f;
}

static void
parse_bad (const char *s, const char *msg)
{
  unsigned long f = 12345;
  vdvs_error_t err = NULL;

  cr_assert_lt (vdvs_mount_options_parse (s, &f, &err), 0, "`%s` accepted", s);
  cr_assert_eq (err->status, EINVAL);
  cr_assert_str_eq (err->msg, msg);
  cr_assert_eq (f, 12345, "flags written on failure");
  vdvs_error_release (&err);
}

Test (mount_flags, options_parse)
{
  cr_assert_eq (parse_ok (""), 0);
  cr_assert_eq (parse_ok ("nosuid"), MS_NOSUID);
  cr_assert_eq (parse_ok ("nosuid,nodev"), MS_NOSUID | MS_NODEV);
  cr_assert_eq (parse_ok (" nodev , nosuid "), MS_NOSUID | MS_NODEV);
  cr_assert_eq (parse_ok ("noexec,noatime,nodiratime"),
                MS_NOEXEC | MS_NOATIME | MS_NODIRATIME);
  cr_assert_eq (parse_ok ("relatime,lazytime,sync,dirsync"),
                MS_RELATIME | MS_LAZYTIME | MS_SYNCHRONOUS | MS_DIRSYNC);
  cr_assert_eq (parse_ok ("strictatime,nosuid,nosuid"),
                MS_STRICTATIME | MS_NOSUID);
}

Test (mount_flags, unknown_options_are_named)
{
  static const char valid[] = "valid options (comma-separated): nosuid, "
                              "nodev, noexec, noatime, nodiratime, relatime, "
                              "strictatime, lazytime, sync, dirsync";
  char msg[512];

  snprintf (msg, sizeof msg,
            "mount option `nosiud` in `nosiud,nodev` is not supported; %s",
            valid);
  parse_bad ("nosiud,nodev", msg);
  /* Read-only is the volume's access option, not a mount option here. */
  snprintf (msg, sizeof msg,
            "mount option `ro` in `nodev,ro` is not "
            "supported; %s",
            valid);
  parse_bad ("nodev,ro", msg);
  snprintf (msg, sizeof msg,
            "mount option `` in `nodev,,nosuid` is not "
            "supported; %s",
            valid);
  parse_bad ("nodev,,nosuid", msg);
  snprintf (msg, sizeof msg,
            "mount option `NOSUID` in `NOSUID` is not "
            "supported; %s",
            valid);
  parse_bad ("NOSUID", msg);
  parse_bad ("nodev,", "mount options `nodev,` end with a comma");
}
