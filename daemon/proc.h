/* proc.h — spawn, track and stop the daemon's child processes.
 *
 * Every child is started with posix_spawn (never fork without exec), in a
 * process group of its own, through `setpriv --pdeathsig TERM --` so that it
 * dies with the daemon (the daemon is single-threaded, and PDEATHSIG follows
 * the spawning thread).  Its stdout and stderr go to one pipe that the libev
 * loop reads; complete lines reach on_line, and the last PROC_TAIL_LINES are
 * kept.  Exits are tracked with ev_child, so the loop must be the default
 * loop.  Every live child is in one list: proc_count() says how many, and
 * proc_stop_all_sync() leaves none behind.
 */
#pragma once
#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#define PROC_LINE_MAX 4096  /* longer lines are split */
#define PROC_TAIL_LINES 32

struct proc;

struct proc_cbs {
        /* One output line, without its newline (may be NULL). */
        void (*on_line)(void *data, struct proc *p, const char *line);
        /* The child was reaped; status is the wait(2) status.  All output
         * it wrote before exiting has been delivered.  p is freed after
         * this returns (may be NULL). */
        void (*on_exit)(void *data, struct proc *p, int status);
};

/* Starts argv[0] (looked up in PATH) with envp (NULL: the daemon's
 * environment) in directory cwd (NULL: the daemon's), stdin /dev/null,
 * stdout+stderr to the loop.  loop must be the default loop.  cbs must
 * outlive the process (a static struct).  Returns 0 and *ret, or -errno
 * (-ENOENT when setpriv is missing). */
int proc_spawn(struct ev_loop *loop, char *const argv[], char *const envp[], const char *cwd,
               const struct proc_cbs *cbs, void *data, struct proc **ret);

#define PROC_STDIN_PIPE 1u /* proc_spawn_ex: stdin is a pipe the daemon holds open */

/* proc_spawn with flags: PROC_STDIN_PIPE gives the child a stdin pipe
 * whose write end the module keeps (never written; closed when the child
 * is reaped), for children that exit at EOF on stdin (Spark's
 * PythonGatewayServer): such a child lives until it is stopped or the
 * daemon exits. */
int proc_spawn_ex(struct ev_loop *loop, char *const argv[], char *const envp[], const char *cwd,
                  unsigned flags, const struct proc_cbs *cbs, void *data, struct proc **ret);

/* SIGTERM to the child's process group now, SIGKILL to it after grace
 * seconds if the child has not been reaped by then.  Calling it again
 * never extends the grace.  on_exit still follows (unless detached). */
void proc_stop(struct proc *p, double grace);

/* No callbacks for p from now on; the module reaps and frees it. */
void proc_detach(struct proc *p);

/* Hands p to a new owner: its callbacks from now on (cbs static, may be
 * NULL like proc_detach). */
void proc_set_owner(struct proc *p, const struct proc_cbs *cbs, void *data);

pid_t proc_pid(const struct proc *p);

/* Closes the write end of p's stdin pipe (PROC_STDIN_PIPE): the child
 * reads EOF.  Nothing when it has none or it is closed already. */
void proc_close_stdin(struct proc *p);

/* The last PROC_TAIL_LINES output lines joined by "\n" (malloc'd, "" when
 * none), or NULL on allocation failure. */
char *proc_tail(const struct proc *p);

/* Children spawned and not yet reaped. */
int proc_count(void);

/* For daemon exit, outside the loop: SIGTERM to every group, reaps for up
 * to timeout seconds, SIGKILLs what is left and reaps it.  on_exit is
 * called for every attached child; afterwards no struct proc exists. */
void proc_stop_all_sync(double timeout);

/* Describes a wait status: "exit status 3", "signal 9 (Killed)". */
void proc_status_str(int status, char *buf, size_t size);
