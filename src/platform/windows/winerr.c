/* Windows error texts: see winerr.h. */
#include "winerr.h"

#include <stdio.h>
#include <windows.h>

const char *
vdvs_win_error_text (unsigned long e, char *buf, size_t len)
{
  DWORD n = FormatMessageA (FORMAT_MESSAGE_FROM_SYSTEM
                                | FORMAT_MESSAGE_IGNORE_INSERTS,
                            NULL, e, 0, buf, (DWORD) len, NULL);
  while (n > 0
         && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.'))
    buf[--n] = '\0';
  if (n == 0)
    snprintf (buf, len, "Windows error %lu", e);
  return buf;
}
