/* server.h — the Unix-socket listener and its connections, in the libev loop.
 *
 * Owns sockets, per-connection buffers, watchers and timers, the peer-uid
 * check and the limits.  Does not parse HTTP (http.c) or answer it (api.c).
 */
#pragma once
#include <stdbool.h>

#include "daemon.h"

/* Takes the listening socket: the one systemd passed (LISTEN_FDS), else a
 * new one at d->opts.socket_path (directory 0700, socket 0600; a stale
 * socket is replaced, a live one is an error: -EADDRINUSE).  Logs what it
 * does.  Returns 0 or -errno. */
int srv_listen(struct sparkd *d);

/* Starts accepting in d->loop. */
void srv_start(struct sparkd *d);

/* Graceful stop: no new connections, idle ones closed now, the others when
 * their response is written (or after a grace period).  Calls ev_break on
 * the loop once none is left.  Removes the socket if srv_listen created it. */
void srv_shutdown(struct sparkd *d);

/* Closes everything at once (after the loop ended); removes our socket. */
void srv_free(struct sparkd *d);

/* Number of open connections (for tests and /api/health). */
unsigned srv_connections(void);
