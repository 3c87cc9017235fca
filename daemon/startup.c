#include "startup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "prewarm.h"
#include "pylit.h"
#include "sparkd_py.h"
#include "strbuf.h"
#include "util.h"

/* Variables that every template sees under `sparkd`; a session's own
 * (vars) replace the defaults. */
static json_t *startup_extra(struct sparkd *d, json_t *vars) {
        json_t *x = json_pack("{s:s, s:s, s:b, s:n, s:n, s:n, s:n}", "version", SPARKD_VERSION,
                              "public_prefix", d->opts.public_prefix ? d->opts.public_prefix : "",
                              "eager", 0, "kernel_id", "ui_port", "ui_path", "remote");
        if (x && vars)
                json_object_update(x, vars);
        return x;
}

enum startup_fail startup_render(struct sparkd *d, const char *name, json_t *overrides,
                                 char **ret_code, char **ret_err) {
        return startup_render_ex(d, name, overrides, NULL, NULL, ret_code, ret_err);
}

enum startup_fail startup_render_ex(struct sparkd *d, const char *name, json_t *overrides,
                                    json_t *vars, json_t *patch, char **ret_code, char **ret_err) {
        const struct cfg_entry *e = cfg_find(d->cfgs, name);
        if (!e) {
                *ret_err = strdupf("no configuration named '%s'", name);
                return STARTUP_NOT_FOUND;
        }
        if (e->error) {
                *ret_err = strdupf("configuration '%s' has errors: %s", name, e->error);
                return STARTUP_INVALID;
        }
        json_t *ctx = NULL;
        char *err = NULL;
        json_t *extra = startup_extra(d, vars);
        int r = cfg_context(e, overrides, extra, &ctx, &err);
        json_decref(extra);
        if (r < 0) {
                *ret_err = err;
                return r == -ENOMEM ? STARTUP_NOMEM : STARTUP_BAD_OVERRIDE;
        }
        const char *key;
        json_t *val;
        json_object_foreach(patch, key, val) {
                if (!strcmp(key, "conf"))
                        json_object_update(json_object_get(ctx, "conf"), val);
                else
                        json_object_set(ctx, key, val);
        }
        struct tmpl_err terr = {0};
        char *code = NULL;
        r = tmpl_render(e->tmpl, ctx, &code, NULL, &terr);
        json_decref(ctx);
        if (r < 0) {
                const char *tname = json_string_value(json_object_get(e->doc, "template"));
                if (asprintf(ret_err, "%s:%d:%d: %s", tname ? tname : "template", terr.line,
                             terr.col, terr.msg) < 0)
                        *ret_err = NULL;
                return r == -ENOMEM ? STARTUP_NOMEM : STARTUP_TEMPLATE;
        }
        *ret_code = code;
        return STARTUP_OK;
}

/* Remembers the selection in state_dir/selection.json (best effort). */
static void startup_remember(struct sparkd *d, const char *name, json_t *overrides) {
        json_t *ov = overrides ? json_incref(overrides) : json_object();
        json_t *sel = json_pack("{s:s, s:o}", "config", name, "overrides", ov);
        char *text = sel ? json_dumps(sel, JSON_INDENT(2)) : NULL;
        json_decref(sel);
        if (!text)
                return;
        int r = write_file_atomic_nosync(d->selection_path, text, strlen(text), 0600);
        if (r < 0)
                log_errno(r, "cannot remember the selection in %s", d->selection_path);
        free(text);
}

/* The startup file: the rendered code, then the helpers module `_sparkd`
 * (daemon/py/sparkd_helpers.py) that its lazy `spark` uses on first use —
 * at the end, so that a person reading the file sees the configuration
 * first — and what the helpers need to ask this daemon for a session (its
 * socket, the configuration and overrides).  Returns a malloc'd text or
 * NULL. */
static char *startup_file_text(struct sparkd *d, const char *name, json_t *overrides, const char *code) {
        struct strbuf sb = STRBUF_INIT;
        json_t *src = json_string(sparkd_py_sparkd_helpers);
        json_t *daemon = json_pack("{s:s?, s:s, s:o}", "socket", d->opts.socket_path, "config", name, "overrides",
                                   overrides ? json_incref(overrides) : json_object());
        int r = src && daemon ? sb_puts(&sb, code) : -ENOMEM;
        if (r == 0)
                r = sb_puts(&sb, "\n\n# sparkd's helpers (the module _sparkd: secure Spark start-up, Spark Connect "
                                 "client), used by `spark` on first use\n"
                                 "__import__('sys').modules['_sparkd'] = __import__('types').ModuleType('_sparkd')\n"
                                 "exec(compile(");
        if (r == 0)
                r = pylit_append(&sb, src, (size_t)-1, NULL, 0);
        if (r == 0)
                r = sb_puts(&sb, ", '<sparkd helpers>', 'exec'), __import__('sys').modules['_sparkd'].__dict__)\n"
                                 "__import__('sys').modules['_sparkd'].daemon = ");
        if (r == 0)
                r = pylit_append(&sb, daemon, (size_t)-1, NULL, 0);
        if (r == 0)
                r = sb_putc(&sb, '\n');
        enum prewarm_preload pre = prewarm_preload_of(d, cfg_find(d->cfgs, name));
        if (r == 0 && pre != PREWARM_PRELOAD_NONE)
                r = sb_puts(&sb, pre == PREWARM_PRELOAD_CONNECT
                                         ? "__import__('sys').modules['_sparkd'].preload(remote=True)  # a warm "
                                           "Connect server: import PySpark ahead\n"
                                         : "__import__('sys').modules['_sparkd'].preload()  # a warm JVM: import "
                                           "PySpark ahead\n");
        json_decref(src);
        json_decref(daemon);
        if (r < 0) {
                sb_free(&sb);
                return NULL;
        }
        return sb_take(&sb, NULL);
}

/* Writes rendered code as the startup file; remembers the selection when
 * asked. */
static enum startup_fail startup_commit(struct sparkd *d, const char *name, json_t *overrides,
                                        const char *code, bool remember, char **ret_err) {
        char *text = startup_file_text(d, name, overrides, code);
        if (!text) {
                *ret_err = strdup("out of memory");
                return STARTUP_NOMEM;
        }
        int r = write_file_atomic(d->startup_path, text, strlen(text), 0600);
        free(text);
        if (r < 0) {
                *ret_err = strdupf("cannot write %s: %s", d->startup_path, strerror(-r));
                return STARTUP_IO;
        }
        if (remember)
                startup_remember(d, name, overrides);
        return STARTUP_OK;
}

/* Renders and writes the file; remembers the selection when asked. */
static enum startup_fail startup_write(struct sparkd *d, const char *name, json_t *overrides,
                                       bool remember, char **ret_err) {
        char *code = NULL;
        enum startup_fail f = startup_render(d, name, overrides, &code, ret_err);
        if (f == STARTUP_OK)
                f = startup_commit(d, name, overrides, code, remember, ret_err);
        free(code);
        return f;
}

enum startup_fail startup_lazy_code(struct sparkd *d, const char *name, json_t *overrides, char **ret_code,
                                    char **ret_err) {
        char *code = NULL;
        enum startup_fail f = startup_render(d, name, overrides, &code, ret_err);
        if (f != STARTUP_OK)
                return f;
        *ret_code = startup_file_text(d, name, overrides, code);
        free(code);
        if (!*ret_code) {
                *ret_err = strdup("out of memory");
                return STARTUP_NOMEM;
        }
        return STARTUP_OK;
}

enum startup_fail startup_select_rendered(struct sparkd *d, const char *name, json_t *overrides,
                                          const char *code, char **ret_err) {
        return startup_commit(d, name, overrides, code, true, ret_err);
}

enum startup_fail startup_select(struct sparkd *d, const char *name, json_t *overrides,
                                 char **ret_err) {
        return startup_write(d, name, overrides, true, ret_err);
}

json_t *startup_selection(struct sparkd *d) {
        json_error_t jerr;
        json_t *sel = json_load_file(d->selection_path, JSON_REJECT_DUPLICATES, &jerr);
        if (!sel)
                return NULL;
        if (!json_is_string(json_object_get(sel, "config")) ||
            !json_is_object(json_object_get(sel, "overrides"))) {
                json_decref(sel);
                return NULL;
        }
        return sel;
}

/* Writes one selection and logs the outcome; returns 0 or -1. */
static int startup_try(struct sparkd *d, const char *name, json_t *overrides, const char *why) {
        char *err = NULL;
        enum startup_fail f = startup_write(d, name, overrides, false, &err);
        if (f == STARTUP_OK) {
                log_info("wrote %s from %s configuration '%s'", d->startup_path, why, name);
                return 0;
        }
        log_warnx("cannot render %s configuration '%s': %s", why, name, err ? err : "out of memory");
        free(err);
        return -1;
}

int startup_initial(struct sparkd *d) {
        json_t *sel = startup_selection(d);
        if (sel) {
                int r = startup_try(d, json_string_value(json_object_get(sel, "config")),
                                    json_object_get(sel, "overrides"), "the selected");
                json_decref(sel);
                if (r == 0)
                        return 0;
        }
        if (!d->cfgs->default_name) {
                log_warnx("no default configuration: %s was not written", d->startup_path);
                return -ENOENT;
        }
        return startup_try(d, d->cfgs->default_name, NULL, "the default") == 0 ? 0 : -EINVAL;
}
