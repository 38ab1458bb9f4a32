/* Progress of long backend work (an eagerzeroedthick zero-fill, the copy
 * of a clone): what a backend reports, and how receivers pace and show it. */
#ifndef VDVS_PROGRESS_H
#define VDVS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vdvs_progress_state
{
  VDVS_PROGRESS_START,  /* first call, done == 0 */
  VDVS_PROGRESS_UPDATE, /* the work advanced */
  VDVS_PROGRESS_DONE,   /* last call on success, done == total */
  VDVS_PROGRESS_FAILED, /* last call on failure */
};

/* One long operation (an eagerzeroedthick zero-fill, the copy of a clone)
 * as a backend reports it.  The backend owns the struct for the whole
 * operation and passes the same pointer to every call: START, UPDATE as
 * often as it likes (the receiver decides what to show), then exactly one
 * DONE or FAILED. */
struct vdvs_progress
{
  enum vdvs_progress_state state;
  const char *op;     /* "create" | "clone" */
  const char *volume; /* "vol@datastore" being made */
  const char *what;   /* "eagerzeroedthick", "copy from src@ds" */
  uint64_t done;      /* bytes, never decreasing */
  uint64_t total;     /* bytes */
  void *user;         /* the receiver's: NULL at START, never touched by
                         the backend, so per-operation state lives here */
};

/* Called from the thread doing the work, for several operations at once:
 * must be thread-safe, quick, and must not call the backend. */
typedef void (*vdvs_progress_fn) (void *opaque, struct vdvs_progress *p);

/* Per-operation pacing state of one receiver; zero-initialise. */
struct vdvs_pace
{
  bool shown;         /* anything shown yet */
  unsigned last_step; /* percent / step of the last line shown */
  double last_s;      /* monotonic seconds of the last line shown */
};

/* 0..100, rounded down; 100 when total is 0. */
unsigned vdvs_progress_pct (const struct vdvs_progress *p);

/* Should `p` be shown at monotonic time now_s?  START, DONE and FAILED
 * always are; an UPDATE only once it reaches a new multiple of step_pct
 * AND min_s passed since the last line shown (the rarer of the two), and
 * never at 100% (the DONE that follows shows it).
 * Records what it lets through. */
bool vdvs_pace_due (struct vdvs_pace *pace, const struct vdvs_progress *p,
                    double now_s, unsigned step_pct, double min_s);

/* "410 MiB" below 1 GiB, "1.0 GiB" from there. */
void vdvs_progress_size (uint64_t bytes, char *buf, size_t len);

/* "create vol@ds: eagerzeroedthick 40% (410 MiB of 1.0 GiB)"; FAILED
 * reads "... failed at 40% (...)". */
void vdvs_progress_line (const struct vdvs_progress *p, char *buf, size_t len);

/* "[########............]  40%  410/1024 MiB" with a bar of `width`
 * cells. */
void vdvs_progress_bar (const struct vdvs_progress *p, unsigned width,
                        char *buf, size_t len);

/* CLOCK_MONOTONIC in seconds. */
double vdvs_progress_now (void);

/* A vdvs_progress_fn for daemons: vdvs_log lines every 10% or every 2 s,
 * whichever is rarer, plus the start and the end.  `opaque` is unused. */
void vdvs_progress_log (void *opaque, struct vdvs_progress *p);

#endif
