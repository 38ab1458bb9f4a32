/* What admin tools (vdvsctl, esxsim) call beside the vtable: find a VM,
 * set a volume's options (under its lock), a volume's extent path. */
#include "mock_i.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The VM a name or UUID designates: a directory under .vms/ named by the
 * UUID, or a VM whose disks' sidecars carry that attachedVMName.  Only VMs
 * with a disk attached have a name here (ESX knows the others; this
 * datastore only knows what VMs attached). */
int
vdvs_mock_find_vm (void *handle, const char *vm, char *uuid, size_t len,
                   vdvs_error_t *err)
{
  struct mock *m = handle;
  char dir[PATH_MAX], path[PATH_MAX], loopdev[64], key[1024];
  char known[1024] = "";
  int matches = 0;
  struct dirent *e;
  DIR *d;

  snprintf (dir, sizeof dir, "%s/.vms", m->cfg.root);
  d = opendir (dir);
  while (d != NULL && (e = readdir (d)) != NULL)
    {
      char name[128] = "";
      bool is_it;

      if (e->d_name[0] == '.')
        continue;
      /* Any unit of that VM names a disk whose sidecar names the VM. */
      for (int c = 0; c < MOCK_PVSCSI_CONTROLLERS && !name[0]; c++)
        for (int u = 0; u < MOCK_PVSCSI_UNITS && !name[0]; u++)
          {
            struct mock_sidecar sc = { 0 };
            struct mock_vol v;
            vdvs_error_t ignore = NULL;

            mock_vm_unit_path (m, e->d_name, c, u, path, sizeof path);
            if (mock_read_unit (path, loopdev, sizeof loopdev, key, sizeof key)
                < 0)
              continue;
            if (mock_vol_from_key (m, key, &v, &ignore) == 0
                && mock_sidecar_read (v.sidecar, &sc, &ignore) == 0
                && sc.attached && strcmp (sc.attached_uuid, e->d_name) == 0)
              snprintf (name, sizeof name, "%s", sc.attached_name);
            mock_sidecar_clear (&sc);
            vdvs_error_release (&ignore);
          }
      is_it = strcmp (e->d_name, vm) == 0
              || (name[0] && strcmp (name, vm) == 0);
      if (is_it && matches++ == 0)
        snprintf (uuid, len, "%s", e->d_name);
      if (name[0]
          && strlen (known) + strlen (name) + strlen (e->d_name) + 8
                 < sizeof known)
        {
          strcat (known, known[0] ? ", " : "");
          strcat (known, name);
          strcat (known, " (");
          strcat (known, e->d_name);
          strcat (known, ")");
        }
    }
  if (d != NULL)
    closedir (d);
  if (matches > 1)
    return vdvs_error_set (err, EEXIST,
                           "More than one VM is named '%s': give its UUID "
                           "(VMs with disks attached: %s)",
                           vm, known);
  if (matches == 0)
    return vdvs_error_set (err, ENOENT,
                           "No VM named '%s' has a disk attached here (VMs "
                           "with disks attached: %s)",
                           vm, known[0] ? known : "none");
  return 0;
}

int
mock_vol_set_options (struct mock *m, const struct mock_vol *v,
                      const struct vdvs_opts *opts, vdvs_error_t *err)
{
  struct mock_sidecar sc;
  int fd, r = 0;

  /* The lock attach and detach hold while they rewrite the sidecar: an
   * edit never loses their status change, nor they ours. */
  if ((fd = mock_lock (m, v, err)) < 0)
    return -1;
  if (!mock_vol_exists (v))
    r = mock_not_found (v, err);
  else if (mock_sidecar_read (v->sidecar, &sc, err) < 0)
    r = vdvs_error_wrap (err, "Volume %s has corrupt metadata", v->vol);
  else
    {
      for (size_t i = 0; i < opts->n && r == 0; i++)
        if (vdvs_opts_set (&sc.vol_opts, opts->v[i].key, opts->v[i].value) < 0)
          r = vdvs_error_set (err, ENOMEM, "out of memory");
      if (r == 0 && mock_sidecar_write (v->sidecar, &sc, err) < 0)
        r = -1;
      if (r == 0)
        {
          const char *a = vdvs_opts_get (&sc.vol_opts, "access");
          const char *as = vdvs_opts_get (&sc.vol_opts, "attach-as");
          vdvs_log (VDVS_LOG_INFO, "Volume options set",
                    "volume=%s datastore=%s access=%s attach-as=%s", v->vol,
                    v->ds, a ? a : "read-write",
                    as ? as : "independent_persistent");
        }
      mock_sidecar_clear (&sc);
    }
  mock_unlock (fd);
  return r;
}

int
vdvs_mock_set_options (void *handle, const char *name,
                       const struct vdvs_opts *opts, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_vol v;

  if (mock_options_validate_set (opts, err) < 0
      || mock_auth_locate (m, name, &v, err) < 0)
    return -1;
  return mock_vol_set_options (m, &v, opts, err);
}

int
vdvs_mock_extent_path (void *handle, const char *name, char *buf, size_t len,
                       vdvs_error_t *err)
{
  struct mock_vol v;

  if (mock_auth_locate (handle, name, &v, err) < 0)
    return -1;
  if (!mock_vol_exists (&v))
    return mock_not_found (&v, err);
  snprintf (buf, len, "%s", v.flat);
  return 0;
}
