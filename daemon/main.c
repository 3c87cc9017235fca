/* sparkd — the per-user Start Spark daemon.  Options, signals, the loop. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cluster.h"
#include "config.h"
#include "config_paths.h"
#include "daemon.h"
#include "fsutil.h"
#include "kernel.h"
#include "log.h"
#include "prewarm.h"
#include "progress.h"
#include "proc.h"
#include "sdnotify.h"
#include "server.h"
#include "session.h"
#include "sockpath.h"
#include "sparkhome.h"
#include "startup.h"
#include "tmpl.h"
#include "ui.h"
#include "util.h"

static const char usage_text[] =
        "Usage: sparkd [OPTION]...\n"
        "The per-user Start Spark daemon: serves the Start Spark API on a Unix socket and\n"
        "writes the selected Spark configuration into the IPython startup path.\n"
        "\n"
        "  -s, --socket PATH          listen on PATH            [SPARKD_SOCKET]\n"
        "                             (default $XDG_RUNTIME_DIR/sparkd/sparkd.sock, else\n"
        "                             /run/user/UID/sparkd/sparkd.sock when that is yours,\n"
        "                             else ~/.local/state/sparkd/run/sparkd.sock)\n"
        "  -c, --config-dir DIR       an administrator's configuration directory; repeat\n"
        "                             for more, earlier ones win  [SPARKD_CONFIG_DIRS, ':'-separated]\n"
        "                             (default /etc/sparkd/configs and the shipped ones,\n"
        "                             PREFIX/share/sparkd/configs beside PREFIX/bin/sparkd,\n"
        "                             else " SPARKD_DATADIR "/configs)\n"
        "  -u, --user-config-dir DIR  the user's own configurations [SPARKD_USER_CONFIG_DIR]\n"
        "                             (default $XDG_CONFIG_HOME/sparkd/configs); '' disables\n"
        "  -i, --ipython-dir DIR      IPython directory           [IPYTHONDIR] (default ~/.ipython)\n"
        "      --state-dir DIR        where the last selection is kept [SPARKD_STATE_DIR]\n"
        "                             (default $XDG_STATE_HOME/sparkd)\n"
        "      --public-prefix PATH   URL path at which browsers reach this daemon\n"
        "                             [SPARKD_PUBLIC_PREFIX] (set by the hub hook)\n"
        "      --runtime-dir DIR      Jupyter's runtime dir with the kernels' connection\n"
        "                             files [JUPYTER_RUNTIME_DIR]\n"
        "                             (default ~/.local/share/jupyter/runtime)\n"
        "      --start-timeout SECS   a Spark start may take this long (default 180)\n"
        "      --spark-home DIR       Spark for clusters the daemon launches [SPARK_HOME]\n"
        "                             (default: the pyspark package of python3 on PATH)\n"
        "      --idle-timeout SECS    drop connections silent this long (default 30)\n"
        "      --request-timeout SECS drop requests not received within (default 10)\n"
        "      --max-connections N    open connections at most (default 64)\n"
        "      --prewarm-max N        driver JVMs kept ready for `prewarm: true`\n"
        "                             configurations, at most (default 2; 0: none)\n"
        "                             [SPARKD_PREWARM_MAX]\n"
        "      --prewarm-idle SECS    stop a ready driver JVM not taken for this long\n"
        "                             (default 900)      [SPARKD_PREWARM_IDLE]\n"
        "      --prewarm-practice SECS\n"
        "                             small practice jobs a warm-up runs, for at most\n"
        "                             this long (default 10; 0: none; at most 120)\n"
        "                             [SPARKD_PREWARM_PRACTICE]\n"
        "      --check-config         load every configuration, print 'configuration OK'\n"
        "                             or each error as FILE:LINE:COL: message; exit 0 or 1\n"
        "                             (1 also when no configuration or no default is found)\n"
        "      --render-template FILE --context FILE.json\n"
        "                             render one template to standard output and exit\n"
        "  -v, --verbose              log every request                [SPARKD_VERBOSE=1]\n"
        "      --version              print the version and exit\n"
        "  -h, --help                 print this help and exit\n"
        "\n"
        "Environment: SPARKD_PROGRESS=0 turns live job progress off (no polls of Spark's\n"
        "status API while cells run).\n"
        "Signals: SIGHUP reloads the configurations; SIGTERM and SIGINT finish the requests\n"
        "in flight, remove the socket and exit 0.  See sparkd(8).\n";

enum { OPT_STATE = 256, OPT_PREFIX, OPT_RUNTIME, OPT_START_TIMEOUT, OPT_SPARK_HOME, OPT_IDLE, OPT_REQ, OPT_MAXC, OPT_CHECK, OPT_RENDER, OPT_CTX, OPT_VERSION, OPT_PREWARM_MAX, OPT_PREWARM_IDLE, OPT_PREWARM_PRACTICE };

struct cli {
        bool check_config;
        const char *render_template;
        const char *context;
};

/* Parses a positive number of seconds or fatalx. */
static double parse_seconds(const char *s, const char *what) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || *end || !(v > 0) || v > 86400)
                fatalx("%s: '%s' is not a number of seconds between 0 and 86400", what, s);
        return v;
}

static unsigned parse_count(const char *s, const char *what, unsigned max) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || v < 1 || v > max)
                fatalx("%s: '%s' is not a whole number from 1 to %u", what, s, max);
        return (unsigned)v;
}

/* --prewarm-practice: 0 to PREWARM_PRACTICE_LIMIT seconds, or fatalx. */
static double parse_practice(const char *s, const char *what) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || *end || end == s || !(v >= 0) || v > PREWARM_PRACTICE_LIMIT)
                fatalx("%s: '%s' is not a number of seconds from 0 to %.0f", what, s, PREWARM_PRACTICE_LIMIT);
        return v;
}

/* --prewarm-max: 0 to PREWARM_MAX_LIMIT, or fatalx. */
static unsigned parse_prewarm_max(const char *s, const char *what) {
        return strcmp(s, "0") ? parse_count(s, what, PREWARM_MAX_LIMIT) : 0;
}

static char *xstrdup(const char *s) {
        char *p = strdup(s);
        if (!p)
                fatalx("out of memory");
        return p;
}

/* strdupf that cannot fail (start-up only). */
__attribute__((format(printf, 1, 2))) static char *xstrdupf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *p = vstrdupf(fmt, ap);
        va_end(ap);
        if (!p)
                fatalx("out of memory");
        return p;
}

static void add_config_dir(struct sparkd_opts *o, const char *dir) {
        if (o->n_config_dirs == SPARKD_MAX_CONFIG_DIRS)
                fatalx("at most %d configuration directories", SPARKD_MAX_CONFIG_DIRS);
        o->config_dirs[o->n_config_dirs++] = xstrdup(dir);
}

/* $name if set and not empty, else NULL. */
static const char *env(const char *name) {
        const char *v = getenv(name);
        return v && *v ? v : NULL;
}

static const char *home_dir(void) {
        const char *h = env("HOME");
        if (!h)
                fatalx("HOME is not set; pass the directories explicitly");
        return h;
}

/* The shipped data: PREFIX/share/sparkd beside our own PREFIX/bin, else
 * the directory compiled in (config_paths.h).  When one beside us exists
 * but is not trusted, *ret_note says so. */
static char *find_datadir(char **ret_note) {
        char exe[PATH_MAX], dir[PATH_MAX], beside[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0)
                exe[n] = '\0';
        if (cfgpath_datadir(n > 0 ? exe : NULL, SPARKD_DATADIR, dir, sizeof dir) < 0)
                fatalx("the shipped data directory's path is too long");
        if (n > 0 && cfgpath_data_from_exe(exe, beside, sizeof beside) == 0 && strcmp(beside, dir) != 0 &&
            access(beside, F_OK) == 0)
                *ret_note = xstrdupf("%s beside this sparkd is not used: it and its configs/ must be "
                                     "directories owned by root or you and writable by no one else",
                                     beside);
        return xstrdup(dir);
}

/* Fills what options and the environment left unset with the defaults. */
static void opts_defaults(struct sparkd_opts *o) {
        char *datadir = find_datadir(&o->datadir_note);
        o->shipped_configs = xstrdupf("%s/configs", datadir);
        free(datadir);
        if (!o->socket_path && env("SPARKD_SOCKET"))
                o->socket_path = xstrdup(env("SPARKD_SOCKET"));
        if (!o->socket_path) {
                struct sockpath_env e;
                struct sockpath def;
                sockpath_env_get(&e);
                if (sockpath_default(&e, &def) < 0)
                        fatalx("$XDG_RUNTIME_DIR/sparkd/sparkd.sock is too long for a Unix socket; "
                               "pass --socket");
                o->socket_path = xstrdup(def.path);
        }
        if (o->n_config_dirs == 0 && env("SPARKD_CONFIG_DIRS")) {
                char *list = xstrdup(env("SPARKD_CONFIG_DIRS")), *save = NULL;
                for (char *t = strtok_r(list, ":", &save); t; t = strtok_r(NULL, ":", &save))
                        add_config_dir(o, t);
                free(list);
        }
        if (o->n_config_dirs == 0) {
                add_config_dir(o, "/etc/sparkd/configs");
                add_config_dir(o, o->shipped_configs);
        }
        if (!o->user_config_dir && getenv("SPARKD_USER_CONFIG_DIR"))
                o->user_config_dir = xstrdup(getenv("SPARKD_USER_CONFIG_DIR"));
        if (!o->user_config_dir)
                o->user_config_dir = env("XDG_CONFIG_HOME")
                                             ? xstrdupf("%s/sparkd/configs", env("XDG_CONFIG_HOME"))
                                             : xstrdupf("%s/.config/sparkd/configs", home_dir());
        if (!*o->user_config_dir) {
                free(o->user_config_dir);
                o->user_config_dir = NULL;
        }
        if (!o->ipython_dir)
                o->ipython_dir = env("IPYTHONDIR") ? xstrdup(env("IPYTHONDIR"))
                                                   : xstrdupf("%s/.ipython", home_dir());
        if (!o->state_dir && env("SPARKD_STATE_DIR"))
                o->state_dir = xstrdup(env("SPARKD_STATE_DIR"));
        if (!o->state_dir)
                o->state_dir = env("XDG_STATE_HOME") ? xstrdupf("%s/sparkd", env("XDG_STATE_HOME"))
                                                     : xstrdupf("%s/.local/state/sparkd", home_dir());
        if (!o->public_prefix && env("SPARKD_PUBLIC_PREFIX"))
                o->public_prefix = xstrdup(env("SPARKD_PUBLIC_PREFIX"));
        if (o->public_prefix) {
                size_t n = strlen(o->public_prefix);
                while (n > 0 && o->public_prefix[n - 1] == '/')
                        o->public_prefix[--n] = '\0';
                if (n > 0 && o->public_prefix[0] != '/')
                        fatalx("--public-prefix must be a URL path starting with '/': %s", o->public_prefix);
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)o->public_prefix[i] <= ' ' || o->public_prefix[i] == 0x7f)
                                fatalx("--public-prefix must not contain spaces or control characters");
        }
        if (!o->runtime_dir)
                o->runtime_dir = env("JUPYTER_RUNTIME_DIR")
                                         ? xstrdup(env("JUPYTER_RUNTIME_DIR"))
                                         : xstrdupf("%s/.local/share/jupyter/runtime", home_dir());
        if (env("SPARKD_VERBOSE") && strcmp(env("SPARKD_VERBOSE"), "0"))
                o->verbose = true;
        if (o->prewarm_max == UINT_MAX)
                o->prewarm_max = env("SPARKD_PREWARM_MAX") ? parse_prewarm_max(env("SPARKD_PREWARM_MAX"),
                                                                               "SPARKD_PREWARM_MAX")
                                                           : PREWARM_MAX_DEFAULT;
        if (o->prewarm_idle < 0)
                o->prewarm_idle = env("SPARKD_PREWARM_IDLE") ? parse_seconds(env("SPARKD_PREWARM_IDLE"),
                                                                             "SPARKD_PREWARM_IDLE")
                                                             : PREWARM_IDLE_DEFAULT;
        if (o->prewarm_practice < 0)
                o->prewarm_practice = env("SPARKD_PREWARM_PRACTICE")
                                              ? parse_practice(env("SPARKD_PREWARM_PRACTICE"), "SPARKD_PREWARM_PRACTICE")
                                              : PREWARM_PRACTICE_DEFAULT;
}

static void parse_args(int argc, char **argv, struct sparkd_opts *o, struct cli *cli) {
        static const struct option longopts[] = {
                {"socket", required_argument, NULL, 's'},
                {"config-dir", required_argument, NULL, 'c'},
                {"user-config-dir", required_argument, NULL, 'u'},
                {"ipython-dir", required_argument, NULL, 'i'},
                {"state-dir", required_argument, NULL, OPT_STATE},
                {"public-prefix", required_argument, NULL, OPT_PREFIX},
                {"runtime-dir", required_argument, NULL, OPT_RUNTIME},
                {"start-timeout", required_argument, NULL, OPT_START_TIMEOUT},
                {"spark-home", required_argument, NULL, OPT_SPARK_HOME},
                {"idle-timeout", required_argument, NULL, OPT_IDLE},
                {"request-timeout", required_argument, NULL, OPT_REQ},
                {"max-connections", required_argument, NULL, OPT_MAXC},
                {"prewarm-max", required_argument, NULL, OPT_PREWARM_MAX},
                {"prewarm-idle", required_argument, NULL, OPT_PREWARM_IDLE},
                {"prewarm-practice", required_argument, NULL, OPT_PREWARM_PRACTICE},
                {"check-config", no_argument, NULL, OPT_CHECK},
                {"render-template", required_argument, NULL, OPT_RENDER},
                {"context", required_argument, NULL, OPT_CTX},
                {"verbose", no_argument, NULL, 'v'},
                {"version", no_argument, NULL, OPT_VERSION},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        o->idle_timeout = 30;
        o->request_timeout = 10;
        o->max_connections = 64;
        o->start_timeout = 180;
        o->prewarm_max = UINT_MAX; /* unset: the environment or the default */
        o->prewarm_idle = -1;
        o->prewarm_practice = -1;
        int ch;
        while ((ch = getopt_long(argc, argv, "s:c:u:i:vh", longopts, NULL)) != -1) {
                switch (ch) {
                case 's': o->socket_path = xstrdup(optarg); break;
                case 'c': add_config_dir(o, optarg); break;
                case 'u': o->user_config_dir = xstrdup(optarg); break;
                case 'i': o->ipython_dir = xstrdup(optarg); break;
                case OPT_STATE: o->state_dir = xstrdup(optarg); break;
                case OPT_PREFIX: o->public_prefix = xstrdup(optarg); break;
                case OPT_RUNTIME: o->runtime_dir = xstrdup(optarg); break;
                case OPT_SPARK_HOME: o->spark_home = xstrdup(optarg); break;
                case OPT_START_TIMEOUT: o->start_timeout = parse_seconds(optarg, "--start-timeout"); break;
                case OPT_IDLE: o->idle_timeout = parse_seconds(optarg, "--idle-timeout"); break;
                case OPT_REQ: o->request_timeout = parse_seconds(optarg, "--request-timeout"); break;
                case OPT_MAXC: o->max_connections = parse_count(optarg, "--max-connections", 4096); break;
                case OPT_PREWARM_MAX: o->prewarm_max = parse_prewarm_max(optarg, "--prewarm-max"); break;
                case OPT_PREWARM_IDLE: o->prewarm_idle = parse_seconds(optarg, "--prewarm-idle"); break;
                case OPT_PREWARM_PRACTICE:
                        o->prewarm_practice = parse_practice(optarg, "--prewarm-practice");
                        break;
                case OPT_CHECK: cli->check_config = true; break;
                case OPT_RENDER: cli->render_template = optarg; break;
                case OPT_CTX: cli->context = optarg; break;
                case 'v': o->verbose = true; break;
                case OPT_VERSION: printf("sparkd %s\n", SPARKD_VERSION); exit(0);
                case 'h': fputs(usage_text, stdout); exit(0);
                default: fputs("Try 'sparkd --help'.\n", stderr); exit(2);
                }
        }
        if (optind < argc) {
                fprintf(stderr, "sparkd: unexpected argument '%s'\nTry 'sparkd --help'.\n", argv[optind]);
                exit(2);
        }
        if (!cli->render_template != !cli->context) {
                fputs("sparkd: --render-template and --context go together\n", stderr);
                exit(2);
        }
}

/* --render-template FILE --context FILE.json: exit 0 with the output on
 * stdout, or 1 with FILE:LINE:COL: message on stderr. */
static int render_one(const char *file, const char *ctxfile) {
        char *src = NULL;
        size_t len = 0;
        int r = read_file(file, TMPL_MAX_SOURCE, &src, &len);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", file,
                        r == -EFBIG ? "template larger than the limit" : strerror(-r));
                return 1;
        }
        json_error_t jerr;
        json_t *ctx = json_load_file(ctxfile, JSON_REJECT_DUPLICATES, &jerr);
        if (!ctx || !json_is_object(ctx)) {
                fprintf(stderr, "%s:%d:%d: %s\n", ctxfile, ctx ? 1 : jerr.line, ctx ? 1 : jerr.column,
                        ctx ? "the context must be a JSON object" : jerr.text);
                json_decref(ctx);
                free(src);
                return 1;
        }
        tmpl *t = NULL;
        struct tmpl_err terr = {0};
        char *out = NULL;
        size_t out_len = 0;
        r = tmpl_compile(src, len, &t, &terr);
        if (r >= 0)
                r = tmpl_render(t, ctx, &out, &out_len, &terr);
        if (r < 0)
                fprintf(stderr, "%s:%d:%d: %s\n", file, terr.line, terr.col, terr.msg);
        else
                fwrite(out, 1, out_len, stdout);
        free(out);
        tmpl_free(t);
        json_decref(ctx);
        free(src);
        return r < 0 ? 1 : 0;
}

/* "A, B and C (yours)": the directories configurations were looked for in. */
static char *dirs_looked_in(const struct sparkd_opts *o) {
        char *s = xstrdup("");
        for (size_t i = 0; i < o->n_config_dirs; i++) {
                char *t = xstrdupf("%s%s%s", s, i ? ", " : "", o->config_dirs[i]);
                free(s);
                s = t;
        }
        if (o->user_config_dir) {
                char *t = xstrdupf("%s%s%s (yours)", s, o->n_config_dirs ? " and " : "", o->user_config_dir);
                free(s);
                s = t;
        }
        return s;
}

/* Why the loaded set cannot serve anyone (no configuration, no default),
 * as a malloc'd sentence naming where it looked; NULL when it can. */
static char *set_problem(const struct sparkd *d) {
        if (d->cfgs->n && d->cfgs->default_name)
                return NULL;
        char *where = dirs_looked_in(&d->opts), *m;
        if (d->cfgs->n == 0)
                m = xstrdupf("no configuration found (looked in %s)", where);
        else
                m = xstrdupf("no default configuration: none of the %zu found says `default: true` "
                             "(looked in %s)", d->cfgs->n, where);
        free(where);
        if (d->opts.datadir_note) {
                char *t = xstrdupf("%s; %s", m, d->opts.datadir_note);
                free(m);
                m = t;
        }
        return m;
}

/* --check-config (also what `sparkctl check` runs) */
static int check_config(struct sparkd *d) {
        if (sparkd_reload(d) < 0) {
                fputs("sparkd: out of memory\n", stderr);
                return 1;
        }
        for (size_t i = 0; i < d->cfgs->n_diags; i++)
                printf("%s\n", d->cfgs->diags[i]);
        char *problem = set_problem(d);
        if (problem)
                printf("%s\n", problem);
        free(problem);
        if (d->cfgs->n_diags || problem)
                return 1;
        for (size_t i = 0; i < d->cfgs->n; i++) {
                char *w = cfg_security_warning(&d->cfgs->entries[i]);
                if (w)
                        printf("warning: %s\n", w);
                free(w);
        }
        printf("configuration OK (%zu configurations, default: %s)\n", d->cfgs->n,
               d->cfgs->default_name ? d->cfgs->default_name : "none");
        return 0;
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents) {
        (void)loop, (void)revents;
        struct sparkd *d = w->data;
        log_info("signal %d: stopping", w->signum);
        sdn_notify("STOPPING=1");
        api_waits_shutdown(d);
        progress_free_all(d); /* no more polls: Spark goes away */
        session_shutdown(d);
        prewarm_stop_all(d);
        srv_shutdown(d);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents) {
        (void)loop, (void)revents;
        struct sparkd *d = w->data;
        sdn_notify("RELOADING=1");
        if (sparkd_reload(d) < 0)
                log_warnx("reload failed: out of memory; keeping the old configurations");
        else
                log_info("reloaded: %zu configurations, %zu problem(s)", d->cfgs->n, d->cfgs->n_diags);
        for (size_t i = 0; i < d->cfgs->n_diags; i++)
                log_warnx("%s", d->cfgs->diags[i]);
        prewarm_refresh(d);
        sdn_notify("READY=1");
}

static void opts_free(struct sparkd_opts *o) {
        free(o->socket_path);
        for (size_t i = 0; i < o->n_config_dirs; i++)
                free(o->config_dirs[i]);
        free(o->user_config_dir);
        free(o->ipython_dir);
        free(o->state_dir);
        free(o->public_prefix);
        free(o->runtime_dir);
        free(o->spark_home);
        free(o->shipped_configs);
        free(o->datadir_note);
}

/* Frees what the modules keep in d (each accepts never having started). */
static void modules_free(struct sparkd *d) {
        srv_free(d);
        ui_free_all(d);
        progress_free_all(d);
        api_waits_free(d);
        sessions_free(d);
        prewarm_free(d);
}

static int run(struct sparkd *d) {
        if (sparkd_reload(d) < 0)
                fatalx("out of memory loading configurations");
        for (size_t i = 0; i < d->cfgs->n_diags; i++)
                log_warnx("%s", d->cfgs->diags[i]);
        for (size_t i = 0; i < d->cfgs->n; i++) {
                char *w = cfg_security_warning(&d->cfgs->entries[i]);
                if (w)
                        log_warnx("%s", w);
                free(w);
        }
        log_info("%zu configurations loaded (default: %s)", d->cfgs->n,
                 d->cfgs->default_name ? d->cfgs->default_name : "none");
        char *problem = set_problem(d);
        if (problem)
                log_warnx("%s", problem);
        free(problem);
        if (sessions_init(d) < 0 || prewarm_init(d) < 0 || api_waits_init(d) < 0 || ui_init(d) < 0 ||
            progress_init(d) < 0)
                fatalx("out of memory");
        if (srv_listen(d) < 0) {
                modules_free(d);
                return 1;
        }
        int r = kernel_global_init();
        if (r < 0)
                fatalx("cannot initialise ZeroMQ: %s", strerror(-r));
        startup_initial(d);
        ev_signal sterm, sint, shup;
        ev_signal_init(&sterm, on_stop, SIGTERM);
        ev_signal_init(&sint, on_stop, SIGINT);
        ev_signal_init(&shup, on_hup, SIGHUP);
        sterm.data = sint.data = shup.data = d;
        ev_signal_start(d->loop, &sterm);
        ev_signal_start(d->loop, &sint);
        ev_signal_start(d->loop, &shup);
        srv_start(d);
        sdn_notify("READY=1\nSTATUS=serving");
        prewarm_refresh(d);
        ev_run(d->loop, 0);
        modules_free(d);
        cluster_stop_all_sync(5.0);
        sparkhome_reset();
        proc_stop_all_sync(5.0);
        kernel_global_free();
        ev_signal_stop(d->loop, &sterm);
        ev_signal_stop(d->loop, &sint);
        ev_signal_stop(d->loop, &shup);
        log_info("stopped after %lu requests", d->requests);
        return 0;
}

int main(int argc, char **argv) {
        struct sparkd d = {0};
        struct cli cli = {0};
        parse_args(argc, argv, &d.opts, &cli);
        if (cli.render_template)
                return render_one(cli.render_template, cli.context);
        opts_defaults(&d.opts);
        log_init(d.opts.verbose);
        signal(SIGPIPE, SIG_IGN);
        d.startup_path = xstrdupf("%s/profile_default/startup/%s", d.opts.ipython_dir, STARTUP_FILE_NAME);
        d.selection_path = xstrdupf("%s/selection.json", d.opts.state_dir);
        int rc;
        if (cli.check_config) {
                rc = check_config(&d);
        } else {
                d.loop = ev_default_loop(EVFLAG_AUTO);
                if (!d.loop)
                        fatalx("cannot initialise the event loop");
                rc = run(&d);
                ev_loop_destroy(d.loop);
        }
        cfg_set_free(d.cfgs);
        free(d.startup_path);
        free(d.selection_path);
        opts_free(&d.opts);
        return rc;
}
