/* The in-memory volume index (backends/mock/index.c, index_watch.c): List
 * answered from memory and kept coherent by inotify with changes made by
 * other processes (other VMs), renames, deletes, a folder replaced or
 * missing, bursts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* vmB's steps, in another process: create two volumes, then remove one. */
static int
vm_b_step (int n, void *arg)
{
  static struct mock *b;
  vdvs_error_t err = NULL;
  int r;

  (void) arg;
  if (n == 0)
    {
      b = t_mock_open (tmp, "vmB", T_UUID_B);
      r = t_create (b, "theirs", &err, NULL);
      return r ?: t_create (b, "other@ds2", &err, NULL);
    }
  r = vdvs_backend_mock.remove (b, "theirs", NULL, &err);
  vdvs_backend_mock.close (b);
  return r;
}

/* Another VM, in another process, creates and removes volumes: this
 * handle's List shows it at once (no sleep: the events are queued by the
 * time the other process's calls return). */
Test (index, other_vm_changes_appear_in_list)
{
  struct t_child vm_b;
  struct mock *a;
  char got[4096];

  t_child_start (&vm_b, vm_b_step, NULL);
  a = t_mock_open (tmp, "vmA", T_UUID_A);
  t_create_ok (a, "mine", NULL);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "mine@datastore1");

  cr_assert_eq (t_child_step (&vm_b), 0);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "mine@datastore1 other@ds2 theirs@datastore1");

  cr_assert_eq (t_child_step (&vm_b), 0);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "mine@datastore1 other@ds2");
  t_child_stop (&vm_b);
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
  ix = mock_index_new (2, names, dirs, 1);
  cr_assert_not_null (ix);
  cr_assert_eq (mock_index_count (ix), 1);
  cr_assert_eq (mock_index_rescans (ix), 2); /* the initial scans */

  touch_file (d1, "a.vmdk", 100);
  touch_file (d2, "b.vmdk", 100);
  touch_file (d1, "a-flat.vmdk", 100);   /* extent: not a volume */
  touch_file (d1, "a-000001.vmdk", 100); /* snapshot: not a volume */
  touch_file (d1, "huge.vmdk", 6000);    /* over 5000 bytes */
  touch_file (d1, ".a.vmdk.tmp42", 100); /* the atomic writer's temp */
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
  ix = mock_index_new (2, names, dirs, 1); /* d2 does not exist yet */
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

/* A folder removed right after a change in it is gone for the next
 * reader, even when the watch thread held the folder open to apply that
 * change (the kernel then reports the removal only at our close). */
Test (index, folder_removed_after_a_change_is_gone_at_once)
{
  char d1[PATH_MAX], file[PATH_MAX * 2];
  const char *const names[] = { "ds1" };
  const char *const dirs[] = { d1 };
  struct mock_index *ix;

  snprintf (d1, sizeof d1, "%s/d1", tmp);
  file_path (file, sizeof file, d1, "a.vmdk");
  for (int i = 0; i < 300; i++)
    {
      cr_assert_eq (mkdir (d1, 0755), 0);
      touch_file (d1, "a.vmdk", 100);
      ix = mock_index_new (1, names, dirs, 1);
      cr_assert_not_null (ix);
      cr_assert_eq (mock_index_count (ix), 1);
      cr_assert_eq (unlink (file), 0); /* wakes the watch thread */
      cr_assert_eq (rmdir (d1), 0);
      cr_assert_eq (mock_index_count (ix), -1, "round %d", i);
      mock_index_free (ix);
    }
}

/* Rename `path` to `path`.old and back: List is `away` meanwhile and
 * `all` again after. */
static void
rename_away_and_back (struct mock *m, const char *path, const char *away,
                      const char *all)
{
  char old[PATH_MAX * 2], got[4096];

  snprintf (old, sizeof old, "%s.old", path);
  cr_assert_eq (rename (path, old), 0);
  list_of (m, got, sizeof got);
  cr_assert_str_eq (got, away, "%s moved away", path);
  cr_assert_eq (rename (old, path), 0);
  list_of (m, got, sizeof got);
  cr_assert_str_eq (got, all, "%s back", path);
}

/* A folder above the datastore folder renamed away and back by hand
 * (dockvols, the datastore itself): List drops the datastore's volumes at
 * once and shows them again when the path is back. */
Test (index, ancestor_renamed_away_and_back)
{
  struct mock *a = t_mock_open (tmp, "vmA", T_UUID_A);
  char got[4096], dv[PATH_MAX * 2], dv_old[PATH_MAX * 2], ds[PATH_MAX * 2],
      p[PATH_MAX * 3];
  struct mock_index *ix;
  unsigned long rescans;

  t_create_ok (a, "v", NULL);
  t_create_ok (a, "w@ds2", NULL);
  ix = mock_index_of (a);
  cr_assert_not_null (ix);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "v@datastore1 w@ds2");

  snprintf (dv, sizeof dv, "%s/root/datastore1/dockvols", tmp);
  rename_away_and_back (a, dv, "w@ds2", "v@datastore1 w@ds2");
  /* The datastore folder itself, one level higher. */
  snprintf (ds, sizeof ds, "%s/root/ds2", tmp);
  rename_away_and_back (a, ds, "v@datastore1", "v@datastore1 w@ds2");

  /* Replaced by an empty folder: no datastore folder, whatever happens in
   * the moved-away copy; moved back, it is rescanned with what was added
   * meanwhile. */
  snprintf (dv_old, sizeof dv_old, "%s.old", dv);
  cr_assert_eq (rename (dv, dv_old), 0);
  cr_assert_eq (mkdir (dv, 0755), 0);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "w@ds2");
  rescans = mock_index_rescans (ix);
  snprintf (p, sizeof p, "%s/%s/x.vmdk", dv_old, MOCK_TENANT_UUID);
  t_write_file (p, "x", 1);
  cr_assert_eq (mock_index_count (ix), -1); /* still no tenant folder */
  cr_assert_eq (rmdir (dv), 0);
  cr_assert_eq (rename (dv_old, dv), 0);
  list_of (a, got, sizeof got);
  cr_assert_str_eq (got, "v@datastore1 w@ds2 x@datastore1");
  cr_assert_geq (mock_index_rescans (ix), rescans + 1);
  vdvs_backend_mock.close (a);
}

/* The burst's files: 12000 created, every third removed. */
static int
burst_step (int n, void *arg)
{
  const char *d1 = arg;
  char name[64], path[PATH_MAX * 2];

  (void) n;
  for (int i = 0; i < 12000; i++)
    {
      snprintf (name, sizeof name, "v%05d.vmdk", i);
      touch_file (d1, name, 64);
    }
  for (int i = 0; i < 12000; i += 3)
    {
      snprintf (path, sizeof path, "%s/v%05d.vmdk", d1, i);
      if (unlink (path) < 0)
        return -1;
    }
  return 0;
}

/* A burst of creates by another process (more events than the kernel
 * queue holds by default) ends with the exact set. */
Test (index, burst_of_creates_and_deletes, .timeout = 60)
{
  char d1[PATH_MAX];
  const char *const names[] = { "ds1" };
  const char *const dirs[] = { d1 };
  struct mock_index *ix;
  struct t_child burst;

  snprintf (d1, sizeof d1, "%s/d1", tmp);
  mkdir (d1, 0755);
  t_child_start (&burst, burst_step, d1);
  ix = mock_index_new (1, names, dirs, 1);
  cr_assert_not_null (ix);
  cr_assert_eq (t_child_step (&burst), 0);
  t_child_stop (&burst);
  cr_assert_eq (mock_index_count (ix), 8000);
  mock_index_free (ix);
}

/* ---- Get's per-volume records ----------------------------------------- */

static struct vdvs_volume_info
get_ok (struct mock *m, const char *name)
{
  struct vdvs_volume_info i = { 0 };
  vdvs_error_t err = NULL;
  cr_assert_eq (vdvs_backend_mock.get (m, name, &i, &err), 0, "%s: %s", name,
                err ? err->msg : "");
  return i;
}

static int
lookup_state (struct mock *m, const char *vol)
{
  struct vdvs_volume_info i = { 0 };
  uint64_t token;
  int r = mock_index_lookup (mock_index_of (m), "datastore1", vol, &i, &token);
  vdvs_volume_info_clear (&i);
  return r;
}

/* Another VM (or anyone) rewrites a volume's sidecar or descriptor, in
 * place or atomically, or writes to its extent: the next Get shows it,
 * while unchanged volumes are answered from their record. */
Test (index, get_follows_out_of_band_changes)
{
  struct mock *a = t_mock_open (tmp, "vmA", T_UUID_A);
  struct vdvs_volume_info i;
  struct mock_vol v;
  struct mock_sidecar sc;
  vdvs_error_t err = NULL;
  char *text;
  size_t len;
  int fd;

  t_create_ok (a, "v", "size", "100mb", NULL);
  t_create_ok (a, "other", NULL);
  v = t_vol (a, "v");
  i = get_ok (a, "v");
  cr_assert_str_eq (i.status, "detached");
  cr_assert_str_eq (i.capacity_size, "100MB");
  cr_assert_null (i.attached_to_vm);
  vdvs_volume_info_clear (&i);
  cr_assert_eq (lookup_state (a, "v"), MOCK_IX_RECORD);
  cr_assert_eq (lookup_state (a, "other"), MOCK_IX_PRESENT);

  /* Atomic sidecar rewrite, as another VM's attach does. */
  cr_assert_eq (mock_sidecar_read (v.sidecar, &sc, &err), 0);
  strcpy (sc.status, "attached");
  sc.attached = true;
  strcpy (sc.attached_uuid, T_UUID_B);
  strcpy (sc.attached_name, "vmB");
  cr_assert_eq (mock_sidecar_write (v.sidecar, &sc, &err), 0);
  cr_assert_eq (lookup_state (a, "v"), MOCK_IX_PRESENT);
  i = get_ok (a, "v");
  cr_assert_str_eq (i.status, "attached");
  cr_assert_str_eq (i.attached_to_vm, "vmB");
  vdvs_volume_info_clear (&i);

  /* In-place rewrite (open, truncate, write, close), a hostile name. */
  strcpy (sc.attached_name, "vm \"B\"\n\\");
  cr_assert_eq (mock_sidecar_format (&sc, &text, &len), 0);
  fd = open (v.sidecar, O_WRONLY | O_TRUNC);
  cr_assert_geq (fd, 0);
  cr_assert_eq (write (fd, text, len), (ssize_t) len);
  close (fd);
  free (text);
  i = get_ok (a, "v");
  cr_assert_str_eq (i.attached_to_vm, "vm \"B\"\n\\");
  vdvs_volume_info_clear (&i);
  mock_sidecar_clear (&sc);

  /* The descriptor replaced: a grown disk. */
  {
    struct mock_descriptor d = { 0 };
    d.sectors = 200ull * 2048;
    snprintf (d.extent, sizeof d.extent, "%s", v.flat_name);
    snprintf (d.sidecar, sizeof d.sidecar, "%s", v.sidecar_name);
    strcpy (d.create_type, "vmfs");
    d.thin = true;
    cr_assert_eq (mock_descriptor_format (&d, "uuid", &text), 0);
    t_write_file (v.descriptor, text, strlen (text));
    free (text);
  }
  i = get_ok (a, "v");
  cr_assert_str_eq (i.capacity_size, "200MB");
  /* Data written to the extent: allocated follows without any event. */
  cr_assert_str_eq (i.capacity_allocated, "0");
  vdvs_volume_info_clear (&i);
  {
    static char block[1 << 20];
    memset (block, 1, sizeof block);
    fd = open (v.flat, O_WRONLY);
    cr_assert_geq (fd, 0);
    cr_assert_eq (pwrite (fd, block, sizeof block, 0), (ssize_t) sizeof block);
    fsync (fd);
    close (fd);
  }
  i = get_ok (a, "v");
  cr_assert_str_eq (i.capacity_allocated, "1MB");
  vdvs_volume_info_clear (&i);
  cr_assert_eq (lookup_state (a, "v"), MOCK_IX_RECORD);

  /* Files deleted by hand: Get says not found, List drops it. */
  unlink (v.descriptor);
  unlink (v.flat);
  unlink (v.sidecar);
  i = (struct vdvs_volume_info){ 0 };
  cr_assert_lt (vdvs_backend_mock.get (a, "v", &i, &err), 0);
  cr_assert_eq (err->status, ENOENT);
  cr_assert (strstr (err->msg, "Volume v not found") != NULL, "%s", err->msg);
  vdvs_error_release (&err);
  {
    char got[4096];
    list_of (a, got, sizeof got);
    cr_assert_str_eq (got, "other@datastore1");
  }
  vdvs_backend_mock.close (a);
}

/* A record read before an event on the volume is not kept: the files may
 * predate the change. */
Test (index, stale_record_is_not_stored)
{
  struct mock *a = t_mock_open (tmp, "vmA", T_UUID_A);
  struct mock_index *ix = mock_index_of (a);
  struct vdvs_volume_info i = { 0 }, fake = { 0 };
  struct mock_vol v;
  uint64_t token = 0;
  char *text;
  size_t len;
  struct mock_sidecar sc;
  vdvs_error_t err = NULL;

  t_create_ok (a, "v", NULL);
  v = t_vol (a, "v");
  cr_assert_eq (mock_index_lookup (ix, "datastore1", "v", &i, &token),
                MOCK_IX_PRESENT);
  /* ... the files are read here, then another VM changes the sidecar ... */
  cr_assert_eq (mock_sidecar_read (v.sidecar, &sc, &err), 0);
  cr_assert_eq (mock_sidecar_format (&sc, &text, &len), 0);
  t_write_file (v.sidecar, text, len);
  free (text);
  mock_sidecar_clear (&sc);
  fake.status = (char *) "stale";
  /* The event is applied by the lookup inside store's caller or by the
   * watch thread; either way the token no longer matches. */
  cr_assert_eq (mock_index_lookup (ix, "datastore1", "v", &i,
                                   &(uint64_t){ 0 }),
                MOCK_IX_PRESENT);
  mock_index_store (ix, "datastore1", "v", token, &fake);
  cr_assert_eq (mock_index_lookup (ix, "datastore1", "v", &i, &token),
                MOCK_IX_PRESENT);
  /* With a fresh token the record is kept. */
  mock_index_store (ix, "datastore1", "v", token, &fake);
  cr_assert_eq (mock_index_lookup (ix, "datastore1", "v", &i, &token),
                MOCK_IX_RECORD);
  cr_assert_str_eq (i.status, "stale");
  vdvs_volume_info_clear (&i);
  cr_assert_eq (mock_index_lookup (ix, "datastore1", "nope", &i, &token),
                MOCK_IX_ABSENT);
  vdvs_backend_mock.close (a);
}

/* Health follows the datastore root on every call: moved away, Get
 * fails and health is down; moved back, both answer again. */
Test (index, health_follows_the_root)
{
  struct mock *a = t_mock_open (tmp, "vmA", T_UUID_A);
  struct vdvs_backend_health h;
  char root[PATH_MAX * 2], moved[PATH_MAX * 2];
  struct vdvs_volume_info i = { 0 };
  vdvs_error_t err = NULL;

  t_create_ok (a, "v", "size", "10mb", NULL);
  i = get_ok (a, "v");
  vdvs_volume_info_clear (&i);
  vdvs_backend_mock.health (a, &h);
  cr_assert (h.up, "%s", h.detail);
  snprintf (root, sizeof root, "%s/root", tmp);
  snprintf (moved, sizeof moved, "%s/moved", tmp);
  cr_assert_eq (rename (root, moved), 0);
  cr_assert_lt (vdvs_backend_mock.get (a, "v", &i, &err), 0);
  vdvs_error_release (&err);
  vdvs_volume_info_clear (&i);
  vdvs_backend_mock.health (a, &h);
  cr_assert_not (h.up);
  cr_assert_eq (rename (moved, root), 0);
  i = get_ok (a, "v");
  vdvs_volume_info_clear (&i);
  vdvs_backend_mock.health (a, &h);
  cr_assert (h.up, "%s", h.detail);
  vdvs_backend_mock.close (a);
}
