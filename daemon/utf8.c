/* utf8.c — valid UTF-8 text out of arbitrary bytes (see utf8.h). */
#include "utf8.h"

#include <string.h>

static const char utf8_replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Looks at the character starting at s (len > 0 bytes available).
 * Returns its length (1 to 4) when it is well-formed, else minus the
 * length of the maximal ill-formed subsequence there (at least 1): the
 * lead byte and the continuation bytes that were still possible. */
static int utf8_next(const unsigned char *s, size_t len) {
        unsigned char b = s[0], lo = 0x80, hi = 0xBF;
        int need;
        if (b < 0x80)
                return 1;
        if (b >= 0xC2 && b <= 0xDF)
                need = 1;
        else if (b >= 0xE0 && b <= 0xEF)
                need = 2;
        else if (b >= 0xF0 && b <= 0xF4)
                need = 3;
        else
                return -1; /* a continuation byte, C0, C1 or F5..FF */
        if (b == 0xE0)
                lo = 0xA0; /* below: overlong */
        else if (b == 0xED)
                hi = 0x9F; /* above: surrogates */
        else if (b == 0xF0)
                lo = 0x90; /* below: overlong */
        else if (b == 0xF4)
                hi = 0x8F; /* above: past U+10FFFF */
        for (int i = 1; i <= need; i++) {
                if ((size_t)i >= len || s[i] < lo || s[i] > hi)
                        return -i;
                lo = 0x80;
                hi = 0xBF;
        }
        return need + 1;
}

bool utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *)s;
        for (size_t i = 0; i < len;) {
                int k = utf8_next(p + i, len - i);
                if (k < 0 || p[i] == 0)
                        return false;
                i += (size_t)k;
        }
        return true;
}

size_t utf8_sanitize(const char *in, size_t len, char *out, size_t outsize) {
        if (outsize == 0)
                return 0;
        const unsigned char *p = (const unsigned char *)in;
        size_t o = 0, room = outsize - 1;
        for (size_t i = 0; i < len;) {
                int k = utf8_next(p + i, len - i);
                const char *src = k > 0 ? in + i : utf8_replacement;
                size_t n = k > 0 ? (size_t)k : sizeof utf8_replacement - 1;
                i += (size_t)(k > 0 ? k : -k);
                if (k == 1 && src[0] == '\0')
                        continue;
                if (n > room - o)
                        break;
                memcpy(out + o, src, n);
                o += n;
        }
        out[o] = '\0';
        return o;
}
