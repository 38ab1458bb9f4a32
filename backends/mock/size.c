/* Sizes as the upstream service renders them (parsing: vdvs/size.h). */
#include "mock_i.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
mock_size_render (uint64_t bytes, char *buf, size_t len)
{
  if (bytes < 1024)
    snprintf (buf, len, "%" PRIu64, bytes);
  else if (bytes < 1024 * 1024)
    snprintf (buf, len, "%" PRIu64 "KB", bytes / 1024);
  else if (bytes < UINT64_C (1024) * 1024 * 1024)
    snprintf (buf, len, "%" PRIu64 "MB", bytes / (1024 * 1024));
  else
    snprintf (buf, len, "%" PRIu64 "GB",
              bytes / (UINT64_C (1024) * 1024 * 1024));
}
