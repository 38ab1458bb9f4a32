/* Logging set-up for programs; vdvs_log itself is declared in backend.h. */
#ifndef VDVS_LOG_H
#define VDVS_LOG_H

#include "backend.h"

/* Parse "error|warn|info|debug" (case-insensitive). 0 or -1. */
int vdvs_log_level_parse (const char *s, enum vdvs_log_level *out);
/* Call once before any thread starts. fd < 0 keeps stderr. */
void vdvs_log_setup (enum vdvs_log_level level, int fd);
bool vdvs_log_enabled (enum vdvs_log_level level);

#endif
