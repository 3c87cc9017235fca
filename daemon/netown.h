/* netown.h — who owns the TCP listeners on a loopback port.
 *
 * On a shared host another Unix user can bind 127.0.0.1:P before (or after)
 * one of our Spark processes.  Before sending a secret to port P, or
 * proxying a browser to it, the daemon asks the kernel (NETLINK_SOCK_DIAG,
 * what `ss -ltn` does; no privilege needed) for every TCP socket in state
 * LISTEN and checks that each one a connect() to 127.0.0.1:P or [::1]:P
 * could reach belongs to our uid, and that there is at least one.
 *
 * Reachable means a local port P and one of these bound addresses:
 *   AF_INET   127.0.0.0/8, 0.0.0.0
 *   AF_INET6  ::1, ::, ::ffff:127.0.0.0/104, ::ffff:0.0.0.0
 * IPv4-mapped addresses count: Java binds its IPv4 listeners on an IPv6
 * socket, so `ss -ltn` shows them as [::ffff:127.0.0.1]:P.  A listener on
 * :: counts whether or not it is IPV6_V6ONLY (it takes [::1]:P either way).
 * Listeners on other addresses (10.0.0.5, 2001:db8::1, fe80::1) are not
 * reachable through loopback and are ignored; so are sockets not in LISTEN.
 * A listener bound to a device (SO_BINDTODEVICE) still counts: a foreign
 * one is reported rather than guessed unreachable.
 *
 * The answer covers the caller's network namespace, and uids are those of
 * the caller's user namespace (as the kernel reports them).
 *
 * netown_parse is pure (no system calls, no logging): it is what the unit
 * tests and fuzz_netown drive.  netown_check does the two kernel dumps and
 * blocks, at most about a second per receive; it never logs either. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

/* A dump larger than this is refused (about 70 000 listeners). */
#define NETOWN_MAX_DUMP_BYTES (8u * 1024u * 1024u)

/* What one port's listeners looked like so far, accumulated over the
 * answer buffers of one or more dumps.  Set want_uid, zero the rest. */
struct netown_scan {
        uid_t want_uid;       /* in: the owner every listener must have */
        unsigned count;       /* reachable listeners on the port, any owner */
        int other;            /* 1 once one of them had another owner */
        uid_t other_uid;      /* the first such owner (valid when other) */
        uint32_t other_inode; /* and its socket's inode (valid when other) */
        int done;             /* 1 once NLMSG_DONE ended the dump */
};

/* Walks one netlink answer buffer of an inet_diag TCP dump (any number of
 * messages) and adds the reachable listeners on port (1..65535) to scan.
 * Every length is checked before use and buf may be unaligned.  Stops at
 * NLMSG_DONE, ignoring anything after it.
 * Returns 1 when NLMSG_DONE was seen (scan->done set), 0 when the buffer
 * ended at a message boundary before it (more is expected); -EINVAL for a
 * port out of range; the kernel's error (-errno) for NLMSG_ERROR or a
 * NLMSG_DONE carrying one; -EPROTO for anything malformed or unexpected:
 * a truncated header, nlmsg_len below the header or past the buffer, a
 * payload shorter than its struct, an unknown message type or address
 * family, an error code that is not a negative errno.  On a negative
 * return scan holds what the messages before the failure added. */
int netown_parse(const void *buf, size_t len, int port, struct netown_scan *scan);

/* Asks the kernel for the TCP listeners (IPv4 dump, then IPv6) and
 * returns 0 when at least one reachable listener exists on port and all
 * of them belong to uid; -ENOENT when none listens; -EPERM when one
 * belongs to another uid, whose uid then goes to *ret_other_uid (may be
 * NULL; written only for -EPERM); -EINVAL for a port outside 1..65535;
 * -EPROTONOSUPPORT when the kernel has no TCP socket diagnostics;
 * -ETIMEDOUT when the kernel did not answer within a second; -E2BIG when
 * a dump exceeds NETOWN_MAX_DUMP_BYTES; another -errno when netlink fails.
 * Uses one close-on-exec netlink socket, closed before returning. */
int netown_check(int port, uid_t uid, uid_t *ret_other_uid);
