/* The Config DB and the authorization of a VM's create and remove
 * (backends/mock/authdb.c, auth.c): upstream's order of checks and its
 * texts (reference admin-tenancy.md §3, §5.2), quotas freed by a remove,
 * and creates racing for one quota from several processes. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "authdb.h"
#include "t_mock.h"

static char tmp[PATH_MAX];
static struct mock *ma, *mb;

/* A handle for `vm` on datastores datastore1 (its own), ds2, ds3. */
static struct mock *
open_vm (const char *vm, const char *uuid)
{
  char buf[PATH_MAX + 16];

  snprintf (buf, sizeof buf, "%s/root", tmp);
  return t_mock_open_root (buf, "datastore1,ds2,ds3", vm, uuid);
}

static void
open_both (void)
{
  ma = open_vm ("vmA", T_UUID_A);
  mb = open_vm ("vmB", T_UUID_B);
}

/* Before a fork: a handle runs an index thread, and a fork while it holds
 * the allocator's lock (ASan's has no fork handler) hangs the child. */
static void
close_both (void)
{
  vdvs_backend_mock.close (ma);
  vdvs_backend_mock.close (mb);
  ma = mb = NULL;
}

static void
setup (void)
{
  t_mkdtemp (tmp, sizeof tmp, "auth");
  open_both ();
}

static void
teardown (void)
{
  close_both ();
  t_rmrf (tmp);
}

TestSuite (auth, .init = setup, .fini = teardown);

#define OK(call)                                                              \
  do                                                                          \
    {                                                                         \
      vdvs_error_t e_ = NULL;                                                 \
      cr_assert_eq ((call), 0, #call ": %s", e_ ? e_->msg : "");              \
    }                                                                         \
  while (0)

/* `call` (which fills e_) fails with exactly `text`. */
#define FAILS(call, text)                                                     \
  do                                                                          \
    {                                                                         \
      vdvs_error_t e_ = NULL;                                                 \
      cr_assert_lt ((call), 0, #call " succeeded");                           \
      cr_assert_not_null (e_);                                                \
      cr_assert_str_eq (e_->msg, (text));                                     \
      vdvs_error_release (&e_);                                               \
    }                                                                         \
  while (0)

static void
init_db (void)
{
  char *out = NULL;
  OK (vdvs_mock_config_init_local (ma, &out, &e_));
  cr_assert_not_null (strstr (out, "Creating new DB at "));
  free (out);
}

/* `name` as the VM of m resolves it: in its vmgroup's folder. */
static struct mock_vol
gvol (struct mock *m, const char *name)
{
  struct mock_auth a;
  struct mock_vol v;
  bool explicit_ds;

  OK (mock_auth_begin (m, &a, &e_));
  OK (mock_auth_resolve (m, &a, name, &v, &explicit_ds, &e_));
  mock_auth_end (&a, true);
  return v;
}

static int
rm (struct mock *m, const char *name, vdvs_error_t *err)
{
  struct vdvs_opts o = { 0 };
  return vdvs_backend_mock.remove (m, name, &o, err);
}

/* g1 = {vmA}, default _VM_DS; ds2 mount-only; _ALL_DS create with a max
 * of 100MB and a quota of 150MB. */
static void
groups (void)
{
  init_db ();
  OK (vdvs_mock_vmgroup_create (ma, "g1", "_VM_DS", "", "vmA", &e_));
  OK (vdvs_mock_access_add (ma, "g1", "ds2", false, NULL, NULL, &e_));
  OK (vdvs_mock_access_add (ma, "g1", "_ALL_DS", true, "100MB", "150mb", &e_));
}

Test (auth, no_db_allows_all_and_counts_nothing)
{
  t_create_ok (ma, "big@ds3", "size", "1gb", NULL);
  cr_assert_eq (vdvs_mock_authdb_mode (ma), MOCK_DB_NOT_CONFIGURED);
  /* Without a DB a bad size is the option check's text. */
  FAILS (t_create (ma, "v", &e_, "size", "10g", NULL),
         "Invalid format for size. \nValid sizes must be of form "
         "X[mMgGtT]b where X is an integer. Default = 100mb");
  groups ();
  /* big@ds3 was made without a DB: it does not count toward the quota. */
  t_create_ok (ma, "q@ds3", "size", "100mb", NULL);
}

Test (auth, order_and_texts_of_create)
{
  groups ();
  /* An explicit row that denies is final, before any size check. */
  FAILS (t_create (ma, "x@ds2", &e_, "size", "bad", NULL),
         "No create privilege");
  /* Configured: a size that does not convert is upstream's auth text. */
  FAILS (t_create (ma, "x@ds3", &e_, "size", "10g", NULL),
         "Invalid volume size specified.");
  FAILS (t_create (ma, "x@ds3", &e_, "size", "101MB", NULL),
         "Volume size exceeds the max volume size limit");
  t_create_ok (ma, "a@ds3", "size", "100MB", NULL);
  FAILS (t_create (ma, "b@ds3", &e_, "size", "100MB", NULL),
         "The total volume size exceeds the usage quota");
  /* Equality is allowed. */
  t_create_ok (ma, "b@ds3", "size", "50MB", NULL);
  /* The VM's own datastore falls back to the _VM_DS row (unlimited). */
  t_create_ok (ma, "big@datastore1", "size", "1GB", NULL);
  /* A short name uses only the default datastore's row. */
  t_create_ok (ma, "short", "size", "2GB", NULL);
  cr_assert (t_exists (gvol (ma, "short@datastore1").descriptor));
}

Test (auth, quota_checked_before_file_exists_and_freed_by_remove)
{
  groups ();
  t_create_ok (ma, "a@ds3", "size", "100MB", NULL);
  /* Authorization comes before "File ... already exists". */
  FAILS (t_create (ma, "a@ds3", &e_, "size", "100MB", NULL),
         "The total volume size exceeds the usage quota");
  /* A failed create takes its row back: the quota is still 100 used. */
  FAILS (t_create (ma, "a@ds3", &e_, "size", "10MB", NULL),
         "File /vmfs/volumes/ds3/dockvols/g1/a.vmdk already exists");
  t_create_ok (ma, "b@ds3", "size", "50MB", NULL);
  FAILS (t_create (ma, "c@ds3", &e_, "size", "1MB", NULL),
         "The total volume size exceeds the usage quota");
  OK (rm (ma, "a@ds3", &e_));
  t_create_ok (ma, "c@ds3", "size", "100MB", NULL);
}

Test (auth, remove_needs_the_create_privilege)
{
  t_create_ok (ma, "m@ds2", NULL); /* made before the DB */
  groups ();
  FAILS (rm (ma, "m@ds2", &e_), "No delete privilege");
  /* vmB is in _DEFAULT, which may do anything. */
  OK (rm (mb, "m@ds2", &e_));
}

Test (auth, no_row_and_no_group)
{
  init_db ();
  OK (vdvs_mock_vmgroup_create (ma, "g2", "ds2", "", "vmA", &e_));
  /* ds3 has no row, is not vmA's own datastore, no _ALL_DS row. */
  FAILS (t_create (ma, "x@ds3", &e_, NULL), "No access privilege exists");
  FAILS (t_create (ma, "x@datastore1", &e_, NULL),
         "No access privilege exists");
  /* A short name goes to the default datastore, ds2. */
  t_create_ok (ma, "s", NULL);
  cr_assert (t_exists (gvol (ma, "s@ds2").descriptor));
  /* Every op resolves the short name there too (get, attach, remove). */
  cr_assert_str_eq (t_vol (ma, "s").ds, "ds2");
  {
    struct mock_vol v;
    OK (mock_auth_mount (ma, "s", &v, &e_));
    cr_assert_str_eq (v.ds, "ds2");
    FAILS (mock_auth_mount (ma, "s@ds3", &v, &e_),
           "No access privilege exists");
  }
  /* Without _DEFAULT, a VM in no vmgroup is refused by name. */
  OK (vdvs_mock_vmgroup_rm (ma, "_DEFAULT", false, false, &e_));
  FAILS (t_create (mb, "y", &e_, NULL),
         "VM vmB does not belong to any vmgroup");
  FAILS (rm (mb, "s@ds2", &e_), "VM vmB does not belong to any vmgroup");
}

Test (auth, admin_texts)
{
  FAILS (vdvs_mock_vmgroup_create (ma, "g", "_VM_DS", "", NULL, &e_),
         MOCK_INIT_NEEDED);
  init_db ();
  FAILS (vdvs_mock_vmgroup_create (ma, "-g", "_VM_DS", "", NULL, &e_),
         "Vmgroup name -g is invalid, only [a-zA-Z0-9_][a-zA-Z0-9_.-]* is "
         "allowed");
  FAILS (vdvs_mock_vmgroup_create (ma, "g", "_VM_DS", "", "vmA,vmA", &e_),
         "VMs ['vmA', 'vmA'] contain duplicates, they should be unique");
  FAILS (vdvs_mock_vmgroup_create (ma, "g", "_VM_DS", "", "vmA,nope", &e_),
         "Cannot find vm nope");
  FAILS (vdvs_mock_vmgroup_create (ma, "g", "_ALL_DS", "", NULL, &e_),
         "Cannot use _ALL_DS as default datastore. Please use specific "
         "datastore name or _VM_DS special datastore");
  FAILS (vdvs_mock_vmgroup_create (ma, "g", "ds9", "", NULL, &e_),
         "Datastore ds9 does not exist");
  OK (vdvs_mock_vmgroup_create (ma, "g", "_VM_DS", "", "vmA", &e_));
  FAILS (vdvs_mock_vmgroup_create (ma, "g", "_VM_DS", "", NULL, &e_),
         "Vmgroup g already exists");
  FAILS (vdvs_mock_vmgroup_create (ma, "h", "_VM_DS", "", "vmA", &e_),
         "VM 'vmA' has already been associated with tenant 'g', can't add "
         "it");
  FAILS (vdvs_mock_vmgroup_vm_add (ma, "_DEFAULT", "vmB", &e_),
         "This feature is not supported for vmgroup _DEFAULT.");
  FAILS (vdvs_mock_vmgroup_vm_add (ma, "nog", "vmB", &e_),
         "Vmgroup nog does not exist");
  FAILS (vdvs_mock_vmgroup_vm_add (ma, "g", "", &e_),
         "VM list cannot be empty");
  FAILS (vdvs_mock_vmgroup_vm_rm (ma, "g", "vmB", &e_),
         "VM 'vmB' has not been associated with tenant 'g', cannot remove "
         "it");
  FAILS (vdvs_mock_vmgroup_rm (ma, "g", false, false, &e_),
         "Cannot delete non-empty vmgroup g. Remove VMs from the vmgroup "
         "before deleting it.");
  FAILS (vdvs_mock_access_add (ma, "g", "_VM_DS", true, NULL, NULL, &e_),
         "Access privilege for (g, _VM_DS) already exists");
  FAILS (vdvs_mock_access_add (ma, "g", "ds2", true, "2GB", "1GB", &e_),
         "Volume max size 2048MB exceeds the total size 1024MB");
  FAILS (vdvs_mock_access_rm (ma, "g", "ds2", &e_),
         "No access privilege exists for (g, ds2)");
  FAILS (vdvs_mock_access_rm (ma, "g", "_VM_DS", &e_),
         "Removing of access privilege to 'default_datastore' is not "
         "supported");
  OK (vdvs_mock_vmgroup_vm_rm (ma, "g", "vmA", &e_));
  t_create_ok (ma, "v", NULL);
}

Test (auth, update_replace_and_access_set)
{
  init_db ();
  OK (vdvs_mock_vmgroup_create (ma, "g", "_VM_DS", "", "vmA", &e_));
  FAILS (vdvs_mock_vmgroup_update (ma, "_DEFAULT", "x", NULL, NULL, &e_),
         "Vmgroup name _DEFAULT is invalid, only rename of vmgroups other "
         "than _DEFAULT is allowed");
  FAILS (vdvs_mock_vmgroup_update (ma, "g", "_DEFAULT", NULL, NULL, &e_),
         "Vmgroup _DEFAULT already exists");
  /* The default datastore is applied before a rename fails. */
  OK (vdvs_mock_vmgroup_update (ma, "g", "g2", "d", "ds2", &e_));
  t_create_ok (ma, "s", NULL);
  cr_assert_str_eq (t_vol (ma, "s").ds, "ds2");
  FAILS (vdvs_mock_vmgroup_vm_replace (ma, "g2", "", &e_),
         "Replace VM cannot be empty");
  FAILS (vdvs_mock_vmgroup_vm_replace (ma, "g2", "vmA", &e_),
         "VM 'vmA' has already been associated with tenant 'g2', can't add "
         "it");
  OK (vdvs_mock_vmgroup_vm_replace (ma, "g2", "vmB", &e_));
  /* vmA is back in _DEFAULT; vmB on ds2 of g2. */
  FAILS (vdvs_mock_access_set (ma, "g2", "ds3", "true", NULL, NULL, &e_),
         "No access privilege exists for (g2, ds3)");
  FAILS (vdvs_mock_access_set (ma, "g2", "ds2", "yes", NULL, NULL, &e_),
         "Invalid value yes for allow-create option");
  OK (vdvs_mock_access_set (ma, "g2", "ds2", "FALSE", "1GB", NULL, &e_));
  FAILS (vdvs_mock_access_set (ma, "g2", "ds2", NULL, NULL, "512MB", &e_),
         "Volume max size 1024MB exceeds the total size 512MB");
  FAILS (t_create (mb, "t", &e_, NULL), "No create privilege");
  OK (vdvs_mock_access_set (ma, "g2", "ds2", "True", NULL, NULL, &e_));
  FAILS (t_create (mb, "t", &e_, "size", "2GB", NULL),
         "Volume size exceeds the max volume size limit");
  t_create_ok (mb, "t", "size", "1GB", NULL);
}

Test (auth, sizes)
{
  char buf[32];

  cr_assert_eq (mock_convert_to_mb ("10gb"), 10240);
  cr_assert_eq (mock_convert_to_mb ("1PB"), 1024 * 1024 * 1024);
  cr_assert_eq (mock_convert_to_mb ("10g"), 0);
  cr_assert_eq (mock_convert_to_mb (""), 0);
  mock_mb_human (500, buf, sizeof buf);
  cr_assert_str_eq (buf, "500.00MB");
  mock_mb_human (1024, buf, sizeof buf);
  cr_assert_str_eq (buf, "1.00GB");
  mock_mb_human (2 * 1024 * 1024, buf, sizeof buf);
  cr_assert_str_eq (buf, "2.00TB");
}

/* Eight processes, each its own handle and DB connection, create 100MB
 * volumes at once against a 150MB quota: exactly one may succeed. */
Test (auth, racing_creates_never_exceed_the_quota, .timeout = 60)
{
  pid_t pids[8];
  int wins = 0;

  groups ();
  OK (vdvs_mock_vmgroup_vm_add (ma, "g1", "vmB", &e_));
  close_both ();
  for (int i = 0; i < 8; i++)
    {
      pids[i] = fork ();
      cr_assert_geq (pids[i], 0);
      if (pids[i] == 0)
        {
          char name[32];
          vdvs_error_t err = NULL;
          struct mock *m = i % 2 ? open_vm ("vmB", T_UUID_B)
                                 : open_vm ("vmA", T_UUID_A);
          snprintf (name, sizeof name, "r%d@ds3", i);
          if (t_create (m, name, &err, "size", "100MB", NULL) == 0)
            _exit (0);
          _exit (strcmp (err->msg, "The total volume size exceeds the "
                                   "usage quota")
                         == 0
                     ? 1
                     : 2);
        }
    }
  for (int i = 0; i < 8; i++)
    {
      int st;
      cr_assert_eq (waitpid (pids[i], &st, 0), pids[i]);
      cr_assert (WIFEXITED (st));
      cr_assert_neq (WEXITSTATUS (st), 2, "unexpected error in child %d", i);
      wins += WEXITSTATUS (st) == 0;
    }
  open_both ();
  cr_assert_eq (wins, 1, "%d creates succeeded", wins);
}

/* The names `m` lists, sorted and joined by spaces. */
static void
names (struct mock *m, char *buf, size_t len)
{
  struct vdvs_volume_list l = { 0 };
  size_t off = 0;

  buf[0] = '\0';
  OK (vdvs_backend_mock.list (m, &l, &e_));
  for (size_t i = 0; i < l.n; i++)
    for (size_t j = i + 1; j < l.n; j++)
      if (strcmp (l.names[j], l.names[i]) < 0)
        {
          char *t = l.names[i];
          l.names[i] = l.names[j];
          l.names[j] = t;
        }
  for (size_t i = 0; i < l.n && off < len; i++)
    off += (size_t) snprintf (buf + off, len - off, "%s%s", i ? " " : "",
                              l.names[i]);
  vdvs_volume_list_clear (&l);
}

static int
get (struct mock *m, const char *name, vdvs_error_t *err)
{
  struct vdvs_volume_info i = { 0 };
  int r = vdvs_backend_mock.get (m, name, &i, err);
  vdvs_volume_info_clear (&i);
  return r;
}

/* g1 = {vmA}, g2 = {vmB}, both on _VM_DS (datastore1). */
static void
two_groups (void)
{
  init_db ();
  OK (vdvs_mock_vmgroup_create (ma, "g1", "_VM_DS", "", "vmA", &e_));
  OK (vdvs_mock_vmgroup_create (mb, "g2", "_VM_DS", "", "vmB", &e_));
}

Test (auth, each_vmgroup_has_its_own_folder)
{
  char buf[256], link[PATH_MAX], target[128];
  struct mock_vol va, vb;
  ssize_t n;

  t_create_ok (ma, "old", NULL); /* before the DB: _DEFAULT's */
  two_groups ();
  t_create_ok (ma, "db", NULL);
  t_create_ok (mb, "db", NULL);
  t_create_ok (ma, "only_a", NULL);
  va = gvol (ma, "db");
  vb = gvol (mb, "db");
  cr_assert_str_neq (va.tenant, vb.tenant);
  cr_assert_str_neq (va.tenant, MOCK_TENANT_UUID);
  cr_assert (t_exists (va.descriptor) && t_exists (vb.descriptor));
  cr_assert_str_eq (va.esx_path,
                    "/vmfs/volumes/datastore1/dockvols/g1/db.vmdk");
  /* dockvols/<name> names the uuid folder. */
  snprintf (link, sizeof link, "%s/root/datastore1/dockvols/g1", tmp);
  n = readlink (link, target, sizeof target - 1);
  cr_assert_gt (n, 0);
  target[n] = '\0';
  cr_assert_str_eq (target, va.tenant);
  /* Each VM lists and gets only its vmgroup's volumes. */
  names (ma, buf, sizeof buf);
  cr_assert_str_eq (buf, "db@datastore1 only_a@datastore1");
  names (mb, buf, sizeof buf);
  cr_assert_str_eq (buf, "db@datastore1");
  OK (get (ma, "only_a", &e_));
  FAILS (get (mb, "only_a", &e_),
         "Volume only_a not found (file: "
         "/vmfs/volumes/datastore1/dockvols/g2/only_a.vmdk)");
  FAILS (get (mb, "old", &e_),
         "Volume old not found (file: "
         "/vmfs/volumes/datastore1/dockvols/g2/old.vmdk)");
  /* The answer depends on the vmgroup: no cached list version. */
  cr_assert_eq (vdvs_backend_mock.list_version (ma), 0);
  /* A remove is of this vmgroup's volume (and its quota row) only. */
  OK (rm (ma, "db", &e_));
  cr_assert (!t_exists (va.descriptor) && t_exists (vb.descriptor));
  OK (get (mb, "db", &e_));
  /* A rename moves the alias. */
  OK (vdvs_mock_vmgroup_update (ma, "g1", "g1x", NULL, NULL, &e_));
  cr_assert_str_eq (gvol (ma, "only_a").esx_path,
                    "/vmfs/volumes/datastore1/dockvols/g1x/only_a.vmdk");
  snprintf (link, sizeof link, "%s/root/datastore1/dockvols/g1x", tmp);
  cr_assert (t_exists (link));
  /* The admin listing: every folder, with its vmgroup's name. */
  {
    cJSON *rows = NULL, *it;
    struct vdvs_volume_info info = { 0 };
    size_t off = 0;
    OK (vdvs_mock_volume_ls_all (ma, &rows, &e_));
    buf[0] = '\0';
    cJSON_ArrayForEach (it, rows)
      off += (size_t) snprintf (buf + off, sizeof buf - off, "%s:%s ",
                                cJSON_GetStringValue (
                                    cJSON_GetObjectItem (it, "volume")),
                                cJSON_GetStringValue (
                                    cJSON_GetObjectItem (it, "vmgroup")));
    cJSON_Delete (rows);
    cr_assert_str_eq (buf, "db@datastore1:g2 old@datastore1:_DEFAULT "
                           "only_a@datastore1:g1x ");
    OK (vdvs_mock_get_in (ma, "db@datastore1", vb.tenant, &info, &e_));
    cr_assert_str_eq (info.created_by, "vmB");
    vdvs_volume_info_clear (&info);
  }
  /* Back to NotConfigured: _DEFAULT's folder, as before. */
  {
    char *out = NULL;
    OK (vdvs_mock_config_rm (ma, true, false, &out, &e_));
    free (out);
  }
  names (mb, buf, sizeof buf);
  cr_assert_str_eq (buf, "old@datastore1");
}

/* Mark v attached to (uuid, vm), as an attach leaves its sidecar; or
 * detached again (vm NULL). */
static void
set_attached (const struct mock_vol *v, const char *uuid, const char *vm)
{
  struct mock_sidecar sc;
  OK (mock_sidecar_read (v->sidecar, &sc, &e_));
  sc.attached = vm != NULL;
  strcpy (sc.status, vm ? "attached" : "detached");
  snprintf (sc.attached_uuid, sizeof sc.attached_uuid, "%s", vm ? uuid : "");
  snprintf (sc.attached_name, sizeof sc.attached_name, "%s", vm ? vm : "");
  OK (mock_sidecar_write (v->sidecar, &sc, &e_));
  mock_sidecar_clear (&sc);
}

/* Rows of the volumes table for vmgroup uuid. */
static int
volume_rows (const char *uuid)
{
  char path[PATH_MAX + 32];
  sqlite3 *db;
  sqlite3_stmt *st;
  int n = -1;

  snprintf (path, sizeof path, "%s/root/.vmdkops/auth-db", tmp);
  cr_assert_eq (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL),
                SQLITE_OK);
  cr_assert_eq (sqlite3_prepare_v2 (
                    db, "SELECT COUNT(*) FROM volumes WHERE tenant_id = ?", -1,
                    &st, NULL),
                SQLITE_OK);
  sqlite3_bind_text (st, 1, uuid, -1, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return n;
}

Test (auth, vmgroup_rm_remove_volumes)
{
  struct mock_vol a, b, other;
  char buf[256], link[PATH_MAX], dir[PATH_MAX], target[128];
  ssize_t n;

  two_groups ();
  OK (vdvs_mock_access_add (ma, "g1", "ds2", true, NULL, NULL, &e_));
  t_create_ok (ma, "a", NULL);
  t_create_ok (ma, "b@ds2", NULL);
  t_create_ok (mb, "a", NULL);
  a = gvol (ma, "a");
  b = gvol (ma, "b@ds2");
  other = gvol (mb, "a");
  cr_assert_eq (volume_rows (a.tenant), 2);
  set_attached (&a, T_UUID_A, "vmA");
  /* Volumes in the folders refuse the rm, --force or not. */
  FAILS (vdvs_mock_vmgroup_rm (ma, "g1", false, true, &e_),
         "Internal Error(The vmgroup has volumes in it, these must be "
         "removed/migrated before deleting the vmgroup.)");
  names (ma, buf, sizeof buf);
  cr_assert_str_eq (buf, "a@datastore1 b@ds2");
  /* An attached volume is never removed, and keeps its vmgroup; the
   * others go, with their rows. */
  FAILS (vdvs_mock_vmgroup_rm (ma, "g1", true, true, &e_),
         "Internal Error(Failed to remove volume a, in use by VM = vmA.)");
  cr_assert (t_exists (a.descriptor) && t_exists (a.flat));
  cr_assert (!t_exists (b.descriptor) && !t_exists (b.flat)
             && !t_exists (b.sidecar));
  cr_assert_eq (volume_rows (a.tenant), 1);
  names (ma, buf, sizeof buf);
  cr_assert_str_eq (buf, "a@datastore1");
  /* Detached: the group goes, with its volumes, rows, alias and folders;
   * the other vmgroup's `a` stays. */
  set_attached (&a, NULL, NULL);
  OK (vdvs_mock_vmgroup_rm (ma, "g1", true, true, &e_));
  cr_assert (!t_exists (a.descriptor) && !t_exists (a.flat)
             && !t_exists (a.sidecar));
  cr_assert (t_exists (other.descriptor));
  cr_assert_eq (volume_rows (a.tenant), 0);
  cr_assert_eq (volume_rows (other.tenant), 1);
  snprintf (link, sizeof link, "%s/root/datastore1/dockvols/g1", tmp);
  cr_assert (!t_exists (link));
  snprintf (dir, sizeof dir, "%s/root/datastore1/dockvols/%s", tmp, a.tenant);
  cr_assert (!t_exists (dir));
  snprintf (dir, sizeof dir, "%s/root/ds2/dockvols/%s", tmp, a.tenant);
  cr_assert (!t_exists (dir));
  names (ma, buf, sizeof buf);
  cr_assert_str_eq (buf, "");
  /* g2 without volumes: no --remove-volumes needed, its alias goes too,
   * so a new g2 gets its own. */
  OK (rm (mb, "a", &e_));
  OK (vdvs_mock_vmgroup_vm_rm (mb, "g2", "vmB", &e_));
  OK (vdvs_mock_vmgroup_rm (mb, "g2", false, false, &e_));
  snprintf (link, sizeof link, "%s/root/datastore1/dockvols/g2", tmp);
  cr_assert (!t_exists (link));
  OK (vdvs_mock_vmgroup_create (mb, "g2", "_VM_DS", "", "vmB", &e_));
  t_create_ok (mb, "c", NULL);
  other = gvol (mb, "c");
  n = readlink (link, target, sizeof target - 1);
  cr_assert_gt (n, 0);
  target[n] = '\0';
  cr_assert_str_eq (target, other.tenant);
  /* Not configured: refused as upstream. */
  {
    char *out = NULL;
    OK (vdvs_mock_config_rm (ma, true, false, &out, &e_));
    free (out);
  }
  FAILS (vdvs_mock_vmgroup_rm (ma, "g2", true, false, &e_), MOCK_INIT_NEEDED);
}

/* A volume its VM removes while vmgroup rm --remove-volumes waits for its
 * lock is gone, not an error that keeps the group. */
Test (auth, vmgroup_rm_volume_removed_meanwhile, .timeout = 30)
{
  struct mock_vol v;
  int fd, status;
  pid_t pid;

  two_groups ();
  t_create_ok (ma, "a", NULL);
  v = gvol (ma, "a");
  OK ((fd = mock_lock (ma, &v, &e_)) >= 0 ? 0 : -1);
  close_both ();
  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      vdvs_error_t err = NULL;
      int r;
      close (fd); /* the parent's lock must not be held here too */
      r = vdvs_mock_vmgroup_rm (open_vm ("vmA", T_UUID_A), "g1", true, true,
                                &err);
      if (r < 0)
        fprintf (stderr, "child: %s\n", err->msg);
      _exit (r == 0 ? 0 : 1);
    }
  usleep (500 * 1000); /* the child has listed `a` and waits for its lock */
  OK (mock_remove_locked (&v, &e_));
  mock_unlock (fd);
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  open_both ();
  cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0,
             "vmgroup rm failed (status %d)", status);
}

Test (auth, quota_rows_are_per_vmgroup)
{
  two_groups ();
  OK (vdvs_mock_access_set (ma, "g2", "_VM_DS", NULL, NULL, "200MB", &e_));
  t_create_ok (ma, "db", NULL);
  t_create_ok (mb, "db", NULL);
  /* vmA's remove of its db leaves g2's 100MB counted. */
  OK (rm (ma, "db", &e_));
  t_create_ok (mb, "x", NULL);
  FAILS (t_create (mb, "y", &e_, "size", "1MB", NULL),
         "The total volume size exceeds the usage quota");
  OK (rm (mb, "db", &e_));
  t_create_ok (mb, "y", NULL);
}

Test (auth, get_attach_detach_authorized_and_no_vmgroup)
{
  struct vdvs_device dev = { 0 };
  char buf[256];

  two_groups ();
  t_create_ok (ma, "a", NULL);
  /* g1 has a row for _VM_DS only: another datastore is refused. */
  FAILS (get (ma, "a@ds3", &e_), "No access privilege exists");
  FAILS (vdvs_backend_mock.detach (ma, "a@ds3", &e_),
         "No access privilege exists");
  FAILS (vdvs_backend_mock.attach (ma, "a@ds3", &dev, &e_),
         "No access privilege exists");
  OK (vdvs_backend_mock.detach (ma, "a", &e_));
  /* vmB out of every vmgroup, _DEFAULT gone. */
  OK (vdvs_mock_vmgroup_vm_rm (ma, "g2", "vmB", &e_));
  OK (vdvs_mock_vmgroup_rm (ma, "_DEFAULT", false, false, &e_));
  names (mb, buf, sizeof buf);
  cr_assert_str_eq (buf, "");
  FAILS (get (mb, "a", &e_), "VM vmB does not belong to any vmgroup");
  FAILS (vdvs_backend_mock.attach (mb, "a", &dev, &e_),
         "VM vmB does not belong to any vmgroup");
  /* Detach goes ahead on what the VM has attached: nothing here. */
  OK (vdvs_backend_mock.detach (mb, "a@datastore1", &e_));
}

Test (auth, vsan_policies)
{
  struct mock *mv;
  cJSON *rows = NULL;
  struct vdvs_volume_info i = { 0 };

  FAILS (vdvs_mock_policy_create (ma, "gold", "x", &e_),
         "Error: VSAN datastore does not exist");
  FAILS (t_create (ma, "p@ds3", &e_, "vsan-policy-name", "gold", NULL),
         "Cannot use a VSAN policy on a non-VSAN datastore");
  t_mock_config ("vsan-datastores", "ds3");
  mv = open_vm ("vmA", T_UUID_A);
  FAILS (t_create (mv, "p@ds3", &e_, "vsan-policy-name", "gold", NULL),
         "Policy gold does not exist.");
  OK (vdvs_mock_policy_create (mv, "gold", "((\"a\" i1))", &e_));
  OK (vdvs_mock_policy_create (mv, "silver", "y", &e_));
  FAILS (vdvs_mock_policy_create (mv, "gold", "x", &e_),
         "Error: Policy already exists");
  FAILS (t_create (mv, "p@ds3", &e_, "vsan-policy-name", "bronze", NULL),
         "Policy bronze does not exist. Available policies are: ['gold', "
         "'silver']");
  FAILS (t_create (mv, "p@ds2", &e_, "vsan-policy-name", "gold", NULL),
         "Cannot use a VSAN policy on a non-VSAN datastore");
  t_create_ok (mv, "p@ds3", "vsan-policy-name", "gold", NULL);
  OK (vdvs_backend_mock.get (mv, "p@ds3", &i, &e_));
  cr_assert_str_eq (i.vsan_policy_name, "gold");
  vdvs_volume_info_clear (&i);
  OK (vdvs_mock_policy_ls (mv, &rows, &e_));
  cr_assert_eq (cJSON_GetArraySize (rows), 2);
  cr_assert_str_eq (cJSON_GetStringValue (
                        cJSON_GetObjectItem (cJSON_GetArrayItem (rows, 0),
                                             "Policy Content")),
                    "((\"a\" i1))");
  cr_assert_str_eq (cJSON_GetStringValue (
                        cJSON_GetObjectItem (cJSON_GetArrayItem (rows, 0),
                                             "Active")),
                    "In use by 1 volumes");
  cr_assert_str_eq (cJSON_GetStringValue (
                        cJSON_GetObjectItem (cJSON_GetArrayItem (rows, 1),
                                             "Active")),
                    "Unused");
  cJSON_Delete (rows);
  FAILS (vdvs_mock_policy_rm (mv, "gold", &e_),
         "Cannot remove. Policy is in use by {'volume': 'p.vmdk', 'policy': "
         "'gold', 'path': "
         "'/vmfs/volumes/ds3/dockvols/11111111-1111-1111-1111-111111111111'}");
  FAILS (vdvs_mock_policy_rm (mv, "nope", &e_), "Policy nope does not exist");
  OK (rm (mv, "p@ds3", &e_));
  OK (vdvs_mock_policy_rm (mv, "gold", &e_));
  vdvs_backend_mock.close (mv);
}

Test (auth, vsan_policy_update)
{
  struct mock *mv;
  cJSON *rows = NULL;
  struct vdvs_volume_info i = { 0 };
  char path[PATH_MAX + 64], text[64] = "";
  FILE *f;

  FAILS (vdvs_mock_policy_update (ma, "gold", "x", &e_),
         "Error: VSAN datastore does not exist");
  t_mock_config ("vsan-datastores", "ds3");
  mv = open_vm ("vmA", T_UUID_A);
  FAILS (vdvs_mock_policy_update (mv, "gold", "x", &e_),
         "Error: Policy gold does not exist");
  FAILS (vdvs_mock_policy_update (mv, "../gold", "x", &e_),
         "Error: Policy ../gold does not exist");
  OK (vdvs_mock_policy_create (mv, "gold", "((\"a\" i1))", &e_));
  t_create_ok (mv, "p@ds3", "vsan-policy-name", "gold", NULL);
  /* Compared stripped, as upstream. */
  FAILS (vdvs_mock_policy_update (mv, "gold", " ((\"a\" i1))\n", &e_),
         "Error: New policy is identical to old policy. Ignoring.");
  OK (vdvs_mock_policy_update (mv, "gold", "((\"a\" i2))", &e_));
  snprintf (path, sizeof path, "%s/root/ds3/dockvols/policies/gold", tmp);
  cr_assert_not_null (f = fopen (path, "r"));
  cr_assert_not_null (fgets (text, sizeof text, f));
  fclose (f);
  cr_assert_str_eq (text, "((\"a\" i2))\n");
  /* The volume keeps naming it, now with the new content; nothing else
   * (no backup, no temp file) is left in the folder. */
  OK (vdvs_backend_mock.get (mv, "p@ds3", &i, &e_));
  cr_assert_str_eq (i.vsan_policy_name, "gold");
  vdvs_volume_info_clear (&i);
  OK (vdvs_mock_policy_ls (mv, &rows, &e_));
  cr_assert_eq (cJSON_GetArraySize (rows), 1);
  cr_assert_str_eq (cJSON_GetStringValue (
                        cJSON_GetObjectItem (cJSON_GetArrayItem (rows, 0),
                                             "Policy Content")),
                    "((\"a\" i2))");
  cr_assert_str_eq (cJSON_GetStringValue (
                        cJSON_GetObjectItem (cJSON_GetArrayItem (rows, 0),
                                             "Active")),
                    "In use by 1 volumes");
  cJSON_Delete (rows);
  vdvs_backend_mock.close (mv);
}

/* A volume directly in dockvols/ (a pre-vmgroup layout) is an orphan of
 * the admin listing, as upstream's get_volumes("*"), and can be read. */
Test (auth, volumes_directly_in_dockvols_are_orphans)
{
  struct mock_vol v;
  struct vdvs_volume_info info = { 0 };
  char to[PATH_MAX + 300], buf[256] = "";
  const char *files[3];
  cJSON *rows = NULL, *it;
  size_t off = 0;

  t_create_ok (ma, "loose", NULL);
  t_create_ok (ma, "kept", NULL);
  v = gvol (ma, "loose");
  files[0] = v.descriptor;
  files[1] = v.flat;
  files[2] = v.sidecar;
  for (int k = 0; k < 3; k++)
    {
      snprintf (to, sizeof to, "%s/root/datastore1/dockvols/%s", tmp,
                strrchr (files[k], '/') + 1);
      cr_assert_eq (rename (files[k], to), 0);
    }
  init_db ();
  OK (vdvs_mock_volume_ls_all (ma, &rows, &e_));
  cJSON_ArrayForEach (it, rows)
    off += (size_t)
        snprintf (buf + off, sizeof buf - off, "%s:%s:%s ",
                  cJSON_GetStringValue (cJSON_GetObjectItem (it, "volume")),
                  cJSON_GetStringValue (cJSON_GetObjectItem (it, "vmgroup")),
                  cJSON_GetStringValue (cJSON_GetObjectItem (it, "uuid")));
  cJSON_Delete (rows);
  cr_assert_str_eq (buf, "kept@datastore1:_DEFAULT:" MOCK_TENANT_UUID
                         " loose@datastore1:N/A: ");
  OK (vdvs_mock_get_in (ma, "loose@datastore1", "", &info, &e_));
  cr_assert_str_eq (info.created_by, "vmA");
  vdvs_volume_info_clear (&info);
}

/* config init --datastore: two emulated hosts (each its own auth-db
 * path) share the DB on ds2; what one host's admin sets, the other's VMs
 * are authorized by. */
Test (auth, shared_db_on_a_datastore)
{
  struct mock *h1, *h2;
  char p1[PATH_MAX + 16], p2[PATH_MAX + 16], root[PATH_MAX],
      shared[PATH_MAX + 64], link[PATH_MAX + 64];
  char *out = NULL;
  ssize_t n;

  snprintf (p1, sizeof p1, "%s/h1/auth-db", tmp);
  snprintf (p2, sizeof p2, "%s/h2/auth-db", tmp);
  snprintf (link, sizeof link, "%s/root", tmp);
  cr_assert_not_null (realpath (link, root));
  snprintf (shared, sizeof shared, "%s/ds2/dockvols/vmdkops_config.db", root);
  t_mock_config ("auth-db", p1);
  h1 = open_vm ("vmA", T_UUID_A);
  t_mock_config ("auth-db", p2);
  h2 = open_vm ("vmB", T_UUID_B);
  t_mock_config ("auth-db", "");

  FAILS (vdvs_mock_config_init_datastore (h1, "ds9", false, &out, &e_),
         "No such datastore: ds9");
  OK (vdvs_mock_config_init_datastore (h1, "ds2", false, &out, &e_));
  snprintf (link, sizeof link,
            "Warning: this feature is EXPERIMENTAL\nCreating new DB at "
            "%s\nCreating a symlink to %s at %s",
            shared, shared, p1);
  cr_assert_str_eq (out, link);
  free (out);
  cr_assert_eq (vdvs_mock_authdb_mode (h1), MOCK_DB_MULTI_NODE);
  n = readlink (p1, link, sizeof link - 1);
  cr_assert_gt (n, 0);
  link[n] = '\0';
  cr_assert_str_eq (link, shared);
  {
    vdvs_error_t e = NULL;
    cr_assert_lt (vdvs_mock_config_init_local (h1, &out, &e), 0);
    cr_assert (strncmp (e->msg, "Config DB  is already initialized.", 34)
               == 0);
    cr_assert_not_null (strstr (e->msg, "'DB_SharedLocation': '"));
    cr_assert_not_null (strstr (e->msg, "MultiNode"));
    vdvs_error_release (&e);
  }
  /* Host 1's admin: vmB in g with a 10MB cap. */
  OK (vdvs_mock_vmgroup_create (h1, "g", "_VM_DS", "", "vmB", &e_));
  OK (vdvs_mock_access_set (h1, "g", "_VM_DS", NULL, "10MB", NULL, &e_));
  /* Host 2 joins the same DB (no new one) and enforces it. */
  OK (vdvs_mock_config_init_datastore (h2, "ds2", false, &out, &e_));
  cr_assert_null (strstr (out, "Creating new DB"));
  free (out);
  FAILS (t_create (h2, "big", &e_, "size", "20MB", NULL),
         "Volume size exceeds the max volume size limit");
  t_create_ok (h2, "small", "size", "5MB", NULL);
  cr_assert_str_eq (gvol (h2, "small").esx_path,
                    "/vmfs/volumes/datastore1/dockvols/g/small.vmdk");
  /* rm --unlink leaves the shared DB to the other host. */
  OK (vdvs_mock_config_rm (h2, false, true, &out, &e_));
  snprintf (link, sizeof link, "Removed link %s", p2);
  cr_assert_str_eq (out, link);
  free (out);
  cr_assert_eq (vdvs_mock_authdb_mode (h2), MOCK_DB_NOT_CONFIGURED);
  cr_assert_eq (vdvs_mock_authdb_mode (h1), MOCK_DB_MULTI_NODE);
  /* A DB on another datastore: a new one only with --force. */
  FAILS (vdvs_mock_config_init_datastore (h2, "datastore1", false, &out, &e_),
         "Found Config DB on other datastores. . Add '--force' flag to "
         "force the request execution. Additional information: [('ds2', "
         "'/vmfs/volumes/ds2/dockvols/vmdkops_config.db')]");
  OK (vdvs_mock_config_init_datastore (h2, "datastore1", true, &out, &e_));
  cr_assert_not_null (strstr (out, "Creating new DB at "));
  free (out);
  vdvs_backend_mock.close (h1);
  vdvs_backend_mock.close (h2);
}
