/* A Windows error code as text, for the messages users read. */
#ifndef VDVS_WIN_WINERR_H
#define VDVS_WIN_WINERR_H

#include <stddef.h>

/* FormatMessage's text for `e` without its trailing newline and period,
 * or "Windows error N" when it has none; written into buf[len] and
 * returned. */
const char *vdvs_win_error_text (unsigned long e, char *buf, size_t len);

#endif
