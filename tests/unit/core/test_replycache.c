/* Get replies per name and version (src/replycache.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replycache.h"

static void
fini (void)
{
  vdvs_replycache_clear ();
}

TestSuite (replycache, .fini = fini);

static void
expect (const char *name, uint64_t version, const char *reply)
{
  char *got = vdvs_replycache_find (name, version);

  if (reply == NULL)
    cr_assert_null (got, "%s@%llu: %s", name, (unsigned long long) version,
                    got);
  else
    {
      cr_assert_not_null (got, "%s@%llu missing", name,
                          (unsigned long long) version);
      cr_assert_str_eq (got, reply);
    }
  free (got);
}

Test (replycache, a_reply_is_found_under_its_version_only)
{
  expect ("v", 1, NULL);
  vdvs_replycache_store ("v", 5, "{\"a\":1}");
  expect ("v", 5, "{\"a\":1}");
  expect ("v", 4, NULL);
  expect ("v", 0, NULL);
  expect ("v@ds", 5, NULL);
  vdvs_replycache_store ("v", 6, "{\"a\":2}");
  expect ("v", 5, NULL);
  expect ("v", 6, "{\"a\":2}");
  vdvs_replycache_store ("v", 0, "{\"never\":0}");
  expect ("v", 6, "{\"a\":2}");
  cr_assert_eq (vdvs_replycache_size (), 1);
  vdvs_replycache_forget ("v");
  expect ("v", 6, NULL);
  cr_assert_eq (vdvs_replycache_size (), 0);
  vdvs_replycache_forget ("never-stored");
}

Test (replycache, many_names_and_the_bound)
{
  char name[32], reply[64];

  for (int i = 0; i < 5000; i++)
    {
      snprintf (name, sizeof name, "vol%d", i);
      snprintf (reply, sizeof reply, "{\"n\":%d}", i);
      vdvs_replycache_store (name, (uint64_t) i + 1, reply);
    }
  cr_assert_eq (vdvs_replycache_size (), 5000);
  for (int i = 0; i < 5000; i += 7)
    {
      snprintf (name, sizeof name, "vol%d", i);
      snprintf (reply, sizeof reply, "{\"n\":%d}", i);
      expect (name, (uint64_t) i + 1, reply);
    }
  /* Past the bound it starts over instead of growing. */
  for (int i = 0; i < VDVS_REPLYCACHE_MAX + 10; i++)
    {
      snprintf (name, sizeof name, "x%d", i);
      vdvs_replycache_store (name, 1, "{}");
    }
  cr_assert_leq (vdvs_replycache_size (), VDVS_REPLYCACHE_MAX);
  expect ("x0", 1, NULL);
  expect ("x32777", 1, "{}");
}

static void *
hammer (void *arg)
{
  unsigned id = (unsigned) (uintptr_t) arg;
  char name[32], reply[64];

  for (unsigned i = 0; i < 20000; i++)
    {
      unsigned k = (i * 7 + id) % 50;
      snprintf (name, sizeof name, "v%u", k);
      snprintf (reply, sizeof reply, "{\"k\":%u}", k);
      if (i % 3 == 0)
        vdvs_replycache_store (name, k + 1, reply);
      else
        {
          char *got = vdvs_replycache_find (name, k + 1);
          if (got != NULL && strcmp (got, reply) != 0)
            return (void *) 1;
          free (got);
        }
      if (i % 101 == 0)
        vdvs_replycache_forget (name);
    }
  return NULL;
}

/* Stores, finds and forgets from several threads: every reply found is
 * the one stored under that version. */
Test (replycache, concurrent_use)
{
  pthread_t t[4];
  void *r;

  for (uintptr_t i = 0; i < 4; i++)
    cr_assert_eq (pthread_create (&t[i], NULL, hammer, (void *) i), 0);
  for (int i = 0; i < 4; i++)
    {
      cr_assert_eq (pthread_join (t[i], &r), 0);
      cr_assert_null (r);
    }
}
