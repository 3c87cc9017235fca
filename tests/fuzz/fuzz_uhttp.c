/* libFuzzer target: the response parser of sparkctl's and sparkd-launch's
 * HTTP client (tools/uhttp.c), fed complete and truncated responses. */
#include <stdint.h>
#include <stdlib.h>

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
        return 0;
}
