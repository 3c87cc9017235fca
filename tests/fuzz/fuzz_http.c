/* fuzz_http.c — libFuzzer target for http_parse, then http_cookie and
 * http_query_param on what it produced, checking the parser's promises. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define EXPECT(cond)                                                                              \
        do {                                                                                      \
                if (!(cond))                                                                      \
                        abort();                                                                  \
        } while (0)

static struct http_request req;

/* The request's strings live in req.head. */
static bool in_head(const char *s) { return s >= req.head && s < req.head + sizeof(req.head); }

static void poke_params(void) {
        char out[64];
        for (size_t i = 0; i < req.n_headers; i++) {
                int r = http_cookie(req.headers[i].value, "_xsrf", out, sizeof(out));
                EXPECT(r == -ENOENT || r == -E2BIG || (r >= 0 && (size_t)r == strlen(out)));
                r = http_cookie(req.headers[i].value, req.headers[i].name, out, sizeof(out));
                EXPECT(r == -ENOENT || r == -E2BIG || r >= 0);
                r = http_query_param(req.headers[i].value, "a", out, sizeof(out));
                EXPECT(r == -ENOENT || r == -E2BIG || r == -EINVAL || (r >= 0 && (size_t)r == strlen(out)));
        }
        int r = http_query_param(req.query, "a", out, sizeof(out));
        EXPECT(r == -ENOENT || r == -E2BIG || r == -EINVAL || (r >= 0 && (size_t)r == strlen(out)));
        r = http_query_param(req.query, "", out, 1);
        EXPECT(r == -ENOENT || r == -E2BIG || r == -EINVAL || r == 0);
}

static void check_request(const uint8_t *data, size_t size, int n) {
        EXPECT((size_t)n <= size);
        EXPECT(in_head(req.method) && in_head(req.target) && in_head(req.path) && in_head(req.query));
        EXPECT(req.target[0] == '/' && req.path[0] == '/');
        EXPECT(strlen(req.method) >= 1 && strlen(req.method) <= 15);
        EXPECT(!strstr(req.path, "/../"));
        EXPECT(req.n_headers <= HTTP_MAX_HEADERS);
        EXPECT(req.content_length <= HTTP_MAX_BODY);
        EXPECT(req.body == (const char *)data + n - req.body_len && req.body_len == req.content_length);
        for (size_t i = 0; i < req.n_headers; i++)
                EXPECT(in_head(req.headers[i].name) && in_head(req.headers[i].value) &&
                       req.headers[i].name[0]);
        /* One byte less is never a complete request. */
        EXPECT(http_parse((const char *)data, (size_t)n - 1, &req, NULL) <= 0);
        EXPECT(http_parse((const char *)data, (size_t)n, &req, NULL) == n);
        poke_params();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *err = NULL;
        int n = http_parse((const char *)data, size, &req, &err);
        if (n > 0) {
                check_request(data, size, n);
        } else if (n < 0) {
                EXPECT(err && *err);
                EXPECT(n == -400 || n == -413 || n == -431 || n == -501 || n == -505);
        } else {
                EXPECT(size < HTTP_MAX_HEAD + HTTP_MAX_BODY);
        }
        /* The raw input as a Cookie header and as a query string too. */
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        char out[32];
        int r = http_cookie(s, "a", out, sizeof(out));
        EXPECT(r == -ENOENT || r == -E2BIG || (r >= 0 && r < (int)sizeof(out)));
        r = http_query_param(s, "a", out, sizeof(out));
        EXPECT(r == -ENOENT || r == -E2BIG || r == -EINVAL || (r >= 0 && r < (int)sizeof(out)));
        free(s);
        size_t rlen;
        char *resp = http_response(200 + (int)(size % 400), "text/plain", NULL, (const char *)data,
                                   size, size & 1, &rlen);
        EXPECT(resp && rlen >= 40);
        free(resp);
        return 0;
}
