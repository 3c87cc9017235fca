#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_yaml.h"
#include "duration.h"
#include "fsutil.h"
#include "strbuf.h"
#include "util.h"

#define CFG_KEY_MAX        256u   /* bytes in a Spark property or env name */
#define CFG_DISPLAY_MAX    256u   /* bytes in display_name */
#define CFG_STRING_MAXLEN  256    /* default max_length of a string override */
#define CFG_STRING_LIMIT   65536  /* the largest max_length allowed */
#define CFG_MSG_VALUE_MAX  64     /* bytes of a value quoted in a message */

/* ---- names and small checks ------------------------------------------ */

bool cfg_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > CFG_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Spark property names: 1..256 bytes, no spaces or control characters. */
static bool prop_key_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > CFG_KEY_MAX)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* Environment variable names: [A-Za-z_][A-Za-z0-9_]*, at most 256 bytes. */
static bool env_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > CFG_KEY_MAX || isdigit((unsigned char)s[0]))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool is_scalar(const json_t *v) {
        return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

/* ---- messages ----------------------------------------------------------- */

/* A malloc'd message from fmt (NULL on allocation failure). */
__attribute__((format(printf, 1, 0))) static char *vmsg(const char *fmt, va_list ap) {
        struct strbuf sb = STRBUF_INIT;
        if (sb_vprintf(&sb, fmt, ap) < 0) {
                sb_free(&sb);
                return NULL;
        }
        return cfgy_scrub(sb_take(&sb, NULL));
}

__attribute__((format(printf, 1, 2))) static char *msg(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *m = vmsg(fmt, ap);
        va_end(ap);
        return m;
}

/* A short printable form of a value for messages: strings as they are
 * (truncated), others as JSON. */
static void value_text(const json_t *v, char *buf, size_t size) {
        if (json_is_string(v)) {
                snprintf(buf, size, "%.*s", CFG_MSG_VALUE_MAX, json_string_value(v));
                return;
        }
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(buf, size, "%.*s", CFG_MSG_VALUE_MAX, s ? s : "?");
        free(s);
}

static bool one_of(const char *s, const char *const *words) {
        for (; *words; words++)
                if (strcmp(s, *words) == 0)
                        return true;
        return false;
}

/* What users may choose of a `launch: {type: slurm}` (overridable slurm.KEY). */
static const char *const slurm_user_keys[] = {"nodes", "cores_per_node", "memory_per_node", "time",
                                              "partition", "account", "qos", NULL};

/* ---- override values ---------------------------------------------------- */

/* "V is below the minimum MIN" / "V is above the maximum MAX" (or NULL
 * within bounds) for int and memory values; cmp < 0 below, > 0 above. */
static char *bound_msg(const json_t *v, const json_t *lim, int cmp) {
        char val[CFG_MSG_VALUE_MAX + 8], l[CFG_MSG_VALUE_MAX + 8];
        value_text(v, val, sizeof val);
        value_text(lim, l, sizeof l);
        return msg("%s is %s %s", val, cmp < 0 ? "below the minimum" : "above the maximum", l);
}

static int check_int(const json_t *spec, const json_t *v, char **ret_msg) {
        const json_t *min = json_object_get(spec, "min"), *max = json_object_get(spec, "max");
        if (!json_is_integer(v)) {
                *ret_msg = msg("must be an integer");
                return -EINVAL;
        }
        json_int_t i = json_integer_value(v);
        if (min && i < json_integer_value(min)) {
                *ret_msg = bound_msg(v, min, -1);
                return -EINVAL;
        }
        if (max && i > json_integer_value(max)) {
                *ret_msg = bound_msg(v, max, 1);
                return -EINVAL;
        }
        return 0;
}

static int check_memory(const json_t *spec, const json_t *v, char **ret_msg) {
        const json_t *min = json_object_get(spec, "min"), *max = json_object_get(spec, "max");
        unsigned long long b, lim;
        if (!json_is_string(v) || memsize_parse(json_string_value(v), &b) < 0) {
                char val[CFG_MSG_VALUE_MAX + 8];
                value_text(v, val, sizeof val);
                *ret_msg = msg("%s is not a memory size such as 512m or 2g", val);
                return -EINVAL;
        }
        if (min && memsize_parse(json_string_value(min), &lim) == 0 && b < lim) {
                *ret_msg = bound_msg(v, min, -1);
                return -EINVAL;
        }
        if (max && memsize_parse(json_string_value(max), &lim) == 0 && b > lim) {
                *ret_msg = bound_msg(v, max, 1);
                return -EINVAL;
        }
        return 0;
}

static int check_string(const json_t *spec, const json_t *v, char **ret_msg) {
        json_int_t maxlen = json_integer_value(json_object_get(spec, "max_length"));
        if (!json_is_string(v)) {
                *ret_msg = msg("must be a string");
                return -EINVAL;
        }
        if ((json_int_t)json_string_length(v) > maxlen) {
                *ret_msg = msg("is longer than %" JSON_INTEGER_FORMAT " bytes", maxlen);
                return -EINVAL;
        }
        return 0;
}

/* A duration override (idle_stop): "off" (never) only without a max. */
static int check_duration(const json_t *spec, const json_t *v, char **ret_msg) {
        const json_t *min = json_object_get(spec, "min"), *max = json_object_get(spec, "max");
        char why[96], val[CFG_MSG_VALUE_MAX + 8];
        unsigned secs, lim;
        if (duration_of_json(v, &secs, why, sizeof why) < 0) {
                value_text(v, val, sizeof val);
                *ret_msg = msg("%s is not a duration such as 90s, 30m, 2h or 1h30m, or off: %s", val, why);
                return -EINVAL;
        }
        if (secs == 0 && max) {
                value_text(v, val, sizeof val);
                *ret_msg = msg("%s (never) is not allowed: the maximum is %s", val, json_string_value(max));
                return -EINVAL;
        }
        if (secs && min && duration_of_json(min, &lim, why, sizeof why) == 0 && secs < lim) {
                *ret_msg = bound_msg(v, min, -1);
                return -EINVAL;
        }
        if (max && duration_of_json(max, &lim, why, sizeof why) == 0 && secs > lim) {
                *ret_msg = bound_msg(v, max, 1);
                return -EINVAL;
        }
        return 0;
}

static int check_choice(const json_t *spec, const json_t *v, char **ret_msg) {
        json_t *choices = json_object_get(spec, "choices"), *c;
        size_t i;
        json_array_foreach(choices, i, c) {
                if (json_equal(c, (json_t *)v))
                        return 0;
        }
        char val[CFG_MSG_VALUE_MAX + 8];
        value_text(v, val, sizeof val);
        char *list = json_dumps(choices, JSON_COMPACT);
        *ret_msg = msg("%s is not one of the choices %s", val, list ? list : "");
        free(list);
        return -EINVAL;
}

/* Checks v against a validated `overridable` spec.  Returns 0, or -EINVAL
 * with a malloc'd reason ("64g is above the maximum 8g") in *ret_msg
 * (NULL when even that allocation failed). */
static int spec_check(const json_t *spec, const json_t *v, char **ret_msg) {
        const char *type = json_string_value(json_object_get(spec, "type"));
        *ret_msg = NULL;
        if (strcmp(type, "int") == 0)
                return check_int(spec, v, ret_msg);
        if (strcmp(type, "memory") == 0)
                return check_memory(spec, v, ret_msg);
        if (strcmp(type, "string") == 0)
                return check_string(spec, v, ret_msg);
        if (strcmp(type, "duration") == 0)
                return check_duration(spec, v, ret_msg);
        return check_choice(spec, v, ret_msg);
}

/* ---- validation ---------------------------------------------------------- */

/* What the validator reports against: positions when the input came from a
 * YAML file, key paths only when it came as JSON (file == NULL). */
struct vctx {
        const char *file;
        const struct cfgy_postab *pt;
        char *err;
};

/* Records the first error about parent[key] (parent[idx] when key is NULL;
 * the root when parent is NULL): at the key when at_key, else at the value.
 * Returns -EINVAL (or -ENOMEM). */
__attribute__((format(printf, 6, 7))) static int verr(struct vctx *c, const json_t *parent,
                                                      const char *key, size_t idx, bool at_key,
                                                      const char *fmt, ...) {
        struct strbuf sb = STRBUF_INIT;
        const struct cfgy_pos *p = cfgy_pos_find(c->pt, parent, key, idx);
        int r = 0;
        if (c->file && p && at_key && p->key)
                r = sb_printf(&sb, "%s:%d:%d: ", c->file, p->key_line, p->key_col);
        else if (c->file && p)
                r = sb_printf(&sb, "%s:%d:%d: ", c->file, p->val_line, p->val_col);
        else if (c->file)
                r = sb_printf(&sb, "%s:1:1: ", c->file);
        va_list ap;
        va_start(ap, fmt);
        if (r == 0)
                r = sb_vprintf(&sb, fmt, ap);
        va_end(ap);
        free(c->err);
        c->err = r == 0 ? cfgy_scrub(sb_take(&sb, NULL)) : NULL;
        sb_free(&sb);
        return c->err ? -EINVAL : -ENOMEM;
}

/* Sets out[key] to v (stolen); -ENOMEM when v is NULL or on failure. */
static int put(json_t *out, const char *key, json_t *v) {
        return json_object_set_new(out, key, v) < 0 ? -ENOMEM : 0;
}

static bool absent(const json_t *v) { return !v || json_is_null(v); }

/* in[key] as a string, def when absent or null. */
static int opt_string(struct vctx *c, const json_t *in, const char *key, const char *def,
                      const char **ret) {
        const json_t *v = json_object_get(in, key);
        if (absent(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_string(v))
                return verr(c, in, key, 0, false, "%s: must be a string", key);
        *ret = json_string_value(v);
        return 0;
}

/* in[key] as a boolean, false when absent or null; copied to out. */
static int opt_bool(struct vctx *c, const json_t *in, const char *key, json_t *out) {
        const json_t *v = json_object_get(in, key);
        if (!absent(v) && !json_is_boolean(v))
                return verr(c, in, key, 0, false, "%s: must be true or false", key);
        return put(out, key, json_boolean(json_is_true(v)));
}

/* name: the given one, or stem when absent.  must_match: a given name must
 * equal stem (JSON bodies for a named configuration). */
static int v_name(struct vctx *c, const json_t *in, const char *stem, bool must_match,
                  json_t *out, const char **ret) {
        const char *name;
        int r = opt_string(c, in, "name", NULL, &name);
        if (r < 0)
                return r;
        if (name && !cfg_name_valid(name))
                return verr(c, in, "name", 0, false,
                            "name: \"%.64s\" is not a valid name (1 to %u of A-Z a-z 0-9 _ . -)",
                            name, CFG_NAME_MAX);
        if (name && must_match && stem && strcmp(name, stem) != 0)
                return verr(c, in, "name", 0, false,
                            "name: \"%s\" does not match the configuration's name \"%s\"", name,
                            stem);
        if (!name && !stem) {
                *ret = NULL;
                return 0;
        }
        if (!name && !cfg_name_valid(stem))
                return verr(c, NULL, NULL, 0, false,
                            "the file name \"%.64s\" is not a valid configuration name; "
                            "add a `name:` key",
                            stem);
        *ret = name ? name : stem;
        return put(out, "name", json_string(*ret));
}

/* display_name, description, default, template, master, app_name. */
static int v_strings(struct vctx *c, const json_t *in, const char *name, json_t *out) {
        const char *display = NULL, *descr = NULL, *tmplname = NULL, *master = NULL, *app = NULL;
        int r = opt_string(c, in, "display_name", name, &display);
        if (r == 0 && display && (display[0] == '\0' || strlen(display) > CFG_DISPLAY_MAX))
                r = verr(c, in, "display_name", 0, false,
                         "display_name: must be 1 to %u bytes long", CFG_DISPLAY_MAX);
        if (r == 0)
                r = opt_string(c, in, "description", "", &descr);
        if (r == 0)
                r = opt_string(c, in, "template", CFG_DEFAULT_TEMPLATE, &tmplname);
        if (r == 0 && !cfg_name_valid(tmplname))
                r = verr(c, in, "template", 0, false,
                         "template: \"%.64s\" is not a valid template file name", tmplname);
        if (r == 0)
                r = opt_string(c, in, "master", "local[*]", &master);
        if (r == 0 && master[0] == '\0')
                r = verr(c, in, "master", 0, false, "master: must not be empty");
        if (r == 0)
                r = opt_string(c, in, "app_name", name, &app);
        if (r == 0 && app && app[0] == '\0')
                r = verr(c, in, "app_name", 0, false, "app_name: must not be empty");
        if (r == 0 && display)
                r = put(out, "display_name", json_string(display));
        if (r == 0)
                r = put(out, "description", json_string(descr));
        if (r == 0)
                r = opt_bool(c, in, "default", out);
        if (r == 0)
                r = put(out, "template", json_string(tmplname));
        if (r == 0)
                r = put(out, "master", json_string(master));
        if (r == 0 && app)
                r = put(out, "app_name", json_string(app));
        return r;
}

/* in[key] as an object (an empty one when absent or null) in *ret. */
static int opt_map(struct vctx *c, const json_t *in, const char *key, const char *what,
                   json_t **ret) {
        json_t *v = json_object_get(in, key);
        if (absent(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_object(v))
                return verr(c, in, key, 0, false, "%s: must be a mapping of %s", key, what);
        *ret = v;
        return 0;
}

/* conf: Spark property → string, number or boolean. */
static int v_conf(struct vctx *c, const json_t *in, json_t *out) {
        json_t *m, *v, *conf = json_object();
        const char *k;
        int r = conf ? opt_map(c, in, "conf", "Spark properties to values", &m) : -ENOMEM;
        if (r == 0 && m) {
                json_object_foreach(m, k, v) {
                        if (!prop_key_valid(k))
                                r = verr(c, m, k, 0, true,
                                         "conf: \"%.64s\" is not a valid property name", k);
                        else if (!is_scalar(v))
                                r = verr(c, m, k, 0, false,
                                         "conf.%s: must be a string, number or boolean", k);
                        else
                                r = put(conf, k, json_deep_copy(v));
                        if (r < 0)
                                break;
                }
        }
        if (r < 0) {
                json_decref(conf);
                return r;
        }
        return put(out, "conf", conf);
}

/* env: variable name → string. */
static int v_env(struct vctx *c, const json_t *in, json_t *out) {
        json_t *m, *v, *env = json_object();
        const char *k;
        int r = env ? opt_map(c, in, "env", "variable names to strings", &m) : -ENOMEM;
        if (r == 0 && m) {
                json_object_foreach(m, k, v) {
                        if (!env_name_valid(k))
                                r = verr(c, m, k, 0, true,
                                         "env: \"%.64s\" is not a valid variable name "
                                         "([A-Za-z_][A-Za-z0-9_]*)",
                                         k);
                        else if (!json_is_string(v))
                                r = verr(c, m, k, 0, false,
                                         "env.%s: must be a string (quote numbers and booleans)",
                                         k);
                        else
                                r = put(env, k, json_deep_copy(v));
                        if (r < 0)
                                break;
                }
        }
        if (r < 0) {
                json_decref(env);
                return r;
        }
        return put(out, "env", env);
}

/* The canonical form of a valid duration value ("1m30s", "off"). */
static json_t *duration_canon(const json_t *v) {
        char buf[DURATION_BUF], why[96];
        unsigned secs;
        if (duration_of_json(v, &secs, why, sizeof why) < 0)
                return NULL;
        duration_format(secs, buf);
        return json_string(buf);
}

/* Checks that spec[k] (when present) is an integer / a memory size / a
 * duration other than off. */
static int v_bound(struct vctx *c, const char *okey, const json_t *spec, const char *k,
                   const char *type, json_t *out) {
        const json_t *v = json_object_get(spec, k);
        unsigned long long b;
        if (absent(v))
                return 0;
        if (strcmp(type, "duration") == 0) {
                char why[96];
                unsigned secs;
                int r = duration_of_json(v, &secs, why, sizeof why);
                if (r == 0 && secs == 0)
                        snprintf(why, sizeof why, "a bound cannot be off (leave out max for \"no maximum\")");
                if (r < 0 || secs == 0)
                        return verr(c, spec, k, 0, false,
                                    "overridable.%s.%s: must be a duration such as 5m or 8h: %s", okey, k, why);
                return put(out, k, duration_canon(v));
        }
        if (strcmp(type, "int") == 0 && !json_is_integer(v))
                return verr(c, spec, k, 0, false, "overridable.%s.%s: must be an integer", okey,
                            k);
        if (strcmp(type, "memory") == 0 &&
            (!json_is_string(v) || memsize_parse(json_string_value(v), &b) < 0))
                return verr(c, spec, k, 0, false,
                            "overridable.%s.%s: must be a memory size such as 512m or 2g", okey,
                            k);
        return put(out, k, json_deep_copy(v));
}

/* The keys each type does not take. */
static const char *spec_refused(const char *type, const json_t *spec) {
        static const char *const for_num[] = {"choices", "max_length", NULL}; /* and duration */
        static const char *const for_string[] = {"min", "max", "choices", NULL};
        static const char *const for_choice[] = {"min", "max", "max_length", NULL};
        const char *const *no = strcmp(type, "string") == 0   ? for_string
                                : strcmp(type, "choice") == 0 ? for_choice
                                                              : for_num;
        for (; *no; no++)
                if (!absent(json_object_get(spec, *no)))
                        return *no;
        return NULL;
}

/* choices: a non-empty list of distinct scalars. */
static int v_choices(struct vctx *c, const json_t *parent, const char *okey, const json_t *spec,
                     json_t *out) {
        const json_t *v = json_object_get(spec, "choices");
        json_t *item;
        size_t i;
        if (absent(v))
                return verr(c, parent, okey, 0, true, "overridable.%s: `choices` is missing",
                            okey);
        if (!json_is_array(v) || json_array_size(v) == 0)
                return verr(c, spec, "choices", 0, false,
                            "overridable.%s.choices: must be a non-empty list", okey);
        json_array_foreach(v, i, item) {
                if (!is_scalar(item))
                        return verr(c, v, NULL, i, false,
                                    "overridable.%s.choices[%zu]: must be a string, number or "
                                    "boolean",
                                    okey, i);
                for (size_t j = 0; j < i; j++)
                        if (json_equal(json_array_get(v, j), item))
                                return verr(c, v, NULL, i, false,
                                            "overridable.%s.choices[%zu]: duplicate choice", okey,
                                            i);
        }
        return put(out, "choices", json_deep_copy(v));
}

/* max_length of a string override: 0..CFG_STRING_LIMIT, default 256. */
static int v_max_length(struct vctx *c, const char *okey, const json_t *spec, json_t *out) {
        const json_t *v = json_object_get(spec, "max_length");
        if (absent(v))
                return put(out, "max_length", json_integer(CFG_STRING_MAXLEN));
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > CFG_STRING_LIMIT)
                return verr(c, spec, "max_length", 0, false,
                            "overridable.%s.max_length: must be an integer from 0 to %d", okey,
                            CFG_STRING_LIMIT);
        return put(out, "max_length", json_deep_copy(v));
}

/* min <= max, and default (when given) passes the spec. */
static int v_spec_values(struct vctx *c, const char *okey, const json_t *spec, json_t *out) {
        const json_t *max = json_object_get(out, "max"), *def = json_object_get(spec, "default");
        char *why = NULL;
        if (max && json_object_get(out, "min") &&
            spec_check(out, json_object_get(out, "min"), &why) < 0) {
                free(why);
                return verr(c, spec, "max", 0, false, "overridable.%s: max is below min", okey);
        }
        if (absent(def))
                return 0;
        if (spec_check(out, def, &why) < 0) {
                int r = why ? verr(c, spec, "default", 0, false, "overridable.%s.default: %s",
                                   okey, why)
                            : -ENOMEM;
                free(why);
                return r;
        }
        return put(out, "default", !strcmp(json_string_value(json_object_get(out, "type")), "duration")
                                           ? duration_canon(def)
                                           : json_deep_copy(def));
}

/* One `overridable` entry: {type, min, max, max_length, choices, default,
 * description}, normalized into *ret. */
static int v_spec(struct vctx *c, const json_t *parent, const char *okey, const json_t *spec,
                  json_t **ret) {
        static const char *const keys[] = {"type",    "min",         "max",        "choices",
                                           "default", "description", "max_length", NULL};
        static const char *const types[] = {"int", "memory", "string", "choice", "duration", NULL};
        const char *k, *type, *descr, *no;
        json_t *v;
        int r;

        if (!json_is_object(spec))
                return verr(c, parent, okey, 0, false,
                            "overridable.%s: must be a mapping with a `type`", okey);
        json_object_foreach((json_t *)spec, k, v) {
                if (!one_of(k, keys))
                        return verr(c, spec, k, 0, true, "overridable.%s: unknown key \"%.64s\"",
                                    okey, k);
        }
        v = json_object_get(spec, "type");
        if (absent(v))
                return verr(c, parent, okey, 0, true, "overridable.%s: `type` is missing", okey);
        if (!json_is_string(v) || !one_of(json_string_value(v), types))
                return verr(c, spec, "type", 0, false,
                            "overridable.%s.type: must be int, memory, string, choice or duration",
                            okey);
        type = json_string_value(v);
        bool dur_key = !strcmp(okey, CFG_IDLE_STOP) || !strcmp(okey, CFG_SLURM_PREFIX "time");
        if (dur_key != !strcmp(type, "duration"))
                return verr(c, spec, "type", 0, false,
                            strcmp(type, "duration") ? "overridable.%s.type: must be duration"
                                                     : "overridable.%s.type: duration is only for idle_stop "
                                                       "and slurm.time",
                            okey);
        if ((no = spec_refused(type, spec)))
                return verr(c, spec, no, 0, true, "overridable.%s: `%s` is not allowed for type %s",
                            okey, no, type);
        json_t *out = json_object();
        r = out ? put(out, "type", json_string(type)) : -ENOMEM;
        if (r == 0 && (strcmp(type, "int") == 0 || strcmp(type, "memory") == 0 ||
                       strcmp(type, "duration") == 0)) {
                r = v_bound(c, okey, spec, "min", type, out);
                if (r == 0)
                        r = v_bound(c, okey, spec, "max", type, out);
        }
        if (r == 0 && strcmp(type, "string") == 0)
                r = v_max_length(c, okey, spec, out);
        if (r == 0 && strcmp(type, "choice") == 0)
                r = v_choices(c, parent, okey, spec, out);
        if (r == 0)
                r = v_spec_values(c, okey, spec, out);
        v = json_object_get(spec, "description");
        if (r == 0 && !absent(v) && !json_is_string(v))
                r = verr(c, spec, "description", 0, false,
                         "overridable.%s.description: must be a string", okey);
        descr = json_is_string(v) ? json_string_value(v) : "";
        if (r == 0)
                r = put(out, "description", json_string(descr));
        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return 0;
}

/* overridable: property → spec; a value already in conf must pass it. */
static int v_overridable(struct vctx *c, const json_t *in, json_t *out) {
        json_t *m, *v, *spec = NULL, *all = json_object();
        const json_t *conf_in = json_object_get(in, "conf");
        const char *k;
        int r = all ? opt_map(c, in, "overridable", "Spark properties to {type: ...}", &m)
                    : -ENOMEM;
        if (r == 0 && m) {
                json_object_foreach(m, k, v) {
                        if (!prop_key_valid(k)) {
                                r = verr(c, m, k, 0, true,
                                         "overridable: \"%.64s\" is not a valid property name",
                                         k);
                                break;
                        }
                        r = v_spec(c, m, k, v, &spec);
                        if (r == 0)
                                r = put(all, k, spec);
                        if (r < 0)
                                break;
                        bool idle = !strcmp(k, CFG_IDLE_STOP); /* a key of its own, not in conf */
                        bool slurm = !strncmp(k, CFG_SLURM_PREFIX, strlen(CFG_SLURM_PREFIX));
                        const json_t *launch = json_object_get(out, "launch");
                        const char *lt = json_string_value(json_object_get(launch, "type"));
                        if (slurm && (!lt || strcmp(lt, "slurm") || !one_of(k + 6, slurm_user_keys))) {
                                r = verr(c, m, k, 0, true,
                                         lt && !strcmp(lt, "slurm")
                                                 ? "overridable.%.64s: not a setting of launch type slurm "
                                                   "(slurm.nodes, slurm.cores_per_node, slurm.memory_per_node, "
                                                   "slurm.time, slurm.partition, slurm.account, slurm.qos)"
                                                 : "overridable.%.64s: only for `launch: {type: slurm}`",
                                         k);
                                break;
                        }
                        json_t *cur = idle    ? json_object_get(out, CFG_IDLE_STOP)
                                      : slurm ? json_object_get(launch, k + 6)
                                              : json_object_get(json_object_get(out, "conf"), k);
                        char *why = NULL;
                        if (cur && !json_is_null(cur) && spec_check(spec, cur, &why) < 0) {
                                r = why ? verr(c, idle ? in : slurm ? json_object_get(in, "launch") : conf_in,
                                               slurm ? k + 6 : k, 0, false, "%s%s: %s (see overridable.%s)",
                                               idle ? "" : slurm ? "launch." : "conf.", slurm ? k + 6 : k, why, k)
                                        : -ENOMEM;
                                free(why);
                                break;
                        }
                }
        }
        if (r < 0) {
                json_decref(all);
                return r;
        }
        return put(out, "overridable", all);
}

/* idle_stop: a duration (canonical in the doc) or null for none. */
static int v_idle_stop(struct vctx *c, const json_t *in, json_t *out) {
        const json_t *v = json_object_get(in, CFG_IDLE_STOP);
        char why[96], val[CFG_MSG_VALUE_MAX + 8];
        unsigned secs;
        if (absent(v))
                return put(out, CFG_IDLE_STOP, json_null());
        if (duration_of_json(v, &secs, why, sizeof why) < 0) {
                value_text(v, val, sizeof val);
                return verr(c, in, CFG_IDLE_STOP, 0, false,
                            "idle_stop: %s is not a duration such as 90s, 30m, 2h or 1h30m, or off: %s", val,
                            why);
        }
        return put(out, CFG_IDLE_STOP, duration_canon(v));
}

/* error_hints: a list of {pattern, hint} (used by the kernel side). */
static int v_error_hints(struct vctx *c, const json_t *in, json_t *out) {
        const json_t *v = json_object_get(in, "error_hints");
        json_t *item, *x;
        const char *k;
        size_t i;
        if (absent(v))
                return put(out, "error_hints", json_array());
        if (!json_is_array(v))
                return verr(c, in, "error_hints", 0, false,
                            "error_hints: must be a list of {pattern, hint} mappings");
        json_array_foreach(v, i, item) {
                if (!json_is_object(item))
                        return verr(c, v, NULL, i, false,
                                    "error_hints[%zu]: must be a mapping with `pattern` and "
                                    "`hint`",
                                    i);
                json_object_foreach(item, k, x) {
                        if (strcmp(k, "pattern") != 0 && strcmp(k, "hint") != 0)
                                return verr(c, item, k, 0, true,
                                            "error_hints[%zu]: unknown key \"%.64s\"", i, k);
                        if (!json_is_string(x) || json_string_length(x) == 0)
                                return verr(c, item, k, 0, false,
                                            "error_hints[%zu].%s: must be a non-empty string", i,
                                            k);
                }
                if (!json_object_get(item, "pattern") || !json_object_get(item, "hint"))
                        return verr(c, v, NULL, i, false,
                                    "error_hints[%zu]: needs both `pattern` and `hint`", i);
        }
        return put(out, "error_hints", json_deep_copy(v));
}

/* launch.<key> as an integer in [lo, hi], def when absent; into out. */
static int launch_int(struct vctx *c, const json_t *l, const char *key, json_int_t lo, json_int_t hi,
                      json_int_t def, json_t *out) {
        const json_t *v = json_object_get(l, key);
        if (absent(v))
                return put(out, key, json_integer(def));
        if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
                return verr(c, l, key, 0, false, "launch.%s: must be a whole number from %lld to %lld",
                            key, (long long)lo, (long long)hi);
        return put(out, key, json_integer(json_integer_value(v)));
}

/* launch: what the daemon starts for a session: {type: standalone, workers,
 * worker_cores, worker_memory} (a Spark standalone cluster on 127.0.0.1) or
 * {type: connect} (a Spark Connect server); absent: nothing. */
/* launch.<key>: null, or a Slurm name (partition, account, qos). */
static int launch_slurm_name(struct vctx *c, const json_t *l, const char *key, json_t *out) {
        const json_t *v = json_object_get(l, key);
        if (absent(v))
                return put(out, key, json_null());
        if (!json_is_string(v) || !cfg_name_valid(json_string_value(v)))
                return verr(c, l, key, 0, false, "launch.%s: must be a Slurm name of letters, digits, _ . -", key);
        return put(out, key, json_deep_copy(v));
}

/* launch.<key>: a duration (not off) of at most CFG_SLURM_TIME_MAX seconds. */
static int launch_duration(struct vctx *c, const json_t *l, const char *key, const char *def, json_t *out) {
        const json_t *v = json_object_get(l, key);
        char why[96], val[CFG_MSG_VALUE_MAX + 8];
        unsigned secs;
        json_t *dv = absent(v) ? json_string(def) : NULL;
        const json_t *x = dv ? dv : v;
        int r = 0;
        if (duration_of_json(x, &secs, why, sizeof why) < 0 || secs == 0 || secs > CFG_SLURM_TIME_MAX) {
                value_text(x, val, sizeof val);
                r = verr(c, l, key, 0, false, "launch.%s: %s is not a time limit such as 30m, 2h or 1h30m "
                         "(from 1m to 168h)", key, val);
        } else {
                r = put(out, key, duration_canon(x));
        }
        json_decref(dv);
        return r;
}

static int v_launch(struct vctx *c, const json_t *in, json_t *out) {
        static const char *const st_keys[] = {"type", "workers", "worker_cores", "worker_memory", NULL};
        static const char *const sl_keys[] = {"type",      "nodes", "cores_per_node", "memory_per_node", "time",
                                              "partition", "account", "qos",          "script",          NULL};
        static const char *const types[] = {"standalone", "connect", "slurm", NULL};
        json_t *l, *x;
        const char *k, *type = NULL;
        int r = opt_map(c, in, "launch", "settings (type: standalone | connect)", &l);
        if (r < 0 || !l)
                return r < 0 ? r : put(out, "launch", json_null());
        r = opt_string(c, l, "type", NULL, &type);
        if (r < 0)
                return r;
        if (!type || !one_of(type, types))
                return verr(c, in, "launch", 0, false,
                            "launch.type: must be \"standalone\", \"connect\" or \"slurm\"");
        json_object_foreach(l, k, x) {
                if (!one_of(k, strcmp(type, "slurm") ? st_keys : sl_keys))
                        return verr(c, l, k, 0, true, "launch: unknown key \"%.64s\"", k);
        }
        json_t *o = json_pack("{s:s}", "type", type);
        if (!o)
                return -ENOMEM;
        if (!strcmp(type, "standalone")) {
                const char *mem = NULL;
                unsigned long long bytes;
                r = launch_int(c, l, "workers", 1, 16, 1, o);
                if (r == 0)
                        r = launch_int(c, l, "worker_cores", 1, 64, 1, o);
                if (r == 0)
                        r = opt_string(c, l, "worker_memory", "1g", &mem);
                if (r == 0 && memsize_parse(mem, &bytes) < 0)
                        r = verr(c, l, "worker_memory", 0, false,
                                 "launch.worker_memory: \"%.32s\" is not a memory size like 512m or 2g", mem);
                if (r == 0)
                        r = put(o, "worker_memory", json_string(mem));
        } else if (!strcmp(type, "slurm")) {
                const char *mem = NULL, *script = NULL;
                unsigned long long bytes;
                r = launch_int(c, l, "nodes", 1, CFG_SLURM_NODES_MAX, 1, o);
                if (r == 0)
                        r = launch_int(c, l, "cores_per_node", 1, 1024, 1, o);
                if (r == 0)
                        r = opt_string(c, l, "memory_per_node", "1g", &mem);
                if (r == 0 && memsize_parse(mem, &bytes) < 0)
                        r = verr(c, l, "memory_per_node", 0, false,
                                 "launch.memory_per_node: \"%.32s\" is not a memory size like 512m or 2g", mem);
                if (r == 0)
                        r = put(o, "memory_per_node", json_string(mem));
                if (r == 0)
                        r = launch_duration(c, l, "time", "1h", o);
                for (const char *const *n = (const char *const[]){"partition", "account", "qos", NULL}; r == 0 && *n;
                     n++)
                        r = launch_slurm_name(c, l, *n, o);
                if (r == 0)
                        r = opt_string(c, l, "script", CFG_SLURM_SCRIPT, &script);
                if (r == 0 && !cfg_name_valid(script))
                        r = verr(c, l, "script", 0, false, "launch.script: must be a template file name");
                if (r == 0)
                        r = put(o, "script", json_string(script));
        } else if (json_object_size(l) > 1) {
                r = verr(c, in, "launch", 0, false, "launch: type connect takes no other settings");
        }
        if (r < 0) {
                json_decref(o);
                return r;
        }
        return put(out, "launch", o);
}

/* Validates a whole configuration into a new resolved object.  stem: the
 * default name (NULL: `name` is required); must_match: a given name must
 * equal stem. */
static int validate(struct vctx *c, const json_t *in, const char *stem, bool must_match,
                    json_t **ret) {
        static const char *const keys[] = {"name",     "display_name", "description", "default",
                                           "template", "master",       "app_name",    "conf",
                                           "env",      "overridable",  "locked",      "prewarm",
                                           "error_hints", "launch",       CFG_IDLE_STOP, NULL};
        const char *k, *name = NULL;
        json_t *v;
        int r;

        if (!json_is_object(in))
                return verr(c, NULL, NULL, 0, false,
                            "a configuration must be a mapping of keys to values");
        json_object_foreach((json_t *)in, k, v) {
                if (!one_of(k, keys))
                        return verr(c, in, k, 0, true, "unknown key \"%.64s\"", k);
        }
        json_t *out = json_object();
        if (!out)
                return -ENOMEM;
        r = v_name(c, in, stem, must_match, out, &name);
        if (r == 0)
                r = v_strings(c, in, name, out);
        if (r == 0)
                r = v_conf(c, in, out);
        if (r == 0)
                r = v_env(c, in, out);
        if (r == 0)
                r = v_idle_stop(c, in, out);
        if (r == 0)
                r = v_launch(c, in, out);
        if (r == 0)
                r = v_overridable(c, in, out);
        if (r == 0)
                r = opt_bool(c, in, "locked", out);
        if (r == 0)
                r = opt_bool(c, in, "prewarm", out);
        if (r == 0)
                r = v_error_hints(c, in, out);
        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return 0;
}

/* ---- parsing -------------------------------------------------------------- */

/* The file name of path without its directory and .yaml/.yml suffix. */
static void stem_of(const char *path, char *buf, size_t size) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
                n -= 5;
        else if (n > 4 && strcmp(base + n - 4, ".yml") == 0)
                n -= 4;
        snprintf(buf, size, "%.*s", (int)n, base);
}

/* cfg_parse, also giving the position of the `template` value (1:1 when
 * absent) for "template not found" messages. */
static int parse_doc(const char *file, const char *buf, size_t len, json_t **ret_doc,
                     char **ret_err, int tpos[2]) {
        struct cfgy_postab pt = {0};
        struct vctx c = {.file = file, .pt = &pt};
        char stem[256];
        json_t *in = NULL, *doc = NULL;
        int r;

        if (len > CFG_MAX_FILE_SIZE) {
                *ret_err = msg("%s:1:1: the file is larger than %u bytes", file,
                               CFG_MAX_FILE_SIZE);
                return *ret_err ? -E2BIG : -ENOMEM;
        }
        r = cfgy_parse(file, buf, len, &in, &pt, &c.err);
        if (r == 0) {
                stem_of(file, stem, sizeof stem);
                r = validate(&c, in, stem, false, &doc);
        }
        if (r == 0) {
                const struct cfgy_pos *p = cfgy_pos_find(&pt, in, "template", 0);
                tpos[0] = p ? p->val_line : 1;
                tpos[1] = p ? p->val_col : 1;
                *ret_doc = doc;
        } else if (r != -ENOMEM) {
                *ret_err = c.err;
                c.err = NULL;
        }
        free(c.err);
        json_decref(in);
        cfgy_postab_free(&pt);
        return r;
}

int cfg_parse(const char *file, const char *buf, size_t len, json_t **ret_doc, char **ret_err) {
        int tpos[2];
        return parse_doc(file, buf, len, ret_doc, ret_err, tpos);
}

int cfg_validate_json_as(json_t *in, const char *name, json_t **ret_doc, char **ret_err) {
        struct vctx c = {0};
        json_t *doc;
        int r = validate(&c, in, name, true, &doc);
        if (r == 0)
                *ret_doc = doc;
        else if (r == -EINVAL)
                *ret_err = c.err;
        else
                free(c.err);
        return r;
}

int cfg_validate_json(json_t *in, json_t **ret_doc, char **ret_err) {
        return cfg_validate_json_as(in, NULL, ret_doc, ret_err);
}

/* ---- loading --------------------------------------------------------------- */

struct loader {
        struct cfg_set *s;
        size_t cap, diag_cap;
        const char *const *admin;
        size_t n_admin;
        const char *shipped; /* the shipped configurations (templates only), or NULL */
};

/* Appends m (taken; NULL means an allocation failed) to the diagnostics. */
static int add_diag(struct loader *l, char *m) {
        struct cfg_set *s = l->s;
        if (!m)
                return -ENOMEM;
        if (s->n_diags == l->diag_cap) {
                size_t cap = l->diag_cap ? l->diag_cap * 2 : 8;
                char **d = realloc(s->diags, cap * sizeof *d);
                if (!d) {
                        free(m);
                        return -ENOMEM;
                }
                s->diags = d;
                l->diag_cap = cap;
        }
        s->diags[s->n_diags++] = m;
        return 0;
}

static void entry_clear(struct cfg_entry *e) {
        free(e->name);
        free(e->path);
        json_decref(e->doc);
        tmpl_free(e->tmpl);
        tmpl_free(e->job_tmpl);
        free(e->error);
        memset(e, 0, sizeof *e);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* NAME.yaml or NAME.yml, not hidden, a UTF-8 name (it goes into JSON). */
static bool is_config_file(const char *f) {
        size_t n = strlen(f);
        return f[0] != '.' && cfgy_utf8_valid(f) && ((n > 5 && strcmp(f + n - 5, ".yaml") == 0) ||
                               (n > 4 && strcmp(f + n - 4, ".yml") == 0));
}

/* The sorted names of the configuration files in dir (at most
 * CFG_MAX_FILES; *ret_more tells whether some were left out).  A missing
 * directory gives an empty list.  Returns 0 or -errno. */
static int list_dir(const char *dir, char ***ret, size_t *ret_n, bool *ret_more) {
        DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        bool more = false;
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? (*ret = NULL, *ret_n = 0, *ret_more = false, 0) : -errno;
        while ((de = readdir(d))) {
                if (!is_config_file(de->d_name))
                        continue;
                if (n == CFG_MAX_FILES) {
                        more = true;
                        break;
                }
                char **p = realloc(names, (n + 1) * sizeof *p);
                if (!p || !(p[n] = strdup(de->d_name))) {
                        names = p ? p : names;
                        r = -ENOMEM;
                        break;
                }
                names = p;
                n++;
        }
        closedir(d);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                return r;
        }
        if (n)
                qsort(names, n, sizeof *names, cmp_str);
        *ret = names;
        *ret_n = n;
        *ret_more = more;
        return 0;
}

static void free_names(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* Reads and compiles DIR/templates/NAME.  Returns 1 when found (then
 * *ret_t or *ret_err is set), 0 when the file does not exist, -ENOMEM. */
static int try_template(const char *dir, const char *name, tmpl **ret_t, char **ret_err) {
        char *path = msg("%s/templates/%s", dir, name), *src = NULL;
        struct tmpl_err te = {0};
        size_t len;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file(path, TMPL_MAX_SOURCE, &src, &len);
        if (r == -ENOENT) {
                free(path);
                return 0;
        }
        if (r == -EFBIG)
                *ret_err = msg("%s:1:1: the template is larger than %u bytes", path,
                               TMPL_MAX_SOURCE);
        else if (r < 0)
                *ret_err = msg("%s:1:1: cannot read the template: %s", path, strerror(-r));
        else if ((r = tmpl_compile(src, len, ret_t, &te)) < 0 && r != -ENOMEM)
                *ret_err = msg("%s:%d:%d: %s", path, te.line, te.col, te.msg);
        free(path);
        free(src);
        if (r == -ENOMEM || (r < 0 && !*ret_err))
                return -ENOMEM;
        return 1;
}

/* Finds e's template in dir/templates, then in each admin dir's, then in
 * the shipped one's; sets e->tmpl or e->error.  Returns 0 or -ENOMEM. */
static int load_template_named(struct loader *l, struct cfg_entry *e, const char *dir, const int tpos[2],
                               const char *name, tmpl **into) {
        int r = try_template(dir, name, into, &e->error);
        bool shipped_seen = l->shipped && strcmp(l->shipped, dir) == 0;
        for (size_t i = 0; r == 0 && i < l->n_admin; i++) {
                if (l->shipped && strcmp(l->admin[i], l->shipped) == 0)
                        shipped_seen = true;
                if (strcmp(l->admin[i], dir) != 0)
                        r = try_template(l->admin[i], name, into, &e->error);
        }
        if (r == 0 && l->shipped && !shipped_seen)
                r = try_template(l->shipped, name, into, &e->error);
        if (r == 0) {
                e->error = msg("%s:%d:%d: template \"%s\" not found in %s/templates%s an "
                               "admin templates directory%s%s%s",
                               e->path, tpos[0], tpos[1], name, dir, l->shipped ? "," : " or",
                               l->shipped ? " or " : "", l->shipped ? l->shipped : "",
                               l->shipped ? "/templates" : "");
                r = e->error ? 1 : -ENOMEM;
        }
        return r < 0 ? r : 0;
}

static int load_template(struct loader *l, struct cfg_entry *e, const char *dir, const int tpos[2]) {
        int r = load_template_named(l, e, dir, tpos,
                                    json_string_value(json_object_get(e->doc, "template")), &e->tmpl);
        const json_t *launch = json_object_get(e->doc, "launch");
        const char *type = json_string_value(json_object_get(launch, "type"));
        if (r == 0 && !e->error && type && !strcmp(type, "slurm"))
                r = load_template_named(l, e, dir, tpos, json_string_value(json_object_get(launch, "script")),
                                        &e->job_tmpl);
        return r;
}

/* Fills e from its file: doc, name, flags, template, or error. */
static int load_entry(struct loader *l, struct cfg_entry *e, const char *dir, const char *fname) {
        char *buf = NULL;
        size_t len;
        int tpos[2];
        int r = read_file(e->path, CFG_MAX_FILE_SIZE, &buf, &len);
        if (r == -EFBIG)
                e->error = msg("%s:1:1: the file is larger than %u bytes", e->path,
                               CFG_MAX_FILE_SIZE);
        else if (r < 0)
                e->error = msg("%s:1:1: cannot read the file: %s", e->path, strerror(-r));
        else
                r = parse_doc(e->path, buf, len, &e->doc, &e->error, tpos);
        free(buf);
        if (r == -ENOMEM || (r < 0 && !e->error))
                return -ENOMEM;
        if (r < 0) {
                char stem[256];
                stem_of(fname, stem, sizeof stem);
                if (cfg_name_valid(stem) && !(e->name = strdup(stem)))
                        return -ENOMEM;
                return 0;
        }
        json_t *doc = e->doc;
        if (!(e->name = strdup(json_string_value(json_object_get(doc, "name")))))
                return -ENOMEM;
        if (e->source == CFG_USER && put(doc, "locked", json_false()) < 0)
                return -ENOMEM;
        e->locked = json_is_true(json_object_get(doc, "locked"));
        e->is_default = json_is_true(json_object_get(doc, "default"));
        if (put(doc, "source", json_string(e->source == CFG_USER ? "user" : "system")) < 0 ||
            put(doc, "path", json_string(e->path)) < 0)
                return -ENOMEM;
        r = load_template(l, e, dir, tpos);
        if (r == 0 && e->error) {
                json_decref(e->doc);
                e->doc = NULL;
                e->is_default = false;
        }
        return r;
}

static struct cfg_entry *find_entry(struct cfg_set *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->entries[i].name, name) == 0)
                        return &s->entries[i];
        return NULL;
}

/* Adds e (taken) to the set: new names are appended; a user file replaces
 * an unlocked admin one; anything else is ignored with a diagnostic. */
static int add_entry(struct loader *l, struct cfg_entry *e) {
        struct cfg_entry *old = find_entry(l->s, e->name);
        char *m = NULL;
        if (old && old->source == CFG_SYSTEM && e->source == CFG_USER && !old->locked) {
                entry_clear(old);
                *old = *e;
                return 0;
        }
        if (old && old->source == CFG_SYSTEM && e->source == CFG_USER)
                m = msg("%s:1:1: configuration \"%s\" is locked by the administrator (%s); "
                        "this file is ignored",
                        e->path, e->name, old->path);
        else if (old)
                m = msg("%s:1:1: configuration \"%s\" is already defined in %s; this file is "
                        "ignored",
                        e->path, e->name, old->path);
        if (old) {
                entry_clear(e);
                return add_diag(l, m);
        }
        if (l->s->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                struct cfg_entry *v = realloc(l->s->entries, cap * sizeof *v);
                if (!v) {
                        entry_clear(e);
                        return -ENOMEM;
                }
                l->s->entries = v;
                l->cap = cap;
        }
        l->s->entries[l->s->n++] = *e;
        return 0;
}

/* Loads DIR/fname as a configuration of the given source. */
static int load_file(struct loader *l, const char *dir, const char *fname,
                     enum cfg_source source) {
        struct cfg_entry e = {.source = source};
        int r = (e.path = msg("%s/%s", dir, fname)) ? load_entry(l, &e, dir, fname) : -ENOMEM;
        if (r == 0 && e.error)
                r = add_diag(l, strdup(e.error));
        if (r < 0 || !e.name) {
                entry_clear(&e);
                return r;
        }
        return add_entry(l, &e);
}

static int load_dir(struct loader *l, const char *dir, enum cfg_source source) {
        char **names;
        size_t n;
        bool more;
        int r = list_dir(dir, &names, &n, &more);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return add_diag(l, msg("%s: cannot read the directory: %s", dir, strerror(-r)));
        if (more)
                r = add_diag(l, msg("%s: more than %u configuration files; the rest are ignored",
                                    dir, CFG_MAX_FILES));
        for (size_t i = 0; r == 0 && i < n; i++)
                r = load_file(l, dir, names[i], source);
        free_names(names, n);
        return r;
}

/* The first admin configuration with `default: true` wins, else the first
 * user one; the others are reported. */
static int choose_default(struct loader *l) {
        struct cfg_set *s = l->s;
        for (int pass = 0; pass < 2; pass++) {
                enum cfg_source src = pass == 0 ? CFG_SYSTEM : CFG_USER;
                for (size_t i = 0; i < s->n; i++) {
                        struct cfg_entry *e = &s->entries[i];
                        if (e->source != src || !e->is_default)
                                continue;
                        if (!s->default_name) {
                                s->default_name = e->name;
                                continue;
                        }
                        int r = add_diag(l, msg("%s:1:1: `default: true` is ignored: \"%s\" is "
                                                "already the default",
                                                e->path, s->default_name));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const struct cfg_entry *)a)->name, ((const struct cfg_entry *)b)->name);
}

int cfg_load(const char *const *admin_dirs, size_t n_admin, const char *user_dir,
             const char *shipped_dir, struct cfg_set **ret) {
        struct loader l = {.admin = admin_dirs, .n_admin = n_admin, .shipped = shipped_dir};
        int r = (l.s = calloc(1, sizeof *l.s)) ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < n_admin; i++)
                r = load_dir(&l, admin_dirs[i], CFG_SYSTEM);
        if (r == 0 && user_dir)
                r = load_dir(&l, user_dir, CFG_USER);
        if (r == 0)
                r = choose_default(&l);
        if (r < 0) {
                cfg_set_free(l.s);
                return r;
        }
        if (l.s->n)
                qsort(l.s->entries, l.s->n, sizeof *l.s->entries, cmp_entry);
        *ret = l.s;
        return 0;
}

struct cfg_set *cfg_set_free(struct cfg_set *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                entry_clear(&s->entries[i]);
        free(s->entries);
        for (size_t i = 0; i < s->n_diags; i++)
                free(s->diags[i]);
        free(s->diags);
        free(s);
        return NULL;
}

const struct cfg_entry *cfg_find(const struct cfg_set *s, const char *name) {
        if (!s || !name)
                return NULL;
        return find_entry((struct cfg_set *)s, name);
}

/* ---- summary and context ------------------------------------------------- */

/* conf[key] as a non-negative integer (an integer or a digit string). */
static bool conf_int(const json_t *conf, const char *key, json_int_t *ret) {
        const json_t *v = json_object_get(conf, key);
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *ret = json_integer_value(v);
                return true;
        }
        const char *s = json_string_value(v);
        if (!s || !s[0] || strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
                return false;
        *ret = strtoll(s, NULL, 10);
        return true;
}

/* Cores of a local master: local → 1, local[N] / local[N,F] → N,
 * local[*] → "*"; anything else → null. */
static json_t *local_cores(const char *master) {
        if (strcmp(master, "local") == 0)
                return json_integer(1);
        const char *p = master + 6;
        if (strncmp(p, "*]", 2) == 0 || strncmp(p, "*,", 2) == 0)
                return json_string("*");
        size_t n = strspn(p, "0123456789");
        if (n == 0 || n > 9 || (p[n] != ']' && p[n] != ','))
                return json_null();
        return json_integer(strtoll(p, NULL, 10));
}

static json_t *conf_string(const json_t *conf, const char *key) {
        const json_t *v = json_object_get(conf, key);
        return json_is_string(v) ? json_string(json_string_value(v)) : json_null();
}

json_t *cfg_summary(const struct cfg_entry *e) {
        const json_t *doc = e ? e->doc : NULL, *conf = json_object_get(doc, "conf");
        const char *master = json_string_value(json_object_get(doc, "master"));
        json_t *out = json_object(), *cores, *mem;
        json_int_t a, b;

        if (!out)
                return NULL;
        if (!master) {
                cores = json_null();
                mem = json_null();
        } else if (strcmp(master, "local") == 0 || strncmp(master, "local[", 6) == 0) {
                cores = local_cores(master);
                mem = conf_string(conf, "spark.driver.memory");
        } else {
                if (conf_int(conf, "spark.executor.instances", &a) &&
                    conf_int(conf, "spark.executor.cores", &b))
                        cores = json_integer(a * b);
                else if (conf_int(conf, "spark.cores.max", &a))
                        cores = json_integer(a);
                else
                        cores = json_null();
                mem = conf_string(conf, "spark.executor.memory");
        }
        if (json_object_set_new(out, "master", master ? json_string(master) : json_null()) < 0 ||
            json_object_set_new(out, "cores", cores) < 0 ||
            json_object_set_new(out, "memory", mem) < 0)
                return json_decref(out), NULL;
        return out;
}

/* Applies overrides to conf (a copy) after checking each against spec;
 * fills applied with what was taken. */
static int apply_overrides(const struct cfg_entry *e, json_t *overrides, json_t *conf,
                           json_t *applied, char **ret_err) {
        const json_t *specs = json_object_get(e->doc, "overridable");
        const char *k;
        json_t *v, *spec;

        json_object_foreach((json_t *)specs, k, spec) {
                json_t *def = json_object_get(spec, "default");
                if (cfg_daemon_key(k))
                        continue; /* the daemon's, never a Spark property */
                if (def && !json_object_get(conf, k) && put(conf, k, json_deep_copy(def)) < 0)
                        return -ENOMEM;
        }
        json_object_foreach(overrides, k, v) {
                char *why = NULL;
                if (json_is_null(v))
                        continue;
                spec = json_object_get(specs, k);
                if (!spec) {
                        *ret_err = msg("%.256s is not overridable in configuration %s", k,
                                       e->name);
                        return *ret_err ? -EINVAL : -ENOMEM;
                }
                if (spec_check(spec, v, &why) < 0) {
                        *ret_err = why ? msg("%s: %s", k, why) : NULL;
                        free(why);
                        return *ret_err ? -EINVAL : -ENOMEM;
                }
                if ((!cfg_daemon_key(k) && put(conf, k, json_deep_copy(v)) < 0) ||
                    put(applied, k, json_deep_copy(v)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

bool cfg_daemon_key(const char *k) {
        return !strcmp(k, CFG_IDLE_STOP) || !strncmp(k, CFG_SLURM_PREFIX, strlen(CFG_SLURM_PREFIX));
}

json_t *cfg_launch_of(const struct cfg_entry *e, const json_t *overrides) {
        const json_t *l = json_object_get(e->doc, "launch");
        if (!json_is_object(l))
                return NULL;
        json_t *out = json_deep_copy(l);
        const json_t *specs = json_object_get(e->doc, "overridable");
        const char *k;
        json_t *v;
        if (!out)
                return NULL;
        json_object_foreach((json_t *)specs, k, v) { /* defaults of the user's choices */
                const json_t *def = json_object_get(v, "default");
                if (!strncmp(k, CFG_SLURM_PREFIX, strlen(CFG_SLURM_PREFIX)) && !absent(def))
                        json_object_set(out, k + strlen(CFG_SLURM_PREFIX), (json_t *)def);
        }
        json_object_foreach((json_t *)overrides, k, v) {
                if (!strncmp(k, CFG_SLURM_PREFIX, strlen(CFG_SLURM_PREFIX)) && !absent(v))
                        json_object_set(out, k + strlen(CFG_SLURM_PREFIX), v);
        }
        return out;
}

unsigned cfg_idle_stop(const struct cfg_entry *e, const json_t *overrides) {
        const json_t *spec = json_object_get(json_object_get(e->doc, "overridable"), CFG_IDLE_STOP);
        const json_t *v = json_object_get(overrides, CFG_IDLE_STOP);
        char why[96];
        unsigned secs;
        if (absent(v))
                v = json_object_get(e->doc, CFG_IDLE_STOP);
        if (absent(v))
                v = json_object_get(spec, "default");
        return !absent(v) && duration_of_json(v, &secs, why, sizeof why) == 0 ? secs : 0;
}

char *cfg_security_warning(const struct cfg_entry *e) {
        if (!e || e->error || !e->doc || json_is_object(json_object_get(e->doc, "launch")))
                return NULL;
        const char *m = json_string_value(json_object_get(e->doc, "master"));
        if (!m || !strcmp(m, "local") || !strncmp(m, "local[", 6) || !strncmp(m, "sc://", 5))
                return NULL;
        const json_t *a = json_object_get(json_object_get(e->doc, "conf"), "spark.authenticate");
        if (json_is_true(a) || (json_is_string(a) && !strcasecmp(json_string_value(a), "true")))
                return NULL;
        return msg("%s: configuration %s: master %.200s without spark.authenticate: true: the cluster's "
                   "RPC accepts anyone who can reach it (set spark.authenticate and the cluster's secret, "
                   "see docs/admin-guide.md, \"Remote clusters\")",
                   e->path ? e->path : "?", e->name, m);
}

int cfg_context(const struct cfg_entry *e, json_t *overrides, json_t *extra, json_t **ret_ctx,
                char **ret_err) {
        static const char *const copied[] = {"name", "display_name", "description", "master",
                                             "app_name", "env", "launch", NULL};
        if (e->error || !e->doc) {
                *ret_err = msg("configuration %s has errors: %s", e->name,
                               e->error ? e->error : "not loaded");
                return *ret_err ? -EINVAL : -ENOMEM;
        }
        if (overrides && !json_is_object(overrides)) {
                *ret_err = msg("overrides must be a JSON object");
                return *ret_err ? -EINVAL : -ENOMEM;
        }
        json_t *ctx = json_object(), *conf = json_deep_copy(json_object_get(e->doc, "conf"));
        json_t *applied = json_object();
        int r = ctx && conf && applied ? 0 : -ENOMEM;
        for (const char *const *k = copied; r == 0 && *k; k++)
                r = put(ctx, *k, json_deep_copy(json_object_get(e->doc, *k)));
        if (r == 0)
                r = apply_overrides(e, overrides, conf, applied, ret_err);
        if (r == 0) {
                r = put(ctx, "conf", conf);
                conf = NULL;
        }
        if (r == 0) {
                r = put(ctx, "overrides", applied);
                applied = NULL;
        }
        if (r == 0)
                r = put(ctx, "sparkd", extra ? json_incref(extra) : json_object());
        json_decref(conf);
        json_decref(applied);
        if (r < 0) {
                json_decref(ctx);
                return r;
        }
        *ret_ctx = ctx;
        return 0;
}

/* ---- the user directory ------------------------------------------------------ */

int cfg_write_user(const char *user_dir, const char *name, json_t *doc,
                   const struct cfg_set *current, char **ret_err) {
        const struct cfg_entry *e = cfg_find(current, name);
        const char *docname = json_string_value(json_object_get(doc, "name"));
        struct strbuf sb = STRBUF_INIT;
        char *path = NULL;
        json_t *copy;
        int r;

        if (!cfg_name_valid(name) || (docname && strcmp(docname, name) != 0)) {
                *ret_err = msg("the configuration's name does not match \"%.64s\"", name);
                return *ret_err ? -EINVAL : -ENOMEM;
        }
        if (e && e->source == CFG_SYSTEM && e->locked) {
                *ret_err = msg("configuration %s is locked by the administrator", name);
                return *ret_err ? -EPERM : -ENOMEM;
        }
        if (!(copy = json_copy(doc)))
                return -ENOMEM;
        json_object_del(copy, "source");
        json_object_del(copy, "path");
        r = sb_printf(&sb, "# Configuration \"%s\", written by sparkd.\n", name);
        if (r == 0)
                r = cfgy_emit(&sb, copy);
        json_decref(copy);
        if (r == 0 && e && e->source == CFG_USER)
                path = strdup(e->path);
        else if (r == 0)
                path = msg("%s/%s.yaml", user_dir, name);
        if (r == 0 && !path)
                r = -ENOMEM;
        if (r == 0)
                r = mkdir_p(user_dir, 0700);
        if (r == 0)
                r = write_file_atomic(path, sb.buf, sb.len, 0600);
        if (r < 0 && r != -ENOMEM)
                *ret_err = msg("cannot write %s: %s", path ? path : user_dir, strerror(-r));
        free(path);
        sb_free(&sb);
        return r;
}

/* The name the loader would give user_dir/fname. */
static int file_config_name(const char *path, char *buf, size_t size) {
        char *text = NULL, *err = NULL;
        json_t *doc = NULL;
        size_t len;
        stem_of(path, buf, size);
        int r = read_file(path, CFG_MAX_FILE_SIZE, &text, &len);
        if (r == 0 && cfg_parse(path, text, len, &doc, &err) == 0)
                snprintf(buf, size, "%s", json_string_value(json_object_get(doc, "name")));
        r = r == -ENOMEM ? r : 0;
        free(text);
        free(err);
        json_decref(doc);
        return r;
}

int cfg_delete_user(const char *user_dir, const char *name) {
        char **names, cname[256];
        size_t n;
        bool more;
        int r;

        if (!cfg_name_valid(name))
                return -EINVAL;
        r = list_dir(user_dir, &names, &n, &more);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; r == -ENOENT && i < n; i++) {
                char *path = msg("%s/%s", user_dir, names[i]);
                if (!path || file_config_name(path, cname, sizeof cname) < 0)
                        r = -ENOMEM;
                else if (strcmp(cname, name) == 0)
                        r = unlink(path) < 0 ? -errno : 0;
                free(path);
        }
        free_names(names, n);
        return r;
}
