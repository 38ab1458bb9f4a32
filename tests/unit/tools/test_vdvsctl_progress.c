/* vdvsctl's progress on stderr (tools/vdvsctl-progress.c): lines for
 * files and pipes, a redrawn bar for terminals, nothing with --json. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vdvsctl.h"

#define MiB (UINT64_C (1) << 20)

/* Run a 100 MiB operation in 1 MiB steps through mode; return the
 * output (caller frees). */
static char *
run (enum vdvsctl_progress_mode mode, bool fail)
{
  char *buf = NULL;
  size_t len = 0;
  struct vdvsctl_progress pr = { .mode = mode };
  struct vdvs_progress p = { .op = "clone",
                             .volume = "b@ds",
                             .what = "copy from a@ds",
                             .total = 100 * MiB };

  pr.out = open_memstream (&buf, &len);
  cr_assert_not_null (pr.out);
  p.state = VDVS_PROGRESS_START;
  vdvsctl_progress (&pr, &p);
  p.state = VDVS_PROGRESS_UPDATE;
  for (int i = 1; i <= (fail ? 55 : 100); i++)
    {
      p.done = (uint64_t) i * MiB;
      vdvsctl_progress (&pr, &p);
    }
  p.state = fail ? VDVS_PROGRESS_FAILED : VDVS_PROGRESS_DONE;
  vdvsctl_progress (&pr, &p);
  fclose (pr.out);
  return buf;
}

Test (progress, lines_every_ten_percent_ending_at_100)
{
  char *out = run (VDVSCTL_PROGRESS_LINES, false), *line, *save = NULL;
  int n = 0;

  for (line = strtok_r (out, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save), n++)
    {
      char want[128];
      snprintf (want, sizeof want,
                "clone b@ds: copy from a@ds %d%% (%d MiB of 100 MiB)", n * 10,
                n * 10);
      cr_assert_str_eq (line, want);
    }
  cr_assert_eq (n, 11, "0%%, 10%% ... 100%%, each once");
  free (out);
}

Test (progress, failure_line)
{
  char *out = run (VDVSCTL_PROGRESS_LINES, true);
  cr_assert (strstr (out, "\nclone b@ds: copy from a@ds failed at 55% (55 "
                          "MiB of 100 MiB)\n"),
             "%s", out);
  free (out);
}

Test (progress, bar_redraws_one_line)
{
  char *out = run (VDVSCTL_PROGRESS_BAR, false);
  size_t len = strlen (out);

  cr_assert_eq (out[0], '\r');
  cr_assert_eq (out[len - 1], '\n', "ends with a newline");
  cr_assert_eq (strchr (out, '\n'), out + len - 1, "one line only");
  cr_assert (strstr (out, "\rclone b@ds: [##############################] "
                          "100%  100/100 MiB\n"),
             "%s", out);
  free (out);
}

Test (progress, nothing_for_json)
{
  char *out = run (VDVSCTL_PROGRESS_NONE, false);
  cr_assert_str_eq (out, "");
  free (out);
}
