/* Unit tests for slurm.c's parsers: the job's status line (every error),
 * sbatch --parsable's answer, squeue and scontrol lines, the reasons that
 * never pass and the sentences for how a job ended. */
#include "unit.h"

#include <errno.h>

#include "slurm.h"

#define S(lit) lit, sizeof lit - 1

static void test_status_ok(void **state) {
        (void)state;
        struct slurm_status st;
        const char *why = NULL;
        assert_int_equal(slurm_status_parse(S("starting master\n"), &st, &why), 0);
        assert_int_equal(st.kind, SLURM_ST_STARTING);
        assert_int_equal(slurm_status_parse(S("workers 1/4 spark://node1:40123\n"), &st, &why), 0);
        assert_int_equal(st.kind, SLURM_ST_WORKERS);
        assert_int_equal(st.workers, 1);
        assert_int_equal(st.nodes, 4);
        assert_string_equal(st.url, "spark://node1:40123");
        assert_int_equal(slurm_status_parse(S("ready spark://n-1.cluster.example:7077"), &st, &why), 0);
        assert_int_equal(st.kind, SLURM_ST_READY);
        assert_string_equal(st.url, "spark://n-1.cluster.example:7077");
        assert_int_equal(slurm_status_parse(S("failed the Spark master exited: java.net.BindException\n"), &st,
                                            &why), 0);
        assert_int_equal(st.kind, SLURM_ST_FAILED);
        assert_string_equal(st.text, "the Spark master exited: java.net.BindException");
        assert_int_equal(slurm_status_parse(S("failed\x01\x7f x"), &st, &why), -EINVAL); /* no space after */
        assert_int_equal(slurm_status_parse(S("failed a\x01\x7f"), &st, &why), 0);
        assert_string_equal(st.text, "a??");
        assert_int_equal(slurm_status_parse(S("failed"), &st, &why), 0);
        assert_string_equal(st.text, "no reason given");
        assert_int_equal(slurm_status_parse(S("ended 143\n"), &st, &why), 0);
        assert_int_equal(st.kind, SLURM_ST_ENDED);
        assert_int_equal(st.code, 143);
}

static void test_status_errors(void **state) {
        (void)state;
        static const struct {
                const char *text;
                size_t len;
                const char *why;
        } bad[] = {
                {S(""), "the status is empty or longer than the limit"},
                {S("ready spark://a:1\nready spark://b:2\n"), "the status is not one line"},
                {"ready spark://a:1\0x", 19, "the status is not one line"},
                {S("ready"), "ready without a spark:// URL"},
                {S("ready http://a:1"), "ready without a spark:// URL"},
                {S("ready spark://a:x"), "ready without a spark:// URL"},
                {S("ready spark://:7077"), "ready without a spark:// URL"},
                {S("ready spark://a:123456"), "ready without a spark:// URL"},
                {S("ready spark://a b:1"), "ready without a spark:// URL"},
                {S("workers 1 spark://a:1"), "workers without N/M"},
                {S("workers x/2 spark://a:1"), "workers without N/M"},
                {S("workers 1/2"), "workers without N/M"},
                {S("workers 1/2 nothing"), "workers without a spark:// URL"},
                {S("ended"), "ended without an exit status"},
                {S("ended -1"), "ended without an exit status"},
                {S("ended 1000"), "ended without an exit status"},
                {S("running"), "unknown status word"},
                {S(" ready spark://a:1"), "unknown status word"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                struct slurm_status st;
                const char *why = NULL;
                assert_int_equal(slurm_status_parse(bad[i].text, bad[i].len, &st, &why), -EINVAL);
                assert_string_equal(why, bad[i].why);
        }
        char big[SLURM_STATUS_MAX + 2];
        memset(big, 'a', sizeof big);
        struct slurm_status st;
        const char *why = NULL;
        assert_int_equal(slurm_status_parse(big, sizeof big, &st, &why), -EINVAL);
        assert_string_equal(why, "the status is empty or longer than the limit");
}

static void test_jobid(void **state) {
        (void)state;
        char id[32];
        assert_int_equal(slurm_jobid_parse("12345", id), 0);
        assert_string_equal(id, "12345");
        assert_int_equal(slurm_jobid_parse("77;cluster2", id), 0);
        assert_string_equal(id, "77");
        assert_int_equal(slurm_jobid_parse("8\r", id), 0);
        assert_string_equal(id, "8");
        assert_int_equal(slurm_jobid_parse("", id), -EINVAL);
        assert_int_equal(slurm_jobid_parse("sbatch: error: x", id), -EINVAL);
        assert_int_equal(slurm_jobid_parse("12a", id), -EINVAL);
        assert_int_equal(slurm_jobid_parse("12345678901234567890123456789012", id), -EINVAL);
}

static void test_squeue_scontrol(void **state) {
        (void)state;
        struct slurm_queue q;
        assert_int_equal(slurm_squeue_parse("PENDING|Resources", &q), 0);
        assert_string_equal(q.state, "PENDING");
        assert_string_equal(q.reason, "Resources");
        assert_int_equal(slurm_squeue_parse("RUNNING|None|extra", &q), 0);
        assert_string_equal(q.reason, "None");
        assert_int_equal(slurm_squeue_parse("", &q), -EINVAL);
        assert_int_equal(slurm_squeue_parse("|x", &q), -EINVAL);
        assert_int_equal(slurm_squeue_parse("pending|x", &q), -EINVAL);
        assert_int_equal(slurm_squeue_parse("NO BAR", &q), -EINVAL);
        assert_int_equal(slurm_squeue_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA|x", &q), -EINVAL);
        char big[SLURM_LINE_MAX + 8];
        memset(big, 'A', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        big[3] = '|';
        assert_int_equal(slurm_squeue_parse(big, &q), -EINVAL);
        assert_int_equal(slurm_scontrol_parse("JobId=5 JobName=x JobState=TIMEOUT Reason=TimeLimit Dependency=(null)",
                                              &q), 0);
        assert_string_equal(q.state, "TIMEOUT");
        assert_string_equal(q.reason, "TimeLimit");
        assert_int_equal(slurm_scontrol_parse("XJobState=RUNNING", &q), -EINVAL);
        assert_int_equal(slurm_scontrol_parse("slurm_load_jobs error: Invalid job id specified", &q), -EINVAL);
}

static void test_sentences(void **state) {
        (void)state;
        char buf[160];
        struct slurm_queue q = {"TIMEOUT", "TimeLimit"};
        assert_string_equal(slurm_end_sentence(&q, 143, buf, sizeof buf),
                            "the time limit of the allocation was reached");
        struct slurm_queue pre = {"PREEMPTED", "None"}, nf = {"NODE_FAIL", "NodeDown"}, ca = {"CANCELLED", "None"};
        assert_string_equal(slurm_end_sentence(&pre, 0, buf, sizeof buf), "the allocation was preempted");
        assert_string_equal(slurm_end_sentence(&nf, 0, buf, sizeof buf), "a node of the allocation failed");
        assert_string_equal(slurm_end_sentence(&ca, 0, buf, sizeof buf),
                            "the job was cancelled outside Start Spark (scancel)");
        struct slurm_queue none = {"", ""};
        assert_string_equal(slurm_end_sentence(&none, 1, buf, sizeof buf), "the Spark workers exited (exit status 1)");
        assert_string_equal(slurm_end_sentence(&none, -1, buf, sizeof buf), "the job ended");
        assert_string_equal(slurm_hopeless("PartitionConfig"),
                            "the partition cannot hold it (too many nodes, cores or too much memory)");
        assert_non_null(slurm_hopeless("PartitionTimeLimit"));
        assert_null(slurm_hopeless("Resources"));
        assert_null(slurm_hopeless("Priority"));
        assert_null(slurm_hopeless(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_ok),   cmocka_unit_test(test_status_errors),
                cmocka_unit_test(test_jobid),       cmocka_unit_test(test_squeue_scontrol),
                cmocka_unit_test(test_sentences),
        };
        return cmocka_run_group_tests_name("slurm", tests, NULL, NULL);
}
