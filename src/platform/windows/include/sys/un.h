/* <sys/un.h> for the ESX codec on Windows: Winsock through sock.h. */
#ifndef VDVS_WIN_SYS_UN_H
#define VDVS_WIN_SYS_UN_H
#include "../../sock.h"
#endif
