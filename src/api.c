/* The Docker volume plugin API: see api.h and the reference
 * docker-plugin-api.md §1.4 for the shapes. */
#include "api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/cleanup.h"
#include "vdvs/name.h"

#include "jsonw.h"
#include "recovery.h"
#include "refstore.h"
#include "replycache.h"
#include "timefmt.h"
#include "volumes.h"

/* A parsed request: the members Docker sends, validated. */
struct request
{
  const char *name;
  const char *id;
  struct vdvs_opts opts;
};

/* Docker sends a handful of options; thousands in one body are an attack
 * on the sorted insert (quadratic), not a volume. */
#define MAX_OPTS 64

/* cJSON ends a string at an escaped NUL, so "a\u0000b" would silently act
 * on volume `a`: refuse the escape itself.  Backslashes only occur inside
 * strings in valid JSON, so no string tracking is needed. */
static bool
has_nul_escape (const char *body, size_t len)
{
  for (size_t i = 0; i + 1 < len; i++)
    if (body[i] == '\\')
      {
        if (body[i + 1] == 'u' && i + 5 < len && body[i + 2] == '0'
            && body[i + 3] == '0' && body[i + 4] == '0' && body[i + 5] == '0')
          return true;
        i++; /* skip the escaped character (\\ included) */
      }
  return false;
}

static int
parse (cJSON *j, const char *body, size_t len, bool need_name, bool need_id,
       struct request *rq, vdvs_error_t *err)
{
  const cJSON *name, *id, *opts, *o;

  if (len > 0 && has_nul_escape (body, len))
    return vdvs_error_set (err, EINVAL,
                           "request contains a NUL character (\\u0000) in a "
                           "string; names, IDs and options cannot hold one");
  if (len == 0)
    return vdvs_error_set (err, EINVAL, "request body is empty; expected a "
                           "JSON object");
  if (j == NULL)
    return vdvs_error_set (err, EINVAL,
                           "request body is not valid JSON (%zu bytes)", len);
  if (!cJSON_IsObject (j))
    return vdvs_error_set (err, EINVAL, "request body must be a JSON object");
  name = cJSON_GetObjectItemCaseSensitive (j, "Name");
  if (need_name)
    {
      if (!cJSON_IsString (name))
        return vdvs_error_set (err, EINVAL,
                               "request has no string `Name`");
      /* cJSON stops at an escaped NUL: a name that did is hostile. */
      if (name->valuestring[0] == '\0')
        return vdvs_error_set (err, EINVAL,
                               "No volume with name as empty string exists");
      rq->name = name->valuestring;
    }
  id = cJSON_GetObjectItemCaseSensitive (j, "ID");
  if (need_id)
    {
      if (!cJSON_IsString (id) || strlen (id->valuestring) > VDVS_MOUNT_ID_MAX
          || strchr (id->valuestring, '/'))
        return vdvs_error_set (err, EINVAL,
                               "request has no valid mount `ID` (a string of "
                               "at most %d characters)",
                               VDVS_MOUNT_ID_MAX);
      rq->id = id->valuestring;
    }
  opts = cJSON_GetObjectItemCaseSensitive (j, "Opts");
  if (opts != NULL && !cJSON_IsNull (opts) && !cJSON_IsObject (opts))
    return vdvs_error_set (err, EINVAL, "`Opts` must be an object or null");
  if (!cJSON_IsObject (opts))
    return 0;
  if (cJSON_GetArraySize (opts) > MAX_OPTS)
    return vdvs_error_set (err, EINVAL, "too many options: %d (at most %d)",
                           cJSON_GetArraySize (opts), MAX_OPTS);
  cJSON_ArrayForEach (o, opts)
  {
    if (!cJSON_IsString (o))
      return vdvs_error_set (err, EINVAL,
                             "option `%s` must have a string value", o->string);
    if (vdvs_opts_get (&rq->opts, o->string) != NULL)
      return vdvs_error_set (err, EINVAL, "option `%s` given twice",
                             o->string);
    if (vdvs_opts_set (&rq->opts, o->string, o->valuestring) < 0)
      return vdvs_error_set (err, ENOMEM, "out of memory");
  }
  return 0;
}

static char *
finish (cJSON *resp, vdvs_error_t *err)
{
  char *out;

  if (resp == NULL)
    resp = cJSON_CreateObject ();
  cJSON_AddStringToObject (resp, "Err", *err ? (*err)->msg : "");
  out = cJSON_PrintUnformatted (resp);
  cJSON_Delete (resp);
  vdvs_error_release (err);
  return out;
}

/* The upstream get reply as Docker's Status, plus our own state, in the
 * key order the cJSON tree had. */
static void
write_status (struct vdvs_jw *w, const struct vdvs_vol_status *st)
{
  const struct vdvs_volume_info *i = &st->info;

  vdvs_jw_obj_begin (w);
  vdvs_jw_kv (w, "created by VM", i->created_by);
  vdvs_jw_kv (w, "created", i->created);
  vdvs_jw_kv (w, "status", i->status);
  vdvs_jw_key (w, "capacity");
  vdvs_jw_obj_begin (w);
  vdvs_jw_kv (w, "size", i->capacity_size);
  vdvs_jw_kv (w, "allocated", i->capacity_allocated);
  vdvs_jw_obj_end (w);
  vdvs_jw_kv (w, "datastore", i->datastore);
  vdvs_jw_kv (w, "attached to VM", i->attached_to_vm);
  if (i->has_device)
    {
      vdvs_jw_key (w, "attachedVMDevice");
      vdvs_jw_obj_begin (w);
      vdvs_jw_kv (w, "Unit", i->device.unit);
      vdvs_jw_kv (w, "ControllerPciSlotNumber", i->device.pci_slot);
      vdvs_jw_kv (w, "ControllerPciBusNumber", i->device.pci_bus);
      vdvs_jw_obj_end (w);
    }
  vdvs_jw_kv (w, "fstype", i->fstype);
  vdvs_jw_kv (w, "diskformat", i->diskformat);
  vdvs_jw_kv (w, "attach-as", i->attach_as);
  vdvs_jw_kv (w, "access", i->access);
  vdvs_jw_kv (w, "clone-from", i->clone_from);
  vdvs_jw_kv (w, "vsan-policy-name", i->vsan_policy_name);
  if (!st->health.up)
    {
      char buf[300];
      snprintf (buf, sizeof buf, "down: %s", st->health.detail);
      vdvs_jw_kv (w, "datastore status", buf);
    }
  if (st->stale)
    vdvs_jw_kv (w, "backend", st->stale_reason);
  vdvs_jw_obj_end (w);
}

/* {"Volume":{...},"Err":""} */
static char *
render_get (const char *name, const struct vdvs_vol_status *st)
{
  struct vdvs_jw w;
  char created[64];

  vdvs_jw_init (&w, 1024);
  vdvs_jw_obj_begin (&w);
  vdvs_jw_key (&w, "Volume");
  vdvs_jw_obj_begin (&w);
  vdvs_jw_kv (&w, "Name", name);
  vdvs_jw_kv (&w, "Mountpoint", st->mountpoint);
  /* Omit rather than send an unparsable time (it fails the engine's
   * whole decode). */
  if (vdvs_asctime_to_rfc3339 (st->info.created, created, sizeof created)
      == 0)
    vdvs_jw_kv (&w, "CreatedAt", created);
  vdvs_jw_key (&w, "Status");
  write_status (&w, st);
  vdvs_jw_obj_end (&w);
  vdvs_jw_kv (&w, "Err", "");
  vdvs_jw_obj_end (&w);
  return vdvs_jw_finish (&w);
}

/* {"Volumes":[{"Name":...,"Mountpoint":...},...],"Err":""}; the
 * mountpoint is vdvs_vol_mountpoint's "<mount root>/<name>". */
static char *
render_list (const struct vdvs_volume_list *l)
{
  struct vdvs_jw w;
  char root[PATH_MAX];

  vdvs_vol_mountpoint ("", root, sizeof root); /* "<mount root>/" */
  vdvs_jw_init (&w, 64 + l->n * (2 * 40 + strlen (root) + 32));
  vdvs_jw_obj_begin (&w);
  vdvs_jw_key (&w, "Volumes");
  vdvs_jw_arr_begin (&w);
  for (size_t i = 0; i < l->n; i++)
    {
      vdvs_jw_obj_begin (&w);
      vdvs_jw_kv (&w, "Name", l->names[i]);
      vdvs_jw_key (&w, "Mountpoint");
      vdvs_jw_str2 (&w, root, l->names[i]);
      vdvs_jw_obj_end (&w);
    }
  vdvs_jw_arr_end (&w);
  vdvs_jw_kv (&w, "Err", "");
  vdvs_jw_obj_end (&w);
  return vdvs_jw_finish (&w);
}

/* {"Mountpoint":"...","Err":""} */
static char *
render_mountpoint (const char *mp)
{
  struct vdvs_jw w;

  vdvs_jw_init (&w, 0);
  vdvs_jw_obj_begin (&w);
  vdvs_jw_kv (&w, "Mountpoint", mp);
  vdvs_jw_kv (&w, "Err", "");
  vdvs_jw_obj_end (&w);
  return vdvs_jw_finish (&w);
}

/* List's reply is kept like Get's (replycache.h), under a key no volume
 * name can be (names have no control characters), while the backend's
 * list_version stays.  A reply stored under version v was rendered from
 * an answer at least as new as v, so reusing it for v is never stale. */
#define LIST_REPLY_KEY "\x01List"

static char *
api_list (vdvs_error_t *err)
{
  cleanup_list struct vdvs_volume_list l = { 0 };
  uint64_t version = vdvs_vol_list_version ();
  char *out = vdvs_replycache_find (LIST_REPLY_KEY, version);

  if (out != NULL)
    return out;
  if (vdvs_vol_list (&l, err) < 0)
    return NULL;
  out = render_list (&l);
  if (out != NULL)
    vdvs_replycache_store (LIST_REPLY_KEY, version, out);
  return out;
}

/* Get, reusing the reply last rendered for this name while the backend's
 * version of the answer stays (replycache.h).  A reply is stored only when
 * the version read before the get is still the version after it: then
 * nothing the version tracks changed while the reply was made. */
static char *
api_get (const char *name, vdvs_error_t *err)
{
  uint64_t version = vdvs_vol_get_version (name);
  struct vdvs_vol_status *st;
  char *out;

  if ((out = vdvs_replycache_find (name, version)) != NULL)
    return out;
  if ((st = malloc (sizeof *st)) == NULL)
    abort ();
  memset (&st->info, 0, sizeof st->info);
  if (vdvs_vol_get (name, st, err) == 0)
    {
      out = render_get (name, st);
      if (out != NULL && version != 0 && !st->stale && st->health.up
          && vdvs_vol_get_version (name) == version)
        vdvs_replycache_store (name, version, out);
    }
  else if ((*err)->status == ENOENT)
    vdvs_replycache_forget (name);
  vdvs_volume_info_clear (&st->info);
  free (st);
  return out;
}

static char *
api_activate (void)
{
  cJSON *r = cJSON_CreateObject ();
  cJSON *impl = cJSON_AddArrayToObject (r, "Implements");
  char *out;

  cJSON_AddItemToArray (impl, cJSON_CreateString ("VolumeDriver"));
  out = cJSON_PrintUnformatted (r);
  cJSON_Delete (r);
  /* Activate is sent once per engine process: a new engine may have been
   * restarted without unmounting anything, so reconcile. */
  vdvs_volumes_kick_recovery ();
  return out;
}

static char *
api_capabilities (void)
{
  return strdup ("{\"Capabilities\":{\"Scope\":\"global\"},\"Err\":\"\"}");
}

char *
vdvs_api_handle (const char *path, const char *body, size_t len)
{
  cleanup_cjson cJSON *j = NULL;
  cleanup_opts struct vdvs_opts opts_unused = { 0 };
  struct request rq = { 0 };
  vdvs_error_t err = NULL;
  cJSON *resp = NULL;
  char *out = NULL; /* a reply rendered by the writer */
  bool fast;
  char mp[PATH_MAX];
  const char *ep;

  (void) opts_unused;
  if (strcmp (path, "/Plugin.Activate") == 0)
    return api_activate ();
  if (strncmp (path, "/VolumeDriver.", 14) != 0)
    {
      vdvs_error_set (&err, ENOENT, "unknown endpoint `%s`", path);
      return finish (NULL, &err);
    }
  ep = path + 14;
  /* JSON text holds no NUL byte, and cJSON would end a string at one:
   * {"Name":"a<NUL>b"} would act on volume `a`. */
  if (len > 0 && memchr (body, '\0', len) != NULL)
    {
      vdvs_error_set (&err, EINVAL,
                      "request body contains a NUL byte (at offset %zu); "
                      "JSON text cannot hold one",
                      (size_t) ((const char *) memchr (body, '\0', len) - body));
      return finish (NULL, &err);
    }
  if (strcmp (ep, "Capabilities") == 0)
    return api_capabilities ();
  if (len > 0)
    j = cJSON_ParseWithLength (body, len);
  fast = strcmp (ep, "Get") == 0 || strcmp (ep, "List") == 0
         || strcmp (ep, "Path") == 0;

  if (strcmp (ep, "Create") == 0)
    {
      struct vdvs_name n;
      /* A name whose mount point cannot exist is refused before anything
       * is made (a bad name is vdvs_vol_create's to report). */
      if (parse (j, body, len, true, false, &rq, &err) == 0
          && (vdvs_name_parse (rq.name, &n, NULL) < 0
              || vdvs_name_check_mountable (n.volume, n.datastore, &err) == 0))
        vdvs_vol_create (rq.name, &rq.opts, &err);
    }
  else if (strcmp (ep, "Remove") == 0)
    {
      /* The name's kept Get reply goes with the volume. */
      if (parse (j, body, len, true, false, &rq, &err) == 0
          && vdvs_vol_remove (rq.name, &err) == 0)
        vdvs_replycache_forget (rq.name);
    }
  else if (strcmp (ep, "Mount") == 0 || strcmp (ep, "Unmount") == 0)
    {
      bool mount = ep[0] == 'M';
      if (parse (j, body, len, true, true, &rq, &err) == 0)
        {
          if (mount && vdvs_vol_mount (rq.name, rq.id, mp, sizeof mp, &err) == 0)
            {
              resp = cJSON_CreateObject ();
              cJSON_AddStringToObject (resp, "Mountpoint", mp);
            }
          else if (!mount)
            vdvs_vol_unmount (rq.name, rq.id, &err);
        }
    }
  else if (strcmp (ep, "Path") == 0)
    {
      if (parse (j, body, len, true, false, &rq, &err) == 0
          && vdvs_vol_path (rq.name, mp, sizeof mp, &err) == 0)
        out = render_mountpoint (mp);
    }
  else if (strcmp (ep, "Get") == 0)
    {
      if (parse (j, body, len, true, false, &rq, &err) == 0)
        out = api_get (rq.name, &err);
    }
  else if (strcmp (ep, "List") == 0)
    out = api_list (&err);
  else
    vdvs_error_set (&err, ENOENT, "unknown endpoint `%s`", path);

  vdvs_opts_clear (&rq.opts);
  if (out != NULL)
    return out;
  if (err == NULL && resp == NULL && fast)
    vdvs_error_set (&err, ENOMEM, "out of memory");
  if (err != NULL && resp != NULL)
    {
      cJSON_Delete (resp);
      resp = NULL;
    }
  return finish (resp, &err);
}
