/* Volume sizes as upstream writes them in the `size` option: "10gb",
 * "200MB", "2TB".  One parser for vdvsd and the mock backend. */
#ifndef VDVS_SIZE_H
#define VDVS_SIZE_H

#include <stdint.h>

/* Parse an upstream size into MiB: size[:-2] all ASCII digits, size[-2:]
 * mb, gb or tb in any case (reference §3.1, `size`).  0, or -1 with *mb
 * untouched when it is not one, or when its byte count would not fit an
 * off_t (more than 2^43 - 1 MiB). */
int vdvs_size_parse_mb (const char *s, uint64_t *mb);

#endif
