/* Docker engine API client over its unix socket, with libcurl. */
#include "docker.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

  if (b->len + n > VDVS_DOCKER_MAX_REPLY)
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
  static const char url[] = "http://localhost" VDVS_DOCKER_CONTAINERS_PATH;
  struct body b = { 0 };
  CURL *c = curl_easy_init ();
  CURLcode rc;
  long status = 0;
  int r;

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
  r = vdvs_docker_walk (b.data ? b.data : "", b.len, fn, opaque, err);
  free (b.data);
  return r;
}

bool
vdvs_docker_present (const char *address)
{
  return access (address, F_OK) == 0;
}
