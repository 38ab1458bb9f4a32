/* Control-path error objects (common/error.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/error.h"

Test (error, set_fills_message_and_returns_minus_status)
{
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_error_set (&err, ENOENT, "Volume %s not found", "v"),
                -ENOENT);
  cr_assert_not_null (err);
  cr_assert_eq (err->status, ENOENT);
  cr_assert_str_eq (err->msg, "Volume v not found");
  vdvs_error_release (&err);
  cr_assert_null (err);
}

Test (error, zero_or_negative_status_becomes_eio)
{
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_error_set (&err, 0, "x"), -EIO);
  cr_assert_eq (err->status, EIO);
  vdvs_error_release (&err);
  cr_assert_eq (vdvs_error_set (&err, -3, "y"), -EIO);
  cr_assert_eq (err->status, EIO);
  vdvs_error_release (&err);
}

Test (error, first_error_is_kept)
{
  vdvs_error_t err = NULL;

  vdvs_error_set (&err, EINVAL, "the cause");
  /* A later failure on the same object reports the first status. */
  cr_assert_eq (vdvs_error_set (&err, ENOSPC, "a consequence"), -EINVAL);
  cr_assert_eq (err->status, EINVAL);
  cr_assert_str_eq (err->msg, "the cause");
  vdvs_error_release (&err);
}

Test (error, null_err_pointer_only_returns)
{
  cr_assert_eq (vdvs_error_set (NULL, EBUSY, "nobody listens"), -EBUSY);
  cr_assert_eq (vdvs_error_set (NULL, 0, "nobody listens"), -EIO);
}

Test (error, wrap_prefixes_context)
{
  vdvs_error_t err = NULL;

  vdvs_error_set (&err, EACCES, "permission denied");
  cr_assert_eq (vdvs_error_wrap (&err, "cannot open `%s`", "/x"), -EACCES);
  cr_assert_str_eq (err->msg, "cannot open `/x`: permission denied");
  cr_assert_eq (vdvs_error_wrap (&err, "level %d", 2), -EACCES);
  cr_assert_str_eq (err->msg, "level 2: cannot open `/x`: permission denied");
  cr_assert_eq (err->status, EACCES);
  vdvs_error_release (&err);
}

Test (error, wrap_without_error_is_eio)
{
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_error_wrap (&err, "context"), -EIO);
  cr_assert_null (err);
  cr_assert_eq (vdvs_error_wrap (NULL, "context"), -EIO);
}

Test (error, release_is_null_safe)
{
  vdvs_error_t err = NULL;

  vdvs_error_release (NULL);
  vdvs_error_release (&err);
  cr_assert_null (err);
}

Test (error, long_messages_are_not_truncated)
{
  vdvs_error_t err = NULL;
  char big[10000];

  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  vdvs_error_set (&err, EINVAL, "%s!", big);
  cr_assert_eq (strlen (err->msg), sizeof big);
  cr_assert_eq (err->msg[sizeof big - 1], '!');
  vdvs_error_release (&err);
}
