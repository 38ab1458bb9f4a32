/* A stand-in for libFuzzer's main: runs a harness once on every file of
 * the directories and files named on the command line, so the harnesses
 * build and replay their regression inputs in the unit suite with gcc.
 * Arguments starting with '-' are the unit runner's options and ignored.
 * Prints one TAP line; a failing input aborts in the harness. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
__attribute__ ((weak)) int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  return 0;
}

/* Run the harness on one file; <0 when it cannot be read. */
static int
replay_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  uint8_t *buf;
  long n;

  if (f == NULL || fseek (f, 0, SEEK_END) < 0 || (n = ftell (f)) < 0
      || fseek (f, 0, SEEK_SET) < 0)
    {
      if (f)
        fclose (f);
      return -1;
    }
  buf = malloc (n > 0 ? (size_t) n : 1);
  if (buf == NULL || fread (buf, 1, (size_t) n, f) != (size_t) n)
    {
      free (buf);
      fclose (f);
      return -1;
    }
  fclose (f);
  LLVMFuzzerTestOneInput (buf, (size_t) n);
  free (buf);
  return 0;
}

/* Replay PATH (a file, or every file of a directory, in name order);
 * adds to *count; <0 naming the path on a read error. */
static int
replay_path (const char *name, const char *path, int *count)
{
  struct dirent **ents;
  struct stat st;
  int n, r = 0;

  if (stat (path, &st) < 0)
    return 0; /* a harness without regression inputs */
  if (!S_ISDIR (st.st_mode))
    {
      if (replay_file (path) < 0)
        {
          printf ("not ok - %s: cannot read %s\n", name, path);
          return -1;
        }
      ++*count;
      return 0;
    }
  n = scandir (path, &ents, NULL, alphasort);
  if (n < 0)
    {
      printf ("not ok - %s: cannot list %s\n", name, path);
      return -1;
    }
  for (int i = 0; i < n; i++)
    {
      char sub[4096];
      if (r == 0 && ents[i]->d_name[0] != '.'
          && (size_t) snprintf (sub, sizeof sub, "%s/%s", path,
                                ents[i]->d_name)
                 < sizeof sub)
        r = replay_path (name, sub, count);
      free (ents[i]);
    }
  free (ents);
  return r;
}

int
main (int argc, char **argv)
{
  const char *name = strrchr (argv[0], '/') ? strrchr (argv[0], '/') + 1
                                            : argv[0];
  int count = 0;

  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    if (argv[i][0] != '-' && replay_path (name, argv[i], &count) < 0)
      return 1;
  if (count == 0)
    {
      printf ("not ok - %s: no input replayed\n", name);
      return 1;
    }
  printf ("ok - %s: replayed %d inputs\n", name, count);
  return 0;
}
