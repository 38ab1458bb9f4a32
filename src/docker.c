/* Docker engine API client over its unix socket, with libcurl. */
#include "docker.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct body
{
  char *data;
  size_t len;
};

static size_t
on_data (char *ptr, size_t size, size_t nmemb, void *opaque)
{
  struct body *b = opaque;
  size_t n = size * nmemb;
  char *d;

  if (b->len + n > 64 * 1024 * 1024)
    return 0; /* absurd answer: abort */
  d = realloc (b->data, b->len + n + 1);
  if (d == NULL)
    return 0;
  memcpy (d + b->len, ptr, n);
  b->data = d;
  b->len += n;
  d[b->len] = '\0';
  return n;
}

int
vdvs_docker_mounts (const char *socket_path,
                    void (*fn) (const char *, const char *, const char *,
                                long long, bool, void *),
                    void *opaque, vdvs_error_t *err)
{
  /* API 1.24 is the oldest the engine still serves and has Mounts. */
  static const char url[] =
      "http://localhost/v1.24/containers/"
      "json?all=1&filters=%7B%22status%22%3A%5B%22running%22%2C%22paused%22"
      "%2C%22restarting%22%2C%22created%22%5D%7D";
  struct body b = { 0 };
  CURL *c = curl_easy_init ();
  CURLcode rc;
  long status = 0;
  cJSON *j, *ct, *m;

  if (c == NULL)
    return vdvs_error_set (err, ENOMEM, "curl_easy_init failed");
  curl_easy_setopt (c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (c);
  if (rc != CURLE_OK || status != 200)
    {
      free (b.data);
      return vdvs_error_set (err, EHOSTUNREACH,
                             "Docker engine at `%s` not answering: %s (HTTP %ld)",
                             socket_path, curl_easy_strerror (rc), status);
    }
  j = cJSON_ParseWithLength (b.data ? b.data : "", b.len);
  free (b.data);
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
