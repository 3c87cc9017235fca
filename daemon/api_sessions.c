/* api_sessions.c — the HTTP side of sessions (session.h): the start
 * request's members, the mapping of failures to statuses and error codes,
 * the serialized list cached per change, and long polls.
 *
 * A long poll (`?wait=S&version=N`) defers its connection (srv_defer):
 * the server keeps reading it, so a client that hangs up frees its slot at
 * once (waiter_hangup); a change of the sessions (d->sessions_changed)
 * answers every waiter whose version has passed, a timer the others. */
#include "api_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "progress.h"
#include "server.h"
#include "session.h"

struct waiter {
        struct conn *c;
        char kernel_id[KMSG_UUID_LEN + 1]; /* "" for the list */
        bool lazy;                         /* a lazy start's answer, waiting for its warm JVM */
        bool progress;                     /* GET .../progress: follows progress_version */
        unsigned long version;
        ev_timer timer;
        struct sparkd *d;
        struct waiter *next;
};

/* d->waits */
struct api_waits {
        struct waiter *list;
        char *cache;                /* the serialized list ... */
        unsigned long cache_serial; /* ... as of this serial */
        bool stopping;              /* the daemon stops: long polls answer at once */
};

/* Status and error code of each failure. */
static const struct {
        int status;
        const char *code;
} session_fails[] = {
        [SESSION_OK] = {200, "ok"},
        [SESSION_INVALID_REQUEST] = {400, "invalid_request"},
        [SESSION_INVALID_NAME] = {400, "invalid_name"},
        [SESSION_INVALID_KERNEL] = {400, "invalid_kernel_id"},
        [SESSION_NOT_FOUND] = {404, "session_not_found"},
        [SESSION_EXISTS] = {409, "session_exists"},
        [SESSION_KERNEL_NOT_FOUND] = {404, "kernel_not_found"},
        [SESSION_KERNEL_UNUSABLE] = {400, "kernel_error"},
        [SESSION_KERNEL_SEND] = {500, "kernel_error"},
        [SESSION_LIBRARY_MISSING] = {500, "library_missing"},
        [SESSION_NO_SECRETS] = {500, "no_randomness"},
        [SESSION_NO_PORT] = {500, "no_port"},
        [SESSION_LAUNCH_FAILED] = {500, "launch_failed"},
        [SESSION_STARTUP] = {500, "startup"}, /* replaced by the startup failure's */
        [SESSION_NOT_STARTING] = {409, "session_not_starting"},
        [SESSION_NOMEM] = {500, "out_of_memory"},
};

/* Fills resp for a failure (err's message is consumed). */
static void session_fail_response(struct session_error *err, struct api_response *resp) {
        if (err->fail == SESSION_STARTUP) {
                startup_fail_response(err->startup, err->message, resp);
                err->message = NULL;
                return;
        }
        api_fail(resp, session_fails[err->fail].status, session_fails[err->fail].code, "%s",
                 err->message ? err->message : "out of memory");
        session_error_clear(err);
}

int api_waits_init(struct sparkd *d) {
        d->waits = calloc(1, sizeof *d->waits);
        if (!d->waits)
                return -ENOMEM;
        d->sessions_changed = api_sessions_changed;
        return 0;
}

/* The answer for a waiter or a plain GET; id NULL is the list, serialized
 * once per change (every toolbar polls it). */
static void session_answer(struct sparkd *d, const char *id, struct api_response *resp) {
        if (id) {
                json_t *s = session_json_of(d, id);
                if (!s)
                        api_fail(resp, 404, "session_not_found", "no Spark session for kernel %s", id);
                else
                        api_ok(resp, 200, s);
                return;
        }
        struct api_waits *w = d->waits;
        unsigned long serial = session_list_serial(d);
        if (!w->cache || w->cache_serial != serial) {
                json_t *all = session_list_json(d);
                char *text = all ? json_dumps(all, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
                json_decref(all);
                if (!text) {
                        api_fail(resp, 500, "out_of_memory", "out of memory");
                        return;
                }
                free(w->cache);
                w->cache = text;
                w->cache_serial = serial;
        }
        resp->status = 200;
        resp->raw = strdup(w->cache);
        if (!resp->raw)
                api_fail(resp, 500, "out_of_memory", "out of memory");
}

/* GET .../progress's answer: 404 when the kernel has no session. */
static void progress_answer(struct sparkd *d, const char *id, struct api_response *resp) {
        if (!session_progress_info(d, id, NULL, NULL)) {
                api_fail(resp, 404, "session_not_found", "no Spark session for kernel %s", id);
                return;
        }
        json_t *a = progress_json(d, id);
        if (a)
                api_ok(resp, 200, a);
        else
                api_fail(resp, 500, "out_of_memory", "out of memory");
}

static struct waiter *waiter_unlink(struct waiter *w) {
        for (struct waiter **pp = &w->d->waits->list; *pp; pp = &(*pp)->next)
                if (*pp == w) {
                        *pp = w->next;
                        break;
                }
        ev_timer_stop(w->d->loop, &w->timer);
        return w;
}

static void waiter_answer(struct waiter *w) {
        waiter_unlink(w);
        struct api_response resp = {0};
        if (w->lazy) {
                json_t *a = session_lazy_answer(w->d, w->kernel_id);
                if (!a) { /* waited too long: the kernel starts Spark alone */
                        struct session_error err;
                        json_t *stopped = NULL;
                        session_stop(w->d, w->kernel_id, &stopped, &err);
                        session_error_clear(&err);
                        a = stopped;
                }
                if (a)
                        api_ok(&resp, 202, a);
                else
                        api_fail(&resp, 404, "session_not_found", "the session went away");
        } else if (w->progress) {
                progress_answer(w->d, w->kernel_id, &resp);
        } else {
                session_answer(w->d, w->kernel_id[0] ? w->kernel_id : NULL, &resp);
        }
        srv_reply(w->c, &resp);
        free(w);
}

/* The client hung up while waiting: its slot is free at once. */
static void waiter_hangup(void *data) {
        free(waiter_unlink(data));
}

static void waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        (void)loop, (void)revents;
        waiter_answer((struct waiter *)((char *)t - offsetof(struct waiter, timer)));
}

void api_sessions_changed(struct sparkd *d) {
        for (struct waiter *w = d->waits->list, *next; w; w = next) {
                next = w->next;
                if (w->lazy) {
                        json_t *a = session_lazy_answer(d, w->kernel_id);
                        json_decref(a);
                        if (a)
                                waiter_answer(w);
                } else if (w->progress ? progress_version(d, w->kernel_id) > w->version
                                       : session_version(d, w->kernel_id[0] ? w->kernel_id : NULL) > w->version) {
                        waiter_answer(w);
                }
        }
}

void api_waits_shutdown(struct sparkd *d) {
        if (!d->waits)
                return;
        d->waits->stopping = true;
        while (d->waits->list) /* answered: the connections close after it */
                waiter_answer(d->waits->list);
}

void api_waits_free(struct sparkd *d) {
        if (!d->waits)
                return;
        api_waits_shutdown(d);
        free(d->waits->cache);
        free(d->waits);
        d->waits = NULL;
        d->sessions_changed = NULL;
}

/* Defers c until the session (or list) of id changes past version, or
 * secs pass; lazy: until session_lazy_answer has the kernel's answer. */
static struct waiter *waiter_add(struct sparkd *d, struct conn *c, const char *id, unsigned long version,
                                 double secs, bool lazy, struct api_response *resp) {
        struct waiter *w = calloc(1, sizeof *w);
        if (!w) {
                api_fail(resp, 500, "out_of_memory", "out of memory");
                return NULL;
        }
        w->c = c;
        w->d = d;
        w->version = version;
        w->lazy = lazy;
        snprintf(w->kernel_id, sizeof w->kernel_id, "%s", id ? id : "");
        ev_timer_init(&w->timer, waiter_timeout_cb, secs, 0.);
        ev_timer_start(d->loop, &w->timer);
        w->next = d->waits->list;
        d->waits->list = w;
        srv_defer(c, waiter_hangup, w);
        resp->status = API_DEFERRED;
        return w;
}

/* Reads ?wait=S&version=N: 1 with both set (version 0 when absent), 0
 * without wait, -1 after filling resp with the error. */
static int wait_params(const struct http_request *req, double *ret_secs, unsigned long *ret_since,
                       struct api_response *resp) {
        char wait[32], ver[32];
        if (http_query_param(req->query, "wait", wait, sizeof wait) < 0)
                return 0;
        char *end;
        double secs = strtod(wait, &end);
        unsigned long since = 0;
        if (*end || !(secs >= 0) || secs > API_MAX_WAIT) {
                api_fail(resp, 400, "invalid_request", "'wait' must be a number of seconds from 0 to %.0f",
                         API_MAX_WAIT);
                return -1;
        }
        if (http_query_param(req->query, "version", ver, sizeof ver) >= 0) {
                since = strtoul(ver, &end, 10);
                if (*end || !isdigit((unsigned char)ver[0])) { /* strtoul takes "-1" (as the largest) */
                        api_fail(resp, 400, "invalid_request", "'version' must be a whole number");
                        return -1;
                }
        }
        *ret_secs = secs;
        *ret_since = since;
        return 1;
}

/* GET /api/sessions[/ID][?wait=S&version=N] */
void h_session_get(struct sparkd *d, struct conn *c, const struct http_request *req, json_t *body,
                   const char *arg, struct api_response *resp) {
        (void)body;
        const char *id = arg && *arg ? arg : NULL; /* the list has no id */
        double secs = 0;
        unsigned long since = 0;
        int r = c ? wait_params(req, &secs, &since, resp) : 0;
        if (r <= 0) {
                if (r == 0)
                        session_answer(d, id, resp);
                return;
        }
        if (session_version(d, id) > since || secs == 0 || d->waits->stopping) {
                session_answer(d, id, resp);
                return;
        }
        waiter_add(d, c, id, since, secs, false, resp);
}

/* GET /api/sessions/ID/progress[?wait=S&version=N]: the session's live
 * Spark jobs (progress.h), a long poll like the session's. */
void h_session_progress(struct sparkd *d, struct conn *c, const struct http_request *req, json_t *body,
                        const char *id, struct api_response *resp) {
        (void)body;
        double secs = 0;
        unsigned long since = 0;
        int r = c ? wait_params(req, &secs, &since, resp) : 0;
        if (r < 0)
                return;
        if (r == 0 || !session_progress_info(d, id, NULL, NULL) || progress_version(d, id) > since || secs == 0 ||
            d->waits->stopping) {
                progress_answer(d, id, resp);
                return;
        }
        struct waiter *w = waiter_add(d, c, id, since, secs, false, resp);
        if (w)
                w->progress = true;
}

/* POST /api/sessions: {"config", "kernel_id", "overrides", "restart"} */
void h_session_start(struct sparkd *d, struct conn *c, const struct http_request *req, json_t *body,
                     const char *arg, struct api_response *resp) {
        (void)c, (void)arg;
        json_t *config = json_object_get(body, "config"), *kid = json_object_get(body, "kernel_id");
        json_t *ov = json_object_get(body, "overrides"), *restart = json_object_get(body, "restart");
        json_t *lazy = json_object_get(body, "lazy");
        if (lazy && !json_is_boolean(lazy)) {
                api_fail(resp, 400, "invalid_request", "'lazy' must be true or false");
                return;
        }
        /* a lazy start's answer holds the session's secrets: for the kernel
         * only, never through the browser's proxy (which sends cookies) */
        if (json_is_true(lazy) && http_header(req, "Cookie")) {
                api_fail(resp, 403, "lazy_from_browser", "a lazy start is asked by the kernel, not a browser");
                return;
        }
        if (ov && !json_is_object(ov) && !json_is_null(ov)) {
                api_fail(resp, 400, "invalid_request", "'overrides' must be an object");
                return;
        }
        if (restart && !json_is_boolean(restart)) {
                api_fail(resp, 400, "invalid_request", "'restart' must be true or false");
                return;
        }
        struct session_start_req sreq = {
                .config = json_string_value(config),
                .kernel_id = json_string_value(kid),
                .overrides = json_is_object(ov) ? ov : NULL,
                .restart = json_is_true(restart),
                .lazy = json_is_true(lazy),
        };
        struct session_error err;
        json_t *s = NULL;
        if (session_start(d, &sreq, &s, &err) != SESSION_OK) {
                session_fail_response(&err, resp);
        } else if (sreq.lazy && !json_object_get(s, "start") && c) {
                /* a warm JVM is almost ready: the kernel waits for it (and
                 * hears at once that the answer will take a while) */
                json_decref(s);
                waiter_add(d, c, sreq.kernel_id, 0, API_LAZY_WAIT, true, resp);
                if (resp->status == API_DEFERRED)
                        srv_interim(c, "HTTP/1.1 102 Processing\r\n\r\n");
        } else {
                api_ok(resp, 202, s);
        }
}

/* DELETE /api/sessions/ID */
void h_session_stop(struct sparkd *d, struct conn *c, const struct http_request *req, json_t *body,
                    const char *id, struct api_response *resp) {
        (void)c, (void)req, (void)body;
        struct session_error err;
        json_t *s = NULL;
        if (session_stop(d, id, &s, &err) != SESSION_OK)
                session_fail_response(&err, resp);
        else
                api_ok(resp, 202, s);
}

/* POST /api/sessions/ID/report: from the kernel of a lazy start */
void h_session_report(struct sparkd *d, struct conn *c, const struct http_request *req, json_t *body,
                      const char *id, struct api_response *resp) {
        (void)c;
        if (http_header(req, "Cookie")) {
                api_fail(resp, 403, "report_from_browser", "a report comes from the kernel, not a browser");
                return;
        }
        struct session_error err;
        json_t *s = NULL;
        if (session_report(d, id, body, &s, &err) != SESSION_OK)
                session_fail_response(&err, resp);
        else
                api_ok(resp, 200, s);
}
