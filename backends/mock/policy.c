/* vSAN datastores and their storage policies (reference admin-tenancy.md
 * §4): a datastore is vSAN when the mock option `vsan-datastores` names
 * it; policies are files <first vSAN ds>/dockvols/policies/<name> holding
 * the content and a newline, as upstream's vsan_policy.py keeps them.
 * Content is not validated (upstream's check is a stub).  A volume
 * records the policy's name: it has the content the file holds now. */
#include "authdb.h"
#include "mock_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NO_VSAN "Error: VSAN datastore does not exist"

bool
mock_is_vsan (const struct mock *m, const char *ds)
{
  char list[sizeof m->cfg.vsan];
  char *save = NULL;

  if (m == NULL || ds == NULL)
    return false;
  snprintf (list, sizeof list, "%s", m->cfg.vsan);
  for (char *t = strtok_r (list, ",", &save); t;
       t = strtok_r (NULL, ",", &save))
    if (strcmp (t, ds) == 0)
      return true;
  return false;
}

/* <root>/<first vSAN ds>/dockvols/policies into buf; false: no vSAN. */
static bool
policies_dir (const struct mock *m, char *buf, size_t len)
{
  for (size_t i = 0; i < m->n_ds; i++)
    if (mock_is_vsan (m, m->ds[i]))
      {
        snprintf (buf, len, "%s/%s/dockvols/policies", m->cfg.root, m->ds[i]);
        return true;
      }
  return false;
}

/* A policy name is one file name in that folder. */
static bool
name_ok (const char *name)
{
  return name[0] && name[0] != '.' && !strchr (name, '/')
         && strlen (name) <= NAME_MAX;
}

int
mock_policy_check (const struct mock *m, const char *ds, const char *policy,
                   vdvs_error_t *err)
{
  char dir[PATH_MAX], path[PATH_MAX + NAME_MAX], avail[4096] = "";
  struct stat st;
  size_t off = 0;
  struct dirent **list = NULL;
  int n;

  if (policy == NULL)
    return 0;
  if (!mock_is_vsan (m, ds) || !policies_dir (m, dir, sizeof dir))
    return vdvs_error_set (err, EINVAL,
                           "Cannot use a VSAN policy on a non-VSAN datastore");
  snprintf (path, sizeof path, "%s/%s", dir, policy);
  if (name_ok (policy) && stat (path, &st) == 0 && S_ISREG (st.st_mode))
    return 0;
  /* The others, as a Python list of names (sorted here). */
  n = scandir (dir, &list, NULL, alphasort);
  for (int i = 0; i < n; i++)
    {
      if (list[i]->d_name[0] != '.' && off < sizeof avail)
        off += (size_t) snprintf (avail + off, sizeof avail - off, "%s'%s'",
                                  off ? ", " : "", list[i]->d_name);
      free (list[i]);
    }
  free (list);
  if (off == 0)
    return vdvs_error_set (err, EINVAL, "Policy %s does not exist.", policy);
  return vdvs_error_set (err, EINVAL,
                         "Policy %s does not exist. Available policies are: "
                         "[%s]",
                         policy, avail);
}

/* The first volume (any vmgroup, any datastore) whose sidecar names
 * `policy`, as upstream's dict; false when none. */
static bool
policy_user (struct mock *m, const char *policy, char *buf, size_t len,
             int *count)
{
  cJSON *rows = NULL, *it;
  vdvs_error_t ignore = NULL;
  bool found = false;

  *count = 0;
  if (vdvs_mock_volume_ls_all (m, &rows, &ignore) < 0)
    {
      vdvs_error_release (&ignore);
      return false;
    }
  cJSON_ArrayForEach (it, rows)
    {
      const char *name = cJSON_GetStringValue (
          cJSON_GetObjectItem (it, "volume"));
      const char *uuid = cJSON_GetStringValue (
          cJSON_GetObjectItem (it, "uuid"));
      struct vdvs_volume_info i = { 0 };

      if (vdvs_mock_get_in (m, name, uuid, &i, &ignore) < 0)
        vdvs_error_release (&ignore);
      else if (i.vsan_policy_name && strcmp (i.vsan_policy_name, policy) == 0)
        {
          if ((*count)++ == 0)
            snprintf (buf, len,
                      "{'volume': '%.*s.vmdk', 'policy': '%s', 'path': "
                      "'/vmfs/volumes/%s/dockvols/%s'}",
                      (int) strcspn (name, "@"), name, policy, i.datastore,
                      uuid);
          found = true;
        }
      vdvs_volume_info_clear (&i);
    }
  cJSON_Delete (rows);
  return found;
}

int
vdvs_mock_policy_create (void *handle, const char *name, const char *content,
                         vdvs_error_t *err)
{
  struct mock *m = handle;
  char dir[PATH_MAX], path[PATH_MAX + NAME_MAX], *text;
  struct stat st;
  int r;

  if (!policies_dir (m, dir, sizeof dir))
    return vdvs_error_set (err, ENOENT, NO_VSAN);
  if (!name_ok (name))
    return vdvs_error_set (err, EINVAL,
                           "Invalid policy name `%s`: a file name is needed",
                           name);
  if ((r = vdvs_mkdir_p (dir, 0755)) < 0)
    return vdvs_error_set (err, -r, "Error: Failed to open %s for writing",
                           dir);
  snprintf (path, sizeof path, "%s/%s", dir, name);
  if (stat (path, &st) == 0)
    return vdvs_error_set (err, EEXIST, "Error: Policy already exists");
  if (asprintf (&text, "%s\n", content) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  r = mock_write_atomic (path, text, strlen (text));
  free (text);
  if (r < 0)
    return vdvs_error_set (err, -r, "Error: Failed to open %s for writing",
                           path);
  return 0;
}

/* Length of s without Python's strip() whitespace at either end; *start
 * the first kept byte. */
static size_t
stripped (const char *s, const char **start)
{
  size_t n;

  while (*s && strchr (" \t\n\r\v\f", *s))
    s++;
  n = strlen (s);
  while (n > 0 && strchr (" \t\n\r\v\f", s[n - 1]))
    n--;
  *start = s;
  return n;
}

int
vdvs_mock_policy_update (void *handle, const char *name, const char *content,
                         vdvs_error_t *err)
{
  struct mock *m = handle;
  char dir[PATH_MAX], path[PATH_MAX + NAME_MAX], old[4096], *text;
  const char *a, *b;
  size_t na, nb;
  ssize_t len;
  int fd, r, users;

  if (!policies_dir (m, dir, sizeof dir))
    return vdvs_error_set (err, ENOENT, NO_VSAN);
  snprintf (path, sizeof path, "%s/%s", dir, name);
  if (!name_ok (name) || (fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
    {
      if (name_ok (name) && errno != ENOENT)
        return vdvs_error_set (err, errno,
                               "Error opening existing policy file %s: %s",
                               path, strerror (errno));
      return vdvs_error_set (err, ENOENT, "Error: Policy %s does not exist",
                             name);
    }
  len = read (fd, old, sizeof old - 1);
  close (fd);
  old[len > 0 ? len : 0] = '\0';
  na = stripped (old, &a);
  nb = stripped (content, &b);
  if (na == nb && memcmp (a, b, na) == 0)
    return vdvs_error_set (err, EEXIST,
                           "Error: New policy is identical to old policy. "
                           "Ignoring.");
  if (asprintf (&text, "%s\n", content) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  /* Replaced at once (temp file and rename): never half a policy. */
  r = mock_write_atomic (path, text, strlen (text));
  free (text);
  if (r < 0)
    return vdvs_error_set (err, -r, "Error: Failed to open %s.tmp for writing",
                           path);
  /* Upstream re-applies the content to each volume using the policy; here
   * they name it, so they have it now. */
  {
    char user[PATH_MAX + 512];
    policy_user (m, name, user, sizeof user, &users);
  }
  vdvs_log (VDVS_LOG_INFO, "vSAN policy updated", "policy=%s volumes=%d", name,
            users);
  return 0;
}

int
vdvs_mock_policy_rm (void *handle, const char *name, vdvs_error_t *err)
{
  struct mock *m = handle;
  char dir[PATH_MAX], path[PATH_MAX + NAME_MAX], user[PATH_MAX + 512];
  int n;

  if (!policies_dir (m, dir, sizeof dir))
    return vdvs_error_set (err, ENOENT, NO_VSAN);
  if (policy_user (m, name, user, sizeof user, &n))
    return vdvs_error_set (err, EBUSY, "Cannot remove. Policy is in use by %s",
                           user);
  snprintf (path, sizeof path, "%s/%s", dir, name);
  if (!name_ok (name) || unlink (path) < 0)
    return vdvs_error_set (err, ENOENT, "Policy %s does not exist", name);
  return 0;
}

int
vdvs_mock_policy_ls (void *handle, cJSON **rows, vdvs_error_t *err)
{
  struct mock *m = handle;
  char dir[PATH_MAX];
  cJSON *arr = cJSON_CreateArray ();
  struct dirent **list = NULL;
  int n;

  (void) err;
  *rows = arr;
  if (!policies_dir (m, dir, sizeof dir)
      || (n = scandir (dir, &list, NULL, alphasort)) < 0)
    return 0;
  for (int i = 0; i < n; i++)
    {
      char path[PATH_MAX + NAME_MAX], content[4096] = "", user[PATH_MAX + 512],
                                      active[64];
      int fd, users;
      ssize_t len;

      if (list[i]->d_name[0] == '.')
        {
          free (list[i]);
          continue;
        }
      snprintf (path, sizeof path, "%s/%s", dir, list[i]->d_name);
      if ((fd = open (path, O_RDONLY | O_CLOEXEC)) >= 0)
        {
          len = read (fd, content, sizeof content - 1);
          content[len > 0 ? len : 0] = '\0';
          close (fd);
        }
      /* Stripped, as upstream shows it. */
      for (size_t k = strlen (content);
           k > 0 && strchr (" \t\r\n", content[k - 1]); k--)
        content[k - 1] = '\0';
      policy_user (m, list[i]->d_name, user, sizeof user, &users);
      if (users)
        snprintf (active, sizeof active, "In use by %d volumes", users);
      else
        snprintf (active, sizeof active, "Unused");
      {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "Policy Name", list[i]->d_name);
        cJSON_AddStringToObject (o, "Policy Content", content);
        cJSON_AddStringToObject (o, "Active", active);
        cJSON_AddItemToArray (arr, o);
      }
      free (list[i]);
    }
  free (list);
  return 0;
}
