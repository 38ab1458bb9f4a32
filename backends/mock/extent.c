/* A volume's data extent, made per disk format (zeros written for
 * eagerzeroedthick) or copied from another, with progress reports.  The
 * caller holds the volume's lock (mock_lock); no state of its own. */
#include "mock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void
report (const struct mock *m, struct vdvs_progress *p,
        enum vdvs_progress_state state)
{
  p->state = state;
  if (m->progress)
    m->progress (m->progress_opaque, p);
}

/* Long writes go to disk as they are made, one chunk behind: the page
 * cache of a shared machine is not flooded with a whole disk of dirty
 * pages, the final fsync is short, and the progress shown is the disk's
 * (not the memory's).  Best effort: a file system without
 * sync_file_range just writes back later. */
#define CHUNK (8u << 20)

static void
write_behind (int fd, uint64_t off, uint64_t len)
{
  sync_file_range (fd, (off_t) off, (off_t) len, SYNC_FILE_RANGE_WRITE);
  if (off >= CHUNK)
    {
      sync_file_range (fd, (off_t) (off - CHUNK), CHUNK,
                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE
                           | SYNC_FILE_RANGE_WAIT_AFTER);
      posix_fadvise (fd, (off_t) (off - CHUNK), CHUNK, POSIX_FADV_DONTNEED);
    }
}

/* Write zeros over [0, bytes).  The source is a read-only anonymous
 * mapping: every page of it is the kernel's one zero page, so the big
 * buffer costs no memory and is always in cache.  Returns 0 or an errno. */
static int
zero_fill (const struct mock *m, int fd, struct vdvs_progress *p)
{
  void *zeros = mmap (NULL, CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);
  int e = 0;

  if (zeros == MAP_FAILED)
    return errno;
  while (p->done < p->total && e == 0)
    {
      size_t n = p->total - p->done < CHUNK ? (size_t) (p->total - p->done)
                                            : CHUNK;
      ssize_t w = pwrite (fd, zeros, n, (off_t) p->done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          e = w < 0 ? errno : EIO;
          break;
        }
      if ((uint64_t) w == n && (p->done & (CHUNK - 1)) == 0)
        write_behind (fd, p->done, n);
      p->done += (uint64_t) w;
      report (m, p, VDVS_PROGRESS_UPDATE);
    }
  munmap (zeros, CHUNK);
  return e;
}

/* Allocate the extent per disk format: thin = sparse, zeroedthick =
 * fallocate, eagerzeroedthick = fallocate and write zeros to every block
 * (with progress: this is the long part of a create). */
int
mock_extent_make (const struct mock *m, const struct mock_vol *v,
                  uint64_t bytes, const char *format, vdvs_error_t *err)
{
  int fd = open (v->flat, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int e = 0;
  bool started = false;
  char full[VDVS_FULL_NAME_MAX];
  struct vdvs_progress p = {
    .op = "create", .volume = full, .what = "eagerzeroedthick", .total = bytes
  };

  if (fd < 0)
    return vdvs_error_set (err, errno, "Failed to create volume: %s",
                           strerror (errno));
  snprintf (full, sizeof full, "%s@%s", v->vol, v->ds);
  if (strcmp (format, "thin") == 0)
    {
      if (ftruncate (fd, (off_t) bytes) < 0)
        e = errno;
    }
  else if ((e = posix_fallocate (fd, 0, (off_t) bytes)) == 0
           && strcmp (format, "eagerzeroedthick") == 0)
    {
      report (m, &p, VDVS_PROGRESS_START);
      started = true;
      e = zero_fill (m, fd, &p);
    }
  if (e == 0 && fsync (fd) < 0)
    e = errno;
  close (fd);
  if (started)
    report (m, &p, e == 0 ? VDVS_PROGRESS_DONE : VDVS_PROGRESS_FAILED);
  if (e != 0)
    {
      unlink (v->flat);
      return vdvs_error_set (err, e, "Failed to create volume: %s",
                             strerror (e));
    }
  return 0;
}

/* Copy the data runs of [p->done, p->total) from in to out; holes stay
 * holes and count as done.  Returns 0 or an errno. */
static int
copy_runs (const struct mock *m, int in, int out, struct vdvs_progress *p)
{
  while (p->done < p->total)
    {
      off_t data = lseek (in, (off_t) p->done, SEEK_DATA), hole;
      if (data < 0)
        {
          if (errno != ENXIO) /* ENXIO: only a hole is left */
            return errno;
          break;
        }
      if ((hole = lseek (in, data, SEEK_HOLE)) < 0)
        hole = (off_t) p->total;
      p->done = (uint64_t) data;
      while (p->done < (uint64_t) hole)
        {
          off_t o_in = (off_t) p->done, o_out = (off_t) p->done;
          size_t want = (uint64_t) hole - p->done < CHUNK
                            ? (size_t) ((uint64_t) hole - p->done)
                            : CHUNK;
          ssize_t n = copy_file_range (in, &o_in, out, &o_out, want, 0);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return errno;
          if (n == 0) /* the source shrank under us */
            return EIO;
          if ((size_t) n == want && (p->done & (CHUNK - 1)) == 0)
            write_behind (out, p->done, want);
          p->done += (uint64_t) n;
          report (m, p, VDVS_PROGRESS_UPDATE);
        }
    }
  p->done = p->total;
  return 0;
}

/* Copy an extent, keeping holes; a reflink when the file system can.
 * Reports progress as a clone of `v` from `src`. */
int
mock_extent_copy (const struct mock *m, const struct mock_vol *src,
                  const struct mock_vol *v, vdvs_error_t *err)
{
  int in = open (src->flat, O_RDONLY | O_CLOEXEC), out, e = 0;
  char full[VDVS_FULL_NAME_MAX], what[VDVS_FULL_NAME_MAX + 16];
  struct vdvs_progress p = { .op = "clone", .volume = full, .what = what };
  bool started = false;
  struct stat st;

  if (in < 0)
    return vdvs_error_set (err, errno, "Failed to clone volume: %s",
                           strerror (errno));
  out = open (v->flat, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    {
      e = errno;
      close (in);
      return vdvs_error_set (err, e, "Failed to clone volume: %s",
                             strerror (e));
    }
  snprintf (full, sizeof full, "%s@%s", v->vol, v->ds);
  snprintf (what, sizeof what, "copy from %s@%s", src->vol, src->ds);
  if (fstat (in, &st) < 0)
    e = errno;
  else
    {
      p.total = (uint64_t) st.st_size;
      report (m, &p, VDVS_PROGRESS_START);
      started = true;
      if (ioctl (out, FICLONE, in) == 0)
        p.done = p.total;
      else if (ftruncate (out, st.st_size) < 0)
        e = errno;
      else
        e = copy_runs (m, in, out, &p);
    }
  if (e == 0 && fsync (out) < 0)
    e = errno;
  close (in);
  close (out);
  if (started)
    report (m, &p, e == 0 ? VDVS_PROGRESS_DONE : VDVS_PROGRESS_FAILED);
  if (e != 0)
    {
      unlink (v->flat);
      return vdvs_error_set (err, e, "Failed to clone volume: %s",
                             strerror (e));
    }
  return 0;
}
