/* libFuzzer target: the template compiler and renderer.
 *
 * The input is a template.  When its first line is a JSON object, that line
 * is the context and the rest the template; otherwise a fixed context with
 * one value of each kind is used.  Checks the contracts of tmpl.h: success
 * gives a NUL-terminated string of the stated length within the output
 * limit, failure gives a 1-based position and a message. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl.h"

static const char fixed_ctx[] =
        "{\"s\": \"a\\\"b\\n\", \"n\": 42, \"f\": 1.5, \"t\": true, \"z\": null, \"l\": [1, \"x\", [2]],"
        " \"d\": {\"k\": \"v\", \"B\": 2, \"a\": {\"x\": [true]}}, \"e\": \"\", \"u\": \"\\u00e9\\u2028\"}";

static void check_err(int r, const struct tmpl_err *err) {
        if (r != -EINVAL && r != -E2BIG && r != -ENOMEM)
                abort();
        if (err->line < 1 || err->col < 1 || !err->msg[0] || !memchr(err->msg, '\0', sizeof err->msg))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *src = (const char *)data;
        const char *nl = memchr(src, '\n', size);
        json_t *ctx = NULL;
        if (nl && size && src[0] == '{') {
                ctx = json_loadb(src, (size_t)(nl - src), 0, NULL);
                if (ctx && json_is_object(ctx)) {
                        size -= (size_t)(nl + 1 - src);
                        src = nl + 1;
                } else {
                        json_decref(ctx);
                        ctx = NULL;
                }
        }
        if (!ctx)
                ctx = json_loads(fixed_ctx, 0, NULL);
        if (!ctx)
                abort();

        tmpl *t = NULL;
        struct tmpl_err err = {0};
        int r = tmpl_compile(src, size, &t, &err);
        if (r < 0) {
                check_err(r, &err);
        } else {
                char *out[2] = {NULL, NULL};
                size_t len[2] = {0, 0};
                int rr[2];
                for (int pass = 0; pass < 2; pass++) { /* a template renders the same twice */
                        memset(&err, 0, sizeof err);
                        rr[pass] = tmpl_render(t, ctx, &out[pass], &len[pass], &err);
                        if (rr[pass] < 0)
                                check_err(rr[pass], &err);
                        else if (!out[pass] || out[pass][len[pass]] != '\0' || len[pass] > TMPL_MAX_OUTPUT)
                                abort();
                }
                if (rr[0] != rr[1] || (rr[0] == 0 && (len[0] != len[1] || memcmp(out[0], out[1], len[0]) != 0)))
                        abort();
                free(out[0]);
                free(out[1]);
        }
        tmpl_free(t);
        json_decref(ctx);
        return 0;
}
