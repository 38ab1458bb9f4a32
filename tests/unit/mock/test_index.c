/* The in-memory volume index (backends/mock/index.c): List answered from
 * memory and kept coherent by inotify with changes made by other processes
 * (other VMs), renames, deletes, a folder replaced or missing, bursts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "index.h"
#include "t_mock.h"

static char tmp[PATH_MAX];

static void
setup (void)
{
  t_mkdtemp (tmp, sizeof tmp, "index");
}

static void
teardown (void)
{
  t_rmrf (tmp);
}

TestSuite (index, .init = setup, .fini = teardown);

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The backend's List, sorted, joined with spaces. */
static void
list_of (struct mock *m, char *buf, size_t len)
{
  struct vdvs_volume_list l = { 0 };
  vdvs_error_t err = NULL;
  size_t off = 0;

  cr_assert_eq (vdvs_backend_mock.list (m, &l, &err), 0, "%s",
                err ? err->msg : "");
  if (l.n > 0)
    qsort (l.names, l.n, sizeof l.names[0], cmp_str);
  buf[0] = '\0';
  for (size_t i = 0; i < l.n; i++)
    off += (size_t) snprintf (buf + off, len - off, "%s%s", i ? " " : "",
                              l.names[i]);
  vdvs_volume_list_clear (&l);
}

static void
touch_file (const char *dir, const char *name, size_t size)
{
  char path[PATH_MAX * 2], data[8192];
  memset (data, '#', sizeof data);
  snprintf (path, sizeof path, "%s/%s", dir, name);
  t_write_file (path, data, size);
}

static void
file_path (char *buf, size_t len, const char *dir, const char *name)
{
  snprintf (buf, len, "%s/%s", dir, name);
}

/* Another VM, in another process, creates and removes volumes: this
 * handle's List shows it at once (no sleep: the events are queued by the
 * time the other process's calls return). */
Test (index, other_vm_changes_appear_in_list)
{
  struct mock *a = t_mock_open (tmp, "vmA", T_UUID_A);
  char got[4096];
  pid_t pid;
  int st;

  t_create_ok (a, "mine", NULL);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "mine@datastore1");

  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      struct mock *b = t_mock_open (tmp, "vmB", T_UUID_B);
      vdvs_error_t err = NULL;
      int r = t_create (b, "theirs", &err, NULL);
      r = r ?: t_create (b, "other@ds2", &err, NULL);
      vdvs_backend_mock.close (b);
      _exit (r == 0 ? 0 : 1);
    }
  cr_assert_eq (waitpid (pid, &st, 0), pid);
  cr_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "mine@datastore1 other@ds2 theirs@datastore1");

  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      struct mock *b = t_mock_open (tmp, "vmB", T_UUID_B);
      vdvs_error_t err = NULL;
      int r = vdvs_backend_mock.remove (b, "theirs", NULL, &err);
      vdvs_backend_mock.close (b);
      _exit (r == 0 ? 0 : 1);
    }
  cr_assert_eq (waitpid (pid, &st, 0), pid);
  cr_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "mine@datastore1 other@ds2");
  vdvs_backend_mock.close (a);
}

/* Lists come from memory: creates, renames, deletes and debris change the
 * answer without any rescan of the folder. */
Test (index, follows_renames_deletes_without_rescans)
{
  char d1[PATH_MAX], d2[PATH_MAX], from[PATH_MAX * 2], to[PATH_MAX * 2];
  const char *const names[] = { "ds1", "ds2" };
  const char *const dirs[] = { d1, d2 };
  struct vdvs_volume_list l = { 0 };
  struct mock_index *ix;
  vdvs_error_t err = NULL;

  snprintf (d1, sizeof d1, "%s/d1", tmp);
  snprintf (d2, sizeof d2, "%s/d2", tmp);
  mkdir (d1, 0755);
  mkdir (d2, 0755);
  touch_file (d1, "pre.vmdk", 100);
  ix = mock_index_new (2, names, dirs);
  cr_assert_not_null (ix);
  cr_assert_eq (mock_index_count (ix), 1);
  cr_assert_eq (mock_index_rescans (ix), 2); /* the initial scans */

  touch_file (d1, "a.vmdk", 100);
  touch_file (d2, "b.vmdk", 100);
  touch_file (d1, "a-flat.vmdk", 100);      /* extent: not a volume */
  touch_file (d1, "a-000001.vmdk", 100);    /* snapshot: not a volume */
  touch_file (d1, "huge.vmdk", 6000);       /* over 5000 bytes */
  touch_file (d1, ".a.vmdk.tmp42", 100);    /* the atomic writer's temp */
  cr_assert_eq (mock_index_count (ix), 3);

  /* Atomic replace, rename to another name, rename out of the folder. */
  touch_file (d1, ".x.tmp", 100);
  file_path (from, sizeof from, d1, ".x.tmp");
  file_path (to, sizeof to, d1, "a.vmdk");
  cr_assert_eq (rename (from, to), 0);
  cr_assert_eq (mock_index_count (ix), 3);
  file_path (from, sizeof from, d1, "a.vmdk");
  file_path (to, sizeof to, d1, "renamed.vmdk");
  cr_assert_eq (rename (from, to), 0);
  file_path (from, sizeof from, d1, "pre.vmdk");
  file_path (to, sizeof to, tmp, "away.vmdk");
  cr_assert_eq (rename (from, to), 0);
  file_path (from, sizeof from, d2, "b.vmdk");
  cr_assert_eq (unlink (from), 0);
  /* A file that grows past the limit stops being a descriptor. */
  touch_file (d1, "grows.vmdk", 10);
  cr_assert_eq (mock_index_count (ix), 2);
  touch_file (d1, "grows.vmdk", 6000);

  cr_assert_eq (mock_index_fill (ix, &l, &err), 0);
  cr_assert_eq (l.n, 1);
  cr_assert_str_eq (l.names[0], "renamed@ds1");
  vdvs_volume_list_clear (&l);
  cr_assert_eq (mock_index_rescans (ix), 2, "rescanned %lu times",
                mock_index_rescans (ix));
  mock_index_free (ix);
}

/* The folder removed and made again (or missing at start): the index
 * reports it unreadable, then rescans once it is back. */
Test (index, folder_replaced_or_missing_is_rescanned)
{
  char d1[PATH_MAX], d2[PATH_MAX], moved[PATH_MAX * 2];
  const char *const names[] = { "ds1", "ds2" };
  const char *const dirs[] = { d1, d2 };
  struct mock_index *ix;

  snprintf (d1, sizeof d1, "%s/d1", tmp);
  snprintf (d2, sizeof d2, "%s/d2", tmp);
  mkdir (d1, 0755);
  touch_file (d1, "a.vmdk", 100);
  ix = mock_index_new (2, names, dirs); /* d2 does not exist yet */
  cr_assert_not_null (ix);
  cr_assert_eq (mock_index_count (ix), -1);
  mkdir (d2, 0755);
  touch_file (d2, "b.vmdk", 100);
  cr_assert_eq (mock_index_count (ix), 2);

  /* d1 moved away and replaced by a folder with other volumes. */
  snprintf (moved, sizeof moved, "%s/old", tmp);
  cr_assert_eq (rename (d1, moved), 0);
  mkdir (d1, 0755);
  touch_file (d1, "c.vmdk", 100);
  touch_file (d1, "d.vmdk", 100);
  cr_assert_eq (mock_index_count (ix), 3);
  /* The old folder is no longer watched. */
  touch_file (moved, "e.vmdk", 100);
  cr_assert_eq (mock_index_count (ix), 3);

  t_rmrf (d2);
  cr_assert_eq (mock_index_count (ix), -1);
  mock_index_free (ix);
}

/* A burst of creates by another process (more events than the kernel
 * queue holds by default) ends with the exact set. */
Test (index, burst_of_creates_and_deletes, .timeout = 60)
{
  char d1[PATH_MAX], name[64], path[PATH_MAX * 2];
  const char *const names[] = { "ds1" };
  const char *const dirs[] = { d1 };
  struct mock_index *ix;
  pid_t pid;
  int st;

  snprintf (d1, sizeof d1, "%s/d1", tmp);
  mkdir (d1, 0755);
  ix = mock_index_new (1, names, dirs);
  cr_assert_not_null (ix);
  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      for (int i = 0; i < 12000; i++)
        {
          snprintf (name, sizeof name, "v%05d.vmdk", i);
          touch_file (d1, name, 64);
        }
      for (int i = 0; i < 12000; i += 3)
        {
          snprintf (path, sizeof path, "%s/v%05d.vmdk", d1, i);
          if (unlink (path) < 0)
            _exit (1);
        }
      _exit (0);
    }
  cr_assert_eq (waitpid (pid, &st, 0), pid);
  cr_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  cr_assert_eq (mock_index_count (ix), 8000);
  mock_index_free (ix);
}
