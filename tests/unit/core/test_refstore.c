/* Mount reference counts and their persistence (src/refstore.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "refstore.h"
#include "t_helpers.h"

static char tmp[PATH_MAX];

static void
setup (void)
{
  t_mkdtemp (tmp, sizeof tmp, "refstore");
}

static void
teardown (void)
{
  t_rmrf (tmp);
}

/* ---- the in-memory table ------------------------------------------- */

static unsigned
count_of (const struct vdvs_refs *r, const char *id)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->v[i].id, id) == 0)
      return r->v[i].count;
  return 0;
}

Test (refs, counts_per_id)
{
  struct vdvs_refs r = { 0 };

  cr_assert_eq (vdvs_refs_total (&r), 0);
  cr_assert_eq (vdvs_refs_add (&r, "c1"), 0);
  cr_assert_eq (vdvs_refs_add (&r, "c1"), 0); /* docker cp reuses an ID */
  cr_assert_eq (vdvs_refs_add (&r, "c2"), 0);
  cr_assert_eq (r.n, 2);
  cr_assert_eq (count_of (&r, "c1"), 2);
  cr_assert_eq (count_of (&r, "c2"), 1);
  cr_assert_eq (vdvs_refs_total (&r), 3);
  vdvs_refs_clear (&r);
  cr_assert_eq (r.n, 0);
  cr_assert_null (r.v);
}

Test (refs, drop_known_id)
{
  struct vdvs_refs r = { 0 };

  vdvs_refs_add (&r, "c1");
  vdvs_refs_add (&r, "c1");
  vdvs_refs_add (&r, "c2");
  cr_assert_eq (vdvs_refs_drop (&r, "c1"), 1);
  cr_assert_eq (count_of (&r, "c1"), 1);
  cr_assert_eq (vdvs_refs_total (&r), 2);
  cr_assert_eq (vdvs_refs_drop (&r, "c1"), 1);
  cr_assert_eq (r.n, 1, "an ID at zero leaves the table");
  cr_assert_eq (count_of (&r, "c2"), 1);
  cr_assert_eq (vdvs_refs_drop (&r, "c1"), -1);
  cr_assert_eq (vdvs_refs_drop (&r, "c2"), 1);
  cr_assert_eq (vdvs_refs_total (&r), 0);
  cr_assert_eq (vdvs_refs_drop (&r, "c2"), -1);
  vdvs_refs_clear (&r);
}

Test (refs, anonymous_references)
{
  struct vdvs_refs r = { 0 };

  r.anon = 2;
  vdvs_refs_add (&r, "known");
  cr_assert_eq (vdvs_refs_total (&r), 3);
  /* A known ID uses up its own count, not an anonymous one. */
  cr_assert_eq (vdvs_refs_drop (&r, "known"), 1);
  cr_assert_eq (r.anon, 2);
  /* An unknown ID uses up an anonymous (recovered) reference. */
  cr_assert_eq (vdvs_refs_drop (&r, "unknown"), 0);
  cr_assert_eq (r.anon, 1);
  cr_assert_eq (vdvs_refs_drop (&r, "other"), 0);
  cr_assert_eq (r.anon, 0);
  cr_assert_eq (vdvs_refs_drop (&r, "other"), -1);
  cr_assert_eq (vdvs_refs_total (&r), 0);
  vdvs_refs_clear (&r);
  cr_assert_eq (r.anon, 0);
}

/* After an engine restart, references of the old engine become prior:
 * counted, unmountable by any ID (the new engine's Unmount of a restored
 * container), and used up before recovered ones. */
Test (refs, ageing_makes_references_prior)
{
  struct vdvs_refs r = { 0 };

  r.anon = 1;
  vdvs_refs_add (&r, "old");
  vdvs_refs_add (&r, "old");
  vdvs_refs_age (&r);
  cr_assert_eq (r.n, 0);
  cr_assert_eq (r.anon, 0);
  cr_assert_eq (r.prior, 3);
  cr_assert_eq (vdvs_refs_total (&r), 3);
  /* A new engine's own Mount and Unmount leave the prior ones alone. */
  vdvs_refs_add (&r, "new");
  cr_assert_eq (vdvs_refs_total (&r), 4);
  cr_assert_eq (vdvs_refs_drop (&r, "new"), 1);
  cr_assert_eq (r.prior, 3);
  /* The old ID, now unknown, uses up a prior reference first. */
  r.anon = 1;
  cr_assert_eq (vdvs_refs_drop (&r, "old"), 0);
  cr_assert_eq (r.prior, 2);
  cr_assert_eq (r.anon, 1);
  vdvs_refs_clear (&r);
  cr_assert_eq (r.prior, 0);
  cr_assert_eq (vdvs_refs_total (&r), 0);
}

Test (refs, drop_from_the_middle_keeps_others)
{
  struct vdvs_refs r = { 0 };
  char id[16];

  for (int i = 0; i < 10; i++)
    {
      snprintf (id, sizeof id, "id%d", i);
      vdvs_refs_add (&r, id);
    }
  cr_assert_eq (vdvs_refs_drop (&r, "id3"), 1);
  cr_assert_eq (vdvs_refs_drop (&r, "id0"), 1);
  cr_assert_eq (r.n, 8);
  for (int i = 0; i < 10; i++)
    {
      snprintf (id, sizeof id, "id%d", i);
      cr_assert_eq (count_of (&r, id), i == 0 || i == 3 ? 0u : 1u, "%s", id);
    }
  vdvs_refs_clear (&r);
}

Test (refs, longest_mount_id_is_kept_whole)
{
  struct vdvs_refs r = { 0 };
  char id[VDVS_MOUNT_ID_MAX + 1];

  memset (id, 'f', VDVS_MOUNT_ID_MAX);
  id[VDVS_MOUNT_ID_MAX] = '\0';
  vdvs_refs_add (&r, id);
  cr_assert_str_eq (r.v[0].id, id);
  cr_assert_eq (vdvs_refs_drop (&r, id), 1);
  vdvs_refs_clear (&r);
}

/* ---- persistence ------------------------------------------------------ */

struct loaded
{
  int calls;
  char full[8][256];
  struct vdvs_refs refs[8];
};

static void
collect (const char *full, struct vdvs_refs *r, void *opaque)
{
  struct loaded *l = opaque;

  cr_assert_lt (l->calls, 8);
  snprintf (l->full[l->calls], sizeof l->full[0], "%s", full);
  l->refs[l->calls] = *r; /* ownership moves to us */
  l->calls++;
}

static void
loaded_clear (struct loaded *l)
{
  for (int i = 0; i < l->calls; i++)
    vdvs_refs_clear (&l->refs[i]);
}

static int
find_loaded (const struct loaded *l, const char *full)
{
  for (int i = 0; i < l->calls; i++)
    if (strcmp (l->full[i], full) == 0)
      return i;
  return -1;
}

Test (refstore, init_creates_nested_state_dir, .init = setup, .fini = teardown)
{
  char dir[PATH_MAX], refs[PATH_MAX + 8];
  struct stat st;
  vdvs_error_t err = NULL;

  snprintf (dir, sizeof dir, "%s/run/vdvs/vsphere", tmp);
  cr_assert_eq (vdvs_refstore_init (dir, &err), 0);
  snprintf (refs, sizeof refs, "%s/refs", dir);
  cr_assert_eq (stat (refs, &st), 0);
  cr_assert (S_ISDIR (st.st_mode));
  cr_assert_eq (st.st_mode & 0777, 0700);
  /* Twice is fine. */
  cr_assert_eq (vdvs_refstore_init (dir, &err), 0);
  cr_assert_null (err);
}

Test (refstore, init_failure_is_reported, .init = setup, .fini = teardown)
{
  char file[PATH_MAX + 8];
  vdvs_error_t err = NULL;

  snprintf (file, sizeof file, "%s/f", tmp);
  t_write_file (file, "x", 1);
  cr_assert_lt (vdvs_refstore_init (file, &err), 0);
  cr_assert_not_null (err);
  cr_assert (strstr (err->msg, "cannot create state dir") != NULL, "%s",
             err->msg);
  vdvs_error_release (&err);
}

Test (refstore, round_trip, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 }, r2 = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  int i;

  cr_assert_eq (vdvs_refstore_init (tmp, &err), 0);
  vdvs_refs_add (&r, "c1");
  vdvs_refs_add (&r, "c1");
  vdvs_refs_add (&r, "c2");
  r.anon = 3;
  cr_assert_eq (vdvs_refstore_save (tmp, "v@datastore1", &r, &err), 0);
  vdvs_refs_add (&r2, "x");
  cr_assert_eq (vdvs_refstore_save (tmp, "Volume Space@ds2", &r2, &err), 0);
  cr_assert_null (err);

  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), 0);
  cr_assert_eq (l.calls, 2);
  i = find_loaded (&l, "v@datastore1");
  cr_assert_geq (i, 0);
  cr_assert_eq (l.refs[i].n, 2);
  cr_assert_eq (count_of (&l.refs[i], "c1"), 2);
  cr_assert_eq (count_of (&l.refs[i], "c2"), 1);
  cr_assert_eq (l.refs[i].anon, 3);
  cr_assert_eq (vdvs_refs_total (&l.refs[i]), 6);
  i = find_loaded (&l, "Volume Space@ds2");
  cr_assert_geq (i, 0);
  cr_assert_eq (count_of (&l.refs[i], "x"), 1);
  cr_assert_eq (l.refs[i].anon, 0);
  loaded_clear (&l);
  vdvs_refs_clear (&r);
  vdvs_refs_clear (&r2);
}

Test (refstore, saved_file_is_json_with_name, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  vdvs_error_t err = NULL;
  char path[PATH_MAX + 32];
  char *text;

  vdvs_refstore_init (tmp, &err);
  vdvs_refs_add (&r, "abc");
  r.anon = 1;
  vdvs_refstore_save (tmp, "v@ds", &r, &err);
  snprintf (path, sizeof path, "%s/refs/v@ds", tmp);
  text = t_read_file (path, NULL);
  cr_assert_str_eq (text, "{\"name\":\"v@ds\",\"mounts\":{\"abc\":1},"
                          "\"recovered\":1}");
  free (text);
  vdvs_refs_clear (&r);
}

/* Prior references survive a restart of vdvsd as recovered ones. */
Test (refstore, prior_saved_as_recovered, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_refstore_init (tmp, &err), 0);
  vdvs_refs_add (&r, "a");
  r.anon = 1;
  r.prior = 2;
  cr_assert_eq (vdvs_refstore_save (tmp, "v@ds", &r, &err), 0);
  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), 0);
  cr_assert_eq (l.calls, 1);
  cr_assert_eq (count_of (&l.refs[0], "a"), 1);
  cr_assert_eq (l.refs[0].anon, 3);
  cr_assert_eq (vdvs_refs_total (&l.refs[0]), 4);
  loaded_clear (&l);
  memset (&l, 0, sizeof l);
  /* Only prior references left: the file stays. */
  vdvs_refs_drop (&r, "a");
  r.anon = 0;
  cr_assert_eq (vdvs_refstore_save (tmp, "v@ds", &r, &err), 0);
  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), 0);
  cr_assert_eq (l.calls, 1);
  cr_assert_eq (vdvs_refs_total (&l.refs[0]), 2);
  loaded_clear (&l);
  vdvs_refs_clear (&r);
}

Test (refstore, overwrite_keeps_latest, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;

  vdvs_refstore_init (tmp, &err);
  vdvs_refs_add (&r, "a");
  vdvs_refstore_save (tmp, "v@ds", &r, &err);
  vdvs_refs_add (&r, "b");
  vdvs_refs_drop (&r, "a");
  vdvs_refstore_save (tmp, "v@ds", &r, &err);
  vdvs_refstore_load (tmp, collect, &l);
  cr_assert_eq (l.calls, 1);
  cr_assert_eq (count_of (&l.refs[0], "a"), 0);
  cr_assert_eq (count_of (&l.refs[0], "b"), 1);
  loaded_clear (&l);
  vdvs_refs_clear (&r);
}

Test (refstore, total_zero_removes_the_file, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  char path[PATH_MAX + 32];

  vdvs_refstore_init (tmp, &err);
  snprintf (path, sizeof path, "%s/refs/v@ds", tmp);
  vdvs_refs_add (&r, "a");
  cr_assert_eq (vdvs_refstore_save (tmp, "v@ds", &r, &err), 0);
  cr_assert (t_exists (path));
  vdvs_refs_drop (&r, "a");
  cr_assert_eq (vdvs_refstore_save (tmp, "v@ds", &r, &err), 0);
  cr_assert_not (t_exists (path));
  /* Saving nothing for a volume without a file is fine too. */
  cr_assert_eq (vdvs_refstore_save (tmp, "v@ds", &r, &err), 0);
  cr_assert_null (err);
  vdvs_refstore_load (tmp, collect, &l);
  cr_assert_eq (l.calls, 0);
  /* Only anonymous references still need a file. */
  r.anon = 1;
  vdvs_refstore_save (tmp, "v@ds", &r, &err);
  cr_assert (t_exists (path));
  vdvs_refs_clear (&r);
}

Test (refstore, corrupt_files_are_ignored, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  char path[PATH_MAX + 32];
  static const char *const bad[] = {
    "garbage",
    "",
    "[1,2]",
    "{\"mounts\":[1]}",
    "{\"name\":\"x\"}",
    "{\"mounts\":{\"a\":1}", /* truncated by a crash */
  };

  vdvs_refstore_init (tmp, &err);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      snprintf (path, sizeof path, "%s/refs/bad%zu@ds", tmp, i);
      t_write_file (path, bad[i], strlen (bad[i]));
    }
  vdvs_refs_add (&r, "ok");
  vdvs_refstore_save (tmp, "good@ds", &r, &err);
  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), 0);
  cr_assert_eq (l.calls, 1);
  cr_assert_str_eq (l.full[0], "good@ds");
  loaded_clear (&l);
  vdvs_refs_clear (&r);
}

Test (refstore, out_of_range_counts_are_dropped, .init = setup,
      .fini = teardown)
{
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  char path[PATH_MAX + 32];
  const char *text = "{\"name\":\"v@ds\",\"mounts\":{\"zero\":0,\"neg\":-1,"
                     "\"huge\":2e6,\"str\":\"1\",\"two\":2},"
                     "\"recovered\":-4}";

  vdvs_refstore_init (tmp, &err);
  snprintf (path, sizeof path, "%s/refs/v@ds", tmp);
  t_write_file (path, text, strlen (text));
  vdvs_refstore_load (tmp, collect, &l);
  cr_assert_eq (l.calls, 1);
  cr_assert_eq (l.refs[0].n, 1);
  cr_assert_eq (count_of (&l.refs[0], "two"), 2);
  cr_assert_eq (l.refs[0].anon, 0);
  loaded_clear (&l);
}

Test (refstore, leftover_temp_file_is_removed, .init = setup, .fini = teardown)
{
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  char path[PATH_MAX + 32];
  const char *text = "{\"name\":\"v@ds\",\"mounts\":{\"a\":1},\"recovered\":0}";

  vdvs_refstore_init (tmp, &err);
  snprintf (path, sizeof path, "%s/refs/.tmp.12345", tmp);
  t_write_file (path, text, strlen (text));
  vdvs_refstore_load (tmp, collect, &l);
  cr_assert_eq (l.calls, 0);
  cr_assert_not (t_exists (path));
}

Test (refstore, volume_names_starting_with_a_dot, .init = setup,
      .fini = teardown)
{
  /* ".x" and ".tmp.1" are legal volume names (only '/' and '\\' are
   * not): their references must survive a restart like any other. */
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;

  vdvs_refstore_init (tmp, &err);
  vdvs_refs_add (&r, "c1");
  cr_assert_eq (vdvs_refstore_save (tmp, ".x@datastore1", &r, &err), 0);
  cr_assert_eq (vdvs_refstore_save (tmp, ".tmp.1@datastore1", &r, &err), 0);
  vdvs_refstore_load (tmp, collect, &l);
  cr_assert_eq (l.calls, 2);
  cr_assert_geq (find_loaded (&l, ".x@datastore1"), 0);
  cr_assert_geq (find_loaded (&l, ".tmp.1@datastore1"), 0);
  loaded_clear (&l);
  vdvs_refs_clear (&r);
}

Test (refstore, load_without_dir_fails, .init = setup, .fini = teardown)
{
  struct loaded l = { 0 };
  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), -ENOENT);
  cr_assert_eq (l.calls, 0);
}

Test (refstore, save_into_missing_dir_fails, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  vdvs_error_t err = NULL;

  vdvs_refs_add (&r, "a");
  cr_assert_lt (vdvs_refstore_save (tmp, "v@ds", &r, &err), 0);
  cr_assert_not_null (err);
  cr_assert_str_eq (err->msg, "cannot save refcounts of `v@ds`: No such file "
                              "or directory");
  vdvs_error_release (&err);
  vdvs_refs_clear (&r);
}

/* A volume with thousands of mount IDs has a refs file far over 64 KiB:
 * it is read whole at load, every reference kept. */
Test (refstore, large_file_survives_a_reload, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  char id[VDVS_MOUNT_ID_MAX + 1], path[PATH_MAX + 32];
  struct stat st;
  const int n = 3000;

  cr_assert_eq (vdvs_refstore_init (tmp, &err), 0);
  for (int i = 0; i < n; i++)
    {
      snprintf (id, sizeof id, "%064x", i);
      cr_assert_eq (vdvs_refs_add (&r, id), 0);
      if (i % 7 == 0)
        vdvs_refs_add (&r, id);
    }
  r.anon = 2;
  cr_assert_eq (vdvs_refstore_save (tmp, "busy@ds", &r, &err), 0, "%s",
                err ? err->msg : "");
  snprintf (path, sizeof path, "%s/refs/busy@ds", tmp);
  cr_assert_eq (stat (path, &st), 0);
  cr_assert_gt (st.st_size, 3 * 65536, "only %lld bytes",
                (long long) st.st_size);

  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), 0);
  cr_assert_eq (l.calls, 1);
  cr_assert_eq (l.refs[0].n, (size_t) n);
  cr_assert_eq (vdvs_refs_total (&l.refs[0]), vdvs_refs_total (&r));
  snprintf (id, sizeof id, "%064x", n - 1);
  cr_assert_eq (count_of (&l.refs[0], id), (n - 1) % 7 == 0 ? 2u : 1u);
  snprintf (id, sizeof id, "%064x", 0);
  cr_assert_eq (count_of (&l.refs[0], id), 2);
  cr_assert_eq (l.refs[0].anon, 2);
  loaded_clear (&l);
  vdvs_refs_clear (&r);
}

/* Past the cap a file is reported and skipped, the others still load. */
Test (refstore, file_over_the_cap_is_skipped, .init = setup, .fini = teardown)
{
  struct vdvs_refs r = { 0 };
  struct loaded l = { 0 };
  vdvs_error_t err = NULL;
  char path[PATH_MAX + 32];
  int fd;

  cr_assert_eq (vdvs_refstore_init (tmp, &err), 0);
  snprintf (path, sizeof path, "%s/refs/huge@ds", tmp);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq (fd, 0);
  cr_assert_eq (ftruncate (fd, VDVS_REFS_FILE_MAX + 1), 0);
  close (fd);
  vdvs_refs_add (&r, "ok");
  vdvs_refstore_save (tmp, "good@ds", &r, &err);
  cr_assert_eq (vdvs_refstore_load (tmp, collect, &l), 0);
  cr_assert_eq (l.calls, 1);
  cr_assert_str_eq (l.full[0], "good@ds");
  loaded_clear (&l);
  vdvs_refs_clear (&r);
}
