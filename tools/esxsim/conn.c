/* esxsim's connections: each accepted one is served on a detached thread
 * of its own; ops_lock counts them, so a stop waits for them to finish. */
#include "esxsim.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/log.h"

/* In-flight requests, for a graceful stop. */
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ops_cond = PTHREAD_COND_INITIALIZER;
static int ops_in_flight; /* protected by ops_lock */

static void
ops_enter (void)
{
  pthread_mutex_lock (&ops_lock);
  ops_in_flight++;
  pthread_mutex_unlock (&ops_lock);
}

static void
ops_leave (void)
{
  pthread_mutex_lock (&ops_lock);
  if (--ops_in_flight == 0)
    pthread_cond_broadcast (&ops_cond);
  pthread_mutex_unlock (&ops_lock);
}

static void *
conn_thread (void *arg)
{
  struct conn *c = arg;

  if (c->l != NULL)
    serve_request (c);
  else
    serve_admin (c->fd);
  close (c->fd);
  free (c);
  ops_leave ();
  return NULL;
}

void
spawn (int fd, struct listener *l)
{
  struct conn *c = malloc (sizeof *c);
  pthread_attr_t attr;
  pthread_t t;

  if (c == NULL)
    {
      close (fd);
      return;
    }
  c->fd = fd;
  c->l = l;
  ops_enter ();
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create (&t, &attr, conn_thread, c) != 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Cannot start a request thread", NULL);
      close (fd);
      free (c);
      ops_leave ();
    }
  pthread_attr_destroy (&attr);
}

/* True when every request has finished. */
bool
wait_for_requests (void)
{
  bool done;
  struct timespec deadline;
  int r = 0;

  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += WAIT_OPS_SECONDS;
  pthread_mutex_lock (&ops_lock);
  while (ops_in_flight > 0 && r != ETIMEDOUT)
    r = pthread_cond_timedwait (&ops_cond, &ops_lock, &deadline);
  if (ops_in_flight > 0)
    vdvs_log (VDVS_LOG_WARN, "Requests still running at exit", "count=%d",
              ops_in_flight);
  done = ops_in_flight == 0;
  pthread_mutex_unlock (&ops_lock);
  return done;
}
