/* `vdvsctl fault ...`: drive vmdkfs fault injection over its control
 * socket (fuse/ctl_client.h).  tools/vdvsctl.c dispatches to
 * vdvsctl_fault_main with argv[0] == "fault". */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_client.h"
#include "vdvsctl.h"

static void
fault_usage (FILE *f)
{
  fprintf (
      f,
      "Usage: vdvsctl fault [--control PATH] COMMAND [ARGS...]\n"
      "\n"
      "Talk to vmdkfs's control socket (default $VDVS_VMDKFS_CTL or\n" VMDKFS_CTL_DEFAULT_PATH
      ").  Commands:\n"
      "  add [id=ID] path=GLOB|ds=DS errno=EIO|ENOSPC|... [op=read|write|rw|fsync|meta|all]\n"
      "      [rate=0.25|25%%] [after=N] [trigger=on|off]\n"
      "                          fail matching ops with errno\n"
      "  trigger ID on|off       arm or disarm a rule added with trigger=\n"
      "  delay [id=ID] path=GLOB|ds=DS ms=N [op=...]   add latency\n"
      "  stall [id=ID] path=GLOB|ds=DS [op=...]        hold ops until released\n"
      "  release [ID]            run held ops and drop the stall rule(s)\n"
      "  readonly ds=DS on|off   modifying ops under DS fail with EROFS\n"
      "  clear [ID]              remove one rule, or all\n"
      "  list                    rules with matched/injected counts\n"
      "  stats                   vmdkfs I/O counters and engine\n"
      "  ping                    check that vmdkfs answers\n"
      "PATH globs are relative to the datastore root, e.g.\n"
      "  vdvsctl fault add path='datastore1/dockvols/*/vol1-flat.vmdk' op=read errno=EIO\n");
}

int
vdvsctl_fault_main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "control", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *sock = getenv ("VDVS_VMDKFS_CTL");
  char *line = NULL, *reply = NULL;
  size_t len = 0;
  FILE *f;
  int c, ret;

  /* Stop at the first non-option: the rule words follow. */
  optind = 1;
  while ((c = getopt_long (argc, argv, "+c:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        sock = optarg;
        break;
      case 'h':
        fault_usage (stdout);
        return 0;
      default:
        fault_usage (stderr);
        return 2;
      }
  if (optind >= argc)
    {
      fault_usage (stderr);
      return 2;
    }
  if (strcmp (argv[optind], "help") == 0)
    {
      fault_usage (stdout);
      return 0;
    }

  f = open_memstream (&line, &len);
  if (!f)
    {
      perror ("vdvsctl fault");
      return 1;
    }
  /* stats and ping are top-level requests; everything else is a fault
   * verb. */
  if (strcmp (argv[optind], "stats") != 0
      && strcmp (argv[optind], "ping") != 0)
    fputs ("fault", f);
  for (int i = optind; i < argc; i++)
    {
      if (strpbrk (argv[i], "\n\r"))
        {
          fclose (f);
          free (line);
          fprintf (stderr, "vdvsctl fault: newline in argument\n");
          return 2;
        }
      fprintf (f, "%s%s", ftell (f) ? " " : "", argv[i]);
    }
  if (fclose (f) != 0)
    {
      free (line);
      perror ("vdvsctl fault");
      return 1;
    }

  ret = vmdkfs_ctl_request (sock, line, &reply);
  free (line);
  if (ret < 0)
    {
      fprintf (stderr, "vdvsctl fault: %s\n",
               reply && *reply ? reply : strerror (-ret));
      free (reply);
      return 1;
    }
  if (reply)
    fputs (reply, stdout);
  free (reply);
  return 0;
}
