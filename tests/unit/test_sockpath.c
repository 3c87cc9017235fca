/* test_sockpath.c — the default socket path chain, case by case: the
 * environment, what is under a stand-in for /run/user, and the candidates
 * expected in order, each as a source letter and a path: E $SPARKD_SOCKET,
 * X $XDG_RUNTIME_DIR, R /run/user, S the state directory, T /tmp ("RU"
 * stands for the stand-in directory, "UID" for the uid). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockpath.h"

enum run_user { RU_NONE, RU_MINE, RU_LINK, RU_FOREIGN, RU_FILE };

struct chain_case {
        const char *sparkd_socket, *xdg_runtime_dir, *xdg_state_home, *home;
        enum run_user run_user;
        int want;           /* how many candidates, or -errno */
        const char *expect; /* the candidates, space-separated */
};

/* too long for a socket address, with anything appended or not */
#define LONG_DIR                                                                                   \
        "/0123456789012345678901234567890123456789012345678901234567890123456789"                  \
        "0123456789012345678901234567890123456789"
#define HOME  "/home/u"
#define STATE "S/home/u/.local/state/sparkd/run/sparkd.sock"
#define TMP   "T/tmp/sparkd-UID/sparkd.sock"
#define RU    "RRU/UID/sparkd/sparkd.sock"
#define XDG   "X/xdg/sparkd/sparkd.sock"

static const struct chain_case cases[] = {
        /* $SPARKD_SOCKET alone, whatever else is set; empty counts as unset */
        {"/x/s.sock", "/xdg", NULL, HOME, RU_MINE, 1, "E/x/s.sock"},
        {LONG_DIR "/s.sock", NULL, NULL, HOME, RU_NONE, -ENAMETOOLONG, ""},
        {"", NULL, NULL, HOME, RU_NONE, 1, STATE},
        /* $XDG_RUNTIME_DIR first, then /run/user/UID, then the state dir */
        {NULL, "/xdg", NULL, HOME, RU_NONE, 2, XDG " " STATE},
        {NULL, "/xdg", NULL, HOME, RU_MINE, 3, XDG " " RU " " STATE},
        {NULL, NULL, NULL, HOME, RU_MINE, 2, RU " " STATE},
        {NULL, "RU/UID", NULL, HOME, RU_MINE, 2, "XRU/UID/sparkd/sparkd.sock " STATE}, /* once */
        {NULL, LONG_DIR, NULL, HOME, RU_MINE, -ENAMETOOLONG, ""},
        {NULL, "relative", NULL, HOME, RU_NONE, 1, STATE},
        /* /run/user/UID only when it is a real directory of UID's */
        {NULL, NULL, NULL, HOME, RU_LINK, 1, STATE},
        {NULL, NULL, NULL, HOME, RU_FOREIGN, 1, STATE},
        {NULL, NULL, NULL, HOME, RU_FILE, 1, STATE},
        /* $XDG_STATE_HOME over $HOME/.local/state */
        {NULL, NULL, "/st", HOME, RU_NONE, 1, "S/st/sparkd/run/sparkd.sock"},
        {NULL, NULL, "", HOME, RU_NONE, 1, STATE},
        {NULL, NULL, "st", HOME, RU_NONE, 1, STATE},
        /* /tmp only without HOME or when the state path does not fit */
        {NULL, NULL, NULL, NULL, RU_NONE, 1, TMP},
        {NULL, NULL, NULL, "", RU_NONE, 1, TMP},
        {NULL, NULL, NULL, "home", RU_NONE, 1, TMP},
        {NULL, NULL, NULL, LONG_DIR, RU_NONE, 1, TMP},
        {NULL, NULL, LONG_DIR, HOME, RU_NONE, 1, TMP},
        {NULL, NULL, NULL, NULL, RU_MINE, 2, RU " " TMP},
};

static const char source_letter[] = {
        [SOCKPATH_ENV] = 'E',   [SOCKPATH_XDG_RUNTIME] = 'X', [SOCKPATH_RUN_USER] = 'R',
        [SOCKPATH_STATE] = 'S', [SOCKPATH_TMP] = 'T',
};

static char base[64];

static int setup(void **state) {
        (void)state;
        snprintf(base, sizeof base, "/tmp/sockpath-test-XXXXXX");
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        return system(cmd) == 0 ? 0 : -1;
}

/* s with "RU" replaced by root and "UID" by uid, into out. */
static void expand(const char *s, const char *root, long uid, char *out, size_t n) {
        size_t o = 0;
        while (*s && o + 1 < n) {
                if (!strncmp(s, "RU", 2)) {
                        o += (size_t)snprintf(out + o, n - o, "%s", root);
                        s += 2;
                } else if (!strncmp(s, "UID", 3)) {
                        o += (size_t)snprintf(out + o, n - o, "%ld", uid);
                        s += 3;
                } else {
                        out[o++] = *s++;
                }
        }
        out[o] = '\0';
}

/* A fresh stand-in for /run/user in which UID's entry is as c says. */
static void make_run_user(const struct chain_case *c, size_t i, char *root, size_t n) {
        char entry[256], target[256];
        snprintf(root, n, "%s/ru%zu", base, i);
        assert_int_equal(mkdir(root, 0755), 0);
        snprintf(entry, sizeof entry, "%s/%ld", root, (long)getuid());
        snprintf(target, sizeof target, "%s/target", root);
        switch (c->run_user) {
        case RU_NONE: break;
        case RU_MINE: assert_int_equal(mkdir(entry, 0700), 0); break;
        case RU_FOREIGN: /* a directory named for another uid, owned by us */
                snprintf(entry, sizeof entry, "%s/%ld", root, (long)getuid() + 1);
                assert_int_equal(mkdir(entry, 0700), 0);
                break;
        case RU_LINK:
                assert_int_equal(mkdir(target, 0700), 0);
                assert_int_equal(symlink(target, entry), 0);
                break;
        case RU_FILE: assert_int_equal(close(creat(entry, 0600)), 0); break;
        }
}

static void test_chain(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                const struct chain_case *c = &cases[i];
                char root[128], xdg[256];
                make_run_user(c, i, root, sizeof root);
                long uid = (long)getuid() + (c->run_user == RU_FOREIGN);
                expand(c->xdg_runtime_dir ? c->xdg_runtime_dir : "", root, uid, xdg, sizeof xdg);
                struct sockpath_env e = {
                        .sparkd_socket = c->sparkd_socket,
                        .xdg_runtime_dir = c->xdg_runtime_dir ? xdg : NULL,
                        .xdg_state_home = c->xdg_state_home,
                        .home = c->home,
                        .run_user = root,
                        .uid = (uid_t)uid,
                };
                struct sockpath got[SOCKPATH_CANDIDATES];
                int n = sockpath_candidates(&e, got);
                if (n != c->want)
                        fail_msg("case %zu: %d candidates, want %d", i, n, c->want);
                char got_all[4 * SOCKPATH_MAX] = "", want_all[4 * SOCKPATH_MAX];
                for (int k = 0; k < n; k++) {
                        size_t len = strlen(got_all);
                        snprintf(got_all + len, sizeof got_all - len, "%s%c%s", k ? " " : "",
                                 source_letter[got[k].source], got[k].path);
                }
                expand(c->expect, root, uid, want_all, sizeof want_all);
                if (strcmp(got_all, want_all) != 0)
                        fail_msg("case %zu: got '%s', want '%s'", i, got_all, want_all);
                struct sockpath def;
                assert_int_equal(sockpath_default(&e, &def), n < 0 ? n : 0);
                if (n > 0)
                        assert_string_equal(def.path, got[0].path);
        }
}

static void test_environment(void **state) {
        (void)state;
        struct sockpath_env e;
        setenv("SPARKD_SOCKET", "/a", 1);
        setenv("XDG_RUNTIME_DIR", "/b", 1);
        setenv("XDG_STATE_HOME", "/c", 1);
        setenv("HOME", "/d", 1);
        sockpath_env_get(&e);
        assert_string_equal(e.sparkd_socket, "/a");
        assert_string_equal(e.xdg_runtime_dir, "/b");
        assert_string_equal(e.xdg_state_home, "/c");
        assert_string_equal(e.home, "/d");
        assert_string_equal(e.run_user, "/run/user");
        assert_int_equal(e.uid, getuid());
}

static void test_source_names(void **state) {
        (void)state;
        assert_string_equal(sockpath_source_name(SOCKPATH_ENV), "$SPARKD_SOCKET");
        assert_string_equal(sockpath_source_name(SOCKPATH_XDG_RUNTIME), "$XDG_RUNTIME_DIR");
        assert_string_equal(sockpath_source_name(SOCKPATH_RUN_USER), "/run/user");
        assert_string_equal(sockpath_source_name(SOCKPATH_STATE), "your state directory");
        assert_string_equal(sockpath_source_name(SOCKPATH_TMP), "the /tmp fallback");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain),
                cmocka_unit_test(test_environment),
                cmocka_unit_test(test_source_names),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
