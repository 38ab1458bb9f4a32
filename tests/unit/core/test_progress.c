/* Progress display (common/progress.c): percent, pacing, line and bar. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/progress.h"

#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)

static struct vdvs_progress
prog (enum vdvs_progress_state s, uint64_t done, uint64_t total)
{
  struct vdvs_progress p = { .state = s,
                             .op = "create",
                             .volume = "vol@datastore1",
                             .what = "eagerzeroedthick",
                             .done = done,
                             .total = total };
  return p;
}

Test (progress, percent)
{
  struct vdvs_progress p = prog (VDVS_PROGRESS_UPDATE, 0, 1000);
  cr_assert_eq (vdvs_progress_pct (&p), 0);
  p.done = 409;
  cr_assert_eq (vdvs_progress_pct (&p), 40);
  p.done = 999;
  cr_assert_eq (vdvs_progress_pct (&p), 99, "never 100 before the end");
  p.done = 1000;
  cr_assert_eq (vdvs_progress_pct (&p), 100);
  p.total = 0;
  p.done = 0;
  cr_assert_eq (vdvs_progress_pct (&p), 100, "nothing to do is done");
  p.total = UINT64_MAX;
  p.done = UINT64_MAX / 2;
  cr_assert_eq (vdvs_progress_pct (&p), 50, "no overflow");
}

Test (progress, sizes_line_and_bar)
{
  char buf[256];
  struct vdvs_progress p = prog (VDVS_PROGRESS_UPDATE, 410 * MiB, GiB);

  vdvs_progress_size (410 * MiB, buf, sizeof buf);
  cr_assert_str_eq (buf, "410 MiB");
  vdvs_progress_size (GiB + GiB / 2, buf, sizeof buf);
  cr_assert_str_eq (buf, "1.5 GiB");
  vdvs_progress_line (&p, buf, sizeof buf);
  cr_assert_str_eq (buf,
                    "create vol@datastore1: eagerzeroedthick 40% (410 MiB of "
                    "1.0 GiB)");
  p.state = VDVS_PROGRESS_FAILED;
  vdvs_progress_line (&p, buf, sizeof buf);
  cr_assert_str_eq (buf, "create vol@datastore1: eagerzeroedthick failed at "
                         "40% (410 MiB of 1.0 GiB)");
  vdvs_progress_bar (&p, 10, buf, sizeof buf);
  cr_assert_str_eq (buf, "[####......]  40%  410/1024 MiB");
  p.done = GiB;
  vdvs_progress_bar (&p, 4, buf, sizeof buf);
  cr_assert_str_eq (buf, "[####] 100%  1024/1024 MiB");
  /* A short buffer is cut, never overrun. */
  vdvs_progress_bar (&p, 40, buf, 8);
  cr_assert_str_eq (buf, "[######");
}

Test (progress, pacing_takes_the_rarer_of_step_and_time)
{
  struct vdvs_pace pace = { 0 };
  struct vdvs_progress p = prog (VDVS_PROGRESS_START, 0, 100);

  cr_assert (vdvs_pace_due (&pace, &p, 0.0, 10, 2.0), "START always");
  p.state = VDVS_PROGRESS_UPDATE;
  p.done = 5;
  cr_assert_not (vdvs_pace_due (&pace, &p, 5.0, 10, 2.0), "same step");
  p.done = 15;
  cr_assert_not (vdvs_pace_due (&pace, &p, 1.0, 10, 2.0), "too soon");
  cr_assert (vdvs_pace_due (&pace, &p, 2.5, 10, 2.0), "new step, 2 s on");
  p.done = 19;
  cr_assert_not (vdvs_pace_due (&pace, &p, 9.0, 10, 2.0), "step shown");
  p.done = 95;
  cr_assert (vdvs_pace_due (&pace, &p, 9.0, 10, 2.0));
  p.done = 100;
  cr_assert_not (vdvs_pace_due (&pace, &p, 20.0, 10, 2.0),
                 "100% is for DONE to show, once");
  p.state = VDVS_PROGRESS_DONE;
  cr_assert (vdvs_pace_due (&pace, &p, 9.1, 10, 2.0), "the end always");
}

Test (progress, log_receiver_keeps_and_frees_its_state)
{
  struct vdvs_progress p = prog (VDVS_PROGRESS_START, 0, 100 * MiB);

  vdvs_progress_log (NULL, &p);
  cr_assert_not_null (p.user);
  p.state = VDVS_PROGRESS_UPDATE;
  p.done = 50 * MiB;
  vdvs_progress_log (NULL, &p);
  p.state = VDVS_PROGRESS_FAILED;
  vdvs_progress_log (NULL, &p);
  cr_assert_null (p.user, "freed at the end (ASan checks the leak)");
}
