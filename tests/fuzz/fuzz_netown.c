/* fuzz_netown.c — netown_parse on arbitrary bytes.
 *
 * Input: the port (two bytes, big-endian), then one netlink answer buffer,
 * parsed from a copy of its exact size (so any over-read is caught).
 * netown_parse's promises checked: the return value is 1, 0, -EINVAL
 * (port 0 only), or a negative errno; 1 exactly when scan.done; no more
 * listeners counted than whole messages fit; a foreign owner is reported
 * only with a listener counted, and is never the wanted uid; parsing the
 * same buffer again with a fresh scan gives the same result. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netown.h"

#define WANT_UID 1000u
#define MIN_MSG  (16u + 72u) /* nlmsghdr + inet_diag_msg */

static int parse(const uint8_t *buf, size_t len, int port, struct netown_scan *scan) {
        *scan = (struct netown_scan){.want_uid = WANT_UID};
        return netown_parse(buf, len, port, scan);
}

static int same(const struct netown_scan *a, const struct netown_scan *b) {
        return a->count == b->count && a->other == b->other && a->other_uid == b->other_uid &&
               a->other_inode == b->other_inode && a->done == b->done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct netown_scan scan, again;
        if (size < 2)
                return 0;
        int port = data[0] << 8 | data[1];
        size_t len = size - 2;
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
                return 0;
        memcpy(buf, data + 2, len);
        int r = parse(buf, len, port, &scan);
        if (r > 1 || r < -4095 || (port == 0 && r != -EINVAL))
                abort();
        if ((r == 1) != (scan.done == 1) || scan.done < 0 || scan.done > 1)
                abort();
        if (scan.count > len / MIN_MSG)
                abort();
        if (scan.other && (scan.count == 0 || scan.other_uid == WANT_UID || scan.other != 1))
                abort();
        if (!scan.other && (scan.other_uid || scan.other_inode))
                abort();
        if (parse(buf, len, port, &again) != r || !same(&scan, &again))
                abort();
        free(buf);
        return 0;
}
