/* server.h — the Unix-socket listener and its connections, in the libev loop.
 *
 * Owns sockets, per-connection buffers, watchers and timers, the peer-uid
 * check and the limits.  Does not parse HTTP (http.c) or answer it (api.c).
 * A connection that closes after an answer closes gracefully (our side
 * shut first, what the client still sends read and dropped), so clients
 * read the answer rather than a reset; at the connection cap the one idle
 * the longest gives way to a new client, else the new one is answered 503.
 */
#pragma once
#include <stdbool.h>

#include "daemon.h"

/* Creates d->srv and takes the listening socket: the one systemd passed (LISTEN_FDS), else a
 * new one at d->opts.socket_path (directory 0700, socket 0600; a stale
 * socket is replaced, a live one is an error: -EADDRINUSE).  Logs what it
 * does.  Returns 0 or -errno. */
int srv_listen(struct sparkd *d);

/* Starts accepting in d->loop. */
void srv_start(struct sparkd *d);

/* Graceful stop: no new connections, idle ones closed now, the others when
 * their response is written and the client is done with it (or after a
 * grace period).  Calls ev_break on the loop once none is left.  Removes
 * the socket if srv_listen created it. */
void srv_shutdown(struct sparkd *d);

/* Closes everything at once (after the loop ended), removes our socket
 * and frees d->srv. */
void srv_free(struct sparkd *d);

struct conn;
struct api_response;

/* A handler answers later (it then returns API_DEFERRED): the connection
 * stays open and keeps being read, and should the client hang up (or the
 * daemon close it) before the answer, on_hangup(data) is called and the
 * connection is gone.  Bytes the client sends meanwhile wait for after
 * the answer. */
void srv_defer(struct conn *c, void (*on_hangup)(void *data), void *data);

/* Sends an interim (1xx) response head on a deferred connection now, e.g.
 * "HTTP/1.1 102 Processing\r\n\r\n": the client knows the answer will
 * take long.  Best effort. */
void srv_interim(struct conn *c, const char *head);

/* Finishes a request its handler deferred: sends resp (its body is
 * consumed) and goes on with the connection. */
void srv_reply(struct conn *c, struct api_response *resp);

/* Hands the connection's socket to the caller (a handler that answered
 * API_DETACHED, e.g. the UI proxy): returns the fd, and the bytes received
 * so far — the current request from its first byte, and anything after it —
 * in *ret_buf (malloc'd, may be NULL when empty).  The conn is freed. */
int srv_detach(struct conn *c, char **ret_buf, size_t *ret_len);

