/* daemon.h — the daemon's state, shared by main.c, server.c and api.c. */
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
        bool verbose;
};

struct sparkd {
        struct ev_loop *loop;
        struct sparkd_opts opts;
        struct cfg_set *cfgs;
        unsigned long cfg_generation; /* bumped by every reload */
        char *startup_path; /* IPYTHONDIR/profile_default/startup/99-sparkd.py */
        char *selection_path; /* state_dir/selection.json */
        unsigned long requests; /* served since start */
};

/* (Re)loads every configuration; on success replaces d->cfgs and returns
 * 0 (bad files are entries with errors, not failures). */
int sparkd_reload(struct sparkd *d);
