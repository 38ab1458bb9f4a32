/* The `fault ...` control language (fault_ctl.c): one text line in, a
 * change to the fault rule table and a text reply out. */
#ifndef VMDKFS_FAULT_CTL_H
#define VMDKFS_FAULT_CTL_H

#include "fault.h"

/* Execute one control line whose first word was "fault" (the word itself
 * excluded: "add id=x path=... errno=EIO").  Returns 0 or -errno; *reply
 * gets a malloc'd text without the leading "ok"/"err" status line. */
int fault_control (struct fault_table *t, const char *args, char **reply);

#endif
