/* The in-memory index of the volumes on the emulated datastores
 * (backends/mock/index.c; kept coherent by index_watch.c).
 *
 * One index per handle: for each datastore, the set of volume descriptors
 * in <root>/<ds>/dockvols/<tenant-uuid>/, built by one scan at open and
 * then kept coherent with inotify on that folder, so volumes created or
 * removed by other processes (other VMs: esxsim, a second vdvsd) appear and
 * disappear.  A thread applies the events as they come; List also applies
 * whatever is queued before it answers, so a change that completed before
 * the List started is always in its answer.  Get uses the same index: a
 * per-volume record of the descriptor and sidecar, dropped by any event
 * on that volume's files (see index.c).  Lost events (queue overflow),
 * a folder removed or replaced (it, or one above it up to the root: those
 * are watched too), or inotify unavailable: that datastore is rescanned
 * (or, failing that, scanned by the caller as before).
 */
#ifndef VDVS_MOCK_INDEX_H
#define VDVS_MOCK_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "mock_i.h"

struct mock_index;

/* Build the index of handle `m` (its root and datastores) and start
 * watching.  Never fatal: on failure the handle simply has no index and
 * mock_index_list returns 0 (scan). */
void mock_index_open (const struct mock *m);
/* Stop watching and free the index of `m`; NULL-safe, idempotent. */
void mock_index_close (const struct mock *m);

/* Append every volume of every datastore of `m`, as "vol@ds", to `out`.
 * Returns 1 when answered from the index, 0 when `m` has no index (the
 * caller scans), <0 with *err set on failure (out of memory). */
int mock_index_list (const struct mock *m, struct vdvs_volume_list *out,
                     vdvs_error_t *err);

/* A number that changes whenever mock_index_list's answer may change
 * (sum of per-datastore counters: it only grows), after applying pending
 * events; 0 when there is no index or a datastore is not indexed now. */
uint64_t mock_index_version (const struct mock *m);

/* The index of handle `m`, or NULL (no index: scan and read files). */
struct mock_index *mock_index_of (const struct mock *m);

/* Get's side: the volume `vol` on datastore `ds` (its real name), after
 * applying pending events.
 *   MOCK_IX_RECORD   present, *out filled with a copy of its record
 *                    (everything but capacity_allocated, which is NULL);
 *   MOCK_IX_PRESENT  present, no record (or out is NULL): read the files,
 *                    then offer the result with mock_index_store (token);
 *   MOCK_IX_ABSENT   no such volume;
 *   MOCK_IX_UNKNOWN  that datastore is not indexed now: read the files;
 *   -ENOMEM.
 * Takes the index's read lock (and its write lock when events are
 * pending); never does file I/O beyond applying events. */
enum
{
  MOCK_IX_UNKNOWN = 0,
  MOCK_IX_ABSENT,
  MOCK_IX_PRESENT,
  MOCK_IX_RECORD,
};
int mock_index_lookup (struct mock_index *ix, const char *ds, const char *vol,
                       struct vdvs_volume_info *out, uint64_t *token);
/* Keep a copy of `info` as the record of vol@ds, unless an event for that
 * volume was applied since the lookup that gave `token` (the files read
 * may predate it), or the volume is gone.  `info` stays the caller's. */
void mock_index_store (struct mock_index *ix, const char *ds, const char *vol,
                       uint64_t token, const struct vdvs_volume_info *info);

/* The upstream list_vmdks rule on one directory entry: `name` is a volume
 * descriptor (*.vmdk, not -delta/-ctk/-digest/-flat, not -NNNNNN.vmdk, a
 * regular file of at most 5000 bytes).  On success the volume name is
 * copied to vol[len]. */
bool mock_index_is_descriptor (int dirfd, const char *name, char *vol,
                               size_t len);

/* Lower-level API, used by the above and by the unit test: one index
 * over explicit folders.  The `ancestors` folders above each are watched
 * too: renaming, removing or replacing one of them (or the entry on the
 * path in it) makes that datastore rescan. */
struct mock_index *mock_index_new (size_t n, const char *const *ds_names,
                                   const char *const *dirs, size_t ancestors);
void mock_index_free (struct mock_index *ix);
int mock_index_fill (struct mock_index *ix, struct vdvs_volume_list *out,
                     vdvs_error_t *err);
/* Number of volumes in the index after applying pending events; -1 when a
 * datastore folder cannot be read. */
long mock_index_count (struct mock_index *ix);
/* Full rescans done so far (at build, after overflow, after the folder
 * came back): for tests. */
unsigned long mock_index_rescans (struct mock_index *ix);

#endif
