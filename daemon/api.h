/* api.h — the daemon's HTTP API: routes requests to handlers.
 *
 * Touches no sockets.  Each handler takes the parsed request and returns a
 * status and a JSON body; errors are {"error": {"code", "message"}}.
 */
#pragma once
#include <jansson.h>

#include "daemon.h"
#include "http.h"

#define API_MAX_JSON_DEPTH 32

#define API_DEFERRED 0   /* the handler answers later with srv_reply */
#define API_DETACHED (-1) /* the handler took the socket (srv_detach) */

struct conn;

struct api_response {
        int status;           /* or API_DEFERRED / API_DETACHED */
        json_t *body;          /* owned; NULL for 204 */
        char *raw;             /* owned serialized JSON body, used instead of body (caches) */
        char extra_headers[256]; /* e.g. "Allow: GET, PUT\r\n" */
};

/* Answers req into *resp (always filled; never fails: allocation failures
 * become 500). */
void api_handle(struct sparkd *d, struct conn *c, const struct http_request *req,
                struct api_response *resp);

/* An error response body: {"error": {"code": code, "message": message}}. */
json_t *api_error_body(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills resp with an error: status and {"error": {"code", "message"}} (the
 * one way every handler, the UI proxy's included, answers an error). */
void api_fail(struct api_response *resp, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Parses a JSON request body with limits (depth API_MAX_JSON_DEPTH, no
 * duplicate keys, an object at the top).  Returns 0 and the object in
 * *ret, or -EINVAL with a sentence in err (errsz bytes). */
int api_parse_body(const char *body, size_t len, json_t **ret, char *err, size_t errsz);


/* Creates d->waits (long polls) and hooks d->sessions_changed.  Returns 0
 * or -ENOMEM. */
int api_waits_init(struct sparkd *d);

/* The daemon stops: every long poll is answered now, new ones at once. */
void api_waits_shutdown(struct sparkd *d);

/* Frees d->waits (answering any left). */
void api_waits_free(struct sparkd *d);

/* Frees resp's body and raw text. */
void api_response_clear(struct api_response *resp);

/* Serializes resp into a complete HTTP response (see http_response). */
char *api_serialize(const struct api_response *resp, bool keep_alive, size_t *ret_len);
