/* Restart recovery: after vdvsd, the Docker engine or the host restarted
 * or crashed, bring refcounts, mounts and attachments back in line with
 * the containers that run, in a background thread. */
#ifndef VDVS_RECOVERY_H
#define VDVS_RECOVERY_H

#include "backend_i.h"
#include "config.h"

/* After vdvs_volumes_init, before serving or any other call here. */
void vdvs_recovery_init (const struct vdvs_config *cfg, struct vdvs_bk *bk);
/* Detach what the backend says is attached to this VM and nothing here
 * mounts (after a host crash: records left, devices gone).  After init,
 * before serving; it never asks the Docker engine. */
void vdvs_volumes_sweep_stale (void);
/* Start the background reconciliation with the Docker engine. */
void vdvs_volumes_start_recovery (void);
/* Reconcile soon (SIGHUP). */
void vdvs_volumes_kick_recovery (void);
/* The engine (re)activated us: it may have restarted after a crash, so
 * references held now are prior (refstore.h), then reconcile soon. */
void vdvs_volumes_engine_activated (void);
void vdvs_volumes_shutdown (void);

#endif
