/* startup.h — rendering a configuration into the IPython startup file.
 *
 * The file is IPYTHONDIR/profile_default/startup/99-sparkd.py, replaced
 * atomically (mode 0600, directories 0700).  The user's last selection is
 * kept in STATE_DIR/selection.json so that a restarted daemon renders it
 * again instead of the default.
 */
#pragma once
#include <jansson.h>

#include "daemon.h"

#define STARTUP_FILE_NAME "99-sparkd.py"

/* Why a render failed; the API maps it to a status. */
enum startup_fail {
        STARTUP_OK = 0,
        STARTUP_NOT_FOUND,    /* no configuration of that name: 404 */
        STARTUP_INVALID,      /* the configuration file has errors: 422 */
        STARTUP_BAD_OVERRIDE, /* overrides outside `overridable`: 400 */
        STARTUP_TEMPLATE,     /* the template failed to render: 422 */
        STARTUP_IO,           /* the file could not be written: 500 */
        STARTUP_NOMEM,
};

/* Renders configuration `name` with overrides (a JSON object or NULL).
 * On success returns STARTUP_OK and the code in *ret_code (malloc'd); else
 * the reason, with a malloc'd sentence in *ret_err. */
enum startup_fail startup_render(struct sparkd *d, const char *name, json_t *overrides,
                                 char **ret_code, char **ret_err);

/* startup_render with session variables: `vars` replaces keys of the
 * template's `sparkd` object (eager, kernel_id, ui_port, ui_path, remote),
 * and `patch` replaces top-level keys of the context (e.g. master), except
 * `conf`, which is merged into the context's conf after the overrides.
 * Neither is checked against `overridable`: they come from the daemon, not
 * the user.  Both may be NULL. */
enum startup_fail startup_render_ex(struct sparkd *d, const char *name, json_t *overrides,
                                    json_t *vars, json_t *patch, char **ret_code, char **ret_err);

/* Renders and writes the startup file, then remembers the selection.
 * Same returns as startup_render. */
enum startup_fail startup_select(struct sparkd *d, const char *name, json_t *overrides,
                                 char **ret_err);

/* startup_select for code already rendered by startup_render (the same
 * name and overrides): writes it and remembers the selection. */
enum startup_fail startup_select_rendered(struct sparkd *d, const char *name, json_t *overrides,
                                          const char *code, char **ret_err);

/* The text the startup file would hold for configuration `name` with
 * overrides (a lazy `spark`, the helpers and what they need to ask this
 * daemon), without writing it: run in a kernel after Spark stopped, it
 * puts the lazy `spark` back (the idle release).  Same returns as
 * startup_render; the code in *ret_code (malloc'd). */
enum startup_fail startup_lazy_code(struct sparkd *d, const char *name, json_t *overrides, char **ret_code,
                                    char **ret_err);

/* At daemon start: renders the remembered selection if it still renders,
 * else the default configuration (if any).  Logs what it did; returns 0 or
 * a negative errno when nothing could be written. */
int startup_initial(struct sparkd *d);

/* The remembered selection {"config", "overrides"} or NULL (new ref). */
json_t *startup_selection(struct sparkd *d);
