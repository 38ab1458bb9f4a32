/* A small JSON writer for the hot replies (Get, List, Path): appends to
 * one growing buffer, no tree, escaping as cJSON_PrintUnformatted does
 * (so the bytes are those of the cJSON replies it replaces).
 *
 * Ownership: the buffer belongs to the writer until vdvs_jw_finish hands
 * it to the caller (free it); vdvs_jw_discard frees it instead.  Out of
 * memory is sticky: the writer stops writing and vdvs_jw_finish returns
 * NULL.  Not thread-safe: one writer per reply.
 *
 * Commas are placed by the writer: a value (or a key) after another value
 * at the same level gets one.
 */
#ifndef VDVS_JSONW_H
#define VDVS_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct vdvs_jw
{
  char *buf;
  size_t len, cap;
  bool oom;
  bool need_comma; /* a value was written at the current level */
};

/* Start with room for `hint` bytes (0: a default). */
void vdvs_jw_init (struct vdvs_jw *w, size_t hint);
void vdvs_jw_obj_begin (struct vdvs_jw *w);
void vdvs_jw_obj_end (struct vdvs_jw *w);
void vdvs_jw_arr_begin (struct vdvs_jw *w);
void vdvs_jw_arr_end (struct vdvs_jw *w);
/* "key": (the key is escaped too). */
void vdvs_jw_key (struct vdvs_jw *w, const char *key);
/* A string value, escaped. */
void vdvs_jw_str (struct vdvs_jw *w, const char *s);
/* One string value made of a then b (both escaped), no copy needed. */
void vdvs_jw_str2 (struct vdvs_jw *w, const char *a, const char *b);
/* "key":"value"; nothing at all when value is NULL. */
void vdvs_jw_kv (struct vdvs_jw *w, const char *key, const char *value);
/* The NUL-terminated text, owned by the caller; NULL after out of memory. */
char *vdvs_jw_finish (struct vdvs_jw *w);
void vdvs_jw_discard (struct vdvs_jw *w);

#endif
