/* Every upstream text of the vmgroup, access, config, policy and volume
 * commands and of the authorization of a VM's requests (reference
 * admin-tenancy.md §2-§5.3), each produced by the action that produces it
 * upstream.  One table, run in order on one datastore root: a row is an
 * action and the exact text it must give.
 *
 * Actions:
 *   "$ WORDS"          the built vdvsctl (meson's $VDVSCTL) run with
 *                      WORDS; the text is its whole stdout, and
 *                      the exit status is 2 when it starts "ERROR:", else 0
 *   "vmA|vmB|vmC OP NAME [K=V...]"
 *                      that VM's create, rm, get or mount (authorization of
 *                      an attach) of NAME; the text is the error, "" when
 *                      it succeeds; OP "ls": the names it lists
 *   "! attach VM VOL"  mark VOL (that VM's) attached to VM, as an attach
 *                      leaves the sidecar and the VM's unit record
 *   "! detach VM VOL"  undo that
 *   "! unit VM on|off" only the VM's unit record (a disk attached)
 *   "! broken"         the auth-db path a dangling symlink (BrokenLink)
 *   "! no-default-ds G" vmgroup G's default datastore emptied in the DB
 *
 * In a text, {R} stands for the root and a final "*" matches any rest
 * (the backup name's time stamp).  Words in '' may hold blanks.
 *
 * Deliberately not upstream's (docs/tenancy.md): paths are the
 * emulation's, and config init --datastore / rm --unlink print no
 * "Updating /etc/rc.local.d/local.sh" (there is no boot script). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "authdb.h"
#include "t_mock.h"

#define INIT "ERROR:" MOCK_INIT_NEEDED "\n"
#define BROKEN "BrokenLink (Broken link or corrupted DB file)"
#define DB_ERR "DB access error at {R}/.vmdkops/auth-db: " BROKEN
#define VSAN "--vsan-datastores ds3 "

struct row
{
  const char *act, *want;
};

/* `vmgroup ls` when only the _DEFAULT vmgroup exists. */
#define DEFAULT_ONLY_LS                                                         \
  "Uuid                                  Name      Description                " \
  "Default_datastore  VM_list  \n"                                              \
  "------------------------------------  --------  -------------------------  " \
  "-----------------  -------  \n"                                              \
  "11111111-1111-1111-1111-111111111111  _DEFAULT  This is a default vmgroup  " \
  "_VM_DS                      \n\n"
static const struct row rows[] = {
  /* §2, §5.2, §5.3: no Config DB. */
  { "$ config status",
    "DB_Mode: NotConfigured (no local DB, no symlink to shared DB)\n"
    "DB_LocalPath: N/A\nDB_SharedLocation: N/A\n" },
  { "$ vmgroup create --name g1 --default-datastore _VM_DS", INIT },
  { "$ vmgroup update --name g1 --description d", INIT },
  { "$ vmgroup rm --name g1", INIT },
  { "$ vmgroup vm add --name g1 --vm-list vmA", INIT },
  { "$ vmgroup vm rm --name g1 --vm-list vmA", INIT },
  { "$ vmgroup vm replace --name g1 --vm-list vmA", INIT },
  { "$ vmgroup vm ls --name g1", INIT },
  { "$ vmgroup access add --name g1 --datastore ds2", INIT },
  { "$ vmgroup access set --name g1 --datastore ds2 --allow-create true",
    INIT },
  { "$ vmgroup access rm --name g1 --datastore ds2", INIT },
  { "$ vmgroup access ls --name g1", INIT },
  { "$ vmgroup ls", DEFAULT_ONLY_LS },
  /* §3 step 7: without a DB a bad size is the option check's text. */
  { "vmA create bad size=10g",
    "Invalid format for size. \nValid sizes must be of form X[mMgGtT]b "
    "where X is an integer. Default = 100mb" },
  { "$ config rm --local --confirm", "" },
  /* §5.3 config init and rm: the flags first. */
  { "$ config init",
    "ERROR:Error: one of '--datastore' or '--local' have to be set\n" },
  { "$ config init --local --datastore nods",
    "ERROR:No such datastore: nods\n" },
  { "$ config init --local --datastore ds2",
    "ERROR:Error: only one of '--datastore' or '--local' can be set\n" },
  { "$ config rm --confirm",
    "ERROR:\n        DB removal is irreversible operation. Please use "
    "'--local' flag for removing DB in SingleNode mode,\n        and use "
    "'--unlink' to unlink from DB in MultiNode mode.\n        Note that "
    "'--unlink' will not remove a shared DB, but simply configure the "
    "current ESXi host to stop using it.\n        For removing shared DB, "
    "run 'vmdkops_admin config rm --unlink' on ESXi hosts using this DB, "
    "and then manually\n        remove the actual DB file "
    "'vmdkops_config.db' from shared storage.\n        \n" },
  { "$ config rm --local --unlink --confirm",
    "ERROR:\n        Cannot use '--local' and '--unlink' together. Please "
    "use '--local' flag for removing DB in SingleNode mode,\n        and "
    "use '--unlink' to unlink from DB in MultiNode mode.\n        \n" },
  { "$ config rm --local",
    "ERROR:Warning: For extra safety, removal operation requires "
    "'--confirm' flag.\n" },
  { "$ config mv --to ds2",
    "ERROR:Config DB  move to ds2 requires '--force' flag to execute the "
    "request.\n" },
  { "$ config mv --to ds2 --force",
    "Sorry, configuration move ('config mv' command) is not supported "
    "yet\n" },
  /* SingleNode. */
  { "$ config init --local",
    "Warning: this feature is EXPERIMENTAL\nCreating new DB at "
    "{R}/.vmdkops/auth-db\nWarning: Local configuration will not survive "
    "ESXi reboot. See KB2043564 for details\n" },
  { "$ config status", "DB_Mode: SingleNode (local DB exists)\nDB_LocalPath: "
                       "{R}/.vmdkops/auth-db\nDB_SharedLocation: N/A\n" },
  { "$ config init --local",
    "ERROR:Config DB  is already initialized. Use 'rm --local' or 'rm "
    "--unlink' to reset. Additional information: {'DB_LocalPath': "
    "'{R}/.vmdkops/auth-db', 'DB_SharedLocation': 'N/A', 'DB_Mode': "
    "'SingleNode (local DB exists)'}\n" },
  { "$ config rm --unlink --confirm",
    "ERROR:'rm --unlink' is not supported when Config DB is in SingleNode "
    "mode. Use 'rm --local' to remove local DB configuration.\n" },
  { "$ vmgroup ls", DEFAULT_ONLY_LS },
  /* §5.2 vmgroup create: the order of checks. */
  { "$ vmgroup create --name -g --default-datastore _VM_DS",
    "ERROR:Vmgroup name -g is invalid, only [a-zA-Z0-9_][a-zA-Z0-9_.-]* is "
    "allowed\n" },
  { "$ vmgroup create --name _DEFAULT --default-datastore _VM_DS --vm-list "
    "vmA",
    "ERROR:Invalid Argument(['vmA'])\n" },
  { "$ vmgroup create --name g1 --default-datastore _VM_DS --vm-list "
    "vmA,vmA",
    "ERROR:VMs ['vmA', 'vmA'] contain duplicates, they should be unique\n" },
  { "$ vmgroup create --name g1 --default-datastore _VM_DS --vm-list "
    "vmA,nope,nada",
    "ERROR:Cannot find vm nope,nada\n" },
  { "$ vmgroup create --name g1 --default-datastore _VM_DS --vm-list "
    "'vmA, vmB'",
    "ERROR:Cannot find vm  vmB\n" },
  { "$ vmgroup create --name g1 --default-datastore _ALL_DS",
    "ERROR:Cannot use _ALL_DS as default datastore. Please use specific "
    "datastore name or _VM_DS special datastore\n" },
  { "$ vmgroup create --name g1 --default-datastore ds9",
    "ERROR:Datastore ds9 does not exist\n" },
  { "$ vmgroup create --name g1 --default-datastore _VM_DS --vm-list vmA",
    "vmgroup 'g1' is created. Do not forget to run 'vmgroup vm add' to add "
    "vm to vmgroup.\n" },
  { "$ vmgroup create --name g1 --default-datastore _VM_DS",
    "ERROR:Vmgroup g1 already exists\n" },
  { "$ vmgroup create --name g2 --default-datastore _VM_DS --vm-list vmA",
    "ERROR:VM 'vmA' has already been associated with tenant 'g1', can't add "
    "it\n" },
  /* §5.2 vm add/rm/replace/ls. */
  { "$ vmgroup vm ls --name g1",
    "Uuid                                  Name  \n"
    "------------------------------------  ----  \n"
    "564d0000-aaaa-aaaa-aaaa-aaaaaaaaaaaa  vmA   \n\n" },
  { "$ vmgroup vm add --name _DEFAULT --vm-list vmB",
    "ERROR:This feature is not supported for vmgroup _DEFAULT.\n" },
  { "$ vmgroup vm rm --name _DEFAULT --vm-list vmB",
    "ERROR:This feature is not supported for vmgroup _DEFAULT.\n" },
  { "$ vmgroup vm replace --name _DEFAULT --vm-list vmB",
    "ERROR:This feature is not supported for vmgroup _DEFAULT.\n" },
  { "$ vmgroup vm ls --name _DEFAULT",
    "ERROR:_DEFAULT tenant contains all VMs which were not added to other "
    "tenants\n" },
  { "$ vmgroup vm add --name nog --vm-list vmB",
    "ERROR:Vmgroup nog does not exist\n" },
  { "$ vmgroup vm ls --name nog", "ERROR:Vmgroup nog does not exist\n" },
  { "$ vmgroup vm add --name g1 --vm-list ''",
    "ERROR:VM list cannot be empty\n" },
  { "$ vmgroup vm rm --name g1 --vm-list ''",
    "ERROR:VM list cannot be empty\n" },
  { "$ vmgroup vm add --name g1 --vm-list vmB,vmB",
    "ERROR:VMs ['vmB', 'vmB'] contain duplicates, they should be unique\n" },
  { "$ vmgroup vm add --name g1 --vm-list nope",
    "ERROR:Cannot find vm nope\n" },
  { "$ vmgroup vm add --name g1 --vm-list vmA",
    "ERROR:VM 'vmA' has already been associated with tenant 'g1', can't add "
    "it\n" },
  { "$ vmgroup vm rm --name g1 --vm-list vmB",
    "ERROR:VM 'vmB' has not been associated with tenant 'g1', cannot remove "
    "it\n" },
  { "$ vmgroup vm replace --name g1 --vm-list ''",
    "ERROR:Replace VM cannot be empty\n" },
  { "$ vmgroup vm replace --name g1 --vm-list vmA",
    "ERROR:VM 'vmA' has already been associated with tenant 'g1', can't add "
    "it\n" },
  /* A VM with a volume attached can join or leave no vmgroup. */
  { "vmB create busy", "" },
  { "! attach vmB busy", "" },
  { "$ vmgroup vm add --name g1 --vm-list vmB",
    "ERROR:Cannot add VM to vmgroup VM 'vmB' has volumes mounted.\n" },
  { "$ vmgroup create --name g2 --default-datastore _VM_DS --vm-list vmB",
    "ERROR:Cannot add VM to vmgroup VM 'vmB' has volumes mounted.\n" },
  { "! detach vmB busy", "" },
  { "$ vmgroup vm add --name g1 --vm-list vmB", "vmgroup vm add succeeded\n" },
  { "! unit vmB on", "" },
  { "$ vmgroup vm rm --name g1 --vm-list vmB",
    "ERROR:Cannot complete vmgroup vm rm. VM 'vmB' has volumes mounted.\n" },
  { "$ vmgroup vm replace --name g1 --vm-list nope2",
    "ERROR:Cannot find vm nope2\n" },
  { "! unit vmB off", "" },
  { "! unit vmA on", "" },
  { "$ vmgroup vm replace --name g1 --vm-list vmC",
    "ERROR:Cannot complete vmgroup vm replace. VM 'vmA' has volumes "
    "mounted.\n" },
  { "! unit vmA off", "" },
  { "$ vmgroup vm rm --name g1 --vm-list vmB", "vmgroup vm rm succeeded\n" },
  { "$ vmgroup vm replace --name g1 --vm-list vmB",
    "vmgroup vm replace succeeded\n" },
  { "$ vmgroup vm replace --name g1 --vm-list vmA",
    "vmgroup vm replace succeeded\n" },
  /* §5.2 access. */
  { "$ vmgroup access add --name nog --datastore ds2",
    "ERROR:Vmgroup nog does not exist\n" },
  { "$ vmgroup access add --name g1 --datastore ds9",
    "ERROR:Datastore ds9 does not exist\n" },
  { "$ vmgroup access add --name g1 --datastore _VM_DS",
    "ERROR:Access privilege for (g1, _VM_DS) already exists\n" },
  { "$ vmgroup access add --name g1 --datastore ds2 --volume-maxsize 2GB "
    "--volume-totalsize 1GB",
    "ERROR:Volume max size 2048MB exceeds the total size 1024MB\n" },
  { "$ vmgroup access add --name g1 --datastore ds2",
    "vmgroup access add succeeded\n" },
  { "$ vmgroup access add --name g1 --datastore _ALL_DS --allow-create "
    "--volume-maxsize 100MB --volume-totalsize 150mb",
    "vmgroup access add succeeded\n" },
  { "$ vmgroup access set --name g1 --datastore ds3 --allow-create true",
    "ERROR:No access privilege exists for (g1, ds3)\n" },
  { "$ vmgroup access set --name g1 --datastore ds2 --allow-create yes",
    "ERROR:Invalid value yes for allow-create option\n" },
  { "$ vmgroup access set --name g1 --datastore _ALL_DS --volume-maxsize "
    "200MB",
    "ERROR:Volume max size 200MB exceeds the total size 150MB\n" },
  { "$ vmgroup access set --name g1 --datastore ds2 --allow-create FALSE "
    "--volume-maxsize 500MB",
    "vmgroup access set succeeded\n" },
  { "$ vmgroup access rm --name g1 --datastore ds3",
    "ERROR:No access privilege exists for (g1, ds3)\n" },
  { "$ vmgroup access rm --name g1 --datastore _VM_DS",
    "ERROR:Removing of access privilege to 'default_datastore' is not "
    "supported\n" },
  { "$ vmgroup access ls --name nog", "ERROR:Vmgroup nog does not exist\n" },
  { "$ vmgroup access ls --name g1",
    "Datastore  Allow_create  Max_volume_size  Total_size  \n"
    "---------  ------------  ---------------  ----------  \n"
    "ds2        False         500.00MB         Unset       \n"
    "_ALL_DS    True          100.00MB         150.00MB    \n"
    "_VM_DS     True          Unset            Unset       \n\n" },
  /* §3: authorizing a VM's requests, in upstream's order. */
  { "vmA create x@ds2 size=bad", "No create privilege" },
  { "vmA create x@ds3 size=10g", "Invalid volume size specified." },
  { "vmA create x@ds3 size=101MB",
    "Volume size exceeds the max volume size limit" },
  { "vmA create a@ds3 size=100MB", "" },
  { "vmA create a@ds3 size=100MB",
    "The total volume size exceeds the usage quota" },
  { "vmA create a@ds3 size=10MB",
    "File /vmfs/volumes/ds3/dockvols/g1/a.vmdk already exists" },
  { "vmA create b@ds3 size=50MB", "" },
  { "vmB create m@ds2", "" },
  /* §5.1 volume ls and set. */
  { "$ volume ls -c volume,datastore,vmgroup,access,attach-as",
    "Volume  Datastore   VMGroup   Access      Attach-as               \n"
    "------  ----------  --------  ----------  ----------------------  \n"
    "a       ds3         g1        read-write  independent_persistent  \n"
    "b       ds3         g1        read-write  independent_persistent  \n"
    "busy    datastore1  _DEFAULT  read-write  independent_persistent  \n"
    "m       ds2         _DEFAULT  read-write  independent_persistent  \n\n" },
  { "$ volume ls -c vmgroup,volume --vmgroup 'g[0-1]'",
    "Volume  VMGroup  \n------  -------  \na       g1       \n"
    "b       g1       \n\n" },
  { "$ volume set --volume a@ds3 --vmgroup g1 --options "
    "'access=read-only, attach-as=persistent'",
    "Successfully updated settings for a@ds3\n" },
  { "$ volume set --volume a@ds3 --vmgroup g2 --options access=read-only",
    "ERROR:Failed to update access=read-only for a@ds3.\n" },
  { "$ volume set --volume a --vmgroup g1 --options access=read-only",
    "ERROR:Failed to update access=read-only for a.\n" },
  { "$ volume set --volume a@ds3 --vmgroup g1 --options 'size=1,access=x'",
    "ERROR:Failed to update size=1,access=x for a@ds3 - \"Invalid options: "
    "['size'] \\nOptions that can be edited: ['access', 'attach-as']\".\n" },
  { "$ volume set --volume a@ds3 --vmgroup g1 --options access=read-only,",
    "ERROR:Failed to update access=read-only, for a@ds3 - dictionary update "
    "sequence element #1 has length 1; 2 is required.\n" },
  { "$ volume set --volume a@ds3 --vmgroup g1 --options attach-as=bad",
    "ERROR:Failed to update attach-as=bad for a@ds3.\n" },
  { "$ volume ls -c volume,vmgroup,access,attach-as --vmgroup g1",
    "Volume  VMGroup  Access      Attach-as               \n"
    "------  -------  ----------  ----------------------  \n"
    "a       g1       read-only   persistent              \n"
    "b       g1       read-write  independent_persistent  \n\n" },
  { "vmA rm m@ds2", "No delete privilege" },
  { "vmA create x@nods",
    "Invalid datastore 'nods'.\nKnown datastores: datastore1, ds2, ds3.\n"
    "Default datastore: datastore1" },
  { "$ vmgroup access rm --name g1 --datastore _ALL_DS",
    "vmgroup access rm succeeded\n" },
  { "vmA create x@ds3", "No access privilege exists" },
  { "vmA rm a@ds3", "No access privilege exists" },
  { "vmA get a@ds3", "No access privilege exists" },
  { "vmA mount a@ds3", "No access privilege exists" },
  /* §5.2 update. */
  { "$ vmgroup update --name nog --description d",
    "ERROR:Vmgroup nog does not exist\n" },
  { "$ vmgroup update --name g1 --default-datastore _ALL_DS",
    "ERROR:Cannot use _ALL_DS as default datastore. Please use specific "
    "datastore name or _VM_DS special datastore\n" },
  { "$ vmgroup update --name g1 --default-datastore ds9",
    "ERROR:Datastore ds9 does not exist\n" },
  { "$ vmgroup update --name _DEFAULT --new-name x",
    "ERROR:Vmgroup name _DEFAULT is invalid, only rename of vmgroups other "
    "than _DEFAULT is allowed\n" },
  { "$ vmgroup update --name g1 --new-name _DEFAULT",
    "ERROR:Vmgroup _DEFAULT already exists\n" },
  { "$ vmgroup update --name g1 --description d",
    "vmgroup modify succeeded\n" },
  /* §5.2 rm. */
  { "$ vmgroup rm --name nog", "ERROR:Vmgroup nog does not exist\n" },
  { "$ vmgroup rm --name g1",
    "ERROR:Cannot delete non-empty vmgroup g1. Remove VMs from the vmgroup "
    "before deleting it.\n" },
  { "$ vmgroup rm --name g1 --force",
    "ERROR:Internal Error(The vmgroup has volumes in it, these must be "
    "removed/migrated before deleting the vmgroup.)\n" },
  { "! attach vmA b@ds3", "" },
  { "$ vmgroup rm --name g1 --force --remove-volumes",
    "ERROR:Internal Error(Failed to remove volume b, in use by VM = vmA.)\n" },
  { "! detach vmA b@ds3", "" },
  { "$ vmgroup rm --name g1 --force --remove-volumes",
    "All Volumes will be removed. vmgroup rm succeeded\n" },
  { "$ vmgroup create --name g3 --default-datastore ds2",
    "vmgroup 'g3' is created. Do not forget to run 'vmgroup vm add' to add "
    "vm to vmgroup.\n" },
  /* A DB whose vmgroup lost its default datastore (only a damaged DB). */
  { "$ vmgroup vm add --name g3 --vm-list vmC", "vmgroup vm add succeeded\n" },
  { "! no-default-ds g3", "" },
  { "$ vmgroup ls", "ERROR:Default datastore is not set for vmgroup g3\n" },
  { "vmC create x", "Default datastore is not set for vmgroup g3" },
  { "$ vmgroup vm rm --name g3 --vm-list vmC", "vmgroup vm rm succeeded\n" },
  { "$ vmgroup rm --name g3", "vmgroup rm succeeded\n" },
  /* §3 step 1: no _DEFAULT, a VM in no vmgroup. */
  { "$ vmgroup rm --name _DEFAULT --remove-volumes",
    "All Volumes will be removed. vmgroup rm succeeded\n" },
  { "vmB create y", "VM vmB does not belong to any vmgroup" },
  { "vmB rm m@ds2", "VM vmB does not belong to any vmgroup" },
  { "vmB ls", "" },
  { "$ vmgroup create --name _DEFAULT --default-datastore _VM_DS",
    "vmgroup '_DEFAULT' is created.\n" },
  { "$ vmgroup access add --name _DEFAULT --datastore _ALL_DS "
    "--allow-create",
    "vmgroup access add succeeded\n" },
  /* §4 policies. */
  { "$ policy create --name p --content x", "ERROR:Error: VSAN datastore "
                                            "does not exist\n" },
  { "$ policy rm --name p", "ERROR:Error: VSAN datastore does not exist\n" },
  { "$ policy update --name p --content x",
    "ERROR:Error: VSAN datastore does not exist\n" },
  { "$ " VSAN "policy create --name p --content 'a=1'",
    "Successfully created policy: p\n" },
  { "$ " VSAN "policy create --name p --content 'a=1'",
    "ERROR:Error: Policy already exists\n" },
  { "$ " VSAN "policy update --name q --content 'a=1'",
    "ERROR:Error: Policy q does not exist\n" },
  { "$ " VSAN "policy update --name p --content 'a=1'",
    "ERROR:Error: New policy is identical to old policy. Ignoring.\n" },
  { "vmB create pv@ds2 vsan-policy-name=p",
    "Cannot use a VSAN policy on a non-VSAN datastore" },
  { "vmB create pv@ds3 vsan-policy-name=q",
    "Policy q does not exist. Available policies are: ['p']" },
  { "vmB create pv@ds3 vsan-policy-name=p", "" },
  { "$ " VSAN "policy ls",
    "Policy Name  Policy Content  Active               \n"
    "-----------  --------------  -------------------  \n"
    "p            a=1             In use by 1 volumes  \n\n" },
  { "$ " VSAN "policy rm --name p",
    "ERROR:Cannot remove. Policy is in use by {'volume': 'pv.vmdk', "
    "'policy': 'p', 'path': "
    "'/vmfs/volumes/ds3/dockvols/11111111-1111-1111-1111-111111111111'}\n" },
  { "$ " VSAN "policy rm --name q", "ERROR:Policy q does not exist\n" },
  { "$ " VSAN "policy update --name p --content 'a=2'",
    "Successfully updated policy p\n" },
  { "vmB rm pv@ds3", "" },
  { "$ " VSAN "policy rm --name p", "Successfully removed policy: p\n" },
  { "$ " VSAN "policy create --name p --content 'a=1'",
    "Successfully created policy: p\n" },
  { "$ " VSAN "policy ls", "Policy Name  Policy Content  Active  \n"
                           "-----------  --------------  ------  \n"
                           "p            a=1             Unused  \n\n" },
  { "vmB create pv@ds3 vsan-policy-name=q",
    "Policy q does not exist. Available policies are: ['p']" },
  /* §2, §5.3 BrokenLink and MultiNode. */
  { "$ config rm --local --confirm",
    "Moved {R}/.vmdkops/auth-db to backup file {R}/.vmdkops/auth-db.bak_*" },
  { "! broken", "" },
  { "$ config status",
    "DB_Mode: " BROKEN "\nDB_LocalPath: {R}/.vmdkops/auth-db\n"
    "DB_SharedLocation: N/A\n" },
  { "vmA create z", DB_ERR },
  { "$ config init --local", "ERROR:" DB_ERR "\n" },
  { "$ vmgroup create --name g4 --default-datastore _VM_DS",
    "ERROR:Internal Error(@only_when_configured: _tenant_create)\n" },
  { "$ vmgroup update --name g4 --description d",
    "ERROR:Internal Error(@only_when_configured: _tenant_update)\n" },
  { "$ vmgroup rm --name g4",
    "ERROR:Internal Error(@only_when_configured: _tenant_rm)\n" },
  { "$ vmgroup vm add --name g4 --vm-list vmA",
    "ERROR:Internal Error(@only_when_configured: check_name)\n" },
  { "$ vmgroup vm rm --name g4 --vm-list vmA",
    "ERROR:Internal Error(@only_when_configured: check_name)\n" },
  { "$ vmgroup vm replace --name g4 --vm-list vmA",
    "ERROR:Internal Error(@only_when_configured: check_name)\n" },
  { "$ vmgroup access add --name g4 --datastore ds2",
    "ERROR:Internal Error(@only_when_configured: _tenant_access_add)\n" },
  { "$ vmgroup access set --name g4 --datastore ds2 --allow-create true",
    "ERROR:Internal Error(@only_when_configured: _tenant_access_set)\n" },
  { "$ vmgroup access rm --name g4 --datastore ds2",
    "ERROR:Internal Error(@only_when_configured: _tenant_access_rm)\n" },
  { "$ vmgroup access ls --name g4",
    "ERROR:Internal Error(@only_when_configured: _tenant_access_ls)\n" },
  { "$ vmgroup ls", "ERROR:Internal Error(" DB_ERR ")\n" },
  { "$ vmgroup vm ls --name g4", "ERROR:Internal Error(" DB_ERR ")\n" },
  { "$ config rm --local --confirm",
    "Received error - removing comfiguration anyways. Err: \"" DB_ERR "\"\n" },
  { "$ config init --datastore ds2",
    "Warning: this feature is EXPERIMENTAL\nCreating new DB at "
    "{R}/ds2/dockvols/vmdkops_config.db\nCreating a symlink to "
    "{R}/ds2/dockvols/vmdkops_config.db at {R}/.vmdkops/auth-db\n" },
  { "$ config status",
    "DB_Mode: MultiNode (local symlink pointing to shared DB)\n"
    "DB_LocalPath: {R}/.vmdkops/auth-db\n"
    "DB_SharedLocation: {R}/ds2/dockvols/vmdkops_config.db\n" },
  { "$ config rm --local --confirm",
    "ERROR:'rm --local' is not supported when Config DB is in MultiNode "
    "mode. Use 'rm --unlink' to remove the local link to shared DB.\n" },
  { "$ config rm --unlink --confirm", "Removed link {R}/.vmdkops/auth-db\n" },
  { "$ config init --datastore ds3",
    "ERROR:Found Config DB on other datastores. . Add '--force' flag to "
    "force the request execution. Additional information: [('ds2', "
    "'/vmfs/volumes/ds2/dockvols/vmdkops_config.db')]\n" },
  { "$ config init --datastore ds2",
    "Warning: this feature is EXPERIMENTAL\nCreating a symlink to "
    "{R}/ds2/dockvols/vmdkops_config.db at {R}/.vmdkops/auth-db\n" },
};

static char tmp[PATH_MAX], root[PATH_MAX];
static struct mock *ma, *mb, *mc;

static struct mock *
open_vm (const char *vm, const char *uuid)
{
  t_mock_config ("vsan-datastores", "ds3");
  return t_mock_open_root (root, "datastore1,ds2,ds3", vm, uuid);
}

/* want with {R} expanded into buf. */
static void
expand (const char *want, char *buf, size_t len)
{
  size_t off = 0;

  while (*want && off + 1 < len)
    if (strncmp (want, "{R}", 3) == 0)
      {
        off += (size_t) snprintf (buf + off, len - off, "%s", root);
        want += 3;
      }
    else
      buf[off++] = *want++;
  buf[off < len ? off : len - 1] = '\0';
}

/* Split s into words (blanks; '...' keeps blanks); n of them. */
static size_t
split (char *s, char **w, size_t max)
{
  size_t n = 0;

  while (*s && n < max)
    {
      while (*s == ' ')
        s++;
      if (*s == '\0')
        break;
      if (*s == '\'')
        {
          w[n++] = ++s;
          s += strcspn (s, "'");
        }
      else
        {
          w[n++] = s;
          s += strcspn (s, " ");
        }
      if (*s)
        *s++ = '\0';
    }
  return n;
}

/* vdvsctl WORDS in a child: its stdout into out, its exit status. */
static int
run_cli (char *words, char *out, size_t len)
{
  static char a0[] = "vdvsctl", a1[] = "--root", a3[] = "--datastores",
              a4[] = "datastore1,ds2,ds3";
  char *argv[64] = { a0, a1, root, a3, a4 };
  char path[PATH_MAX + 8];
  int st, fd;
  ssize_t n;
  pid_t pid;

  split (words, argv + 5, 58); /* argv[63] stays NULL */
  snprintf (path, sizeof path, "%s/out", tmp);
  fflush (stdout);
  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      /* The real binary, exec'd: this process has the mock's threads, and
       * a fork that goes on without exec can inherit a lock one of them
       * held (the ASan allocator's, seen hanging). */
      const char *bin = getenv ("VDVSCTL");
      fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (bin == NULL || fd < 0 || dup2 (fd, STDOUT_FILENO) < 0)
        _exit (99);
      execv (bin, argv);
      _exit (98);
    }
  cr_assert_eq (waitpid (pid, &st, 0), pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq (fd, 0);
  n = read (fd, out, len - 1);
  close (fd);
  out[n > 0 ? n : 0] = '\0';
  return WIFEXITED (st) ? WEXITSTATUS (st) : 128;
}

/* A VM's request: its error text, "" when it succeeds. */
static void
run_vm (char *words, char *out, size_t len)
{
  char *w[16];
  size_t n = split (words, w, 16);
  struct mock *m = strcmp (w[0], "vmA") == 0   ? ma
                   : strcmp (w[0], "vmB") == 0 ? mb
                                               : mc;
  struct vdvs_opts o = { 0 };
  struct vdvs_volume_info info = { 0 };
  struct vdvs_volume_list l = { 0 };
  struct mock_vol v;
  vdvs_error_t err = NULL;
  int r;

  for (size_t i = 3; i < n; i++)
    {
      char *eq = strchr (w[i], '=');
      *eq = '\0';
      vdvs_opts_set (&o, w[i], eq + 1);
    }
  if (strcmp (w[1], "create") == 0)
    r = vdvs_backend_mock.create (m, w[2], &o, &err);
  else if (strcmp (w[1], "rm") == 0)
    r = vdvs_backend_mock.remove (m, w[2], &o, &err);
  else if (strcmp (w[1], "get") == 0)
    r = vdvs_backend_mock.get (m, w[2], &info, &err);
  else if (strcmp (w[1], "mount") == 0)
    r = mock_auth_mount (m, w[2], &v, &err);
  else
    {
      size_t off = 0;
      r = vdvs_backend_mock.list (m, &l, &err);
      out[0] = '\0';
      for (size_t i = 0; r == 0 && i < l.n; i++)
        off += (size_t) snprintf (out + off, len - off, "%s%s", i ? " " : "",
                                  l.names[i]);
      vdvs_volume_list_clear (&l);
    }
  vdvs_opts_clear (&o);
  vdvs_volume_info_clear (&info);
  if (r < 0)
    snprintf (out, len, "%s", err->msg);
  else if (strcmp (w[1], "ls") != 0)
    out[0] = '\0';
  vdvs_error_release (&err);
}

/* "! attach|detach VM VOL": the sidecar and the VM's unit record as an
 * attach leaves them; "! broken": a dangling auth-db link. */
static void
run_setup (char *words)
{
  char *w[8], path[PATH_MAX + 64];
  size_t n = split (words, w, 8);
  struct mock_sidecar sc;
  struct mock_vol v;
  vdvs_error_t err = NULL;

  if (strcmp (w[1], "broken") == 0)
    {
      snprintf (path, sizeof path, "%s/.vmdkops/auth-db", root);
      unlink (path);
      cr_assert_eq (symlink ("/nonexistent/auth-db", path), 0);
      return;
    }
  if (strcmp (w[1], "no-default-ds") == 0)
    {
      sqlite3 *db;
      char *sql = sqlite3_mprintf ("UPDATE tenants SET default_datastore_url "
                                   "= '' WHERE name = %Q",
                                   w[2]);
      snprintf (path, sizeof path, "%s/.vmdkops/auth-db", root);
      cr_assert_eq (sqlite3_open (path, &db), SQLITE_OK);
      cr_assert_eq (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK);
      sqlite3_free (sql);
      sqlite3_close (db);
      return;
    }
  cr_assert_eq (n, 4);
  if (strcmp (w[1], "unit") == 0)
    {
      struct mock *m = strcmp (w[2], "vmA") == 0 ? ma : mb;
      mock_vm_unit_path (m, m == ma ? T_UUID_A : T_UUID_B, 0, 1, path,
                         sizeof path);
      if (strcmp (w[3], "on") == 0)
        {
          FILE *f;
          cr_assert_eq (vdvs_mkdir_parent (path, 0755), 0);
          cr_assert_not_null (f = fopen (path, "w"));
          fputs ("/dev/loop98\ndatastore1/other\n", f);
          fclose (f);
        }
      else
        unlink (path);
      return;
    }
  {
    struct mock *m = strcmp (w[2], "vmA") == 0 ? ma : mb;
    const char *uuid = m == ma ? T_UUID_A : T_UUID_B;
    bool on = strcmp (w[1], "attach") == 0;
    struct mock_auth a;
    bool explicit_ds;

    cr_assert_eq (mock_auth_begin (m, &a, &err), 0);
    cr_assert_eq (mock_auth_resolve (m, &a, w[3], &v, &explicit_ds, &err), 0);
    mock_auth_end (&a, true);
    cr_assert_eq (mock_sidecar_read (v.sidecar, &sc, &err), 0, "%s: %s",
                  v.sidecar, err ? err->msg : "");
    sc.attached = on;
    strcpy (sc.status, on ? "attached" : "detached");
    snprintf (sc.attached_uuid, sizeof sc.attached_uuid, "%s", on ? uuid : "");
    snprintf (sc.attached_name, sizeof sc.attached_name, "%s", on ? w[2] : "");
    cr_assert_eq (mock_sidecar_write (v.sidecar, &sc, &err), 0);
    mock_sidecar_clear (&sc);
    mock_vm_unit_path (m, uuid, 0, 0, path, sizeof path);
    if (on)
      {
        FILE *f;
        cr_assert_eq (vdvs_mkdir_parent (path, 0755), 0);
        f = fopen (path, "w");
        cr_assert_not_null (f);
        fprintf (f, "/dev/loop99\n%s/%s\n", v.ds, v.vol);
        fclose (f);
      }
    else
      unlink (path);
  }
}

Test (admin_texts, every_upstream_text_from_its_action, .timeout = 120)
{
  static char out[8192], want[8192];
  size_t failed = 0;

  t_mkdtemp (tmp, sizeof tmp, "texts");
  snprintf (root, sizeof root, "%s/root", tmp);
  ma = open_vm ("vmA", T_UUID_A);
  mb = open_vm ("vmB", T_UUID_B);
  mc = open_vm ("vmC", "564d0000-cccc-cccc-cccc-cccccccccccc");
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    {
      char act[512];
      size_t wl;
      bool ok;
      int rc = 0, want_rc;

      snprintf (act, sizeof act, "%s", rows[i].act);
      expand (rows[i].want, want, sizeof want);
      if (act[0] == '$')
        rc = run_cli (act + 2, out, sizeof out);
      else if (act[0] == '!')
        {
          run_setup (act);
          out[0] = '\0';
        }
      else
        run_vm (act, out, sizeof out);
      wl = strlen (want);
      ok = wl && want[wl - 1] == '*' ? strncmp (out, want, wl - 1) == 0
                                     : strcmp (out, want) == 0;
      want_rc = act[0] == '$' && strncmp (want, "ERROR:", 6) == 0 ? 2 : 0;
      cr_expect (ok && rc == want_rc,
                 "row %zu `%s`:\n got (exit %d): [%s]\nwant (exit %d): [%s]",
                 i, rows[i].act, rc, out, want_rc, want);
      failed += !(ok && rc == want_rc);
    }
  vdvs_backend_mock.close (ma);
  vdvs_backend_mock.close (mb);
  vdvs_backend_mock.close (mc);
  t_rmrf (tmp);
  cr_assert_eq (failed, 0, "%zu of %zu rows differ from upstream", failed,
                sizeof rows / sizeof rows[0]);
}
