#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mkdir_p(const char *dir, mode_t mode) {
        char path[PATH_MAX];
        size_t n = strlen(dir);
        if (n == 0 || n >= sizeof path)
                return -ENAMETOOLONG;
        memcpy(path, dir, n + 1);
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Writes all of data to fd, retrying on EINTR and short writes. */
static int write_all(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t w = write(fd, data, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                data += w;
                len -= (size_t)w;
        }
        return 0;
}

/* fsyncs the directory containing path so the rename itself is durable. */
static int fsync_parent(const char *dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        int r = fsync(dfd) < 0 ? -errno : 0;
        close(dfd);
        return r;
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable) {
        char dir[PATH_MAX], tmp[PATH_MAX];
        if (strlen(path) >= sizeof dir)
                return -ENAMETOOLONG;
        strcpy(dir, path);
        char *d = dirname(dir);
        int r = mkdir_p(d, 0700);
        if (r < 0)
                return r;
        if (snprintf(tmp, sizeof tmp, "%s/.sparkd-tmp.XXXXXX", d) >= (int)sizeof tmp)
                return -ENAMETOOLONG;
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        return durable ? fsync_parent(d) : 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
        return write_atomic(path, data, len, mode, true);
}

int write_file_atomic_nosync(const char *path, const void *data, size_t len, mode_t mode) {
        return write_atomic(path, data, len, mode, false);
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        int r = 0;
        char *buf = NULL;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                goto out;
        }
        if ((size_t)st.st_size > max) {
                r = -EFBIG;
                goto out;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        size_t len = 0, cap = (size_t)st.st_size;
        for (;;) {
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0 || (len += (size_t)n) == cap)
                        break;
        }
        buf[len] = '\0';
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        buf = NULL;
out:
        free(buf);
        close(fd);
        return r;
}
