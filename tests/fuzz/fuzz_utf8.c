/* fuzz_utf8.c — utf8_sanitize and utf8_valid on arbitrary bytes.
 *
 * The first input byte picks the output size (1 to 256 bytes, or large
 * enough for any result when it is 0); the rest is the text.  Checks: the
 * output is valid, NUL-terminated and within the size, jansson takes it,
 * valid input that fits comes back unchanged, a smaller size gives a
 * prefix of the whole result, and utf8_valid agrees with jansson on
 * NUL-free input. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static bool jansson_accepts(const char *s, size_t len) {
        json_t *j = json_stringn(s, len);
        json_decref(j);
        return j != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size == 0)
                return 0;
        const char *in = (const char *)data + 1;
        size_t len = size - 1;
        size_t full_size = 3 * len + 1, outsize = data[0] ? data[0] : full_size;
        char *full = malloc(full_size), *out = malloc(outsize);
        if (!full || !out)
                abort();
        size_t n = utf8_sanitize(in, len, full, full_size);
        size_t m = utf8_sanitize(in, len, out, outsize);
        if (full[n] != '\0' || out[m] != '\0' || m >= outsize || m > n)
                abort();
        if (!utf8_valid(full, n) || !utf8_valid(out, m) || memcmp(out, full, m))
                abort();
        if (!jansson_accepts(full, n))
                abort();
        bool valid = utf8_valid(in, len);
        if (valid && (n != len || memcmp(full, in, len)))
                abort();
        if (valid && len < outsize && (m != len || memcmp(out, in, len)))
                abort();
        if (!memchr(in, 0, len) && valid != jansson_accepts(in, len))
                abort();
        free(full);
        free(out);
        return 0;
}
