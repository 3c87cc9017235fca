/* session.h — Spark in a running kernel: one session per kernel.
 *
 * A session moves starting → ready | failed, and ready → stopping →
 * stopped.  Starting renders the configuration (eagerly), sends one
 * execute_request to the kernel and follows it; stopping runs the stop
 * code in the kernel without restarting it; a ready session with an
 * `idle_stop` stops so by itself after that long without a cell or a job
 * running (session_note_activity), and puts the lazy `spark` back.  Every
 * change bumps a version;
 * the daemon's `sessions_changed` hook (set by the API layer, which
 * answers its long polls) is called after each.
 *
 * This is the state machine only: it speaks no HTTP.  A failure is an
 * enum session_fail with a sentence; api_sessions.c turns it into a status
 * and an error code.  The state lives in d->sessions.
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "daemon.h"
#include "startup.h"

#define SESSION_LOG_LINES    40u
#define SESSION_LOG_LINE_MAX 1000u /* bytes kept of one log line */
#define SESSION_MAX          256u

enum session_fail {
        SESSION_OK = 0,
        SESSION_INVALID_REQUEST,  /* the request's members are wrong */
        SESSION_INVALID_NAME,     /* not a configuration name */
        SESSION_INVALID_KERNEL,   /* not a kernel id (a UUID) */
        SESSION_NOT_FOUND,        /* no session for that kernel */
        SESSION_EXISTS,           /* the kernel has one: stop it, or restart */
        SESSION_KERNEL_NOT_FOUND, /* no connection file for that kernel */
        SESSION_KERNEL_UNUSABLE,  /* its connection file is unusable */
        SESSION_KERNEL_SEND,      /* the start request could not be sent */
        SESSION_LIBRARY_MISSING,  /* libzmq or libcrypto could not be loaded */
        SESSION_NO_SECRETS,       /* no randomness for the session's secrets */
        SESSION_NO_PORT,          /* no port for the Spark UI */
        SESSION_LAUNCH_FAILED,    /* the cluster of `launch` could not start */
        SESSION_STARTUP,          /* the configuration did not render: see startup */
        SESSION_NOT_STARTING,     /* a report for a session that is not a lazy start */
        SESSION_NOMEM,
};

struct session_error {
        enum session_fail fail;
        enum startup_fail startup; /* for SESSION_STARTUP */
        char *message;             /* a malloc'd sentence, or NULL (out of memory) */
};

/* Frees e's message.  Accepts NULL. */
void session_error_clear(struct session_error *e);

/* What POST /api/sessions asks (borrowed). */
struct session_start_req {
        const char *config;
        const char *kernel_id;
        json_t *overrides; /* an object, or NULL */
        bool restart;      /* replace a session the kernel has */
        bool lazy;         /* the kernel itself asks, from its lazy `spark` (see below) */
};

/* Creates d->sessions.  Returns 0 or -ENOMEM. */
int sessions_init(struct sparkd *d);

/* Starts Spark in a kernel.  On SESSION_OK, *ret is the session (a new
 * reference, state "starting"); otherwise err says why.
 *
 * A lazy start (req->lazy) comes from the kernel itself, from its lazy
 * `spark` while the user's cell runs: nothing is sent into the kernel (it
 * could not run before that cell ends).  The session waits for
 * session_report, and *ret has a member "start" with what the kernel
 * needs: {"ui_port", "ui_path", "conf" (spark.ui.port, spark.ui.proxyBase),
 * "secrets" (for _sparkd.secure), "gateway" (a warm driver JVM, or null)}.
 * The startup file is not rewritten. */
enum session_fail session_start(struct sparkd *d, const struct session_start_req *req, json_t **ret,
                                struct session_error *err);

/* A lazy start that waits for a warm JVM still starting has no "start"
 * yet: its answer then waits.  Returns the session with its "start" once
 * the kernel can go on, the session without it when it is no longer
 * starting (stopped, failed), or NULL while it still waits. */
json_t *session_lazy_answer(struct sparkd *d, const char *id);

/* The kernel of a lazy start reports: body {"info": {...}} (what
 * _sparkd.describe says of the SparkSession) or {"error": "sentence"},
 * and "log": [the JVM's start-up lines].  The session becomes ready (or
 * failed, with a hint).  On SESSION_OK, *ret is the session. */
enum session_fail session_report(struct sparkd *d, const char *id, json_t *body, json_t **ret,
                                 struct session_error *err);

/* Stops (or cancels) the session of kernel id.  On SESSION_OK, *ret is the
 * session (a new reference). */
enum session_fail session_stop(struct sparkd *d, const char *id, json_t **ret, struct session_error *err);

/* The session of kernel id (a new reference), or NULL when there is none. */
json_t *session_json_of(struct sparkd *d, const char *id);

/* {"version", "sessions": [...]} (a new reference), or NULL. */
json_t *session_list_json(struct sparkd *d);

/* The version of kernel id's session (0 when none); with id NULL, of the
 * list.  Versions grow with every change. */
unsigned long session_version(struct sparkd *d, const char *id);

/* Grows with every change and every new log line (which does not bump
 * versions): what a cache of the serialized list must follow. */
unsigned long session_list_serial(struct sparkd *d);

/* Where the UI of the ready session of kernel id is: its port on
 * 127.0.0.1, and the bearer token it requires (NULL when none: Spark <
 * 4.0).  Returns 0, or -ENOENT when no ready session has a UI. */
int session_ui_target(struct sparkd *d, const char *id, int *ret_port, const char **ret_token);

/* For progress.c: the state of kernel id's session ("starting", "ready",
 * ...), or NULL when it has none; when ready, *ret_app_id gets its Spark
 * application id (NULL when unknown) and *ret_ui_path its public UI path
 * (each out-parameter may be NULL; borrowed until the session changes). */
const char *session_progress_info(struct sparkd *d, const char *id, const char **ret_app_id,
                                  const char **ret_ui_path);

/* True when the Spark UI of id's ready session has been asked before the
 * session (the warm-up's warm_ui, for a SparkContext made ahead). */
bool session_ui_asked(struct sparkd *d, const char *id);

/* Bumps the version of kernel id's session (its jobs_running changed). */
void session_touch(struct sparkd *d, const char *id);

/* "Kernel busy or a Spark job running" changed for the ready session of
 * kernel id (progress.c calls it; idle release follows it). */
void session_note_activity(struct sparkd *d, const char *id, bool active);

/* At daemon exit: forgets the kernels and stops every process a session
 * launched. */
void session_shutdown(struct sparkd *d);

/* Frees d->sessions (after the loop ended). */
void sessions_free(struct sparkd *d);
