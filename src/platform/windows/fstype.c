/* Windows default file system: see platform/fstype.h.  NTFS is the only
 * one the Windows disk steps make. */
#include "platform/fstype.h"

const char *
vdvs_fstype_default (void)
{
  return "ntfs";
}
