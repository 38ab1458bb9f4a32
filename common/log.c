/* key=value log lines: "<RFC3339 time> [LEVEL] <message> key=value ...".
 * One write(2) per line so that lines from threads never interleave. */
#include "vdvs/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum vdvs_log_level max_level = VDVS_LOG_INFO; /* set before threads */
static int log_fd = STDERR_FILENO;                    /* set before threads */

static const char *const level_names[] = {
  [VDVS_LOG_ERROR] = "ERROR",
  [VDVS_LOG_WARN] = "WARN",
  [VDVS_LOG_INFO] = "INFO",
  [VDVS_LOG_DEBUG] = "DEBUG",
};

int
vdvs_log_level_parse (const char *s, enum vdvs_log_level *out)
{
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
    if (strcasecmp (s, level_names[i]) == 0
        || (i == VDVS_LOG_WARN && strcasecmp (s, "warning") == 0))
      {
        *out = (enum vdvs_log_level) i;
        return 0;
      }
  return -1;
}

void
vdvs_log_setup (enum vdvs_log_level level, int fd)
{
  max_level = level;
  if (fd >= 0)
    log_fd = fd;
}

bool
vdvs_log_enabled (enum vdvs_log_level level)
{
  return level <= max_level;
}

void
vdvs_log (enum vdvs_log_level level, const char *msg, const char *fmt, ...)
{
  char line[4096];
  struct timeval tv;
  struct tm tm;
  time_t secs;
  size_t n;
  int r;

  if (level > max_level)
    return;
  gettimeofday (&tv, NULL);
  secs = tv.tv_sec; /* not a time_t everywhere (Windows: long) */
  gmtime_r (&secs, &tm);
  n = strftime (line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
  r = snprintf (line + n, sizeof line - n, ".%06ldZ [%s] %s",
                (long) tv.tv_usec, level_names[level], msg);
  n += r > 0 ? (size_t) r : 0;
  if (fmt != NULL && n < sizeof line - 2)
    {
      va_list ap;
      line[n++] = ' ';
      va_start (ap, fmt);
      r = vsnprintf (line + n, sizeof line - n, fmt, ap);
      va_end (ap);
      n += r > 0 ? (size_t) r : 0;
    }
  if (n > sizeof line - 2)
    n = sizeof line - 2;
  /* One event, one line: control characters in values would let a value
   * forge lines, so they are shown escaped. */
  {
    char esc[sizeof line];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof esc - 4; i++)
      {
        unsigned char c = (unsigned char) line[i];
        if (c == '\n')
          {
            esc[m++] = '\\';
            esc[m++] = 'n';
          }
        else if (c < 0x20 || c == 0x7f)
          m += (size_t) snprintf (esc + m, sizeof esc - m, "\\x%02x", c);
        else
          esc[m++] = (char) c;
      }
    memcpy (line, esc, m);
    n = m;
  }
  line[n++] = '\n';
  /* A failed log write has nowhere to be reported. */
  if (write (log_fd, line, n) < 0)
    return;
}
