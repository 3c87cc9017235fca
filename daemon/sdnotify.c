#include "sdnotify.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Parses a positive decimal number; -EINVAL otherwise. */
static long parse_pos(const char *s) {
        char *end;
        errno = 0;
        long v = s ? strtol(s, &end, 10) : -1;
        if (!s || errno || *end || end == s || v < 0)
                return -EINVAL;
        return v;
}

int sdn_listen_fds(void) {
        const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
        int r = 0;
        if (!pid || !fds)
                goto out;
        long p = parse_pos(pid), n = parse_pos(fds);
        if (p < 0 || n < 0 || n > 1024) {
                r = -EINVAL;
                goto out;
        }
        if ((pid_t)p != getpid())
                goto out;
        for (int fd = SDN_LISTEN_FDS_START; fd < SDN_LISTEN_FDS_START + n; fd++) {
                int fl = fcntl(fd, F_GETFD);
                if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
                        r = -errno;
                        goto out;
                }
        }
        r = (int)n;
out:
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        return r;
}

int sdn_notify(const char *state) {
        const char *path = getenv("NOTIFY_SOCKET");
        if (!path || !*path)
                return 0;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(path);
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path)
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        if (path[0] == '@')
                sa.sun_path[0] = '\0'; /* abstract namespace */
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
        ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
        int r = w < 0 ? -errno : 1;
        close(fd);
        return r;
}
