/* libFuzzer harness: volume names (vdvs_name_parse) and their resolution
 * to datastore paths by the mock backend (mock_resolve).
 *
 * Input: the name as Docker sends it (NUL-terminated; bytes after an
 * embedded NUL are ignored, as the JSON layer would).
 *
 * Properties, on success:
 *  - the parts rebuild the name ("vol" or "vol@ds", split at the last @);
 *  - the volume part is 1..100 characters, without '/', '\\', control
 *    characters or a -NNNNNN suffix; the datastore is not ".", "..", and
 *    has no '/' or '\\';
 *  - every path mock_resolve builds is <root>/<configured ds>/dockvols/
 *    <tenant>/<file> with <file> one path component: no traversal out of
 *    the tenant folder, whatever the name;
 *  - the file names are not silently truncated. */
#include "fuzz_common.h"
#include "mock_i.h"

static struct mock m;
static char top[4096];

static void
at_exit (void)
{
  fuzz_rm_rf (top);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  vdvs_error_t err = NULL;

  (void) argc;
  (void) argv;
  fuzz_quiet ();
  fuzz_tmpdir (top, sizeof top, "name");
  atexit (at_exit);
  snprintf (m.cfg.root, sizeof m.cfg.root, "%s/root", top);
  snprintf (m.cfg.datastores, sizeof m.cfg.datastores,
            "datastore1,ds2,DS2b,vsanDatastore,d\xc3\xa4tastore");
  if (vdvs_mkdir_p (m.cfg.root, 0755) < 0
      || mock_datastores_init (&m, &err) < 0)
    {
      fprintf (stderr, "fuzz_name: set-up: %s\n", err ? err->msg : "mkdir");
      abort ();
    }
  return 0;
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

static size_t
chars (const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char) *s & 0xC0) != 0x80;
  return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *name = fuzz_strndup (data, size);
  struct vdvs_name n;
  struct mock_vol v;
  vdvs_error_t err = NULL;
  char buf[PATH_MAX * 2];

  if (vdvs_name_parse (name, &n, &err) < 0)
    {
      FUZZ_CHECK (err != NULL && err->msg != NULL);
      vdvs_error_release (&err);
      /* The backend refuses what the core refuses. */
      FUZZ_CHECK (mock_resolve (&m, name, &v, &err) < 0);
      vdvs_error_release (&err);
      free (name);
      return 0;
    }
  FUZZ_CHECK (err == NULL);
  if (n.datastore[0])
    snprintf (buf, sizeof buf, "%s@%s", n.volume, n.datastore);
  else
    snprintf (buf, sizeof buf, "%s", n.volume);
  /* "vol@" names the default datastore, as upstream: it parses as "vol". */
  size_t blen = strlen (buf);
  FUZZ_CHECK (strcmp (buf, name) == 0
              || (n.datastore[0] == '\0' && strncmp (buf, name, blen) == 0
                  && strcmp (name + blen, "@") == 0));
  FUZZ_CHECK (n.volume[0] != '\0'
              && chars (n.volume) <= VDVS_MAX_VOL_NAME_LEN);
  FUZZ_CHECK (chars (n.datastore) <= VDVS_MAX_DS_NAME_LEN);
  FUZZ_CHECK (strpbrk (n.volume, "/\\") == NULL);
  FUZZ_CHECK (strpbrk (n.datastore, "/\\") == NULL);
  FUZZ_CHECK (strcmp (n.datastore, ".") != 0
              && strcmp (n.datastore, "..") != 0);
  for (const char *p = name; *p; p++)
    FUZZ_CHECK ((unsigned char) *p >= 0x20 && *p != 0x7f);

  if (mock_resolve (&m, name, &v, &err) == 0)
    {
      char dir[PATH_MAX + 64];
      bool known = false;

      for (size_t i = 0; i < m.n_ds; i++)
        known = known || strcmp (v.ds, m.ds[i]) == 0;
      FUZZ_CHECK (known);
      FUZZ_CHECK (strcmp (v.vol, n.volume) == 0);
      snprintf (dir, sizeof dir, "%s/%s/dockvols/%s", m.cfg.root, v.ds,
                MOCK_TENANT_UUID);
      FUZZ_CHECK (strcmp (v.dir, dir) == 0);
      snprintf (buf, sizeof buf, "%s/%s.vmdk", dir, n.volume);
      FUZZ_CHECK (strcmp (v.descriptor, buf) == 0);
      snprintf (buf, sizeof buf, "%s-flat.vmdk", n.volume);
      if (strcmp (v.flat_name, buf) != 0)
        fprintf (stderr, "flat file name truncated: `%s` for volume `%s`\n",
                 v.flat_name, n.volume);
      FUZZ_CHECK (strcmp (v.flat_name, buf) == 0);
      FUZZ_CHECK (strchr (v.flat_name, '/') == NULL);
      FUZZ_CHECK (strchr (v.sidecar_name, '/') == NULL);
      FUZZ_CHECK (ends_with (v.sidecar_name, ".vmfd"));
      snprintf (buf, sizeof buf, "%s/%s", dir, v.flat_name);
      FUZZ_CHECK (strcmp (v.flat, buf) == 0);
      snprintf (buf, sizeof buf, "%s/%s", dir, v.sidecar_name);
      FUZZ_CHECK (strcmp (v.sidecar, buf) == 0);
    }
  else
    FUZZ_CHECK (err != NULL && err->msg != NULL);
  vdvs_error_release (&err);
  free (name);
  return 0;
}
