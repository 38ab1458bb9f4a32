/* The read-only ops: list, get and list_version; from the index
 * (index.h) where it answers, else from the files.  No volume lock: every
 * file is replaced atomically, so a reader sees the old or the new one. */
#include "authdb.h"
#include "index.h"
#include "mock_i.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
mock_list (void *handle, struct vdvs_volume_list *out, vdvs_error_t *err)
{
  struct mock *m = handle;
  char tenant[64] = MOCK_TENANT_UUID;
  int r;

  /* With a Config DB a VM sees its vmgroup's folder on every datastore
   * (no privilege check); a VM in no vmgroup sees nothing, as upstream. */
  if (vdvs_mock_authdb_mode (m) != MOCK_DB_NOT_CONFIGURED)
    {
      struct mock_auth a;
      if (mock_auth_begin (m, &a, err) < 0)
        {
          if ((*err)->status != EPERM)
            return -1;
          vdvs_error_release (err);
          return 0;
        }
      snprintf (tenant, sizeof tenant, "%s", a.tenant_id);
      mock_auth_end (&a, true);
    }
  /* The index watches the default vmgroup's folders only. */
  r = strcmp (tenant, MOCK_TENANT_UUID) == 0 ? mock_index_list (m, out, err)
                                             : 0;
  if (r != 0) /* answered from the index (or out of memory) */
    return r < 0 ? -1 : 0;
  for (size_t i = 0; i < m->n_ds; i++)
    {
      char dir[PATH_MAX], vol[NAME_MAX + 1], full[NAME_MAX + 128];
      DIR *d;
      struct dirent *de;

      snprintf (dir, sizeof dir, "%s/%s/dockvols/%s", m->cfg.root, m->ds[i],
                tenant);
      if ((d = opendir (dir)) == NULL)
        {
          if (errno == ENOENT && strcmp (tenant, MOCK_TENANT_UUID) != 0)
            continue; /* made at the vmgroup's first create there */
          vdvs_log (VDVS_LOG_WARN, "Datastore unreadable",
                    "datastore=%s error=\"%s\"", m->ds[i], strerror (errno));
          continue;
        }
      while ((de = readdir (d)) != NULL)
        if (mock_index_is_descriptor (dirfd (d), de->d_name, vol, sizeof vol))
          {
            snprintf (full, sizeof full, "%s@%s", vol, m->ds[i]);
            if (vdvs_volume_list_add (out, full) < 0)
              {
                closedir (d);
                return vdvs_error_set (err, ENOMEM, "out of memory");
              }
          }
      closedir (d);
    }
  return 0;
}

static char *
xstrdup_or_null (const char *s)
{
  return s ? strdup (s) : NULL;
}

/* Everything of the get reply but the allocated size, from the descriptor
 * and the sidecar. */
static int
read_info (const struct mock_vol *v, struct vdvs_volume_info *out,
           vdvs_error_t *err)
{
  struct mock_descriptor d;
  struct mock_sidecar sc;
  char buf[64];
  const char *o;

  /* No lock: every file is replaced atomically, so a reader sees either
   * the old or the new version, and get never waits on a slow attach. */
  if (mock_descriptor_read (v, &d, err) < 0)
    return -1;
  if (mock_sidecar_read (v->sidecar, &sc, err) < 0)
    return vdvs_error_wrap (err, "Volume %s has corrupt metadata", v->vol);

  memset (out, 0, sizeof *out);
  out->created_by = strdup (sc.created_by);
  out->created = strdup (sc.created);
  out->status = strdup (sc.status);
  mock_size_render (d.sectors * 512, buf, sizeof buf);
  out->capacity_size = strdup (buf);
  out->datastore = strdup (v->ds);
  if (sc.attached)
    {
      out->attached_to_vm = strdup (sc.attached_name[0] ? sc.attached_name
                                                        : sc.attached_uuid);
      if (sc.device.unit[0])
        {
          out->has_device = true;
          out->device = sc.device;
        }
    }
  out->fstype = xstrdup_or_null (vdvs_opts_get (&sc.vol_opts, "fstype"));
  out->vsan_policy_name = xstrdup_or_null (
      vdvs_opts_get (&sc.vol_opts, "vsan-policy-name"));
  o = vdvs_opts_get (&sc.vol_opts, "diskformat");
  out->diskformat = strdup (o ? o : "thin");
  o = vdvs_opts_get (&sc.vol_opts, "attach-as");
  out->attach_as = strdup (o ? o : "independent_persistent");
  o = vdvs_opts_get (&sc.vol_opts, "access");
  out->access = strdup (o ? o : "read-write");
  o = vdvs_opts_get (&sc.vol_opts, "clone-from");
  out->clone_from = strdup (o ? o : "None");
  mock_sidecar_clear (&sc);
  return 0;
}

/* Served from the index's record of the volume while no event touched its
 * descriptor, sidecar or extent (index.h); the files are read only after
 * such an event.  The allocated size changes with every write to the
 * extent (no event for those): a stat of the extent per call keeps it
 * true. */
int
mock_get (void *handle, const char *name, struct vdvs_volume_info *out,
          vdvs_error_t *err)
{
  struct mock *m = handle;
  struct mock_index *ix = mock_index_of (m);
  struct vdvs_name n;
  struct mock_vol v;
  struct stat st;
  uint64_t token = 0;
  int found = MOCK_IX_UNKNOWN;
  const char *ds;
  char buf[64], full[VDVS_FULL_NAME_MAX];

  /* With a Config DB: authorized as upstream, and looked up in the VM's
   * vmgroup's folder; the index serves the default vmgroup's only. */
  if (vdvs_mock_authdb_mode (m) != MOCK_DB_NOT_CONFIGURED)
    {
      if (mock_auth_mount (m, name, &v, err) < 0)
        return -1;
      if (strcmp (v.tenant, MOCK_TENANT_UUID) != 0)
        {
          if (read_info (&v, out, err) < 0)
            return -1;
          if (stat (v.flat, &st) < 0)
            st.st_blocks = 0;
          goto allocated;
        }
      snprintf (full, sizeof full, "%s@%s", v.vol, v.ds);
      name = full;
    }
  if (mock_resolve_name (m, name, &n, &ds, err) < 0)
    return -1;
  if (ix != NULL)
    {
      found = mock_index_lookup (ix, ds, n.volume, out, &token);
      if (found < 0)
        return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  if (found == MOCK_IX_RECORD)
    {
      /* A record was read from files whose paths fit: of those paths,
       * only the extent's is needed here (mock_vol_paths spells it). */
      char flat[PATH_MAX];
      if (snprintf (flat, sizeof flat, "%s/%s/dockvols/%s/%s-flat.vmdk",
                    m->cfg.root, ds, MOCK_TENANT_UUID, n.volume)
              < (int) sizeof flat
          && stat (flat, &st) == 0)
        goto allocated;
      /* No extent where the record says a volume is: whatever happened
       * (the folder unreachable by its path, a half-made volume), the
       * files say it, as before the index. */
      vdvs_volume_info_clear (out);
      found = MOCK_IX_UNKNOWN;
    }
  if (mock_vol_paths (m, ds, n.volume, &v, err) < 0)
    return -1;
  if (found == MOCK_IX_ABSENT)
    return mock_not_found (&v, err);
  if (read_info (&v, out, err) < 0)
    return -1;
  if (found == MOCK_IX_PRESENT)
    mock_index_store (ix, v.ds, v.vol, token, out);
  if (stat (v.flat, &st) < 0)
    st.st_blocks = 0;
allocated:
  mock_size_render ((uint64_t) st.st_blocks * 512, buf, sizeof buf);
  free (out->capacity_allocated);
  out->capacity_allocated = strdup (buf);
  return 0;
}

int
vdvs_mock_get_in (void *handle, const char *name, const char *uuid,
                  struct vdvs_volume_info *out, vdvs_error_t *err)
{
  struct mock *m = handle;
  struct vdvs_name n;
  struct mock_vol v;
  struct stat st;
  const char *ds;
  char buf[64];

  if (mock_resolve_name (m, name, &n, &ds, err) < 0
      || mock_vol_paths_in (m, ds, n.volume, uuid, uuid, &v, err) < 0
      || read_info (&v, out, err) < 0)
    return -1;
  if (stat (v.flat, &st) < 0)
    st.st_blocks = 0;
  mock_size_render ((uint64_t) st.st_blocks * 512, buf, sizeof buf);
  out->capacity_allocated = strdup (buf);
  return 0;
}

uint64_t
mock_list_version (void *handle)
{
  /* With a Config DB the answer depends on the VM's vmgroup, which the
   * index does not follow: every List asks. */
  if (vdvs_mock_authdb_mode (handle) != MOCK_DB_NOT_CONFIGURED)
    return 0;
  return mock_index_version (handle);
}
