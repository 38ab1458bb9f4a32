/* <linux/vm_sockets.h> for the ESX codec on Windows: Winsock through sock.h. */
#ifndef VDVS_WIN_LINUX_VM_SOCKETS_H
#define VDVS_WIN_LINUX_VM_SOCKETS_H
#include "../../sock.h"
#endif
