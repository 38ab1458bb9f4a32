/* Winsock under the BSD socket names the ESX codec (backends/esx/) uses,
 * for the Windows build only (its include/ folder shadows <sys/socket.h>,
 * <poll.h> and friends).  Each wrapper starts Winsock once, and turns
 * WSAGetLastError() into errno, which the codec reads.  A SOCKET is kept in
 * an int: Windows handle values fit in 32 bits. */
#ifndef VDVS_WIN_SOCK_H
#define VDVS_WIN_SOCK_H

#include <winsock2.h>
#include <ws2tcpip.h>

#include <afunix.h>
#include <stdint.h>
#include <sys/types.h>

typedef unsigned short sa_family_t;

/* AF_VSOCK is not a constant on Windows: the VMCI driver hands it out
 * (IOCTL on \\.\VMCI); -1 without the driver, and socket() then fails
 * with EAFNOSUPPORT. */
int vdvs_win_vsock_family (void);
#define AF_VSOCK vdvs_win_vsock_family ()
#define VMADDR_CID_ANY ((unsigned int) -1)
struct sockaddr_vm
{
  sa_family_t svm_family;
  unsigned short svm_reserved1;
  unsigned int svm_port;
  unsigned int svm_cid;
  unsigned char svm_zero[4];
};

/* Not inherited by default, and blocking mode is set with ioctlsocket. */
#define SOCK_CLOEXEC 0
#define MSG_DONTWAIT 0
#define MSG_NOSIGNAL 0
/* No unix socket files to step over in a stat(). */
#define S_ISSOCK(m) ((void) (m), 0)
#define F_GETFL 3
#define F_SETFL 4
#ifndef O_NONBLOCK
#define O_NONBLOCK 0x800
#endif

int vdvs_win_socket (int family, int type, int proto);
int vdvs_win_bind (int fd, const struct sockaddr *sa, int len);
int vdvs_win_connect (int fd, const struct sockaddr *sa, int len);
int vdvs_win_listen (int fd, int backlog);
int vdvs_win_getsockopt (int fd, int level, int name, void *val, int *len);
int vdvs_win_setsockopt (int fd, int level, int name, const void *val,
                         int len);
ssize_t vdvs_win_recv (int fd, void *buf, size_t len, int flags);
ssize_t vdvs_win_send (int fd, const void *buf, size_t len, int flags);
int vdvs_win_poll (struct pollfd *p, unsigned long n, int timeout);
int vdvs_win_fcntl (int fd, int cmd, ...);
/* closesocket for a socket, _close for a file descriptor. */
int vdvs_win_close (int fd);

#define socket(...) vdvs_win_socket (__VA_ARGS__)
#define bind(...) vdvs_win_bind (__VA_ARGS__)
#define connect(...) vdvs_win_connect (__VA_ARGS__)
#define listen(...) vdvs_win_listen (__VA_ARGS__)
#define getsockopt(...) vdvs_win_getsockopt (__VA_ARGS__)
#define setsockopt(...) vdvs_win_setsockopt (__VA_ARGS__)
#define recv(...) vdvs_win_recv (__VA_ARGS__)
#define send(...) vdvs_win_send (__VA_ARGS__)
#define poll(...) vdvs_win_poll (__VA_ARGS__)
#define fcntl(...) vdvs_win_fcntl (__VA_ARGS__)
#define close(...) vdvs_win_close (__VA_ARGS__)

#endif
