/* Unit tests for ui_rewrite_location: Spark's redirects made relative to
 * the page asked for, so that no proxy in front can prefix them twice, and
 * never a redirect from the hub's origin to another site. */
#include "unit.h"

#include <errno.h>

#include "ui.h"

#define BASE "/user/a/sparkd/ui/123e4567-e89b-42d3-a456-426614174000"
#define REFUSED NULL

static const struct {
        const char *value, *from, *want; /* want REFUSED: -EPERM, the header is dropped */
} cases[] = {
        {"/jobs/", "/", "jobs/"},                                     /* Spark's "/" → "/jobs/" */
        {"/jobs/", "/jobs", "jobs/"},                                 /* a missing slash */
        {"/stages/stage/?id=1", "/stages/stage", "../stages/stage/?id=1"},
        {"/executors/", "/stages/stage", "../executors/"},
        {"/a/b/", "/x/y/z", "../../a/b/"},
        {"http://127.0.0.1:4040/jobs/", "/", "jobs/"},                /* absolute, our host */
        {"http://localhost:4040/jobs/", "/", "jobs/"},
        {"https://127.0.0.1:4040", "/jobs", "./"},
        {"HTTP://127.0.0.1:4040/jobs/", "/", "jobs/"},                /* scheme in upper case */
        {"http://LocalHost:4040/jobs/", "/", "jobs/"},
        {"http://127.0.0.1:4040" BASE "/jobs/", "/", "jobs/"},         /* Spark added proxyBase */
        {BASE "/SQL/", "/SQL", "SQL/"},
        {BASE, "/", "./"},
        {"/", "/", "./"},
        {"/a:b/", "/", "./a:b/"},                                     /* not a scheme */
        {"jobs/", "/", "jobs/"},                                      /* already relative */
        {"?id=1", "/jobs", "?id=1"},
        /* what a browser would read differently: backslashes, tab/CR/LF, spaces */
        {"/jobs/\t", "/", "jobs/"},
        {" /jobs/ ", "/", "jobs/"},
        {"\\jobs\\", "/", "jobs/"},
        {"/jo\r\nbs/", "/", "jobs/"},
        {"http://127.0.0.1:4040\\jobs\\", "/", "jobs/"},
        {"http:\\\\127.0.0.1:4040/jobs/", "/", "jobs/"},
        {"/jobs/?q=a\\b", "/", "jobs/?q=a\\b"},                       /* a query keeps them */
        /* same site, but the path could read as "//host" once relative */
        {BASE "//evil.example/", "/", ".//evil.example/"},
        {BASE "///evil.example/", "/", ".///evil.example/"},
        {"http://127.0.0.1:4040//evil.example/", "/", ".//evil.example/"},
        {"/?x=1", "/jobs", "./?x=1"},                                 /* Spark's root, not /jobs */
        {"http://127.0.0.1:4040\\@evil.example/", "/", "@evil.example/"},
        /* another host, port or scheme: refused */
        {"http://127.0.0.1:4041/jobs/", "/", REFUSED},                /* another port */
        {"http://127.0.0.1:40400/jobs/", "/", REFUSED},
        {"http://127.0.0.1:4040@evil.example/", "/", REFUSED},         /* user info */
        {"http://example.org/x", "/", REFUSED},                       /* another host */
        {"//example.org/x", "/", REFUSED},                            /* scheme-relative */
        {"/\\evil.example/x", "/", REFUSED},
        {"\\\\evil.example", "/", REFUSED},
        {"\\/evil.example", "/", REFUSED},
        {"/\\/evil.example", "/", REFUSED},
        {"/\t/evil.example", "/", REFUSED},
        {"\t//evil.example", "/", REFUSED},
        {" //evil.example", "/", REFUSED},                            /* a leading space */
        {"\x01//evil.example", "/", REFUSED},                         /* a leading C0 control */
        {"http:\\\\evil.example", "/", REFUSED},
        {"http:/evil.example", "/", REFUSED},
        {"http:evil.example", "/", REFUSED},
        {"http:///127.0.0.1:4040/", "/", REFUSED},
        {"javascript:alert(1)", "/", REFUSED},
        {"java\tscript:alert(1)", "/", REFUSED},
        {" JavaScript:alert(1)", "/", REFUSED},
        {"data:text/html,x", "/", REFUSED},
        {"a:b/", "/", REFUSED},                                       /* a scheme "a" */
};

static void test_rewrite_table(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *got = NULL;
                int r = ui_rewrite_location(cases[i].value, 4040, BASE, cases[i].from, &got);
                if (!cases[i].want) {
                        if (r != -EPERM)
                                fail_msg("case %zu (%s): got %d %s, wanted it refused", i,
                                         cases[i].value, r, got ? got : "(null)");
                        assert_null(got);
                        continue;
                }
                if (r != 0 || !got || strcmp(got, cases[i].want))
                        fail_msg("case %zu (%s from %s): got %d %s, wanted %s", i, cases[i].value,
                                 cases[i].from, r, got ? got : "(null)", cases[i].want);
                /* whatever is kept cannot name a host: no leading '/' or '\', no scheme */
                assert_true(got[0] != '/' && got[0] != '\\');
                size_t seg = strcspn(got, "/?#");
                assert_null(memchr(got, ':', seg));
                free(got);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_rewrite_table)};
        return cmocka_run_group_tests_name("ui", tests, NULL, NULL);
}
