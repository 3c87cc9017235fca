/* sdnotify.h — the two pieces of the systemd protocol the daemon speaks:
 * sockets passed by socket activation (LISTEN_FDS) and readiness
 * notifications (NOTIFY_SOCKET).  Written here rather than linked from
 * libsystemd: each is a few lines, and the library would cost every
 * user's daemon about a megabyte of resident memory. */
#pragma once

#define SDN_LISTEN_FDS_START 3

/* The number of sockets passed to this process (LISTEN_PID must be ours),
 * 0 when none.  Marks them close-on-exec and unsets the variables.
 * Returns -errno on a malformed environment. */
int sdn_listen_fds(void);

/* Sends state ("READY=1", ...) to $NOTIFY_SOCKET (a path, or @abstract).
 * Returns 1 when sent, 0 when NOTIFY_SOCKET is unset, -errno on failure. */
int sdn_notify(const char *state);
