/* KEY=VALUE words of `vdvsctl set/create/clone`: see vdvsctl.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/error.h"
#include "vdvs/types.h"

#include "vdvsctl.h"

static int
add_one (const char *item, size_t len, struct vdvs_opts *o, vdvs_error_t *err)
{
  const char *eq = memchr (item, '=', len);
  char *key;
  int r;

  if (eq == NULL || eq == item)
    return vdvs_error_set (err, EINVAL,
                           "Bad option `%.*s`: expected KEY=VALUE", (int) len,
                           item);
  if ((key = strndup (item, (size_t) (eq - item))) == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  if (vdvs_opts_get (o, key) != NULL)
    r = vdvs_error_set (err, EINVAL, "Option `%s` given twice", key);
  else
    {
      char *value = strndup (eq + 1, len - (size_t) (eq + 1 - item));
      r = value == NULL || vdvs_opts_set (o, key, value) < 0
              ? vdvs_error_set (err, ENOMEM, "out of memory")
              : 0;
      free (value);
    }
  free (key);
  return r;
}

int
vdvsctl_parse_opts (const char *const *words, size_t n, bool split,
                    struct vdvs_opts *o, vdvs_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      const char *w = words[i];
      if (!split)
        {
          if (add_one (w, strlen (w), o, err) < 0)
            return -1;
          continue;
        }
      /* Upstream drops every blank of --options before splitting. */
      char *flat = malloc (strlen (w) + 1), *item, *save = NULL;
      size_t k = 0;
      if (flat == NULL)
        return vdvs_error_set (err, ENOMEM, "out of memory");
      for (const char *c = w; *c; c++)
        if (*c != ' ' && *c != '\t')
          flat[k++] = *c;
      flat[k] = '\0';
      for (item = strtok_r (flat, ",", &save); item != NULL;
           item = strtok_r (NULL, ",", &save))
        if (add_one (item, strlen (item), o, err) < 0)
          {
            free (flat);
            return -1;
          }
      free (flat);
    }
  return 0;
}
