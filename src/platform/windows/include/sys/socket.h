/* <sys/socket.h> for the ESX codec on Windows: Winsock through sock.h. */
#ifndef VDVS_WIN_SYS_SOCKET_H
#define VDVS_WIN_SYS_SOCKET_H
#include "../../sock.h"
#endif
