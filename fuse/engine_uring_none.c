/* Built instead of engine_uring.c when liburing is not found: the engine
 * exists so that callers need no #ifdef, and refuses to start. */
#include "engine.h"

#include <errno.h>

static int
none_start (const struct vmdkfs_engine_cfg *cfg, struct vmdkfs_engine **out)
{
  (void) cfg;
  (void) out;
  return -ENOSYS;
}

static int
none_submit (struct vmdkfs_engine *e, struct vmdkfs_io *io)
{
  (void) e;
  (void) io;
  return -ENOSYS;
}

static void
none_stop (struct vmdkfs_engine *e)
{
  (void) e;
}

static unsigned
none_inflight (struct vmdkfs_engine *e)
{
  (void) e;
  return 0;
}

const struct vmdkfs_engine_ops vmdkfs_engine_uring = {
  .name = "uring",
  .start = none_start,
  .submit = none_submit,
  .stop = none_stop,
  .inflight = none_inflight,
};
