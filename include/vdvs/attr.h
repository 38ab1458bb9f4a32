/* Compiler attributes shared by the headers of include/vdvs. */
#ifndef VDVS_ATTR_H
#define VDVS_ATTR_H

/* printf-style format checking.  On mingw, GCC's "printf" means the
 * Microsoft runtime's rules (no %zu); the Windows build uses mingw's C99
 * printf, which _GNU_SOURCE selects, hence gnu_printf there. */
#ifdef __MINGW32__
#define VDVS_PRINTF(fmt, args) __attribute__ ((format (gnu_printf, fmt, args)))
#else
#define VDVS_PRINTF(fmt, args) __attribute__ ((format (printf, fmt, args)))
#endif

#endif
