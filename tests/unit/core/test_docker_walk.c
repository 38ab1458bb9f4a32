/* The container walk of restart recovery (src/docker_walk.c), shared by
 * the Linux and Windows engine clients: which mounts reach the callback,
 * with which creation time and `started`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "docker.h"

static char seen[1024];

static void
cb (const char *name, const char *source, const char *driver,
    long long created, bool started, void *opaque)
{
  size_t n = strlen (seen);
  (void) opaque;
  snprintf (seen + n, sizeof seen - n, "%s%s|%s|%s|%lld|%d", n ? " " : "",
            name, source, driver, created, started);
}

Test (docker_walk, volume_mounts_with_age_and_state)
{
  static const char json[] =
      "[{\"Id\":\"a\",\"Created\":1700000000,\"State\":\"running\","
      "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"v1\",\"Source\":\"\","
      "\"Driver\":\"vsphere\"},{\"Type\":\"bind\",\"Source\":\"/x\"}]},"
      "{\"Id\":\"b\",\"Created\":-5,\"State\":\"created\","
      "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"v2\",\"Driver\":"
      "\"vsphere:latest\",\"Source\":\"/mnt/vmdk/v2@ds\"}]},"
      "{\"Id\":\"c\",\"Mounts\":[{\"Type\":\"volume\",\"Name\":7}]},"
      "{\"Id\":\"d\"}]";
  vdvs_error_t err = NULL;

  seen[0] = '\0';
  cr_assert_eq (vdvs_docker_walk (json, strlen (json), cb, NULL, &err), 0);
  cr_assert_str_eq (seen, "v1||vsphere|1700000000|1 "
                          "v2|/mnt/vmdk/v2@ds|vsphere:latest|0|0 "
                          "|||0|1");
}

Test (docker_walk, anything_but_an_array_is_an_error)
{
  static const char *const bad[] = { "", "{}", "[1,", "null", "<html>" };
  vdvs_error_t err = NULL;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      seen[0] = '\0';
      cr_assert_lt (vdvs_docker_walk (bad[i], strlen (bad[i]), cb, NULL, &err),
                    0, "%s", bad[i]);
      cr_assert_str_eq (err->msg, "Docker engine sent a container list that "
                                  "is not a JSON array");
      vdvs_error_release (&err);
      cr_assert_str_eq (seen, "");
    }
}
