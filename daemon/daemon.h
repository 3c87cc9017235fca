/* daemon.h — the daemon's state: struct sparkd owns every module's. */
#pragma once
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define SPARKD_MAX_CONFIG_DIRS 16

struct sparkd_opts {
        char *socket_path;
        char *config_dirs[SPARKD_MAX_CONFIG_DIRS]; /* admin dirs, in order */
        size_t n_config_dirs;
        char *user_config_dir;
        char *shipped_configs;  /* the shipped configurations: templates searched last */
        char *datadir_note;     /* why the data beside the binary is not used, or NULL */
        char *ipython_dir;
        char *state_dir;        /* keeps the user's last selection */
        char *public_prefix;    /* SPARKD_PUBLIC_PREFIX: where the browser reaches us */
        char *runtime_dir;      /* Jupyter's runtime dir: kernel-<id>.json files */
        double start_timeout;   /* seconds a session may take to become ready */
        char *spark_home;       /* for launched clusters; NULL: $SPARK_HOME or pyspark's */
        double idle_timeout;    /* seconds a connection may stay silent */
        double request_timeout; /* seconds from a request's first byte to its end */
        unsigned max_connections;
        double prewarm_idle;    /* seconds an untaken warm driver JVM is kept */
        unsigned prewarm_max;   /* warm driver JVMs at most; 0: no pre-warming */
        double prewarm_practice; /* seconds of practice jobs in a warm-up, at most; 0: none */
        bool verbose;
};

struct srv;
struct sessions;
struct prewarm;
struct api_waits;
struct ui_proxies;
struct progress;

/* The daemon: the one owner of every module's state.  Each module keeps
 * its own behind an opaque pointer here, set up by its init function and
 * freed by its free function, and every function that needs it takes the
 * daemon.  Process-wide by nature, and so module-level: the children and
 * their SIGCHLD (proc.c, cluster.c's list for the exit), the log, the
 * loaded libraries (dl.c), ZeroMQ's context (kernel.c) and the found
 * SPARK_HOME (sparkhome.c). */
struct sparkd {
        struct ev_loop *loop;
        struct sparkd_opts opts;
        struct cfg_set *cfgs;
        unsigned long cfg_generation; /* bumped by every reload */
        char *startup_path; /* IPYTHONDIR/profile_default/startup/99-sparkd.py */
        char *selection_path; /* state_dir/selection.json */
        unsigned long requests; /* served since start */
        struct srv *srv;              /* server.c: the listener and connections */
        struct sessions *sessions;    /* session.c */
        struct prewarm *prewarm;      /* prewarm.c: warm JVMs and Connect servers */
        struct api_waits *waits;      /* api_sessions.c: long polls */
        struct ui_proxies *ui;        /* ui.c: proxied Spark UI requests */
        struct progress *progress;    /* progress.c: live Spark job progress */
        /* called after every change of a session (set by api_sessions.c) */
        void (*sessions_changed)(struct sparkd *d);
};

/* (Re)loads every configuration; on success replaces d->cfgs and returns
 * 0 (bad files are entries with errors, not failures). */
int sparkd_reload(struct sparkd *d);
