/* The engine's container list, walked for recovery (docker.h): shared by
 * the Linux client (docker.c) and the Windows one (platform/windows). */
#include "docker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

int
vdvs_docker_walk (const char *json, size_t len,
                  void (*fn) (const char *, const char *, const char *,
                              long long, bool, void *),
                  void *opaque, vdvs_error_t *err)
{
  cJSON *j = cJSON_ParseWithLength (json, len), *ct, *m;

  if (!cJSON_IsArray (j))
    {
      cJSON_Delete (j);
      return vdvs_error_set (err, EPROTO,
                             "Docker engine sent a container list that is not "
                             "a JSON array");
    }
  cJSON_ArrayForEach (ct, j)
    {
      const cJSON *cr = cJSON_GetObjectItemCaseSensitive (ct, "Created");
      const cJSON *st = cJSON_GetObjectItemCaseSensitive (ct, "State");
      bool started = !cJSON_IsString (st)
                     || strcmp (st->valuestring, "created") != 0;
      long long created = cJSON_IsNumber (cr) && cr->valuedouble > 0
                                  && cr->valuedouble < 1e15
                              ? (long long) cr->valuedouble
                              : 0;
      cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive (ct, "Mounts"))
        {
          const cJSON *type = cJSON_GetObjectItemCaseSensitive (m, "Type");
          const cJSON *name = cJSON_GetObjectItemCaseSensitive (m, "Name");
          const cJSON *src = cJSON_GetObjectItemCaseSensitive (m, "Source");
          const cJSON *drv = cJSON_GetObjectItemCaseSensitive (m, "Driver");
          if (cJSON_IsString (type)
              && strcmp (type->valuestring, "volume") == 0)
            fn (cJSON_IsString (name) ? name->valuestring : "",
                cJSON_IsString (src) ? src->valuestring : "",
                cJSON_IsString (drv) ? drv->valuestring : "", created, started,
                opaque);
        }
    }
  cJSON_Delete (j);
  return 0;
}
