/* Linux: names are used as ESX spells them; see platform/names.h. */
#include "platform/names.h"

void
vdvs_name_for_docker (char *name)
{
  (void) name;
}

int
vdvs_name_check_platform (const char *name, vdvs_error_t *err)
{
  (void) name;
  (void) err;
  return 0;
}
