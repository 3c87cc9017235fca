/* sockpath.h — where sparkd's socket is when nothing says: one chain for the
 * daemon (main.c) and its clients (tools/uhttp.c, sparkctl, sparkd-launch);
 * labextension/start_spark/proxy.py follows the same chain in Python.
 *
 *   $SPARKD_SOCKET
 *   else $XDG_RUNTIME_DIR/sparkd/sparkd.sock
 *   else /run/user/UID/sparkd/sparkd.sock     when /run/user/UID is a directory owned by UID
 *   else ${XDG_STATE_HOME:-$HOME/.local/state}/sparkd/run/sparkd.sock
 *   else /tmp/sparkd-UID/sparkd.sock          when that does not fit or HOME is unset
 *
 * Every place but /tmp is one that no other user can create.  A variable
 * that is empty, or (the XDG ones and HOME) not an absolute path, counts as
 * unset.  Never logs, never exits. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#define SOCKPATH_MAX        108 /* sizeof(sun_path), the NUL included */
#define SOCKPATH_CANDIDATES 3

enum sockpath_source {
        SOCKPATH_ENV,         /* $SPARKD_SOCKET */
        SOCKPATH_XDG_RUNTIME, /* $XDG_RUNTIME_DIR */
        SOCKPATH_RUN_USER,    /* /run/user/UID */
        SOCKPATH_STATE,       /* the user's state directory */
        SOCKPATH_TMP,         /* /tmp/sparkd-UID */
};

/* What the chain depends on; sockpath_env_get fills it from the process. */
struct sockpath_env {
        const char *sparkd_socket;
        const char *xdg_runtime_dir;
        const char *xdg_state_home;
        const char *home;
        const char *run_user; /* "/run/user"; tests point it elsewhere */
        uid_t uid;
};

struct sockpath {
        char path[SOCKPATH_MAX];
        enum sockpath_source source;
};

/* Fills *ret from getenv() and getuid(). */
void sockpath_env_get(struct sockpath_env *ret);

/* The chain's places that apply to e, in order, without duplicates: the
 * first is the default; a client without an explicit socket may try the
 * others (a terminal may have XDG_RUNTIME_DIR when the daemon did not).
 * $SPARKD_SOCKET, when set, is the only one.  Looks at run_user/UID (lstat),
 * nothing else.  Returns how many (1 to SOCKPATH_CANDIDATES), or
 * -ENAMETOOLONG when $SPARKD_SOCKET or $XDG_RUNTIME_DIR/sparkd/sparkd.sock
 * does not fit in a Unix socket address. */
int sockpath_candidates(const struct sockpath_env *e, struct sockpath ret[SOCKPATH_CANDIDATES]);

/* The first of sockpath_candidates into *ret.  Returns 0 or -ENAMETOOLONG. */
int sockpath_default(const struct sockpath_env *e, struct sockpath *ret);

/* Where a source's path comes from, for messages: "$XDG_RUNTIME_DIR", … */
const char *sockpath_source_name(enum sockpath_source s);
