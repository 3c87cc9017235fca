#include "config_paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cfgpath_data_from_exe(const char *exe, char *out, size_t n) {
        if (!exe || exe[0] != '/')
                return -EINVAL;
        const char *name = strrchr(exe, '/');        /* "/sparkd" */
        const char *dir = name;                       /* start of "/bin" */
        while (dir > exe && dir[-1] != '/')
                dir--;
        if (dir == exe || dir == name)                /* "/sparkd", "//sparkd" */
                return -EINVAL;
        size_t prefix = (size_t)(dir - 1 - exe);      /* "" for "/bin/sparkd": the root */
        int w = snprintf(out, n, "%.*s/share/sparkd", (int)prefix, exe);
        return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

bool cfgpath_trusted_dir(const char *dir) {
        struct stat st;
        return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid()) &&
               !(st.st_mode & (S_IWGRP | S_IWOTH));
}

int cfgpath_datadir(const char *exe, const char *compiled, char *out, size_t n) {
        char found[PATH_MAX], configs[PATH_MAX + 16];
        if (cfgpath_data_from_exe(exe, found, sizeof found) == 0 &&
            snprintf(configs, sizeof configs, "%s/configs", found) < (int)sizeof configs &&
            cfgpath_trusted_dir(found) && cfgpath_trusted_dir(configs)) {
                if (strlen(found) >= n)
                        return -ENAMETOOLONG;
                strcpy(out, found);
                return 0;
        }
        if (strlen(compiled) >= n)
                return -ENAMETOOLONG;
        strcpy(out, compiled);
        return 0;
}
