/* Logging: one key=value line per event, with a level. */
#ifndef VDVS_LOG_H
#define VDVS_LOG_H

#include "vdvs/attr.h"

#include <stdbool.h>

enum vdvs_log_level
{
  VDVS_LOG_ERROR,
  VDVS_LOG_WARN,
  VDVS_LOG_INFO,
  VDVS_LOG_DEBUG,
};

/* `msg` is a human sentence, `fmt` the key=value part (may be NULL).
 * Example: vdvs_log (VDVS_LOG_INFO, "Volume mounted", "name=%s refcount=%d",
 * name, n). Thread-safe. */
void vdvs_log (enum vdvs_log_level level, const char *msg, const char *fmt,
               ...) VDVS_PRINTF (3, 4);

/* Set-up, for programs. Parse "error|warn|info|debug" (case-insensitive). 0 or -1. */
int vdvs_log_level_parse (const char *s, enum vdvs_log_level *out);
/* Call once before any thread starts. fd < 0 keeps stderr. */
void vdvs_log_setup (enum vdvs_log_level level, int fd);
bool vdvs_log_enabled (enum vdvs_log_level level);

#endif
