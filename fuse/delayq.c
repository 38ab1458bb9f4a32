/* The delay queue: ios that a fault rule delays or stalls wait here, on
 * one thread, instead of blocking FUSE workers (a stalled volume must not
 * starve the others).  Due ios are handed to the engine in turn. */
#include "vmdkfs.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "vdvs/log.h"

static void
abs_deadline (uint64_t due_ns, struct timespec *ts)
{
  /* The condvar runs on CLOCK_MONOTONIC (set in start). */
  ts->tv_sec = due_ns / 1000000000u;
  ts->tv_nsec = due_ns % 1000000000u;
}

static void *
delayq_main (void *arg)
{
  struct vmdkfs *fs = arg;
  struct vmdkfs_delayq *q = &fs->delayq;

  pthread_mutex_lock (&q->lock);
  for (;;)
    {
      struct vmdkfs_io **p, *io, *due = NULL;
      uint64_t now = vmdkfs_now_ns (), next = 0;

      /* Take out every io that is due (everything when stopping). */
      for (p = &q->head; (io = *p);)
        {
          if (q->stop || (io->due_ns && io->due_ns <= now))
            {
              *p = io->next;
              io->next = due;
              due = io;
              q->count--;
            }
          else
            {
              if (io->due_ns && (!next || io->due_ns < next))
                next = io->due_ns;
              p = &io->next;
            }
        }
      if (due)
        {
          pthread_mutex_unlock (&q->lock);
          while ((io = due))
            {
              due = io->next;
              io->next = NULL;
              vmdkfs_io_submit (fs, io);
            }
          pthread_mutex_lock (&q->lock);
          continue;
        }
      if (q->stop)
        break;
      if (next)
        {
          struct timespec ts;

          abs_deadline (next, &ts);
          pthread_cond_timedwait (&q->cond, &q->lock, &ts);
        }
      else
        pthread_cond_wait (&q->cond, &q->lock);
    }
  pthread_mutex_unlock (&q->lock);
  return NULL;
}

int
vmdkfs_delayq_start (struct vmdkfs *fs)
{
  struct vmdkfs_delayq *q = &fs->delayq;
  pthread_condattr_t attr;
  int ret;

  memset (q, 0, sizeof *q);
  q->fs = fs;
  pthread_mutex_init (&q->lock, NULL);
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&q->cond, &attr);
  pthread_condattr_destroy (&attr);
  ret = pthread_create (&q->thread, NULL, delayq_main, fs);
  return -ret;
}

void
vmdkfs_delayq_add (struct vmdkfs *fs, struct vmdkfs_io *io)
{
  struct vmdkfs_delayq *q = &fs->delayq;
  bool held = io->due_ns == 0;
  char id[sizeof io->hold_id];

  /* Copied now: once parked, the io may be submitted and freed. */
  memcpy (id, io->hold_id, sizeof id);
  pthread_mutex_lock (&q->lock);
  io->next = q->head;
  q->head = io;
  q->count++;
  pthread_cond_signal (&q->cond);
  pthread_mutex_unlock (&q->lock);
  /* The stall may have been released between the verdict and now; the
   * release only saw ios already parked. */
  if (held && !fault_rule_exists (&fs->faults, id))
    vmdkfs_delayq_release (fs, id);
}

void
vmdkfs_delayq_release (void *opaque, const char *id)
{
  struct vmdkfs *fs = opaque;
  struct vmdkfs_delayq *q = &fs->delayq;
  uint64_t now = vmdkfs_now_ns ();
  unsigned n = 0;

  pthread_mutex_lock (&q->lock);
  for (struct vmdkfs_io *io = q->head; io; io = io->next)
    if (io->due_ns == 0 && (!id || strcmp (io->hold_id, id) == 0))
      {
        io->due_ns = now;
        n++;
      }
  pthread_cond_signal (&q->cond);
  pthread_mutex_unlock (&q->lock);
  vdvs_log (VDVS_LOG_INFO, "Stalled requests released", "id=%s count=%u",
            id ? id : "*", n);
}

unsigned
vmdkfs_delayq_count (struct vmdkfs *fs)
{
  unsigned n;

  pthread_mutex_lock (&fs->delayq.lock);
  n = fs->delayq.count;
  pthread_mutex_unlock (&fs->delayq.lock);
  return n;
}

void
vmdkfs_delayq_stop (struct vmdkfs *fs)
{
  struct vmdkfs_delayq *q = &fs->delayq;

  pthread_mutex_lock (&q->lock);
  q->stop = true;
  pthread_cond_signal (&q->cond);
  pthread_mutex_unlock (&q->lock);
  pthread_join (q->thread, NULL);
  pthread_mutex_destroy (&q->lock);
  pthread_cond_destroy (&q->cond);
}
