/* CLOCK_MONOTONIC: the one clock the project measures intervals and sets
 * deadlines with (never the wall clock, which jumps). */
#ifndef VDVS_CLOCK_H
#define VDVS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
vdvs_mono_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
