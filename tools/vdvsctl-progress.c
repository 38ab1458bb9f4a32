/* Progress of `vdvsctl create/clone` on stderr: see vdvsctl.h. */
#include <string.h>

#include "vdvsctl.h"

#define BAR_CELLS 30
#define BAR_MIN_S 0.1 /* redraws a second, at most 10 */
#define LINE_STEP_PCT 10

void
vdvsctl_progress (void *opaque, struct vdvs_progress *p)
{
  struct vdvsctl_progress *pr = opaque;
  bool last = p->state == VDVS_PROGRESS_DONE
              || p->state == VDVS_PROGRESS_FAILED;
  char line[1024], bar[128];
  int n;

  if (pr->mode == VDVSCTL_PROGRESS_NONE)
    return;
  if (p->state == VDVS_PROGRESS_START)
    memset (&pr->pace, 0, sizeof pr->pace);
  if (pr->mode == VDVSCTL_PROGRESS_LINES)
    {
      if (vdvs_pace_due (&pr->pace, p, vdvs_progress_now (), LINE_STEP_PCT, 0))
        {
          vdvs_progress_line (p, line, sizeof line);
          fprintf (pr->out, "%s\n", line);
          fflush (pr->out);
        }
      return;
    }
  if (!vdvs_pace_due (&pr->pace, p, vdvs_progress_now (), 1, BAR_MIN_S))
    return;
  vdvs_progress_bar (p, BAR_CELLS, bar, sizeof bar);
  n = fprintf (pr->out, "\r%s %s: %s%s", p->op, p->volume, bar,
               p->state == VDVS_PROGRESS_FAILED ? " failed" : "");
  /* Blank out the tail of a longer earlier draw. */
  if (n > 0 && (size_t) n < pr->drawn)
    fprintf (pr->out, "%*s", (int) (pr->drawn - (size_t) n), "");
  pr->drawn = n > 0 ? (size_t) n : 0;
  if (last)
    {
      fputc ('\n', pr->out);
      pr->drawn = 0;
    }
  fflush (pr->out);
}
