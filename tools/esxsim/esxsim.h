/* esxsim's shared state and the calls between its files: main.c (start,
 * accept loop, stop), config.c (options and the VMs), conn.c (a thread per
 * connection, in-flight count), request.c (one wire request) and admin.c
 * (the admin socket). */
#ifndef ESXSIM_H
#define ESXSIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include "vdvs/error.h"

#include "transport.h"

#define MAX_LISTENERS 16
#define MAX_OPTS 32
/* Upstream WAIT_OPS_TIMEOUT: how long shutdown waits for requests. */
#define WAIT_OPS_SECONDS 20

struct kv
{
  char *key;
  char *value;
};

struct listener
{
  char url[300];
  struct esx_addr addr;
  struct kv opts[MAX_OPTS]; /* mock config for this VM */
  int nopts;
  char vm_name[256];
  char vm_uuid[64];
  void *handle; /* the mock handle acting for this VM */
  int fd;
};

/* The configuration, set by main.c and config.c before the first
 * connection, read-only after. */
struct esxsim
{
  struct listener listeners[MAX_LISTENERS];
  int nlisteners;
  struct kv opts[MAX_OPTS]; /* mock config for every VM */
  int nopts;
  char admin_path[sizeof ((struct sockaddr_un *) 0)->sun_path];
  int admin_fd;
  const char *pidfile;
  const char *vib_version;
  int64_t request_timeout_ms;
  bool allow_nonroot;
};
extern struct esxsim sim;

/* Set once the service is stopping: requests are declined. */
extern atomic_bool stopping;
/* Fault injection from the admin socket (admin.c sets it, request.c
 * delays requests by it). */
extern pthread_mutex_t stall_lock;
extern int64_t stall_ms;       /* protected by stall_lock */
extern char stall_volume[256]; /* "" = every request; protected by stall_lock */
extern char stall_cmd[32]; /* "" = every command; protected by stall_lock */

struct conn
{
  int fd;
  struct listener *l; /* NULL for the admin socket */
};

/* config.c */
void usage (FILE *f);
/* Append key (klen bytes) = value; -1 (said on stderr) when full. */
int add_kv (struct kv *arr, int *n, const char *key, size_t klen,
            const char *value);
/* Append "KEY=VALUE". */
int add_kv_arg (struct kv *arr, int *n, const char *arg);
/* --listen URL[,k=v...] */
int add_listener (const char *arg);
/* Configure the mock for listener l and open its handle. */
int open_vm (struct listener *l, int index, vdvs_error_t *err);
/* The listener of a VM by name or uuid, NULL if none. */
struct listener *find_vm (const char *id);

/* conn.c */
/* Serve the accepted fd on a thread of its own: a wire request for
 * listener l, or an admin command when l is NULL. */
void spawn (int fd, struct listener *l);
/* True when every request has finished (waits WAIT_OPS_SECONDS). */
bool wait_for_requests (void);

/* request.c */
/* Read, execute and answer one request on c. */
void serve_request (struct conn *c);

/* admin.c */
int admin_listen (vdvs_error_t *err);
/* Read and answer one admin command on fd. */
void serve_admin (int fd);

#endif
