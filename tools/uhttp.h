/* uhttp.h — a tiny HTTP/1.1 client over a Unix socket, for sparkctl and
 * sparkd-launch.  One request per connection, bounded in size and time.
 * Never logs, never exits. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#define UHTTP_MAX_RESPONSE (8u << 20) /* bytes of head + body at most */
#define UHTTP_MAX_PATH 108            /* sizeof(sun_path) */

struct uhttp_response {
        int status;
        char *body; /* malloc'd, NUL-terminated */
        size_t body_len;
};

/* Why a socket is not trusted: anything another user could have put there
 * may be listening in on what we send (a browser's cookies, through the
 * Jupyter server's proxy route). */
enum uhttp_distrust {
        UHTTP_DIR_SYMLINK,     /* the socket's directory is a symbolic link */
        UHTTP_DIR_NOT_OWNED,   /* the directory belongs to another uid */
        UHTTP_DIR_OPEN,        /* the directory has group or other permissions */
        UHTTP_SOCK_NOT_SOCKET, /* the path is a symbolic link or another kind of file */
        UHTTP_SOCK_NOT_OWNED,  /* the socket belongs to another uid */
        UHTTP_PEER_NOT_OWNER,  /* the process listening on it runs as another uid */
};

struct uhttp_refusal {
        enum uhttp_distrust why;
        char dir[UHTTP_MAX_PATH]; /* the socket's directory */
        uid_t found;              /* the owner, or the listener's uid, found */
        uid_t you;                /* getuid() */
        mode_t mode;              /* the st_mode found (not for the peer) */
};

/* Writes the socket path sparkd uses by default into buf (the chain of
 * daemon/sockpath.h: $SPARKD_SOCKET, $XDG_RUNTIME_DIR, /run/user/UID, the
 * user's state directory, /tmp).  Returns 0, or -ENAMETOOLONG when it does
 * not fit a Unix socket address. */
int uhttp_default_socket(char *buf, size_t n);

/* Checks, before anything is sent, that only we could have put sock there:
 * its directory is a real directory (not a symbolic link) owned by getuid()
 * without group or other permissions, and sock is a socket owned by
 * getuid().  Returns 0; -EPERM when not, with *ret filled (ret may be
 * NULL); -ENOENT when the directory or the socket does not exist, -ENOTDIR,
 * -ENAMETOOLONG, or lstat's -errno. */
int uhttp_check_socket(const char *sock, struct uhttp_refusal *ret);

/* Writes the sentence for a refusal of sock into buf: "refusing SOCK: why;
 * what to do" (no program name, no newline). */
void uhttp_refusal_message(const struct uhttp_refusal *r, const char *sock, char *buf, size_t n);

/* Sends `method path` (with body as application/json when body != NULL) to
 * the daemon at sock and reads the whole answer within timeout_ms.  Sends
 * nothing unless uhttp_check_socket accepts sock and the connected peer
 * (SO_PEERCRED) runs as getuid().  Returns 0 and fills *ret (free it with
 * uhttp_response_free), or -errno: -EPERM when the socket is not trusted
 * (with *refusal filled; it may be NULL), -ENAMETOOLONG for a path too long,
 * -ETIMEDOUT, -EFBIG for an answer over UHTTP_MAX_RESPONSE, -EPROTO for
 * something that is not HTTP, or the errno of lstat/socket/connect/read/write. */
int uhttp_request(const char *sock, const char *method, const char *path, const char *body,
                  int timeout_ms, struct uhttp_response *ret, struct uhttp_refusal *refusal);

/* Frees what uhttp_request filled; accepts a zeroed struct. */
void uhttp_response_free(struct uhttp_response *r);

/* Parses a complete response held in buf (head, then body up to
 * Content-Length or the end of buf).  Returns 1 and fills *ret when complete,
 * 0 when more bytes are needed (eof = 0), -EPROTO when malformed.  Pure. */
int uhttp_parse(const char *buf, size_t len, int eof, struct uhttp_response *ret);

/* ---- finding programs (shared by the tools, here so as not to add a file
 * to every tool's link line) ---- */

/* name looked up like execvp would: a name with a '/' is taken as it is;
 * otherwise the first executable regular file DIR/name for DIR in path
 * (':'-separated; NULL or "" means no lookup).  Returns 0 and the path in
 * out, -ENOENT when none, -ENAMETOOLONG. */
int tool_which(const char *name, const char *path, char *out, size_t n);

/* The program name in the directory of exe (an absolute path, the running
 * program's /proc/self/exe) when it is an executable regular file: 0 and
 * its path in out; else -ENOENT (or -EINVAL for a bad exe). */
int tool_beside(const char *exe, const char *name, char *out, size_t n);

/* The same for the running program (/proc/self/exe). */
int tool_beside_self(const char *name, char *out, size_t n);

/* The Python interpreter that runs cmd (looked up in path like execvp):
 * cmd itself when its name is python, python3, python3.12, ...; else the
 * interpreter named by its "#!" line, directly (#!/opt/venv/bin/python3)
 * or through env (#!/usr/bin/env python3, looked up in path), or by the
 * "'''exec' /path/python" line pip writes under "#!/bin/sh" for long
 * paths.  The interpreter's path is kept as written, not resolved: a
 * venv's bin/python is a symbolic link and only works under its own name.
 * Returns 0 and the interpreter in out; -ENOENT (cmd not found), -ENOEXEC
 * (not a Python program), -ENAMETOOLONG, or another -errno reading cmd. */
int tool_python_of(const char *cmd, const char *path, char *out, size_t n);

/* True when the last path component of s is python[N[.N...]]. */
int tool_is_python_name(const char *s);
