/* ui.h — each session's Spark UI, reverse-proxied under /ui/<kernel_id>/.
 *
 * Spark is started with spark.ui.proxyBase = <public prefix>/ui/<kernel_id>,
 * so its pages link under that path; the browser's requests arrive here as
 * /ui/<kernel_id>/<rest> and go to 127.0.0.1:<the session's UI port>/<rest>.
 * Only ready sessions of this daemon are reachable; anything else is 404.
 * The UI itself answers only requests carrying the session's bearer token
 * (Spark's JWSFilter, sparkauth.h), which the proxy adds: a browser's own
 * Authorization header is dropped, and before each request the port's
 * listener must still belong to the daemon's uid (netown.h), else 502.
 * The path has no segment named `proxy` or `history` (Spark's JavaScript
 * takes the segment after those for an application id).  Responses stream
 * through; redirects to Spark's own host are rewritten to stay under the
 * prefix.  GET and HEAD only: the UI is read-only here.
 */
#pragma once
#include "api.h"
#include "daemon.h"

#define UI_MAX_RESPONSE_HEAD (64u * 1024u)
#define UI_BUFFER            (256u * 1024u) /* read from Spark at most this ahead of the browser */
#define UI_TIMEOUT           60.0           /* seconds without progress */

/* Handles a request whose path starts with /ui/.  Either answers in resp
 * (404, 405, 301...) or takes the connection over (API_DETACHED). */
void ui_handle(struct sparkd *d, struct conn *c, const struct http_request *req,
               struct api_response *resp);

/* Rewrites a Location header value from Spark into a reference relative
 * to the page asked for (`from`: its path in Spark's space, e.g. "/jobs").
 * The value is read as a browser reads it first: C0 controls and spaces
 * around it stripped, tab/CR/LF inside removed, backslashes before any
 * query or fragment taken as '/'.  Then an absolute URL on 127.0.0.1 or
 * localhost at port (http or https, any case) loses its scheme and host,
 * a path Spark prefixed with base (the session's public path without its
 * trailing slash) loses that prefix, and the rest becomes "../"s and the
 * path ("/jobs" → "/jobs/" is "jobs/"); a value already relative ("jobs/",
 * "?x") stays.  Relative, because a proxy in front (jupyter-server-proxy)
 * prefixes absolute paths itself.  The result never starts with '/' and
 * never has a scheme, so it cannot leave the site.  Pure.  Returns 0 with
 * *ret_location a malloc'd string; -EPERM when the value names another
 * host, port or scheme (another absolute URL, "//host", "/\host",
 * "\\host", "javascript:..."): the caller drops the header rather than
 * redirect from the hub's origin elsewhere; -ENOMEM. */
int ui_rewrite_location(const char *value, int port, const char *base, const char *from,
                        char **ret_location);

/* Creates d->ui.  Returns 0 or -ENOMEM. */
int ui_init(struct sparkd *d);

/* Closes every proxied request at once and frees d->ui (daemon exit). */
void ui_free_all(struct sparkd *d);
