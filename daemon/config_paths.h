/* config_paths.h — where the shipped data is: found from the daemon's own
 * installed location, not frozen at build time.
 *
 * `make install PREFIX=/x` puts the binary in /x/bin and the shipped
 * configurations in /x/share/sparkd/configs.  A tree copied or moved
 * elsewhere keeps that shape, so the binary looks in ../share/sparkd
 * relative to itself (/proc/self/exe) first, and falls back to the
 * directory compiled in (SPARKD_DATADIR) when that has no configurations.
 * A directory found that way is used only when it is a directory owned by
 * root or by us and writable by no one else (the same trust as the
 * compiled-in one, which the installer made).
 * Never logs, never exits.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* PREFIX/share/sparkd for a program at PREFIX/DIR/NAME (exe absolute):
 * writes it to out and returns 0; -EINVAL when exe is not an absolute path
 * with a directory above its own, -ENAMETOOLONG when out is too small.
 * Pure. */
int cfgpath_data_from_exe(const char *exe, char *out, size_t n);

/* True when dir is a directory owned by root or the effective uid and not
 * writable by its group or others. */
bool cfgpath_trusted_dir(const char *dir);

/* The shipped data directory: cfgpath_data_from_exe(exe) when its
 * configs/ subdirectory and it are trusted directories, else compiled.
 * exe may be NULL (unknown).  Returns 0 and writes out, or
 * -ENAMETOOLONG. */
int cfgpath_datadir(const char *exe, const char *compiled, char *out, size_t n);
