/* vmdkfs fault rules: the control language and the verdicts it yields. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "fault.h"
#include "fault_ctl.h"

static struct fault_table t;

static void
setup (void)
{
  fault_table_init (&t, 12345);
}

static void
teardown (void)
{
  fault_table_destroy (&t);
}

TestSuite (fault, .init = setup, .fini = teardown);

/* Run a control line, expect ret, return the reply (caller frees). */
static char *
ctl (const char *line, int expect)
{
  char *reply = NULL;
  int ret = fault_control (&t, line, &reply);

  cr_assert_eq (ret, expect, "`%s' returned %d (%s), expected %d", line, ret,
                reply ? reply : "", expect);
  cr_assert_not_null (reply, "`%s' gave no reply", line);
  return reply;
}

static void
ok (const char *line)
{
  free (ctl (line, 0));
}

static int
verdict_err (const char *path, unsigned op)
{
  struct fault_verdict v;

  fault_check (&t, path, op, &v);
  return v.err;
}

#define FLAT "datastore1/dockvols/11111111-2222/vol1-flat.vmdk"
#define OTHER "datastore1/dockvols/11111111-2222/vol2-flat.vmdk"

Test (fault, add_path_read_eio)
{
  char *r =
      ctl ("add id=e1 path=datastore1/dockvols/*/vol1-flat.vmdk op=read errno=EIO",
           0);
  cr_assert_str_eq (r, "id=e1\n");
  free (r);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_READ), EIO);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_WRITE), 0);
  cr_assert_eq (verdict_err (OTHER, FAULT_OP_READ), 0);
  /* `*' stays inside one path component. */
  cr_assert_eq (verdict_err ("datastore1/dockvols/a/b/vol1-flat.vmdk",
                             FAULT_OP_READ),
                0);
}

Test (fault, ds_matches_whole_datastore_only)
{
  ok ("add ds=datastore1 errno=ENOSPC op=write");
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_WRITE), ENOSPC);
  cr_assert_eq (verdict_err ("datastore1", FAULT_OP_WRITE), ENOSPC);
  cr_assert_eq (verdict_err ("datastore10/dockvols/x", FAULT_OP_WRITE), 0);
  cr_assert_eq (verdict_err ("datastore2/dockvols/x", FAULT_OP_WRITE), 0);
}

Test (fault, after_n_lets_first_ops_pass)
{
  ok ("add id=a path=" FLAT " errno=EIO after=3");
  for (int i = 0; i < 3; i++)
    cr_assert_eq (verdict_err (FLAT, FAULT_OP_WRITE), 0, "op %d", i);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_WRITE), EIO);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_READ), EIO);
}

Test (fault, rate_is_roughly_honoured)
{
  int n = 0;

  ok ("add path=" FLAT " errno=EIO rate=25%");
  for (int i = 0; i < 4000; i++)
    n += verdict_err (FLAT, FAULT_OP_READ) == EIO;
  cr_assert (n > 800 && n < 1200, "injected %d of 4000 at 25%%", n);
}

Test (fault, trigger_arms_and_disarms)
{
  ok ("add id=t path=" FLAT " errno=EIO trigger=off");
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_READ), 0);
  ok ("trigger t on");
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_READ), EIO);
  ok ("trigger id=t off");
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_READ), 0);
  free (ctl ("trigger nosuch on", -ENOENT));
}

Test (fault, readonly_blocks_writes_and_meta_not_reads)
{
  char *r = ctl ("readonly ds=datastore1 on", 0);
  cr_assert_str_eq (r, "id=readonly-datastore1\n");
  free (r);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_WRITE), EROFS);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_META), EROFS);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_READ), 0);
  /* Idempotent: a second `on' keeps one rule. */
  ok ("readonly ds=datastore1 on");
  cr_assert_eq (atomic_load (&t.nrules), 1);
  r = ctl ("readonly ds=datastore1 off", 0);
  cr_assert_str_eq (r, "removed=1\n");
  free (r);
  cr_assert_eq (verdict_err (FLAT, FAULT_OP_WRITE), 0);
}

Test (fault, delay_and_stall_verdicts)
{
  struct fault_verdict v;

  ok ("delay id=d path=" FLAT " ms=50");
  cr_assert (fault_check (&t, FLAT, FAULT_OP_READ, &v));
  cr_assert_eq (v.delay_ms, 50);
  cr_assert (!v.hold);
  ok ("stall id=s ds=datastore1");
  cr_assert (fault_check (&t, FLAT, FAULT_OP_FSYNC, &v));
  cr_assert (v.hold);
  cr_assert_str_eq (v.id, "s");
  cr_assert (!fault_check (&t, "datastore2/x", FAULT_OP_READ, &v));
}

static int released;
static char released_id[64];

static void
on_release (void *opaque, const char *id)
{
  (void) opaque;
  released++;
  strcpy (released_id, id ? id : "*");
}

Test (fault, release_and_clear_wake_held_ops)
{
  t.on_release = on_release;
  released = 0;
  ok ("stall id=s1 ds=datastore1");
  ok ("stall id=s2 ds=datastore2");
  ok ("release s1");
  cr_assert_eq (released, 1);
  cr_assert_str_eq (released_id, "s1");
  cr_assert (!fault_rule_exists (&t, "s1"));
  cr_assert (fault_rule_exists (&t, "s2"));
  free (ctl ("release s1", -ENOENT));
  ok ("clear");
  cr_assert_eq (released, 2);
  cr_assert_str_eq (released_id, "*");
  cr_assert_eq (atomic_load (&t.nrules), 0);
}

Test (fault, list_shows_counts)
{
  char *r;

  ok ("add id=e path=" FLAT " op=read errno=EIO after=1");
  verdict_err (FLAT, FAULT_OP_READ);
  verdict_err (FLAT, FAULT_OP_READ);
  r = ctl ("list", 0);
  cr_assert_str_eq (r,
                    "id=e kind=error path=" FLAT " op=read errno=EIO rate=1 "
                    "after=1 trigger=none matched=2 injected=1\n");
  free (r);
}

Test (fault, auto_ids_and_duplicates)
{
  char *r = ctl ("add ds=d errno=EIO", 0);
  cr_assert_str_eq (r, "id=f1\n");
  free (r);
  ok ("add id=x ds=d errno=EIO");
  free (ctl ("add id=x ds=d errno=EIO", -EEXIST));
  free (ctl ("clear nosuch", -ENOENT));
  ok ("clear x");
  cr_assert_eq (atomic_load (&t.nrules), 1);
}

Test (fault, bad_lines_are_refused)
{
  static const char *const bad[] = {
    "",
    "bogus",
    "add errno=EIO",
    "add path=a ds=b errno=EIO",
    "add path=a",
    "add path=a errno=EWHAT",
    "add path=a errno=EIO rate=0",
    "add path=a errno=EIO rate=1.5",
    "add path=a errno=EIO rate=x",
    "add path=a errno=EIO after=-1",
    "add path=a errno=EIO op=sideways",
    "add path=a errno=EIO trigger=maybe",
    "add path=a errno=EIO color=red",
    "add ds=a/b errno=EIO",
    "delay path=a",
    "delay path=a ms=0",
    "delay path=a ms=abc",
    "readonly ds=x",
    "readonly on",
    "readonly ds=x sideways",
    "trigger",
    "a b c d e f g h i j k l m n o p q r",
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      char *reply = NULL;
      int ret = fault_control (&t, bad[i], &reply);

      cr_expect_eq (ret, -EINVAL, "`%s' returned %d", bad[i], ret);
      cr_expect_not_null (reply, "`%s' gave no message", bad[i]);
      free (reply);
    }
  cr_assert_eq (atomic_load (&t.nrules), 0);
}

Test (fault, errno_names_round_trip)
{
  cr_assert_eq (vmdkfs_errno_parse ("EIO"), EIO);
  cr_assert_eq (vmdkfs_errno_parse ("enospc"), ENOSPC);
  cr_assert_eq (vmdkfs_errno_parse ("28"), 28);
  cr_assert_eq (vmdkfs_errno_parse ("0"), -EINVAL);
  cr_assert_str_eq (vmdkfs_errno_name (EROFS), "EROFS");
  cr_assert_str_eq (vmdkfs_errno_name (4000), "4000");
}
