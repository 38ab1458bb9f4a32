/* Inside the Config DB code (authdb.c and admin_*.c): the statements,
 * transactions, datastore and VM lookups and vmgroup helpers the admin
 * commands share.  Not for the rest of the mock backend (authdb.h). */
#ifndef VDVS_MOCK_AUTHDB_I_H
#define VDVS_MOCK_AUTHDB_I_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "authdb.h"
#include "mock_i.h"

#define MAX_VMS 64
struct vm_list
{
  size_t n;
  char name[MAX_VMS][128];
  char uuid[MAX_VMS][64];
};

/* The mode of the DB at path; with dbp, the DB is left open there when
 * it is one. */
enum mock_db_mode adb_mode_of (const char *path, sqlite3 **dbp);

/* Prepare `sql` with its parameters bound by `types`: 's' a string, 'i' an
 * int64.  NULL on failure (logged; the caller reports the upstream
 * "Sqlite3 error"). */
sqlite3_stmt *adb_query (sqlite3 *db, const char *sql, const char *types, ...);

/* Run a statement that returns no row; 0 or <0 with *err set. */
int adb_exec (sqlite3 *db, vdvs_error_t *err, const char *sql,
              const char *types, ...);

/* The upstream text for any SQLite failure (the details are logged). */
int adb_sqlite_error (vdvs_error_t *err);

/* One text column of the first row, into buf; 1 found, 0 none, <0 error. */
int adb_text (sqlite3 *db, char *buf, size_t len, vdvs_error_t *err,
              const char *sql, const char *a, const char *b);

/* The URL a datastore token is stored by; 0, or <0 if unknown. */
int adb_ds_url (const struct mock *m, const char *ds, char *url, size_t len,
                vdvs_error_t *err);

/* The name shown for a stored URL ("" when it names no datastore here). */
void adb_ds_name (const struct mock *m, const char *url, char *buf,
                  size_t len);

/* The registered name of VM `uuid` ("" if none). */
void adb_vm_name (const struct mock *m, const char *uuid, char *buf,
                  size_t len);

/* The UUID of the VM registered as `name`; false if none. */
bool adb_vm_uuid (const struct mock *m, const char *name, char *uuid,
                  size_t len);

/* Open the DB for an admin command that needs one (INIT_NEEDED without)
 * and start its transaction.  A broken DB is upstream's
 * "Internal Error(@only_when_configured: FUNC)", func its function. */
int adb_begin_admin (struct mock *m, sqlite3 **db, const char *func,
                     vdvs_error_t *err);

/* Commit when r == 0, roll back otherwise; close.  Returns r or the
 * commit's failure. */
int adb_end_admin (sqlite3 *db, int r, vdvs_error_t *err);

/* The id of vmgroup `name`; <0 with "does not exist" if none. */
int adb_tenant_id (sqlite3 *db, const char *name, char *id, size_t len,
                   vdvs_error_t *err);

/* Has vmgroup `id` a privileges row for datastore `url`: 1, 0, <0. */
int adb_privilege_exists (sqlite3 *db, const char *id, const char *url,
                          vdvs_error_t *err);

/* Read-only commands: INIT_NEEDED without a DB, then the group's id; a
 * broken DB as adb_begin_admin's, or with func NULL
 * "Internal Error(<the access error>)". */
int adb_begin_read (struct mock *m, const char *name, const char *func,
                    sqlite3 **db, char *id, size_t idlen, vdvs_error_t *err);
/* *err (a DB access error) as upstream's API reports it. */
int adb_internal_error (const char *func, vdvs_error_t *err);

/* Split at ',' only (upstream keeps blanks); check duplicates, then that
 * every name is a VM of this host. */
int adb_vm_list_parse (const struct mock *m, const char *s, struct vm_list *l,
                       vdvs_error_t *err);

/* No VM of l in any vmgroup, none with volumes mounted. */
int adb_vm_list_check_add (sqlite3 *db, const struct mock *m,
                           const struct vm_list *l, const char *mounted_prefix,
                           vdvs_error_t *err);

/* Add every VM of l to vmgroup `tenant`. */
int adb_vm_list_insert (sqlite3 *db, const char *tenant,
                        const struct vm_list *l, vdvs_error_t *err);

#endif
