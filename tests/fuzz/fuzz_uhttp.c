/* libFuzzer target: the parsers of the tools (tools/uhttp.c): the response
 * parser of sparkctl's and sparkd-launch's HTTP client, fed complete and
 * truncated responses, and the launcher's reading of a server command's
 * first bytes ("#!" line, pip's sh launcher) for its Python. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/uhttp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (int eof = 0; eof <= 1; eof++) {
                struct uhttp_response r = {0};
                int n = uhttp_parse((const char *)data, size, eof, &r);
                if (n == 1 && (r.status < 100 || r.status > 599 || !r.body || r.body[r.body_len] != '\0'))
                        abort();
                if (n != 1 && (r.body || n > 1))
                        abort();
                uhttp_response_free(&r);
        }
        char head[1024]; /* as tool_python_of reads it: at most 1023 bytes and a NUL */
        size_t len = size < sizeof head - 1 ? size : sizeof head - 1;
        memcpy(head, data, len);
        head[len] = '\0';
        const char *prog = head_python(head, len);
        if (prog && (prog < head || prog >= head + len || !*prog || !tool_is_python_name(prog)))
                abort();
        return 0;
}
