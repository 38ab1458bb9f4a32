/* The core's adapter over a backend: loading from the registry, version
 * check, and defaults for the optional operations. */
#include "backend_i.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vdvs/progress.h"
#include "vdvs/registry.h"

#include "config.h"

void
vdvs_backends_help (FILE *f)
{
  fputs ("\nBackends (--backend NAME, options with --backend-opt K=V):\n", f);
  for (size_t i = 0; vdvs_registry[i]; i++)
    {
      fprintf (f, "  %s: %s\n", vdvs_registry[i]->name,
               vdvs_registry[i]->description);
      if (vdvs_registry[i]->config_help)
        fputs (vdvs_registry[i]->config_help, f);
    }
}

int
vdvs_bk_load (struct vdvs_bk *b, const char *name, vdvs_error_t *err)
{
  const struct vdvs_backend *found = NULL;
  char names[256] = "";
  size_t off = 0;

  for (size_t i = 0; vdvs_registry[i]; i++)
    {
      off += (size_t) snprintf (names + off, sizeof names - off, "%s%s",
                                i ? ", " : "", vdvs_registry[i]->name);
      if (strcmp (vdvs_registry[i]->name, name) == 0)
        found = vdvs_registry[i];
    }
  if (found == NULL)
    return vdvs_error_set (err, EINVAL, "unknown backend `%s`; available: %s",
                           name, names);
  if (found->api_version != VDVS_BACKEND_API_VERSION)
    return vdvs_error_set (err, EINVAL,
                           "backend `%s` has API version %u, this vdvsd "
                           "supports %u",
                           name, found->api_version, VDVS_BACKEND_API_VERSION);
  /* Copy what the backend knows about, zero the fields added since. */
  memset (&b->ops, 0, sizeof b->ops);
  memcpy (&b->ops, found,
          found->struct_size < sizeof b->ops ? found->struct_size
                                             : sizeof b->ops);
  b->handle = NULL;
  if (!b->ops.create || !b->ops.remove || !b->ops.attach || !b->ops.detach
      || !b->ops.list || !b->ops.get)
    return vdvs_error_set (err, EINVAL,
                           "backend `%s` lacks a mandatory operation", name);
  return 0;
}

int
vdvs_bk_config (struct vdvs_bk *b, const char *key, const char *value,
                vdvs_error_t *err)
{
  if (b->ops.config == NULL)
    return vdvs_error_set (err, EINVAL,
                           "backend `%s` takes no options (got `%s`)",
                           b->ops.name, key);
  return b->ops.config (key, value, err);
}

int
vdvs_bk_open (struct vdvs_bk *b, vdvs_error_t *err)
{
  return b->ops.open ? b->ops.open (&b->handle, err) : 0;
}

int
vdvs_bk_start (struct vdvs_bk *b, const struct vdvs_config *cfg,
               vdvs_error_t *err)
{
  if (vdvs_bk_load (b, cfg->backend, err) < 0)
    return -1;
  for (size_t i = 0; i < cfg->n_backend_opts; i++)
    if (vdvs_bk_config (b, cfg->backend_opts[i].key,
                        cfg->backend_opts[i].value, err)
        < 0)
      return -1;
  if (vdvs_bk_open (b, err) < 0)
    return -1;
  vdvs_bk_set_progress (b, vdvs_progress_log, NULL);
  return 0;
}

void
vdvs_bk_close (struct vdvs_bk *b)
{
  if (b->ops.close)
    b->ops.close (b->handle);
  b->handle = NULL;
}

int
vdvs_bk_create (struct vdvs_bk *b, const char *name,
                const struct vdvs_opts *opts, vdvs_error_t *err)
{
  return b->ops.create (b->handle, name, opts, err);
}

int
vdvs_bk_remove (struct vdvs_bk *b, const char *name,
                const struct vdvs_opts *opts, vdvs_error_t *err)
{
  return b->ops.remove (b->handle, name, opts, err);
}

int
vdvs_bk_attach (struct vdvs_bk *b, const char *name, struct vdvs_device *dev,
                vdvs_error_t *err)
{
  memset (dev, 0, sizeof *dev);
  return b->ops.attach (b->handle, name, dev, err);
}

int
vdvs_bk_detach (struct vdvs_bk *b, const char *name, vdvs_error_t *err)
{
  return b->ops.detach (b->handle, name, err);
}

int
vdvs_bk_list (struct vdvs_bk *b, struct vdvs_volume_list *out,
              vdvs_error_t *err)
{
  return b->ops.list (b->handle, out, err);
}

int
vdvs_bk_get (struct vdvs_bk *b, const char *name, struct vdvs_volume_info *out,
             vdvs_error_t *err)
{
  memset (out, 0, sizeof *out);
  return b->ops.get (b->handle, name, out, err);
}

int
vdvs_bk_locate (struct vdvs_bk *b, const char *name, char *ds, size_t len,
                vdvs_error_t *err)
{
  struct vdvs_volume_info info;
  int r;

  r = vdvs_bk_get (b, name, &info, err);
  if (r == 0)
    snprintf (ds, len, "%s", info.datastore ? info.datastore : "");
  vdvs_volume_info_clear (&info);
  return r;
}

uint64_t
vdvs_bk_list_version (struct vdvs_bk *b)
{
  return b->ops.list_version ? b->ops.list_version (b->handle) : 0;
}

int
vdvs_bk_clone (struct vdvs_bk *b, const char *name, const char *source,
               const struct vdvs_opts *opts, vdvs_error_t *err)
{
  struct vdvs_opts o = { 0 };
  int r = 0;

  if (b->ops.clone)
    return b->ops.clone (b->handle, name, source, opts, err);
  /* The wire carries a clone as a create with clone-from. */
  for (size_t i = 0; i < opts->n && r == 0; i++)
    r = vdvs_opts_set (&o, opts->v[i].key, opts->v[i].value);
  if (r == 0)
    r = vdvs_opts_set (&o, "clone-from", source);
  r = r < 0 ? vdvs_error_set (err, ENOMEM, "out of memory")
            : b->ops.create (b->handle, name, &o, err);
  vdvs_opts_clear (&o);
  return r;
}

void
vdvs_bk_health (struct vdvs_bk *b, struct vdvs_backend_health *out)
{
  out->up = true;
  out->detail[0] = '\0';
  if (b->ops.health)
    b->ops.health (b->handle, out);
}

void
vdvs_bk_device_roots (struct vdvs_bk *b, struct vdvs_device_roots *out)
{
  strcpy (out->sysfs_root, "/sys");
  strcpy (out->dev_root, "/dev");
  if (b->ops.device_roots)
    b->ops.device_roots (b->handle, out);
}

void
vdvs_bk_set_progress (struct vdvs_bk *b, vdvs_progress_fn fn, void *opaque)
{
  if (b->ops.set_progress)
    b->ops.set_progress (b->handle, fn, opaque);
}
