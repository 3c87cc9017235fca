#include "fsutil.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
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

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void)st, (void)ftw;
        int r = flag == FTW_DP ? rmdir(path) : unlink(path);
        return r < 0 && errno != ENOENT ? -errno : 0;
}

struct aged {
        char *path;
        struct timespec mtime;
};

static int newer_first(const void *a, const void *b) {
        const struct aged *x = a, *y = b;
        if (x->mtime.tv_sec != y->mtime.tv_sec)
                return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
        if (x->mtime.tv_nsec != y->mtime.tv_nsec)
                return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
        return strcmp(x->path, y->path);
}

int prune_dirs(const char *parent, size_t keep, int (*spare)(const char *path, void *data), void *data) {
        DIR *d = opendir(parent);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct aged *v = NULL;
        size_t n = 0, cap = 0;
        int r = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char path[PATH_MAX];
                struct stat st;
                if (snprintf(path, sizeof path, "%s/%s", parent, e->d_name) >= (int)sizeof path ||
                    lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? 2 * cap : 16;
                        struct aged *nv = realloc(v, ncap * sizeof *nv);
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                        cap = ncap;
                }
                if (!(v[n].path = strdup(path))) {
                        r = -ENOMEM;
                        break;
                }
                v[n++].mtime = st.st_mtim;
        }
        closedir(d);
        if (r == 0 && n > keep) {
                qsort(v, n, sizeof *v, newer_first);
                for (size_t i = keep; i < n; i++)
                        if ((!spare || !spare(v[i].path, data)) &&
                            nftw(v[i].path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0)
                                r++;
        }
        for (size_t i = 0; i < n; i++)
                free(v[i].path);
        free(v);
        return r;
}
