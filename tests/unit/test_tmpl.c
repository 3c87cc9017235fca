/* Unit tests for the template engine: every case of
 * tests/data/templates/<name>.test (format in that directory's README), then one
 * test per error kind and per limit. */
#include "unit.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>

#include "tmpl.h"

#define CORPUS_DIR "tests/data/templates"

/* ---- the corpus ---- */

struct tcase {
        const char *file;
        int line;
        char name[128];
        char *tmpl, *ctx, *out, *error;
        size_t tmpl_len, out_len;
};

static char *slurp(const char *path, size_t *len) {
        FILE *f = fopen(path, "rbe");
        assert_non_null(f);
        char *buf = NULL;
        size_t cap = 0, n = 0, got;
        do {
                if (n + 4096 > cap) {
                        cap = (n + 4096) * 2;
                        buf = realloc(buf, cap);
                        assert_non_null(buf);
                }
                got = fread(buf + n, 1, cap - n - 1, f);
                n += got;
        } while (got);
        fclose(f);
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* Copies a block's text [start, end), dropping the final newline for -NONL. */
static char *block_text(const char *start, const char *end, bool nonl, size_t *len) {
        size_t n = (size_t)(end - start);
        if (nonl && n && start[n - 1] == '\n')
                n--;
        char *s = malloc(n + 1);
        assert_non_null(s);
        memcpy(s, start, n);
        s[n] = '\0';
        if (len)
                *len = n;
        return s;
}

/* Checks that the engine fails as the %%ERROR / %%LIMIT block says. */
static void check_error(const struct tcase *c, int r, const struct tmpl_err *err) {
        if (r >= 0) {
                fail_msg("%s:%d (%s): rendered, expected an error", c->file, c->line, c->name);
        }
        char *save = NULL, *copy = strdup(c->error);
        for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
                int line, col, used = 0;
                if (sscanf(ln, "%d:%d%n", &line, &col, &used) == 2 && ln[used] == '\0') {
                        if (err->line != line || err->col != col)
                                fail_msg("%s:%d (%s): error at %d:%d (%s), expected %d:%d", c->file, c->line, c->name,
                                         err->line, err->col, err->msg, line, col);
                } else if (*ln && !strstr(err->msg, ln)) {
                        fail_msg("%s:%d (%s): error '%s' lacks '%s'", c->file, c->line, c->name, err->msg, ln);
                }
        }
        free(copy);
}

static void run_case(const struct tcase *c) {
        json_error_t jerr;
        json_t *ctx = json_loads(c->ctx ? c->ctx : "{}", 0, &jerr);
        if (!ctx)
                fail_msg("%s:%d (%s): bad context: %s", c->file, c->line, c->name, jerr.text);
        tmpl *t = NULL;
        struct tmpl_err err = {0};
        char *out = NULL;
        size_t len = 0;
        int r = tmpl_compile(c->tmpl, c->tmpl_len, &t, &err);
        if (r >= 0)
                r = tmpl_render(t, ctx, &out, &len, &err);
        if (c->error) {
                check_error(c, r, &err);
        } else if (r < 0) {
                fail_msg("%s:%d (%s): failed at %d:%d: %s", c->file, c->line, c->name, err.line, err.col, err.msg);
        } else if (len != c->out_len || memcmp(out, c->out, len) != 0) {
                fail_msg("%s:%d (%s): rendered\n[%s]\nexpected\n[%s]", c->file, c->line, c->name, out, c->out);
        }
        free(out);
        tmpl_free(t);
        json_decref(ctx);
}

static void free_case(struct tcase *c) {
        free(c->tmpl);
        free(c->ctx);
        free(c->out);
        free(c->error);
        memset(c, 0, sizeof *c);
}

/* Stores the block [start, end) of kind into c. */
static void store_block(struct tcase *c, const char *kind, bool nonl, const char *start, const char *end) {
        if (!strcmp(kind, "TEMPLATE"))
                c->tmpl = block_text(start, end, nonl, &c->tmpl_len);
        else if (!strcmp(kind, "CONTEXT"))
                c->ctx = block_text(start, end, nonl, NULL);
        else if (!strcmp(kind, "OUTPUT"))
                c->out = block_text(start, end, nonl, &c->out_len);
        else if (!strcmp(kind, "ERROR") || !strcmp(kind, "LIMIT")) {
                c->error = block_text(start, end, nonl, NULL);
        }
}

/* Runs every case of one file; returns how many. */
static int run_file(const char *path) {
        size_t len;
        char *data = slurp(path, &len), *p = data, *end = data + len;
        struct tcase c = {.file = path};
        char kind[16] = "";
        bool nonl = false;
        const char *block = NULL;
        int lineno = 0, count = 0;
        while (p < end) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                char *next = nl ? nl + 1 : end;
                lineno++;
                if (p[0] == '%' && p[1] == '%') {
                        if (block)
                                store_block(&c, kind, nonl, block, p);
                        int used = 0;
                        sscanf(p + 2, "%15[A-Z]%n", kind, &used);
                        nonl = strncmp(p + 2 + used, "-NONL", 5) == 0;
                        block = next;
                        if (!strcmp(kind, "TEMPLATE")) {
                                c.line = lineno;
                                const char *nm = p + 2 + used + (nonl ? 5 : 0);
                                while (*nm == ' ')
                                        nm++;
                                snprintf(c.name, sizeof c.name, "%.*s", (int)((nl ? nl : end) - nm), nm);
                        } else if (!strcmp(kind, "END")) {
                                if (!c.tmpl || !c.out == !c.error)
                                        fail_msg("%s:%d: malformed case", path, c.line);
                                run_case(&c);
                                free_case(&c);
                                c.file = path;
                                block = NULL;
                                count++;
                        }
                }
                p = next;
        }
        if (block)
                fail_msg("%s: unterminated case", path);
        free(data);
        return count;
}

static void test_corpus(void **state) {
        (void)state;
        DIR *d = opendir(CORPUS_DIR);
        assert_non_null(d);
        struct dirent *e;
        int files = 0, cases = 0;
        while ((e = readdir(d))) {
                size_t n = strlen(e->d_name);
                if (n < 6 || strcmp(e->d_name + n - 5, ".test") != 0)
                        continue;
                char path[512];
                snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, e->d_name);
                cases += run_file(path);
                files++;
        }
        closedir(d);
        printf("# %d template cases in %d files\n", cases, files);
        assert_true(files >= 5);
        assert_true(cases >= 150);
}

/* ---- single behaviours ---- */

/* Compiles and renders src with the JSON context ctx_json; returns the
 * error code and fills *out (malloc'd) on success. */
static int render(const char *src, size_t len, const char *ctx_json, char **out, size_t *out_len,
                  struct tmpl_err *err) {
        json_t *ctx = json_loads(ctx_json ? ctx_json : "{}", JSON_ALLOW_NUL, NULL);
        assert_non_null(ctx);
        tmpl *t = NULL;
        int r = tmpl_compile(src, len, &t, err);
        if (r >= 0)
                r = tmpl_render(t, ctx, out, out_len, err);
        tmpl_free(t);
        json_decref(ctx);
        return r;
}

static int render_s(const char *src, const char *ctx_json, struct tmpl_err *err) {
        char *out = NULL;
        int r = render(src, strlen(src), ctx_json, &out, NULL, err);
        free(out);
        return r;
}

/* The `sh` filter: one shell word that a real /bin/sh reads back as the
 * value; none, undefined and NUL bytes refused. */
static void test_sh_filter(void **state) {
        (void)state;
        static const char *const values[] = {"plain", "", "it's", "''", "a b\tc\nd", "$(id) `id` $HOME \\ \"q\"",
                                             "-n", "\xc3\xa9t\xc3\xa9", "*?[a]", "x'; rm -rf / #"};
        for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
                json_t *ctx = json_pack("{s:s}", "v", values[i]);
                tmpl *t = NULL;
                struct tmpl_err err = {0};
                char *out = NULL;
                assert_int_equal(tmpl_compile("printf %s {{ v | sh }}", 22, &t, &err), 0);
                assert_int_equal(tmpl_render(t, ctx, &out, NULL, &err), 0);
                FILE *f = popen(out, "r");
                assert_non_null(f);
                char got[256] = "";
                size_t n = fread(got, 1, sizeof got - 1, f);
                got[n] = '\0';
                assert_int_equal(pclose(f), 0);
                assert_string_equal(got, values[i]);
                free(out);
                tmpl_free(t);
                json_decref(ctx);
        }
        struct tmpl_err err = {0};
        char *out = NULL;
        assert_int_equal(render("{{ 12 | sh }}", 13, NULL, &out, NULL, &err), 0);
        assert_string_equal(out, "'12'");
        free(out);
        assert_int_equal(render_s("{{ v | sh }}", "{\"v\": null}", &err), -EINVAL);
        assert_string_equal(err.msg, "sh: the value is none, not a word for the shell");
        assert_int_equal(render_s("{{ nothing | sh }}", "{}", &err), -EINVAL);
        assert_int_equal(render_s("{{ v | sh }}", "{\"v\": \"a\\u0000b\"}", &err), -EINVAL);
        assert_string_equal(err.msg, "sh: a value with a NUL byte cannot be a shell word");
}

static void test_compile_error_leaves_ret(void **state) {
        (void)state;
        tmpl *t = (tmpl *)0x1;
        struct tmpl_err err = {0};
        assert_int_equal(tmpl_compile("{% if %}", 8, &t, &err), -EINVAL);
        assert_ptr_equal(t, (tmpl *)0x1);
        assert_int_equal(err.line, 1);
        assert_int_equal(err.col, 7);
        assert_non_null(strstr(err.msg, "unexpected '%}'"));
}

static void test_syntax_error_position(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("ok\n\n  {{ 1 + }}", NULL, &err), -EINVAL);
        assert_int_equal(err.line, 3);
        assert_int_equal(err.col, 10);
        assert_string_equal(err.msg, "unexpected '}}', expected an expression");
}

static void test_unclosed_block(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("a\n {% for x in y %}\n", NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "unclosed block 'for' opened at 2:2");
        assert_int_equal(err.line, 2);
        assert_int_equal(err.col, 2);
}

static void test_undefined_name(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{{ a }}\n{{ b }}", "{\"a\": 1}", &err), -EINVAL);
        assert_string_equal(err.msg, "'b' is undefined");
        assert_int_equal(err.line, 2);
        assert_int_equal(err.col, 4);
}

static void test_type_error(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{{ x + 1 }}", "{\"x\": \"s\"}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "unsupported operand type(s) for +: 'str' and 'int'"));
}

static void test_invalid_utf8(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        tmpl *t = NULL;
        assert_int_equal(tmpl_compile("ab\n c\xff", 6, &t, &err), -EINVAL);
        assert_null(t);
        assert_int_equal(err.line, 2);
        assert_int_equal(err.col, 3);
        assert_string_equal(err.msg, "template is not valid UTF-8");
        assert_int_equal(tmpl_compile("\xed\xa0\x80", 3, &t, &err), -EINVAL); /* a surrogate */
}

static void test_context_not_object(void **state) {
        (void)state;
        tmpl *t = NULL;
        struct tmpl_err err = {0};
        char *out = NULL;
        assert_int_equal(tmpl_compile("x", 1, &t, &err), 0);
        json_t *arr = json_array();
        assert_int_equal(tmpl_render(t, arr, &out, NULL, &err), -EINVAL);
        assert_null(out);
        json_decref(arr);
        tmpl_free(t);
}

static void test_source_limit(void **state) {
        (void)state;
        size_t n = TMPL_MAX_SOURCE + 1;
        char *src = malloc(n);
        assert_non_null(src);
        memset(src, 'a', n);
        tmpl *t = NULL;
        struct tmpl_err err = {0};
        assert_int_equal(tmpl_compile(src, n, &t, &err), -E2BIG);
        assert_null(t);
        assert_string_equal(err.msg, "template exceeds 262144 bytes");
        /* exactly at the limit is fine */
        assert_int_equal(tmpl_compile(src, n - 1, &t, &err), 0);
        t = tmpl_free(t);
        free(src);
}

static void test_block_depth_limit(void **state) {
        (void)state;
        char src[2048] = "", close[2048] = "";
        for (unsigned i = 0; i < TMPL_MAX_DEPTH; i++) {
                strcat(src, "{% if 1 %}");
                strcat(close, "{% endif %}");
        }
        strcat(src, "x");
        strcat(src, close);
        struct tmpl_err err = {0};
        assert_int_equal(render_s(src, NULL, &err), 0); /* 64 levels: fine */
        char deeper[2100] = "{% if 1 %}";
        strcat(deeper, src);
        strcat(deeper, "{% endif %}");
        assert_int_equal(render_s(deeper, NULL, &err), -E2BIG);
        assert_string_equal(err.msg, "blocks nest deeper than 64 levels");
}

static void test_expression_depth_limit(void **state) {
        (void)state;
        char src[4096] = "{{ ";
        for (int i = 0; i < 1000; i++)
                strcat(src, "-");
        strcat(src, "1 }}");
        struct tmpl_err err = {0};
        assert_int_equal(render_s(src, NULL, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "nests deeper than 64 levels"));
        strcpy(src, "{{ ");
        for (int i = 0; i < 1000; i++)
                strcat(src, "not ");
        strcat(src, "1 }}");
        assert_int_equal(render_s(src, NULL, &err), -E2BIG);
        strcpy(src, "{{ x");
        for (int i = 0; i < 100; i++)
                strcat(src, "|upper");
        strcat(src, " }}");
        assert_int_equal(render_s(src, "{\"x\": \"a\"}", &err), -E2BIG);
}

static void test_output_limit(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{% for i in range(5000) %}{{ x }}{% endfor %}", NULL, &err), -EINVAL);
        /* a value of 1000 bytes printed 5000 times: 5 MB */
        char ctx[1100] = "{\"x\": \"";
        memset(ctx + 7, 'a', 1000);
        strcpy(ctx + 1007, "\"}");
        assert_int_equal(render_s("{% for i in range(5000) %}{{ x|safe }}{% endfor %}", ctx, &err), -E2BIG);
        assert_string_equal(err.msg, "output exceeds 4194304 bytes");
        assert_int_equal(render_s("{% for i in range(5000) %}{{ x }}{% endfor %}", ctx, &err), -E2BIG);
        assert_int_equal(render_s("{% for i in range(4000) %}{{ x|safe }}{% endfor %}", ctx, &err), 0);
}

static void test_loop_limit(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{% for i in range(100000) %}{% endfor %}", NULL, &err), 0);
        assert_int_equal(render_s("{% for i in range(100000) %}{% endfor %}{% for i in [1] %}{% endfor %}", NULL, &err),
                         -E2BIG);
        assert_string_equal(err.msg, "loop iterations exceed 100000");
}

static void test_string_limit(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{{ ('x' * 4194305)|length }}", NULL, &err), -E2BIG);
        assert_int_equal(render_s("{{ ('x' * 4194304)|length }}", NULL, &err), 0);
        assert_int_equal(render_s("{% set s = 'x' * 3000000 %}{{ (s ~ s)|length }}", NULL, &err), -E2BIG);
        assert_int_equal(render_s("{% set s = 'x' * 3000000 %}{{ s|replace('x', 'yy')|length }}", NULL, &err),
                         -E2BIG);
}

static void test_integer_overflow(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{{ x * x }}", "{\"x\": 4294967296}", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "integer overflow"));
        assert_int_equal(render_s("{{ -x }}", "{\"x\": -9223372036854775808}", &err), -EINVAL);
        assert_int_equal(render_s("{{ 2 ** 64 }}", NULL, &err), -EINVAL);
}

static void test_nul_bytes(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        char *out = NULL;
        size_t len = 0;
        static const char src[] = "a\0b{{ s }}{{ s|safe }}";
        assert_int_equal(render(src, sizeof src - 1, "{\"s\": \"x\\u0000y\"}", &out, &len, &err), 0);
        static const char want[] = "a\0b\"x\\u0000y\"x\0y";
        assert_int_equal(len, sizeof want - 1);
        assert_memory_equal(out, want, len);
        free(out);
}

static void test_render_twice_ctx_untouched(void **state) {
        (void)state;
        tmpl *t = NULL;
        struct tmpl_err err = {0};
        static const char src[] = "{% set x = d.a %}{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}{{ d|dictsort|tojson }}";
        assert_int_equal(tmpl_compile(src, sizeof src - 1, &t, &err), 0);
        json_t *ctx = json_loads("{\"d\": {\"b\": [1], \"a\": \"x\"}}", 0, NULL);
        char *before = json_dumps(ctx, JSON_PRESERVE_ORDER);
        for (int i = 0; i < 2; i++) {
                char *out = NULL;
                size_t len = 0;
                assert_int_equal(tmpl_render(t, ctx, &out, &len, &err), 0);
                assert_string_equal(out, "\"b\"[1]\"a\"\"x\"[[\"a\", \"x\"], [\"b\", [1]]]");
                assert_int_equal(len, strlen(out));
                free(out);
        }
        char *after = json_dumps(ctx, JSON_PRESERVE_ORDER);
        assert_string_equal(before, after);
        assert_int_equal(ctx->refcount, 1);
        free(before);
        free(after);
        json_decref(ctx);
        assert_null(tmpl_free(t));
        assert_null(tmpl_free(NULL));
}

static void test_empty_output(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        char *out = NULL;
        size_t len = 7;
        assert_int_equal(render("", 0, NULL, &out, &len, &err), 0);
        assert_non_null(out);
        assert_string_equal(out, "");
        assert_int_equal(len, 0);
        free(out);
}

static void test_unknown_filter_at_runtime(void **state) {
        (void)state;
        struct tmpl_err err = {0};
        assert_int_equal(render_s("{% if false %}{{ 1|nope }}{% endif %}", NULL, &err), 0);
        assert_int_equal(render_s("{% if true %}\n{{ 1|nope }}{% endif %}", NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "no filter named 'nope'");
        assert_int_equal(err.line, 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
                cmocka_unit_test(test_compile_error_leaves_ret),
                cmocka_unit_test(test_sh_filter),
                cmocka_unit_test(test_syntax_error_position),
                cmocka_unit_test(test_unclosed_block),
                cmocka_unit_test(test_undefined_name),
                cmocka_unit_test(test_type_error),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_context_not_object),
                cmocka_unit_test(test_source_limit),
                cmocka_unit_test(test_block_depth_limit),
                cmocka_unit_test(test_expression_depth_limit),
                cmocka_unit_test(test_output_limit),
                cmocka_unit_test(test_loop_limit),
                cmocka_unit_test(test_string_limit),
                cmocka_unit_test(test_integer_overflow),
                cmocka_unit_test(test_nul_bytes),
                cmocka_unit_test(test_render_twice_ctx_untouched),
                cmocka_unit_test(test_empty_output),
                cmocka_unit_test(test_unknown_filter_at_runtime),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
