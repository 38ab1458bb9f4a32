/* The reply writer: see jsonw.h. */
#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

static bool
reserve (struct vdvs_jw *w, size_t n)
{
  size_t cap;
  char *b;

  if (w->oom)
    return false;
  if (w->len + n + 1 <= w->cap)
    return true;
  cap = w->cap ? w->cap : 256;
  while (cap < w->len + n + 1)
    cap *= 2;
  b = realloc (w->buf, cap);
  if (b == NULL)
    {
      w->oom = true;
      return false;
    }
  w->buf = b;
  w->cap = cap;
  return true;
}

static void
put (struct vdvs_jw *w, const char *s, size_t n)
{
  if (!reserve (w, n))
    return;
  memcpy (w->buf + w->len, s, n);
  w->len += n;
}

static void
put_c (struct vdvs_jw *w, char c)
{
  if (reserve (w, 1))
    w->buf[w->len++] = c;
}

static void
comma (struct vdvs_jw *w)
{
  if (w->need_comma)
    put_c (w, ',');
  w->need_comma = false;
}

/* s with cJSON's escapes: \" \\ \b \f \n \r \t, other bytes below 0x20
 * as \u00XX, everything else (UTF-8 included) as is; no quotes. */
static void
put_escaped_body (struct vdvs_jw *w, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *) s;

  for (;;)
    {
      const unsigned char *run = p;
      while (*p >= 0x20 && *p != '"' && *p != '\\')
        p++;
      put (w, (const char *) run, (size_t) (p - run));
      if (*p == '\0')
        break;
      char e[6] = { '\\', 0, 0, 0, 0, 0 };
      size_t n = 2;
      switch (*p)
        {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
          e[1] = 'u';
          e[2] = '0';
          e[3] = '0';
          e[4] = hex[*p >> 4];
          e[5] = hex[*p & 15];
          n = 6;
        }
      put (w, e, n);
      p++;
    }
}

static void
put_escaped (struct vdvs_jw *w, const char *s)
{
  put_c (w, '"');
  put_escaped_body (w, s);
  put_c (w, '"');
}

void
vdvs_jw_init (struct vdvs_jw *w, size_t hint)
{
  memset (w, 0, sizeof *w);
  reserve (w, hint ? hint : 256);
}

void
vdvs_jw_obj_begin (struct vdvs_jw *w)
{
  comma (w);
  put_c (w, '{');
}

void
vdvs_jw_obj_end (struct vdvs_jw *w)
{
  put_c (w, '}');
  w->need_comma = true;
}

void
vdvs_jw_arr_begin (struct vdvs_jw *w)
{
  comma (w);
  put_c (w, '[');
}

void
vdvs_jw_arr_end (struct vdvs_jw *w)
{
  put_c (w, ']');
  w->need_comma = true;
}

void
vdvs_jw_key (struct vdvs_jw *w, const char *key)
{
  comma (w);
  put_escaped (w, key);
  put_c (w, ':');
}

void
vdvs_jw_str (struct vdvs_jw *w, const char *s)
{
  comma (w);
  put_escaped (w, s);
  w->need_comma = true;
}

void
vdvs_jw_str2 (struct vdvs_jw *w, const char *a, const char *b)
{
  comma (w);
  put_c (w, '"');
  put_escaped_body (w, a);
  put_escaped_body (w, b);
  put_c (w, '"');
  w->need_comma = true;
}

void
vdvs_jw_kv (struct vdvs_jw *w, const char *key, const char *value)
{
  if (value == NULL)
    return;
  vdvs_jw_key (w, key);
  vdvs_jw_str (w, value);
}

char *
vdvs_jw_finish (struct vdvs_jw *w)
{
  char *out = NULL;

  if (reserve (w, 0))
    {
      w->buf[w->len] = '\0';
      out = w->buf;
      w->buf = NULL;
    }
  vdvs_jw_discard (w);
  return out;
}

void
vdvs_jw_discard (struct vdvs_jw *w)
{
  free (w->buf);
  memset (w, 0, sizeof *w);
}
