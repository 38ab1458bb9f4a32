/* vmdkfs fault rules: the rule table, matching an op against it and the
 * verdict.  The control language that edits the table is fault_ctl.c.
 *
 * Locking: t->lock guards the rule list, the counters in each rule, the
 * random state and the id counter.  fault_check and fault_rule_exists take
 * it; fault_rule_find, _auto_id, _append and fault_rules_remove expect
 * the caller to hold it.  nrules is atomic so an op on a table without
 * rules takes no lock. */
#include "fault.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fault_table_init (struct fault_table *t, uint64_t seed)
{
  memset (t, 0, sizeof *t);
  pthread_mutex_init (&t->lock, NULL);
  atomic_init (&t->nrules, 0);
  t->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
  t->next_id = 1;
}

void
fault_table_destroy (struct fault_table *t)
{
  struct fault_rule *r, *next;

  for (r = t->rules; r; r = next)
    {
      next = r->next;
      free (r);
    }
  t->rules = NULL;
  pthread_mutex_destroy (&t->lock);
}

/* xorshift64*: cheap and good enough to spread injections; the caller
 * holds t->lock. */
static double
rng_next (struct fault_table *t)
{
  uint64_t x = t->rng;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t->rng = x;
  return (double) ((x * 0x2545f4914f6cdd1dULL) >> 11) / (double) (1ULL << 53);
}

bool
fault_path_match (const struct fault_rule *r, const char *relpath)
{
  size_t n;

  if (r->is_ds)
    {
      n = strlen (r->pattern);
      return strncmp (relpath, r->pattern, n) == 0
             && (relpath[n] == '\0' || relpath[n] == '/');
    }
  return fnmatch (r->pattern, relpath, FNM_PATHNAME) == 0;
}

bool
fault_check (struct fault_table *t, const char *relpath, unsigned op,
             struct fault_verdict *v)
{
  struct fault_rule *r;
  struct fault_rule *stall = NULL;
  bool acted = false;

  memset (v, 0, sizeof *v);
  if (atomic_load_explicit (&t->nrules, memory_order_relaxed) == 0)
    return false;

  pthread_mutex_lock (&t->lock);
  for (r = t->rules; r; r = r->next)
    {
      if (!(r->ops & op) || !fault_path_match (r, relpath))
        continue;
      r->matched++;
      switch (r->kind)
        {
        case FAULT_READONLY:
          r->injected++;
          v->err = EROFS;
          snprintf (v->id, sizeof v->id, "%s", r->id);
          goto out;
        case FAULT_ERROR:
          if (r->trigger == 0 || r->matched <= r->after)
            break;
          if (r->rate < 1.0 && rng_next (t) >= r->rate)
            break;
          r->injected++;
          v->err = r->err;
          snprintf (v->id, sizeof v->id, "%s", r->id);
          goto out;
        case FAULT_STALL:
          if (!stall)
            stall = r;
          break;
        case FAULT_DELAY:
          r->injected++;
          if (r->ms > v->delay_ms)
            {
              v->delay_ms = r->ms;
              if (!stall)
                snprintf (v->id, sizeof v->id, "%s", r->id);
            }
          acted = true;
          break;
        }
    }
  if (stall)
    {
      stall->injected++;
      v->hold = true;
      snprintf (v->id, sizeof v->id, "%s", stall->id);
      acted = true;
    }
  pthread_mutex_unlock (&t->lock);
  return acted;

out:
  pthread_mutex_unlock (&t->lock);
  return true;
}

struct fault_rule *
fault_rule_find (struct fault_table *t, const char *id)
{
  for (struct fault_rule *r = t->rules; r; r = r->next)
    if (strcmp (r->id, id) == 0)
      return r;
  return NULL;
}

bool
fault_rule_exists (struct fault_table *t, const char *id)
{
  bool found;

  pthread_mutex_lock (&t->lock);
  found = fault_rule_find (t, id) != NULL;
  pthread_mutex_unlock (&t->lock);
  return found;
}

void
fault_rule_auto_id (struct fault_table *t, struct fault_rule *r)
{
  do
    snprintf (r->id, sizeof r->id, "f%u", t->next_id++);
  while (fault_rule_find (t, r->id));
}

void
fault_rule_append (struct fault_table *t, struct fault_rule *r)
{
  struct fault_rule **p = &t->rules;

  while (*p)
    p = &(*p)->next;
  *p = r;
  atomic_fetch_add (&t->nrules, 1);
}

int
fault_rules_remove (struct fault_table *t,
                    bool (*pred) (const struct fault_rule *, const void *),
                    const void *arg, bool *stall_removed)
{
  struct fault_rule **p = &t->rules, *r;
  int n = 0;

  while ((r = *p))
    {
      if (pred (r, arg))
        {
          *p = r->next;
          if (r->kind == FAULT_STALL)
            *stall_removed = true;
          free (r);
          atomic_fetch_sub (&t->nrules, 1);
          n++;
        }
      else
        p = &r->next;
    }
  return n;
}
