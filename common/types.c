/* Helpers for the typed structs of include/vdvs/types.h. */
#include "vdvs/types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
vdvs_opts_set (struct vdvs_opts *o, const char *key, const char *value)
{
  size_t i;
  char *v = strdup (value);

  if (v == NULL)
    return -ENOMEM;
  for (i = 0; i < o->n; i++)
    {
      int c = strcmp (o->v[i].key, key);
      if (c == 0)
        {
          free (o->v[i].value);
          o->v[i].value = v;
          return 0;
        }
      if (c > 0)
        break;
    }
  struct vdvs_opt *nv = realloc (o->v, (o->n + 1) * sizeof *nv);
  char *k = strdup (key);
  if (nv == NULL || k == NULL)
    {
      free (k);
      free (v);
      if (nv != NULL)
        o->v = nv;
      return -ENOMEM;
    }
  o->v = nv;
  memmove (&o->v[i + 1], &o->v[i], (o->n - i) * sizeof *nv);
  o->v[i].key = k;
  o->v[i].value = v;
  o->n++;
  return 0;
}

const char *
vdvs_opts_get (const struct vdvs_opts *o, const char *key)
{
  for (size_t i = 0; i < o->n; i++)
    if (strcmp (o->v[i].key, key) == 0)
      return o->v[i].value;
  return NULL;
}

void
vdvs_opts_clear (struct vdvs_opts *o)
{
  for (size_t i = 0; i < o->n; i++)
    {
      free (o->v[i].key);
      free (o->v[i].value);
    }
  free (o->v);
  o->v = NULL;
  o->n = 0;
}

void
vdvs_volume_info_clear (struct vdvs_volume_info *i)
{
  free (i->created_by);
  free (i->created);
  free (i->status);
  free (i->capacity_size);
  free (i->capacity_allocated);
  free (i->datastore);
  free (i->attached_to_vm);
  free (i->fstype);
  free (i->diskformat);
  free (i->attach_as);
  free (i->access);
  free (i->clone_from);
  free (i->vsan_policy_name);
  memset (i, 0, sizeof *i);
}

int
vdvs_volume_info_copy (struct vdvs_volume_info *d,
                       const struct vdvs_volume_info *i)
{
  bool ok = true;

  memset (d, 0, sizeof *d);
#define DUP(f)                                                                \
  if (i->f != NULL && (d->f = strdup (i->f)) == NULL)                         \
    ok = false;
  DUP (created_by);
  DUP (created);
  DUP (status);
  DUP (capacity_size);
  DUP (capacity_allocated);
  DUP (datastore);
  DUP (attached_to_vm);
  DUP (fstype);
  DUP (diskformat);
  DUP (attach_as);
  DUP (access);
  DUP (clone_from);
  DUP (vsan_policy_name);
#undef DUP
  d->has_device = i->has_device;
  d->device = i->device;
  if (!ok)
    {
      vdvs_volume_info_clear (d);
      return -ENOMEM;
    }
  return 0;
}

int
vdvs_volume_list_add (struct vdvs_volume_list *l, const char *name)
{
  char **nn = realloc (l->names, (l->n + 1) * sizeof *nn);
  if (nn == NULL)
    return -ENOMEM;
  l->names = nn;
  if ((l->names[l->n] = strdup (name)) == NULL)
    return -ENOMEM;
  l->n++;
  return 0;
}

void
vdvs_volume_list_clear (struct vdvs_volume_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->names[i]);
  free (l->names);
  l->names = NULL;
  l->n = 0;
}
