/* The VMDK text descriptor (<vol>.vmdk): a monolithic flat disk as
 * VirtualDiskManager.CreateVirtualDisk writes it on VMFS.  We write the
 * whole format and read back only what the service needs: the extent, the
 * capacity and the sidecar list. */
#include "mock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Descriptor strings are double-quoted; a quote or backslash in a name is
 * escaped with a backslash. */
static void
put_quoted (FILE *f, const char *s)
{
  fputc ('"', f);
  for (; *s; s++)
    {
      if (*s == '"' || *s == '\\')
        fputc ('\\', f);
      fputc (*s, f);
    }
  fputc ('"', f);
}

int
mock_descriptor_format (const struct mock_descriptor *d, const char *uuid,
                        char **out)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  uint64_t cyl;

  if (f == NULL)
    return -ENOMEM;
  /* BIOS geometry VMware derives for large disks: 255 heads, 63 sectors. */
  cyl = d->sectors / (255 * 63);
  if (cyl > 65535)
    cyl = 65535;
  fprintf (f, "# Disk DescriptorFile\n"
              "version=1\n"
              "encoding=\"UTF-8\"\n"
              "CID=fffffffe\n"
              "parentCID=ffffffff\n"
              "createType=");
  /* Quoted like the names: the reader unescapes it. */
  put_quoted (f, d->create_type[0] ? d->create_type : "vmfs");
  fprintf (f,
           "\n"
           "\n"
           "# Extent description\n"
           "RW %" PRIu64 " VMFS ",
           d->sectors);
  put_quoted (f, d->extent);
  fprintf (f,
           "\n\n"
           "# The Disk Data Base\n"
           "#DDB\n"
           "\n"
           "ddb.adapterType = \"busLogic\"\n"
           "ddb.deletable = \"true\"\n"
           "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
           "ddb.geometry.heads = \"255\"\n"
           "ddb.geometry.sectors = \"63\"\n",
           cyl);
  if (d->sidecar[0])
    {
      fputs ("ddb.sidecars = ", f);
      char *pair;
      if (asprintf (&pair, "%s,%s", MOCK_SIDECAR_KEY, d->sidecar) < 0)
        {
          fclose (f);
          free (buf);
          return -ENOMEM;
        }
      put_quoted (f, pair);
      free (pair);
      fputc ('\n', f);
    }
  fprintf (f, "ddb.thinProvisioned = \"%d\"\n", d->thin ? 1 : 0);
  fprintf (f, "ddb.uuid = \"%s\"\n", uuid);
  fputs ("ddb.virtualHWVersion = \"13\"\n", f);
  if (fclose (f) != 0)
    {
      free (buf);
      return -ENOMEM;
    }
  *out = buf;
  return 0;
}

/* Parse a quoted string at *p into out; advances *p. */
static int
get_quoted (const char **p, char *out, size_t len)
{
  const char *s = *p;
  size_t n = 0;

  while (*s == ' ' || *s == '\t')
    s++;
  if (*s != '"')
    return -1;
  for (s++; *s && *s != '"' && *s != '\n'; s++)
    {
      if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
        s++;
      if (n + 1 >= len)
        return -1;
      out[n++] = *s;
    }
  if (*s != '"')
    return -1;
  out[n] = '\0';
  *p = s + 1;
  return 0;
}

int
mock_descriptor_parse (const char *text, size_t len, struct mock_descriptor *d,
                       vdvs_error_t *err)
{
  const char *p = text, *end = text + len;
  bool have_extent = false;

  memset (d, 0, sizeof *d);
  if (len < 21 || memcmp (text, "# Disk DescriptorFile", 21) != 0)
    return vdvs_error_set (err, EINVAL,
                           "not a VMDK descriptor (missing header)");
  if (memchr (text, '\0', len) != NULL)
    return vdvs_error_set (err, EINVAL, "VMDK descriptor contains NUL bytes");

  while (p < end)
    {
      const char *eol = memchr (p, '\n', (size_t) (end - p));
      size_t ll = eol ? (size_t) (eol - p) : (size_t) (end - p);
      char line[1024];

      if (ll >= sizeof line)
        return vdvs_error_set (err, EINVAL, "VMDK descriptor line too long");
      memcpy (line, p, ll);
      line[ll] = '\0';
      p += ll + 1;

      if (strncmp (line, "RW ", 3) == 0 && !have_extent)
        {
          char *q;
          const char *cq;
          errno = 0;
          d->sectors = strtoull (line + 3, &q, 10);
          if (errno || q == line + 3 || strncmp (q, " VMFS", 5) != 0)
            return vdvs_error_set (err, EINVAL,
                                   "bad extent line in VMDK descriptor");
          cq = q + 5;
          if (get_quoted (&cq, d->extent, sizeof d->extent) < 0
              || strchr (d->extent, '/') != NULL)
            return vdvs_error_set (err, EINVAL,
                                   "bad extent file name in VMDK descriptor");
          have_extent = true;
        }
      else if (strncmp (line, "createType=", 11) == 0)
        {
          const char *cq = line + 11;
          if (get_quoted (&cq, d->create_type, sizeof d->create_type) < 0)
            return vdvs_error_set (err, EINVAL,
                                   "bad createType in descriptor");
        }
      else if (strncmp (line, "ddb.sidecars = ", 15) == 0)
        {
          const char *cq = line + 15;
          char pair[NAME_MAX + 64];
          char *comma;
          if (get_quoted (&cq, pair, sizeof pair) < 0
              || (comma = strchr (pair, ',')) == NULL
              || strchr (comma + 1, '/') != NULL
              || strlen (comma + 1) >= sizeof d->sidecar)
            return vdvs_error_set (err, EINVAL,
                                   "bad ddb.sidecars in descriptor");
          strcpy (d->sidecar, comma + 1);
        }
      else if (strcmp (line, "ddb.thinProvisioned = \"1\"") == 0)
        d->thin = true;
    }
  if (!have_extent)
    return vdvs_error_set (err, EINVAL, "VMDK descriptor has no extent");
  return 0;
}

int
mock_descriptor_write (const struct mock_vol *v, uint64_t bytes, bool thin,
                       vdvs_error_t *err)
{
  struct mock_descriptor d;
  char *text, uuid[64];
  uint64_t h = vdvs_hash (v->descriptor);
  int r;

  memset (&d, 0, sizeof d);
  d.sectors = bytes / 512;
  d.thin = thin;
  strcpy (d.create_type, "vmfs");
  snprintf (d.extent, sizeof d.extent, "%s", v->flat_name);
  snprintf (d.sidecar, sizeof d.sidecar, "%s", v->sidecar_name);
  snprintf (uuid, sizeof uuid,
            "60 00 C2 %02x %02x %02x %02x %02x-%02x %02x %02x %02x %02x %02x "
            "%02x %02x",
            (unsigned) (h >> 56) & 0xff, (unsigned) (h >> 48) & 0xff,
            (unsigned) (h >> 40) & 0xff, (unsigned) (h >> 32) & 0xff,
            (unsigned) (h >> 24) & 0xff, (unsigned) (h >> 16) & 0xff,
            (unsigned) (h >> 8) & 0xff, (unsigned) h & 0xff,
            (unsigned) (bytes >> 8) & 0xff, (unsigned) bytes & 0xff,
            (unsigned) (h >> 4) & 0xff, (unsigned) (h >> 12) & 0xff,
            (unsigned) (h >> 20) & 0xff);
  if (mock_descriptor_format (&d, uuid, &text) < 0)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  r = mock_write_atomic (v->descriptor, text, strlen (text));
  free (text);
  if (r < 0)
    return vdvs_error_set (err, -r, "Failed to create volume: %s",
                           strerror (-r));
  return 0;
}

int
mock_descriptor_read (const struct mock_vol *v, struct mock_descriptor *d,
                      vdvs_error_t *err)
{
  char buf[8192];
  int fd = open (v->descriptor, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    {
      if (errno == ENOENT)
        return mock_not_found (v, err);
      return vdvs_error_set (err, errno, "cannot open `%s`: %s", v->descriptor,
                             strerror (errno));
    }
  n = read (fd, buf, sizeof buf);
  close (fd);
  if (n < 0)
    return vdvs_error_set (err, errno, "cannot read `%s`: %s", v->descriptor,
                           strerror (errno));
  if (mock_descriptor_parse (buf, (size_t) n, d, err) < 0)
    return vdvs_error_wrap (err,
                            "Volume %s has a corrupt descriptor (file: %s)",
                            v->vol, v->esx_path);
  return 0;
}
