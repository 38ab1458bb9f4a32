/* The `fault ...` control language: parse a line into a change of the
 * rule table (add, delay, stall, release, readonly, trigger, clear) and
 * print the table (list).  The rules themselves are fault.c.
 *
 * Locking: each verb holds t->lock while it reads or changes the table,
 * and calls the release hook after dropping it. */
#include "fault_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"

#define MAX_WORDS 16

struct words
{
  int n;
  char *w[MAX_WORDS];
};

/* Split in place on blanks; returns -EINVAL when there are too many. */
static int
split_words (char *s, struct words *out)
{
  char *save = NULL, *tok;

  out->n = 0;
  for (tok = strtok_r (s, " \t\r\n", &save); tok;
       tok = strtok_r (NULL, " \t\r\n", &save))
    {
      if (out->n == MAX_WORDS)
        return -EINVAL;
      out->w[out->n++] = tok;
    }
  return 0;
}

/* Value of key=... among words[from..], NULL if absent; each key may be
 * given once. */
static const char *
word_value (const struct words *ws, int from, const char *key)
{
  size_t n = strlen (key);

  for (int i = from; i < ws->n; i++)
    if (strncmp (ws->w[i], key, n) == 0 && ws->w[i][n] == '=')
      return ws->w[i] + n + 1;
  return NULL;
}

static int reply_printf (char **reply, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
reply_printf (char **reply, const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  free (*reply);
  *reply = s;
  return 0;
}

static int fail (char **reply, int err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
fail (char **reply, int err, const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  free (*reply);
  *reply = s;
  return -err;
}

static int
parse_ops (const char *s, unsigned *out)
{
  char buf[64];
  char *save = NULL, *tok;
  unsigned ops = 0;

  if (strlen (s) >= sizeof buf)
    return -EINVAL;
  strcpy (buf, s);
  for (tok = strtok_r (buf, ",|+", &save); tok;
       tok = strtok_r (NULL, ",|+", &save))
    {
      if (strcmp (tok, "read") == 0)
        ops |= FAULT_OP_READ;
      else if (strcmp (tok, "write") == 0)
        ops |= FAULT_OP_WRITE;
      else if (strcmp (tok, "rw") == 0)
        ops |= FAULT_OP_READ | FAULT_OP_WRITE;
      else if (strcmp (tok, "fsync") == 0)
        ops |= FAULT_OP_FSYNC;
      else if (strcmp (tok, "meta") == 0)
        ops |= FAULT_OP_META;
      else if (strcmp (tok, "all") == 0)
        ops |= FAULT_OP_ALL;
      else
        return -EINVAL;
    }
  if (ops == 0)
    return -EINVAL;
  *out = ops;
  return 0;
}

static const char *
ops_name (unsigned ops, char *buf, size_t len)
{
  static const char *const names[] = { "read", "write", "fsync", "meta" };
  size_t used = 0;

  if (ops == FAULT_OP_ALL)
    return "all";
  if (ops == (FAULT_OP_READ | FAULT_OP_WRITE))
    return "rw";
  buf[0] = '\0';
  for (unsigned i = 0; i < 4; i++)
    if (ops & (1u << i))
      used += snprintf (buf + used, len - used, "%s%s", used ? "," : "",
                        names[i]);
  return buf;
}

static const char *
kind_name (enum fault_kind k)
{
  switch (k)
    {
    case FAULT_ERROR:
      return "error";
    case FAULT_DELAY:
      return "delay";
    case FAULT_READONLY:
      return "readonly";
    case FAULT_STALL:
      return "stall";
    }
  return "?";
}

static int
parse_onoff (const char *s)
{
  if (strcmp (s, "on") == 0 || strcmp (s, "1") == 0 || strcmp (s, "true") == 0)
    return 1;
  if (strcmp (s, "off") == 0 || strcmp (s, "0") == 0
      || strcmp (s, "false") == 0)
    return 0;
  return -1;
}

static bool
known_key (const char *word, const char *const *keys)
{
  const char *eq = strchr (word, '=');

  if (!eq)
    return false;
  for (; *keys; keys++)
    if (strlen (*keys) == (size_t) (eq - word)
        && strncmp (word, *keys, eq - word) == 0)
      return true;
  return false;
}

/* Common part of add/delay/stall/readonly: id and target.  Fills r. */
static int
parse_target (struct fault_table *t, const struct words *ws,
              struct fault_rule *r, char **reply)
{
  const char *id = word_value (ws, 1, "id");
  const char *path = word_value (ws, 1, "path");
  const char *ds = word_value (ws, 1, "ds");

  if ((path == NULL) == (ds == NULL))
    return fail (reply, EINVAL, "exactly one of path= or ds= is required");
  if (path)
    {
      while (path[0] == '/')
        path++;
      if (!*path || strlen (path) >= sizeof r->pattern)
        return fail (reply, EINVAL, "bad path=");
      strcpy (r->pattern, path);
    }
  else
    {
      if (!*ds || strchr (ds, '/') || strlen (ds) >= sizeof r->pattern)
        return fail (reply, EINVAL, "bad ds=");
      strcpy (r->pattern, ds);
      r->is_ds = true;
    }
  if (id)
    {
      if (!*id || strlen (id) >= sizeof r->id || strpbrk (id, "= \t"))
        return fail (reply, EINVAL, "bad id=");
      if (fault_rule_find (t, id))
        return fail (reply, EEXIST, "rule %s already exists", id);
      strcpy (r->id, id);
    }
  else
    fault_rule_auto_id (t, r);
  return 0;
}

/* Parse the kind-specific keys of an add/delay/stall line. */
static int
parse_rule (struct fault_table *t, const struct words *ws,
            enum fault_kind kind, struct fault_rule *r, char **reply)
{
  static const char *const error_keys[] = { "id",    "path",    "ds",
                                            "op",    "errno",   "rate",
                                            "after", "trigger", NULL };
  static const char *const delay_keys[] = { "id", "path", "ds",
                                            "op", "ms",   NULL };
  static const char *const stall_keys[] = { "id", "path", "ds", "op", NULL };
  const char *const *keys = kind == FAULT_ERROR   ? error_keys
                            : kind == FAULT_DELAY ? delay_keys
                                                  : stall_keys;
  const char *v;
  char *end;
  int ret;

  for (int i = 1; i < ws->n; i++)
    if (!known_key (ws->w[i], keys))
      return fail (reply, EINVAL, "unexpected `%s'", ws->w[i]);
  memset (r, 0, sizeof *r);
  r->kind = kind;
  r->rate = 1.0;
  r->trigger = -1;
  r->ops = kind == FAULT_STALL
               ? FAULT_OP_READ | FAULT_OP_WRITE | FAULT_OP_FSYNC
               : FAULT_OP_READ | FAULT_OP_WRITE;
  ret = parse_target (t, ws, r, reply);
  if (ret < 0)
    return ret;
  if ((v = word_value (ws, 1, "op")) && parse_ops (v, &r->ops) < 0)
    return fail (reply, EINVAL, "bad op=%s (read|write|rw|fsync|meta|all)", v);
  if (kind == FAULT_ERROR)
    {
      if (!(v = word_value (ws, 1, "errno")))
        return fail (reply, EINVAL, "errno= is required");
      if ((r->err = vmdkfs_errno_parse (v)) < 0)
        return fail (reply, EINVAL, "bad errno=%s", v);
      if ((v = word_value (ws, 1, "rate")))
        {
          errno = 0;
          r->rate = strtod (v, &end);
          if (errno || end == v || (*end && strcmp (end, "%") != 0))
            return fail (reply, EINVAL, "bad rate=%s", v);
          if (*end == '%')
            r->rate /= 100.0;
          if (!(r->rate > 0.0 && r->rate <= 1.0))
            return fail (reply, EINVAL,
                         "rate must be in (0, 1] or (0%%, 100%%]");
        }
      if ((v = word_value (ws, 1, "after")))
        {
          errno = 0;
          r->after = strtoull (v, &end, 10);
          if (errno || end == v || *end || v[0] == '-')
            return fail (reply, EINVAL, "bad after=%s", v);
        }
      if ((v = word_value (ws, 1, "trigger"))
          && (r->trigger = parse_onoff (v)) < 0)
        return fail (reply, EINVAL, "bad trigger=%s (on|off)", v);
    }
  else if (kind == FAULT_DELAY)
    {
      if (!(v = word_value (ws, 1, "ms")))
        return fail (reply, EINVAL, "ms= is required");
      errno = 0;
      unsigned long ms = strtoul (v, &end, 10);
      if (errno || end == v || *end || v[0] == '-' || ms == 0 || ms > 600000)
        return fail (reply, EINVAL, "bad ms=%s (1..600000)", v);
      r->ms = (unsigned) ms;
    }
  return 0;
}

static int
cmd_add (struct fault_table *t, const struct words *ws, enum fault_kind kind,
         char **reply)
{
  struct fault_rule *r = malloc (sizeof *r);
  int ret;

  if (!r)
    return fail (reply, ENOMEM, "out of memory");
  pthread_mutex_lock (&t->lock);
  ret = parse_rule (t, ws, kind, r, reply);
  if (ret == 0)
    {
      fault_rule_append (t, r);
      reply_printf (reply, "id=%s\n", r->id);
    }
  pthread_mutex_unlock (&t->lock);
  if (ret < 0)
    free (r);
  return ret;
}

static bool
pred_all (const struct fault_rule *r, const void *arg)
{
  (void) r;
  (void) arg;
  return true;
}

static bool
pred_id (const struct fault_rule *r, const void *arg)
{
  return strcmp (r->id, (const char *) arg) == 0;
}

static bool
pred_stall (const struct fault_rule *r, const void *arg)
{
  return r->kind == FAULT_STALL && (!arg || strcmp (r->id, arg) == 0);
}

static bool
pred_readonly_ds (const struct fault_rule *r, const void *arg)
{
  return r->kind == FAULT_READONLY && strcmp (r->pattern, arg) == 0;
}

/* First bare word or id=... after the verb. */
static const char *
id_arg (const struct words *ws)
{
  const char *v = word_value (ws, 1, "id");

  if (v)
    return v;
  for (int i = 1; i < ws->n; i++)
    if (!strchr (ws->w[i], '='))
      return ws->w[i];
  return NULL;
}

static int
cmd_clear (struct fault_table *t, const struct words *ws, bool stall_only,
           char **reply)
{
  const char *id = id_arg (ws);
  bool stall_removed = false;
  int n;

  pthread_mutex_lock (&t->lock);
  if (stall_only)
    n = fault_rules_remove (t, pred_stall, id, &stall_removed);
  else
    n = fault_rules_remove (t, id ? pred_id : pred_all, id, &stall_removed);
  pthread_mutex_unlock (&t->lock);
  if (id && n == 0)
    return fail (reply, ENOENT, "no %srule %s", stall_only ? "stall " : "",
                 id);
  if (stall_removed && t->on_release)
    t->on_release (t->release_opaque, id);
  reply_printf (reply, "removed=%d\n", n);
  return 0;
}

static int
cmd_readonly (struct fault_table *t, const struct words *ws, char **reply)
{
  static const char *const keys[] = { "id", "ds", "state", NULL };
  const char *ds = word_value (ws, 1, "ds");
  const char *state = word_value (ws, 1, "state");
  struct fault_rule *r;
  bool unused = false;
  int on = -1, n;

  for (int i = 1; i < ws->n; i++)
    {
      if (!strchr (ws->w[i], '='))
        {
          if (state || (on = parse_onoff (ws->w[i])) < 0)
            return fail (reply, EINVAL, "unexpected `%s'", ws->w[i]);
          state = ws->w[i];
        }
      else if (!known_key (ws->w[i], keys))
        return fail (reply, EINVAL, "unexpected `%s'", ws->w[i]);
    }
  if (state && on < 0 && (on = parse_onoff (state)) < 0)
    return fail (reply, EINVAL, "bad state `%s' (on|off)", state);
  if (!ds || !*ds || strchr (ds, '/') || strlen (ds) >= FAULT_PATTERN_MAX)
    return fail (reply, EINVAL, "readonly needs ds=DATASTORE");
  if (on < 0)
    return fail (reply, EINVAL, "readonly needs on or off");

  pthread_mutex_lock (&t->lock);
  if (!on)
    {
      n = fault_rules_remove (t, pred_readonly_ds, ds, &unused);
      pthread_mutex_unlock (&t->lock);
      return reply_printf (reply, "removed=%d\n", n);
    }
  for (r = t->rules; r; r = r->next)
    if (r->kind == FAULT_READONLY && strcmp (r->pattern, ds) == 0)
      {
        pthread_mutex_unlock (&t->lock);
        return reply_printf (reply, "id=%s\n", r->id);
      }
  r = calloc (1, sizeof *r);
  if (!r)
    {
      pthread_mutex_unlock (&t->lock);
      return fail (reply, ENOMEM, "out of memory");
    }
  r->kind = FAULT_READONLY;
  r->is_ds = true;
  r->ops = FAULT_OP_WRITE | FAULT_OP_META;
  r->trigger = -1;
  r->rate = 1.0;
  strcpy (r->pattern, ds);
  const char *id = word_value (ws, 1, "id");
  if (id && (strlen (id) >= sizeof r->id || fault_rule_find (t, id)))
    {
      pthread_mutex_unlock (&t->lock);
      free (r);
      return fail (reply, EEXIST, "bad or duplicate id=%s", id);
    }
  if (id)
    strcpy (r->id, id);
  else
    snprintf (r->id, sizeof r->id, "readonly-%.*s", (int) sizeof r->id - 10,
              ds);
  fault_rule_append (t, r);
  pthread_mutex_unlock (&t->lock);
  return reply_printf (reply, "id=%s\n", r->id);
}

static int
cmd_trigger (struct fault_table *t, const struct words *ws, char **reply)
{
  const char *id = word_value (ws, 1, "id");
  const char *state = NULL;
  struct fault_rule *r;
  int on;

  for (int i = 1; i < ws->n; i++)
    if (!strchr (ws->w[i], '='))
      {
        if (!id)
          id = ws->w[i];
        else if (!state)
          state = ws->w[i];
        else
          return fail (reply, EINVAL, "unexpected `%s'", ws->w[i]);
      }
  if (!state)
    state = word_value (ws, 1, "state");
  if (!id || !state || (on = parse_onoff (state)) < 0)
    return fail (reply, EINVAL, "usage: fault trigger ID on|off");
  pthread_mutex_lock (&t->lock);
  r = fault_rule_find (t, id);
  if (r && r->kind == FAULT_ERROR)
    r->trigger = on;
  pthread_mutex_unlock (&t->lock);
  if (!r)
    return fail (reply, ENOENT, "no rule %s", id);
  if (r->kind != FAULT_ERROR)
    return fail (reply, EINVAL, "rule %s is not an error rule", id);
  return reply_printf (reply, "id=%s trigger=%s\n", id, on ? "on" : "off");
}

static int
cmd_list (struct fault_table *t, char **reply)
{
  char *buf = NULL, opsbuf[48];
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  if (!f)
    return fail (reply, ENOMEM, "out of memory");
  pthread_mutex_lock (&t->lock);
  for (struct fault_rule *r = t->rules; r; r = r->next)
    {
      fprintf (f, "id=%s kind=%s %s=%s op=%s", r->id, kind_name (r->kind),
               r->is_ds ? "ds" : "path", r->pattern,
               ops_name (r->ops, opsbuf, sizeof opsbuf));
      if (r->kind == FAULT_ERROR)
        fprintf (f, " errno=%s rate=%g after=%" PRIu64 " trigger=%s",
                 vmdkfs_errno_name (r->err), r->rate, r->after,
                 r->trigger < 0 ? "none"
                 : r->trigger   ? "on"
                                : "off");
      if (r->kind == FAULT_DELAY)
        fprintf (f, " ms=%u", r->ms);
      fprintf (f, " matched=%" PRIu64 " injected=%" PRIu64 "\n", r->matched,
               r->injected);
    }
  pthread_mutex_unlock (&t->lock);
  if (fclose (f) != 0)
    {
      free (buf);
      return fail (reply, ENOMEM, "out of memory");
    }
  free (*reply);
  *reply = buf;
  return 0;
}

int
fault_control (struct fault_table *t, const char *args, char **reply)
{
  struct words ws;
  char *copy;
  int ret;

  *reply = NULL;
  copy = strdup (args);
  if (!copy)
    return fail (reply, ENOMEM, "out of memory");
  if (split_words (copy, &ws) < 0)
    ret = fail (reply, EINVAL, "too many words");
  else if (ws.n == 0)
    ret =
        fail (reply, EINVAL,
              "usage: fault add|delay|stall|release|readonly|trigger|clear|list");
  else if (strcmp (ws.w[0], "add") == 0)
    ret = cmd_add (t, &ws, FAULT_ERROR, reply);
  else if (strcmp (ws.w[0], "delay") == 0)
    ret = cmd_add (t, &ws, FAULT_DELAY, reply);
  else if (strcmp (ws.w[0], "stall") == 0)
    ret = cmd_add (t, &ws, FAULT_STALL, reply);
  else if (strcmp (ws.w[0], "release") == 0)
    ret = cmd_clear (t, &ws, true, reply);
  else if (strcmp (ws.w[0], "clear") == 0 || strcmp (ws.w[0], "remove") == 0)
    ret = cmd_clear (t, &ws, false, reply);
  else if (strcmp (ws.w[0], "readonly") == 0)
    ret = cmd_readonly (t, &ws, reply);
  else if (strcmp (ws.w[0], "trigger") == 0)
    ret = cmd_trigger (t, &ws, reply);
  else if (strcmp (ws.w[0], "list") == 0)
    ret = cmd_list (t, reply);
  else
    ret = fail (reply, EINVAL, "unknown fault verb `%s'", ws.w[0]);
  free (copy);
  return ret;
}
