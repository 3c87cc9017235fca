/* tmpl_bench — renders one template N times with sparkd's engine.
 *
 * usage: tmpl_bench TEMPLATE CONTEXT.json N [OUTPUT]
 *
 * Compiles TEMPLATE once, renders it 10 times to warm up, then N times
 * timed with CLOCK_MONOTONIC, and prints one JSON line:
 *   {"renders": N, "ns_per_render": X, "compile_ns": Y, "bytes": Z}
 * The output of the last render is written to OUTPUT when given (for the
 * byte-for-byte comparison with Jinja2).  Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "tmpl.h"

static long long now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int die(const char *what, const char *why) {
        fprintf(stderr, "tmpl_bench: %s: %s\n", what, why);
        return 1;
}

/* Renders once; returns 0 or prints the error and returns -1. */
static int render_once(const tmpl *t, json_t *ctx, char **out, size_t *len) {
        struct tmpl_err e = {0};
        int r = tmpl_render(t, ctx, out, len, &e);
        if (r < 0) {
                fprintf(stderr, "tmpl_bench: render: %d:%d: %s\n", e.line, e.col, e.msg);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 4 || argc > 5)
                return die("usage", "tmpl_bench TEMPLATE CONTEXT.json N [OUTPUT]");
        long n = strtol(argv[3], NULL, 10);
        if (n < 1)
                return die(argv[3], "N must be a positive number");
        char *src = NULL;
        size_t srclen = 0;
        int r = read_file(argv[1], TMPL_MAX_SOURCE, &src, &srclen);
        if (r < 0)
                return die(argv[1], strerror(-r));
        json_error_t je;
        json_t *ctx = json_load_file(argv[2], JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(ctx))
                return die(argv[2], je.text);
        struct tmpl_err e = {0};
        tmpl *t = NULL;
        long long c0 = now_ns();
        if (tmpl_compile(src, srclen, &t, &e) < 0) {
                fprintf(stderr, "tmpl_bench: %s:%d:%d: %s\n", argv[1], e.line, e.col, e.msg);
                return 1;
        }
        long long compile_ns = now_ns() - c0;
        char *out = NULL;
        size_t len = 0;
        for (int i = 0; i < 10; i++) {
                if (render_once(t, ctx, &out, &len) < 0)
                        return 1;
                free(out);
        }
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) {
                if (render_once(t, ctx, &out, &len) < 0)
                        return 1;
                if (i + 1 < n)
                        free(out);
        }
        long long dt = now_ns() - t0;
        if (argc == 5) {
                FILE *f = fopen(argv[4], "wbe");
                if (!f || fwrite(out, 1, len, f) != len || fclose(f) != 0)
                        return die(argv[4], strerror(errno));
        }
        printf("{\"renders\": %ld, \"ns_per_render\": %.1f, \"compile_ns\": %lld, \"bytes\": %zu}\n", n,
               (double)dt / (double)n, compile_ns, len);
        free(out);
        free(src);
        json_decref(ctx);
        tmpl_free(t);
        return 0;
}
