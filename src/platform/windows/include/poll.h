/* <poll.h> for the ESX codec on Windows: Winsock through sock.h. */
#ifndef VDVS_WIN_POLL_H
#define VDVS_WIN_POLL_H
#include "../sock.h"
#endif
