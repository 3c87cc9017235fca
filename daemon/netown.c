/* netown.c — who owns the TCP listeners on a loopback port, asked of the
 * kernel through NETLINK_SOCK_DIAG.  The answer parser is pure; the dumps
 * use a blocking netlink socket with a receive timeout (a local kernel
 * query answers in microseconds). */
#include "netown.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define TCP_STATE_LISTEN 10      /* TCP_LISTEN of include/net/tcp_states.h */
#define ERRNO_MAX        4095    /* the kernel's MAX_ERRNO */
#define RECV_SIZE        32768   /* a dump's skb never exceeds 32 KiB */
#define SEQ_INET         1       /* nlmsg_seq of the AF_INET request */
#define SEQ_INET6        2       /* and of the AF_INET6 one */

/* 1 when a listener bound to this IPv4 address (network order bytes)
 * takes connections to 127.0.0.1: 127.0.0.0/8 or 0.0.0.0. */
static int reachable_v4(const uint8_t *a) {
        return a[0] == 127 || (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* The same for IPv6: ::1, ::, or an IPv4-mapped address reachable_v4
 * accepts (a dual-stack socket bound to ::ffff:127.0.0.1 or ::ffff:0.0.0.0). */
static int reachable_v6(const uint8_t *a) {
        static const uint8_t zero[15], mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(a, zero, sizeof zero) == 0)
                return a[15] <= 1;
        return memcmp(a, mapped, sizeof mapped) == 0 && reachable_v4(a + 12);
}

/* A kernel error code as a return value: itself when it is a negative
 * errno, -EPROTO otherwise. */
static int kernel_error(int e) {
        return e < 0 && e >= -ERRNO_MAX ? e : -EPROTO;
}

/* One SOCK_DIAG_BY_FAMILY answer (n payload bytes): adds it to scan when
 * it listens on port at a reachable address.  Returns 0, or -EPROTO for a
 * short payload or a family that is neither AF_INET nor AF_INET6 (ignoring
 * an unknown one could hide a foreign listener). */
static int parse_listener(const uint8_t *data, size_t n, int port, struct netown_scan *scan) {
        struct inet_diag_msg m;
        uint8_t addr[16];
        if (n < sizeof m)
                return -EPROTO;
        memcpy(&m, data, sizeof m);
        if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
                return -EPROTO;
        if (m.idiag_state != TCP_STATE_LISTEN || ntohs(m.id.idiag_sport) != port)
                return 0;
        memcpy(addr, m.id.idiag_src, sizeof addr);
        if (!(m.idiag_family == AF_INET ? reachable_v4(addr) : reachable_v6(addr)))
                return 0;
        scan->count++; /* one per 88 bytes at least: cannot wrap in a real buffer */
        if (m.idiag_uid != scan->want_uid && !scan->other) {
                scan->other = 1;
                scan->other_uid = m.idiag_uid;
                scan->other_inode = m.idiag_inode;
        }
        return 0;
}

/* NLMSG_ERROR: the error of struct nlmsgerr (-EPROTO when short, or when
 * it is an acknowledgement, which a dump without NLM_F_ACK never gets). */
static int parse_error(const uint8_t *data, size_t n) {
        struct nlmsgerr e;
        if (n < sizeof e)
                return -EPROTO;
        memcpy(&e, data, sizeof e);
        return kernel_error(e.error);
}

/* NLMSG_DONE: sets scan->done and returns 1, or returns the dump's error
 * when the kernel put a negative one in the payload. */
static int parse_done(const uint8_t *data, size_t n, struct netown_scan *scan) {
        int e = 0;
        if (n >= sizeof e)
                memcpy(&e, data, sizeof e);
        if (e < 0)
                return kernel_error(e);
        scan->done = 1;
        return 1;
}

/* One message of type type with n payload bytes: 0 to go on, 1 at the
 * end of the dump, -errno to stop. */
static int parse_msg(uint16_t type, const uint8_t *data, size_t n, int port,
                     struct netown_scan *scan) {
        switch (type) {
        case NLMSG_NOOP: return 0;
        case NLMSG_ERROR: return parse_error(data, n);
        case NLMSG_DONE: return parse_done(data, n, scan);
        case SOCK_DIAG_BY_FAMILY: return parse_listener(data, n, port, scan);
        default: return -EPROTO;
        }
}

/* A message length rounded up to NLMSG_ALIGNTO, in size_t so that a
 * length near 4 GiB cannot wrap to 0. */
static size_t aligned(uint32_t len) {
        return ((size_t)len + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
}

int netown_parse(const void *buf, size_t len, int port, struct netown_scan *scan) {
        const uint8_t *p = buf;
        size_t off = 0;
        if (port < 1 || port > 65535)
                return -EINVAL;
        while (off < len) {
                struct nlmsghdr h;
                size_t left = len - off;
                if (left < sizeof h)
                        return -EPROTO;
                memcpy(&h, p + off, sizeof h);
                if (h.nlmsg_len < sizeof h || h.nlmsg_len > left)
                        return -EPROTO;
                int r = parse_msg(h.nlmsg_type, p + off + sizeof h, h.nlmsg_len - sizeof h, port,
                                  scan);
                if (r != 0)
                        return r;
                size_t step = aligned(h.nlmsg_len);
                off += step < left ? step : left; /* the last message may lack its padding */
        }
        return 0;
}

/* A blocking NETLINK_SOCK_DIAG socket whose sends and receives give up
 * after a second.  Returns the fd or -errno. */
static int diag_open(void) {
        const struct timeval tv = {.tv_sec = 1};
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Sends the dump request for family's TCP sockets in LISTEN.
 * Returns 0 or -errno. */
static int diag_request(int fd, int family, uint32_t seq) {
        struct {
                struct nlmsghdr nh;
                struct inet_diag_req_v2 req;
        } msg = {
                .nh = {.nlmsg_len = sizeof msg,
                       .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                       .nlmsg_seq = seq},
                .req = {.sdiag_family = (uint8_t)family,
                        .sdiag_protocol = IPPROTO_TCP,
                        .idiag_states = 1u << TCP_STATE_LISTEN},
        };
        const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        const struct sockaddr *to = (const struct sockaddr *)&kernel;
        ssize_t n;
        do
                n = sendto(fd, &msg, sizeof msg, 0, to, sizeof kernel);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        return (size_t)n == sizeof msg ? 0 : -EIO;
}

/* Receives one datagram, which must come from the kernel (port id 0) and
 * fit in size.  Returns its length (> 0) or -errno. */
static ssize_t diag_recv(int fd, void *buf, size_t size) {
        struct sockaddr_nl from = {0};
        struct iovec iov = {.iov_base = buf, .iov_len = size};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                            .msg_iovlen = 1};
        ssize_t n;
        do
                n = recvmsg(fd, &mh, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (mh.msg_flags & MSG_TRUNC)
                return -EMSGSIZE;
        if (n == 0 || mh.msg_namelen < sizeof from || from.nl_pid != 0)
                return -EPROTO;
        return n;
}

/* Runs one dump (family, seq) to its NLMSG_DONE, adding to scan.
 * Returns 0 or -errno; a kernel without the diagnostics handler answers
 * -ENOENT, which becomes -EPROTONOSUPPORT (it does not mean "no listener"). */
static int diag_dump(int fd, int family, uint32_t seq, int port, struct netown_scan *scan) {
        uint8_t buf[RECV_SIZE];
        size_t total = 0;
        int r = diag_request(fd, family, seq);
        scan->done = 0;
        while (r == 0) {
                ssize_t n = diag_recv(fd, buf, sizeof buf);
                if (n < 0)
                        return (int)n;
                total += (size_t)n;
                if (total > NETOWN_MAX_DUMP_BYTES)
                        return -E2BIG;
                r = netown_parse(buf, (size_t)n, port, scan);
        }
        return r == -ENOENT ? -EPROTONOSUPPORT : r < 0 ? r : 0;
}

int netown_check(int port, uid_t uid, uid_t *ret_other_uid) {
        struct netown_scan scan = {.want_uid = uid};
        if (port < 1 || port > 65535)
                return -EINVAL;
        int fd = diag_open();
        if (fd < 0)
                return fd;
        int r = diag_dump(fd, AF_INET, SEQ_INET, port, &scan);
        if (r == 0 && !scan.other)
                r = diag_dump(fd, AF_INET6, SEQ_INET6, port, &scan);
        close(fd);
        if (r < 0)
                return r;
        if (scan.other) {
                if (ret_other_uid)
                        *ret_other_uid = scan.other_uid;
                return -EPERM;
        }
        return scan.count ? 0 : -ENOENT;
}
