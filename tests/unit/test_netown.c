/* Unit tests for netown.c: netown_parse over answer buffers built here
 * (one table of listeners, one of malformed buffers, every prefix), and
 * netown_check against listeners the test opens itself. */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netown.h"

#define PORT     8080
#define ME       1000u
#define THEM     1001u
#define LISTEN   10
#define ESTAB    1
#define MSG_SIZE (NLMSG_HDRLEN + sizeof(struct inet_diag_msg))

/* An answer buffer under construction. */
struct nlbuf {
        uint8_t b[4096];
        size_t len;
};

/* Appends a message whose header says nlmsg_len = 16 + n + extra (extra
 * lets a test lie about the length), then pads to 4 bytes. */
static void put_raw(struct nlbuf *nb, uint16_t type, const void *payload, size_t n, long extra) {
        struct nlmsghdr h = {.nlmsg_len = (uint32_t)((long)(NLMSG_HDRLEN + n) + extra),
                             .nlmsg_type = type,
                             .nlmsg_flags = NLM_F_MULTI,
                             .nlmsg_seq = 1};
        assert_true(nb->len + NLMSG_ALIGN(NLMSG_HDRLEN + n) <= sizeof nb->b);
        memcpy(nb->b + nb->len, &h, sizeof h);
        if (n)
                memcpy(nb->b + nb->len + NLMSG_HDRLEN, payload, n);
        nb->len += NLMSG_ALIGN(NLMSG_HDRLEN + n);
}

static void put_msg(struct nlbuf *nb, uint16_t type, const void *payload, size_t n) {
        put_raw(nb, type, payload, n, 0);
}

/* An inet_diag_msg for a socket in state on addr (IPv4 or IPv6 text). */
static struct inet_diag_msg diag(const char *addr, int port, uid_t uid, int state) {
        struct inet_diag_msg m = {.idiag_state = (uint8_t)state, .idiag_uid = uid};
        m.idiag_family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(m.idiag_family, addr, m.id.idiag_src), 1);
        m.id.idiag_sport = htons((uint16_t)port);
        m.idiag_inode = 4242 + uid;
        return m;
}

static void put_listener(struct nlbuf *nb, const char *addr, int port, uid_t uid) {
        struct inet_diag_msg m = diag(addr, port, uid, LISTEN);
        put_msg(nb, SOCK_DIAG_BY_FAMILY, &m, sizeof m);
}

static void put_done(struct nlbuf *nb, int err) {
        put_msg(nb, NLMSG_DONE, &err, sizeof err);
}

static void put_error(struct nlbuf *nb, int err) {
        struct nlmsgerr e = {.error = err, .msg = {.nlmsg_len = 72, .nlmsg_type = 20}};
        put_msg(nb, NLMSG_ERROR, &e, sizeof e);
}

/* netown_parse on a copy of exactly len bytes (so ASan sees any
 * over-read), from a fresh scan wanting ME. */
static int parse(const void *buf, size_t len, int port, struct netown_scan *scan) {
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        *scan = (struct netown_scan){.want_uid = ME};
        int r = netown_parse(copy, len, port, scan);
        free(copy);
        return r;
}

/* One listener followed by NLMSG_DONE, asked about PORT. */
static const struct listener_case {
        const char *addr;
        int port;
        uid_t uid;
        int state;
        unsigned count; /* expected scan.count */
        int other;      /* expected scan.other */
} listener_cases[] = {
        {"127.0.0.1", PORT, ME, LISTEN, 1, 0},
        {"127.1.2.3", PORT, ME, LISTEN, 1, 0},
        {"127.0.0.1", PORT, THEM, LISTEN, 1, 1},
        {"0.0.0.0", PORT, THEM, LISTEN, 1, 1},
        {"10.0.0.5", PORT, THEM, LISTEN, 0, 0},
        {"128.0.0.1", PORT, THEM, LISTEN, 0, 0},
        {"0.0.0.1", PORT, THEM, LISTEN, 0, 0},
        {"127.0.0.1", PORT + 1, THEM, LISTEN, 0, 0},
        {"127.0.0.1", PORT, THEM, ESTAB, 0, 0},
        {"::1", PORT, ME, LISTEN, 1, 0},
        {"::1", PORT, THEM, LISTEN, 1, 1},
        {"::", PORT, THEM, LISTEN, 1, 1},
        {"::ffff:127.0.0.1", PORT, ME, LISTEN, 1, 0},
        {"::ffff:127.0.0.1", PORT, THEM, LISTEN, 1, 1},
        {"::ffff:127.9.9.9", PORT, THEM, LISTEN, 1, 1},
        {"::ffff:0.0.0.0", PORT, THEM, LISTEN, 1, 1},
        {"::ffff:10.0.0.5", PORT, THEM, LISTEN, 0, 0},
        {"::2", PORT, THEM, LISTEN, 0, 0},
        {"::127.0.0.1", PORT, THEM, LISTEN, 0, 0}, /* IPv4-compatible, not mapped */
        {"2001:db8::1", PORT, THEM, LISTEN, 0, 0},
        {"fe80::1", PORT, THEM, LISTEN, 0, 0},
        {"::1", PORT - 1, THEM, LISTEN, 0, 0},
};

static void test_parse_listeners(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof listener_cases / sizeof *listener_cases; i++) {
                const struct listener_case *c = &listener_cases[i];
                struct nlbuf nb = {0};
                struct netown_scan scan;
                struct inet_diag_msg m = diag(c->addr, c->port, c->uid, c->state);
                put_msg(&nb, SOCK_DIAG_BY_FAMILY, &m, sizeof m);
                put_done(&nb, 0);
                int r = parse(nb.b, nb.len, PORT, &scan);
                if (r != 1 || !scan.done || scan.count != c->count || scan.other != c->other ||
                    (c->other && (scan.other_uid != c->uid || scan.other_inode != 4242 + c->uid))) {
                        print_error("%s:%d uid %u state %d: r %d count %u other %d uid %u\n",
                                    c->addr, c->port, c->uid, c->state, r, scan.count, scan.other,
                                    scan.other_uid);
                        fail();
                }
        }
}

/* Several listeners: all counted, the first foreign owner kept. */
static void test_parse_first_other(void **state) {
        (void)state;
        struct nlbuf nb = {0};
        struct netown_scan scan;
        put_listener(&nb, "127.0.0.1", PORT, ME);
        put_msg(&nb, NLMSG_NOOP, NULL, 0);
        put_listener(&nb, "0.0.0.0", PORT, 0);
        put_listener(&nb, "::", PORT, THEM);
        put_listener(&nb, "10.1.1.1", PORT, 77);
        put_done(&nb, 0);
        assert_int_equal(parse(nb.b, nb.len, PORT, &scan), 1);
        assert_int_equal(scan.count, 3);
        assert_int_equal(scan.other, 1);
        assert_int_equal(scan.other_uid, 0);
        assert_int_equal(scan.other_inode, 4242);
}

/* A dump spread over two buffers: 0 for the first, 1 at DONE; scan
 * accumulates; what follows DONE is not read. */
static void test_parse_accumulates(void **state) {
        (void)state;
        struct nlbuf a = {0}, b = {0};
        struct netown_scan scan = {.want_uid = ME};
        put_listener(&a, "127.0.0.1", PORT, ME);
        put_listener(&b, "::1", PORT, ME);
        put_done(&b, 0);
        put_listener(&b, "0.0.0.0", PORT, THEM);
        assert_int_equal(netown_parse(a.b, a.len, PORT, &scan), 0);
        assert_int_equal(scan.done, 0);
        assert_int_equal(netown_parse(b.b, b.len, PORT, &scan), 1);
        assert_int_equal(scan.count, 2);
        assert_int_equal(scan.other, 0);
        assert_int_equal(netown_parse(NULL, 0, PORT, &scan), 0); /* empty: nothing yet */
}

/* A DONE without payload (old kernels) ends the dump too; the last
 * message may lack its padding. */
static void test_parse_done_forms(void **state) {
        (void)state;
        struct nlbuf nb = {0};
        struct netown_scan scan;
        put_msg(&nb, NLMSG_DONE, NULL, 0);
        assert_int_equal(parse(nb.b, nb.len, PORT, &scan), 1);
        nb = (struct nlbuf){0};
        uint8_t three[3] = {1, 2, 3};
        put_msg(&nb, NLMSG_NOOP, three, sizeof three);
        assert_int_equal(parse(nb.b, nb.len - 1, PORT, &scan), 0);
}

static void test_parse_errors(void **state) {
        (void)state;
        struct nlbuf nb = {0};
        struct netown_scan scan;
        put_listener(&nb, "0.0.0.0", PORT, ME);
        put_error(&nb, -EPERM);
        assert_int_equal(parse(nb.b, nb.len, PORT, &scan), -EPERM);
        assert_int_equal(scan.count, 1); /* what came before stays */
        nb = (struct nlbuf){0};
        put_done(&nb, -ENOBUFS); /* a dump that failed half way */
        assert_int_equal(parse(nb.b, nb.len, PORT, &scan), -ENOBUFS);
        assert_int_equal(scan.done, 0);
        nb = (struct nlbuf){0};
        put_done(&nb, 0);
        assert_int_equal(parse(nb.b, nb.len, 0, &scan), -EINVAL);
        assert_int_equal(parse(nb.b, nb.len, 65536, &scan), -EINVAL);
        assert_int_equal(parse(nb.b, nb.len, -1, &scan), -EINVAL);
        assert_int_equal(parse(nb.b, nb.len, 65535, &scan), 1);
}

/* Malformed buffers: each must be -EPROTO. */
static void build_short_header(struct nlbuf *nb) {
        put_done(nb, 0);
        nb->len = 10;
}
static void build_len_below_header(struct nlbuf *nb) {
        put_raw(nb, NLMSG_DONE, NULL, 0, -1);
}
static void build_len_zero(struct nlbuf *nb) {
        put_raw(nb, NLMSG_NOOP, NULL, 0, -(long)NLMSG_HDRLEN);
}
static void build_len_past_buffer(struct nlbuf *nb) {
        put_listener(nb, "127.0.0.1", PORT, ME);
        struct inet_diag_msg m = diag("127.0.0.1", PORT, ME, LISTEN);
        put_raw(nb, SOCK_DIAG_BY_FAMILY, &m, sizeof m, 4);
}
static void build_len_huge(struct nlbuf *nb) {
        put_raw(nb, NLMSG_NOOP, NULL, 0, 0xfffffff0L);
}
static void build_truncated_msg(struct nlbuf *nb) {
        put_listener(nb, "127.0.0.1", PORT, ME);
        nb->len -= 8;
}
static void build_short_diag(struct nlbuf *nb) {
        struct inet_diag_msg m = diag("0.0.0.0", PORT, THEM, LISTEN);
        put_msg(nb, SOCK_DIAG_BY_FAMILY, &m, sizeof m - 4);
        put_done(nb, 0);
}
static void build_short_error(struct nlbuf *nb) {
        int e = -EPERM;
        put_msg(nb, NLMSG_ERROR, &e, sizeof e);
}
static void build_ack(struct nlbuf *nb) {
        put_error(nb, 0);
}
static void build_error_positive(struct nlbuf *nb) {
        put_error(nb, EPERM);
}
static void build_error_huge(struct nlbuf *nb) {
        put_error(nb, -100000);
}
static void build_unknown_type(struct nlbuf *nb) {
        put_msg(nb, NLMSG_OVERRUN, NULL, 0);
}
static void build_unknown_family(struct nlbuf *nb) {
        struct inet_diag_msg m = diag("0.0.0.0", PORT, THEM, LISTEN);
        m.idiag_family = AF_UNIX;
        put_msg(nb, SOCK_DIAG_BY_FAMILY, &m, sizeof m);
        put_done(nb, 0);
}

static const struct malformed_case {
        const char *name;
        void (*build)(struct nlbuf *);
} malformed_cases[] = {
        {"header cut at 10 bytes", build_short_header},
        {"nlmsg_len 15", build_len_below_header},
        {"nlmsg_len 0", build_len_zero},
        {"nlmsg_len past the buffer", build_len_past_buffer},
        {"nlmsg_len near 4 GiB", build_len_huge},
        {"message cut short", build_truncated_msg},
        {"inet_diag_msg 4 bytes short", build_short_diag},
        {"nlmsgerr without its header", build_short_error},
        {"an acknowledgement", build_ack},
        {"positive error", build_error_positive},
        {"error beyond MAX_ERRNO", build_error_huge},
        {"NLMSG_OVERRUN", build_unknown_type},
        {"AF_UNIX in a TCP dump", build_unknown_family},
};

static void test_parse_malformed(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof malformed_cases / sizeof *malformed_cases; i++) {
                struct nlbuf nb = {0};
                struct netown_scan scan;
                malformed_cases[i].build(&nb);
                int r = parse(nb.b, nb.len, PORT, &scan);
                if (r != -EPROTO) {
                        print_error("%s: %d\n", malformed_cases[i].name, r);
                        fail();
                }
        }
}

/* Every prefix of a valid answer: never a crash or an over-read (each
 * prefix is its own allocation), 0 exactly at message boundaries, -EPROTO
 * elsewhere, 1 only for the whole buffer. */
static void test_parse_prefixes(void **state) {
        (void)state;
        struct nlbuf nb = {0};
        put_listener(&nb, "127.0.0.1", PORT, ME);
        put_listener(&nb, "::ffff:127.0.0.1", PORT, THEM);
        put_listener(&nb, "::", PORT, ME);
        put_done(&nb, 0);
        for (size_t n = 0; n <= nb.len; n++) {
                struct netown_scan scan;
                int r = parse(nb.b, n, PORT, &scan);
                int boundary = n % MSG_SIZE == 0 && n <= 3 * MSG_SIZE;
                if (n == nb.len)
                        assert_int_equal(r, 1);
                else if (boundary)
                        assert_int_equal(r, 0);
                else
                        assert_int_equal(r, -EPROTO);
                assert_true(scan.count <= n / MSG_SIZE);
        }
}

/* A TCP listener on addr (family's text form) and *port (0: the kernel
 * chooses).  Returns its fd and sets *port, or -1 when that cannot be
 * bound here (no IPv6). */
static int listen_on(int family, const char *addr, int v6only, int *port) {
        struct sockaddr_storage ss = {0};
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        socklen_t sl = family == AF_INET6 ? sizeof *s6 : sizeof *s4;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        ss.ss_family = (sa_family_t)family;
        if (family == AF_INET6) {
                assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
                s6->sin6_port = htons((uint16_t)*port);
                assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only),
                                 0);
        } else {
                assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
                s4->sin_port = htons((uint16_t)*port);
        }
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1) < 0) {
                close(fd);
                return -1;
        }
        assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
        *port = ntohs(family == AF_INET6 ? s6->sin6_port : s4->sin_port);
        return fd;
}

/* Our listener on addr: ours for getuid(), someone else's for any other
 * uid (which must then be told who owns it). */
static void check_ours(int family, const char *addr, int v6only) {
        int port = 0;
        uid_t other = 12345;
        int fd = listen_on(family, addr, v6only, &port);
        if (fd < 0)
                return; /* no IPv6 here */
        assert_int_equal(netown_check(port, getuid(), &other), 0);
        assert_int_equal(other, 12345); /* untouched on success */
        assert_int_equal(netown_check(port, getuid() + 1, &other), -EPERM);
        assert_int_equal(other, getuid());
        assert_int_equal(netown_check(port, getuid() + 1, NULL), -EPERM);
        close(fd);
}

static void test_check_v4(void **state) {
        (void)state;
        check_ours(AF_INET, "127.0.0.1", 0);
        check_ours(AF_INET, "0.0.0.0", 0);
}

static void test_check_v6(void **state) {
        (void)state;
        check_ours(AF_INET6, "::ffff:127.0.0.1", 0); /* how Java listens */
        check_ours(AF_INET6, "::", 0);
        check_ours(AF_INET6, "::", 1);
        check_ours(AF_INET6, "::1", 1);
}

/* Someone else on [::1]:P next to ours on 127.0.0.1:P (the two binds do
 * not conflict) takes the IPv6 connections: refused.  Needs root, to
 * create a socket owned by nobody. */
static void test_check_foreign(void **state) {
        (void)state;
        const uid_t nobody = 65534;
        int port = 0;
        uid_t other = 12345;
        if (getuid() != 0)
                skip();
        int ours = listen_on(AF_INET, "127.0.0.1", 0, &port);
        assert_true(ours >= 0);
        assert_int_equal(seteuid(nobody), 0); /* a socket's owner is its creator's fsuid */
        int theirs = listen_on(AF_INET6, "::1", 1, &port);
        assert_int_equal(seteuid(0), 0);
        if (theirs >= 0) {
                assert_int_equal(netown_check(port, 0, &other), -EPERM);
                assert_int_equal(other, nobody);
                assert_int_equal(netown_check(port, nobody, &other), -EPERM);
                assert_int_equal(other, 0);
                close(theirs);
        }
        assert_int_equal(netown_check(port, 0, NULL), 0);
        close(ours);
}

static void test_check_closed(void **state) {
        (void)state;
        int port = 0;
        int fd = listen_on(AF_INET, "127.0.0.1", 0, &port);
        assert_true(fd >= 0);
        close(fd);
        uid_t other = 12345;
        assert_int_equal(netown_check(port, getuid(), &other), -ENOENT);
        assert_int_equal(other, 12345);
}

/* A socket that is bound but not listening is nobody's listener. */
static void test_check_bound_only(void **state) {
        (void)state;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof sa;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
        assert_int_equal(netown_check(ntohs(sa.sin_port), getuid(), NULL), -ENOENT);
        close(fd);
}

static void test_check_port_range(void **state) {
        (void)state;
        uid_t other = 12345;
        assert_int_equal(netown_check(0, getuid(), &other), -EINVAL);
        assert_int_equal(netown_check(70000, getuid(), &other), -EINVAL);
        assert_int_equal(netown_check(-1, getuid(), &other), -EINVAL);
        assert_int_equal(other, 12345);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_listeners),  cmocka_unit_test(test_parse_first_other),
                cmocka_unit_test(test_parse_accumulates), cmocka_unit_test(test_parse_done_forms),
                cmocka_unit_test(test_parse_errors),     cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_parse_prefixes),   cmocka_unit_test(test_check_v4),
                cmocka_unit_test(test_check_v6),         cmocka_unit_test(test_check_foreign),
                cmocka_unit_test(test_check_closed),
                cmocka_unit_test(test_check_bound_only), cmocka_unit_test(test_check_port_range),
        };
        return cmocka_run_group_tests_name("netown", tests, NULL, NULL);
}
