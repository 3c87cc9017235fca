/* Unit tests for utf8.c: valid text kept byte for byte, cuts on character
 * boundaries, every class of ill-formed input replaced (the expected
 * strings are what Python's bytes.decode("utf-8", "replace") gives), and
 * the result always accepted by the validator and by jansson. */
#include "unit.h"

#include <jansson.h>

#include "utf8.h"

#define R "\xEF\xBF\xBD" /* U+FFFD */
#define S(lit) lit, sizeof lit - 1

/* Whether jansson, which validates what json_stringn gets, takes s. */
static bool jansson_accepts(const char *s, size_t len) {
        json_t *j = json_stringn(s, len);
        char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
        bool ok = text != NULL;
        free(text);
        json_decref(j);
        return ok;
}

static const struct {
        const char *in;
        size_t len;
        size_t outsize; /* 0: large enough */
        const char *want;
} cases[] = {
        /* valid: kept byte for byte */
        {S(""), 0, ""},
        {S("plain ASCII\ttab"), 0, "plain ASCII\ttab"},
        {S("\xC2\x80 \xDF\xBF \xC3\xA9"), 0, "\xC2\x80 \xDF\xBF \xC3\xA9"},          /* 2 bytes */
        {S("\xE0\xA0\x80 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 " R), 0,            /* 3 bytes */
         "\xE0\xA0\x80 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 " R},
        {S("\xF0\x90\x80\x80 \xF0\x9D\x84\x9E \xF4\x8F\xBF\xBF"), 0,                /* 4 bytes */
         "\xF0\x90\x80\x80 \xF0\x9D\x84\x9E \xF4\x8F\xBF\xBF"},
        /* cuts: back to the last whole character */
        {S("abc"), 3, "ab"},
        {S("a\xC3\xA9"), 3, "a"},
        {S("a\xC3\xA9"), 4, "a\xC3\xA9"},
        {S("a\xE2\x82\xAC"), 3, "a"},
        {S("a\xE2\x82\xAC"), 4, "a"},
        {S("a\xE2\x82\xAC"), 5, "a\xE2\x82\xAC"},
        {S("a\xF0\x9D\x84\x9E"), 3, "a"},
        {S("a\xF0\x9D\x84\x9E"), 4, "a"},
        {S("a\xF0\x9D\x84\x9E"), 5, "a"},
        {S("a\xF0\x9D\x84\x9E"), 6, "a\xF0\x9D\x84\x9E"},
        {S("\xC3\xA9"), 1, ""},
        {S("ab\xFF"), 5, "ab"}, /* U+FFFD would not fit */
        {S("ab\xFF"), 6, "ab" R},
        /* stray continuation bytes, invalid lead bytes */
        {S("\x80"), 0, R},
        {S("a\x80\x80" "b"), 0, "a" R R "b"},
        {S("\xFF\xFE"), 0, R R},
        {S("\xF5\x80\x80\x80"), 0, R R R R},
        /* overlong forms */
        {S("\xC0\xAF"), 0, R R},
        {S("\xC1\xBF"), 0, R R},
        {S("\xE0\x80\xAF"), 0, R R R},
        {S("\xE0\x9F\xBF"), 0, R R R},
        {S("\xF0\x80\x80\xAF"), 0, R R R R},
        {S("\xF0\x8F\xBF\xBF"), 0, R R R R},
        /* surrogates */
        {S("\xED\xA0\x80"), 0, R R R},
        {S("\xED\xBF\xBF"), 0, R R R},
        /* above U+10FFFF */
        {S("\xF4\x90\x80\x80"), 0, R R R R},
        /* sequences cut short: one U+FFFD each */
        {S("\xC3"), 0, R},
        {S("\xC3" "a"), 0, R "a"},
        {S("\xE2\x82"), 0, R},
        {S("\xE2\x82" "a"), 0, R "a"},
        {S("\xF0\x9D\x84"), 0, R},
        {S("\xF0\x9D\x84" "a"), 0, R "a"},
        {S("\xE2(\xA1"), 0, R "(" R},
        {S("\xF1\x80\x80\xE1\x80\xC2"), 0, R R R},
        /* NUL bytes are dropped */
        {S("a\0b\0"), 0, "ab"},
        {S("\0"), 0, ""},
};

static void test_sanitize_table(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char out[64];
                size_t size = cases[i].outsize ? cases[i].outsize : sizeof out;
                memset(out, 'x', sizeof out);
                size_t n = utf8_sanitize(cases[i].in, cases[i].len, out, size);
                if (n != strlen(cases[i].want) || memcmp(out, cases[i].want, n + 1))
                        fail_msg("case %zu: got %zu bytes \"%.*s\", wanted \"%s\"", i, n, (int)n,
                                 out, cases[i].want);
                assert_true(n < size);
                assert_true(utf8_valid(out, n));
                assert_true(jansson_accepts(out, n));
        }
}

static void test_sanitize_edges(void **state) {
        (void)state;
        char out[4] = "xyz";
        assert_int_equal(utf8_sanitize("abc", 3, out, 0), 0);
        assert_string_equal(out, "xyz"); /* outsize 0: nothing written */
        assert_int_equal(utf8_sanitize(NULL, 0, out, sizeof out), 0);
        assert_string_equal(out, "");
}

static void test_valid(void **state) {
        (void)state;
        static const struct {
                const char *s;
                size_t len;
                bool valid;
        } v[] = {
                {S(""), true},
                {S("ascii \x7F"), true},
                {S("\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"), true},
                {S("\xF0\x90\x80\x80\xF3\xBF\xBF\xBF\xF4\x8F\xBF\xBF"), true},
                {S("a\0b"), false},                       /* NUL: not text here */
                {S("\x80"), false},                       /* stray continuation */
                {S("\xC0\x80"), false},                   /* overlong NUL */
                {S("\xC1\xBF"), false},                   /* overlong */
                {S("\xE0\x9F\xBF"), false},               /* overlong */
                {S("\xF0\x8F\xBF\xBF"), false},           /* overlong */
                {S("\xED\xA0\x80"), false},               /* surrogate D800 */
                {S("\xED\xBF\xBF"), false},               /* surrogate DFFF */
                {S("\xF4\x90\x80\x80"), false},           /* U+110000 */
                {S("\xF8\x88\x80\x80\x80"), false},       /* 5 bytes */
                {S("\xFF"), false},
                {S("\xE2\x82"), false},                   /* cut short */
                {S("\xF0\x9D\x84"), false},
                {S("\xC3" "a"), false},
        };
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
                if (utf8_valid(v[i].s, v[i].len) != v[i].valid)
                        fail_msg("utf8_valid case %zu: wanted %d", i, v[i].valid);
                /* jansson agrees (it allows NUL inside a string of known length) */
                if (memchr(v[i].s, 0, v[i].len) == NULL)
                        assert_int_equal(jansson_accepts(v[i].s, v[i].len), v[i].valid);
        }
}

/* The length of the character a valid lead byte starts. */
static size_t char_len(char lead) {
        unsigned char c = (unsigned char)lead;
        return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Every sequence of up to 4 bytes drawn from the boundary values of the
 * UTF-8 tables, cut at every size: the output is valid, agrees with
 * jansson, equals valid input, and each cut is the longest prefix of the
 * whole result made of whole characters. */
static void test_exhaustive_boundaries(void **state) {
        (void)state;
        static const unsigned char b[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                          0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                          0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
        const size_t nb = sizeof b;
        for (size_t len = 1; len <= 4; len++) {
                size_t combos = 1;
                for (size_t i = 0; i < len; i++)
                        combos *= nb;
                for (size_t k = 0; k < combos; k++) {
                        char in[4], full[16], cut[16];
                        size_t x = k;
                        for (size_t i = 0; i < len; i++, x /= nb)
                                in[i] = (char)b[x % nb];
                        size_t n = utf8_sanitize(in, len, full, sizeof full);
                        assert_true(utf8_valid(full, n));
                        assert_true(jansson_accepts(full, n));
                        bool valid = utf8_valid(in, len);
                        if (!memchr(in, 0, len))
                                assert_int_equal(valid, jansson_accepts(in, len));
                        if (valid)
                                assert_true(n == len && !memcmp(in, full, len));
                        for (size_t size = 1; size <= n + 1; size++) {
                                size_t m = utf8_sanitize(in, len, cut, size);
                                assert_true(m < size && !memcmp(cut, full, m));
                                assert_true(utf8_valid(cut, m));
                                /* the next character would not have fit */
                                assert_true(m == n || char_len(full[m]) > size - 1 - m);
                        }
                }
        }
}

/* session_log's lines: a long line cut at 1000 bytes used to split a
 * character, and jansson (json_dumps of GET /api/sessions) refused it. */
static void test_log_line_cut(void **state) {
        (void)state;
        char text[1 + 750 * 2], line[1001];
        text[0] = 'a';
        for (size_t i = 1; i < sizeof text; i += 2)
                memcpy(text + i, "\xC3\xA9", 2);
        assert_false(jansson_accepts(text, 1000)); /* the old cut */
        size_t n = utf8_sanitize(text, sizeof text, line, sizeof line);
        assert_int_equal(n, 999);
        assert_memory_equal(line, text, n);
        assert_true(jansson_accepts(line, n));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sanitize_table),
                cmocka_unit_test(test_sanitize_edges),
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_exhaustive_boundaries),
                cmocka_unit_test(test_log_line_cut),
        };
        return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
