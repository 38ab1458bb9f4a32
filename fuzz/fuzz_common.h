/* Shared helpers of the libFuzzer harnesses (fuzz/README.md). */
#ifndef VDVS_FUZZ_COMMON_H
#define VDVS_FUZZ_COMMON_H

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdvs/log.h"
#include "vdvs/types.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* A property the code under test must hold: a violation is a finding. */
#define FUZZ_CHECK(cond)                                                      \
  do                                                                          \
    {                                                                         \
      if (!(cond))                                                            \
        {                                                                     \
          fprintf (stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond,          \
                   __FILE__, __LINE__);                                       \
          abort ();                                                           \
        }                                                                     \
    }                                                                         \
  while (0)

/* Logs go nowhere: the code under test logs every refusal. */
static inline void
fuzz_quiet (void)
{
  int fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  vdvs_log_setup (VDVS_LOG_ERROR, fd);
  if (getenv ("FUZZ_VERBOSE"))
    vdvs_log_setup (VDVS_LOG_DEBUG, STDERR_FILENO);
}

/* An exact-size copy (no NUL after it): ASan sees any read past `n`. */
static inline char *
fuzz_memdup (const uint8_t *p, size_t n)
{
  char *s = malloc (n ? n : 1);
  if (s == NULL)
    abort ();
  if (n)
    memcpy (s, p, n);
  return s;
}

/* A NUL-terminated copy (what C-string APIs get). */
static inline char *
fuzz_strndup (const uint8_t *p, size_t n)
{
  char *s = malloc (n + 1);
  if (s == NULL)
    abort ();
  if (n)
    memcpy (s, p, n);
  s[n] = '\0';
  return s;
}

/* Whole string is valid UTF-8 (no overlongs, surrogates, > U+10FFFF). */
static inline bool
fuzz_utf8_valid (const char *str)
{
  const unsigned char *s = (const unsigned char *) str;
  while (*s)
    {
      uint32_t c;
      size_t len;
      if (s[0] < 0x80)
        {
          s++;
          continue;
        }
      if ((s[0] & 0xE0) == 0xC0)
        len = 2, c = s[0] & 0x1F;
      else if ((s[0] & 0xF0) == 0xE0)
        len = 3, c = s[0] & 0x0F;
      else if ((s[0] & 0xF8) == 0xF0)
        len = 4, c = s[0] & 0x07;
      else
        return false;
      for (size_t i = 1; i < len; i++)
        {
          if ((s[i] & 0xC0) != 0x80)
            return false;
          c = c << 6 | (s[i] & 0x3F);
        }
      if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800)
          || (len == 4 && c < 0x10000) || c > 0x10FFFF
          || (c >= 0xD800 && c <= 0xDFFF))
        return false;
      s += len;
    }
  return true;
}

static inline bool
fuzz_streq (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

static inline bool
fuzz_opts_eq (const struct vdvs_opts *a, const struct vdvs_opts *b)
{
  if (a->n != b->n)
    return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp (a->v[i].key, b->v[i].key) != 0
        || strcmp (a->v[i].value, b->v[i].value) != 0)
      return false;
  return true;
}

static inline bool
fuzz_opts_utf8 (const struct vdvs_opts *o)
{
  for (size_t i = 0; i < o->n; i++)
    if (!fuzz_utf8_valid (o->v[i].key) || !fuzz_utf8_valid (o->v[i].value))
      return false;
  return true;
}

/* A fresh private directory, removed at exit by the run scripts' caller
 * (harnesses create it under $FUZZ_TMP, default /dev/shm or /tmp). */
static inline void
fuzz_tmpdir (char *buf, size_t len, const char *tag)
{
  const char *base = getenv ("FUZZ_TMP");
  if (base == NULL || *base == '\0')
    base = access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf (buf, len, "%s/vdvs-fuzz-%s.XXXXXX", base, tag);
  if (mkdtemp (buf) == NULL)
    {
      perror ("mkdtemp");
      abort ();
    }
}

static inline int
fuzz_rm_one (const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  remove (path);
  return 0;
}

/* rm -rf, for the private directory at exit. */
static inline void
fuzz_rm_rf (const char *dir)
{
  nftw (dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
