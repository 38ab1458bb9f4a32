/* vdvsctl's modules (tools/vdvsctl*.c). */
#ifndef VDVSCTL_H
#define VDVSCTL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "vdvs/error.h"
#include "vdvs/progress.h"
#include "vdvs/types.h"

/* vdvsctl-fault.c: `vdvsctl fault ...`, argv[0] == "fault". */
int vdvsctl_fault_main (int argc, char **argv);

/* vdvsctl-admin.c: `config ...`, `vmgroup ...`, `policy ...` and
 * `volume ...` (vmdkops_admin's), the whole command line given.  Is the
 * first word that is not an option (or an option's value) one of them? */
bool vdvsctl_is_admin_command (int argc, char **argv);
int vdvsctl_admin_main (int argc, char **argv);

/* vdvsctl-show.c: `ls` (only: a --vmgroup pattern or NULL; cols: -c's
 * words or NULL) and one volume's fields, as `inspect` shows them (in
 * vmgroup `vmgroup`'s folder when given) or, after set/create/clone,
 * under the line "<human_prefix> VOL@DS".  Exit statuses. */
int vdvsctl_ls (void *h, const char *only, const char *cols, bool json);
int vdvsctl_show (void *h, const char *name, const char *vmgroup,
                  const char *human_prefix, bool json);

/* vdvsctl-output.c: how vdvsctl and the admin commands print. */
/* "vdvsctl: <message>" on stderr; releases *err; exit status 1. */
int vdvsctl_die (vdvs_error_t *err);
void vdvsctl_print_json (cJSON *o);
#define VDVSCTL_EXIT_OP_FAILED 2
#define VDVSCTL_TABLE_MAX_COLS 16
/* "ERROR:<message>" on stdout; releases *err; the exit status. */
int vdvsctl_admin_fail (vdvs_error_t *err);
/* upstream's table of rows (objects keyed by the column titles). */
void vdvsctl_print_table (cJSON *rows, const char *const *cols, size_t ncols);
/* A listing's result: rows as the table or JSON (and freed), or r < 0's
 * failure. */
int vdvsctl_listing (int r, cJSON *rows, vdvs_error_t *err, bool json,
                     const char *const *cols, size_t ncols);

/* vdvsctl-volume.c: `volume ls [-c COLS] [--vmgroup GLOB]` and `volume set
 * --volume VOL@DS --vmgroup NAME --options "k=v[,k=v]"`, as vmdkops_admin.
 * h: a mock handle.  Exit statuses. */
#define VDVSCTL_VOLUME_COLS 13
/* -c's words in upstream's order into sel[]; an unknown word is
 * argparse's error on stderr, and -1. */
int vdvsctl_volume_columns (const char *spec, bool sel[VDVSCTL_VOLUME_COLS]);
/* upstream's get_volumes(pattern): a vmgroup whose name matches the
 * fnmatch pattern; "N/A" (a folder of no vmgroup) only for "*". */
bool vdvsctl_vmgroup_matches (const char *group, const char *pattern);
int vdvsctl_volume_ls (void *h, const char *pattern, const char *cols,
                       bool json);
int vdvsctl_volume_set (void *h, const char *volume, const char *vmgroup,
                        const char *options);

/* vdvsctl-opts.c: KEY=VALUE words into *o (which the caller clears, also
 * on error).  With `split`, each word is a comma-separated list with
 * blanks ignored, as upstream's --options="access=read-only,attach-as=..";
 * without, a word is one KEY=VALUE whose value may hold commas (as
 * `docker volume create -o`).  A word without '=' or with an empty key,
 * and a key given twice, are errors naming the word. */
int vdvsctl_parse_opts (const char *const *words, size_t n, bool split,
                        struct vdvs_opts *o, vdvs_error_t *err);

/* vdvsctl-progress.c: how long work shows on stderr. */
enum vdvsctl_progress_mode
{
  VDVSCTL_PROGRESS_NONE,  /* --json: the result alone */
  VDVSCTL_PROGRESS_BAR,   /* a terminal: one redrawn bar */
  VDVSCTL_PROGRESS_LINES, /* a file or pipe: a line every 10% */
};
struct vdvsctl_progress
{
  enum vdvsctl_progress_mode mode;
  FILE *out;
  struct vdvs_pace pace;
  size_t drawn; /* width of the bar on screen, to overwrite it */
};
/* A vdvs_progress_fn; opaque is a struct vdvsctl_progress.  One
 * operation at a time. */
void vdvsctl_progress (void *opaque, struct vdvs_progress *p);

#endif
