/* api_int.h — what the API's own files share (api.c: the route table and
 * the configuration routes; api_sessions.c: the session routes). */
#pragma once
#include <jansson.h>

#include "api.h"

#define API_MAX_WAIT 60.0  /* seconds a long poll may wait */
#define API_LAZY_WAIT 90.0 /* seconds a lazy start waits for a warm JVM still starting */

typedef void api_handler(struct sparkd *d, struct conn *c, const struct http_request *req,
                         json_t *body, const char *arg, struct api_response *resp);

/* resp = status with body, or 500 out_of_memory when body is NULL. */
void api_ok(struct api_response *resp, int status, json_t *body);

/* Fills resp with the status and error code for a startup failure
 * (enum startup_fail from startup.h) and the sentence err, which it frees. */
void startup_fail_response(int f, char *err, struct api_response *resp);

/* Answers every long poll whose session (or list) changed
 * (d->sessions_changed). */
void api_sessions_changed(struct sparkd *d);

api_handler h_session_start, h_session_get, h_session_stop, h_session_report, h_session_progress;
