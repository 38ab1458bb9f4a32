/* Scope-bound cleanup for locals (__attribute__((cleanup))), crun style.
 * Hand ownership out explicitly: `ret = fd; fd = -1; return ret;`. */
#ifndef VDVS_CLEANUP_H
#define VDVS_CLEANUP_H

#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vdvs/error.h"
#include "vdvs/types.h"

static inline void
cleanup_freep (void *p)
{
  free (*(void **) p);
}
static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}
static inline void
cleanup_filep (FILE **f)
{
  if (*f)
    fclose (*f);
}
static inline void
cleanup_dirp (DIR **d)
{
  if (*d)
    closedir (*d);
}
static inline void
cleanup_cjsonp (cJSON **j)
{
  cJSON_Delete (*j);
}
static inline void
cleanup_unlockp (pthread_mutex_t **m)
{
  if (*m)
    pthread_mutex_unlock (*m);
}

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))
#define cleanup_cjson __attribute__ ((cleanup (cleanup_cjsonp)))
#define cleanup_error __attribute__ ((cleanup (vdvs_error_release)))
#define cleanup_opts __attribute__ ((cleanup (vdvs_opts_clear)))
#define cleanup_info __attribute__ ((cleanup (vdvs_volume_info_clear)))
#define cleanup_list __attribute__ ((cleanup (vdvs_volume_list_clear)))

#define VDVS_CONCAT_(a, b) a##b
#define VDVS_CONCAT(a, b) VDVS_CONCAT_ (a, b)
/* Hold `m` until the end of the enclosing scope. */
#define ACQUIRE_LOCK_FOR_CURRENT_SCOPE(m)                                     \
  __attribute__ ((cleanup (cleanup_unlockp))) pthread_mutex_t *               \
  VDVS_CONCAT (_lock_, __LINE__) = (pthread_mutex_lock (m), (m))

#endif
