/* test_http.c — http_parse and friends: the case tables in tests/data/http/
 * (formats documented at their top), the limits, pipelining, incremental
 * feeding, cookies, query parameters and responses. */
#include "unit.h"

#include <errno.h>
#include <stdbool.h>

#include "http.h"
#include "strbuf.h"

#define REQUESTS_FILE "tests/data/http/requests.test"
#define PARAMS_FILE "tests/data/http/params.test"

/* The parser's output is large: one shared instance. */
static struct http_request req_storage;
static struct http_request *req = &req_storage;

/* ------------------------------------------------------------ helpers */

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Appends s[0..n) to sb with \r \n \t \\ \0 \xHH unescaped. */
static void unescape_into(struct strbuf *sb, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '\\' && i + 1 < n) {
                        char e = s[++i];
                        switch (e) {
                        case 'r': c = '\r'; break;
                        case 'n': c = '\n'; break;
                        case 't': c = '\t'; break;
                        case '0': c = '\0'; break;
                        case '\\': c = '\\'; break;
                        case 'x':
                                assert_true(i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
                                c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                                i += 2;
                                break;
                        default: fail_msg("unknown escape \\%c", e);
                        }
                }
                assert_int_equal(sb_putc(sb, c), 0);
        }
}

/* A malloc'd copy of s[0..n) with nothing after it, so ASan sees over-reads. */
static char *exact_copy(const char *s, size_t n) {
        char *p = malloc(n ? n : 1);
        assert_non_null(p);
        if (n)
                memcpy(p, s, n);
        return p;
}

static int parse_exact(const char *s, size_t n, const char **err) {
        char *p = exact_copy(s, n);
        int r = http_parse(p, n, req, err);
        free(p);
        return r;
}

/* Reads a whole file as a list of lines (the NULs replace the newlines). */
static char **read_lines(const char *path, size_t *ret_n) {
        FILE *f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s (run from the repository root)", path);
        size_t n = 0, cap = 0;
        char **lines = NULL;
        char *line = NULL;
        size_t lcap = 0;
        ssize_t l;
        while ((l = getline(&line, &lcap, f)) >= 0) {
                if (l > 0 && line[l - 1] == '\n')
                        line[l - 1] = '\0';
                if (n == cap) {
                        cap = cap ? cap * 2 : 256;
                        lines = realloc(lines, cap * sizeof(*lines));
                        assert_non_null(lines);
                }
                lines[n++] = strdup(line);
        }
        free(line);
        fclose(f);
        *ret_n = n;
        return lines;
}

static void free_lines(char **lines, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
}

/* ------------------------------------------------------------ request table */

struct req_case {
        const char *name;
        int line;          /* of %%REQUEST, for messages */
        char *input;
        size_t len;
        char **expect;     /* key=value lines */
        size_t n_expect;
};

static int failures;

#define CHECK(cond, ...)                                                                          \
        do {                                                                                      \
                if (!(cond)) {                                                                    \
                        fprintf(stderr, "%s:%d: %s: ", REQUESTS_FILE, c->line, c->name);          \
                        fprintf(stderr, __VA_ARGS__);                                             \
                        fputc('\n', stderr);                                                      \
                        failures++;                                                               \
                        return;                                                                   \
                }                                                                                 \
        } while (0)

static int expected_result(const struct req_case *c) {
        for (size_t i = 0; i < c->n_expect; i++)
                if (strncmp(c->expect[i], "result=", 7) == 0)
                        return strcmp(c->expect[i] + 7, "all") == 0 ? (int)c->len
                                                                     : atoi(c->expect[i] + 7);
        fail_msg("%s:%d: %s: no result= line", REQUESTS_FILE, c->line, c->name);
        return 0;
}

static bool str_is(const char *got, const char *want_escaped) {
        struct strbuf sb = STRBUF_INIT;
        unescape_into(&sb, want_escaped, strlen(want_escaped));
        bool ok = got && strlen(got) == sb.len && memcmp(got, sb.buf ? sb.buf : "", sb.len) == 0;
        sb_free(&sb);
        return ok;
}

/* Checks one "key=value" expectation against *req (and err).  with_body
 * is false once the caller's buffer has been overwritten. */
static void check_field(const struct req_case *c, const char *kv, const char *err, bool with_body) {
        const char *eq = strchr(kv, '=');
        CHECK(eq, "bad expect line '%s'", kv);
        size_t klen = (size_t)(eq - kv);
        const char *v = eq + 1;
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)klen, kv);
        if (strcmp(key, "result") == 0)
                return;
        if (strcmp(key, "error") == 0) {
                CHECK(err && strstr(err, v), "error '%s' does not contain '%s'", err ? err : "(null)", v);
        } else if (strcmp(key, "method") == 0) {
                CHECK(str_is(req->method, v), "method '%s', want '%s'", req->method, v);
        } else if (strcmp(key, "target") == 0) {
                CHECK(str_is(req->target, v), "target '%s', want '%s'", req->target, v);
        } else if (strcmp(key, "path") == 0) {
                CHECK(str_is(req->path, v), "path '%s', want '%s'", req->path, v);
        } else if (strcmp(key, "query") == 0) {
                CHECK(str_is(req->query, v), "query '%s', want '%s'", req->query, v);
        } else if (strcmp(key, "minor") == 0) {
                CHECK(req->minor == atoi(v), "minor %d, want %s", req->minor, v);
        } else if (strcmp(key, "keep_alive") == 0) {
                CHECK(req->keep_alive == (atoi(v) != 0), "keep_alive %d, want %s", req->keep_alive, v);
        } else if (strcmp(key, "content_length") == 0) {
                CHECK(req->content_length == strtoull(v, NULL, 10), "content_length %zu, want %s",
                      req->content_length, v);
        } else if (strcmp(key, "headers") == 0) {
                CHECK(req->n_headers == strtoull(v, NULL, 10), "%zu headers, want %s", req->n_headers, v);
        } else if (strcmp(key, "body") == 0) {
                if (!with_body)
                        return;
                struct strbuf sb = STRBUF_INIT;
                unescape_into(&sb, v, strlen(v));
                bool ok = req->body_len == sb.len && (sb.len == 0 || memcmp(req->body, sb.buf, sb.len) == 0);
                sb_free(&sb);
                CHECK(ok, "body '%.*s', want '%s'", (int)req->body_len, req->body ? req->body : "", v);
        } else if (strcmp(key, "noheader") == 0) {
                CHECK(http_header(req, v) == NULL, "header %s present", v);
        } else if (strncmp(key, "header:", 7) == 0) {
                const char *h = http_header(req, key + 7);
                CHECK(str_is(h, v), "header %s is '%s', want '%s'", key + 7, h ? h : "(none)", v);
        } else if (strncmp(key, "header#", 7) == 0) {
                size_t i = strtoull(key + 7, NULL, 10);
                CHECK(i < req->n_headers, "no header #%zu", i);
                char both[HTTP_MAX_HEAD + 8];
                snprintf(both, sizeof(both), "%s: %s", req->headers[i].name, req->headers[i].value);
                CHECK(str_is(both, v), "header #%zu is '%s', want '%s'", i, both, v);
        } else {
                CHECK(false, "unknown expect key '%s'", key);
        }
}

static void check_fields(const struct req_case *c, const char *err, bool with_body) {
        for (size_t i = 0; i < c->n_expect; i++)
                check_field(c, c->expect[i], err, with_body);
}

/* Every prefix gives 0 until the result is reached, then the result. */
static void check_prefixes(const struct req_case *c, int want) {
        bool reached = false;
        for (size_t k = 0; k < c->len; k++) {
                int r = parse_exact(c->input, k, NULL);
                if (want > 0)
                        CHECK(r == ((int)k < want ? 0 : want), "prefix %zu gives %d", k, r);
                else if (reached || want == 0)
                        CHECK(r == want, "prefix %zu gives %d after the result", k, r);
                else
                        CHECK(r == 0 || r == want, "prefix %zu gives %d", k, r);
                reached = reached || r != 0;
        }
}

/* The same request twice in a row: the first, then the second from n. */
static void check_pipelined(const struct req_case *c, int n) {
        size_t len = c->len + c->len;
        char *two = malloc(len);
        assert_non_null(two);
        memcpy(two, c->input, c->len);
        memcpy(two + c->len, c->input, c->len);
        int r = http_parse(two, len, req, NULL);
        CHECK(r == n, "pipelined: first gives %d, want %d", r, n);
        r = http_parse(two + n, len - (size_t)n, req, NULL);
        CHECK(r == n, "pipelined: second gives %d, want %d", r, n);
        check_fields(c, NULL, true);
        free(two);
}

static void run_req_case(const struct req_case *c) {
        int want = expected_result(c);
        const char *err = NULL;
        char *buf = exact_copy(c->input, c->len);
        int r = http_parse(buf, c->len, req, &err);
        CHECK(r == want, "result %d (%s), want %d", r, err && r < 0 ? err : "", want);
        int before = failures;
        check_fields(c, err, true);
        if (r > 0) {
                memset(buf, 'X', c->len); /* the request must not point into it */
                check_fields(c, err, false);
        }
        free(buf);
        if (failures != before)
                return;
        check_prefixes(c, want);
        if (want > 0 && (size_t)want == c->len)
                check_pipelined(c, want);
}

static void test_request_table(void **state) {
        (void)state;
        size_t n_lines;
        char **lines = read_lines(REQUESTS_FILE, &n_lines);
        size_t i = 0, n_cases = 0;
        failures = 0;
        while (i < n_lines) {
                if (strncmp(lines[i], "%%REQUEST", 9) != 0) {
                        assert_true(lines[i][0] == '#' || lines[i][0] == '\0');
                        i++;
                        continue;
                }
                struct req_case c = {.name = lines[i] + 9, .line = (int)i + 1};
                struct strbuf in = STRBUF_INIT;
                bool raw = false;
                for (i++; i < n_lines && strcmp(lines[i], "%%EXPECT") != 0; i++) {
                        if (strcmp(lines[i], "%%RAW") == 0 || strcmp(lines[i], "%%REQUEST") == 0) {
                                raw = strcmp(lines[i], "%%RAW") == 0;
                                continue;
                        }
                        unescape_into(&in, lines[i], strlen(lines[i]));
                        if (!raw)
                                assert_int_equal(sb_puts(&in, "\r\n"), 0);
                }
                if (i == n_lines)
                        fail_msg("%s:%d: no %%%%EXPECT", REQUESTS_FILE, c.line);
                c.expect = lines + ++i;
                while (i < n_lines && strncmp(lines[i], "%%", 2) != 0 && lines[i][0] && lines[i][0] != '#')
                        i++;
                c.n_expect = (size_t)(lines + i - c.expect);
                c.input = sb_take(&in, &c.len);
                run_req_case(&c);
                free(c.input);
                n_cases++;
        }
        free_lines(lines, n_lines);
        printf("%zu request cases, %d failed\n", n_cases, failures);
        assert_true(n_cases >= 60);
        assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ params table */

static void run_param_line(bool cookie, const char *subject, const char *line, int lineno) {
        const char *sep = strstr(line, " =>");
        if (!sep)
                fail_msg("%s:%d: no ' =>'", PARAMS_FILE, lineno);
        struct strbuf name = STRBUF_INIT, want = STRBUF_INIT;
        unescape_into(&name, line, (size_t)(sep - line));
        assert_int_equal(sb_putc(&name, '\0'), 0); /* never NULL */
        const char *v = sep + 3;
        if (*v == ' ')
                v++;
        char out[256];
        memset(out, '#', sizeof(out));
        int r = cookie ? http_cookie(subject, name.buf, out, sizeof(out))
                       : http_query_param(subject, name.buf, out, sizeof(out));
        if (strcmp(v, "!ENOENT") == 0 || strcmp(v, "!EINVAL") == 0) {
                int e = v[2] == 'N' ? -ENOENT : -EINVAL;
                if (r != e)
                        fail_msg("%s:%d: got %d, want %s", PARAMS_FILE, lineno, r, v);
                if (out[0] != '#')
                        fail_msg("%s:%d: out written on failure", PARAMS_FILE, lineno);
        } else {
                unescape_into(&want, v, strlen(v));
                if (r != (int)want.len || memcmp(out, want.buf ? want.buf : "", want.len) != 0 ||
                    out[want.len] != '\0')
                        fail_msg("%s:%d: got %d '%.*s', want '%s'", PARAMS_FILE, lineno, r,
                                 r > 0 ? r : 0, out, v);
        }
        sb_free(&name);
        sb_free(&want);
}

static void test_params_table(void **state) {
        (void)state;
        size_t n_lines, n_checks = 0;
        char **lines = read_lines(PARAMS_FILE, &n_lines);
        struct strbuf subject = STRBUF_INIT;
        bool have = false, cookie = false;
        for (size_t i = 0; i < n_lines; i++) {
                const char *l = lines[i];
                if (l[0] == '#' || l[0] == '\0')
                        continue;
                if (strncmp(l, "%%COOKIE", 8) == 0 || strncmp(l, "%%QUERY", 7) == 0) {
                        cookie = l[2] == 'C';
                        l += cookie ? 8 : 7;
                        if (*l == ' ')
                                l++;
                        sb_free(&subject);
                        unescape_into(&subject, l, strlen(l));
                        assert_int_equal(sb_putc(&subject, '\0'), 0);
                        have = true;
                        continue;
                }
                assert_true(have);
                run_param_line(cookie, subject.buf, l, (int)i + 1);
                n_checks++;
        }
        sb_free(&subject);
        free_lines(lines, n_lines);
        printf("%zu cookie/query checks\n", n_checks);
        assert_true(n_checks >= 40);
}

static void test_param_bounds(void **state) {
        (void)state;
        char out[8];
        memset(out, '#', sizeof(out));
        /* "abc" needs 4 bytes: fits in 4, not in 3, and out is untouched then. */
        assert_int_equal(http_cookie("a=abc", "a", out, 3), -E2BIG);
        assert_int_equal(out[0], '#');
        assert_int_equal(http_cookie("a=abc", "a", out, 4), 3);
        assert_string_equal(out, "abc");
        assert_int_equal(http_cookie("a=\"abc\"", "a", out, 4), 3);
        assert_int_equal(http_cookie("a=", "a", out, 0), -E2BIG);
        assert_int_equal(http_cookie("a=", "a", out, 1), 0);
        assert_int_equal(http_cookie(NULL, "a", out, sizeof(out)), -ENOENT);
        memset(out, '#', sizeof(out));
        /* the decoded length counts: "%41%42%43" is 3 bytes. */
        assert_int_equal(http_query_param("q=%41%42%43", "q", out, 3), -E2BIG);
        assert_int_equal(out[0], '#');
        assert_int_equal(http_query_param("q=%41%42%43", "q", out, 4), 3);
        assert_string_equal(out, "ABC");
        assert_int_equal(http_query_param(NULL, "q", out, sizeof(out)), -ENOENT);
        assert_int_equal(http_query_param("", "q", out, sizeof(out)), -ENOENT);
}

/* ------------------------------------------------------------ limits */

/* "GET /PATH HTTP/1.1\r\n" then n_headers "X-Hi: v\r\n" lines, then one
 * filler header so that the head is exactly head_len bytes (when > 0). */
static char *build_head(const char *path, size_t n_headers, size_t head_len, size_t *ret_len) {
        struct strbuf sb = STRBUF_INIT;
        assert_int_equal(sb_printf(&sb, "GET %s HTTP/1.1\r\n", path), 0);
        for (size_t i = 0; i < n_headers; i++)
                assert_int_equal(sb_printf(&sb, "X-H%zu: v\r\n", i), 0);
        if (head_len) {
                size_t fixed = sb.len + strlen("X-Fill: \r\n\r\n");
                assert_true(head_len >= fixed);
                assert_int_equal(sb_puts(&sb, "X-Fill: "), 0);
                for (size_t i = 0; i < head_len - fixed; i++)
                        assert_int_equal(sb_putc(&sb, 'f'), 0);
                assert_int_equal(sb_puts(&sb, "\r\n"), 0);
        }
        assert_int_equal(sb_puts(&sb, "\r\n"), 0);
        if (head_len)
                assert_int_equal(sb.len, head_len);
        return sb_take(&sb, ret_len);
}

static void test_head_limit(void **state) {
        (void)state;
        size_t len;
        const char *err = NULL;
        char *h = build_head("/", 0, HTTP_MAX_HEAD, &len);
        assert_int_equal(parse_exact(h, len, NULL), (int)HTTP_MAX_HEAD);
        assert_int_equal(strlen(http_header(req, "X-Fill")), HTTP_MAX_HEAD - 28);
        /* All but the last byte: still waiting. */
        assert_int_equal(parse_exact(h, len - 1, NULL), 0);
        free(h);

        h = build_head("/", 0, HTTP_MAX_HEAD + 1, &len);
        assert_int_equal(parse_exact(h, len, &err), -431);
        assert_non_null(strstr(err, "16 KiB"));
        /* 431 as soon as HTTP_MAX_HEAD bytes hold no complete head. */
        assert_int_equal(parse_exact(h, HTTP_MAX_HEAD, NULL), -431);
        assert_int_equal(parse_exact(h, HTTP_MAX_HEAD - 1, NULL), 0);
        free(h);

        /* A body does not count towards the head. */
        char *big = malloc(HTTP_MAX_HEAD * 3);
        assert_non_null(big);
        int n = snprintf(big, 64, "POST / HTTP/1.1\r\nContent-Length: %u\r\n\r\n", 2 * HTTP_MAX_HEAD);
        memset(big + n, 'b', 2 * HTTP_MAX_HEAD);
        assert_int_equal(http_parse(big, (size_t)n + 2 * HTTP_MAX_HEAD, req, NULL), n + 2 * (int)HTTP_MAX_HEAD);
        free(big);

        /* A line with no end, and leading blank lines, are bounded too. */
        char *junk = malloc(HTTP_MAX_HEAD + 1);
        assert_non_null(junk);
        memset(junk, 'A', HTTP_MAX_HEAD + 1);
        assert_int_equal(http_parse(junk, HTTP_MAX_HEAD + 1, req, NULL), -431);
        memset(junk, '\n', HTTP_MAX_HEAD + 1);
        assert_int_equal(http_parse(junk, HTTP_MAX_HEAD + 1, req, NULL), -431);
        free(junk);
}

/* The longest path that fits in a full head still decodes in full. */
static void test_long_path(void **state) {
        (void)state;
        size_t plen = HTTP_MAX_HEAD - strlen("GET  HTTP/1.1\r\n\r\n");
        char *path = malloc(plen + 1);
        assert_non_null(path);
        memset(path, 'p', plen);
        path[0] = '/';
        path[plen] = '\0';
        size_t len;
        char *h = build_head(path, 0, 0, &len);
        assert_int_equal(len, HTTP_MAX_HEAD);
        assert_int_equal(parse_exact(h, len, NULL), (int)HTTP_MAX_HEAD);
        assert_string_equal(req->path, path);
        assert_string_equal(req->target, path);
        free(h);
        /* And with escapes and a query, the path and the raw target differ. */
        memcpy(path + 1, "%41?q", 5);
        h = build_head(path, 0, 0, &len);
        assert_int_equal(parse_exact(h, len, NULL), (int)HTTP_MAX_HEAD);
        assert_string_equal(req->path, "/A");
        assert_string_equal(req->query, path + 5);
        assert_int_equal(strlen(req->target), plen);
        free(h);
        free(path);
}

static void test_header_count_limit(void **state) {
        (void)state;
        size_t len;
        const char *err = NULL;
        char *h = build_head("/", HTTP_MAX_HEADERS, 0, &len);
        assert_int_equal(parse_exact(h, len, NULL), (int)len);
        assert_int_equal(req->n_headers, HTTP_MAX_HEADERS);
        assert_string_equal(http_header(req, "x-h63"), "v");
        free(h);
        h = build_head("/", HTTP_MAX_HEADERS + 1, 0, &len);
        assert_int_equal(parse_exact(h, len, &err), -431);
        assert_non_null(strstr(err, "64 header"));
        /* Refused as soon as the 65th line is complete. */
        assert_int_equal(parse_exact(h, len - 2, NULL), -431);
        assert_int_equal(parse_exact(h, len - 3, NULL), 0);
        free(h);
}

static void test_body_limit(void **state) {
        (void)state;
        const char *err = NULL;
        char head[128];
        int n = snprintf(head, sizeof(head), "PUT /x HTTP/1.1\r\nContent-Length: %u\r\n\r\n", HTTP_MAX_BODY);
        size_t len = (size_t)n + HTTP_MAX_BODY;
        char *buf = malloc(len);
        assert_non_null(buf);
        memcpy(buf, head, (size_t)n);
        memset(buf + n, 'b', HTTP_MAX_BODY);
        assert_int_equal(http_parse(buf, len, req, NULL), (int)len);
        assert_int_equal(req->body_len, HTTP_MAX_BODY);
        assert_ptr_equal(req->body, buf + n);
        assert_int_equal(http_parse(buf, len - 1, req, NULL), 0);
        free(buf);

        n = snprintf(head, sizeof(head), "PUT /x HTTP/1.1\r\nContent-Length: %u\r\n\r\n", HTTP_MAX_BODY + 1);
        assert_int_equal(http_parse(head, (size_t)n, req, &err), -413);
        assert_non_null(strstr(err, "1 MiB"));
}

/* ------------------------------------------------------------ one test per error status */

static void expect_error(const char *request, int status, const char *in_err) {
        const char *err = NULL;
        assert_int_equal(parse_exact(request, strlen(request), &err), -status);
        assert_non_null(err);
        assert_non_null(strstr(err, in_err));
        /* err is optional. */
        assert_int_equal(parse_exact(request, strlen(request), NULL), -status);
}

static void test_error_400(void **state) {
        (void)state;
        expect_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "colon");
        expect_error("GET /%00 HTTP/1.1\r\n\r\n", 400, "%00");
        expect_error("GET http://x/ HTTP/1.1\r\n\r\n", 400, "'/'");
}

static void test_error_413(void **state) {
        (void)state;
        expect_error("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413, "larger");
}

static void test_error_431(void **state) {
        (void)state;
        size_t len;
        char *h = build_head("/", HTTP_MAX_HEADERS + 1, 0, &len);
        expect_error(h, 431, "header fields");
        free(h);
}

static void test_error_501(void **state) {
        (void)state;
        expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "chunked");
}

static void test_error_505(void **state) {
        (void)state;
        expect_error("GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.x");
}

/* ------------------------------------------------------------ pipelining */

static void test_pipelined(void **state) {
        (void)state;
        const char *three = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                            "GET /b?x=1 HTTP/1.1\r\nConnection: close\r\n\r\n"
                            "GET /c HTT";
        size_t len = strlen(three), off = 0;
        int n = http_parse(three, len, req, NULL);
        assert_true(n > 0);
        assert_string_equal(req->path, "/a");
        assert_int_equal(req->body_len, 3);
        assert_memory_equal(req->body, "abc", 3);
        off += (size_t)n;
        n = http_parse(three + off, len - off, req, NULL);
        assert_true(n > 0);
        assert_string_equal(req->path, "/b");
        assert_string_equal(req->query, "x=1");
        assert_false(req->keep_alive);
        assert_int_equal(req->body_len, 0);
        off += (size_t)n;
        assert_int_equal(http_parse(three + off, len - off, req, NULL), 0);
        assert_string_equal(three + off, "GET /c HTT");
}

/* ------------------------------------------------------------ responses */

static void test_response(void **state) {
        (void)state;
        size_t len = 0;
        char *r = http_response(200, "application/json", NULL, "{}", 2, true, &len);
        const char *want = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                           "Connection: keep-alive\r\n\r\n{}";
        assert_int_equal(len, strlen(want));
        assert_memory_equal(r, want, len);
        free(r);

        r = http_response(405, NULL, "Allow: GET, PUT\r\n", NULL, 0, false, &len);
        want = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n"
               "Allow: GET, PUT\r\n\r\n";
        assert_int_equal(len, strlen(want));
        assert_memory_equal(r, want, len);
        free(r);

        /* 204: neither Content-Length nor a body. */
        r = http_response(204, NULL, NULL, "ignored", 7, true, &len);
        want = "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
        assert_int_equal(len, strlen(want));
        assert_memory_equal(r, want, len);
        free(r);

        /* A body with NUL bytes is copied in full; ret_len may be NULL. */
        r = http_response(500, "text/plain", NULL, "a\0b", 3, false, &len);
        assert_memory_equal(r + len - 3, "a\0b", 3);
        assert_non_null(strstr(r, "Content-Length: 3\r\n"));
        free(r);
        r = http_response(404, NULL, NULL, NULL, 0, true, NULL);
        assert_non_null(r);
        assert_string_equal(r, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
        free(r);

        /* The response parses back as HTTP (a status line is not a request: 400). */
        r = http_response(200, NULL, NULL, "x", 1, true, &len);
        assert_int_equal(http_parse(r, len, req, NULL), -400);
        free(r);
}

static void test_reason(void **state) {
        (void)state;
        static const int used[] = {200, 201, 202, 204, 301, 302, 304, 400, 403, 404, 405, 406, 408,
                                   409, 411, 413, 415, 422, 429, 431, 500, 501, 502, 503, 504, 505};
        for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
                if (strcmp(http_reason(used[i]), "Unknown") == 0)
                        fail_msg("no reason for %d", used[i]);
        assert_string_equal(http_reason(413), "Content Too Large");
        assert_string_equal(http_reason(431), "Request Header Fields Too Large");
        assert_string_equal(http_reason(999), "Unknown");
        assert_string_equal(http_reason(-1), "Unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request_table),
                cmocka_unit_test(test_params_table),
                cmocka_unit_test(test_param_bounds),
                cmocka_unit_test(test_head_limit),
                cmocka_unit_test(test_long_path),
                cmocka_unit_test(test_header_count_limit),
                cmocka_unit_test(test_body_limit),
                cmocka_unit_test(test_error_400),
                cmocka_unit_test(test_error_413),
                cmocka_unit_test(test_error_431),
                cmocka_unit_test(test_error_501),
                cmocka_unit_test(test_error_505),
                cmocka_unit_test(test_pipelined),
                cmocka_unit_test(test_response),
                cmocka_unit_test(test_reason),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
