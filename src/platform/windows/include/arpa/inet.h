/* <arpa/inet.h> for the ESX codec on Windows: Winsock through sock.h. */
#ifndef VDVS_WIN_ARPA_INET_H
#define VDVS_WIN_ARPA_INET_H
#include "../../sock.h"
#endif
