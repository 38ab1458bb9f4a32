/* How vdvsctl prints: its own failures on stderr; vmdkops_admin's
 * commands (vdvsctl-admin.c, vdvsctl-volume.c) as upstream's table, or
 * JSON with --json, and a failure as "ERROR:<text>" on stdout, exit
 * status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdvsctl.h"

int
vdvsctl_die (vdvs_error_t *err)
{
  fprintf (stderr, "vdvsctl: %s\n", (*err)->msg);
  vdvs_error_release (err);
  return 1;
}

void
vdvsctl_print_json (cJSON *o)
{
  char *s = cJSON_Print (o);
  if (s != NULL)
    puts (s);
  free (s);
}

int
vdvsctl_admin_fail (vdvs_error_t *err)
{
  printf ("ERROR:%s\n", (*err)->msg);
  vdvs_error_release (err);
  return VDVSCTL_EXIT_OP_FAILED;
}

/* upstream's cli_table: each cell left-justified to its column's width
 * plus two blanks, a dashed divider under the header. */
void
vdvsctl_print_table (cJSON *rows, const char *const *cols, size_t ncols)
{
  size_t w[VDVSCTL_TABLE_MAX_COLS] = { 0 };
  cJSON *row;

  if (ncols > VDVSCTL_TABLE_MAX_COLS)
    ncols = VDVSCTL_TABLE_MAX_COLS;
  for (size_t c = 0; c < ncols; c++)
    w[c] = strlen (cols[c]);
  cJSON_ArrayForEach (row, rows)
    {
      for (size_t c = 0; c < ncols; c++)
        {
          const char *v = cJSON_GetStringValue (
              cJSON_GetObjectItemCaseSensitive (row, cols[c]));
          if (v && strlen (v) > w[c])
            w[c] = strlen (v);
        }
    }
  for (size_t c = 0; c < ncols; c++)
    printf ("%-*s", (int) w[c] + 2, cols[c]);
  putchar ('\n');
  for (size_t c = 0; c < ncols; c++)
    {
      for (size_t i = 0; i < w[c]; i++)
        putchar ('-');
      fputs ("  ", stdout);
    }
  putchar ('\n');
  cJSON_ArrayForEach (row, rows)
    {
      for (size_t c = 0; c < ncols; c++)
        {
          const char *v = cJSON_GetStringValue (
              cJSON_GetObjectItemCaseSensitive (row, cols[c]));
          printf ("%-*s", (int) w[c] + 2, v ? v : "");
        }
      putchar ('\n');
    }
  /* print() of the table string adds one more newline. */
  putchar ('\n');
}

int
vdvsctl_listing (int r, cJSON *rows, vdvs_error_t *err, bool json,
                 const char *const *cols, size_t ncols)
{
  if (r < 0)
    return vdvsctl_admin_fail (err);
  if (json)
    {
      char *s = cJSON_Print (rows);
      if (s)
        puts (s);
      free (s);
    }
  else
    vdvsctl_print_table (rows, cols, ncols);
  cJSON_Delete (rows);
  return 0;
}
