/* fsutil.h — small file-system helpers shared by the daemon's modules. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Creates dir and its missing parents with `mode` (existing ones are left
 * as they are).  Returns 0 or -errno. */
int mkdir_p(const char *dir, mode_t mode);

/* Replaces path with data atomically: a temp file in the same directory,
 * written, fchmod(mode), fsync'd, renamed over path, directory fsync'd.
 * Creates the directory (0700) when missing.  Returns 0 or -errno; never
 * leaves the temp file behind. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same without the fsyncs: still atomic for readers (rename), but a
 * crash may lose the new content.  For state that is cheap to lose. */
int write_file_atomic_nosync(const char *path, const void *data, size_t len, mode_t mode);

/* Reads a regular file of at most max bytes into a malloc'd NUL-terminated
 * buffer.  Returns 0, -EFBIG past max, or -errno. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Removes, recursively and without following symbolic links, the
 * subdirectories of parent beyond the keep most recently modified ones,
 * sparing those for which spare(path, data) is true (spare may be NULL).
 * Files in parent are left alone.  Returns the number of directories
 * removed, or -errno when parent cannot be read (a missing parent: 0). */
int prune_dirs(const char *parent, size_t keep, int (*spare)(const char *path, void *data), void *data);
