/* sparkctl — Start Spark from a terminal or a script: talks to the user's
 * sparkd over its Unix socket (see sparkctl(1) and docs/api.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockpath.h"
#include "uhttp.h"

#define PROG "sparkctl"
#define MAX_CONFIG_DIRS 16
#define POLL_SECONDS 30

static const char usage_text[] =
        "Usage: sparkctl [OPTION]... COMMAND [ARG]...\n"
        "Manage Start Spark from a terminal: talks to your sparkd over its socket.\n"
        "\n"
        "Commands:\n"
        "  configs                          list the configurations you can pick\n"
        "  status [KERNEL_ID]               the daemon and every session, or one session\n"
        "  start CONFIG --kernel KERNEL_ID  start Spark in that kernel\n"
        "        [--set KEY=VALUE]... [--restart] [--wait]\n"
        "  stop KERNEL_ID [--wait]          stop Spark in that kernel (the kernel keeps running)\n"
        "  logs KERNEL_ID                   the session's last log lines\n"
        "  check [--config-dir DIR]...      validate the configuration files (runs\n"
        "                                   'sparkd --check-config'; no daemon needed)\n"
        "\n"
        "Options:\n"
        "  -s, --socket PATH     the daemon's socket [SPARKD_SOCKET] (default: the first that\n"
        "                        exists of $XDG_RUNTIME_DIR/sparkd/sparkd.sock,\n"
        "                        /run/user/UID/sparkd/sparkd.sock and\n"
        "                        ${XDG_STATE_HOME:-~/.local/state}/sparkd/run/sparkd.sock)\n"
        "  -j, --json            print the daemon's JSON instead of tables\n"
        "  -k, --kernel ID       the kernel for 'start'\n"
        "      --set KEY=VALUE   an override for 'start' (whole numbers are sent as numbers)\n"
        "      --restart         'start': replace a session the kernel already has\n"
        "  -w, --wait            'start'/'stop': wait until the session settles\n"
        "      --timeout SECS    how long to wait for the daemon (default 30; with --wait 300)\n"
        "      --sparkd PATH     the daemon binary for 'check' [SPARKD_BIN] (default: the\n"
        "                        sparkd beside this sparkctl, else sparkd on PATH)\n"
        "  -c, --config-dir DIR  an administrator's configuration directory for 'check'\n"
        "  -h, --help            print this help and exit\n"
        "      --version         print the version and exit\n"
        "\n"
        "Exit status: 0 on success, 1 on failure (with the daemon's message), 2 on bad usage.\n";

struct ctl {
        char socket[UHTTP_MAX_PATH];
        const char *socket_via; /* where a default socket came from; NULL for --socket */
        bool json;
        bool restart;
        bool wait;
        const char *kernel;
        const char *sparkd;
        char sparkd_found[4096]; /* where 'check' found sparkd */
        json_t *overrides;
        const char *config_dirs[MAX_CONFIG_DIRS];
        size_t n_config_dirs;
        double timeout; /* seconds, 0 = default */
        char **args;    /* positional: COMMAND [ARG]... */
        int n_args;
};

static void usage_error(const char *fmt, const char *arg) {
        fputs(PROG ": ", stderr);
        fprintf(stderr, fmt, arg);
        fputs("\nTry 'sparkctl --help'.\n", stderr);
        exit(2);
}

static void die_oom(void) {
        fputs(PROG ": out of memory\n", stderr);
        exit(1);
}

/* --set KEY=VALUE: whole numbers become JSON integers, the rest strings. */
static void add_override(struct ctl *c, const char *kv) {
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
                usage_error("--set wants KEY=VALUE, not '%s'", kv);
        char *key = strndup(kv, (size_t)(eq - kv));
        if (!key)
                die_oom();
        const char *val = eq + 1;
        char *end;
        errno = 0;
        long long n = strtoll(val, &end, 10);
        json_t *v = (*val && !*end && !errno) ? json_integer(n) : json_string(val);
        if (!v || json_object_set_new(c->overrides, key, v) < 0)
                usage_error("--set: the value of '%s' is not valid UTF-8", key);
        free(key);
}

static double parse_timeout(const char *s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !(v > 0) || v > 86400)
                usage_error("--timeout: '%s' is not a number of seconds from 0 to 86400", s);
        return v;
}

/* Without --socket: the first place of the default chain where a socket
 * (or anything) exists, else the default itself.  A terminal may have
 * XDG_RUNTIME_DIR when the daemon, started by the hub, did not. */
static int find_socket(struct ctl *c) {
        struct sockpath_env e;
        struct sockpath all[SOCKPATH_CANDIDATES];
        sockpath_env_get(&e);
        int n = sockpath_candidates(&e, all), pick = 0;
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                struct stat st;
                if (lstat(all[i].path, &st) == 0) {
                        pick = i;
                        break;
                }
        }
        _Static_assert(sizeof all[0].path <= sizeof c->socket,
                       "a default path fits --socket's buffer");
        strcpy(c->socket, all[pick].path);
        c->socket_via = sockpath_source_name(all[pick].source);
        return 0;
}

static void parse_args(int argc, char **argv, struct ctl *c) {
        enum { OPT_SET = 256, OPT_RESTART, OPT_TIMEOUT, OPT_SPARKD, OPT_VERSION };
        static const struct option longopts[] = {
                {"socket", required_argument, NULL, 's'},
                {"json", no_argument, NULL, 'j'},
                {"kernel", required_argument, NULL, 'k'},
                {"set", required_argument, NULL, OPT_SET},
                {"restart", no_argument, NULL, OPT_RESTART},
                {"wait", no_argument, NULL, 'w'},
                {"timeout", required_argument, NULL, OPT_TIMEOUT},
                {"sparkd", required_argument, NULL, OPT_SPARKD},
                {"config-dir", required_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {0},
        };
        const char *socket = NULL;
        int ch;
        while ((ch = getopt_long(argc, argv, "s:jk:wc:h", longopts, NULL)) != -1) {
                switch (ch) {
                case 's': socket = optarg; break;
                case 'j': c->json = true; break;
                case 'k': c->kernel = optarg; break;
                case OPT_SET: add_override(c, optarg); break;
                case OPT_RESTART: c->restart = true; break;
                case 'w': c->wait = true; break;
                case OPT_TIMEOUT: c->timeout = parse_timeout(optarg); break;
                case OPT_SPARKD: c->sparkd = optarg; break;
                case 'c':
                        if (c->n_config_dirs == MAX_CONFIG_DIRS)
                                usage_error("at most %s configuration directories", "16");
                        c->config_dirs[c->n_config_dirs++] = optarg;
                        break;
                case 'h': fputs(usage_text, stdout); exit(0);
                case OPT_VERSION: printf("sparkctl %s\n", SPARKD_VERSION); exit(0);
                default: fputs("Try 'sparkctl --help'.\n", stderr); exit(2);
                }
        }
        c->args = argv + optind;
        c->n_args = argc - optind;
        if (socket) {
                if (strlen(socket) >= sizeof c->socket)
                        usage_error("--socket: '%s' is too long for a Unix socket", socket);
                strcpy(c->socket, socket);
        } else if (find_socket(c) < 0) {
                usage_error("%s", "the default socket path is too long; pass --socket");
        }
}

/* ---- talking to the daemon ------------------------------------------- */

/* Appends s to out percent-encoded, so an argument stays one path segment. */
static void path_escape(char *out, size_t n, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        size_t o = strlen(out);
        for (; *s && o + 4 < n; s++) {
                unsigned char ch = (unsigned char)*s;
                bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                             (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
                if (plain) {
                        out[o++] = (char)ch;
                } else {
                        out[o++] = '%';
                        out[o++] = hex[ch >> 4];
                        out[o++] = hex[ch & 15];
                }
        }
        out[o] = '\0';
}

/* Prints the daemon's error message (or what went wrong) on stderr. */
static void print_http_error(const struct uhttp_response *r) {
        json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
        const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
        const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
        if (msg)
                fprintf(stderr, PROG ": %s (%s, HTTP %d)\n", msg, code ? code : "error", r->status);
        else
                fprintf(stderr, PROG ": sparkd answered HTTP %d\n", r->status);
        json_decref(doc);
}

static void print_connect_error(const struct ctl *c, int r, const struct uhttp_refusal *refusal) {
        const char *hint = (r == -ENOENT || r == -ECONNREFUSED) ? " (is sparkd running?)" : "";
        char msg[1024];
        if (r == -EPERM) {
                uhttp_refusal_message(refusal, c->socket, msg, sizeof msg);
                fprintf(stderr, PROG ": %s\n", msg);
        } else if (r == -EPROTO)
                fprintf(stderr, PROG ": %s did not answer HTTP\n", c->socket);
        else if (r == -EACCES)
                fprintf(stderr, PROG ": cannot reach sparkd at %s: %s (it is another user's)\n",
                        c->socket, strerror(-r));
        else
                fprintf(stderr, PROG ": cannot reach sparkd at %s: %s%s\n", c->socket, strerror(-r), hint);
}

/* One request.  On a 2xx answer returns 0 and its JSON (NULL for no body)
 * in *ret; otherwise prints why on stderr and returns -1. */
static int call(const struct ctl *c, const char *method, const char *path, json_t *body, double timeout,
                json_t **ret) {
        char *text = NULL;
        if (body && !(text = json_dumps(body, JSON_COMPACT)))
                die_oom();
        struct uhttp_response r = {0};
        struct uhttp_refusal refusal;
        int e = uhttp_request(c->socket, method, path, text, (int)(timeout * 1000), &r, &refusal);
        free(text);
        if (e < 0) {
                print_connect_error(c, e, &refusal);
                return -1;
        }
        if (r.status < 200 || r.status > 299) {
                print_http_error(&r);
                uhttp_response_free(&r);
                return -1;
        }
        json_t *doc = NULL;
        if (r.body_len) {
                json_error_t err;
                doc = json_loadb(r.body, r.body_len, 0, &err);
                if (!doc) {
                        fprintf(stderr, PROG ": sparkd sent invalid JSON: %s\n", err.text);
                        uhttp_response_free(&r);
                        return -1;
                }
        }
        uhttp_response_free(&r);
        *ret = doc;
        return 0;
}

static double request_timeout(const struct ctl *c) {
        return c->timeout > 0 && !c->wait ? c->timeout : 30;
}

/* ---- output ------------------------------------------------------------ */

static void print_json(json_t *doc) {
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
                die_oom();
        puts(s);
        free(s);
}

/* A JSON scalar as short text: strings as they are, null as "-". */
static const char *scalar(json_t *v, char *buf, size_t n) {
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v))
                snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
                snprintf(buf, n, "%g", json_real_value(v));
        else if (json_is_boolean(v))
                snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
        else
                snprintf(buf, n, "-");
        return buf;
}

#define MAX_COLS 8

struct table {
        const char *head[MAX_COLS];
        size_t ncols;
        size_t width[MAX_COLS];
        json_t *rows; /* array of arrays of strings */
};

static void table_add(struct table *t, const char *cells[]) {
        json_t *row = json_array();
        if (!row)
                die_oom();
        for (size_t i = 0; i < t->ncols; i++) {
                const char *s = cells[i] ? cells[i] : "-";
                json_array_append_new(row, json_string(s));
                size_t w = strlen(s);
                if (w > t->width[i])
                        t->width[i] = w;
        }
        json_array_append_new(t->rows, row);
}

static void table_cell(const struct table *t, size_t i, const char *s) {
        if (i + 1 < t->ncols)
                printf("%-*s  ", (int)t->width[i], s);
        else
                printf("%s\n", s);
}

/* Prints the table with aligned columns (the last one unpadded). */
static void table_print(struct table *t) {
        for (size_t i = 0; i < t->ncols; i++)
                if (strlen(t->head[i]) > t->width[i])
                        t->width[i] = strlen(t->head[i]);
        for (size_t i = 0; i < t->ncols; i++)
                table_cell(t, i, t->head[i]);
        size_t r;
        json_t *row;
        json_array_foreach(t->rows, r, row) {
                for (size_t i = 0; i < t->ncols; i++) {
                        const char *s = json_string_value(json_array_get(row, i));
                        table_cell(t, i, s ? s : "?");
                }
        }
}

/* ---- commands ------------------------------------------------------------ */

static int cmd_configs(struct ctl *c) {
        json_t *doc;
        if (call(c, "GET", "/api/configs", NULL, request_timeout(c), &doc) < 0)
                return 1;
        if (c->json) {
                print_json(doc);
                json_decref(doc);
                return 0;
        }
        struct table t = {.head = {"NAME", "SOURCE", "MASTER", "CORES", "MEMORY", "NOTE"}, .ncols = 6};
        if (!(t.rows = json_array()))
                die_oom();
        size_t i;
        json_t *cfg;
        json_array_foreach(json_object_get(doc, "configs"), i, cfg) {
                json_t *sum = json_object_get(cfg, "summary");
                char b1[32], b2[32], b3[32], note[512] = "";
                const char *err = json_string_value(json_object_get(cfg, "error"));
                if (err)
                        snprintf(note, sizeof note, "error: %s", err);
                else
                        snprintf(note, sizeof note, "%s%s%s",
                                 json_is_true(json_object_get(cfg, "default")) ? "default" : "",
                                 json_is_true(json_object_get(cfg, "default")) &&
                                                 json_is_true(json_object_get(cfg, "locked"))
                                         ? ", "
                                         : "",
                                 json_is_true(json_object_get(cfg, "locked")) ? "locked" : "");
                const char *cells[] = {
                        json_string_value(json_object_get(cfg, "name")),
                        json_string_value(json_object_get(cfg, "source")),
                        scalar(json_object_get(sum, "master"), b1, sizeof b1),
                        scalar(json_object_get(sum, "cores"), b2, sizeof b2),
                        scalar(json_object_get(sum, "memory"), b3, sizeof b3),
                        note,
                };
                table_add(&t, cells);
        }
        if (json_array_size(t.rows) == 0)
                puts("no configurations (run 'sparkctl check')");
        else
                table_print(&t);
        json_decref(t.rows);
        json_decref(doc);
        return 0;
}

/* Prints one session as "key  value" lines. */
static void print_session(json_t *s) {
        static const char *keys[] = {"kernel_id", "config", "state", "waiting_for", "master", "app_id",
                                     "spark_version", "cores", "memory", "ui_path"};
        char buf[64];
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
                json_t *v = json_object_get(s, keys[i]);
                if (v && !json_is_null(v))
                        printf("%-14s %s\n", keys[i], scalar(v, buf, sizeof buf));
        }
        json_t *ov = json_object_get(s, "overrides");
        if (json_object_size(ov)) {
                char *t = json_dumps(ov, JSON_COMPACT);
                printf("%-14s %s\n", "overrides", t ? t : "?");
                free(t);
        }
        json_t *err = json_object_get(s, "error");
        if (json_is_object(err)) {
                printf("%-14s %s\n", "error", json_string_value(json_object_get(err, "message")));
                const char *hint = json_string_value(json_object_get(err, "hint"));
                if (hint)
                        printf("%-14s %s\n", "hint", hint);
        }
}

static int session_path(char *out, size_t n, const char *id, const char *query) {
        snprintf(out, n, "/api/sessions/");
        path_escape(out, n, id);
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s", query ? query : "");
        return 0;
}

/* "pre-warming off: WHY", or "pre-warming (max N, idle S s): local driver
 * ready (pid P), ..." and a blank line; nothing for a daemon that does not
 * say. */
static void print_prewarm(json_t *pw) {
        if (!json_is_object(pw))
                return;
        char b1[32], b2[32];
        json_int_t max = json_integer_value(json_object_get(pw, "max"));
        json_t *jvms = json_object_get(pw, "jvms");
        const char *state = json_string_value(json_object_get(pw, "state"));
        const char *reason = json_string_value(json_object_get(pw, "reason"));
        if (state && !strcmp(state, "off")) {
                printf("pre-warming off: %s\n\n", reason ? reason : "no reason given");
                return;
        }
        if (max <= 0) { /* a daemon without "state" */
                puts("pre-warming: off\n");
                return;
        }
        printf("pre-warming (max %s, idle %s s):", scalar(json_object_get(pw, "max"), b1, sizeof b1),
               scalar(json_object_get(pw, "idle"), b2, sizeof b2));
        if (state && !strcmp(state, "checking")) {
                printf(" looking for PySpark with %s\n\n", json_string_value(json_object_get(pw, "python"))
                                                                ? json_string_value(json_object_get(pw, "python"))
                                                                : "python3");
                return;
        }
        if (json_array_size(jvms) == 0)
                fputs(" no configuration asks for it", stdout);
        size_t i;
        json_t *j;
        json_array_foreach(jvms, i, j) {
                char c1[64], c2[32], c3[32], c4[32];
                printf("%s %s %s %s", i ? "," : "", scalar(json_object_get(j, "config"), c1, sizeof c1),
                       scalar(json_object_get(j, "kind"), c2, sizeof c2),
                       scalar(json_object_get(j, "state"), c3, sizeof c3));
                if (json_is_integer(json_object_get(j, "pid")))
                        printf(" (pid %s)", scalar(json_object_get(j, "pid"), c4, sizeof c4));
        }
        puts("\n");
}

static int status_all(struct ctl *c) {
        json_t *health, *doc;
        if (call(c, "GET", "/api/health", NULL, request_timeout(c), &health) < 0)
                return 1;
        if (call(c, "GET", "/api/sessions", NULL, request_timeout(c), &doc) < 0) {
                json_decref(health);
                return 1;
        }
        if (c->json) {
                json_t *all = json_pack("{s:O,s:O}", "health", health, "sessions", json_object_get(doc, "sessions"));
                if (!all)
                        die_oom();
                print_json(all);
                json_decref(all);
        } else {
                char b[32];
                printf("sparkd %s on %s: %s, %s configuration(s)%s%s%s\n\n",
                       json_string_value(json_object_get(health, "version")), c->socket,
                       json_string_value(json_object_get(health, "status")),
                       scalar(json_object_get(health, "configs"), b, sizeof b),
                       c->socket_via ? " (socket via " : "", c->socket_via ? c->socket_via : "",
                       c->socket_via ? ")" : "");
                print_prewarm(json_object_get(health, "prewarm"));
                struct table t = {.head = {"KERNEL", "CONFIG", "STATE", "MASTER", "APP", "UI"}, .ncols = 6};
                if (!(t.rows = json_array()))
                        die_oom();
                size_t i;
                json_t *s;
                json_array_foreach(json_object_get(doc, "sessions"), i, s) {
                        char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
                        const char *cells[] = {
                                scalar(json_object_get(s, "kernel_id"), b1, sizeof b1),
                                scalar(json_object_get(s, "config"), b2, sizeof b2),
                                scalar(json_object_get(s, "state"), b3, sizeof b3),
                                scalar(json_object_get(s, "master"), b4, sizeof b4),
                                scalar(json_object_get(s, "app_id"), b5, sizeof b5),
                                scalar(json_object_get(s, "ui_path"), b6, sizeof b6),
                        };
                        table_add(&t, cells);
                }
                if (json_array_size(t.rows) == 0)
                        puts("no sessions");
                else
                        table_print(&t);
                json_decref(t.rows);
        }
        json_decref(health);
        json_decref(doc);
        return 0;
}

static int cmd_status(struct ctl *c) {
        if (c->n_args == 1)
                return status_all(c);
        char path[512];
        session_path(path, sizeof path, c->args[1], NULL);
        json_t *s;
        if (call(c, "GET", path, NULL, request_timeout(c), &s) < 0)
                return 1;
        if (c->json)
                print_json(s);
        else
                print_session(s);
        json_decref(s);
        return 0;
}

static bool settled(json_t *s, const char *const *states) {
        const char *st = json_string_value(json_object_get(s, "state"));
        for (; st && *states; states++)
                if (strcmp(st, *states) == 0)
                        return true;
        return false;
}

static long long now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

/* Long-polls the session until its state is one of states or the time
 * given by --timeout (default 300 s) runs out.  Takes s; returns the last
 * session in *ret, or -1 after printing why. */
static int wait_session(struct ctl *c, const char *id, json_t *s, const char *const *states, json_t **ret) {
        long long deadline = now_s() + (long long)(c->timeout > 0 ? c->timeout : 300);
        while (!settled(s, states)) {
                long long left = deadline - now_s();
                if (left <= 0) {
                        fprintf(stderr, PROG ": session %s still %s after the timeout\n", id,
                                json_string_value(json_object_get(s, "state")));
                        json_decref(s);
                        return -1;
                }
                char q[64], path[512];
                snprintf(q, sizeof q, "?wait=%lld&version=%" JSON_INTEGER_FORMAT,
                         left < POLL_SECONDS ? left : POLL_SECONDS,
                         json_integer_value(json_object_get(s, "version")));
                session_path(path, sizeof path, id, q);
                json_t *next;
                if (call(c, "GET", path, NULL, POLL_SECONDS + 10, &next) < 0) {
                        json_decref(s);
                        return -1;
                }
                json_decref(s);
                s = next;
        }
        *ret = s;
        return 0;
}

/* Prints a session after start/stop; 1 when it failed. */
static int report_session(struct ctl *c, json_t *s) {
        if (c->json)
                print_json(s);
        else
                print_session(s);
        int failed = settled(s, (const char *const[]){"failed", NULL});
        if (failed && !c->json) {
                json_t *err = json_object_get(s, "error");
                fprintf(stderr, PROG ": %s\n", json_string_value(json_object_get(err, "message"))
                                                       ? json_string_value(json_object_get(err, "message"))
                                                       : "the session failed");
        }
        json_decref(s);
        return failed;
}

static int cmd_start(struct ctl *c) {
        if (!c->kernel)
                usage_error("%s", "start needs --kernel KERNEL_ID");
        json_t *body = json_pack("{s:s,s:s,s:O,s:b}", "config", c->args[1], "kernel_id", c->kernel,
                                 "overrides", c->overrides, "restart", c->restart);
        if (!body)
                usage_error("%s", "the configuration name or kernel id is not valid UTF-8");
        json_t *s;
        int r = call(c, "POST", "/api/sessions", body, request_timeout(c), &s);
        json_decref(body);
        if (r < 0)
                return 1;
        if (c->wait && wait_session(c, c->kernel, s, (const char *const[]){"ready", "failed", "stopped", NULL},
                                    &s) < 0)
                return 1;
        return report_session(c, s);
}

static int cmd_stop(struct ctl *c) {
        char path[512];
        session_path(path, sizeof path, c->args[1], NULL);
        json_t *s;
        if (call(c, "DELETE", path, NULL, request_timeout(c), &s) < 0)
                return 1;
        if (c->wait &&
            wait_session(c, c->args[1], s, (const char *const[]){"stopped", "failed", NULL}, &s) < 0)
                return 1;
        return report_session(c, s);
}

static int cmd_logs(struct ctl *c) {
        char path[512];
        session_path(path, sizeof path, c->args[1], NULL);
        json_t *s;
        if (call(c, "GET", path, NULL, request_timeout(c), &s) < 0)
                return 1;
        json_t *tail = json_object_get(s, "log_tail");
        if (c->json) {
                print_json(tail ? tail : json_array());
        } else {
                size_t i;
                json_t *line;
                json_array_foreach(tail, i, line)
                        puts(json_string_value(line) ? json_string_value(line) : "");
        }
        json_decref(s);
        return 0;
}

/* Runs sparkd --check-config with stdout captured (at most 1 MiB).
 * Returns its exit status (-1 when it could not run) and the output. */
static int run_check(struct ctl *c, char **out) {
        const char *argv[4 + 2 * MAX_CONFIG_DIRS] = {c->sparkd, "--check-config"};
        size_t n = 2;
        for (size_t i = 0; i < c->n_config_dirs; i++) {
                argv[n++] = "--config-dir";
                argv[n++] = c->config_dirs[i];
        }
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -1;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(fds[1], 1);
                execv(c->sparkd, (char *const *)argv);
                fprintf(stderr, PROG ": cannot run %s: %s\n", c->sparkd, strerror(errno));
                _exit(127);
        }
        close(fds[1]);
        size_t len = 0, cap = 1 << 20;
        char *buf = malloc(cap + 1);
        if (!buf)
                die_oom();
        ssize_t r;
        while ((r = read(fds[0], buf + len, cap - len)) != 0) {
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 || (len += (size_t)r) == cap)
                        break;
        }
        buf[len] = '\0';
        close(fds[0]);
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) {
                free(buf);
                return -1;
        }
        *out = buf;
        return WEXITSTATUS(st);
}

/* The daemon for 'check': --sparkd, $SPARKD_BIN, the sparkd beside this
 * sparkctl (the one installed with it), else sparkd on PATH.  Returns 0,
 * or -1 after saying where it looked. */
static int find_sparkd(struct ctl *c) {
        const char *given = c->sparkd ? c->sparkd : getenv("SPARKD_BIN") && *getenv("SPARKD_BIN") ? getenv("SPARKD_BIN") : NULL;
        if (given && tool_which(given, getenv("PATH"), c->sparkd_found, sizeof c->sparkd_found) < 0)
                snprintf(c->sparkd_found, sizeof c->sparkd_found, "%s", given); /* run it: exec says why not */
        else if (!given && tool_beside_self("sparkd", c->sparkd_found, sizeof c->sparkd_found) < 0 &&
                 tool_which("sparkd", getenv("PATH"), c->sparkd_found, sizeof c->sparkd_found) < 0) {
                char exe[4096];
                ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
                exe[n > 0 ? n : 0] = '\0';
                char *slash = strrchr(exe, '/');
                if (slash)
                        *slash = '\0';
                fprintf(stderr, PROG ": cannot find sparkd: not beside sparkctl (%s/sparkd) and not on PATH; "
                                "pass --sparkd PATH or set SPARKD_BIN\n", exe);
                return -1;
        }
        c->sparkd = c->sparkd_found;
        return 0;
}

/* Validates the configuration files with the daemon's own loader: works
 * with no daemon running and sees what a reload would load. */
static int cmd_check(struct ctl *c) {
        if (find_sparkd(c) < 0)
                return 1;
        char *out = NULL;
        int st = run_check(c, &out);
        if (st < 0 || st == 127) {
                fprintf(stderr, PROG ": could not run '%s --check-config'\n", c->sparkd);
                free(out);
                return 1;
        }
        if (c->json) {
                json_t *errors = json_array(), *doc = json_pack("{s:b,s:o}", "ok", st == 0, "errors", errors);
                if (!doc)
                        die_oom();
                char *save = NULL;
                for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        if (st != 0)
                                json_array_append_new(errors, json_string(l));
                print_json(doc);
                json_decref(doc);
        } else {
                fputs(out, stdout);
        }
        free(out);
        return st == 0 ? 0 : 1;
}

struct command {
        const char *name;
        int (*run)(struct ctl *);
        int min_args, max_args; /* after the command's name */
        const char *usage;
};

static const struct command commands[] = {
        {"configs", cmd_configs, 0, 0, "configs"},
        {"status", cmd_status, 0, 1, "status [KERNEL_ID]"},
        {"start", cmd_start, 1, 1, "start CONFIG --kernel KERNEL_ID [--set KEY=VALUE]..."},
        {"stop", cmd_stop, 1, 1, "stop KERNEL_ID"},
        {"logs", cmd_logs, 1, 1, "logs KERNEL_ID"},
        {"check", cmd_check, 0, 0, "check [--config-dir DIR]..."},
};

int main(int argc, char **argv) {
        struct ctl c = {0};
        if (!(c.overrides = json_object()))
                die_oom();
        parse_args(argc, argv, &c);
        if (c.n_args == 0)
                usage_error("%s", "no command given (configs, status, start, stop, logs, check)");
        for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
                const struct command *cmd = &commands[i];
                if (strcmp(c.args[0], cmd->name) != 0)
                        continue;
                int n = c.n_args - 1;
                if (n < cmd->min_args || n > cmd->max_args)
                        usage_error("usage: sparkctl %s", cmd->usage);
                if ((c.kernel || json_object_size(c.overrides) || c.restart) && cmd->run != cmd_start)
                        usage_error("--kernel, --set and --restart go with 'start', not '%s'", cmd->name);
                if (c.wait && cmd->run != cmd_start && cmd->run != cmd_stop)
                        usage_error("--wait goes with 'start' and 'stop', not '%s'", cmd->name);
                if (c.n_config_dirs && cmd->run != cmd_check)
                        usage_error("--config-dir goes with 'check', not '%s'", cmd->name);
                int rc = cmd->run(&c);
                json_decref(c.overrides);
                return rc;
        }
        usage_error("unknown command '%s' (configs, status, start, stop, logs, check)", c.args[0]);
        return 2;
}
