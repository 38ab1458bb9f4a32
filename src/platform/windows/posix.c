/* The POSIX calls posix.h maps for the shared core on Windows. */
#include "posix.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

int
vdvs_win_mkdir (const char *path)
{
  if (isalpha ((unsigned char) path[0]) && path[1] == ':'
      && (path[2] == '\0'
          || ((path[2] == '/' || path[2] == '\\') && path[3] == '\0')))
    {
      errno = EEXIST;
      return -1;
    }
  if (_mkdir (path) == 0)
    return 0;
  if (errno != ENOENT)
    return -1;
  /* The core's mkdir -p splits at '/', but Windows' own paths (Known
   * Folders) use '\': make a missing parent here too. */
  {
    char parent[PATH_MAX];
    char *cut;
    snprintf (parent, sizeof parent, "%s", path);
    cut = strrchr (parent, '\\');
    if (strrchr (parent, '/') > cut)
      cut = strrchr (parent, '/');
    if (cut == NULL || cut == parent)
      {
        errno = ENOENT;
        return -1;
      }
    *cut = '\0';
    if (vdvs_win_mkdir (parent) < 0 && errno != EEXIST)
      return -1;
  }
  return _mkdir (path);
}

#undef strerror
const char *
vdvs_win_strerror (int e)
{
  switch (e)
    {
    case ECONNREFUSED:
      return "Connection refused";
    case ECONNRESET:
      return "Connection reset by peer";
    case ECONNABORTED:
      return "Software caused connection abort";
    case ETIMEDOUT:
      return "Connection timed out";
    case EADDRINUSE:
      return "Address already in use";
    case EADDRNOTAVAIL:
      return "Cannot assign requested address";
    case EAFNOSUPPORT:
      return "Address family not supported by protocol";
    case EPROTONOSUPPORT:
      return "Protocol not supported";
    case EINPROGRESS:
      return "Operation now in progress";
    case EWOULDBLOCK:
      return "Resource temporarily unavailable";
    case ENETUNREACH:
      return "Network is unreachable";
    case EHOSTUNREACH:
      return "No route to host";
    case ENOTSOCK:
      return "Socket operation on non-socket";
    case ENOBUFS:
      return "No buffer space available";
    case ENOTSUP:
      return "Operation not supported";
    case EBADMSG:
      return "Bad message";
    default:
      return strerror (e);
    }
}

unsigned long
vdvs_win_thread_id (void)
{
  return GetCurrentThreadId ();
}

/* The folder of an open DIR: mingw keeps its search pattern "dir\*". */
static int
dir_join (DIR *d, const char *name, char *out, size_t len)
{
  size_t n = strlen (d->dd_name);

  if (n >= 2 && d->dd_name[n - 1] == '*')
    n--;
  if (n + strlen (name) + 1 > len)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  memcpy (out, d->dd_name, n);
  strcpy (out + n, name);
  return 0;
}

int
vdvs_win_openat (DIR *d, const char *name, int flags)
{
  char path[PATH_MAX];

  if (dir_join (d, name, path, sizeof path) < 0)
    return -1;
  return open (path, flags | O_BINARY);
}

int
vdvs_win_unlinkat (DIR *d, const char *name, int flags)
{
  char path[PATH_MAX];

  (void) flags;
  if (dir_join (d, name, path, sizeof path) < 0)
    return -1;
  return unlink (path);
}

char *
strndup (const char *s, size_t n)
{
  size_t len = strnlen (s, n);
  char *p = malloc (len + 1);

  if (p == NULL)
    return NULL;
  memcpy (p, s, len);
  p[len] = '\0';
  return p;
}

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat" };
static const char *const months[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char *
word (const char *s, const char *const *names, int n, int *out)
{
  for (int i = 0; i < n; i++)
    if (strncmp (s, names[i], 3) == 0)
      {
        *out = i;
        return s + 3;
      }
  return NULL;
}

static const char *
number (const char *s, int min, int max, int *out)
{
  long v = 0;
  int digits = 0;

  while (*s == ' ')
    s++;
  while (isdigit ((unsigned char) *s) && digits < 4)
    v = v * 10 + (*s++ - '0'), digits++;
  if (digits == 0 || v < min || v > max)
    return NULL;
  *out = (int) v;
  return s;
}

char *
strptime (const char *s, const char *fmt, struct tm *tm)
{
  int year;

  for (; *fmt != '\0' && s != NULL; fmt++)
    {
      if (*fmt != '%')
        {
          if (*fmt == ' ')
            while (*s == ' ')
              s++;
          else if (*s++ != *fmt)
            return NULL;
          continue;
        }
      switch (*++fmt)
        {
        case 'a':
          s = word (s, wdays, 7, &tm->tm_wday);
          break;
        case 'b':
          s = word (s, months, 12, &tm->tm_mon);
          break;
        case 'd':
          s = number (s, 1, 31, &tm->tm_mday);
          break;
        case 'H':
          s = number (s, 0, 23, &tm->tm_hour);
          break;
        case 'M':
          s = number (s, 0, 59, &tm->tm_min);
          break;
        case 'S':
          s = number (s, 0, 60, &tm->tm_sec);
          break;
        case 'Y':
          s = number (s, 0, 9999, &year);
          tm->tm_year = year - 1900;
          break;
        default:
          return NULL;
        }
    }
  return (char *) s;
}
