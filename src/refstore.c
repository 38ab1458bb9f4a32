/* Mount reference counting and its persistence: see refstore.h. */
#include "vdvs/log.h"

#include "refstore.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned
vdvs_refs_total (const struct vdvs_refs *r)
{
  unsigned t = r->anon + r->prior;
  for (size_t i = 0; i < r->n; i++)
    t += r->v[i].count;
  return t;
}

int
vdvs_refs_add (struct vdvs_refs *r, const char *id)
{
  struct vdvs_ref *n;

  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->v[i].id, id) == 0)
      {
        r->v[i].count++;
        return 0;
      }
  n = realloc (r->v, (r->n + 1) * sizeof *n);
  if (n == NULL)
    return -ENOMEM;
  r->v = n;
  snprintf (n[r->n].id, sizeof n[r->n].id, "%s", id);
  n[r->n].count = 1;
  r->n++;
  return 0;
}

int
vdvs_refs_drop (struct vdvs_refs *r, const char *id)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->v[i].id, id) == 0)
      {
        if (--r->v[i].count == 0)
          r->v[i] = r->v[--r->n];
        return 1;
      }
  if (r->prior > 0)
    {
      r->prior--;
      return 0;
    }
  if (r->anon > 0)
    {
      r->anon--;
      return 0;
    }
  return -1;
}

void
vdvs_refs_clear (struct vdvs_refs *r)
{
  free (r->v);
  memset (r, 0, sizeof *r);
}

void
vdvs_refs_age (struct vdvs_refs *r)
{
  unsigned t = vdvs_refs_total (r);

  vdvs_refs_clear (r);
  r->prior = t;
}

int
vdvs_refstore_init (const char *dir, vdvs_error_t *err)
{
  char path[PATH_MAX], *p;

  snprintf (path, sizeof path, "%s/refs", dir);
  for (p = path + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (path, 0700) < 0 && errno != EEXIST)
          goto fail;
        *p = '/';
      }
  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    goto fail;
  return 0;
fail:
  return vdvs_error_set (err, errno, "cannot create state dir `%s`: %s", path,
                         strerror (errno));
}

int
vdvs_refstore_save (const char *dir, const char *full,
                    const struct vdvs_refs *r, vdvs_error_t *err)
{
  char path[PATH_MAX], tmp[PATH_MAX];
  cJSON *j, *m;
  char *text;
  int fd, e = 0;

  snprintf (path, sizeof path, "%s/refs/%s", dir, full);
  if (vdvs_refs_total (r) == 0)
    {
      if (unlink (path) < 0 && errno != ENOENT)
        return vdvs_error_set (err, errno, "cannot remove `%s`: %s", path,
                               strerror (errno));
      return 0;
    }
  j = cJSON_CreateObject ();
  cJSON_AddStringToObject (j, "name", full);
  m = cJSON_AddObjectToObject (j, "mounts");
  for (size_t i = 0; i < r->n; i++)
    cJSON_AddNumberToObject (m, r->v[i].id, r->v[i].count);
  cJSON_AddNumberToObject (j, "recovered", r->anon + r->prior);
  text = cJSON_PrintUnformatted (j);
  cJSON_Delete (j);
  if (text == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  snprintf (tmp, sizeof tmp, "%s/refs/.tmp.%d", dir, (int) gettid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    e = errno;
  else
    {
      size_t len = strlen (text);
      if (write (fd, text, len) != (ssize_t) len || fsync (fd) < 0)
        e = errno ? errno : EIO;
      close (fd);
      if (e == 0 && rename (tmp, path) < 0)
        e = errno;
      if (e != 0)
        unlink (tmp);
    }
  free (text);
  if (e != 0)
    return vdvs_error_set (err, e, "cannot save refcounts of `%s`: %s", full,
                           strerror (e));
  return 0;
}

/* Read a refs file whole into a malloc'd, NUL-terminated buffer.  0, or
 * -errno (-EFBIG past VDVS_REFS_FILE_MAX). */
static int
read_whole (int fd, char **out, size_t *len)
{
  struct stat st;
  size_t cap, n = 0;
  char *buf;

  if (fstat (fd, &st) < 0)
    return -errno;
  if (st.st_size > VDVS_REFS_FILE_MAX)
    return -EFBIG;
  cap = (size_t) st.st_size + 1;
  if ((buf = malloc (cap)) == NULL)
    return -ENOMEM;
  for (;;)
    {
      ssize_t r;

      if (n + 1 == cap)
        {
          /* Grown since the fstat: read on, within the cap. */
          char *b;
          if (cap > VDVS_REFS_FILE_MAX)
            {
              free (buf);
              return -EFBIG;
            }
          cap = cap * 2 > VDVS_REFS_FILE_MAX + 1 ? VDVS_REFS_FILE_MAX + 1
                                                 : cap * 2;
          if ((b = realloc (buf, cap)) == NULL)
            {
              free (buf);
              return -ENOMEM;
            }
          buf = b;
        }
      r = read (fd, buf + n, cap - 1 - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          free (buf);
          return -e;
        }
      if (r == 0)
        break;
      n += (size_t) r;
    }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

int
vdvs_refstore_load (const char *dir,
                    void (*fn) (const char *, struct vdvs_refs *, void *),
                    void *opaque)
{
  char path[PATH_MAX];
  DIR *d;
  struct dirent *de;

  snprintf (path, sizeof path, "%s/refs", dir);
  if ((d = opendir (path)) == NULL)
    return -errno;
  while ((de = readdir (d)) != NULL)
    {
      char *buf = NULL;
      size_t n = 0;
      struct vdvs_refs r = { 0 };
      cJSON *j, *m, *it, *rec;
      int fd, e;

      /* Skip ".", ".." and our temp files; a volume's file always has an
       * '@' ("vol@datastore") and its name may start with a dot. */
      if (de->d_name[0] == '.' && strchr (de->d_name, '@') == NULL)
        {
          if (strncmp (de->d_name, ".tmp.", 5) == 0)
            unlinkat (dirfd (d), de->d_name, 0); /* a crash mid-save */
          continue;
        }
      fd = openat (dirfd (d), de->d_name, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      e = read_whole (fd, &buf, &n);
      close (fd);
      if (e < 0)
        {
          vdvs_log (VDVS_LOG_ERROR, "Cannot read refcount file",
                    "file=%s/%s error=\"%s\" max_bytes=%d", path, de->d_name,
                    strerror (-e), VDVS_REFS_FILE_MAX);
          continue;
        }
      j = n > 0 ? cJSON_ParseWithLength (buf, n) : NULL;
      free (buf);
      m = cJSON_GetObjectItemCaseSensitive (j, "mounts");
      if (!cJSON_IsObject (m))
        {
          vdvs_log (VDVS_LOG_WARN, "Ignoring corrupt refcount file",
                    "file=%s/%s", path, de->d_name);
          cJSON_Delete (j);
          continue;
        }
      /* Keys are unique (we wrote them): append, no search per ID. */
      r.v = calloc ((size_t) cJSON_GetArraySize (m) + 1, sizeof *r.v);
      if (r.v == NULL)
        abort ();
      cJSON_ArrayForEach (it, m)
        {
          if (cJSON_IsNumber (it) && it->valuedouble >= 1
              && it->valuedouble < 1e6
              && strlen (it->string) <= VDVS_MOUNT_ID_MAX)
            {
              strcpy (r.v[r.n].id, it->string);
              r.v[r.n++].count = (unsigned) it->valueint;
            }
        }
      rec = cJSON_GetObjectItemCaseSensitive (j, "recovered");
      if (cJSON_IsNumber (rec) && rec->valuedouble >= 0
          && rec->valuedouble < 1e6)
        r.anon = (unsigned) rec->valueint;
      cJSON_Delete (j);
      fn (de->d_name, &r, opaque);
    }
  closedir (d);
  return 0;
}
