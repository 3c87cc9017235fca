/* fuzz_slurm.c — slurm.c's parsers on arbitrary bytes: the job's status
 * line, sbatch's answer, squeue and scontrol lines.  Checks: a parsed
 * status has the fields its kind needs (a spark:// URL, N/M, a printable
 * sentence), strings stay NUL-terminated within their buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slurm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct slurm_status st;
        const char *why = NULL;
        if (slurm_status_parse((const char *)data, size, &st, &why) == 0) {
                if ((st.kind == SLURM_ST_READY || st.kind == SLURM_ST_WORKERS) && strncmp(st.url, "spark://", 8))
                        abort();
                if (strnlen(st.url, sizeof st.url) == sizeof st.url || strnlen(st.text, sizeof st.text) == sizeof st.text)
                        abort();
                for (const char *c = st.text; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                abort();
                if (st.kind == SLURM_ST_FAILED && !st.text[0])
                        abort();
        } else if (!why) {
                abort();
        }
        char *line = malloc(size + 1);
        if (!line)
                abort();
        memcpy(line, data, size);
        line[size] = '\0';
        char id[32];
        if (slurm_jobid_parse(line, id) == 0 && (strlen(id) == 0 || strlen(id) > 31))
                abort();
        struct slurm_queue q;
        if (slurm_squeue_parse(line, &q) == 0 && (!q.state[0] || strnlen(q.reason, sizeof q.reason) == sizeof q.reason))
                abort();
        if (slurm_scontrol_parse(line, &q) == 0) {
                char buf[160];
                const char *s = slurm_end_sentence(&q, -1, buf, sizeof buf);
                if (!s || !*s)
                        abort();
                (void)slurm_hopeless(q.reason);
        }
        free(line);
        return 0;
}
