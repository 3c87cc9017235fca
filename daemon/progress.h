/* progress.h — live Spark job progress of each ready session.
 *
 * While a session's kernel is busy (IOPub status, kernel.h) or the last
 * poll saw running jobs, the daemon polls that session's Spark REST API
 * on 127.0.0.1:<UI port> (with the session's UI bearer token, after
 * checking that the port's listener is ours: netown.h), every
 * PROGRESS_TICK seconds, one request at a time:
 *
 *   /api/v1/applications/<app>/jobs?status=running       every tick
 *   /api/v1/applications/<app>/jobs/<id>                 a job that left running, or an id not seen yet
 *   /api/v1/applications/<app>/stages?status=failed      only when a job failed
 *   /api/v1/applications/<app>/allexecutors              every PROGRESS_EXECUTORS_EVERY ticks
 *
 * and one final sweep once the kernel is idle and no job runs; then no
 * timer at all (an idle daemon does not wake up).  The first request to a
 * Spark UI initialises its REST service (about 1 s of CPU in a JVM that
 * just started): for a session whose UI has not answered yet, and was not
 * asked by a warm-up (`context_ahead`), the first poll waits
 * PROGRESS_COLD_DELAY seconds, so that a short first job does not share the
 * cores with it (a long one gets its bars after that delay).  A job belongs to the
 * cell whose tags it carries (`sparkd-cell-<cellId>`, `sparkd-msg-<msg_id>`,
 * set by _sparkd's pre_run_cell hook; Spark Connect wraps them, so they are
 * found as substrings), else to the execute_request whose busy..idle window
 * holds its submission time.
 *
 * The pure half (progress_model.c: an HTTP/1.0 response, Spark's JSON →
 * the compact model) never logs and has limits; the unit tests and
 * fuzz_progress drive it.  The polling half lives in progress.c.
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"

#define PROGRESS_TICK             0.5   /* seconds between polls while active */
#define PROGRESS_COLD_DELAY       4.0   /* seconds before the first poll of a UI never asked */
#define PROGRESS_EXECUTORS_EVERY  4u    /* ticks between executor fetches */
#define PROGRESS_TIMEOUT          10.0  /* seconds one request to Spark may take */
#define PROGRESS_MAX_HEAD         (16u * 1024u)
#define PROGRESS_MAX_BODY         (4u * 1024u * 1024u)
#define PROGRESS_MAX_JOBS         100u  /* kept per session, newest first */
#define PROGRESS_MAX_LIST         5000u /* elements of one Spark answer */
#define PROGRESS_MAX_TAG          200u  /* bytes of a cell or msg id taken from a tag */
#define PROGRESS_MAX_ERROR        300u  /* bytes of a failure's line */

/* ---- pure ------------------------------------------------------------ */

/* A parsed response: body points into the buffer given. */
struct progress_http {
        int status;
        const char *body;
        size_t body_len;
};

/* Parses a whole HTTP/1.x response (the server closed the connection
 * after it: the request was HTTP/1.0).  Returns 0; -EMSGSIZE when the
 * head does not end within PROGRESS_MAX_HEAD bytes, -EPROTO when the
 * response ends before its head does; -EBADMSG for a status
 * line that is not "HTTP/1.x NNN ..." or a header line without a colon;
 * -EFBIG for a body (or a Content-Length) over PROGRESS_MAX_BODY;
 * -EPROTO for a chunked or otherwise encoded body, a malformed
 * Content-Length, or a body shorter than its Content-Length. */
int progress_http_parse(const char *buf, size_t len, struct progress_http *ret);

/* Spark's date ("2024-05-01T12:00:00.123GMT", the milliseconds optional)
 * → seconds since the epoch.  Returns 0 or -EINVAL. */
int progress_parse_time(const char *s, double *ret);

/* One of Spark's JobData objects → a compact job (a new object):
 * {"id", "name" (its first line), "status" (running|succeeded|failed|unknown), "cell_id",
 * "msg_id" (from the job's tags, or null), "tasks": {total, done, active,
 * failed, skipped}, "stages": {the same}, "submitted_at", "completed_at"
 * (epoch seconds or null), "stage_ids": [...]}.  Returns 0; -EPROTO when
 * v is not an object, jobId is missing or negative, or a count is not a
 * non-negative integer; -ENOMEM. */
int progress_job_from_spark(json_t *v, json_t **ret);

/* The body of .../jobs (an array) or .../jobs/<id> (one object) → an
 * array of compact jobs.  Returns 0; -EBADMSG when it is not JSON;
 * -EPROTO for another shape or a bad job; -E2BIG for more than
 * PROGRESS_MAX_LIST jobs; -ENOMEM. */
int progress_parse_jobs(const char *body, size_t len, json_t **ret);

/* The body of .../stages?status=failed → an array of
 * {"stage": id, "message": the failure's line (progress_error_line)}.
 * Errors as progress_parse_jobs (a stage without an integer stageId is
 * -EPROTO). */
int progress_parse_failed_stages(const char *body, size_t len, json_t **ret);

/* The body of .../allexecutors → {"alive", "dead", "cores",
 * "memory_used", "memory_total"}: the driver counts only when it is the
 * only executor (local mode); dead are the inactive ones.  Errors as
 * progress_parse_jobs (an element without a string id is -EPROTO). */
int progress_parse_executors(const char *body, size_t len, json_t **ret);

/* The line of a stage's failureReason worth showing: for a Python
 * exception its last "Name: message" line before the Java stack, else
 * the first line after "most recent failure: ... :" or the first line.
 * At most PROGRESS_MAX_ERROR bytes of valid UTF-8.  Returns a malloc'd
 * string or NULL (out of memory). */
char *progress_error_line(const char *reason);

/* ---- the daemon's side (progress.c) --------------------------------- */

/* Creates d->progress; SPARKD_PROGRESS=0 in the environment turns
 * polling off (the answers stay empty).  Returns 0 or -ENOMEM. */
int progress_init(struct sparkd *d);

/* Stops every timer and request and frees d->progress (daemon exit). */
void progress_free_all(struct sparkd *d);

/* The kernel of kernel_id went busy (true) or idle (false) running the
 * execute_request msg_id. */
void progress_kernel_status(struct sparkd *d, const char *kernel_id, bool busy, const char *msg_id);

/* True while a ready session's kernel runs a cell or its Spark jobs run. */
bool progress_any_busy(struct sparkd *d);

/* The session of kernel_id changed (session.c calls it): polling starts
 * once it is ready while the kernel is busy, and its jobs are dropped
 * once it is no longer ready. */
void progress_session_changed(struct sparkd *d, const char *kernel_id);

/* Running jobs of the session as last polled (0 when none). */
int progress_jobs_running(struct sparkd *d, const char *kernel_id);

/* The answer's version for kernel_id (0 when nothing was published).
 * Versions come from one counter: they only grow. */
unsigned long progress_version(struct sparkd *d, const char *kernel_id);

/* GET /api/sessions/<kernel>/progress: a new reference, or NULL (out of
 * memory).  The caller checked that the session exists. */
json_t *progress_json(struct sparkd *d, const char *kernel_id);

/* {"enabled", "polls", "requests"} for /api/health (a new reference). */
json_t *progress_health(struct sparkd *d);
