/* Control-path error objects: see include/vdvs/error.h. */
#include "vdvs/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
neg_status (int status)
{
  return status > 0 ? -status : -EIO;
}

int
vdvs_error_set (vdvs_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  struct vdvs_error *e;

  if (err == NULL)
    return neg_status (status);
  /* A second error on the same object keeps the first one: it is the cause. */
  if (*err != NULL)
    return neg_status ((*err)->status);

  e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->status = status > 0 ? status : EIO;
  va_start (ap, fmt);
  if (vasprintf (&e->msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  *err = e;
  return -e->status;
}

int
vdvs_error_wrap (vdvs_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *prefix, *msg;

  if (err == NULL || *err == NULL)
    return -EIO;
  va_start (ap, fmt);
  if (vasprintf (&prefix, fmt, ap) < 0)
    abort ();
  va_end (ap);
  if (asprintf (&msg, "%s: %s", prefix, (*err)->msg) < 0)
    abort ();
  free (prefix);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -(*err)->status;
}

void
vdvs_error_release (vdvs_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}
