#include "api_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel.h"
#include "prewarm.h"
#include "progress.h"
#include "session.h"
#include "startup.h"
#include "ui.h"

#define API_MAX_SEGMENTS 8
#define API_XSRF_MAX 512

enum api_arg { ARG_NONE, ARG_NAME, ARG_KERNEL };

struct api_route {
        const char *method;
        const char *pattern; /* segments; "*" matches one */
        api_handler *fn;
        bool wants_body;     /* a JSON object body is parsed (empty → {}) */
        enum api_arg arg;    /* what "*" must be */
};

json_t *api_error_body(const char *code, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
}

void api_fail(struct api_response *resp, int status, const char *code, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        resp->status = status;
        resp->body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
}

void api_ok(struct api_response *resp, int status, json_t *body) {
        resp->status = body ? status : 500;
        resp->body = body ? body : api_error_body("out_of_memory", "out of memory");
}

/* Deepest [ / { nesting outside strings, to bound jansson's recursion. */
static size_t json_max_depth(const char *s, size_t len) {
        size_t depth = 0, max = 0;
        bool in_str = false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                } else if (c == '"') {
                        in_str = true;
                } else if (c == '[' || c == '{') {
                        if (++depth > max)
                                max = depth;
                } else if ((c == ']' || c == '}') && depth > 0) {
                        depth--;
                }
        }
        return max;
}

int api_parse_body(const char *body, size_t len, json_t **ret, char *err, size_t errsz) {
        if (json_max_depth(body, len) > API_MAX_JSON_DEPTH) {
                snprintf(err, errsz, "JSON nesting is deeper than %u levels", API_MAX_JSON_DEPTH);
                return -EINVAL;
        }
        json_error_t jerr;
        json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!v) {
                snprintf(err, errsz, "invalid JSON at line %d, column %d: %s", jerr.line,
                         jerr.column, jerr.text);
                return -EINVAL;
        }
        if (!json_is_object(v)) {
                json_decref(v);
                snprintf(err, errsz, "the request body must be a JSON object");
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* GET /api/health */
static void h_health(struct sparkd *d, struct conn *c, const struct http_request *req,
                     json_t *body, const char *arg, struct api_response *resp) {
        (void)c;
        (void)req, (void)body, (void)arg;
        api_ok(resp, 200, json_pack("{s:s, s:s, s:I, s:o, s:o}", "status", "ok", "version", SPARKD_VERSION,
                                    "configs", (json_int_t)d->cfgs->n, "prewarm", prewarm_json(d), "progress",
                                    progress_health(d)));
}

/* One entry of GET /api/configs. */
static json_t *config_item(const struct sparkd *d, const struct cfg_entry *e) {
        json_t *it = json_pack("{s:s, s:s, s:b, s:b}", "name", e->name, "source",
                               e->source == CFG_USER ? "user" : "system", "locked", e->locked,
                               "default",
                               d->cfgs->default_name && !strcmp(d->cfgs->default_name, e->name));
        if (!it)
                return NULL;
        if (e->error) {
                json_object_set_new(it, "display_name", json_string(e->name));
                json_object_set_new(it, "description", json_string(""));
                json_object_set_new(it, "error", json_string(e->error));
                return it;
        }
        json_object_set(it, "display_name", json_object_get(e->doc, "display_name"));
        json_object_set(it, "description", json_object_get(e->doc, "description"));
        json_object_set_new(it, "summary", cfg_summary(e));
        json_object_set(it, "overridable", json_object_get(e->doc, "overridable"));
        json_t *idle = json_object_get(e->doc, CFG_IDLE_STOP);
        json_object_set(it, CFG_IDLE_STOP, idle ? idle : json_null());
        return it;
}

/* GET /api/configs: serialized once per set of configurations (a reload
 * makes a new set), since toolbars ask for it on every page load. */
static void h_configs(struct sparkd *d, struct conn *c, const struct http_request *req,
                      json_t *body, const char *arg, struct api_response *resp) {
        (void)c, (void)req, (void)body, (void)arg;
        prewarm_touch(d); /* a toolbar opened: the user is active */
        static char *cache;
        static unsigned long cache_gen;
        if (!cache || cache_gen != d->cfg_generation) {
                json_t *list = json_array();
                for (size_t i = 0; list && i < d->cfgs->n; i++)
                        json_array_append_new(list, config_item(d, &d->cfgs->entries[i]));
                json_t *def = d->cfgs->default_name ? json_string(d->cfgs->default_name) : json_null();
                json_t *all = json_pack("{s:o, s:o}", "default", def, "configs", list);
                char *text = all ? json_dumps(all, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
                json_decref(all);
                if (!text) {
                        api_fail(resp, 500, "out_of_memory", "out of memory");
                        return;
                }
                free(cache);
                cache = text;
                cache_gen = d->cfg_generation;
        }
        resp->status = 200;
        resp->raw = strdup(cache);
        if (!resp->raw)
                api_fail(resp, 500, "out_of_memory", "out of memory");
}

/* Looks a configuration up; fills resp with 404 when it is unknown. */
static const struct cfg_entry *find_or_404(struct sparkd *d, const char *name,
                                           struct api_response *resp) {
        const struct cfg_entry *e = cfg_find(d->cfgs, name);
        if (!e) {
                char msg[160];
                snprintf(msg, sizeof msg, "no configuration named '%s'", name);
                api_fail(resp, 404, "config_not_found", "%s", msg);
        }
        return e;
}

/* GET /api/configs/NAME */
static void h_config_get(struct sparkd *d, struct conn *c, const struct http_request *req,
                         json_t *body, const char *name, struct api_response *resp) {
        (void)c;
        (void)req, (void)body;
        const struct cfg_entry *e = find_or_404(d, name, resp);
        if (!e)
                return;
        json_t *out = e->error ? config_item(d, e) : json_deep_copy(e->doc);
        if (out && !e->error) {
                json_object_set_new(out, "summary", cfg_summary(e));
                json_object_set_new(out, "default", json_boolean(d->cfgs->default_name &&
                                                                 !strcmp(d->cfgs->default_name, name)));
        }
        api_ok(resp, 200, out);
}

void startup_fail_response(int f, char *err, struct api_response *resp) {
        static const struct {
                int status;
                const char *code;
        } map[] = {
                [STARTUP_NOT_FOUND] = {404, "config_not_found"},
                [STARTUP_INVALID] = {422, "config_invalid"},
                [STARTUP_BAD_OVERRIDE] = {400, "invalid_override"},
                [STARTUP_TEMPLATE] = {422, "template_error"},
                [STARTUP_IO] = {500, "write_failed"},
                [STARTUP_NOMEM] = {500, "out_of_memory"},
        };
        api_fail(resp, map[f].status, map[f].code, "%s", err ? err : "out of memory");
        free(err);
}

/* The `overrides` member of a body: an object, or absent. */
static int body_overrides(json_t *body, json_t **ret, struct api_response *resp) {
        json_t *ov = json_object_get(body, "overrides");
        if (ov && !json_is_object(ov) && !json_is_null(ov)) {
                api_fail(resp, 400, "invalid_request", "'overrides' must be an object");
                return -EINVAL;
        }
        *ret = json_is_object(ov) ? ov : NULL;
        return 0;
}

/* POST /api/configs/NAME/render {"overrides": {...}} → {"code": "..."} */
static void h_config_render(struct sparkd *d, struct conn *c, const struct http_request *req,
                            json_t *body, const char *name, struct api_response *resp) {
        (void)c;
        (void)req;
        json_t *ov;
        if (body_overrides(body, &ov, resp) < 0)
                return;
        char *code = NULL, *err = NULL;
        enum startup_fail f = startup_render(d, name, ov, &code, &err);
        if (f != STARTUP_OK) {
                startup_fail_response(f, err, resp);
                return;
        }
        api_ok(resp, 200, json_pack("{s:s, s:s}", "config", name, "code", code));
        free(code);
}

/* PUT /api/configs/NAME (a configuration as JSON) */
static void h_config_put(struct sparkd *d, struct conn *c, const struct http_request *req,
                         json_t *body, const char *name, struct api_response *resp) {
        (void)c;
        (void)req;
        json_t *bname = json_object_get(body, "name");
        if (bname && (!json_is_string(bname) || strcmp(json_string_value(bname), name))) {
                api_fail(resp, 400, "invalid_config", "'name' in the body must match the URL");
                return;
        }
        if (!d->opts.user_config_dir) {
                api_fail(resp, 403, "no_user_configs", "user configurations are disabled");
                return;
        }
        json_t *doc = NULL;
        char *err = NULL;
        if (cfg_validate_json(body, &doc, &err) < 0) {
                api_fail(resp, 400, "invalid_config", "%s", err ? err : "invalid configuration");
                free(err);
                return;
        }
        int r = cfg_write_user(d->opts.user_config_dir, name, doc, d->cfgs, &err);
        json_decref(doc);
        if (r < 0) {
                api_fail(resp, r == -EPERM ? 403 : 500, r == -EPERM ? "config_locked" : "write_failed", "%s",
                         err ? err : strerror(-r));
                free(err);
                return;
        }
        sparkd_reload(d);
        const struct cfg_entry *e = cfg_find(d->cfgs, name);
        if (e && e->error) {
                api_fail(resp, 400, "invalid_config", "%s", e->error);
                return;
        }
        api_ok(resp, 200, e ? json_deep_copy(e->doc) : json_object());
}

/* DELETE /api/configs/NAME (user configurations only) */
static void h_config_delete(struct sparkd *d, struct conn *c, const struct http_request *req,
                            json_t *body, const char *name, struct api_response *resp) {
        (void)c;
        (void)req, (void)body;
        const struct cfg_entry *e = find_or_404(d, name, resp);
        if (!e)
                return;
        if (e->source != CFG_USER || !d->opts.user_config_dir) {
                api_fail(resp, 403, "not_a_user_config",
                         "only your own configurations can be deleted; this one is the administrator's");
                return;
        }
        int r = cfg_delete_user(d->opts.user_config_dir, name);
        if (r < 0) {
                api_fail(resp, 500, "delete_failed", "%s", strerror(-r));
                return;
        }
        sparkd_reload(d);
        resp->status = 204;
        resp->body = NULL;
}

/* POST /api/select {"config": NAME, "overrides": {...}} */
static void h_select(struct sparkd *d, struct conn *c, const struct http_request *req,
                     json_t *body, const char *arg, struct api_response *resp) {
        (void)c;
        (void)req, (void)arg;
        const char *name = json_string_value(json_object_get(body, "config"));
        if (!name) {
                api_fail(resp, 400, "invalid_request", "'config' (a configuration name) is required");
                return;
        }
        if (!cfg_name_valid(name)) {
                api_fail(resp, 400, "invalid_name",
                         "configuration names are 1 to 64 characters of A-Z a-z 0-9 _ . -");
                return;
        }
        json_t *ov;
        if (body_overrides(body, &ov, resp) < 0)
                return;
        char *err = NULL;
        enum startup_fail f = startup_select(d, name, ov, &err);
        if (f != STARTUP_OK) {
                startup_fail_response(f, err, resp);
                return;
        }
        api_ok(resp, 200, json_pack("{s:s, s:o, s:s}", "config", name, "overrides",
                                    ov ? json_incref(ov) : json_object(), "path", d->startup_path));
}

/* GET /api/select → the remembered selection */
static void h_selection(struct sparkd *d, struct conn *c, const struct http_request *req,
                        json_t *body, const char *arg, struct api_response *resp) {
        (void)c;
        (void)req, (void)body, (void)arg;
        json_t *sel = startup_selection(d);
        if (!sel)
                sel = json_pack("{s:o, s:{}}", "config",
                                d->cfgs->default_name ? json_string(d->cfgs->default_name) : json_null(),
                                "overrides");
        if (sel)
                json_object_set_new(sel, "path", json_string(d->startup_path));
        api_ok(resp, 200, sel);
}

static const struct api_route routes[] = {
        {"GET", "/api/health", h_health, false, ARG_NONE},
        {"GET", "/api/configs", h_configs, false, ARG_NONE},
        {"GET", "/api/configs/*", h_config_get, false, ARG_NAME},
        {"PUT", "/api/configs/*", h_config_put, true, ARG_NAME},
        {"DELETE", "/api/configs/*", h_config_delete, false, ARG_NAME},
        {"POST", "/api/configs/*/render", h_config_render, true, ARG_NAME},
        {"GET", "/api/select", h_selection, false, ARG_NONE},
        {"POST", "/api/select", h_select, true, ARG_NONE},
        {"GET", "/api/sessions", h_session_get, false, ARG_NONE},
        {"POST", "/api/sessions", h_session_start, true, ARG_NONE},
        {"GET", "/api/sessions/*", h_session_get, false, ARG_KERNEL},
        {"DELETE", "/api/sessions/*", h_session_stop, false, ARG_KERNEL},
        {"POST", "/api/sessions/*/report", h_session_report, true, ARG_KERNEL},
        {"GET", "/api/sessions/*/progress", h_session_progress, false, ARG_KERNEL},
};

/* Matches path against pattern; stores the "*" segment (at most one) in
 * arg (argsz bytes).  Returns true on a match. */
static bool route_match(const char *pattern, const char *path, char *arg, size_t argsz) {
        while (*pattern && *path) {
                if (*pattern == '*') {
                        size_t n = strcspn(path, "/");
                        if (n == 0 || n >= argsz)
                                return false;
                        memcpy(arg, path, n);
                        arg[n] = '\0';
                        path += n;
                        pattern++;
                } else if (*pattern++ != *path++) {
                        return false;
                }
        }
        if (*path == '/' && path[1] == '\0')
                path++; /* a trailing slash is the same resource */
        return *pattern == '\0' && *path == '\0';
}

static bool is_mutating(const char *method) {
        return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

/* Whether a[0..n) equals b[0..n), in a time that depends on n only. */
static bool equal_ct(const char *a, const char *b, size_t n) {
        unsigned char x = 0;
        for (size_t i = 0; i < n; i++)
                x |= (unsigned char)(a[i] ^ b[i]);
        return x == 0;
}

/* Browser requests (they carry cookies) that change state must prove they
 * come from a Jupyter page: X-XSRFToken equal to the _xsrf cookie. */
static bool xsrf_ok(const struct http_request *req) {
        const char *cookie = http_header(req, "Cookie");
        if (!cookie)
                return true;
        char want[API_XSRF_MAX];
        const char *got = http_header(req, "X-XSRFToken");
        int n = http_cookie(cookie, "_xsrf", want, sizeof want);
        if (n <= 0 || !got || strlen(got) != (size_t)n)
                return false;
        return equal_ct(want, got, (size_t)n);
}

static bool is_json_type(const char *ctype) {
        if (!ctype)
                return false;
        size_t n = strcspn(ctype, ";");
        while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
                n--;
        return n == strlen("application/json") && !strncasecmp(ctype, "application/json", n);
}

/* Parses the body of a route that wants one; fills resp on error. */
static int route_body(const struct http_request *req, json_t **ret, struct api_response *resp) {
        if (req->body_len == 0) {
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }
        if (!is_json_type(http_header(req, "Content-Type"))) {
                api_fail(resp, 415, "unsupported_media_type", "the body must be application/json");
                return -EINVAL;
        }
        char err[256];
        if (api_parse_body(req->body, req->body_len, ret, err, sizeof err) < 0) {
                api_fail(resp, 400, "invalid_json", "%s", err);
                return -EINVAL;
        }
        return 0;
}

/* Runs the route; the checks shared by every route come first. */
static void route_run(struct sparkd *d, struct conn *c, const struct api_route *rt, const char *arg,
                      const struct http_request *req, struct api_response *resp) {
        if (rt->arg == ARG_NAME && !cfg_name_valid(arg)) {
                api_fail(resp, 400, "invalid_name",
                         "configuration names are 1 to 64 characters of A-Z a-z 0-9 _ . -");
                return;
        }
        if (rt->arg == ARG_KERNEL && !kernel_id_valid(arg)) {
                api_fail(resp, 400, "invalid_kernel_id", "a session id is its kernel's id (a UUID)");
                return;
        }
        if (is_mutating(req->method) && !xsrf_ok(req)) {
                api_fail(resp, 403, "xsrf", "the X-XSRFToken header is missing or does not match the _xsrf cookie");
                return;
        }
        if (is_mutating(req->method) && req->body_len && !is_json_type(http_header(req, "Content-Type"))) {
                api_fail(resp, 415, "unsupported_media_type", "the body must be application/json");
                return;
        }
        json_t *body = NULL;
        if (rt->wants_body && route_body(req, &body, resp) < 0)
                return;
        rt->fn(d, c, req, body, arg, resp);
        json_decref(body);
}

void api_handle(struct sparkd *d, struct conn *c, const struct http_request *req,
                struct api_response *resp) {
        memset(resp, 0, sizeof *resp);
        if (!strncmp(req->path, "/ui/", 4)) {
                ui_handle(d, c, req, resp);
                return;
        }
        char arg[CFG_NAME_MAX + 64];
        char allow[128] = "";
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
                arg[0] = '\0'; /* a route without "*" has no argument */
                if (!route_match(routes[i].pattern, req->path, arg, sizeof arg))
                        continue;
                if (!strcmp(routes[i].method, req->method)) {
                        route_run(d, c, &routes[i], arg, req, resp);
                        return;
                }
                if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow) {
                        if (*allow)
                                strcat(allow, ", ");
                        strcat(allow, routes[i].method);
                }
        }
        if (*allow) {
                api_fail(resp, 405, "method_not_allowed", "this method is not allowed here");
                snprintf(resp->extra_headers, sizeof resp->extra_headers, "Allow: %s\r\n", allow);
                return;
        }
        api_fail(resp, 404, "not_found", "no such endpoint");
}

void api_response_clear(struct api_response *resp) {
        json_decref(resp->body);
        free(resp->raw);
        resp->body = NULL;
        resp->raw = NULL;
}

char *api_serialize(const struct api_response *resp, bool keep_alive, size_t *ret_len) {
        char *text = resp->raw;
        if (!text && resp->body) {
                text = json_dumps(resp->body, JSON_COMPACT | JSON_ENSURE_ASCII);
                if (!text)
                        return NULL;
        }
        size_t len = text ? strlen(text) : 0;
        char *out = http_response(resp->status, text ? "application/json" : NULL,
                                  resp->extra_headers[0] ? resp->extra_headers : NULL,
                                  text ? text : "", len, keep_alive, ret_len);
        if (text != resp->raw)
                free(text);
        return out;
}
