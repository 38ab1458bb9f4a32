/* Create-option validation with the upstream messages
 * (backends/mock/options.c, reference §3.1). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "mock_i.h"

#define VALID_LIST                                                            \
  "Valid options and defaults: [('size', '100mb'), ('vsan-policy-name', "     \
  "'[VSAN default]'), ('diskformat', 'thin'), ('attach-as', "                 \
  "'independent_persistent'), ('access', 'read-write'), ('fstype', "          \
  "'ext4'), ('clone-from', 'None')]"
#define SIZE_MSG                                                              \
  "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "        \
  "where X is an integer. Default = 100mb"

/* Options from "k", "v", ..., NULL. */
static void
opts_of (struct vdvs_opts *o, const char *k, ...)
{
  va_list ap;

  memset (o, 0, sizeof *o);
  va_start (ap, k);
  for (; k; k = va_arg (ap, const char *))
    cr_assert_eq (vdvs_opts_set (o, k, va_arg (ap, const char *)), 0);
  va_end (ap);
}

static void
expect_ok (struct vdvs_opts *o)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (mock_options_validate (NULL, NULL, o, &err), 0, "%s",
                err ? err->msg : "");
  vdvs_opts_clear (o);
}

static void
expect_err (struct vdvs_opts *o, const char *msg)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (mock_options_validate (NULL, NULL, o, &err), -EINVAL);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
  vdvs_opts_clear (o);
}

Test (options, empty_and_every_valid_key)
{
  struct vdvs_opts o;

  opts_of (&o, NULL);
  expect_ok (&o);
  opts_of (&o, "size", "2gb", "diskformat", "eagerzeroedthick", "attach-as",
           "persistent", "access", "read-only", "fstype", "xfs", NULL);
  expect_ok (&o);
  opts_of (&o, "attach-as", "independent_persistent", "access", "read-write",
           "diskformat", "zeroedthick", NULL);
  expect_ok (&o);
}

Test (options, valid_sizes)
{
  static const char *const ok[] = { "2gb",  "200tb", "200MB",
                                    "10gb", "2TB",   "100mb" };
  struct vdvs_opts o;

  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    {
      opts_of (&o, "size", ok[i], NULL);
      expect_ok (&o);
    }
}

Test (options, bad_sizes)
{
  static const char *const bad[] = { "100mbb", "100gbEE", "2", "mb",
                                     "-1gb",   "1.5gb",   "" };
  struct vdvs_opts o;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      opts_of (&o, "size", bad[i], NULL);
      expect_err (&o, SIZE_MSG);
    }
  opts_of (&o, "size", "0gb", NULL);
  expect_err (&o, "Invalid volume size specified.");
}

Test (options, unknown_keys_listed_sorted)
{
  struct vdvs_opts o;

  opts_of (&o, "sizes", "100mb", NULL);
  expect_err (&o, "Invalid options: ['sizes'] \n" VALID_LIST);
  /* Every unknown key, in sorted order, whatever the valid ones say. */
  opts_of (&o, "zeta", "1", "size", "bogus", "alpha", "2", "Size", "3", NULL);
  expect_err (&o, "Invalid options: ['Size', 'alpha', 'zeta'] \n" VALID_LIST);
}

Test (options, unknown_keys_are_escaped_like_repr)
{
  struct vdvs_opts o;

  opts_of (&o, "a\\b", "1", "new\nline", "2", NULL);
  expect_err (&o, "Invalid options: ['a\\\\b', 'new\\nline'] \n" VALID_LIST);
}

Test (options, e2e_negative_cases)
{
  struct vdvs_opts o;

  opts_of (&o, "diskformat", "zeroedthickk", NULL);
  expect_err (&o, "Disk Allocation Format 'zeroedthickk' is not supported. "
                  "Valid options are: ['zeroedthick', 'thin', "
                  "'eagerzeroedthick'].");
  opts_of (&o, "diskformat", "zeroedthick,thin", NULL);
  expect_err (&o, "Disk Allocation Format 'zeroedthick,thin' is not "
                  "supported. Valid options are: ['zeroedthick', 'thin', "
                  "'eagerzeroedthick'].");
  opts_of (&o, "size", "100gbEE", NULL);
  expect_err (&o, SIZE_MSG);
  opts_of (&o, "access", "read-write-both", NULL);
  expect_err (&o, "Access type 'read-write-both' is not supported. Valid "
                  "options are: ['read-write', 'read-only']");
  opts_of (&o, "access", "write-only", NULL);
  expect_err (&o, "Access type 'write-only' is not supported. Valid options "
                  "are: ['read-write', 'read-only']");
}

Test (options, values_are_case_sensitive)
{
  struct vdvs_opts o;

  opts_of (&o, "diskformat", "Thin", NULL);
  expect_err (&o, "Disk Allocation Format 'Thin' is not supported. Valid "
                  "options are: ['zeroedthick', 'thin', 'eagerzeroedthick'].");
  opts_of (&o, "access", "READ-ONLY", NULL);
  expect_err (&o, "Access type 'READ-ONLY' is not supported. Valid options "
                  "are: ['read-write', 'read-only']");
}

Test (options, attach_as)
{
  struct vdvs_opts o;

  opts_of (&o, "attach-as", "nonpersistent", NULL);
  expect_err (&o, "Attach type 'nonpersistent' is not supported. Valid "
                  "options are: ['independent_persistent', 'persistent']");
  opts_of (&o, "attach-as", "", NULL);
  expect_err (&o, "Attach type '' is not supported. Valid options are: "
                  "['independent_persistent', 'persistent']");
}

Test (options, vsan_policy_on_a_plain_datastore)
{
  struct vdvs_opts o;

  opts_of (&o, "vsan-policy-name", "gold", NULL);
  expect_err (&o, "Cannot use a VSAN policy on a non-VSAN datastore");
}

Test (options, clone_rules)
{
  struct vdvs_opts o;

  opts_of (&o, "clone-from", "src", "size", "1gb", NULL);
  expect_err (&o, "Cannot define the size for a clone");
  /* Even a malformed size: the clone rule comes first. */
  opts_of (&o, "clone-from", "src", "size", "1gbb", NULL);
  expect_err (&o, "Cannot define the size for a clone");
  opts_of (&o, "clone-from", "src", "fstype", "ext4", NULL);
  expect_err (&o, "Cannot define the filesystem type for a clone");
  opts_of (&o, "clone-from", "src", "diskformat", "zeroedthick", "access",
           "read-only", "attach-as", "persistent", NULL);
  expect_ok (&o);
}

static void
expect_set_err (struct vdvs_opts *o, const char *msg)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (mock_options_validate_set (o, &err), -EINVAL);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
  vdvs_opts_clear (o);
}

Test (options, set_allows_only_access_and_attach_as)
{
  struct vdvs_opts o;
  vdvs_error_t err = NULL;

  opts_of (&o, "access", "read-only", NULL);
  cr_assert_eq (mock_options_validate_set (&o, &err), 0);
  vdvs_opts_clear (&o);
  opts_of (&o, "access", "read-write", "attach-as", "persistent", NULL);
  cr_assert_eq (mock_options_validate_set (&o, &err), 0);
  vdvs_opts_clear (&o);

  opts_of (&o, NULL);
  expect_set_err (&o, "No option to set. Settable options: ['access', "
                      "'attach-as']");
  opts_of (&o, "access", "read-only", "size", "2gb", NULL);
  expect_set_err (&o, "Option 'size' cannot be changed after create. "
                      "Settable options: ['access', 'attach-as']");
  opts_of (&o, "diskformat", "thin", NULL);
  expect_set_err (&o, "Option 'diskformat' cannot be changed after create. "
                      "Settable options: ['access', 'attach-as']");
  opts_of (&o, "color", "blue", NULL);
  expect_set_err (&o, "Invalid option 'color'. Settable options: "
                      "['access', 'attach-as']");
  opts_of (&o, "access", "write-only", NULL);
  expect_set_err (&o, "Access type 'write-only' is not supported. Valid "
                      "options are: ['read-write', 'read-only']");
  opts_of (&o, "access", "", NULL);
  expect_set_err (&o, "Access type '' is not supported. Valid options are: "
                      "['read-write', 'read-only']");
  opts_of (&o, "attach-as", "independent", NULL);
  expect_set_err (&o, "Attach type 'independent' is not supported. Valid "
                      "options are: ['independent_persistent', "
                      "'persistent']");
}
