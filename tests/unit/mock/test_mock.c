/* The emulated datastore through the backend vtable, without loop
 * devices: create (thin/thick), get, list, clone, remove, the attachment
 * rules that the sidecar decides, config and health (backends/mock). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "t_mock.h"

static char tmp[PATH_MAX];
static struct mock *ma;

static void
setup (void)
{
  t_mkdtemp (tmp, sizeof tmp, "mock");
  ma = t_mock_open (tmp, "vmA", T_UUID_A);
}

static void
teardown (void)
{
  vdvs_backend_mock.close (ma);
  t_rmrf (tmp);
}

TestSuite (mock, .init = setup, .fini = teardown);

/* A backend call failed with a negative value and status `e`. */
#define expect_fail(call, e, err)                                             \
  do                                                                          \
    {                                                                         \
      cr_assert_lt ((call), 0, #call " succeeded");                           \
      cr_assert_not_null ((err));                                             \
      cr_assert_eq ((err)->status, (e), "status %d: %s", (err)->status,       \
                    (err)->msg);                                              \
    }                                                                         \
  while (0)

static uint64_t
allocated (const char *path)
{
  struct stat st;
  cr_assert_eq (stat (path, &st), 0, "%s", path);
  return (uint64_t) st.st_blocks * 512;
}

static off_t
size_of (const char *path)
{
  struct stat st;
  cr_assert_eq (stat (path, &st), 0, "%s", path);
  return st.st_size;
}

static void
get_ok (struct mock *m, const char *name, struct vdvs_volume_info *i)
{
  vdvs_error_t err = NULL;
  memset (i, 0, sizeof *i);
  cr_assert_eq (vdvs_backend_mock.get (m, name, i, &err), 0, "%s: %s", name,
                err ? err->msg : "");
}

Test (mock, create_thin_is_sparse)
{
  struct mock_vol v;
  struct vdvs_volume_info i;
  struct tm tm;

  t_create_ok (ma, "v", "size", "1gb", "fstype", "ext4", NULL);
  v = t_vol (ma, "v");
  cr_assert (t_exists (v.descriptor));
  cr_assert (t_exists (v.sidecar));
  cr_assert_eq (size_of (v.flat), 1 << 30);
  cr_assert_lt (allocated (v.flat), 1 << 20, "thin extent allocated");
  get_ok (ma, "v", &i);
  cr_assert_str_eq (i.created_by, "vmA");
  cr_assert_str_eq (i.status, "detached");
  cr_assert_str_eq (i.capacity_size, "1GB");
  cr_assert_str_eq (i.capacity_allocated, "0");
  cr_assert_str_eq (i.datastore, "datastore1");
  cr_assert_null (i.attached_to_vm);
  cr_assert_not (i.has_device);
  cr_assert_str_eq (i.fstype, "ext4");
  cr_assert_str_eq (i.diskformat, "thin");
  cr_assert_str_eq (i.attach_as, "independent_persistent");
  cr_assert_str_eq (i.access, "read-write");
  cr_assert_str_eq (i.clone_from, "None");
  cr_assert_null (i.vsan_policy_name);
  /* asctime of UTC now: "Wed Mar  1 20:06:02 2017" */
  memset (&tm, 0, sizeof tm);
  {
    const char *end = strptime (i.created, "%a %b %d %H:%M:%S %Y", &tm);
    cr_assert (end != NULL && *end == '\0', "created `%s`", i.created);
    cr_assert_lt (llabs ((long long) (timegm (&tm) - time (NULL))), 120);
  }
  cr_assert_eq (strlen (i.created), 24);
  vdvs_volume_info_clear (&i);
}

Test (mock, create_default_size_and_options_kept)
{
  struct vdvs_volume_info i;

  t_create_ok (ma, "v", "access", "read-only", "attach-as", "persistent",
               NULL);
  get_ok (ma, "v", &i);
  cr_assert_str_eq (i.capacity_size, "100MB");
  cr_assert_eq (size_of (t_vol (ma, "v").flat), 100 << 20);
  cr_assert_str_eq (i.access, "read-only");
  cr_assert_str_eq (i.attach_as, "persistent");
  cr_assert_null (i.fstype);
  vdvs_volume_info_clear (&i);
}

Test (mock, create_zeroedthick_is_allocated)
{
  struct vdvs_volume_info i;
  struct mock_vol v;

  t_create_ok (ma, "v", "size", "16mb", "diskformat", "zeroedthick", NULL);
  v = t_vol (ma, "v");
  cr_assert_geq (allocated (v.flat), 16 << 20);
  get_ok (ma, "v", &i);
  cr_assert_str_eq (i.diskformat, "zeroedthick");
  cr_assert_str_eq (i.capacity_size, "16MB");
  cr_assert_str_eq (i.capacity_allocated, "16MB");
  vdvs_volume_info_clear (&i);
}

Test (mock, create_eagerzeroedthick_is_allocated_and_zero)
{
  struct vdvs_volume_info i;
  struct mock_vol v;
  char buf[4096];
  int fd;

  t_create_ok (ma, "v", "size", "8mb", "diskformat", "eagerzeroedthick", NULL);
  v = t_vol (ma, "v");
  cr_assert_geq (allocated (v.flat), 8 << 20);
  fd = open (v.flat, O_RDONLY);
  for (off_t off = 0; off < (8 << 20); off += (1 << 20) - 512)
    {
      cr_assert_eq (pread (fd, buf, sizeof buf, off), (ssize_t) sizeof buf);
      for (size_t k = 0; k < sizeof buf; k++)
        cr_assert_eq (buf[k], 0);
    }
  close (fd);
  get_ok (ma, "v", &i);
  cr_assert_str_eq (i.diskformat, "eagerzeroedthick");
  vdvs_volume_info_clear (&i);
}

Test (mock, create_is_not_repeated)
{
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v", NULL);
  expect_fail (t_create (ma, "v", &err, "size", "1gb", NULL), EEXIST, err);
  cr_assert_str_eq (err->msg, "File /vmfs/volumes/datastore1/dockvols/"
                              "_DEFAULT/v.vmdk already exists");
  vdvs_error_release (&err);
  /* The same volume by its long name, any case of the datastore. */
  expect_fail (t_create (ma, "v@DATASTORE1", &err, NULL), EEXIST, err);
  cr_assert_str_eq (err->msg, "File /vmfs/volumes/datastore1/dockvols/"
                              "_DEFAULT/v.vmdk already exists");
  vdvs_error_release (&err);
  /* The first volume is untouched. */
  cr_assert_eq (size_of (t_vol (ma, "v").flat), 100 << 20);
}

/* As upstream's createVMDK: the file is looked for before the options are
 * validated, so a retried create with bad options still says "exists". */
Test (mock, create_looks_for_the_volume_before_the_options)
{
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v", NULL);
  expect_fail (t_create (ma, "v", &err, "diskformat", "zeroedthickk", NULL),
               EEXIST, err);
  cr_assert_str_eq (err->msg, "File /vmfs/volumes/datastore1/dockvols/"
                              "_DEFAULT/v.vmdk already exists");
  vdvs_error_release (&err);
  expect_fail (t_create (ma, "v", &err, "bogus", "1", NULL), EEXIST, err);
  vdvs_error_release (&err);
  expect_fail (t_create (ma, "v", &err, "clone-from", "nothing", "size", "1gb",
                         NULL),
               EEXIST, err);
  vdvs_error_release (&err);
  /* A new name still gets the validation error. */
  expect_fail (t_create (ma, "w", &err, "diskformat", "zeroedthickk", NULL),
               EINVAL, err);
  vdvs_error_release (&err);
}

/* "vol@": an empty datastore is the default one, as upstream. */
Test (mock, an_empty_datastore_is_the_default)
{
  struct vdvs_volume_info i;
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v@", NULL);
  get_ok (ma, "v", &i);
  cr_assert_str_eq (i.datastore, "datastore1");
  vdvs_volume_info_clear (&i);
  get_ok (ma, "v@", &i);
  cr_assert_str_eq (i.datastore, "datastore1");
  vdvs_volume_info_clear (&i);
  expect_fail (t_create (ma, "v@datastore1", &err, NULL), EEXIST, err);
  vdvs_error_release (&err);
  t_create_ok (ma, "w@@", NULL);
  get_ok (ma, "w@@datastore1", &i);
  vdvs_volume_info_clear (&i);
}

Test (mock, create_on_a_second_datastore)
{
  struct vdvs_volume_info i;
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v@DS2", NULL);
  get_ok (ma, "v@ds2", &i);
  cr_assert_str_eq (i.datastore, "ds2");
  vdvs_volume_info_clear (&i);
  expect_fail (vdvs_backend_mock.get (ma, "v", &i, &err), ENOENT, err);
  cr_assert_str_eq (err->msg, "Volume v not found (file: /vmfs/volumes/"
                              "datastore1/dockvols/_DEFAULT/v.vmdk)");
  vdvs_error_release (&err);
}

Test (mock, refused_creates_leave_nothing)
{
  static const char *const bad[][2] = {
    { "size", "100mbb" },           { "sizes", "1gb" },
    { "diskformat", "thick" },      { "access", "write-only" },
    { "vsan-policy-name", "gold" },
  };
  struct mock_vol v = t_vol (ma, "v");
  vdvs_error_t err = NULL;

  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    {
      expect_fail (t_create (ma, "v", &err, bad[k][0], bad[k][1], NULL),
                   EINVAL, err);
      vdvs_error_release (&err);
    }
  expect_fail (t_create (ma, "v@nowhere", &err, NULL), EINVAL, err);
  cr_assert_str_eq (err->msg, "Invalid datastore 'nowhere'.\nKnown "
                              "datastores: datastore1, ds2.\nDefault "
                              "datastore: datastore1");
  vdvs_error_release (&err);
  cr_assert_not (t_exists (v.descriptor));
  cr_assert_not (t_exists (v.flat));
  cr_assert_not (t_exists (v.sidecar));
}

Test (mock, debris_of_a_crashed_create_is_replaced)
{
  struct mock_vol v = t_vol (ma, "v");

  t_write_file (v.flat, "junk", 4);
  t_write_file (v.sidecar, "junk", 4);
  t_create_ok (ma, "v", "size", "10mb", NULL);
  cr_assert_eq (size_of (v.flat), 10 << 20);
  cr_assert_eq (size_of (v.sidecar), 4096);
}

Test (mock, get_missing_volume)
{
  struct vdvs_volume_info i;
  vdvs_error_t err = NULL;

  memset (&i, 0, sizeof i);
  expect_fail (vdvs_backend_mock.get (ma, "x", &i, &err), ENOENT, err);
  cr_assert_eq (err->status, ENOENT);
  cr_assert_str_eq (err->msg, "Volume x not found (file: /vmfs/volumes/"
                              "datastore1/dockvols/_DEFAULT/x.vmdk)");
  vdvs_error_release (&err);
}

Test (mock, get_with_corrupt_metadata)
{
  struct vdvs_volume_info i;
  vdvs_error_t err = NULL;
  struct mock_vol v;
  char want[PATH_MAX * 2];

  t_create_ok (ma, "v", NULL);
  v = t_vol (ma, "v");
  t_write_file (v.sidecar, "{}", 2);
  memset (&i, 0, sizeof i);
  cr_assert_lt (vdvs_backend_mock.get (ma, "v", &i, &err), 0);
  snprintf (want, sizeof want,
            "Volume v has corrupt metadata: corrupt sidecar "
            "`%s`: key `status` missing or invalid",
            v.sidecar);
  cr_assert_str_eq (err->msg, want);
  vdvs_error_release (&err);

  t_write_file (v.descriptor, "not a descriptor", 16);
  cr_assert_lt (vdvs_backend_mock.get (ma, "v", &i, &err), 0);
  cr_assert_str_eq (err->msg,
                    "Volume v has a corrupt descriptor (file: "
                    "/vmfs/volumes/datastore1/dockvols/_DEFAULT/"
                    "v.vmdk): not a VMDK descriptor (missing header)");
  vdvs_error_release (&err);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
expect_list (struct mock *m, const char *const *want, size_t n)
{
  struct vdvs_volume_list l = { 0 };
  vdvs_error_t err = NULL;

  cr_assert_eq (vdvs_backend_mock.list (m, &l, &err), 0);
  if (l.n > 0)
    qsort (l.names, l.n, sizeof l.names[0], cmp_str);
  cr_assert_eq (l.n, n, "%zu names", l.n);
  for (size_t i = 0; i < n; i++)
    cr_assert_str_eq (l.names[i], want[i]);
  vdvs_volume_list_clear (&l);
}

Test (mock, list_only_volume_descriptors)
{
  static const char *const want[] = { ".hidden@datastore1",
                                      "Volume Space@datastore1",
                                      "a@datastore1", "c@ds2",
                                      "x.y@datastore1" };
  static const char *const debris[] = {
    "x-delta.vmdk", "x-ctk.vmdk", "x-digest.vmdk", "y-000001.vmdk",
    "notes.txt",    "vmdk",       ".vmdk",
  };
  char path[PATH_MAX * 2], big[6000];
  struct mock_vol v;

  expect_list (ma, NULL, 0);
  t_create_ok (ma, "a", NULL);
  t_create_ok (ma, "Volume Space", NULL);
  t_create_ok (ma, "x.y", NULL);
  t_create_ok (ma, "c@ds2", NULL);
  /* Names may start with a dot; upstream lists with os.listdir. */
  t_create_ok (ma, ".hidden", NULL);
  v = t_vol (ma, "a");
  for (size_t i = 0; i < sizeof debris / sizeof debris[0]; i++)
    {
      snprintf (path, sizeof path, "%s/%s", v.dir, debris[i]);
      t_write_file (path, "# Disk DescriptorFile\n", 22);
    }
  /* A .vmdk over 5000 bytes is a monolithic disk, not a descriptor. */
  memset (big, '#', sizeof big);
  snprintf (path, sizeof path, "%s/big.vmdk", v.dir);
  t_write_file (path, big, sizeof big);
  /* Not a regular file. */
  snprintf (path, sizeof path, "%s/dir.vmdk", v.dir);
  mkdir (path, 0755);
  expect_list (ma, want, 5);
}

Test (mock, clone_copies_data_and_metadata)
{
  struct vdvs_volume_info i;
  struct mock_vol src, dst;
  const char msg[] = "data written at 3 MiB";
  char buf[sizeof msg];
  struct mock_sidecar sc;
  vdvs_error_t err = NULL;
  int fd;

  t_create_ok (ma, "src", "size", "10mb", "fstype", "ext4", "access",
               "read-only", NULL);
  src = t_vol (ma, "src");
  fd = open (src.flat, O_WRONLY);
  cr_assert_eq (pwrite (fd, msg, sizeof msg, 3 << 20), (ssize_t) sizeof msg);
  close (fd);

  t_create_ok (ma, "dst@ds2", "clone-from", "src", "access", "read-write",
               NULL);
  dst = t_vol (ma, "dst@ds2");
  cr_assert_eq (size_of (dst.flat), 10 << 20);
  fd = open (dst.flat, O_RDONLY);
  cr_assert_eq (pread (fd, buf, sizeof buf, 3 << 20), (ssize_t) sizeof buf);
  close (fd);
  cr_assert_str_eq (buf, msg);
  cr_assert_lt (allocated (dst.flat), 2 << 20, "thin clone stays sparse");

  get_ok (ma, "dst@ds2", &i);
  cr_assert_str_eq (i.clone_from, "src");
  cr_assert_str_eq (i.fstype, "ext4");       /* the source's, kept */
  cr_assert_str_eq (i.access, "read-write"); /* overwritten */
  cr_assert_str_eq (i.capacity_size, "10MB");
  cr_assert_str_eq (i.status, "detached");
  cr_assert_str_eq (i.datastore, "ds2");
  vdvs_volume_info_clear (&i);
  cr_assert_eq (mock_sidecar_read (dst.sidecar, &sc, &err), 0);
  cr_assert_str_eq (vdvs_opts_get (&sc.vol_opts, "clone-from"), "src");
  cr_assert_str_eq (vdvs_opts_get (&sc.vol_opts, "size"), "10mb");
  mock_sidecar_clear (&sc);
}

Test (mock, clone_to_thick_and_through_the_clone_op)
{
  struct vdvs_opts o = { 0 };
  struct vdvs_volume_info i;
  vdvs_error_t err = NULL;

  t_create_ok (ma, "src", "size", "8mb", NULL);
  vdvs_opts_set (&o, "diskformat", "zeroedthick");
  cr_assert_eq (vdvs_backend_mock.clone (ma, "dst", "src", &o, &err), 0, "%s",
                err ? err->msg : "");
  vdvs_opts_clear (&o);
  cr_assert_geq (allocated (t_vol (ma, "dst").flat), 8 << 20);
  get_ok (ma, "dst", &i);
  cr_assert_str_eq (i.diskformat, "zeroedthick");
  cr_assert_str_eq (i.clone_from, "src");
  vdvs_volume_info_clear (&i);
}

Test (mock, clone_errors)
{
  vdvs_error_t err = NULL;

  expect_fail (t_create (ma, "dst", &err, "clone-from", "IDontExist", NULL),
               ENOENT, err);
  cr_assert_str_eq (err->msg, "Could not find volume for cloning IDontExist");
  vdvs_error_release (&err);
  expect_fail (t_create (ma, "dst", &err, "clone-from", "x@nowhere", NULL),
               ENOENT, err);
  cr_assert_str_eq (err->msg, "Could not find volume for cloning x@nowhere");
  vdvs_error_release (&err);
  t_create_ok (ma, "src", NULL);
  expect_fail (t_create (ma, "dst", &err, "clone-from", "src", "size", "1gb",
                         NULL),
               EINVAL, err);
  cr_assert_str_eq (err->msg, "Cannot define the size for a clone");
  vdvs_error_release (&err);
  expect_fail (t_create (ma, "src", &err, "clone-from", "src", NULL), EEXIST,
               err);
  vdvs_error_release (&err);
  cr_assert_not (t_exists (t_vol (ma, "dst").descriptor));
}

Test (mock, remove_deletes_every_file)
{
  struct mock_vol v;
  vdvs_error_t err = NULL;
  struct vdvs_opts none = { 0 };

  t_create_ok (ma, "v", NULL);
  v = t_vol (ma, "v");
  cr_assert_eq (vdvs_backend_mock.remove (ma, "v", &none, &err), 0);
  cr_assert_not (t_exists (v.descriptor));
  cr_assert_not (t_exists (v.flat));
  cr_assert_not (t_exists (v.sidecar));
  expect_fail (vdvs_backend_mock.remove (ma, "v", &none, &err), ENOENT, err);
  cr_assert_str_eq (err->msg, "Volume v not found (file: /vmfs/volumes/"
                              "datastore1/dockvols/_DEFAULT/v.vmdk)");
  vdvs_error_release (&err);
  expect_list (ma, NULL, 0);
}

Test (mock, remove_with_corrupt_sidecar_still_works)
{
  struct mock_vol v;
  vdvs_error_t err = NULL;
  struct vdvs_opts none = { 0 };

  t_create_ok (ma, "v", NULL);
  v = t_vol (ma, "v");
  t_write_file (v.sidecar, "\0\0\0", 3);
  cr_assert_eq (vdvs_backend_mock.remove (ma, "v", &none, &err), 0);
  cr_assert_not (t_exists (v.descriptor));
}

/* Mark `name` attached to a VM in its sidecar, as an attach elsewhere
 * would have. */
static void
mark_attached (struct mock *m, const char *name, const char *uuid,
               const char *vm)
{
  struct mock_vol v = t_vol (m, name);
  struct mock_sidecar sc;
  vdvs_error_t err = NULL;

  cr_assert_eq (mock_sidecar_read (v.sidecar, &sc, &err), 0);
  sc.attached = true;
  strcpy (sc.status, "attached");
  snprintf (sc.attached_uuid, sizeof sc.attached_uuid, "%s", uuid);
  snprintf (sc.attached_name, sizeof sc.attached_name, "%s", vm);
  mock_pvscsi_device (0, 2, &sc.device);
  cr_assert_eq (mock_sidecar_write (v.sidecar, &sc, &err), 0);
  mock_sidecar_clear (&sc);
}

Test (mock, another_vms_disk_cannot_be_attached_or_removed)
{
  struct mock *mb = t_mock_open (tmp, "vmB", T_UUID_B);
  struct vdvs_volume_info i;
  struct vdvs_device dev;
  struct vdvs_opts none = { 0 };
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v", NULL);
  mark_attached (ma, "v", T_UUID_A, "vmA");
  expect_fail (vdvs_backend_mock.attach (mb, "v", &dev, &err), EBUSY, err);
  cr_assert_str_eq (err->msg, "Failed to add disk 'scsi1:2'. disk /vmfs/"
                              "volumes/datastore1/dockvols/_DEFAULT/v.vmdk "
                              "already attached to VM=vmA");
  vdvs_error_release (&err);
  expect_fail (vdvs_backend_mock.remove (mb, "v", &none, &err), EBUSY, err);
  cr_assert_str_eq (err->msg,
                    "Failed to remove volume v, in use by VM = vmA.");
  vdvs_error_release (&err);
  /* Detaching someone else's disk answers success and changes nothing. */
  cr_assert_eq (vdvs_backend_mock.detach (mb, "v", &err), 0);
  get_ok (mb, "v", &i);
  cr_assert_str_eq (i.status, "attached");
  cr_assert_str_eq (i.attached_to_vm, "vmA");
  cr_assert (i.has_device);
  cr_assert_str_eq (i.device.unit, "2");
  cr_assert_str_eq (i.device.pci_slot, "160");
  cr_assert_str_eq (i.device.pci_bus, "15.0");
  vdvs_volume_info_clear (&i);
  /* The attached VM itself may not remove it either. */
  expect_fail (vdvs_backend_mock.remove (ma, "v", &none, &err), EBUSY, err);
  vdvs_error_release (&err);
  cr_assert (t_exists (t_vol (ma, "v").descriptor));
  vdvs_backend_mock.close (mb);
}

Test (mock, attached_by_uuid_only_names_the_uuid)
{
  struct vdvs_opts none = { 0 };
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v", NULL);
  mark_attached (ma, "v", "u-123", "");
  expect_fail (vdvs_backend_mock.remove (ma, "v", &none, &err), EBUSY, err);
  cr_assert_str_eq (err->msg,
                    "Failed to remove volume v, in use by VM = u-123.");
  vdvs_error_release (&err);
}

Test (mock, detach_of_a_detached_volume_is_success)
{
  vdvs_error_t err = NULL;

  t_create_ok (ma, "v", NULL);
  cr_assert_eq (vdvs_backend_mock.detach (ma, "v", &err), 0);
  expect_fail (vdvs_backend_mock.detach (ma, "x", &err), ENOENT, err);
  vdvs_error_release (&err);
}

Test (mock, attach_of_a_missing_volume)
{
  struct vdvs_device dev;
  vdvs_error_t err = NULL;

  expect_fail (vdvs_backend_mock.attach (ma, "x", &dev, &err), ENOENT, err);
  cr_assert_str_eq (err->msg, "Volume x not found (file: /vmfs/volumes/"
                              "datastore1/dockvols/_DEFAULT/x.vmdk)");
  vdvs_error_release (&err);
}

Test (mock, config_is_copied_at_open)
{
  struct mock *mb = t_mock_open (tmp, "vmB", T_UUID_B);
  struct vdvs_volume_info i;

  /* ma was opened as vmA before the config said vmB. */
  t_create_ok (ma, "a", NULL);
  t_create_ok (mb, "b", NULL);
  get_ok (mb, "a", &i);
  cr_assert_str_eq (i.created_by, "vmA");
  vdvs_volume_info_clear (&i);
  get_ok (ma, "b", &i);
  cr_assert_str_eq (i.created_by, "vmB");
  vdvs_volume_info_clear (&i);
  vdvs_backend_mock.close (mb);
}

Test (mock, config_errors)
{
  vdvs_error_t err = NULL;
  char big[PATH_MAX + 10];

  expect_fail (vdvs_backend_mock.config ("colour", "blue", &err), EINVAL, err);
  cr_assert_str_eq (err->msg, "mock: unknown option `colour`; valid: root, "
                              "datastores, vm-name, vm-uuid, sysfs-root, "
                              "dev-root, vmdkfs, vmdkfs-mount, vmdkfs-ctl, "
                              "vmdkfs-opts, auth-db, inventory, "
                              "vsan-datastores");
  vdvs_error_release (&err);
  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  expect_fail (vdvs_backend_mock.config ("root", big, &err), EINVAL, err);
  cr_assert_str_eq (err->msg, "mock: value of `root` too long");
  vdvs_error_release (&err);
}

Test (mock, open_with_a_bad_datastore_list_fails)
{
  void *h = NULL;
  vdvs_error_t err = NULL;

  t_mock_config ("datastores", "a/b");
  cr_assert_lt (vdvs_backend_mock.open (&h, &err), 0);
  cr_assert_null (h);
  cr_assert_not_null (err);
  vdvs_error_release (&err);
}

Test (mock, health_and_device_roots)
{
  struct vdvs_backend_health h;
  struct vdvs_device_roots r;
  char want[PATH_MAX + 16], moved[PATH_MAX + 16];

  vdvs_backend_mock.health (ma, &h);
  cr_assert (h.up);
  cr_assert_str_eq (h.detail, "");
  vdvs_backend_mock.device_roots (ma, &r);
  snprintf (want, sizeof want, "%s/sys", tmp);
  cr_assert_str_eq (r.sysfs_root, want);
  snprintf (want, sizeof want, "%s/dev", tmp);
  cr_assert_str_eq (r.dev_root, want);
  /* The datastore root gone: down, and attach refuses with the reason. */
  snprintf (want, sizeof want, "%s/root", tmp);
  snprintf (moved, sizeof moved, "%s/moved", tmp);
  cr_assert_eq (rename (want, moved), 0);
  vdvs_backend_mock.health (ma, &h);
  cr_assert_not (h.up);
  cr_assert (strstr (h.detail, "No such file or directory") != NULL, "%s",
             h.detail);
  rename (moved, want);
}

/* A progress receiver that checks the protocol of struct vdvs_progress. */
struct recorder
{
  int starts, updates, dones, fails;
  uint64_t last_done, total;
  char volume[128], what[128], op[16];
};

static void
record (void *opaque, struct vdvs_progress *p)
{
  struct recorder *r = opaque;

  switch (p->state)
    {
    case VDVS_PROGRESS_START:
      cr_assert_eq (r->starts + r->dones + r->fails, 0, "START comes first");
      cr_assert_eq (p->done, 0);
      cr_assert_null (p->user);
      p->user = r; /* the receiver's to keep */
      r->starts++;
      r->total = p->total;
      snprintf (r->volume, sizeof r->volume, "%s", p->volume);
      snprintf (r->what, sizeof r->what, "%s", p->what);
      snprintf (r->op, sizeof r->op, "%s", p->op);
      break;
    case VDVS_PROGRESS_UPDATE:
      r->updates++;
      break;
    case VDVS_PROGRESS_DONE:
      r->dones++;
      cr_assert_eq (p->done, p->total);
      break;
    case VDVS_PROGRESS_FAILED:
      r->fails++;
      break;
    }
  cr_assert_eq (p->user, r, "user kept between calls");
  cr_assert_geq (p->done, r->last_done, "done never decreases");
  cr_assert_leq (p->done, p->total);
  cr_assert_eq (p->total, r->total);
  r->last_done = p->done;
  if (p->state == VDVS_PROGRESS_DONE || p->state == VDVS_PROGRESS_FAILED)
    p->user = NULL;
}

Test (mock, eagerzeroedthick_and_clone_report_progress)
{
  struct recorder r = { 0 };
  struct mock_vol v;
  int fd;

  vdvs_backend_mock.set_progress (ma, record, &r);
  t_create_ok (ma, "thin", "size", "20mb", NULL);
  t_create_ok (ma, "zt", "size", "20mb", "diskformat", "zeroedthick", NULL);
  cr_assert_eq (r.starts, 0, "only the long work reports");

  t_create_ok (ma, "ezt", "size", "40mb", "diskformat", "eagerzeroedthick",
               NULL);
  cr_assert_eq (r.starts, 1);
  cr_assert_eq (r.dones, 1);
  cr_assert_eq (r.fails, 0);
  cr_assert_geq (r.updates, 5, "40 MiB in 8 MiB chunks: %d", r.updates);
  cr_assert_eq (r.total, 40 << 20);
  cr_assert_str_eq (r.op, "create");
  cr_assert_str_eq (r.volume, "ezt@datastore1");
  cr_assert_str_eq (r.what, "eagerzeroedthick");

  v = t_vol (ma, "ezt");
  fd = open (v.flat, O_WRONLY);
  cr_assert_eq (pwrite (fd, "x", 1, 30 << 20), 1);
  close (fd);
  memset (&r, 0, sizeof r);
  t_create_ok (ma, "copy@ds2", "clone-from", "ezt", NULL);
  cr_assert_eq (r.starts, 1);
  cr_assert_eq (r.dones, 1);
  cr_assert_eq (r.total, 40 << 20);
  cr_assert_str_eq (r.op, "clone");
  cr_assert_str_eq (r.volume, "copy@ds2");
  cr_assert_str_eq (r.what, "copy from ezt@datastore1");
}

Test (mock, clone_refused_before_the_copy_reports_nothing)
{
  struct recorder r = { 0 };
  struct mock_vol v;
  vdvs_error_t err = NULL;

  t_create_ok (ma, "src", "size", "10mb", NULL);
  v = t_vol (ma, "dst");
  /* The destination extent's folder entry is taken by a directory, so
   * opening it fails before any copy: no START, no report at all. */
  cr_assert_eq (mkdir (v.flat, 0700), 0);
  vdvs_backend_mock.set_progress (ma, record, &r);
  expect_fail (t_create (ma, "dst", &err, "clone-from", "src", NULL), EEXIST,
               err);
  vdvs_error_release (&err);
  cr_assert_eq (r.starts + r.dones + r.fails, 0);
  rmdir (v.flat);
}

static int
set_opts (const char *name, vdvs_error_t *err, const char *k, const char *v)
{
  struct vdvs_opts o = { 0 };
  int r;

  vdvs_opts_set (&o, k, v);
  r = vdvs_mock_set_options (ma, name, &o, err);
  vdvs_opts_clear (&o);
  return r;
}

Test (mock, admin_set_changes_access_and_keeps_the_rest)
{
  struct vdvs_volume_info i;
  struct mock_sidecar sc;
  vdvs_error_t err = NULL;
  struct mock_vol v;
  char path[PATH_MAX];

  t_create_ok (ma, "vol", "size", "10mb", "fstype", "ext4", NULL);
  cr_assert_eq (set_opts ("vol@datastore1", &err, "access", "read-only"), 0,
                "%s", err ? err->msg : "");
  get_ok (ma, "vol", &i);
  cr_assert_str_eq (i.access, "read-only");
  cr_assert_str_eq (i.attach_as, "independent_persistent");
  cr_assert_str_eq (i.fstype, "ext4");
  cr_assert_str_eq (i.capacity_size, "10MB");
  cr_assert_str_eq (i.status, "detached");
  vdvs_volume_info_clear (&i);
  cr_assert_eq (set_opts ("vol", &err, "attach-as", "persistent"), 0);
  v = t_vol (ma, "vol");
  cr_assert_eq (mock_sidecar_read (v.sidecar, &sc, &err), 0);
  cr_assert_str_eq (vdvs_opts_get (&sc.vol_opts, "access"), "read-only");
  cr_assert_str_eq (vdvs_opts_get (&sc.vol_opts, "attach-as"), "persistent");
  cr_assert_str_eq (vdvs_opts_get (&sc.vol_opts, "size"), "10mb");
  cr_assert_str_eq (vdvs_opts_get (&sc.vol_opts, "diskformat"), "thin");
  mock_sidecar_clear (&sc);

  expect_fail (set_opts ("vol", &err, "size", "1gb"), EINVAL, err);
  cr_assert (strstr (err->msg, "'size' cannot be changed"), "%s", err->msg);
  vdvs_error_release (&err);
  expect_fail (set_opts ("nope", &err, "access", "read-only"), ENOENT, err);
  cr_assert (strstr (err->msg, "Volume nope not found"), "%s", err->msg);
  vdvs_error_release (&err);
  expect_fail (set_opts ("vol@nods", &err, "access", "read-only"), EINVAL,
               err);
  vdvs_error_release (&err);

  cr_assert_eq (vdvs_mock_extent_path (ma, "vol", path, sizeof path, &err), 0);
  cr_assert_str_eq (path, v.flat);
  expect_fail (vdvs_mock_extent_path (ma, "nope", path, sizeof path, &err),
               ENOENT, err);
  vdvs_error_release (&err);
}
