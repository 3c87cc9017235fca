/* test_config.c — configurations: parsing (data-driven cases in
 * tests/data/configs/parse.test), loading and merging directories, override
 * contexts, summaries, writing and deleting user configurations, and the
 * shipped configs/. */
#include "unit.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"
#include "fsutil.h"

#define PARSE_CASES "tests/data/configs/parse.test"
#define RENDER_DIR  "build/rendered-configs"

/* ---- helpers ---------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
        (void)st, (void)flag, (void)f;
        return remove(p);
}

static void rm_rf(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static char *tmpdir(void) {
        char *d = strdup("/tmp/sparkd-test-config-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

/* Writes text to DIR/REL, creating directories. */
static void put_file(const char *dir, const char *rel, const char *text) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static json_t *jparse(const char *s) {
        json_error_t e;
        json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
        if (!v)
                fail_msg("bad JSON in test: %s: %s", e.text, s);
        return v;
}

static json_t *parse_ok(const char *file, const char *yaml) {
        json_t *doc = NULL;
        char *err = NULL;
        int r = cfg_parse(file, yaml, strlen(yaml), &doc, &err);
        if (r < 0)
                fail_msg("%s: %s", file, err);
        return doc;
}

/* ---- data-driven parse cases ------------------------------------------------- */

struct pcase {
        char *file;
        char *yaml;
        char *expect; /* "OK {...}" or "ERROR L:C: msg" */
        int line;
};

static struct pcase *pcases;
static size_t n_cases;

static void load_cases(void) {
        FILE *f = fopen(PARSE_CASES, "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int lineno = 0;
        struct pcase *cur = NULL;
        size_t ylen = 0;

        if (!f) {
                perror(PARSE_CASES);
                exit(1);
        }
        while ((len = getline(&line, &cap, f)) >= 0) {
                lineno++;
                if (strncmp(line, "%%FILE ", 7) == 0) {
                        pcases = realloc(pcases, (n_cases + 1) * sizeof *pcases);
                        cur = &pcases[n_cases++];
                        line[len - 1] = '\0';
                        *cur = (struct pcase){.file = strdup(line + 7), .yaml = calloc(1, 1),
                                              .line = lineno};
                        ylen = 0;
                } else if (cur && !cur->expect &&
                           (strncmp(line, "%%OK", 4) == 0 || strncmp(line, "%%ERROR", 7) == 0)) {
                        if (line[len - 1] == '\n')
                                line[len - 1] = '\0';
                        cur->expect = strdup(line + 2);
                } else if (cur && !cur->expect) {
                        cur->yaml = realloc(cur->yaml, ylen + (size_t)len + 1);
                        memcpy(cur->yaml + ylen, line, (size_t)len + 1);
                        ylen += (size_t)len;
                }
        }
        free(line);
        fclose(f);
}

/* Every key of want equals the same key of got. */
static void assert_subset(const json_t *want, const json_t *got, const char *what) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
                json_t *g = json_object_get(got, k);
                if (!g || !json_equal(v, g)) {
                        char *a = json_dumps(v, JSON_ENCODE_ANY), *b = json_dumps(g, JSON_ENCODE_ANY);
                        fail_msg("%s: key %s: want %s, got %s", what, k, a, b ? b : "(none)");
                }
        }
}

static void test_parse_case(void **state) {
        const struct pcase *c = *state;
        json_t *doc = NULL;
        char *err = NULL;
        char where[512];
        snprintf(where, sizeof where, "%s:%d (%s)", PARSE_CASES, c->line, c->file);
        assert_non_null(c->expect);
        int r = cfg_parse(c->file, c->yaml, strlen(c->yaml), &doc, &err);
        if (strncmp(c->expect, "OK", 2) == 0) {
                if (r < 0)
                        fail_msg("%s: unexpected error %s", where, err);
                json_t *want = jparse(c->expect + 3);
                assert_subset(want, doc, where);
                /* The resolved doc validates again to itself. */
                json_t *again = NULL;
                char *err2 = NULL;
                assert_int_equal(cfg_validate_json(doc, &again, &err2), 0);
                assert_true(json_equal(doc, again));
                json_decref(again);
                json_decref(want);
                json_decref(doc);
                return;
        }
        char want[1024];
        snprintf(want, sizeof want, "%s:%s", c->file, c->expect + 6);
        if (r >= 0)
                fail_msg("%s: parsed, but expected %s", where, want);
        assert_true(r == -EINVAL || r == -E2BIG);
        if (strcmp(err, want) != 0)
                fail_msg("%s:\n  want %s\n  got  %s", where, want, err);
        free(err);
}

/* ---- parse, one by one -------------------------------------------------------- */

static void test_name_valid(void **state) {
        (void)state;
        assert_true(cfg_name_valid("local"));
        assert_true(cfg_name_valid("a.b-c_D9"));
        assert_true(cfg_name_valid("..."));
        assert_false(cfg_name_valid(""));
        assert_false(cfg_name_valid("."));
        assert_false(cfg_name_valid(".."));
        assert_false(cfg_name_valid("a/b"));
        assert_false(cfg_name_valid("a b"));
        assert_false(cfg_name_valid("é"));
        char name[66];
        memset(name, 'a', 65);
        name[65] = '\0';
        assert_false(cfg_name_valid(name));
        name[64] = '\0';
        assert_true(cfg_name_valid(name));
}

static void test_too_big(void **state) {
        (void)state;
        size_t n = CFG_MAX_FILE_SIZE + 1;
        char *buf = malloc(n);
        memset(buf, '#', n);
        buf[0] = '{', buf[1] = '}', buf[2] = '\n';
        json_t *doc = NULL;
        char *err = NULL;
        assert_int_equal(cfg_parse("big.yaml", buf, n, &doc, &err), -E2BIG);
        assert_string_equal(err, "big.yaml:1:1: the file is larger than 262144 bytes");
        assert_null(doc);
        free(err);
        /* Exactly the limit is fine. */
        assert_int_equal(cfg_parse("big.yaml", buf, n - 1, &doc, &err), 0);
        json_decref(doc);
        free(buf);
}

static void test_too_deep_is_e2big(void **state) {
        (void)state;
        const char *y = "conf: [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]\n";
        json_t *doc = NULL;
        char *err = NULL;
        assert_int_equal(cfg_parse("deep.yaml", y, strlen(y), &doc, &err), -E2BIG);
        free(err);
        /* 16 levels (the root counts) are fine. */
        const char *ok = "error_hints: [{pattern: a, hint: b}]\n";
        json_decref(parse_ok("ok.yaml", ok));
}

static void test_billion_laughs_refused(void **state) {
        (void)state;
        const char *y = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        json_t *doc = NULL;
        char *err = NULL;
        assert_int_equal(cfg_parse("lol.yaml", y, strlen(y), &doc, &err), -EINVAL);
        assert_string_equal(err, "lol.yaml:2:8: YAML aliases are not allowed");
        free(err);
}

static void test_validate_json(void **state) {
        (void)state;
        json_t *doc = NULL;
        char *err = NULL;
        json_t *in = jparse("{\"conf\": {\"a\": [1]}}");
        assert_int_equal(cfg_validate_json(in, &doc, &err), -EINVAL);
        assert_string_equal(err, "conf.a: must be a string, number or boolean");
        free(err);
        json_decref(in);

        in = jparse("{\"name\": \"y\"}");
        assert_int_equal(cfg_validate_json_as(in, "x", &doc, &err), -EINVAL);
        assert_string_equal(err, "name: \"y\" does not match the configuration's name \"x\"");
        free(err);
        json_decref(in);

        in = jparse("{\"master\": \"local[2]\"}");
        assert_int_equal(cfg_validate_json_as(in, "x", &doc, &err), 0);
        assert_string_equal(json_string_value(json_object_get(doc, "name")), "x");
        assert_string_equal(json_string_value(json_object_get(doc, "app_name")), "x");
        json_decref(doc);
        assert_int_equal(cfg_validate_json(in, &doc, &err), 0);
        assert_null(json_object_get(doc, "name"));
        assert_null(json_object_get(doc, "display_name"));
        json_decref(doc);
        json_decref(in);

        in = jparse("[1]");
        assert_int_equal(cfg_validate_json(in, &doc, &err), -EINVAL);
        assert_string_equal(err, "a configuration must be a mapping of keys to values");
        free(err);
        json_decref(in);

        in = jparse("{\"source\": \"user\"}");
        assert_int_equal(cfg_validate_json(in, &doc, &err), -EINVAL);
        assert_string_equal(err, "unknown key \"source\"");
        free(err);
        json_decref(in);
}

/* ---- loading and merging -------------------------------------------------------- */

struct dirs {
        char *root;
        char a1[4096], a2[4096], user[4096];
};

static void dirs_make(struct dirs *d) {
        d->root = tmpdir();
        snprintf(d->a1, sizeof d->a1, "%s/admin1", d->root);
        snprintf(d->a2, sizeof d->a2, "%s/admin2", d->root);
        snprintf(d->user, sizeof d->user, "%s/user", d->root);
        put_file(d->a1, "templates/default.py.j2", "spark = {{ master }}\n");
}

static void dirs_free(struct dirs *d) {
        rm_rf(d->root);
        free(d->root);
}

static struct cfg_set *load(struct dirs *d) {
        const char *admin[] = {d->a1, d->a2};
        struct cfg_set *s = NULL;
        assert_int_equal(cfg_load(admin, 2, d->user, NULL, &s), 0);
        return s;
}

static const struct cfg_entry *must_find(const struct cfg_set *s, const char *name) {
        const struct cfg_entry *e = cfg_find(s, name);
        if (!e)
                fail_msg("configuration %s not loaded", name);
        return e;
}

/* True when some diagnostic contains both a and b. */
static bool has_diag(const struct cfg_set *s, const char *a, const char *b) {
        for (size_t i = 0; i < s->n_diags; i++)
                if (strstr(s->diags[i], a) && strstr(s->diags[i], b))
                        return true;
        return false;
}

static void dump_diags(const struct cfg_set *s) {
        for (size_t i = 0; i < s->n_diags; i++)
                fprintf(stderr, "  diag: %s\n", s->diags[i]);
}

static void test_load_merge(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        put_file(d.a1, "local.yaml", "default: true\nmaster: local[2]\n");
        put_file(d.a1, "shared.yaml", "description: admin\n");
        put_file(d.a1, "locked.yaml", "locked: true\ndescription: admin\n");
        put_file(d.a1, "dup.yaml", "description: first\n");
        put_file(d.a1, "README.md", "not a config\n");
        put_file(d.a1, ".hidden.yaml", "{{{\n");
        put_file(d.a2, "dup.yaml", "description: second\n");
        put_file(d.a2, "other.yml", "default: true\n");
        put_file(d.user, "shared.yaml", "description: mine\nlocked: true\n");
        put_file(d.user, "locked.yaml", "description: mine\n");
        put_file(d.user, "mine.yaml", "default: true\n");
        put_file(d.user, "bad.yaml", "conf: [\n");
        put_file(d.user, "bad name.yaml", "conf: [\n");
        put_file(d.user, "renamed.yaml", "name: new-name\n");
        put_file(d.user, "latin1-\xe9.yaml", "master: local\n"); /* not UTF-8: skipped */

        struct cfg_set *s = load(&d);
        const char *want[] = {"bad", "dup", "local", "locked", "mine", "new-name", "other",
                              "shared"};
        if (s->n != 8)
                dump_diags(s);
        assert_int_equal(s->n, 8);
        for (size_t i = 0; i < s->n; i++)
                assert_string_equal(s->entries[i].name, want[i]);
        assert_string_equal(s->default_name, "local");

        const struct cfg_entry *e = must_find(s, "shared");
        assert_int_equal(e->source, CFG_USER);
        assert_false(e->locked); /* only admin files lock */
        assert_string_equal(json_string_value(json_object_get(e->doc, "description")), "mine");
        assert_string_equal(json_string_value(json_object_get(e->doc, "source")), "user");
        assert_false(json_is_true(json_object_get(e->doc, "locked")));

        e = must_find(s, "locked");
        assert_int_equal(e->source, CFG_SYSTEM);
        assert_true(e->locked);
        assert_string_equal(json_string_value(json_object_get(e->doc, "description")), "admin");
        assert_string_equal(json_string_value(json_object_get(e->doc, "source")), "system");
        assert_true(has_diag(s, "user/locked.yaml:1:1:", "is locked by the administrator"));

        e = must_find(s, "dup");
        assert_string_equal(json_string_value(json_object_get(e->doc, "description")), "first");
        assert_true(has_diag(s, "admin2/dup.yaml:1:1:", "already defined in"));

        assert_true(has_diag(s, "admin2/other.yml:1:1:", "\"local\" is already the default"));
        assert_true(has_diag(s, "user/mine.yaml:1:1:", "\"local\" is already the default"));
        assert_true(must_find(s, "mine")->is_default);

        e = must_find(s, "bad");
        assert_null(e->doc);
        assert_null(e->tmpl);
        assert_non_null(e->error);
        assert_non_null(strstr(e->error, "user/bad.yaml:2:1: YAML syntax error"));
        assert_true(has_diag(s, "user/bad.yaml:2:1:", "YAML syntax error"));
        assert_true(has_diag(s, "user/bad name.yaml:2:1:", "YAML syntax error"));

        e = must_find(s, "new-name");
        assert_non_null(strstr(e->path, "user/renamed.yaml"));
        assert_non_null(must_find(s, "local")->tmpl);
        assert_null(cfg_find(s, "README"));
        assert_null(cfg_find(s, ".hidden"));
        assert_int_equal(s->n_diags, 6);

        cfg_set_free(s);
        dirs_free(&d);
}

static void test_user_default_counts_without_admin_default(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        put_file(d.a1, "local.yaml", "master: local\n");
        put_file(d.user, "a.yaml", "default: true\n");
        put_file(d.user, "b.yaml", "default: true\n");
        struct cfg_set *s = load(&d);
        assert_string_equal(s->default_name, "a");
        assert_true(has_diag(s, "user/b.yaml:1:1:", "\"a\" is already the default"));
        cfg_set_free(s);

        /* A broken admin default does not count. */
        put_file(d.a1, "broken.yaml", "default: true\ntemplate: nope.j2\n");
        s = load(&d);
        assert_string_equal(s->default_name, "a");
        cfg_set_free(s);
        dirs_free(&d);
}

static void test_no_default(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        put_file(d.a1, "local.yaml", "master: local\n");
        struct cfg_set *s = load(&d);
        assert_null(s->default_name);
        assert_int_equal(s->n_diags, 0);
        cfg_set_free(s);
        dirs_free(&d);
}

static void test_missing_dirs(void **state) {
        (void)state;
        const char *admin[] = {"/nonexistent/sparkd/a", "/nonexistent/sparkd/b"};
        struct cfg_set *s = NULL;
        assert_int_equal(cfg_load(admin, 2, "/nonexistent/sparkd/user", NULL, &s), 0);
        assert_int_equal(s->n, 0);
        assert_int_equal(s->n_diags, 0);
        assert_null(s->default_name);
        assert_null(cfg_find(s, "local"));
        cfg_set_free(s);
        assert_int_equal(cfg_load(NULL, 0, NULL, NULL, &s), 0);
        assert_int_equal(s->n, 0);
        cfg_set_free(s);
        assert_null(cfg_set_free(NULL));
}

static void test_templates(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        put_file(d.a2, "templates/admin2.j2", "x = {{ name }}\n");
        put_file(d.user, "templates/mine.j2", "y = {{ name }}\n");
        put_file(d.user, "templates/broken.j2", "ok\n{% if name %}\n");
        put_file(d.user, "own.yaml", "template: mine.j2\n");
        put_file(d.user, "from-admin2.yaml", "template: admin2.j2\n");
        put_file(d.user, "default-tmpl.yaml", "master: local\n");
        put_file(d.user, "missing.yaml", "master: local\ntemplate:   nope.j2\n");
        put_file(d.user, "broken.yaml", "template: broken.j2\n");
        put_file(d.a1, "admin-own.yaml", "template: mine.j2\n"); /* not in admin dirs */

        struct cfg_set *s = load(&d);
        assert_non_null(must_find(s, "own")->tmpl);
        assert_non_null(must_find(s, "from-admin2")->tmpl);
        assert_non_null(must_find(s, "default-tmpl")->tmpl);

        const struct cfg_entry *e = must_find(s, "missing");
        assert_null(e->tmpl);
        assert_null(e->doc);
        char want[16384];
        snprintf(want, sizeof want,
                 "%s/missing.yaml:2:13: template \"nope.j2\" not found in %s/templates or an "
                 "admin templates directory",
                 d.user, d.user);
        assert_string_equal(e->error, want);

        e = must_find(s, "broken");
        assert_null(e->tmpl);
        snprintf(want, sizeof want, "%s/templates/broken.j2:", d.user);
        if (strncmp(e->error, want, strlen(want)) != 0)
                fail_msg("want %s..., got %s", want, e->error);

        e = must_find(s, "admin-own");
        assert_non_null(strstr(e->error, "template \"mine.j2\" not found"));
        assert_int_equal(s->n_diags, 3);
        cfg_set_free(s);
        dirs_free(&d);
}

static void test_big_file_entry(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        char *big = malloc(CFG_MAX_FILE_SIZE + 2);
        memset(big, '#', CFG_MAX_FILE_SIZE + 1);
        big[CFG_MAX_FILE_SIZE + 1] = '\0';
        put_file(d.a1, "huge.yaml", big);
        free(big);
        struct cfg_set *s = load(&d);
        const struct cfg_entry *e = must_find(s, "huge");
        assert_non_null(strstr(e->error, "huge.yaml:1:1: the file is larger than 262144 bytes"));
        cfg_set_free(s);
        dirs_free(&d);
}

/* ---- contexts and summaries ------------------------------------------------------ */

static const char *ctx_yaml =
        "name: ctx\n"
        "master: local[4]\n"
        "conf:\n"
        "  spark.driver.memory: 1g\n"
        "  spark.sql.shuffle.partitions: 200\n"
        "env:\n"
        "  A: b\n"
        "overridable:\n"
        "  spark.driver.memory: {type: memory, min: 512m, max: 8g}\n"
        "  spark.sql.shuffle.partitions: {type: int, min: 1, max: 2000}\n"
        "  spark.mode: {type: choice, choices: [fast, slow], default: fast}\n"
        "  spark.label: {type: string, max_length: 5}\n";

static struct cfg_entry ctx_entry(void) {
        struct cfg_entry e = {.name = "ctx"};
        e.doc = parse_ok("ctx.yaml", ctx_yaml);
        return e;
}

static char *ctx_error(const struct cfg_entry *e, const char *overrides) {
        json_t *o = jparse(overrides), *ctx = NULL;
        char *err = NULL;
        assert_int_equal(cfg_context(e, o, NULL, &ctx, &err), -EINVAL);
        assert_null(ctx);
        json_decref(o);
        return err;
}

static void test_context(void **state) {
        (void)state;
        struct cfg_entry e = ctx_entry();
        json_t *o = jparse("{\"spark.driver.memory\": \"4g\", \"spark.sql.shuffle.partitions\": 10,"
                           " \"spark.label\": null}");
        json_t *extra = jparse("{\"kernel_id\": \"k\"}"), *ctx = NULL;
        char *err = NULL;
        assert_int_equal(cfg_context(&e, o, extra, &ctx, &err), 0);
        json_t *want = jparse(
                "{\"name\": \"ctx\", \"display_name\": \"ctx\", \"description\": \"\","
                " \"master\": \"local[4]\", \"app_name\": \"ctx\","
                " \"env\": {\"A\": \"b\"}, \"launch\": null,"
                " \"conf\": {\"spark.driver.memory\": \"4g\", \"spark.sql.shuffle.partitions\": 10,"
                "            \"spark.mode\": \"fast\"},"
                " \"overrides\": {\"spark.driver.memory\": \"4g\", \"spark.sql.shuffle.partitions\": 10},"
                " \"sparkd\": {\"kernel_id\": \"k\"}}");
        if (!json_equal(want, ctx))
                fail_msg("context: %s", json_dumps(ctx, JSON_SORT_KEYS));
        json_decref(want);
        json_decref(ctx);
        json_decref(o);
        json_decref(extra);
        /* The entry's own doc is untouched. */
        assert_string_equal(json_string_value(json_object_get(json_object_get(e.doc, "conf"),
                                                              "spark.driver.memory")),
                            "1g");

        assert_int_equal(cfg_context(&e, NULL, NULL, &ctx, &err), 0);
        assert_int_equal(json_object_size(json_object_get(ctx, "overrides")), 0);
        assert_int_equal(json_object_size(json_object_get(ctx, "sparkd")), 0);
        json_decref(ctx);
        json_decref(e.doc);
}

static void test_context_errors(void **state) {
        (void)state;
        struct cfg_entry e = ctx_entry();
        static const struct {
                const char *overrides, *msg;
        } cases[] = {
                {"{\"spark.executor.memory\": \"1g\"}",
                 "spark.executor.memory is not overridable in configuration ctx"},
                {"{\"spark.driver.memory\": \"64g\"}", "spark.driver.memory: 64g is above the maximum 8g"},
                {"{\"spark.driver.memory\": \"100m\"}",
                 "spark.driver.memory: 100m is below the minimum 512m"},
                {"{\"spark.driver.memory\": \"lots\"}",
                 "spark.driver.memory: lots is not a memory size such as 512m or 2g"},
                {"{\"spark.driver.memory\": 4}",
                 "spark.driver.memory: 4 is not a memory size such as 512m or 2g"},
                {"{\"spark.sql.shuffle.partitions\": 0}",
                 "spark.sql.shuffle.partitions: 0 is below the minimum 1"},
                {"{\"spark.sql.shuffle.partitions\": 2001}",
                 "spark.sql.shuffle.partitions: 2001 is above the maximum 2000"},
                {"{\"spark.sql.shuffle.partitions\": \"10\"}",
                 "spark.sql.shuffle.partitions: must be an integer"},
                {"{\"spark.sql.shuffle.partitions\": 1.5}",
                 "spark.sql.shuffle.partitions: must be an integer"},
                {"{\"spark.mode\": \"medium\"}",
                 "spark.mode: medium is not one of the choices [\"fast\",\"slow\"]"},
                {"{\"spark.label\": \"toolong\"}", "spark.label: is longer than 5 bytes"},
                {"{\"spark.label\": 5}", "spark.label: must be a string"},
                {"[1]", "overrides must be a JSON object"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *err = ctx_error(&e, cases[i].overrides);
                if (strcmp(err, cases[i].msg) != 0)
                        fail_msg("%s:\n  want %s\n  got  %s", cases[i].overrides, cases[i].msg, err);
                free(err);
        }

        /* Values cut at a byte count in messages stay valid UTF-8. */
        char *cut = ctx_error(&e, "{\"spark.mode\": \"xééééééééééééééééééééééééééééééééééééééé\"}");
        json_t *js = json_string(cut);
        assert_non_null(js);
        json_decref(js);
        free(cut);
        json_decref(e.doc);

        struct cfg_entry bad = {.name = "bad", .error = "bad.yaml:1:1: oops"};
        char *err = ctx_error(&bad, "{}");
        assert_string_equal(err, "configuration bad has errors: bad.yaml:1:1: oops");
        free(err);
}

/* ---- idle_stop: durations and their overrides ------------------------------------ */

static void test_duration_parse(void **state) {
        (void)state;
        static const struct {
                const char *text;
                unsigned secs;
                const char *canon, *human;
        } ok[] = {
                {"90s", 90, "1m30s", "1 min 30 s"},  {"30m", 1800, "30m", "30 min"},
                {"2h", 7200, "2h", "2 h"},            {"1h30m", 5400, "1h30m", "1 h 30 min"},
                {"1h0m5s", 3605, "1h5s", "1 h 5 s"},  {"4s", 4, "4s", "4 s"},
                {"off", 0, "off", "never"},           {"0", 0, "off", "never"},
                {"0s", 0, "off", "never"},            {"168h", DURATION_MAX, "168h", "168 h"},
                {"0000000000000000000000000000005m", 300, "5m", "5 min"},
                {"167h59m60s", DURATION_MAX, "168h", "168 h"},
        };
        for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
                unsigned secs = 12345;
                char why[96] = "", buf[DURATION_BUF];
                if (duration_parse(ok[i].text, &secs, why, sizeof why) != 0)
                        fail_msg("%s: %s", ok[i].text, why);
                assert_int_equal(secs, ok[i].secs);
                duration_format(secs, buf);
                assert_string_equal(buf, ok[i].canon);
                duration_human(secs, buf);
                assert_string_equal(buf, ok[i].human);
        }
        /* one case per error; *ret untouched */
        static const struct {
                const char *text, *why;
        } bad[] = {
                {"", "is empty"},
                {"000000000000000000000000000000001h", "is longer than 32 bytes"},
                {"30", "30 needs a unit: s, m or h"},
                {"1h30", "30 needs a unit: s, m or h"},
                {"30d", "unknown unit \"d\" (use s, m or h)"},
                {"30M", "unknown unit \"M\" (use s, m or h)"},
                {"m", "\"m\" where a number was expected"},
                {"-5m", "\"-\" where a number was expected"},
                {" 5m", "\" \" where a number was expected"},
                {"5m ", "\" \" where a number was expected"},
                {"OFF", "\"O\" where a number was expected"},
                {"30m1h", "the units are not in the order h, m, s, each once"},
                {"1s1s", "the units are not in the order h, m, s, each once"},
                {"169h", "is longer than 168h"},
                {"168h1s", "is longer than 168h"},
                {"99999999999999999999s", "is longer than 168h"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                unsigned secs = 7;
                char why[96] = "";
                assert_int_equal(duration_parse(bad[i].text, &secs, why, sizeof why), -EINVAL);
                assert_int_equal(secs, 7);
                if (strcmp(why, bad[i].why))
                        fail_msg("%s:\n  want %s\n  got  %s", bad[i].text, bad[i].why, why);
        }
        unsigned secs = 7;
        char why[8];
        assert_int_equal(duration_parse(NULL, &secs, why, sizeof why), -EINVAL);
        assert_int_equal(duration_parse("30d", &secs, why, sizeof why), -EINVAL);
        assert_int_equal(strlen(why), sizeof why - 1); /* cut, terminated */
        assert_int_equal(duration_parse("30d", &secs, NULL, 0), -EINVAL);

        json_t *zero = json_integer(0), *one = json_integer(1), *nul = json_stringn_nocheck("1m\0x", 4);
        assert_int_equal(duration_of_json(zero, &secs, why, sizeof why), 0);
        assert_int_equal(secs, 0);
        assert_int_equal(duration_of_json(one, &secs, why, sizeof why), -EINVAL);
        assert_int_equal(duration_of_json(nul, &secs, why, sizeof why), -EINVAL);
        json_decref(zero);
        json_decref(one);
        json_decref(nul);
}

static const char *idle_yaml =
        "name: idle\n"
        "idle_stop: 30m\n"
        "conf:\n"
        "  spark.driver.memory: 1g\n"
        "overridable:\n"
        "  idle_stop: {type: duration, min: 5m, max: 8h}\n";

/* An idle_stop override is checked against its bounds and never becomes
 * a Spark property; the effective value follows override > idle_stop >
 * the entry's default. */
static void test_idle_stop_overrides(void **state) {
        (void)state;
        struct cfg_entry e = {.name = "idle"};
        e.doc = parse_ok("idle.yaml", idle_yaml);
        json_t *o = jparse("{\"idle_stop\": \"1h\"}"), *ctx = NULL;
        char *err = NULL;
        assert_int_equal(cfg_context(&e, o, NULL, &ctx, &err), 0);
        assert_null(json_object_get(json_object_get(ctx, "conf"), "idle_stop"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(ctx, "overrides"), "idle_stop")),
                            "1h");
        assert_int_equal(cfg_idle_stop(&e, o), 3600);
        assert_int_equal(cfg_idle_stop(&e, NULL), 1800);
        json_decref(ctx);
        json_decref(o);
        static const struct {
                const char *overrides, *msg;
        } cases[] = {
                {"{\"idle_stop\": \"1m\"}", "idle_stop: 1m is below the minimum 5m"},
                {"{\"idle_stop\": \"9h\"}", "idle_stop: 9h is above the maximum 8h"},
                {"{\"idle_stop\": \"off\"}", "idle_stop: off (never) is not allowed: the maximum is 8h"},
                {"{\"idle_stop\": 0}", "idle_stop: 0 (never) is not allowed: the maximum is 8h"},
                {"{\"idle_stop\": 30}",
                 "idle_stop: 30 is not a duration such as 90s, 30m, 2h or 1h30m, or off: must be a string such "
                 "as 30m (or off)"},
                {"{\"idle_stop\": \"soon\"}",
                 "idle_stop: soon is not a duration such as 90s, 30m, 2h or 1h30m, or off: \"s\" where a number "
                 "was expected"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *got = ctx_error(&e, cases[i].overrides);
                if (strcmp(got, cases[i].msg))
                        fail_msg("%s:\n  want %s\n  got  %s", cases[i].overrides, cases[i].msg, got);
                free(got);
        }
        json_decref(e.doc);

        /* without a max, off is a user's choice; a default is used when the
         * configuration sets none, and stays out of conf */
        e.doc = parse_ok("idle2.yaml", "overridable:\n  idle_stop: {type: duration, min: 1m, default: 2h}\n");
        o = jparse("{\"idle_stop\": \"off\"}");
        assert_int_equal(cfg_context(&e, o, NULL, &ctx, &err), 0);
        assert_int_equal(json_object_size(json_object_get(ctx, "conf")), 0);
        assert_int_equal(cfg_idle_stop(&e, o), 0);
        assert_int_equal(cfg_idle_stop(&e, NULL), 7200);
        json_decref(ctx);
        json_decref(o);
        json_decref(e.doc);

        /* not overridable: refused like any property */
        e.doc = parse_ok("idle3.yaml", "idle_stop: 4s\n");
        assert_int_equal(cfg_idle_stop(&e, NULL), 4);
        err = ctx_error(&e, "{\"idle_stop\": \"1h\"}");
        assert_string_equal(err, "idle_stop is not overridable in configuration idle");
        free(err);
        json_decref(e.doc);
        e.doc = parse_ok("idle4.yaml", "idle_stop: off\n"); /* YAML 1.2: a string */
        assert_string_equal(json_string_value(json_object_get(e.doc, "idle_stop")), "off");
        json_decref(e.doc);
        e.doc = parse_ok("idle5.yaml", "master: local\n");
        assert_int_equal(cfg_idle_stop(&e, NULL), 0);
        json_decref(e.doc);
}

static void check_summary(const char *yaml, const char *want) {
        struct cfg_entry e = {.name = "s"};
        e.doc = parse_ok("s.yaml", yaml);
        json_t *got = cfg_summary(&e), *w = jparse(want);
        if (!json_equal(got, w))
                fail_msg("summary of %s: got %s", yaml, json_dumps(got, JSON_SORT_KEYS));
        json_decref(got);
        json_decref(w);
        json_decref(e.doc);
}

static void test_summary(void **state) {
        (void)state;
        check_summary("{}", "{\"master\": \"local[*]\", \"cores\": \"*\", \"memory\": null}");
        check_summary("master: local\nconf: {spark.driver.memory: 2g}",
                      "{\"master\": \"local\", \"cores\": 1, \"memory\": \"2g\"}");
        check_summary("master: local[4]", "{\"master\": \"local[4]\", \"cores\": 4, \"memory\": null}");
        check_summary("master: local[3,2]", "{\"master\": \"local[3,2]\", \"cores\": 3, \"memory\": null}");
        check_summary("master: local[*,2]", "{\"master\": \"local[*,2]\", \"cores\": \"*\", \"memory\": null}");
        check_summary("master: local[x]", "{\"master\": \"local[x]\", \"cores\": null, \"memory\": null}");
        check_summary("master: yarn\nconf: {spark.executor.instances: 3, spark.executor.cores: \"2\","
                      " spark.cores.max: 100, spark.executor.memory: 4g, spark.driver.memory: 1g}",
                      "{\"master\": \"yarn\", \"cores\": 6, \"memory\": \"4g\"}");
        check_summary("master: spark://h:7077\nconf: {spark.cores.max: 16}",
                      "{\"master\": \"spark://h:7077\", \"cores\": 16, \"memory\": null}");
        check_summary("master: k8s://x\nconf: {spark.executor.instances: 3}",
                      "{\"master\": \"k8s://x\", \"cores\": null, \"memory\": null}");
        struct cfg_entry bad = {.name = "bad", .error = "x"};
        json_t *got = cfg_summary(&bad), *w = jparse("{\"master\": null, \"cores\": null, \"memory\": null}");
        assert_true(json_equal(got, w));
        json_decref(got);
        json_decref(w);
}

/* ---- writing and deleting user configurations -------------------------------------- */

static const char *tricky_json =
        "{\"name\": \"tricky\", \"display_name\": \"It's \\\"quoted\\\" — ✨ 😀\","
        " \"description\": \"line1\\nline2\\ttab\\r\\u0001\\u007f\\u0085\\u2028\\u2029\\ufeff\\\\ # not a comment: x\","
        " \"master\": \"local[2]\", \"app_name\": \"true\","
        " \"conf\": {\"spark.a\": \"123\", \"spark.b\": \"null\", \"spark.c\": 1.5, \"spark.d\": 1e+16,"
        "  \"spark.e\": 0.1, \"spark.f\": -0.0, \"spark.g\": 42, \"spark.h\": true, \"spark.i\": \"\","
        "  \"spark.j\": \"- x\", \"spark.k\": \"~\", \"spark.l\": \"0x10\", \"spark.\\\"q\\\"\": \"'\","
        "  \"true\": \"key named true\", \"1\": \"key named 1\", \"spark.m\": 5e-324},"
        " \"env\": {\"E\": \"  spaced  \"},"
        " \"overridable\": {\"spark.a\": {\"type\": \"string\", \"max_length\": 10, \"default\": \"x: y\"},"
        "   \"spark.g\": {\"type\": \"int\", \"min\": -5, \"max\": 50},"
        "   \"spark.c\": {\"type\": \"choice\", \"choices\": [1.5, \"a\", false]}},"
        " \"prewarm\": true,"
        " \"error_hints\": [{\"pattern\": \"a.*b\", \"hint\": \"c\"}, {\"pattern\": \"[\", \"hint\": \"{\"}]}";

static void test_write_round_trip(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        json_t *in = jparse(tricky_json), *doc = NULL;
        char *err = NULL;
        assert_int_equal(cfg_validate_json_as(in, "tricky", &doc, &err), 0);
        assert_int_equal(cfg_write_user(d.user, "tricky", doc, NULL, &err), 0);

        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/tricky.yaml", d.user);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(d.user, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);

        struct cfg_set *s = load(&d);
        const struct cfg_entry *e = must_find(s, "tricky");
        if (e->error)
                fail_msg("%s", e->error);
        json_t *back = json_copy(e->doc);
        assert_string_equal(json_string_value(json_object_get(back, "source")), "user");
        assert_string_equal(json_string_value(json_object_get(back, "path")), path);
        json_object_del(back, "source");
        json_object_del(back, "path");
        if (!json_equal(back, doc))
                fail_msg("round trip:\n  want %s\n  got  %s", json_dumps(doc, JSON_SORT_KEYS),
                         json_dumps(back, JSON_SORT_KEYS));
        json_decref(back);

        /* Writing again goes to the same file; a body without a name works. */
        json_t *in2 = jparse("{\"description\": \"v2\"}"), *doc2 = NULL;
        assert_int_equal(cfg_validate_json_as(in2, "tricky", &doc2, &err), 0);
        assert_int_equal(cfg_write_user(d.user, "tricky", doc2, s, &err), 0);
        cfg_set_free(s);
        s = load(&d);
        e = must_find(s, "tricky");
        assert_string_equal(json_string_value(json_object_get(e->doc, "description")), "v2");
        cfg_set_free(s);

        json_decref(in);
        json_decref(in2);
        json_decref(doc);
        json_decref(doc2);
        dirs_free(&d);
}

static void test_write_refused(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        put_file(d.a1, "locked.yaml", "locked: true\n");
        struct cfg_set *s = load(&d);
        json_t *in = jparse("{}"), *doc = NULL;
        char *err = NULL;
        assert_int_equal(cfg_validate_json_as(in, "locked", &doc, &err), 0);
        assert_int_equal(cfg_write_user(d.user, "locked", doc, s, &err), -EPERM);
        assert_string_equal(err, "configuration locked is locked by the administrator");
        free(err);
        assert_int_equal(cfg_write_user(d.user, "other", doc, s, &err), -EINVAL);
        free(err);
        assert_int_equal(cfg_write_user(d.user, "../x", doc, s, &err), -EINVAL);
        free(err);
        char path[8192];
        snprintf(path, sizeof path, "%s/locked.yaml", d.user);
        assert_int_equal(access(path, F_OK), -1);
        json_decref(doc);
        json_decref(in);
        cfg_set_free(s);
        dirs_free(&d);
}

static void test_delete_user(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        put_file(d.user, "mine.yaml", "master: local\n");
        put_file(d.user, "old.yml", "master: local\n");
        put_file(d.user, "file.yaml", "name: named\n");
        put_file(d.user, "broken.yaml", "{{{\n");
        assert_int_equal(cfg_delete_user(d.user, "mine"), 0);
        assert_int_equal(cfg_delete_user(d.user, "mine"), -ENOENT);
        assert_int_equal(cfg_delete_user(d.user, "old"), 0);
        assert_int_equal(cfg_delete_user(d.user, "file"), -ENOENT);
        assert_int_equal(cfg_delete_user(d.user, "named"), 0);
        assert_int_equal(cfg_delete_user(d.user, "broken"), 0);
        assert_int_equal(cfg_delete_user(d.user, ".."), -EINVAL);
        assert_int_equal(cfg_delete_user("/nonexistent/sparkd", "x"), -ENOENT);
        struct cfg_set *s = load(&d);
        assert_int_equal(s->n, 0);
        cfg_set_free(s);
        dirs_free(&d);
}

/* An admin directory of YAML files alone uses the shipped templates; the
 * shipped directory's own YAML files are not loaded unless it is an admin
 * directory too, and its templates come after every admin directory's. */
static void test_templates_from_the_shipped_dir(void **state) {
        (void)state;
        struct dirs d;
        dirs_make(&d);
        char shipped[4096];
        snprintf(shipped, sizeof shipped, "%s/shipped", d.root);
        put_file(shipped, "templates/default.py.j2", "shipped = {{ master }}\n");
        put_file(shipped, "templates/only-shipped.j2", "s = 1\n");
        put_file(shipped, "shipped-one.yaml", "master: local\n");
        put_file(d.a2, "bare.yaml", "master: local\ntemplate: only-shipped.j2\n");
        put_file(d.a2, "plain.yaml", "master: local\n");
        put_file(d.a2, "nowhere.yaml", "master: local\ntemplate: nope.j2\n");
        const char *admin[] = {d.a2};
        struct cfg_set *s = NULL;
        assert_int_equal(cfg_load(admin, 1, NULL, shipped, &s), 0);
        assert_non_null(must_find(s, "bare")->tmpl);
        assert_non_null(must_find(s, "plain")->tmpl);
        assert_null(cfg_find(s, "shipped-one"));
        char want[16384];
        snprintf(want, sizeof want,
                 "%s/nowhere.yaml:2:11: template \"nope.j2\" not found in %s/templates, an admin "
                 "templates directory or %s/templates",
                 d.a2, d.a2, shipped);
        assert_string_equal(must_find(s, "nowhere")->error, want);
        cfg_set_free(s);
        /* without it, the same directory misses both templates */
        assert_int_equal(cfg_load(admin, 1, NULL, NULL, &s), 0);
        assert_non_null(strstr(must_find(s, "bare")->error, "template \"only-shipped.j2\" not found"));
        assert_non_null(strstr(must_find(s, "plain")->error, "template \"default.py.j2\" not found"));
        cfg_set_free(s);
        /* an admin directory's template wins over the shipped one */
        const char *both[] = {d.a1, d.a2};
        assert_int_equal(cfg_load(both, 2, NULL, shipped, &s), 0);
        char *out = NULL;
        size_t len = 0;
        struct tmpl_err te = {0};
        json_t *ctx = json_pack("{s:s}", "master", "local");
        assert_int_equal(tmpl_render(must_find(s, "plain")->tmpl, ctx, &out, &len, &te), 0);
        assert_string_equal(out, "spark = \"local\"\n");
        free(out);
        json_decref(ctx);
        cfg_set_free(s);
        dirs_free(&d);
}

/* ---- the shipped configurations ---------------------------------------------------- */

static void test_shipped_configs(void **state) {
        (void)state;
        const char *admin[] = {"configs"};
        struct cfg_set *s = NULL;
        assert_int_equal(cfg_load(admin, 1, NULL, NULL, &s), 0);
        dump_diags(s);
        assert_int_equal(s->n_diags, 0);
        const char *want[] = {"connect",    "kubernetes", "local", "local-large",
                              "slurm",      "standalone", "standalone-ephemeral", "yarn"};
        assert_int_equal(s->n, sizeof want / sizeof *want);
        assert_string_equal(s->default_name, "local");
        assert_int_equal(mkdir_p(RENDER_DIR, 0755), 0);
        for (size_t i = 0; i < s->n; i++) {
                const struct cfg_entry *e = &s->entries[i];
                assert_string_equal(e->name, want[i]);
                assert_null(e->error);
                /* What the daemon adds for the startup file (startup.c). */
                json_t *ctx = NULL, *extra = jparse(
                        "{\"version\": \"0\", \"public_prefix\": \"\", \"eager\": false,"
                        " \"kernel_id\": null, \"ui_port\": null, \"ui_path\": null,"
                        " \"remote\": null}");
                char *err = NULL, *out = NULL, path[512];
                struct tmpl_err te;
                size_t len;
                assert_int_equal(cfg_context(e, NULL, extra, &ctx, &err), 0);
                if (tmpl_render(e->tmpl, ctx, &out, &len, &te) < 0)
                        fail_msg("%s: render: %d:%d: %s", e->name, te.line, te.col, te.msg);
                snprintf(path, sizeof path, RENDER_DIR "/%s.py", e->name);
                assert_int_equal(write_file_atomic(path, out, len, 0644), 0);
                free(out);
                json_decref(ctx);
                json_decref(extra);
        }
        cfg_set_free(s);
}

int main(void) {
        load_cases();
        struct CMUnitTest *parse = calloc(n_cases, sizeof *parse);
        for (size_t i = 0; i < n_cases; i++)
                parse[i] = (struct CMUnitTest){.name = pcases[i].file,
                                               .test_func = test_parse_case,
                                               .initial_state = &pcases[i]};
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name_valid),
                cmocka_unit_test(test_too_big),
                cmocka_unit_test(test_too_deep_is_e2big),
                cmocka_unit_test(test_billion_laughs_refused),
                cmocka_unit_test(test_validate_json),
                cmocka_unit_test(test_load_merge),
                cmocka_unit_test(test_user_default_counts_without_admin_default),
                cmocka_unit_test(test_no_default),
                cmocka_unit_test(test_missing_dirs),
                cmocka_unit_test(test_templates),
                cmocka_unit_test(test_templates_from_the_shipped_dir),
                cmocka_unit_test(test_big_file_entry),
                cmocka_unit_test(test_context),
                cmocka_unit_test(test_context_errors),
                cmocka_unit_test(test_duration_parse),
                cmocka_unit_test(test_idle_stop_overrides),
                cmocka_unit_test(test_summary),
                cmocka_unit_test(test_write_round_trip),
                cmocka_unit_test(test_write_refused),
                cmocka_unit_test(test_delete_user),
                cmocka_unit_test(test_shipped_configs),
        };
        int failed = _cmocka_run_group_tests("config_parse_cases", parse, n_cases, NULL, NULL);
        failed += cmocka_run_group_tests_name("config", tests, NULL, NULL);
        for (size_t i = 0; i < n_cases; i++) {
                free(pcases[i].file);
                free(pcases[i].yaml);
                free(pcases[i].expect);
        }
        free(pcases);
        free(parse);
        return failed ? 1 : 0;
}
