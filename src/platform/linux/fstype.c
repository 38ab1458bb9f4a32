/* Linux default file system: see platform/fstype.h. */
#include "platform/fstype.h"

const char *
vdvs_fstype_default (void)
{
  return "ext4";
}
