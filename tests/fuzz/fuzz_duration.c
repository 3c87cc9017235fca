/* fuzz_duration.c — duration_parse on arbitrary bytes.
 *
 * Beyond "no crash": a duration that parses is at most DURATION_MAX
 * seconds, and its canonical text parses back to the same seconds; a
 * refusal always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char text[64], why[96], canon[DURATION_BUF], human[DURATION_BUF];
        unsigned secs, again;
        if (size >= sizeof text)
                size = sizeof text - 1;
        memcpy(text, data, size);
        text[size] = '\0';
        why[0] = '\0';
        if (duration_parse(text, &secs, why, sizeof why) < 0) {
                if (!why[0])
                        abort();
                return 0;
        }
        if (secs > DURATION_MAX)
                abort();
        duration_format(secs, canon);
        duration_human(secs, human);
        if (duration_parse(canon, &again, why, sizeof why) < 0 || again != secs)
                abort();
        return 0;
}
