/* The vmdkfs service as the mock backend uses it: started when it is not
 * already running (as its own session, so it outlives a vdvsd restart that
 * leaves volumes attached), health-checked through its control socket, and
 * stopped at close only when no loop device still reads through it.
 *
 * Health without a connect() per Get: once the control socket answers,
 * the pid of the process listening on it (SO_PEERCRED) is held as a pidfd,
 * which becomes readable when that process exits.  A health check is then
 * one poll(2) with a zero timeout: "down" shows as soon as the kernel has
 * reaped vmdkfs's threads (its control socket refuses from the same
 * moment, within microseconds).  While down, every check probes the
 * socket again, so a restarted vmdkfs is "up" at the next Get.  Where no
 * pidfd can be had (old kernel, vmdkfs in another pid namespace), every
 * check connects, as before. */
#include "mock_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/clock.h"
#include "vdvs/error.h"
#include "vdvs/fsutil.h"
#include "vdvs/log.h"
#include "vdvs/types.h"

#define FUSE_SUPER_MAGIC 0x65735546

struct mock_vmdkfs
{
  pid_t started; /* pid we spawned, 0 if it was already running */
  char pidfile[PATH_MAX];
  pthread_mutex_t lock;
  /* pidfd of the process serving the control socket, -1 when not known
   * (down, or no pidfd to be had).  Protected by lock: a check polls it
   * with the lock held, so it is never closed under a poll. */
  int pidfd;
};

static bool
executable (const char *p)
{
  struct stat st;
  return stat (p, &st) == 0 && S_ISREG (st.st_mode) && access (p, X_OK) == 0;
}

/* "auto": next to our own binary, in the build tree, then $PATH. */
static bool
find_binary (const char *want, char *out, size_t len)
{
  char self[PATH_MAX];
  ssize_t n;

  if (strcmp (want, "auto") != 0)
    {
      snprintf (out, len, "%s", want);
      return executable (out);
    }
  n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n > 0)
    {
      self[n] = '\0';
      *strrchr (self, '/') = '\0';
      snprintf (out, len, "%s/vmdkfs", self);
      if (executable (out))
        return true;
      snprintf (out, len, "%s/../fuse/vmdkfs", self);
      if (executable (out))
        return true;
      snprintf (out, len, "%s/../../fuse/vmdkfs", self);
      if (executable (out))
        return true;
    }
  const char *path = getenv ("PATH");
  char buf[4096];
  snprintf (buf, sizeof buf, "%s:/usr/local/sbin:/usr/sbin",
            path ? path : "/usr/local/bin:/usr/bin");
  char *save = NULL;
  for (char *d = strtok_r (buf, ":", &save); d;
       d = strtok_r (NULL, ":", &save))
    {
      snprintf (out, len, "%s/vmdkfs", d);
      if (executable (out))
        return true;
    }
  return false;
}

/* Does the control socket take a connection?  *pid (may be NULL) gets
 * the listener's pid as this pid namespace sees it, 0 if unknown. */
static bool
ctl_alive_pid (const char *sock, pid_t *pid)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct ucred cred;
  socklen_t cl = sizeof cred;
  int fd, r;

  if (pid != NULL)
    *pid = 0;
  if (strlen (sock) >= sizeof sa.sun_path)
    return false;
  strcpy (sa.sun_path, sock);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  r = connect (fd, (struct sockaddr *) &sa, sizeof sa);
  if (r == 0 && pid != NULL
      && getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
    *pid = cred.pid;
  close (fd);
  return r == 0;
}

static bool
ctl_alive (const char *sock)
{
  return ctl_alive_pid (sock, NULL);
}

/* Under s->lock: probe the socket; when it answers, hold its server's
 * pidfd.  Returns whether it answered. */
static bool
probe_locked (struct mock *m, struct mock_vmdkfs *s)
{
  pid_t pid;
  int fd;

  if (!ctl_alive_pid (m->cfg.vmdkfs_ctl, &pid))
    return false;
  if (s->pidfd >= 0 || pid <= 0)
    return true;
#ifdef SYS_pidfd_open
  fd = (int) syscall (SYS_pidfd_open, pid, 0);
#else
  fd = -1;
#endif
  if (fd < 0)
    return true;
  /* The pid may have died and been reused between the connect and the
   * open: the socket must still answer from the same pid. */
  {
    pid_t again;
    if (!ctl_alive_pid (m->cfg.vmdkfs_ctl, &again) || again != pid)
      {
        close (fd);
        return ctl_alive (m->cfg.vmdkfs_ctl);
      }
  }
  s->pidfd = fd;
  return true;
}

static bool
is_fuse_mount (const char *path)
{
  struct statfs sf;
  return statfs (path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

int
mock_vmdkfs_start (struct mock *m, vdvs_error_t *err)
{
  char bin[PATH_MAX];
  struct mock_vmdkfs *s;
  pid_t pid;
  int r;

  if (strcmp (m->cfg.vmdkfs, "off") == 0)
    return 0;
  if (!find_binary (m->cfg.vmdkfs, bin, sizeof bin))
    {
      if (strcmp (m->cfg.vmdkfs, "auto") != 0)
        return vdvs_error_set (err, ENOENT,
                               "mock: vmdkfs binary `%s` not found",
                               m->cfg.vmdkfs);
      vdvs_log (VDVS_LOG_WARN, "vmdkfs not found, extents used directly",
                "vmdkfs=auto");
      return 0;
    }
  s = calloc (1, sizeof *s);
  if (s == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  pthread_mutex_init (&s->lock, NULL);
  s->pidfd = -1;
  snprintf (s->pidfile, sizeof s->pidfile, "%s.pid", m->cfg.vmdkfs_ctl);
  m->vmdkfs = s;

  if (ctl_alive (m->cfg.vmdkfs_ctl) && is_fuse_mount (m->cfg.vmdkfs_mount))
    {
      vdvs_log (VDVS_LOG_INFO, "vmdkfs already running", "mount=%s ctl=%s",
                m->cfg.vmdkfs_mount, m->cfg.vmdkfs_ctl);
      return 0;
    }
  if ((r = vdvs_mkdir_p (m->cfg.vmdkfs_mount, 0755)) < 0)
    return vdvs_error_set (err, -r, "mock: cannot create `%s`: %s",
                           m->cfg.vmdkfs_mount, strerror (-r));
  vdvs_mkdir_parent (m->cfg.vmdkfs_ctl, 0755);

  pid = fork ();
  if (pid < 0)
    return vdvs_error_set (err, errno, "mock: fork: %s", strerror (errno));
  if (pid == 0)
    {
      /* Own session, stdio to /dev/null except stderr (our log). */
      int nul = open ("/dev/null", O_RDWR);
      sigset_t none;
      /* The daemon blocks its signals for sigwait and ignores SIGPIPE; both
       * survive exec, and vmdkfs must get SIGTERM. */
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGPIPE, SIG_DFL);
      setsid ();
      if (nul >= 0)
        {
          dup2 (nul, 0);
          dup2 (nul, 1);
        }
      char *argv[64], opts[sizeof m->cfg.vmdkfs_opts], *save = NULL;
      int n = 0;
      argv[n++] = (char *) "vmdkfs";
      argv[n++] = (char *) "--control";
      argv[n++] = m->cfg.vmdkfs_ctl;
      argv[n++] = (char *) "--pidfile";
      argv[n++] = s->pidfile;
      strcpy (opts, m->cfg.vmdkfs_opts);
      for (char *o = strtok_r (opts, " ", &save); o && n < 60;
           o = strtok_r (NULL, " ", &save))
        argv[n++] = o;
      argv[n++] = m->cfg.root;
      argv[n++] = m->cfg.vmdkfs_mount;
      argv[n] = NULL;
      execv (bin, argv);
      _exit (127);
    }
  s->started = pid;
  /* Bounded wait for the mount and the control socket. */
  for (int i = 0; i < 200; i++)
    {
      int status;
      if (waitpid (pid, &status, WNOHANG) == pid)
        {
          s->started = 0;
          return vdvs_error_set (err, EIO,
                                 "mock: vmdkfs exited at start (status %d); "
                                 "see its log above",
                                 WIFEXITED (status) ? WEXITSTATUS (status)
                                                    : 128 + WTERMSIG (status));
        }
      if (ctl_alive (m->cfg.vmdkfs_ctl) && is_fuse_mount (m->cfg.vmdkfs_mount))
        {
          vdvs_log (VDVS_LOG_INFO, "vmdkfs started", "pid=%d mount=%s bin=%s",
                    (int) pid, m->cfg.vmdkfs_mount, bin);
          return 0;
        }
      struct timespec ts = { 0, 50 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  s->started = 0;
  return vdvs_error_set (err, ETIMEDOUT,
                         "mock: vmdkfs did not come up on `%s` within 10 s",
                         m->cfg.vmdkfs_mount);
}

/* Any loop device whose backing file lives under the vmdkfs mount? */
static bool
loops_through (const char *mount)
{
  DIR *d = opendir ("/sys/block");
  struct dirent *de;
  size_t n = strlen (mount);
  bool busy = false;

  if (d == NULL)
    return false;
  while (!busy && (de = readdir (d)) != NULL)
    {
      char p[PATH_MAX], bf[PATH_MAX];
      FILE *f;
      if (strncmp (de->d_name, "loop", 4) != 0)
        continue;
      snprintf (p, sizeof p, "/sys/block/%s/loop/backing_file", de->d_name);
      if ((f = fopen (p, "re")) == NULL)
        continue;
      if (fgets (bf, sizeof bf, f) && strncmp (bf, mount, n) == 0
          && bf[n] == '/')
        busy = true;
      fclose (f);
    }
  closedir (d);
  return busy;
}

static pid_t
read_pidfile (const char *path)
{
  FILE *f = fopen (path, "re");
  long pid = 0;

  if (f == NULL)
    return 0;
  if (fscanf (f, "%ld", &pid) != 1)
    pid = 0;
  fclose (f);
  return pid > 1 ? (pid_t) pid : 0;
}

/* Stop vmdkfs when nothing reads through it any more, whichever vdvsd
 * started it: it is this datastore root's service, not one daemon's. */
void
mock_vmdkfs_stop (struct mock *m)
{
  struct mock_vmdkfs *s = m->vmdkfs;
  pid_t pid;

  if (s == NULL)
    return;
  pid = s->started > 0 ? s->started : read_pidfile (s->pidfile);
  if (pid > 0 && loops_through (m->cfg.vmdkfs_mount))
    vdvs_log (VDVS_LOG_INFO, "vmdkfs left running: volumes attached",
              "pid=%d mount=%s", (int) pid, m->cfg.vmdkfs_mount);
  else if (pid > 0 && kill (pid, SIGTERM) == 0)
    {
      /* Our child is reaped; another's is watched until it is gone. */
      for (int i = 0; i < 200; i++)
        {
          if (s->started > 0 ? waitpid (pid, NULL, WNOHANG) == pid
                             : kill (pid, 0) < 0)
            break;
          struct timespec ts = { 0, 50 * 1000 * 1000 };
          nanosleep (&ts, NULL);
          if (i == 199)
            {
              kill (pid, SIGKILL);
              if (s->started > 0)
                waitpid (pid, NULL, 0);
            }
        }
      vdvs_log (VDVS_LOG_INFO, "vmdkfs stopped", "pid=%d", (int) pid);
    }
  if (s->pidfd >= 0)
    close (s->pidfd);
  pthread_mutex_destroy (&s->lock);
  free (s);
  m->vmdkfs = NULL;
}

void
mock_vmdkfs_extent_path (const struct mock *m, const struct mock_vol *v,
                         char *buf, size_t len)
{
  if (m->vmdkfs == NULL)
    snprintf (buf, len, "%s", v->flat);
  else
    snprintf (buf, len, "%s/%s/dockvols/%s/%s", m->cfg.vmdkfs_mount, v->ds,
              v->tenant, v->flat_name);
}

static bool
vmdkfs_up (struct mock *m, struct mock_vmdkfs *s)
{
  bool up;

  pthread_mutex_lock (&s->lock);
  if (s->pidfd >= 0)
    {
      struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
      if (poll (&p, 1, 0) == 0)
        {
          pthread_mutex_unlock (&s->lock);
          return true;
        }
      close (s->pidfd); /* it exited */
      s->pidfd = -1;
    }
  up = probe_locked (m, s);
  pthread_mutex_unlock (&s->lock);
  return up;
}

void
mock_vmdkfs_health (struct mock *m, struct vdvs_backend_health *h)
{
  struct stat st;

  h->up = true;
  h->detail[0] = '\0';
  if (stat (m->cfg.root, &st) < 0)
    {
      h->up = false;
      snprintf (h->detail, sizeof h->detail, "datastore root `%s`: %s",
                m->cfg.root, strerror (errno));
      return;
    }
  if (m->vmdkfs != NULL && !vmdkfs_up (m, m->vmdkfs))
    {
      h->up = false;
      snprintf (h->detail, sizeof h->detail,
                "vmdkfs is not running (control socket `%s` refuses)",
                m->cfg.vmdkfs_ctl);
    }
}
