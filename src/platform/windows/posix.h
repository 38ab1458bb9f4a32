/* The few POSIX calls the shared core makes that mingw-w64 lacks or spells
 * differently.  Force-included (-include) into the core and the ESX backend
 * by the Windows build only, so the shared sources carry no #ifdefs. */
#ifndef VDVS_WIN_POSIX_H
#define VDVS_WIN_POSIX_H

/* Declare the mingw functions first: the macros below rename calls only. */
#include <direct.h>
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Windows has no mode bits on folders (their ACL comes from the parent);
 * a drive ("C:", "C:/") exists, so that mkdir -p loops over '/' work,
 * and a missing parent is made (for paths spelled with '\'). */
#define mkdir(path, mode) ((void) (mode), vdvs_win_mkdir (path))
/* No symbolic links to step around in the folders the core creates. */
#define lstat(path, st) stat (path, st)
#define fsync(fd) _commit (fd)
/* Handles are not inherited; binary so that JSON files keep their bytes. */
#define O_CLOEXEC (O_NOINHERIT | O_BINARY)
/* msvcrt knows no text for the socket errno values (ECONNREFUSED...):
 * the POSIX text, as Linux users see it. */
#define strerror(e) vdvs_win_strerror (e)
#define timegm(tm) _mkgmtime (tm)
#define gettid() ((int) vdvs_win_thread_id ())

/* openat/unlinkat relative to an open folder: dirfd(d) is the DIR itself,
 * whose search pattern names the folder. */
#define dirfd(d) (d)
#define openat(d, name, flags) vdvs_win_openat (d, name, flags)
#define unlinkat(d, name, flags) vdvs_win_unlinkat (d, name, flags)

int vdvs_win_mkdir (const char *path);
const char *vdvs_win_strerror (int e);
unsigned long vdvs_win_thread_id (void);
int vdvs_win_openat (DIR *d, const char *name, int flags);
int vdvs_win_unlinkat (DIR *d, const char *name, int flags);
char *strndup (const char *s, size_t n);
/* Only what the core parses: %a %b %d %H %M %S %Y and literal characters
 * (upstream's asctime `created`). */
char *strptime (const char *s, const char *fmt, struct tm *tm);

#endif
