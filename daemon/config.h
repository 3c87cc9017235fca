/* config.h — Spark configurations: YAML files → validated entries.
 *
 * Never logs, never exits.  Reads the configuration directories it is given
 * (small local files) and compiles each configuration's template.  Every
 * problem is reported as "FILE:LINE:COL: message" and only affects its own
 * file: the other configurations still load.
 *
 * Layout of a configuration directory:
 *   DIR/NAME.yaml (or .yml)     one configuration per file
 *   DIR/templates/TEMPLATE      templates referenced by `template:`
 * A configuration's template is looked up in its own DIR/templates first,
 * then in each admin directory's templates/ in order, then in the shipped
 * configurations' templates/ (so an admin directory of YAML files alone
 * can use the shipped default template).  The default template is
 * CFG_DEFAULT_TEMPLATE.
 *
 * YAML 1.2 core schema: only true/false are booleans, null/~/empty are null,
 * decimal integers and floats are numbers; everything else, and every quoted
 * scalar, is a string.  Aliases are refused; sizes and depths are capped.
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tmpl.h"

#define CFG_DEFAULT_TEMPLATE "default.py.j2"
#define CFG_MAX_FILE_SIZE    (256u * 1024u)
#define CFG_MAX_DEPTH        16u
#define CFG_MAX_FILES        1000u /* per directory */
#define CFG_NAME_MAX         64u
#define CFG_IDLE_STOP        "idle_stop" /* the top-level key, and its `overridable` entry */
#define CFG_SLURM_PREFIX     "slurm."   /* overridable slurm.KEY: a user's choice of launch.KEY (type slurm) */
#define CFG_SLURM_SCRIPT     "slurm-job.sh.j2" /* the default batch script template */
#define CFG_SLURM_NODES_MAX  4096
#define CFG_SLURM_TIME_MAX   (168u * 3600u) /* seconds: the longest duration */

enum cfg_source { CFG_SYSTEM, CFG_USER };

struct cfg_entry {
        char *name;            /* file stem or `name:`; always valid per cfg_name_valid */
        char *path;            /* the YAML file */
        enum cfg_source source;
        bool locked;           /* `locked: true` (admin files only) */
        bool is_default;       /* `default: true` */
        json_t *doc;           /* the resolved configuration, NULL when error != NULL:
                                  {"name", "display_name", "description", "default",
                                   "template", "master", "app_name", "conf": {},
                                   "env": {}, "overridable": {}, "locked", "source",
                                   "path", "idle_stop": "1h30m" | "off" | null} plus any
                                   later-added keys */
        tmpl *tmpl;            /* compiled template, NULL when error != NULL */
        tmpl *job_tmpl;        /* launch type slurm: the batch script template (launch.script), else NULL */
        char *error;           /* "FILE:LINE:COL: message", or NULL */
};

struct cfg_set {
        struct cfg_entry *entries; /* sorted by name, unique names */
        size_t n;
        const char *default_name;  /* the winning default (admin's first), or NULL */
        char **diags;              /* every "FILE:LINE:COL: message" found */
        size_t n_diags;
};

/* True when s matches [A-Za-z0-9_.-]{1,64} and is not "." or "..". */
bool cfg_name_valid(const char *s);

/* Parses one YAML document (buf[0..len)) into JSON with core-schema typing
 * and validates it as a configuration.  `file` is used in messages only.
 * On success stores the validated object in *ret_doc and returns 0; on
 * failure returns -EINVAL/-E2BIG and stores a malloc'd
 * "FILE:LINE:COL: message" in *ret_err.  Pure: this is the fuzz target. */
int cfg_parse(const char *file, const char *buf, size_t len, json_t **ret_doc, char **ret_err);

/* Validates a configuration given as JSON (the body of PUT).  On success
 * stores a new validated object in *ret_doc; on failure returns -EINVAL and
 * a malloc'd message (naming the key) in *ret_err.  Without a `name` in
 * `in`, the doc has no name, and no display_name or app_name unless given
 * (the loader fills them from the file name). */
int cfg_validate_json(json_t *in, json_t **ret_doc, char **ret_err);

/* The same for the configuration called `name` (the one in the URL): the
 * body's `name` may be absent (it becomes `name`, and the defaults that
 * follow from it are filled in) and must otherwise equal it.
 * cfg_validate_json(in, ...) is cfg_validate_json_as(in, NULL, ...). */
int cfg_validate_json_as(json_t *in, const char *name, json_t **ret_doc, char **ret_err);

/* Loads every configuration in the admin dirs (in order) and the user dir
 * (may be NULL).  shipped_dir (may be NULL), the shipped configurations'
 * directory, is searched for templates after the admin dirs; its YAML files
 * are loaded only when it is also one of admin_dirs.  A missing directory
 * is not an error.  A user file with
 * the name of an admin file shadows it (source "user") unless the admin's
 * is locked; then the user file is ignored and a diagnostic says so.
 * Every problem found goes to s->diags (also stored on its entry when the
 * file's name is known).  Returns 0 or -ENOMEM. */
int cfg_load(const char *const *admin_dirs, size_t n_admin, const char *user_dir,
             const char *shipped_dir, struct cfg_set **ret);

struct cfg_set *cfg_set_free(struct cfg_set *s);

const struct cfg_entry *cfg_find(const struct cfg_set *s, const char *name);

/* A security warning for e, or NULL: a configuration whose driver works
 * with a cluster the daemon does not start (a master other than local[...]
 * and sc://, no `launch`) and that does not set spark.authenticate: true
 * leaves that cluster's RPC open to anyone who can reach it (see the admin
 * guide's security model).  Returns a malloc'd "FILE: configuration NAME:
 * ..." sentence, or NULL (also for e with errors). */
char *cfg_security_warning(const struct cfg_entry *e);

/* {"master", "cores", "memory"}: cores is an integer, "*" for local[*], or
 * null; memory a string like "2g" or null. */
json_t *cfg_summary(const struct cfg_entry *e);

/* Validates overrides (a JSON object, or NULL for none) against e's
 * `overridable` and builds the template context:
 *   {"name", "display_name", "description", "master", "app_name",
 *    "conf": {conf with overrides applied}, "env": {}, "overrides": {},
 *    "sparkd": extra (or {} when extra is NULL)}
 * Returns 0 and a new object in *ret_ctx, or -EINVAL with a malloc'd
 * message naming the key and the bound in *ret_err ("spark.driver.memory:
 * 64g is above the maximum 8g"). */
int cfg_context(const struct cfg_entry *e, json_t *overrides, json_t *extra,
                json_t **ret_ctx, char **ret_err);

/* The idle_stop of a session of e started with overrides (validated by
 * cfg_context): the override, else the configuration's `idle_stop`, else
 * the default of its `overridable.idle_stop`; in seconds, 0 for never.
 * `idle_stop` is the daemon's setting: an override of it never reaches
 * the template's `conf`. */
unsigned cfg_idle_stop(const struct cfg_entry *e, const json_t *overrides);

/* True for the `overridable` keys that are the daemon's settings, never
 * Spark properties: idle_stop and slurm.KEY. */
bool cfg_daemon_key(const char *k);

/* e's `launch` with the slurm.KEY defaults and overrides applied (validated
 * by cfg_context): a new reference, NULL when e has no launch. */
json_t *cfg_launch_of(const struct cfg_entry *e, const json_t *overrides);

/* Writes a validated configuration (from cfg_validate_json) as YAML to
 * user_dir/NAME.yaml atomically (mode 0600, dir created 0700).  Returns 0,
 * -EPERM when an admin configuration of that name is locked in `current`,
 * or -errno; *ret_err gets a message on failure. */
int cfg_write_user(const char *user_dir, const char *name, json_t *doc,
                   const struct cfg_set *current, char **ret_err);

/* Removes user_dir/NAME.yaml (or .yml).  Returns 0, -ENOENT when there is
 * no user configuration of that name, or -errno. */
int cfg_delete_user(const char *user_dir, const char *name);
