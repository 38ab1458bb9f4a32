/* The typed structs of include/vdvs/types.h (common/types.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvs/types.h"

static void
expect_keys (const struct vdvs_opts *o, const char *const *keys, size_t n)
{
  cr_assert_eq (o->n, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_str_eq (o->v[i].key, keys[i], "key %zu", i);
}

Test (opts, set_keeps_keys_sorted)
{
  struct vdvs_opts o = { 0 };
  const char *const want[] = { "access", "clone-from", "diskformat", "fstype",
                               "size" };

  cr_assert_eq (vdvs_opts_set (&o, "size", "10gb"), 0);
  cr_assert_eq (vdvs_opts_set (&o, "fstype", "ext4"), 0);
  cr_assert_eq (vdvs_opts_set (&o, "access", "read-only"), 0);
  cr_assert_eq (vdvs_opts_set (&o, "diskformat", "thin"), 0);
  cr_assert_eq (vdvs_opts_set (&o, "clone-from", "src"), 0);
  expect_keys (&o, want, 5);
  cr_assert_str_eq (vdvs_opts_get (&o, "size"), "10gb");
  cr_assert_str_eq (vdvs_opts_get (&o, "access"), "read-only");
  cr_assert_str_eq (vdvs_opts_get (&o, "clone-from"), "src");
  vdvs_opts_clear (&o);
}

Test (opts, set_replaces_existing_value)
{
  struct vdvs_opts o = { 0 };

  vdvs_opts_set (&o, "b", "1");
  vdvs_opts_set (&o, "a", "1");
  cr_assert_eq (vdvs_opts_set (&o, "b", "2"), 0);
  cr_assert_eq (o.n, 2);
  cr_assert_str_eq (vdvs_opts_get (&o, "b"), "2");
  cr_assert_str_eq (o.v[1].key, "b");
  vdvs_opts_clear (&o);
}

Test (opts, get_missing_is_null_and_case_sensitive)
{
  struct vdvs_opts o = { 0 };

  cr_assert_null (vdvs_opts_get (&o, "size"));
  vdvs_opts_set (&o, "size", "1gb");
  cr_assert_null (vdvs_opts_get (&o, "Size"));
  cr_assert_null (vdvs_opts_get (&o, "siz"));
  vdvs_opts_clear (&o);
}

Test (opts, values_are_copied)
{
  struct vdvs_opts o = { 0 };
  char k[8] = "key", v[8] = "val";

  vdvs_opts_set (&o, k, v);
  strcpy (k, "xxx");
  strcpy (v, "yyy");
  cr_assert_str_eq (vdvs_opts_get (&o, "key"), "val");
  vdvs_opts_clear (&o);
}

Test (opts, empty_value_and_key_are_kept)
{
  struct vdvs_opts o = { 0 };

  vdvs_opts_set (&o, "k", "");
  vdvs_opts_set (&o, "", "v");
  cr_assert_eq (o.n, 2);
  cr_assert_str_eq (o.v[0].key, "");
  cr_assert_str_eq (vdvs_opts_get (&o, "k"), "");
  vdvs_opts_clear (&o);
}

Test (opts, clear_resets_and_can_be_reused)
{
  struct vdvs_opts o = { 0 };

  vdvs_opts_set (&o, "a", "1");
  vdvs_opts_clear (&o);
  cr_assert_eq (o.n, 0);
  cr_assert_null (o.v);
  vdvs_opts_clear (&o); /* twice is fine */
  vdvs_opts_set (&o, "z", "2");
  cr_assert_eq (o.n, 1);
  vdvs_opts_clear (&o);
}

Test (opts, many_keys_stay_sorted)
{
  struct vdvs_opts o = { 0 };
  char k[16];

  /* Insert in a scrambled order: 37 is coprime with 100. */
  for (int i = 0; i < 100; i++)
    {
      snprintf (k, sizeof k, "k%03d", (i * 37) % 100);
      cr_assert_eq (vdvs_opts_set (&o, k, k), 0);
    }
  cr_assert_eq (o.n, 100);
  for (size_t i = 1; i < o.n; i++)
    cr_assert_lt (strcmp (o.v[i - 1].key, o.v[i].key), 0);
  cr_assert_str_eq (vdvs_opts_get (&o, "k042"), "k042");
  vdvs_opts_clear (&o);
}

Test (list, add_and_clear)
{
  struct vdvs_volume_list l = { 0 };

  cr_assert_eq (vdvs_volume_list_add (&l, "a@datastore1"), 0);
  cr_assert_eq (vdvs_volume_list_add (&l, "b@ds2"), 0);
  cr_assert_eq (l.n, 2);
  cr_assert_str_eq (l.names[0], "a@datastore1");
  cr_assert_str_eq (l.names[1], "b@ds2");
  vdvs_volume_list_clear (&l);
  cr_assert_eq (l.n, 0);
  cr_assert_null (l.names);
}

Test (info, clear_frees_and_zeroes)
{
  struct vdvs_volume_info i;

  memset (&i, 0, sizeof i);
  i.created_by = strdup ("vm");
  i.created = strdup ("Wed Mar  1 20:06:02 2017");
  i.status = strdup ("attached");
  i.capacity_size = strdup ("100MB");
  i.capacity_allocated = strdup ("13MB");
  i.datastore = strdup ("datastore1");
  i.attached_to_vm = strdup ("vm");
  i.has_device = true;
  strcpy (i.device.unit, "0");
  i.fstype = strdup ("ext4");
  i.diskformat = strdup ("thin");
  i.attach_as = strdup ("persistent");
  i.access = strdup ("read-only");
  i.clone_from = strdup ("None");
  i.vsan_policy_name = strdup ("p");
  /* Every member is freed (the sanitizer build catches a leak). */
  vdvs_volume_info_clear (&i);
  cr_assert_null (i.created_by);
  cr_assert_null (i.vsan_policy_name);
  cr_assert_not (i.has_device);
  cr_assert_eq (i.device.unit[0], '\0');
  vdvs_volume_info_clear (&i); /* a cleared info clears again */
}
