/* Progress display: see progress.h. */
#include "vdvs/progress.h"
#include "vdvs/clock.h"
#include "vdvs/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_STEP_PCT 10
#define LOG_MIN_S 2.0

unsigned
vdvs_progress_pct (const struct vdvs_progress *p)
{
  if (p->total == 0 || p->done >= p->total)
    return 100;
  if (p->done <= UINT64_MAX / 100)
    return (unsigned) (p->done * 100 / p->total);
  return (unsigned) (p->done / (p->total / 100));
}

bool
vdvs_pace_due (struct vdvs_pace *pace, const struct vdvs_progress *p,
               double now_s, unsigned step_pct, double min_s)
{
  unsigned step = vdvs_progress_pct (p) / (step_pct ? step_pct : 1);

  /* An update at 100% is left to DONE, which always shows. */
  if (p->state == VDVS_PROGRESS_UPDATE
      && (vdvs_progress_pct (p) == 100
          || (pace->shown
              && (step <= pace->last_step || now_s - pace->last_s < min_s))))
    return false;
  pace->shown = true;
  pace->last_step = step;
  pace->last_s = now_s;
  return true;
}

void
vdvs_progress_size (uint64_t bytes, char *buf, size_t len)
{
  if (bytes < (UINT64_C (1) << 30))
    snprintf (buf, len, "%" PRIu64 " MiB", bytes >> 20);
  else
    snprintf (buf, len, "%.1f GiB", (double) bytes / (double) (1 << 30));
}

void
vdvs_progress_line (const struct vdvs_progress *p, char *buf, size_t len)
{
  char done[32], total[32];

  vdvs_progress_size (p->done, done, sizeof done);
  vdvs_progress_size (p->total, total, sizeof total);
  snprintf (buf, len, "%s %s: %s %s%u%% (%s of %s)", p->op, p->volume, p->what,
            p->state == VDVS_PROGRESS_FAILED ? "failed at " : "",
            vdvs_progress_pct (p), done, total);
}

void
vdvs_progress_bar (const struct vdvs_progress *p, unsigned width, char *buf,
                   size_t len)
{
  unsigned pct = vdvs_progress_pct (p), full = pct * width / 100;
  size_t off = 0;

  if (len == 0)
    return;
  if (off < len - 1)
    buf[off++] = '[';
  for (unsigned i = 0; i < width && off < len - 1; i++)
    buf[off++] = i < full ? '#' : '.';
  if (off < len - 1)
    buf[off++] = ']';
  snprintf (buf + off, len - off, " %3u%%  %" PRIu64 "/%" PRIu64 " MiB", pct,
            p->done >> 20, p->total >> 20);
}

double
vdvs_progress_now (void)
{
  return (double) vdvs_mono_ns () / 1e9;
}

void
vdvs_progress_log (void *opaque, struct vdvs_progress *p)
{
  struct vdvs_pace *pace = p->user;
  struct vdvs_pace fallback = { 0 };
  char line[1024];
  bool last = p->state == VDVS_PROGRESS_DONE
              || p->state == VDVS_PROGRESS_FAILED;

  (void) opaque;
  if (p->state == VDVS_PROGRESS_START && pace == NULL)
    pace = p->user = calloc (1, sizeof *pace);
  /* Out of memory at START: only the first and the last line. */
  if (pace == NULL)
    pace = &fallback;
  if (vdvs_pace_due (pace, p, vdvs_progress_now (), LOG_STEP_PCT, LOG_MIN_S)
      && (pace != &fallback || p->state != VDVS_PROGRESS_UPDATE))
    {
      vdvs_progress_line (p, line, sizeof line);
      vdvs_log (p->state == VDVS_PROGRESS_FAILED ? VDVS_LOG_WARN
                                                 : VDVS_LOG_INFO,
                line,
                "op=%s volume=%s percent=%u done=%" PRIu64 " total=%" PRIu64,
                p->op, p->volume, vdvs_progress_pct (p), p->done, p->total);
    }
  if (last)
    {
      free (p->user);
      p->user = NULL;
    }
}
