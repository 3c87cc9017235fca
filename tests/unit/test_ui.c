/* Unit tests for ui_rewrite_location: Spark's redirects made relative to
 * the page asked for, so that no proxy in front can prefix them twice. */
#include "unit.h"

#include "ui.h"

#define BASE "/user/a/sparkd/ui/123e4567-e89b-42d3-a456-426614174000"

static const struct {
        const char *value, *from, *want; /* want NULL: left as it is */
} cases[] = {
        {"/jobs/", "/", "jobs/"},                                     /* Spark's "/" → "/jobs/" */
        {"/jobs/", "/jobs", "jobs/"},                                 /* a missing slash */
        {"/stages/stage/?id=1", "/stages/stage", "../stages/stage/?id=1"},
        {"/executors/", "/stages/stage", "../executors/"},
        {"/a/b/", "/x/y/z", "../../a/b/"},
        {"http://127.0.0.1:4040/jobs/", "/", "jobs/"},                /* absolute, our host */
        {"http://localhost:4040/jobs/", "/", "jobs/"},
        {"https://127.0.0.1:4040", "/jobs", "./"},
        {"http://127.0.0.1:4040" BASE "/jobs/", "/", "jobs/"},         /* Spark added proxyBase */
        {BASE "/SQL/", "/SQL", "SQL/"},
        {BASE, "/", "./"},
        {"/", "/", "./"},
        {"/a:b/", "/", "./a:b/"},                                     /* not a scheme */
        {"http://127.0.0.1:4041/jobs/", "/", NULL},                   /* another port */
        {"http://example.org/x", "/", NULL},                          /* another host */
        {"//example.org/x", "/", NULL},                               /* scheme-relative */
        {"jobs/", "/", NULL},                                         /* already relative */
};

static void test_rewrite_table(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *got = ui_rewrite_location(cases[i].value, 4040, BASE, cases[i].from);
                if (!cases[i].want) {
                        if (got)
                                fail_msg("case %zu (%s): got %s, wanted it left alone", i, cases[i].value, got);
                        continue;
                }
                if (!got || strcmp(got, cases[i].want))
                        fail_msg("case %zu (%s from %s): got %s, wanted %s", i, cases[i].value, cases[i].from,
                                 got ? got : "(null)", cases[i].want);
                free(got);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_rewrite_table)};
        return cmocka_run_group_tests_name("ui", tests, NULL, NULL);
}
