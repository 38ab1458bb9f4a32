/* The Docker volume plugin API: see api.h and the reference
 * docker-plugin-api.md §1.4 for the shapes. */
#include "api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/cleanup.h"
#include "vdvs/name.h"

#include "platform/names.h"
#include "recovery.h"
#include "refstore.h"
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
    return vdvs_error_set (err, EINVAL,
                           "request body is empty; expected a "
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
        return vdvs_error_set (err, EINVAL, "request has no string `Name`");
      /* cJSON stops at an escaped NUL: a name that did is hostile. */
      if (name->valuestring[0] == '\0')
        return vdvs_error_set (err, EINVAL,
                               "No volume with name as empty string exists");
      if (vdvs_name_check_platform (name->valuestring, err) < 0)
        return -1;
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
                               "option `%s` must have a string value",
                               o->string);
      if (vdvs_opts_get (&rq->opts, o->string) != NULL)
        return vdvs_error_set (err, EINVAL, "option `%s` given twice",
                               o->string);
      if (vdvs_opts_set (&rq->opts, o->string, o->valuestring) < 0)
        return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

/* "key":"value" in obj; nothing when value is NULL (an unknown field).
 * Neither is copied: keys are literals and values outlive the reply's
 * printing (the tree is printed, then deleted, by finish). */
static void
add_str (cJSON *obj, const char *key, const char *value)
{
  if (value != NULL)
    cJSON_AddItemToObjectCS (obj, key, cJSON_CreateStringReference (value));
}

/* The same with a copy of value, for one that does not outlive the tree. */
static void
add_copy (cJSON *obj, const char *key, const char *value)
{
  cJSON_AddItemToObjectCS (obj, key, cJSON_CreateString (value));
}

static char *
finish (cJSON *resp, vdvs_error_t *err)
{
  char *out;

  if (resp == NULL)
    resp = cJSON_CreateObject ();
  add_str (resp, "Err", *err ? (*err)->msg : "");
  out = cJSON_PrintUnformatted (resp);
  cJSON_Delete (resp);
  vdvs_error_release (err);
  return out;
}

/* The upstream get reply as Docker's Status, plus our own state. */
static cJSON *
status_json (const struct vdvs_vol_status *st)
{
  const struct vdvs_volume_info *i = &st->info;
  cJSON *s = cJSON_CreateObject ();
  cJSON *o;

  add_str (s, "created by VM", i->created_by);
  add_str (s, "created", i->created);
  add_str (s, "status", i->status);
  o = cJSON_AddObjectToObject (s, "capacity");
  add_str (o, "size", i->capacity_size);
  add_str (o, "allocated", i->capacity_allocated);
  add_str (s, "datastore", i->datastore);
  add_str (s, "attached to VM", i->attached_to_vm);
  if (i->has_device)
    {
      o = cJSON_AddObjectToObject (s, "attachedVMDevice");
      add_str (o, "Unit", i->device.unit);
      add_str (o, "ControllerPciSlotNumber", i->device.pci_slot);
      add_str (o, "ControllerPciBusNumber", i->device.pci_bus);
    }
  add_str (s, "fstype", i->fstype);
  add_str (s, "diskformat", i->diskformat);
  add_str (s, "attach-as", i->attach_as);
  add_str (s, "access", i->access);
  add_str (s, "clone-from", i->clone_from);
  add_str (s, "vsan-policy-name", i->vsan_policy_name);
  if (!st->health.up)
    {
      char buf[300];
      snprintf (buf, sizeof buf, "down: %s", st->health.detail);
      add_copy (s, "datastore status", buf);
    }
  if (st->stale)
    add_str (s, "backend", st->stale_reason);
  return s;
}

/* {"Volume":{...}} (finish adds "Err") */
static cJSON *
get_json (const char *name, const struct vdvs_vol_status *st)
{
  cJSON *r = cJSON_CreateObject ();
  cJSON *v = cJSON_AddObjectToObject (r, "Volume");
  char created[64];

  add_str (v, "Name", name);
  add_str (v, "Mountpoint", st->mountpoint);
  /* Omit rather than send an unparsable time (it fails the engine's
   * whole decode). */
  if (vdvs_asctime_to_rfc3339 (st->info.created, created, sizeof created) == 0)
    add_copy (v, "CreatedAt", created);
  cJSON_AddItemToObject (v, "Status", status_json (st));
  return r;
}

/* {"Volumes":[{"Name":...,"Mountpoint":...},...]} (finish adds "Err") */
static cJSON *
list_json (vdvs_error_t *err)
{
  cleanup_list struct vdvs_volume_list l = { 0 };
  char mp[PATH_MAX];
  cJSON *r, *arr;

  if (vdvs_vol_list (&l, err) < 0)
    return NULL;
  r = cJSON_CreateObject ();
  arr = cJSON_AddArrayToObject (r, "Volumes");
  for (size_t i = 0; i < l.n; i++)
    {
      cJSON *v = cJSON_CreateObject ();
      /* The mount point keeps ESX's spelling; the name is Docker's. */
      vdvs_vol_mountpoint (l.names[i], mp, sizeof mp);
      vdvs_name_for_docker (l.names[i]);
      add_copy (v, "Name", l.names[i]);
      add_copy (v, "Mountpoint", mp);
      cJSON_AddItemToArray (arr, v);
    }
  return r;
}

/* The last List reply and the backend's list_version it was made under:
 * List is rendered again only when the set of volumes may have changed.
 * A reply stored under version v was rendered from an answer at least as
 * new as v, so reusing it for v is never stale. */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static char *list_reply;
static uint64_t list_reply_version;

static char *
api_list (vdvs_error_t *err)
{
  uint64_t version = vdvs_vol_list_version ();
  char *out = NULL;
  cJSON *r;

  pthread_mutex_lock (&list_lock);
  if (version != 0 && version == list_reply_version)
    out = strdup (list_reply);
  pthread_mutex_unlock (&list_lock);
  if (out != NULL)
    return out;
  if ((r = list_json (err)) == NULL)
    return NULL;
  out = finish (r, err);
  if (out != NULL && version != 0)
    {
      char *keep = strdup (out);
      pthread_mutex_lock (&list_lock);
      if (keep != NULL)
        {
          free (list_reply);
          list_reply = keep;
          list_reply_version = version;
        }
      pthread_mutex_unlock (&list_lock);
    }
  return out;
}

/* The whole Get reply, printed while the status it points into lives;
 * NULL with *err set when the volume cannot be answered. */
static char *
api_get (const char *name, vdvs_error_t *err)
{
  struct vdvs_vol_status st; /* a few KiB: on the stack, not the heap */
  char *out = NULL;

  memset (&st.info, 0, sizeof st.info);
  if (vdvs_vol_get (name, &st, err) == 0
      && (out = finish (get_json (name, &st), err)) == NULL)
    vdvs_error_set (err, ENOMEM, "out of memory");
  vdvs_volume_info_clear (&st.info);
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
  vdvs_volumes_engine_activated ();
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
  char *out = NULL;
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
                      (size_t) ((const char *) memchr (body, '\0', len)
                                - body));
      return finish (NULL, &err);
    }
  if (strcmp (ep, "Capabilities") == 0)
    return api_capabilities ();
  if (len > 0)
    j = cJSON_ParseWithLength (body, len);

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
      if (parse (j, body, len, true, false, &rq, &err) == 0)
        vdvs_vol_remove (rq.name, &err);
    }
  else if (strcmp (ep, "Mount") == 0 || strcmp (ep, "Unmount") == 0)
    {
      bool mount = ep[0] == 'M';
      if (parse (j, body, len, true, true, &rq, &err) == 0)
        {
          if (mount
              && vdvs_vol_mount (rq.name, rq.id, mp, sizeof mp, &err) == 0)
            {
              resp = cJSON_CreateObject ();
              add_str (resp, "Mountpoint", mp);
            }
          else if (!mount)
            vdvs_vol_unmount (rq.name, rq.id, &err);
        }
    }
  else if (strcmp (ep, "Path") == 0)
    {
      if (parse (j, body, len, true, false, &rq, &err) == 0
          && vdvs_vol_path (rq.name, mp, sizeof mp, &err) == 0)
        {
          resp = cJSON_CreateObject ();
          add_str (resp, "Mountpoint", mp);
        }
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
  if (err != NULL && resp != NULL)
    {
      cJSON_Delete (resp);
      resp = NULL;
    }
  return finish (resp, &err);
}
