/* vdvsctl's modules (tools/vdvsctl*.c). */
#ifndef VDVSCTL_H
#define VDVSCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "vdvs/error.h"
#include "vdvs/progress.h"
#include "vdvs/types.h"

/* vdvsctl-fault.c: `vdvsctl fault ...`, argv[0] == "fault". */
int vdvsctl_fault_main (int argc, char **argv);

/* vdvsctl-admin.c: `config ...` and `vmgroup ...` (vmdkops_admin's), the
 * whole command line given.  Is the first word that is not an option (or
 * an option's value) one of them? */
bool vdvsctl_is_admin_command (int argc, char **argv);
int vdvsctl_admin_main (int argc, char **argv);

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
