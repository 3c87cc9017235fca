/* tmpl.h — a Jinja-compatible template engine that escapes into Python literals.
 *
 * Pure module: never logs, never exits, never reads files.  A template is
 * compiled once and rendered many times against a jansson context.  The
 * value of every {{ }} is written as a Python literal (see pylit.h) unless
 * it went through |safe or |py.  Undefined names are errors (StrictUndefined).
 *
 * Reference for correctness: Jinja2 3.x with
 *   Environment(undefined=StrictUndefined, keep_trailing_newline=True,
 *               finalize=<pylit, passing Markup through>)
 * and a `py` filter returning Markup(pylit(x)).
 */
#pragma once
#include <jansson.h>
#include <stddef.h>

#define TMPL_MAX_SOURCE  (256u * 1024u)       /* bytes of template text */
#define TMPL_MAX_DEPTH   64u                  /* nested blocks / expressions */
#define TMPL_MAX_OUTPUT  (4u * 1024u * 1024u) /* bytes of rendered output */
#define TMPL_MAX_LOOP    100000u              /* total loop iterations per render */

typedef struct tmpl tmpl;

/* Where and why compiling or rendering failed.  line and col are 1-based
 * positions in the template source (col counts bytes). */
struct tmpl_err {
        int line;
        int col;
        char msg[256];
};

/* Compiles src[0..len) (need not be NUL-terminated).  On success stores the
 * template in *ret and returns 0; on failure returns -EINVAL (syntax),
 * -E2BIG (a limit) or -ENOMEM, fills *err, and leaves *ret untouched. */
int tmpl_compile(const char *src, size_t len, tmpl **ret, struct tmpl_err *err);

/* Renders t with ctx (a JSON object; not modified, not stolen).  On success
 * stores a malloc'd NUL-terminated string in *ret_out (its length in
 * *ret_len if ret_len is not NULL) and returns 0.  On failure returns
 * -EINVAL (undefined name, type error, NaN...), -E2BIG (output or loop
 * limit) or -ENOMEM, and fills *err with the position of the failing
 * expression. */
int tmpl_render(const tmpl *t, json_t *ctx, char **ret_out, size_t *ret_len, struct tmpl_err *err);

/* Frees t; accepts NULL; returns NULL. */
tmpl *tmpl_free(tmpl *t);
