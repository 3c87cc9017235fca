/* sockpath.c — the default socket path chain (see sockpath.h). */
#include "sockpath.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SOCKET_NAME "sparkd.sock"

/* v when it is set and not empty, else NULL. */
static const char *nonempty(const char *v) {
        return v && *v ? v : NULL;
}

/* v when it is an absolute path, else NULL (the XDG rule: a relative path
 * is ignored). */
static const char *absolute(const char *v) {
        return v && v[0] == '/' ? v : NULL;
}

void sockpath_env_get(struct sockpath_env *ret) {
        *ret = (struct sockpath_env){
                .sparkd_socket = getenv("SPARKD_SOCKET"),
                .xdg_runtime_dir = getenv("XDG_RUNTIME_DIR"),
                .xdg_state_home = getenv("XDG_STATE_HOME"),
                .home = getenv("HOME"),
                .run_user = "/run/user",
                .uid = getuid(),
        };
}

/* dir + tail into c->path; false when it does not fit a socket address. */
static bool join(struct sockpath *c, enum sockpath_source source, const char *dir,
                 const char *tail) {
        int n = snprintf(c->path, sizeof c->path, "%s%s", dir, tail);
        c->source = source;
        return n >= 0 && (size_t)n < sizeof c->path;
}

/* True when run_user/UID is a directory (not a link) owned by UID, and
 * writes that path into dir: pam_systemd makes it; only root can create
 * entries in /run/user. */
static bool run_user_dir(const struct sockpath_env *e, char *dir, size_t n) {
        struct stat st;
        if (!e->run_user)
                return false;
        int len = snprintf(dir, n, "%s/%ld", e->run_user, (long)e->uid);
        return len > 0 && (size_t)len < n && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
               st.st_uid == e->uid;
}

/* The state directory's place, or (HOME unset, or too long) /tmp's. */
static void state_or_tmp(const struct sockpath_env *e, struct sockpath *c) {
        const char *state = absolute(e->xdg_state_home);
        const char *home = absolute(e->home);
        if (state && join(c, SOCKPATH_STATE, state, "/sparkd/run/" SOCKET_NAME))
                return;
        if (!state && home &&
            join(c, SOCKPATH_STATE, home, "/.local/state/sparkd/run/" SOCKET_NAME))
                return;
        snprintf(c->path, sizeof c->path, "/tmp/sparkd-%ld/" SOCKET_NAME, (long)e->uid);
        c->source = SOCKPATH_TMP;
}

/* Appends c to ret[*n] unless an earlier one has the same path. */
static void add_unique(struct sockpath ret[], int *n, const struct sockpath *c) {
        for (int i = 0; i < *n; i++)
                if (strcmp(ret[i].path, c->path) == 0)
                        return;
        ret[(*n)++] = *c;
}

int sockpath_candidates(const struct sockpath_env *e, struct sockpath ret[SOCKPATH_CANDIDATES]) {
        const char *explicit_path = nonempty(e->sparkd_socket);
        const char *runtime = absolute(e->xdg_runtime_dir);
        struct sockpath c;
        char dir[SOCKPATH_MAX];
        int n = 0;
        if (explicit_path)
                return join(&ret[0], SOCKPATH_ENV, explicit_path, "") ? 1 : -ENAMETOOLONG;
        if (runtime) {
                if (!join(&c, SOCKPATH_XDG_RUNTIME, runtime, "/sparkd/" SOCKET_NAME))
                        return -ENAMETOOLONG;
                add_unique(ret, &n, &c);
        }
        if (run_user_dir(e, dir, sizeof dir) &&
            join(&c, SOCKPATH_RUN_USER, dir, "/sparkd/" SOCKET_NAME))
                add_unique(ret, &n, &c);
        state_or_tmp(e, &c);
        add_unique(ret, &n, &c);
        return n;
}

int sockpath_default(const struct sockpath_env *e, struct sockpath *ret) {
        struct sockpath all[SOCKPATH_CANDIDATES];
        int n = sockpath_candidates(e, all);
        if (n < 0)
                return n;
        *ret = all[0];
        return 0;
}

const char *sockpath_source_name(enum sockpath_source s) {
        switch (s) {
        case SOCKPATH_ENV: return "$SPARKD_SOCKET";
        case SOCKPATH_XDG_RUNTIME: return "$XDG_RUNTIME_DIR";
        case SOCKPATH_RUN_USER: return "/run/user";
        case SOCKPATH_STATE: return "your state directory";
        case SOCKPATH_TMP: return "the /tmp fallback";
        }
        return "?";
}
