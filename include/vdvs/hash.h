/* FNV-1a, 64 bits: the one string hash of the project.  Its values are
 * stable across runs and machines, which the emulated datastore's sidecar
 * file names and lock buckets rely on; the hash tables use it too. */
#ifndef VDVS_HASH_H
#define VDVS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The first n bytes of s. */
static inline uint64_t
vdvs_hash_n (const char *s, size_t n)
{
  uint64_t h = UINT64_C (0xcbf29ce484222325);

  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char) s[i]) * UINT64_C (0x100000001b3);
  return h;
}

/* A NUL-terminated string. */
static inline uint64_t
vdvs_hash (const char *s)
{
  return vdvs_hash_n (s, strlen (s));
}

#endif
