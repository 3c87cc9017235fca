/* session.h — Spark in a running kernel: one session per kernel.
 *
 * A session moves starting → ready | failed, and ready → stopping →
 * stopped.  Starting renders the configuration (eagerly), sends one
 * execute_request to the kernel and follows it; stopping runs the stop
 * code in the kernel without restarting it.  Every change bumps a version
 * that long-polling clients wait on.
 */
#pragma once
#include <jansson.h>

#include "api.h"
#include "daemon.h"

#define SESSION_MAX_WAIT   60.0 /* seconds a long poll may wait */
#define SESSION_LOG_LINES  40u
#define SESSION_LOG_LINE_MAX 1000u /* bytes kept of one log line */
#define SESSION_MAX        256u

/* POST /api/sessions: body {"config", "kernel_id", "overrides", "restart"}. */
void session_start(struct sparkd *d, json_t *body, struct api_response *resp);

/* GET /api/sessions[/ID][?wait=S&version=N]: answers now, or defers the
 * connection c until the version passes N or S seconds elapse.  id NULL
 * means the list. */
void session_get(struct sparkd *d, struct conn *c, const char *id, const char *query,
                 struct api_response *resp);

/* DELETE /api/sessions/ID */
void session_stop(struct sparkd *d, const char *id, struct api_response *resp);

/* Where the UI of the ready session of kernel id is: its port on
 * 127.0.0.1, and the bearer token it requires (NULL when none: Spark <
 * 4.0).  Returns 0, or -ENOENT when no ready session has a UI. */
int session_ui_target(const char *id, int *ret_port, const char **ret_token);

/* At daemon exit: answers every waiting client, forgets the kernels and
 * stops every process a session launched. */
void session_shutdown(struct sparkd *d);

/* Frees everything (after the loop ended). */
void session_free_all(void);
