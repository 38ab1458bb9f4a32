/* <netinet/in.h> for the ESX codec on Windows: Winsock through sock.h. */
#ifndef VDVS_WIN_NETINET_IN_H
#define VDVS_WIN_NETINET_IN_H
#include "../../sock.h"
#endif
