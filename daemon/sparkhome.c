#include "sparkhome.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

struct sparkhome_wait {
        struct sparkhome_wait *next;
        sparkhome_cb cb;
        void *data;
};

static char *found;                  /* what a search found */
struct copy {
        struct copy *next;
        char home[];
};
static struct copy *copies;          /* configured / $SPARK_HOME values returned (kept: callers hold them) */
static struct proc *search;          /* the running search */
static char *search_out;             /* its first output line, or its last error-looking one */
static struct sparkhome_wait *waits; /* requests of the running search */

static bool exe_in(const char *home, const char *name) {
        char path[PATH_MAX];
        return snprintf(path, sizeof path, "%s/bin/%s", home, name) < (int)sizeof path && access(path, X_OK) == 0;
}

bool sparkhome_ok(const char *home) {
        return home && home[0] == '/' && exe_in(home, "spark-submit") && exe_in(home, "spark-class");
}

int sparkhome_core_jar_major(const char *name) {
        static const char prefix[] = "spark-core_";
        size_t n = strlen(name);
        if (strncmp(name, prefix, sizeof prefix - 1) || n < 4 || strcmp(name + n - 4, ".jar"))
                return 0;
        const char *dash = strchr(name + sizeof prefix - 1, '-'); /* after the Scala version */
        if (!dash || dash[1] < '1' || dash[1] > '9')
                return 0;
        char *end;
        long major = strtol(dash + 1, &end, 10);
        return end[0] == '.' && end[1] >= '0' && end[1] <= '9' && major > 0 && major < 1000 ? (int)major : 0;
}

int sparkhome_major(const char *home) {
        char path[PATH_MAX];
        if (!home || snprintf(path, sizeof path, "%s/jars", home) >= (int)sizeof path)
                return 0;
        DIR *dir = opendir(path);
        if (!dir)
                return 0;
        int major = 0;
        struct dirent *e;
        while (!major && (e = readdir(dir)))
                major = sparkhome_core_jar_major(e->d_name);
        closedir(dir);
        return major;
}

const char *sparkhome_python(void) {
        const char *py = getenv("SPARKD_PYTHON");
        return py && *py ? py : "python3";
}

void sparkhome_python_path(char *out, size_t n) {
        const char *py = sparkhome_python(), *path = getenv("PATH");
        snprintf(out, n, "%s", py);
        if (strchr(py, '/'))
                return;
        for (const char *p = path; p && *p;) {
                size_t len = strcspn(p, ":");
                char cand[PATH_MAX];
                if (len && snprintf(cand, sizeof cand, "%.*s/%s", (int)len, p, py) < (int)sizeof cand &&
                    access(cand, X_OK) == 0) {
                        snprintf(out, n, "%s", cand);
                        return;
                }
                p += len + (p[len] == ':');
        }
}

const char *sparkhome_known(const char *configured) {
        const char *pick = sparkhome_ok(configured) ? configured
                           : sparkhome_ok(getenv("SPARK_HOME")) ? getenv("SPARK_HOME")
                                                                 : NULL;
        if (!pick)
                return found;
        for (struct copy *c = copies; c; c = c->next)
                if (!strcmp(c->home, pick))
                        return c->home;
        size_t n = strlen(pick) + 1;
        struct copy *c = malloc(sizeof *c + n);
        if (!c)
                return found;
        memcpy(c->home, pick, n);
        c->next = copies;
        copies = c;
        return c->home;
}

/* A traceback's last line names the exception ("ModuleNotFoundError: ...");
 * its frames are indented. */
static bool error_line(const char *l) {
        return l[0] != ' ' && (strstr(l, "Error") || strstr(l, "Exception"));
}

static void search_line(void *data, struct proc *p, const char *line) {
        (void)data, (void)p;
        if (!search_out || error_line(line)) {
                char *c = strdup(line);
                if (c) {
                        free(search_out);
                        search_out = c;
                }
        }
}

static void search_exit(void *data, struct proc *p, int status) {
        (void)data, (void)p;
        search = NULL;
        char *out = search_out;
        search_out = NULL;
        if (status == 0 && sparkhome_ok(out)) {
                free(found);
                found = out;
                out = NULL;
                log_debug("SPARK_HOME %s (the pyspark package of %s)", found, sparkhome_python());
        }
        char how[PATH_MAX + 32];
        const char *detail = how;
        if (found)
                detail = NULL;
        else if (status == 0)
                snprintf(how, sizeof how, "'%s' is not a Spark home", out ? out : "");
        else if (out && *out)
                detail = out;
        else
                proc_status_str(status, how, sizeof how);
        struct sparkhome_wait *list = waits;
        waits = NULL;
        while (list) { /* a callback may start or cancel requests: the list is ours now */
                struct sparkhome_wait *w = list;
                list = w->next;
                w->cb(w->data, found, detail);
                free(w);
        }
        free(out);
}

static const struct proc_cbs search_cbs = {.on_line = search_line, .on_exit = search_exit};

int sparkhome_find(struct ev_loop *loop, sparkhome_cb cb, void *data, struct sparkhome_wait **ret) {
        struct sparkhome_wait *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->cb = cb;
        w->data = data;
        if (!search) {
                /* find_spec: where pyspark is, without importing it (a tenth of the time) */
                char *argv[] = {(char *)sparkhome_python(), "-c",
                                "import os, sys, importlib.util as u\n"
                                "s = u.find_spec('pyspark')\n"
                                "if s is None or not s.origin: sys.exit(\"ModuleNotFoundError: No module named 'pyspark'\")\n"
                                "print(os.path.dirname(os.path.abspath(s.origin)))",
                                NULL};
                int r = proc_spawn(loop, argv, NULL, NULL, &search_cbs, NULL, &search);
                if (r < 0) {
                        free(w);
                        return r;
                }
        }
        w->next = waits;
        waits = w;
        *ret = w;
        return 0;
}

struct sparkhome_wait *sparkhome_cancel(struct sparkhome_wait *w) {
        for (struct sparkhome_wait **pp = &waits; w && *pp; pp = &(*pp)->next)
                if (*pp == w) {
                        *pp = w->next;
                        free(w);
                        break;
                }
        return NULL;
}

void sparkhome_reset(void) {
        if (search) {
                proc_detach(search);
                proc_stop(search, 1);
                search = NULL;
        }
        while (waits) {
                struct sparkhome_wait *w = waits;
                waits = w->next;
                free(w);
        }
        while (copies) {
                struct copy *c = copies;
                copies = c->next;
                free(c);
        }
        free(search_out);
        free(found);
        search_out = found = NULL;
}
