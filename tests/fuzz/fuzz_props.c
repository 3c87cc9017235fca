/* fuzz_props.c — libFuzzer target for props_escape: whatever it accepts
 * reads back exactly through the rules of java.util.Properties.load (the
 * decoder below), stays on one line of printable ASCII, and it refuses
 * only invalid UTF-8 or NUL. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "props.h"
#include "utf8.h"

#define EXPECT(cond)                                                                              \
        do {                                                                                      \
                if (!(cond))                                                                      \
                        abort();                                                                  \
        } while (0)

static int hex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends code point c as UTF-8. */
static size_t put_utf8(unsigned long c, char *out) {
        if (c < 0x80) {
                out[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char)(0xc0 | c >> 6);
                out[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char)(0xe0 | c >> 12);
                out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                out[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | c >> 18);
        out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

/* Java's unescaping of one value (after the separator), to UTF-8. */
static size_t java_decode(const char *s, size_t n, char *out) {
        size_t o = 0;
        for (size_t i = 0; i < n;) {
                char c = s[i++];
                if (c != '\\') {
                        out[o++] = c;
                        continue;
                }
                EXPECT(i < n); /* never a trailing backslash (it would join lines) */
                c = s[i++];
                if (c == 'u') {
                        EXPECT(i + 4 <= n);
                        unsigned long u = 0;
                        for (int k = 0; k < 4; k++) {
                                int h = hex(s[i++]);
                                EXPECT(h >= 0);
                                u = u << 4 | (unsigned long)h;
                        }
                        if (u >= 0xd800 && u < 0xdc00) { /* a pair */
                                EXPECT(i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u');
                                unsigned long lo = 0;
                                for (int k = 0; k < 4; k++) {
                                        int h = hex(s[i + 2 + k]);
                                        EXPECT(h >= 0);
                                        lo = lo << 4 | (unsigned long)h;
                                }
                                EXPECT(lo >= 0xdc00 && lo < 0xe000);
                                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                                i += 6;
                        }
                        o += put_utf8(u, out + o);
                } else {
                        out[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
                }
        }
        return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 4096)
                return 0;
        struct strbuf sb = STRBUF_INIT;
        int r = props_escape(&sb, (const char *)data, size, size && data[0] & 1);
        bool valid = utf8_valid((const char *)data, size);
        if (!valid) {
                EXPECT(r == -EILSEQ);
                sb_free(&sb);
                return 0;
        }
        EXPECT(r == 0);
        for (size_t i = 0; i < sb.len; i++)
                EXPECT(sb.buf[i] >= 0x20 && sb.buf[i] < 0x7f); /* one line of ASCII */
        EXPECT(size == 0 || (sb.buf[0] != ' ' && sb.buf[0] != '#' && sb.buf[0] != '!'));
        char *back = malloc(size + 1);
        EXPECT(back);
        size_t n = java_decode(sb.buf ? sb.buf : "", sb.len, back);
        EXPECT(n == size && memcmp(back, data, size) == 0);
        free(back);
        sb_free(&sb);
        return 0;
}
