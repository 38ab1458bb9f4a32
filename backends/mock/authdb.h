/* The Config DB of the emulated ESX host (upstream auth_data.py, reference
 * admin-tenancy.md §1-§2, §5.2-§5.3): vmgroups ("tenants"), their VMs by
 * UUID, per-datastore privileges and the volumes table quotas sum, in
 * SQLite at the handle's auth-db path (default <root>/.vmdkops/auth-db,
 * standing in for /etc/vmware/vmdkops/auth-db).
 *
 * The mode is found again on every use (absent: NotConfigured, everything
 * allowed as `_DEFAULT`; a regular file: SingleNode; a symlink to a DB:
 * MultiNode; dangling or unreadable: BrokenLink), so `config init/rm` act
 * at once on every vdvsd and esxsim sharing the root.  Every change runs in
 * one IMMEDIATE transaction with a busy timeout: several processes may use
 * the DB at once, and a crash mid-change leaves it as it was.
 *
 * Admin functions (vdvs_mock_*) take a mock handle (the datastores and the
 * VM inventory of the root) and answer 0, or <0 with *err holding the
 * exact upstream text (vdvsctl prints it after "ERROR:").  Listings are a
 * cJSON array of objects whose keys are upstream's column names, in
 * column order; the caller frees it with cJSON_Delete.
 */
#ifndef VDVS_MOCK_AUTHDB_H
#define VDVS_MOCK_AUTHDB_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdvs/backend.h"
#include "vdvs/error.h"

#define MOCK_DEFAULT_TENANT "_DEFAULT"
#define MOCK_DEFAULT_TENANT_UUID "11111111-1111-1111-1111-111111111111"
#define MOCK_VM_DS "_VM_DS"
#define MOCK_ALL_DS "_ALL_DS"
#define MOCK_INIT_NEEDED                                                      \
  "Configuration not found. Please init configuration with 'esxcli "          \
  "storage guestvol config init'."

enum mock_db_mode
{
  MOCK_DB_NOT_CONFIGURED,
  MOCK_DB_SINGLE_NODE,
  MOCK_DB_MULTI_NODE,
  MOCK_DB_BROKEN_LINK,
};

/* upstream's convert_to_MB: "<int>MB|GB|TB|PB", any case; anything else,
 * and zero, is 0. */
uint64_t mock_convert_to_mb (const char *s);
/* upstream's human_readable of mb MiB: "500.00MB", "1.00GB", "2.00TB". */
void mock_mb_human (uint64_t mb, char *buf, size_t len);

/* The DB path of a handle and its mode; the mode's `DB_Mode:` text. */
void vdvs_mock_authdb_path (void *handle, char *buf, size_t len);
enum mock_db_mode vdvs_mock_authdb_mode (void *handle);
const char *mock_db_mode_text (enum mock_db_mode mode);

/* config init's flags, in upstream's order: the datastore (if given)
 * exists, then exactly one of --local and --datastore. */
int vdvs_mock_config_init_args (void *handle, bool local, const char *ds,
                                vdvs_error_t *err);
/* config init --local: a new DB (built aside, then renamed into place).
 * *out: the lines to print (malloc'd, caller frees). */
int vdvs_mock_config_init_local (void *handle, char **out, vdvs_error_t *err);
/* config init --datastore DS [--force]: the shared DB
 * <root>/DS/dockvols/vmdkops_config.db, made unless it exists (then
 * joined), and the auth-db path a symlink to it (MultiNode). */
int vdvs_mock_config_init_datastore (void *handle, const char *ds, bool force,
                                     char **out, vdvs_error_t *err);
/* config rm --local|--unlink --confirm; *out as above ("" when silent). */
int vdvs_mock_config_rm (void *handle, bool local, bool unlink, char **out,
                         vdvs_error_t *err);

/* vmgroup commands; vm_list is comma-separated ("" or NULL: none). */
int vdvs_mock_vmgroup_create (void *handle, const char *name,
                              const char *default_ds, const char *description,
                              const char *vm_list, vdvs_error_t *err);
int vdvs_mock_vmgroup_rm (void *handle, const char *name, bool remove_volumes,
                          bool force, vdvs_error_t *err);
int vdvs_mock_vmgroup_ls (void *handle, cJSON **rows, vdvs_error_t *err);
int vdvs_mock_vmgroup_vm_add (void *handle, const char *name,
                              const char *vm_list, vdvs_error_t *err);
int vdvs_mock_vmgroup_vm_rm (void *handle, const char *name,
                             const char *vm_list, vdvs_error_t *err);
int vdvs_mock_vmgroup_vm_replace (void *handle, const char *name,
                                  const char *vm_list, vdvs_error_t *err);
/* vmgroup update: NULL or "" leaves a field as it is. */
int vdvs_mock_vmgroup_update (void *handle, const char *name,
                              const char *new_name, const char *description,
                              const char *default_ds, vdvs_error_t *err);
int vdvs_mock_vmgroup_vm_ls (void *handle, const char *name, cJSON **rows,
                             vdvs_error_t *err);
/* access add: max/total are the flags' texts (NULL: not given). */
int vdvs_mock_access_add (void *handle, const char *name, const char *ds,
                          bool allow_create, const char *max,
                          const char *total, vdvs_error_t *err);
/* access set: allow_create "true"/"false" in any case (NULL: as is);
 * only given, non-zero sizes change. */
int vdvs_mock_access_set (void *handle, const char *name, const char *ds,
                          const char *allow_create, const char *max,
                          const char *total, vdvs_error_t *err);
int vdvs_mock_access_rm (void *handle, const char *name, const char *ds,
                         vdvs_error_t *err);
int vdvs_mock_access_ls (void *handle, const char *name, cJSON **rows,
                         vdvs_error_t *err);

/* Admin volume listing: every volume in every vmgroup folder
 * (dockvols/<uuid>) and in dockvols/ itself (uuid "") of every datastore,
 * as rows {"volume": "vol@ds", "uuid": folder, "vmgroup": its name, or
 * "N/A" when no vmgroup has that uuid (upstream's orphans), "vsan": is
 * the datastore vSAN}, sorted by
 * volume then vmgroup. */
int vdvs_mock_volume_ls_all (void *handle, cJSON **rows, vdvs_error_t *err);
/* Admin `volume set --volume VOL@DS --vmgroup G --options "k=v[,k=v]"`:
 * access and attach-as of the volume in G's folder, checked in upstream's
 * order (options syntax, name, vmgroup, datastore, volume, keys, values).
 * <0 with *err the whole upstream text ("Failed to update O for V." or
 * "Failed to update O for V - DETAIL."); the plain text's reason is
 * logged. */
int vdvs_mock_volume_set (void *handle, const char *name, const char *vmgroup,
                          const char *options, vdvs_error_t *err);
/* policy create/rm/ls/update (policy.c): texts of upstream's
 * vsan_policy.py; ls rows {"Policy Name", "Policy Content", "Active"}. */
int vdvs_mock_policy_create (void *handle, const char *name,
                             const char *content, vdvs_error_t *err);
int vdvs_mock_policy_update (void *handle, const char *name,
                             const char *content, vdvs_error_t *err);
int vdvs_mock_policy_rm (void *handle, const char *name, vdvs_error_t *err);
int vdvs_mock_policy_ls (void *handle, cJSON **rows, vdvs_error_t *err);
/* get of `name` in the folder of vmgroup `uuid`, for an admin tool. */
int vdvs_mock_get_in (void *handle, const char *name, const char *uuid,
                      struct vdvs_volume_info *out, vdvs_error_t *err);

#endif
