/* mkvols: create many volumes directly on the emulated datastore, through
 * the mock backend's vtable (descriptor, sparse thin extent, sidecar; no
 * attach, no mkfs), for the scale benchmark.  Prints volumes/s.
 *
 *   mkvols ROOT DATASTORE PREFIX FIRST COUNT [THREADS]
 *
 * creates PREFIX<FIRST> .. PREFIX<FIRST+COUNT-1> (size 100mb, thin). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vdvs/error.h"
#include "vdvs/log.h"
#include "vdvs/types.h"

#include "mock.h"

static void *handle;
static const char *prefix;
static long first, count;
static atomic_long next_i, failed;

static void *
worker (void *arg)
{
  struct vdvs_opts o = { 0 };
  (void) arg;
  vdvs_opts_set (&o, "size", "100mb");
  for (;;)
    {
      long i = atomic_fetch_add (&next_i, 1);
      char name[128];
      vdvs_error_t err = NULL;
      if (i >= count)
        break;
      snprintf (name, sizeof name, "%s%ld", prefix, first + i);
      if (vdvs_backend_mock.create (handle, name, &o, &err) < 0)
        {
          if (atomic_fetch_add (&failed, 1) == 0)
            fprintf (stderr, "mkvols: %s: %s\n", name, err->msg);
          vdvs_error_release (&err);
        }
    }
  vdvs_opts_clear (&o);
  return NULL;
}

static void
config (const char *k, const char *v)
{
  vdvs_error_t err = NULL;
  if (vdvs_backend_mock.config (k, v, &err) < 0)
    {
      fprintf (stderr, "mkvols: %s\n", err->msg);
      exit (1);
    }
}

int
main (int argc, char **argv)
{
  vdvs_error_t err = NULL;
  pthread_t t[64];
  struct timespec a, b;
  int nt;
  double s;

  if (argc < 6)
    {
      fprintf (stderr, "usage: mkvols ROOT DATASTORE PREFIX FIRST COUNT "
                       "[THREADS]\n");
      return 2;
    }
  vdvs_log_setup (VDVS_LOG_WARN, -1);
  config ("root", argv[1]);
  config ("datastores", argv[2]);
  config ("vmdkfs", "off");
  config ("vm-name", "mkvols");
  prefix = argv[3];
  first = atol (argv[4]);
  count = atol (argv[5]);
  nt = argc > 6 ? atoi (argv[6]) : 8;
  if (nt < 1 || nt > 64)
    nt = 8;
  if (vdvs_backend_mock.open (&handle, &err) < 0)
    {
      fprintf (stderr, "mkvols: %s\n", err->msg);
      return 1;
    }
  clock_gettime (CLOCK_MONOTONIC, &a);
  for (int i = 0; i < nt; i++)
    pthread_create (&t[i], NULL, worker, NULL);
  for (int i = 0; i < nt; i++)
    pthread_join (t[i], NULL);
  clock_gettime (CLOCK_MONOTONIC, &b);
  s = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
  vdvs_backend_mock.close (handle);
  printf ("created=%ld failed=%ld seconds=%.2f per_s=%.0f\n",
          count - atomic_load (&failed), atomic_load (&failed), s,
          (double) count / s);
  return atomic_load (&failed) ? 1 : 0;
}
