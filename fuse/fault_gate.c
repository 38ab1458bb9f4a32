/* Where the FUSE ops meet the fault rules (fault.h): the path relative to
 * SOURCE that a rule matches, the gate of metadata ops, and the log line
 * and count of every injected fault. */
#include "ops_i.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vdvs/log.h"

#include "errname.h"

/* Write the path of fd (plus "/name" when name is given) relative to
 * SOURCE into buf.  0 or -errno.  The root itself is "". */
int
relpath_of (struct vmdkfs *fs, int fd, const char *name, char *buf, size_t len)
{
  char proc[64], target[PATH_MAX];
  const char *rel;
  ssize_t n;
  int w;

  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  n = readlink (proc, target, sizeof target - 1);
  if (n < 0)
    return -errno;
  target[n] = '\0';
  if (strncmp (target, fs->source, fs->source_len) != 0)
    return -EXDEV;
  rel = target + fs->source_len;
  while (*rel == '/')
    rel++;
  if (name)
    w = snprintf (buf, len, "%s%s%s", rel, *rel ? "/" : "", name);
  else
    w = snprintf (buf, len, "%s", rel);
  return w < 0 || (size_t) w >= len ? -ENAMETOOLONG : 0;
}

void
log_injected (struct vmdkfs *fs, const struct fault_verdict *v, const char *op,
              const char *path)
{
  atomic_fetch_add (&fs->stats.injected, 1);
  if (v->err)
    vdvs_log (VDVS_LOG_WARN, "Fault injected", "id=%s op=%s path=%s errno=%s",
              v->id, op, path, vmdkfs_errno_name (v->err));
  else if (v->hold)
    vdvs_log (VDVS_LOG_WARN, "Fault injected", "id=%s op=%s path=%s stall=1",
              v->id, op, path);
  else
    vdvs_log (VDVS_LOG_DEBUG, "Fault injected", "id=%s op=%s path=%s ms=%u",
              v->id, op, path, v->delay_ms);
}

/* Check a namespace or attribute change on parent/name (name may be NULL:
 * the inode itself).  0, or -errno to reply with.  Delays are served by
 * sleeping here; stalls apply to data ops only. */
int
meta_gate (struct vmdkfs *fs, int fd, const char *name, const char *op)
{
  char rel[PATH_MAX];
  struct fault_verdict v;

  if (atomic_load_explicit (&fs->faults.nrules, memory_order_relaxed) == 0)
    return 0;
  if (relpath_of (fs, fd, name, rel, sizeof rel) < 0)
    return 0;
  if (!fault_check (&fs->faults, rel, FAULT_OP_META, &v))
    return 0;
  log_injected (fs, &v, op, rel);
  if (v.err)
    return -v.err;
  if (v.delay_ms)
    {
      struct timespec ts = { v.delay_ms / 1000,
                             (v.delay_ms % 1000) * 1000000L };
      while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
    }
  return 0;
}
