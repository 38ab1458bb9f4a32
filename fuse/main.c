/* vmdkfs: the FUSE view of the emulated ESX datastore.
 *
 * Serves the directory SOURCE (the datastore backing root) at MOUNTPOINT;
 * file data goes through an I/O engine (io_uring or pread/pwrite), and a
 * control socket injects faults at run time.  Start-up order: options,
 * stale-mount clean-up, engine, delay queue, FUSE session and mount,
 * pidfile, control socket, session loop; shutdown runs it backwards.
 */
#include "vmdkfs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/fsutil.h"
#include "vdvs/log.h"

#include "ctl_client.h"

#define DEFAULT_MOUNTPOINT "/run/vdvs/vmfs/volumes"

struct options
{
  const char *source;
  const char *mountpoint;
  const char *engine;
  const char *control;
  const char *pidfile;
  const char *fuse_opts;
  enum vdvs_log_level log_level;
  enum vmdkfs_cache cache;
  double timeout;
  unsigned threads;
  unsigned depth;
  unsigned buffers;
  unsigned lanes;
  unsigned max_write;
  bool backing_buffered;
  bool background;
};

static void
usage (FILE *f, const char *prog)
{
  fprintf (
      f,
      "Usage: %s [OPTIONS] SOURCE [MOUNTPOINT]\n"
      "\n"
      "Serve the datastore backing directory SOURCE at MOUNTPOINT (default\n" DEFAULT_MOUNTPOINT
      ") through FUSE.  File data is read and written\n"
      "by an io_uring engine (or pread/pwrite); faults are injected at run time\n"
      "through a control socket.  A dead (ENOTCONN) mount left on MOUNTPOINT by\n"
      "a killed vmdkfs is detached first.  SIGTERM or SIGINT unmount and exit.\n"
      "\n"
      "Options:\n"
      "  --engine=auto|uring|sync  I/O engine (default auto: io_uring, or sync when\n"
      "                            io_uring_queue_init fails: sysctl, seccomp)\n"
      "  --control=PATH            control socket, mode 0600 (default\n"
      "                            " VMDKFS_CTL_DEFAULT_PATH ")\n"
      "  --no-control              no control socket\n"
      "  --pidfile=PATH            write the pid once the mount is up\n"
      "  -f, --foreground          stay in the foreground (the default)\n"
      "  --background              detach once mounted\n"
      "  --log-level=LEVEL         error|warn|info|debug (default info); key=value\n"
      "                            lines on stderr\n"
      "  --cache=auto|writeback|direct\n"
      "                            page-cache policy: auto = kernel page cache for\n"
      "                            buffered opens, none for O_DIRECT (default);\n"
      "                            writeback = FUSE writeback cache; direct =\n"
      "                            direct_io on every open\n"
      "  --timeout=SECONDS         attribute cache timeout (default 1);\n"
      "                            names are never cached\n"
      "  --threads=N               FUSE worker threads (default 4 with the io_uring\n"
      "                            engine, whose workers never wait for I/O; 16 with\n"
      "                            the sync engine, whose workers do)\n"
      "  --queue-depth=N           io_uring submission queue entries (default 256)\n"
      "  --lanes=N                 io_uring rings, a thread each, 1-4 (default one\n"
      "                            per two CPUs)\n"
      "  --buffers=N               io_uring: max-write buffers registered with the\n"
      "                            kernel for reads and writes of 64 KiB or more\n"
      "                            (default 32, 0 for none)\n"
      "  --max-write=BYTES         largest FUSE read/write (default 1048576)\n"
      "  --backing-buffered        never open backing files O_DIRECT.  By default\n"
      "                            an O_DIRECT open (a loop device with direct I/O)\n"
      "                            opens the backing file O_DIRECT too, and requests\n"
      "                            not 4 KiB aligned use a second, buffered fd:\n"
      "                            faster sequential writes than buffered backing\n"
      "                            I/O, and no double caching\n"
      "  -o OPTS                   extra FUSE mount options\n"
      "  -h, --help                this text\n"
      "  -V, --version             print the version\n"
      "\n"
      "Control protocol (one line per connection, reply \"ok\" + body or\n"
      "\"err ERRNO message\"; `vdvsctl fault ...` is the command-line client):\n"
      "  ping | stats | help\n"
      "  fault add [id=ID] path=GLOB|ds=DS errno=EIO|ENOSPC|... [op=OPS]\n"
      "            [rate=0.25|25%%] [after=N] [trigger=on|off]\n"
      "  fault trigger ID on|off\n"
      "  fault delay [id=ID] path=GLOB|ds=DS ms=N [op=OPS]\n"
      "  fault stall [id=ID] path=GLOB|ds=DS [op=OPS]\n"
      "  fault release [ID]          run held requests, remove the stall rule(s)\n"
      "  fault readonly ds=DS on|off modifying ops under DS fail with EROFS\n"
      "  fault clear [ID]            remove one rule or all\n"
      "  fault list                  rules with matched= and injected= counts\n"
      "PATH globs are relative to SOURCE (fnmatch, `*' stays in one component),\n"
      "e.g. path=datastore1/dockvols/*/vol1-flat.vmdk; ds=datastore1 is the\n"
      "whole datastore.  OPS: read, write (write+fallocate), rw (default),\n"
      "fsync, meta (namespace and attribute changes), all; comma-separated.\n"
      "after=N lets the first N matching ops pass; rate is a probability.\n",
      prog);
}

/* An unsigned in [min, max] into *out; else -1 with the valid range in
 * valid[len]. */
static int
parse_uint (const char *s, unsigned min, unsigned max, unsigned *out,
            char *valid, size_t len)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul (s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
    {
      snprintf (valid, len, "an integer from %u to %u", min, max);
      return -1;
    }
  *out = (unsigned) v;
  return 0;
}

static int
parse_options (int argc, char **argv, struct options *o)
{
  enum
  {
    OPT_ENGINE = 256,
    OPT_CONTROL,
    OPT_NO_CONTROL,
    OPT_PIDFILE,
    OPT_LOG,
    OPT_CACHE,
    OPT_TIMEOUT,
    OPT_THREADS,
    OPT_DEPTH,
    OPT_LANES,
    OPT_BUFFERS,
    OPT_MAX_WRITE,
    OPT_BACKING_BUFFERED,
    OPT_BACKGROUND,
  };
  static const struct option longopts[] = {
    { "engine", required_argument, NULL, OPT_ENGINE },
    { "control", required_argument, NULL, OPT_CONTROL },
    { "no-control", no_argument, NULL, OPT_NO_CONTROL },
    { "pidfile", required_argument, NULL, OPT_PIDFILE },
    { "foreground", no_argument, NULL, 'f' },
    { "background", no_argument, NULL, OPT_BACKGROUND },
    { "log-level", required_argument, NULL, OPT_LOG },
    { "cache", required_argument, NULL, OPT_CACHE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "queue-depth", required_argument, NULL, OPT_DEPTH },
    { "lanes", required_argument, NULL, OPT_LANES },
    { "buffers", required_argument, NULL, OPT_BUFFERS },
    { "max-write", required_argument, NULL, OPT_MAX_WRITE },
    { "backing-buffered", no_argument, NULL, OPT_BACKING_BUFFERED },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  char valid[64] = "";
  char *end;
  int c;

  memset (o, 0, sizeof *o);
  o->engine = "auto";
  o->control = VMDKFS_CTL_DEFAULT_PATH;
  o->log_level = VDVS_LOG_INFO;
  o->cache = VMDKFS_CACHE_AUTO;
  o->timeout = 1.0;
  o->threads = 0; /* by engine, see start_engine() */
  o->depth = 256;
  /* Room for the max-write requests a loop device keeps in flight;
   * beyond the pool, ios allocate their own buffer. */
  o->buffers = 32;
  o->max_write = 1024 * 1024;

  while ((c = getopt_long (argc, argv, "fho:V", longopts, NULL)) != -1)
    switch (c)
      {
      case OPT_ENGINE:
        if (strcmp (optarg, "auto") && strcmp (optarg, "uring")
            && strcmp (optarg, "sync"))
          {
            snprintf (valid, sizeof valid, "auto, uring or sync");
            goto bad;
          }
        o->engine = optarg;
        break;
      case OPT_CONTROL:
        o->control = optarg;
        break;
      case OPT_NO_CONTROL:
        o->control = NULL;
        break;
      case OPT_PIDFILE:
        o->pidfile = optarg;
        break;
      case 'f':
        o->background = false;
        break;
      case OPT_BACKGROUND:
        o->background = true;
        break;
      case OPT_LOG:
        if (vdvs_log_level_parse (optarg, &o->log_level) < 0)
          {
            snprintf (valid, sizeof valid, "error, warn, info or debug");
            goto bad;
          }
        break;
      case OPT_CACHE:
        if (strcmp (optarg, "auto") == 0)
          o->cache = VMDKFS_CACHE_AUTO;
        else if (strcmp (optarg, "writeback") == 0)
          o->cache = VMDKFS_CACHE_WRITEBACK;
        else if (strcmp (optarg, "direct") == 0)
          o->cache = VMDKFS_CACHE_DIRECT;
        else
          {
            snprintf (valid, sizeof valid, "auto, writeback or direct");
            goto bad;
          }
        break;
      case OPT_TIMEOUT:
        errno = 0;
        o->timeout = strtod (optarg, &end);
        if (errno || end == optarg || *end || o->timeout < 0)
          {
            snprintf (valid, sizeof valid, "seconds, 0 or more");
            goto bad;
          }
        break;
      case OPT_THREADS:
        if (parse_uint (optarg, 1, 1024, &o->threads, valid, sizeof valid) < 0)
          goto bad;
        break;
      case OPT_DEPTH:
        if (parse_uint (optarg, 8, 32768, &o->depth, valid, sizeof valid) < 0)
          goto bad;
        break;
      case OPT_LANES:
        if (parse_uint (optarg, 1, 4, &o->lanes, valid, sizeof valid) < 0)
          goto bad;
        break;
      case OPT_BUFFERS:
        if (parse_uint (optarg, 0, 4096, &o->buffers, valid, sizeof valid) < 0)
          goto bad;
        break;
      case OPT_MAX_WRITE:
        if (parse_uint (optarg, 4096, 1024 * 1024, &o->max_write, valid,
                        sizeof valid)
            < 0)
          goto bad;
        break;
      case OPT_BACKING_BUFFERED:
        o->backing_buffered = true;
        break;
      case 'o':
        o->fuse_opts = optarg;
        break;
      case 'h':
        usage (stdout, argv[0]);
        exit (0);
      case 'V':
        printf ("vmdkfs %s (libfuse %s)\n", VDVS_VERSION, fuse_pkgversion ());
        exit (0);
      default:
        usage (stderr, argv[0]);
        return -1;
      }
  if (optind >= argc || argc - optind > 2)
    {
      usage (stderr, argv[0]);
      return -1;
    }
  o->source = argv[optind];
  o->mountpoint = optind + 1 < argc ? argv[optind + 1] : DEFAULT_MOUNTPOINT;
  return 0;

bad:
  for (const struct option *l = longopts; l->name; l++)
    if (l->val == c)
      fprintf (stderr, "%s: bad value `%s' for --%s (valid: %s)\n", argv[0],
               optarg, l->name, valid);
  return -1;
}

/* Whether a vmdkfs (live or dead) is mounted on the absolute path mnt,
 * from /proc/self/mountinfo (field 5 is the mount point, the fstype
 * follows the " - " separator). */
static bool
vmdkfs_mounted_at (const char *mnt)
{
  char *line = NULL, point[PATH_MAX], fstype[64];
  size_t cap = 0;
  bool found = false;
  FILE *f = fopen ("/proc/self/mountinfo", "re");

  if (!f)
    return false;
  while (!found && getline (&line, &cap, f) > 0)
    {
      const char *sep = strstr (line, " - ");

      if (sep && sscanf (line, "%*s %*s %*s %*s %4095s", point) == 1
          && sscanf (sep + 3, "%63s", fstype) == 1)
        found = strcmp (point, mnt) == 0
                && strcmp (fstype, "fuse.vmdkfs") == 0;
    }
  free (line);
  fclose (f);
  return found;
}

/* Prepare MOUNTPOINT.  A killed vmdkfs leaves a mount whose every request
 * fails with ENOTCONN or ECONNABORTED; detach it so the new mount is not
 * stacked on a corpse.  statfs is the probe because FUSE always asks the
 * daemon for it, while stat may be answered from cached attributes.  A
 * live vmdkfs there is refused with EBUSY.  0 or -errno. */
static int
prepare_mountpoint (const char *mnt)
{
  char abs[PATH_MAX];
  struct statfs sfs;
  struct stat st;

  for (int i = 0; i < 8; i++)
    {
      if (statfs (mnt, &sfs) == 0)
        break;
      if (errno == ENOENT)
        return vdvs_mkdir_p (mnt, 0755);
      if (errno != ENOTCONN && errno != ECONNABORTED)
        return -errno;
      vdvs_log (VDVS_LOG_WARN, "Detaching dead FUSE mount", "mountpoint=%s",
                mnt);
      if (umount2 (mnt, MNT_DETACH) < 0)
        return -errno;
    }
  if (stat (mnt, &st) < 0)
    return -errno;
  if (!S_ISDIR (st.st_mode))
    return -ENOTDIR;
  if (realpath (mnt, abs) && vmdkfs_mounted_at (abs))
    {
      vdvs_log (VDVS_LOG_ERROR, "Another vmdkfs serves the mountpoint",
                "mountpoint=%s", abs);
      return -EBUSY;
    }
  return 0;
}

static int
write_pidfile (const char *path)
{
  char tmp[PATH_MAX], buf[32];
  int fd, n;

  if (snprintf (tmp, sizeof tmp, "%s.tmp", path) >= (int) sizeof tmp)
    return -ENAMETOOLONG;
  vdvs_mkdir_parent (path, 0755);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  n = snprintf (buf, sizeof buf, "%ld\n", (long) getpid ());
  if (write (fd, buf, n) != n || close (fd) < 0)
    {
      unlink (tmp);
      return -EIO;
    }
  /* rename: a reader polling for the file never sees it empty. */
  if (rename (tmp, path) < 0)
    {
      unlink (tmp);
      return -errno;
    }
  return 0;
}

static int
start_engine (struct vmdkfs *fs, const struct options *o)
{
  struct vmdkfs_engine_cfg cfg = {
    .depth = o->depth,
    .buf_size = o->max_write,
    .nbufs = o->buffers,
    .lanes = o->lanes,
  };
  int ret;

  if (strcmp (o->engine, "sync") != 0)
    {
      ret = vmdkfs_engine_uring.start (&cfg, &fs->engine);
      if (ret == 0)
        {
          fs->engine_ops = &vmdkfs_engine_uring;
          return 0;
        }
      if (strcmp (o->engine, "uring") == 0)
        {
          vdvs_log (VDVS_LOG_ERROR, "io_uring engine unavailable",
                    "error=\"%s\"", strerror (-ret));
          return ret;
        }
      vdvs_log (VDVS_LOG_WARN, "io_uring unavailable, falling back to sync",
                "error=\"%s\"", strerror (-ret));
    }
  ret = vmdkfs_engine_sync.start (&cfg, &fs->engine);
  if (ret == 0)
    fs->engine_ops = &vmdkfs_engine_sync;
  return ret;
}

/* Threads we start must not take SIGTERM/SIGINT: libfuse's handler only
 * wakes the session loop when it runs on a session thread. */
static void
block_exit_signals (sigset_t *old)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &set, old);
}

/* Stop what runs beside the session, in dependency order; idempotent so
 * that every rung of main's unwind ladder may call it. */
static void
stop_services (struct vmdkfs *fs, struct vmdkfs_control **control,
               bool *delayq_started)
{
  vmdkfs_control_stop (*control);
  *control = NULL;
  if (*delayq_started)
    vmdkfs_delayq_stop (fs);
  *delayq_started = false;
  if (fs->engine)
    fs->engine_ops->stop (fs->engine);
  fs->engine = NULL;
}

int
main (int argc, char **argv)
{
  static struct vmdkfs fs; /* large (inode buckets): not on the stack */
  struct vmdkfs_control *control = NULL;
  struct fuse_loop_config *loop_cfg = NULL;
  struct fuse_args args = FUSE_ARGS_INIT (0, NULL);
  struct options o;
  char fsname[PATH_MAX + 64];
  sigset_t oldmask;
  bool delayq_started = false;
  int ret, status = 1;

  if (parse_options (argc, argv, &o) < 0)
    return 2;
  vdvs_log_setup (o.log_level, -1);
  /* A control client that hangs up before its reply (a liveness probe
   * connects and closes) must cost an EPIPE, never the daemon. */
  signal (SIGPIPE, SIG_IGN);
  /* The kernel already applied the caller's umask to create modes. */
  umask (0);

  fs.source = realpath (o.source, NULL);
  if (!fs.source)
    {
      vdvs_log (VDVS_LOG_ERROR, "Bad SOURCE", "source=%s error=\"%s\"",
                o.source, strerror (errno));
      return 1;
    }
  fs.source_len = strlen (fs.source);
  fs.mountpoint = realpath (o.mountpoint, NULL);
  fs.timeout = o.timeout;
  fs.cache = o.cache;
  fs.backing_direct = !o.backing_buffered;
  fs.max_write = o.max_write;
  pthread_mutex_init (&fs.inode_lock, NULL);
  fs.root.fd = open (fs.source, O_PATH | O_DIRECTORY | O_CLOEXEC);
  fs.root.nlookup = 2;
  if (fs.root.fd < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Bad SOURCE", "source=%s error=\"%s\"",
                fs.source, strerror (errno));
      return 1;
    }
  ret = prepare_mountpoint (o.mountpoint);
  if (ret < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Bad MOUNTPOINT", "mountpoint=%s error=\"%s\"",
                o.mountpoint, strerror (-ret));
      return 1;
    }
  free (fs.mountpoint);
  fs.mountpoint = realpath (o.mountpoint, NULL);
  if (!fs.mountpoint)
    return 1;

  fault_table_init (&fs.faults, (uint64_t) time (NULL) ^ (uint64_t) getpid ());
  fs.faults.on_release = vmdkfs_delayq_release;
  fs.faults.release_opaque = &fs;

  block_exit_signals (&oldmask);
  ret = start_engine (&fs, &o);
  if (ret < 0)
    goto out_services;
  if (o.threads == 0)
    o.threads = fs.engine_ops->default_threads;
  vdvs_log (VDVS_LOG_INFO, "I/O engine started",
            "engine=%s depth=%u threads=%u", fs.engine_ops->name, o.depth,
            o.threads);
  ret = vmdkfs_delayq_start (&fs);
  if (ret < 0)
    goto out_services;
  delayq_started = true;
  if (o.control)
    {
      vdvs_mkdir_parent (o.control, 0755);
      ret = vmdkfs_control_start (&fs, o.control, &control);
      if (ret < 0)
        {
          vdvs_log (VDVS_LOG_ERROR, "Cannot open control socket",
                    "path=%s error=\"%s\"", o.control, strerror (-ret));
          goto out_services;
        }
    }
  pthread_sigmask (SIG_SETMASK, &oldmask, NULL);

  snprintf (fsname, sizeof fsname,
            "fsname=%s,subtype=vmdkfs,allow_other,default_permissions",
            fs.source);
  if (fuse_opt_add_arg (&args, argv[0]) < 0
      || fuse_opt_add_arg (&args, "-o") < 0
      || fuse_opt_add_arg (&args, fsname) < 0
      || (o.fuse_opts
          && (fuse_opt_add_arg (&args, "-o") < 0
              || fuse_opt_add_arg (&args, o.fuse_opts) < 0)))
    goto out_args;
  fs.se = fuse_session_new (&args, &vmdkfs_ops, sizeof vmdkfs_ops, &fs);
  if (!fs.se)
    goto out_args;
  if (fuse_set_signal_handlers (fs.se) != 0)
    goto out_session;
  if (fuse_session_mount (fs.se, fs.mountpoint) != 0)
    goto out_signals;
  vdvs_log (VDVS_LOG_INFO, "vmdkfs mounted",
            "source=%s mountpoint=%s engine=%s control=%s pid=%ld", fs.source,
            fs.mountpoint, fs.engine_ops->name, o.control ? o.control : "none",
            (long) getpid ());
  if (o.background && fuse_daemonize (0) < 0)
    goto out_unmount;
  if (o.pidfile && (ret = write_pidfile (o.pidfile)) < 0)
    {
      vdvs_log (VDVS_LOG_ERROR, "Cannot write pidfile", "path=%s error=\"%s\"",
                o.pidfile, strerror (-ret));
      goto out_unmount;
    }

  loop_cfg = fuse_loop_cfg_create ();
  if (!loop_cfg)
    goto out_pidfile;
  /* One /dev/fuse fd per worker, and workers that stay: data ops return
   * as soon as they are submitted, so a few threads carry a deep queue. */
  fuse_loop_cfg_set_clone_fd (loop_cfg, 1);
  fuse_loop_cfg_set_max_threads (loop_cfg, o.threads);
  fuse_loop_cfg_set_idle_threads (loop_cfg, o.threads);
  ret = fuse_session_loop_mt (fs.se, loop_cfg);
  status = ret == 0 || ret == SIGTERM || ret == SIGINT || ret == SIGHUP ? 0
                                                                        : 1;
  vdvs_log (VDVS_LOG_INFO, "vmdkfs stopping", "result=%d", ret);
  fuse_loop_cfg_destroy (loop_cfg);

out_pidfile:
  if (o.pidfile)
    unlink (o.pidfile);
out_unmount:
  /* Held and delayed requests go to the engine, and the engine drains,
   * while the session can still deliver their replies. */
  stop_services (&fs, &control, &delayq_started);
  fuse_session_unmount (fs.se);
out_signals:
  fuse_remove_signal_handlers (fs.se);
out_session:
  stop_services (&fs, &control, &delayq_started);
  fuse_session_destroy (fs.se);
out_args:
  fuse_opt_free_args (&args);
out_services:
  stop_services (&fs, &control, &delayq_started);
  fault_table_destroy (&fs.faults);
  close (fs.root.fd);
  free (fs.source);
  free (fs.mountpoint);
  return status;
}
