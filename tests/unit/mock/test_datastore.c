/* Datastores, volume paths and resolution, locks and helpers
 * (backends/mock/datastore.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/file.h>

#include "../core/t_helpers.h"
#include "mock_i.h"

#define TENANT "11111111-1111-1111-1111-111111111111"

static char tmp[PATH_MAX];
static struct mock m;

static void
setup (void)
{
  t_mkdtemp (tmp, sizeof tmp, "datastore");
  memset (&m, 0, sizeof m);
  snprintf (m.cfg.root, sizeof m.cfg.root, "%s/root", tmp);
}

static void
teardown (void)
{
  t_rmrf (tmp);
}

static void
init_ok (const char *list)
{
  vdvs_error_t err = NULL;

  snprintf (m.cfg.datastores, sizeof m.cfg.datastores, "%s", list);
  cr_assert_eq (mock_datastores_init (&m, &err), 0, "%s", err ? err->msg : "");
}

static void
init_bad (const char *list, const char *msg)
{
  vdvs_error_t err = NULL;

  snprintf (m.cfg.datastores, sizeof m.cfg.datastores, "%s", list);
  cr_assert_lt (mock_datastores_init (&m, &err), 0, "`%s` accepted", list);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
}

TestSuite (datastore, .init = setup, .fini = teardown);

Test (datastore, init_makes_the_layout)
{
  char path[PATH_MAX * 2], link[64];
  struct stat st;
  ssize_t n;

  init_ok ("datastore1, fast_ds,,");
  cr_assert_eq (m.n_ds, 2);
  cr_assert_str_eq (m.ds[0], "datastore1");
  cr_assert_str_eq (m.ds[1], "fast_ds");
  for (size_t i = 0; i < m.n_ds; i++)
    {
      snprintf (path, sizeof path, "%s/root/%s/dockvols/" TENANT, tmp,
                m.ds[i]);
      cr_assert_eq (stat (path, &st), 0, "%s", path);
      cr_assert (S_ISDIR (st.st_mode));
      snprintf (path, sizeof path, "%s/root/%s/dockvols/_DEFAULT", tmp,
                m.ds[i]);
      n = readlink (path, link, sizeof link - 1);
      cr_assert_gt (n, 0);
      link[n] = '\0';
      cr_assert_str_eq (link, TENANT);
    }
  /* Again on the same root: nothing to do, no error. */
  init_ok ("datastore1,fast_ds");
}

Test (datastore, bad_datastore_lists)
{
  char list[4096], name[128];

  init_bad ("", "no datastore configured");
  init_bad (" , ,", "no datastore configured");
  init_bad ("a/b", "invalid datastore name `a/b`: at most 100 characters, no "
                   "'/', '@' or leading '.'");
  init_bad ("ds,x@y", "invalid datastore name `x@y`: at most 100 characters, "
                      "no '/', '@' or leading '.'");
  init_bad ("..", "invalid datastore name `..`: at most 100 characters, no "
                  "'/', '@' or leading '.'");
  char want[512];

  memset (name, 'd', 101);
  name[101] = '\0';
  snprintf (list, sizeof list, "%s", name);
  snprintf (want, sizeof want,
            "invalid datastore name `%s`: at most 100 "
            "characters, no '/', '@' or leading '.'",
            name);
  init_bad (list, want);
  list[0] = '\0';
  for (int i = 0; i < 17; i++)
    snprintf (list + strlen (list), sizeof list - strlen (list), "%sds%d",
              i ? "," : "", i);
  init_bad (list, "too many datastores (max 16)");
}

static void
resolve_ok (const char *name, struct mock_vol *v)
{
  vdvs_error_t err = NULL;
  cr_assert_eq (mock_resolve (&m, name, v, &err), 0, "`%s`: %s", name,
                err ? err->msg : "");
}

static void
resolve_bad (const char *name, const char *msg)
{
  struct mock_vol v;
  vdvs_error_t err = NULL;

  cr_assert_lt (mock_resolve (&m, name, &v, &err), 0, "`%s` resolved", name);
  cr_assert_str_eq (err->msg, msg);
  vdvs_error_release (&err);
}

Test (datastore, resolve_short_name_to_the_default)
{
  struct mock_vol v;
  char want[PATH_MAX * 2];

  init_ok ("datastore1,ds2");
  resolve_ok ("MyVolume", &v);
  cr_assert_str_eq (v.vol, "MyVolume");
  cr_assert_str_eq (v.ds, "datastore1");
  snprintf (want, sizeof want, "%s/root/datastore1/dockvols/" TENANT, tmp);
  cr_assert_str_eq (v.dir, want);
  snprintf (want, sizeof want,
            "%s/root/datastore1/dockvols/" TENANT "/MyVolume.vmdk", tmp);
  cr_assert_str_eq (v.descriptor, want);
  snprintf (want, sizeof want,
            "%s/root/datastore1/dockvols/" TENANT "/MyVolume-flat.vmdk", tmp);
  cr_assert_str_eq (v.flat, want);
  cr_assert_str_eq (v.flat_name, "MyVolume-flat.vmdk");
  snprintf (want, sizeof want, "MyVolume-%016llx.vmfd",
            (unsigned long long) vdvs_hash ("MyVolume"));
  cr_assert_str_eq (v.sidecar_name, want);
  cr_assert_str_eq (strrchr (v.sidecar, '/') + 1, want);
  cr_assert_str_eq (v.esx_path,
                    "/vmfs/volumes/datastore1/dockvols/_DEFAULT/MyVolume.vmdk");
}

Test (datastore, resolve_corrects_the_case_of_datastores)
{
  struct mock_vol v;

  init_ok ("datastore1,Fast_DS");
  resolve_ok ("v@fast_ds", &v);
  cr_assert_str_eq (v.ds, "Fast_DS");
  cr_assert_str_eq (v.esx_path,
                    "/vmfs/volumes/Fast_DS/dockvols/_DEFAULT/v.vmdk");
  resolve_ok ("v@FAST_DS", &v);
  cr_assert_str_eq (v.ds, "Fast_DS");
  resolve_ok ("a@b@DATASTORE1", &v);
  cr_assert_str_eq (v.vol, "a@b");
  cr_assert_str_eq (v.ds, "datastore1");
  /* An empty datastore is the default one (upstream's parse_vol_name). */
  resolve_ok ("v@", &v);
  cr_assert_str_eq (v.vol, "v");
  cr_assert_str_eq (v.ds, "datastore1");
  resolve_ok ("a@@", &v);
  cr_assert_str_eq (v.vol, "a@");
  cr_assert_str_eq (v.ds, "datastore1");
}

Test (datastore, unknown_datastore)
{
  init_ok ("a,b");
  resolve_bad ("x@x", "Invalid datastore 'x'.\nKnown datastores: a, b.\n"
                      "Default datastore: a");
  resolve_bad ("v@invalidDatastore", "Invalid datastore 'invalidDatastore'.\n"
                                     "Known datastores: a, b.\nDefault "
                                     "datastore: a");
}

Test (datastore, ambiguous_datastore)
{
  init_ok ("ds,DS,other");
  /* str() of upstream's ValidationError is repr() of its message, and
   * the list's own single quotes make repr() choose double ones. */
  resolve_bad ("v@Ds", "\"Found multiple datastores with same name (ignoring "
                       "case difference): ['ds', 'DS']\"");
}

Test (datastore, name_errors_come_through)
{
  init_ok ("datastore1");
  resolve_bad ("v-000001", "\"Volume names ending with '-NNNNNN' (where N is "
                           "a digit) are not supported\"");
  resolve_bad ("../x", "'Volume name contains illegal characters: /'");
  resolve_bad ("v@..", "Invalid datastore '..'");
}

Test (datastore, volume_exists_only_with_a_regular_descriptor)
{
  struct mock_vol v;

  init_ok ("datastore1");
  resolve_ok ("v", &v);
  cr_assert_not (mock_vol_exists (&v));
  t_write_file (v.flat, "x", 1);
  cr_assert_not (mock_vol_exists (&v), "an extent alone is no volume");
  cr_assert_eq (mkdir (v.descriptor, 0755), 0);
  cr_assert_not (mock_vol_exists (&v), "a directory is no descriptor");
  rmdir (v.descriptor);
  t_write_file (v.descriptor, "x", 1);
  cr_assert (mock_vol_exists (&v));
}

Test (datastore, lock_is_exclusive_across_open_files)
{
  struct mock_vol v;
  vdvs_error_t err = NULL;
  char path[PATH_MAX * 2];
  int fd, other;

  init_ok ("datastore1");
  resolve_ok ("v", &v);
  fd = mock_lock (&m, &v, &err);
  cr_assert_geq (fd, 0, "%s", err ? err->msg : "");
  snprintf (path, sizeof path, "%s/root/.locks/vol-%02x.lock", tmp,
            (unsigned) (vdvs_hash ("datastore1/v") % 256));
  other = open (path, O_RDWR);
  cr_assert_geq (other, 0, "no lock file %s", path);
  cr_assert_eq (flock (other, LOCK_EX | LOCK_NB), -1);
  cr_assert_eq (errno, EWOULDBLOCK);
  mock_unlock (fd);
  cr_assert_eq (flock (other, LOCK_EX | LOCK_NB), 0);
  close (other);
  mock_unlock (-1); /* harmless */
}

Test (datastore, fnv1a_hash)
{
  cr_assert_eq (vdvs_hash (""), UINT64_C (0xcbf29ce484222325));
  cr_assert_eq (vdvs_hash ("a"), UINT64_C (0xaf63dc4c8601ec8c));
  cr_assert_eq (vdvs_hash ("foobar"), UINT64_C (0x85944171f73967e8));
}

Test (datastore, mkdir_p_and_atomic_write)
{
  char path[PATH_MAX * 2], file[PATH_MAX * 2 + 8];
  DIR *d;
  struct dirent *de;
  char *text;
  int n = 0;

  snprintf (path, sizeof path, "%s/a/b/c", tmp);
  cr_assert_eq (vdvs_mkdir_p (path, 0755), 0);
  cr_assert_eq (vdvs_mkdir_p (path, 0755), 0);
  snprintf (file, sizeof file, "%s/data", path);
  cr_assert_eq (mock_write_atomic (file, "old", 3), 0);
  cr_assert_eq (mock_write_atomic (file, "new contents", 12), 0);
  text = t_read_file (file, NULL);
  cr_assert_str_eq (text, "new contents");
  free (text);
  /* No temp file is left behind. */
  d = opendir (path);
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' || strlen (de->d_name) > 2)
      {
        cr_assert_str_eq (de->d_name, "data");
        n++;
      }
  closedir (d);
  cr_assert_eq (n, 1);
  /* A file in the way of a directory. */
  snprintf (path, sizeof path, "%s/a/b/c/data/x", tmp);
  cr_assert_eq (vdvs_mkdir_p (path, 0755), -ENOTDIR);
  snprintf (file, sizeof file, "%s/missing/f", tmp);
  cr_assert_eq (mock_write_atomic (file, "x", 1), -ENOENT);
}
