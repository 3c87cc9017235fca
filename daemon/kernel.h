/* kernel.h — talking to a running Jupyter kernel over ZeroMQ, in the loop.
 *
 * Owns the ZeroMQ context and one connection per kernel: a DEALER on shell
 * and on control, a SUB on IOPub and a REQ on heartbeat, each watched
 * through ZMQ_FD (edge-triggered: ZMQ_EVENTS is re-checked after every
 * operation).  The wire format is kmsg.c's.  Malformed or badly signed
 * messages are dropped and counted.  Never blocks.
 */
#pragma once
#include <ev.h>
#include <jansson.h>
#include <stdbool.h>

#include "kmsg.h"

struct kernel;

/* What one execute_request reports back.  All callbacks are optional. */
struct kernel_exec_cbs {
        void (*on_busy)(void *data);                   /* the kernel began running it */
        void (*on_output)(void *data, const char *text); /* stream / error / result text */
        void (*on_reply)(void *data, json_t *content); /* execute_reply content (borrowed) */
        void (*on_done)(void *data);                   /* reply and idle seen; last call */
};

struct kernel_cbs {
        /* The kernel died (heartbeat silent, connection file gone): the
         * kernel object stays valid until kernel_close. */
        void (*on_dead)(void *data, const char *why);
        /* IOPub status of an execute_request (any client's): the kernel
         * went busy (true) or idle (false) running msg_id. */
        void (*on_status)(void *data, bool busy, const char *msg_id);
};

/* Global set-up: the daemon's session id and user name for headers.
 * Returns 0 or -errno. */
int kernel_global_init(void);
void kernel_global_free(void);

/* Counters for /api/health and tests. */
unsigned long kernel_dropped_messages(void);

/* True when id is a lowercase or uppercase UUID (8-4-4-4-12 hex). */
bool kernel_id_valid(const char *id);

/* Opens a connection to kernel `id` from RUNTIME_DIR/kernel-<id>.json.
 * Returns 0, -ENOENT when there is no connection file, -ENOTSUP for an
 * unsupported transport or signature scheme, -EINVAL for a malformed one,
 * or -errno; *ret_err gets a malloc'd sentence on failure. */
int kernel_open(struct ev_loop *loop, const char *runtime_dir, const char *id,
                const struct kernel_cbs *cbs, void *data, struct kernel **ret, char **ret_err);

/* Sends an execute_request (kmsg_execute_request semantics) once IOPub is
 * known to be connected (nudging with kernel_info_request on control until
 * it is, at most a few seconds).  Copies its msg_id into msg_id (37 bytes).
 * Returns 0 or -errno. */
int kernel_execute(struct kernel *k, const char *code, json_t *user_expressions,
                   const struct kernel_exec_cbs *cbs, void *data, char msg_id[KMSG_UUID_LEN + 1]);

/* Hands k to a new owner: its kernel callbacks now reach data. */
void kernel_set_owner(struct kernel *k, const struct kernel_cbs *cbs, void *data);

/* True once the kernel was found dead. */
bool kernel_is_dead(const struct kernel *k);

/* Forgets the callbacks of one execution (the kernel still runs it). */
void kernel_forget(struct kernel *k, const char *msg_id);

/* Closes everything; no callback runs afterwards.  Accepts NULL; returns
 * NULL.  Safe to call from inside a callback of k. */
struct kernel *kernel_close(struct kernel *k);
