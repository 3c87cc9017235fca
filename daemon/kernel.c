#include "kernel.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl.h"
#include "fsutil.h"
#include "util.h"

#define KERNEL_NUDGE_FIRST    0.002 /* seconds to the second nudge; doubles each time */
#define KERNEL_NUDGE_INTERVAL 0.25  /* at most this between kernel_info nudges */
#define KERNEL_NUDGE_MAX      5.0  /* then send anyway: the reply comes on shell */
#define KERNEL_HB_INTERVAL    2.0
#define KERNEL_HB_MISSES      3    /* dead after this many silent beats (< 10 s) */
#define KERNEL_IDLE_GRACE     2.0  /* reply seen, idle not: done after this */

enum ksock { KS_SHELL, KS_CONTROL, KS_IOPUB, KS_HB, KS_N };

struct kexec {
        char msg_id[KMSG_UUID_LEN + 1];
        struct kernel_exec_cbs cbs;
        void *data;
        bool sent, busy, replied, idle;
        ev_tstamp replied_at;
        struct kmsg_wire wire; /* kept until IOPub is ready */
        struct kexec *next;
};

struct kzsock {
        void *s;
        ev_io io;
        enum ksock which;
        struct kernel *k;
};

struct kernel {
        struct ev_loop *loop;
        char id[KMSG_UUID_LEN + 1];
        char conn_path[PATH_MAX];
        struct kmsg_conn conn;
        struct kzsock socks[KS_N];
        struct kernel_cbs cbs;
        void *data;
        bool iopub_ready;
        ev_tstamp opened_at;
        ev_timer nudge;  /* kernel_info until IOPub speaks; then the idle grace */
        double nudge_delay; /* the subscription races the first nudge: retry fast, then slower */
        ev_timer hb;
        int hb_misses;
        bool hb_waiting;
        /* IOPub's connection events (zmq_socket_monitor): while the kernel
         * process holds its end, the heartbeat rests (an idle daemon does
         * not wake); a disconnect means that process exited */
        void *mon;
        ev_io mon_io;
        bool linked;     /* connected since the last disconnect */
        bool answered;   /* a heartbeat answered while linked: the kernel is there */
        bool dead;
        struct kexec *execs;
        int depth;       /* >0 while dispatching: closing is deferred */
        bool closing;
};

static void *kctx;
static char kses[KMSG_UUID_LEN + 1];
static char kuser[64];
static unsigned long kdropped;

unsigned long kernel_dropped_messages(void) { return kdropped; }

int kernel_global_init(void) {
        struct kmsg_stamp st;
        int r = kmsg_stamp_init(&st, "x", "x");
        if (r < 0)
                return r;
        kmsg_uuid4(st.rnd, kses);
        struct passwd *pw = getpwuid(geteuid());
        snprintf(kuser, sizeof kuser, "%s", pw ? pw->pw_name : "sparkd");
        return 0;
}

/* The ZeroMQ context, made with the first kernel (libzmq and libcrypto are
 * loaded then: an idle daemon maps neither).  Returns 0, or -ELIBACC with
 * the reason in dl_error(), or -errno. */
static int kernel_zmq_init(void) {
        int r;
        if (kctx)
                return 0;
        if ((r = dl_zmq_load()) < 0 || (r = dl_crypto_load()) < 0)
                return r;
        kctx = dlz.zmq_ctx_new();
        return kctx ? 0 : -errno;
}

void kernel_global_free(void) {
        if (kctx)
                dlz.zmq_ctx_term(kctx);
        kctx = NULL;
}

bool kernel_id_valid(const char *id) {
        static const int groups[] = {8, 4, 4, 4, 12};
        const char *p = id;
        for (size_t g = 0; g < 5; g++) {
                for (int i = 0; i < groups[g]; i++, p++)
                        if (!isxdigit((unsigned char)*p))
                                return false;
                if (g < 4 && *p++ != '-')
                        return false;
        }
        return *p == '\0';
}

static void ksock_cb(struct ev_loop *loop, ev_io *w, int revents);
static void kernel_mon_open(struct kernel *k);
static void kernel_mon_close(struct kernel *k);
static void kernel_drain(struct kernel *k, enum ksock which);
static void kernel_maybe_free(struct kernel *k);

/* Creates and connects one socket of k. */
static int ksock_open(struct kernel *k, enum ksock which, int type, enum kmsg_channel ch) {
        struct kzsock *z = &k->socks[which];
        char ep[512];
        int r = kmsg_conn_endpoint(&k->conn, ch, ep, sizeof ep);
        if (r < 0)
                return r;
        z->s = dlz.zmq_socket(kctx, type);
        if (!z->s)
                return -errno;
        int zero = 0, one = 1;
        dlz.zmq_setsockopt(z->s, ZMQ_LINGER, &zero, sizeof zero);
        if (strchr(k->conn.ip, ':') && !k->conn.ipc)
                dlz.zmq_setsockopt(z->s, ZMQ_IPV6, &one, sizeof one);
        if (type == ZMQ_SUB)
                dlz.zmq_setsockopt(z->s, ZMQ_SUBSCRIBE, "", 0);
        if (which == KS_IOPUB)
                kernel_mon_open(k); /* before it connects: the first event counts */
        if (dlz.zmq_connect(z->s, ep) < 0)
                return -errno;
        int fd;
        size_t fdsz = sizeof fd;
        if (dlz.zmq_getsockopt(z->s, ZMQ_FD, &fd, &fdsz) < 0)
                return -errno;
        z->which = which;
        z->k = k;
        ev_io_init(&z->io, ksock_cb, fd, EV_READ);
        ev_io_start(k->loop, &z->io);
        return 0;
}

static void ksock_close(struct kernel *k, enum ksock which) {
        struct kzsock *z = &k->socks[which];
        if (!z->s)
                return;
        ev_io_stop(k->loop, &z->io);
        dlz.zmq_close(z->s);
        z->s = NULL;
}

/* Sends the frames of w on socket which without blocking. */
static int ksend(struct kernel *k, enum ksock which, const struct kmsg_wire *w) {
        void *s = k->socks[which].s;
        for (size_t i = 0; i < w->n; i++) {
                int flags = ZMQ_DONTWAIT | (i + 1 < w->n ? ZMQ_SNDMORE : 0);
                if (dlz.zmq_send(s, w->frames[i].data, w->frames[i].len, flags) < 0)
                        return -errno;
        }
        return 0;
}

/* Builds and sends a kernel_info_request on control (the nudge). */
static void kernel_nudge_send(struct kernel *k) {
        struct kmsg_stamp st;
        struct kmsg *m = NULL;
        struct kmsg_wire w = {0};
        if (kmsg_stamp_init(&st, kses, kuser) == 0 && kmsg_kernel_info_request(&st, &m) == 0 &&
            kmsg_encode(m, &k->conn.key, &w) == 0)
                ksend(k, KS_CONTROL, &w);
        kmsg_wire_clear(&w);
        kmsg_free(m);
        kernel_drain(k, KS_CONTROL);
}

/* Sends every queued execute_request. */
static void kernel_flush(struct kernel *k) {
        for (struct kexec *x = k->execs; x; x = x->next) {
                if (x->sent)
                        continue;
                x->sent = true;
                if (ksend(k, KS_SHELL, &x->wire) < 0 && x->cbs.on_output)
                        x->cbs.on_output(x->data, "sparkd: could not send the request to the kernel\n");
                kmsg_wire_clear(&x->wire);
        }
        kernel_drain(k, KS_SHELL);
}

static void kexec_free(struct kexec *x) {
        kmsg_wire_clear(&x->wire);
        free(x);
}

/* Unlinks x and runs its on_done. */
static void kexec_finish(struct kernel *k, struct kexec *x) {
        for (struct kexec **pp = &k->execs; *pp; pp = &(*pp)->next)
                if (*pp == x) {
                        *pp = x->next;
                        break;
                }
        if (x->cbs.on_done && !k->closing)
                x->cbs.on_done(x->data);
        kexec_free(x);
}

static struct kexec *kexec_find(struct kernel *k, const char *msg_id) {
        if (!msg_id)
                return NULL;
        for (struct kexec *x = k->execs; x; x = x->next)
                if (!strcmp(x->msg_id, msg_id))
                        return x;
        return NULL;
}

/* The text an IOPub message contributes to a log, or NULL. */
static char *iopub_text(const struct kmsg *m, const char *type) {
        json_t *c = m->content;
        if (!strcmp(type, "stream"))
                return strdup(json_string_value(json_object_get(c, "text")) ?: "");
        if (!strcmp(type, "error")) {
                char *s = NULL;
                if (asprintf(&s, "%s: %s\n", json_string_value(json_object_get(c, "ename")) ?: "Error",
                             json_string_value(json_object_get(c, "evalue")) ?: "") < 0)
                        return NULL;
                return s;
        }
        if (!strcmp(type, "execute_result") || !strcmp(type, "display_data")) {
                const char *t = json_string_value(json_object_get(json_object_get(c, "data"), "text/plain"));
                return t ? strdup(t) : NULL;
        }
        return NULL;
}

static void kernel_on_iopub(struct kernel *k, const struct kmsg *m) {
        if (!k->iopub_ready) {
                k->iopub_ready = true;
                ev_timer_stop(k->loop, &k->nudge);
                kernel_flush(k);
        }
        struct kexec *x = kexec_find(k, kmsg_parent_id(m));
        const char *type = kmsg_type(m);
        if (type && !strcmp(type, "status") && k->cbs.on_status) {
                const char *st = json_string_value(json_object_get(m->content, "execution_state"));
                const char *ptype = json_string_value(json_object_get(m->parent_header, "msg_type"));
                const char *pid = kmsg_parent_id(m);
                if (st && pid && ptype && !strcmp(ptype, "execute_request") &&
                    (!strcmp(st, "busy") || !strcmp(st, "idle")))
                        k->cbs.on_status(k->data, !strcmp(st, "busy"), pid);
        }
        if (!x || !type)
                return;
        if (!strcmp(type, "status")) {
                const char *st = json_string_value(json_object_get(m->content, "execution_state"));
                if (st && !strcmp(st, "busy") && !x->busy) {
                        x->busy = true;
                        if (x->cbs.on_busy)
                                x->cbs.on_busy(x->data);
                } else if (st && !strcmp(st, "idle")) {
                        x->idle = true;
                        if (x->replied)
                                kexec_finish(k, x);
                }
                return;
        }
        char *text = iopub_text(m, type);
        if (text && x->cbs.on_output)
                x->cbs.on_output(x->data, text);
        free(text);
}

static void kernel_on_shell(struct kernel *k, const struct kmsg *m) {
        const char *type = kmsg_type(m);
        struct kexec *x = kexec_find(k, kmsg_parent_id(m));
        if (!x || !type || strcmp(type, "execute_reply"))
                return;
        x->replied = true;
        x->replied_at = ev_now(k->loop);
        if (x->cbs.on_reply)
                x->cbs.on_reply(x->data, m->content);
        if (x->idle || k->closing) {
                kexec_finish(k, x);
                return;
        }
        /* IOPub's idle may be lost (slow joiner); do not wait forever. */
        ev_timer_stop(k->loop, &k->nudge);
        ev_timer_set(&k->nudge, KERNEL_IDLE_GRACE, 0.);
        ev_timer_start(k->loop, &k->nudge);
}

/* Receives one multipart message from s into frames; returns the frame
 * count, 0 when nothing is waiting, or -1 when it was dropped. */
static int krecv(void *s, zmq_msg_t *parts, size_t max) {
        size_t n = 0;
        int more = 1;
        while (more) {
                zmq_msg_t tmp;
                zmq_msg_t *dst = n < max ? &parts[n] : &tmp;
                dlz.zmq_msg_init(dst);
                if (dlz.zmq_msg_recv(dst, s, ZMQ_DONTWAIT) < 0) {
                        dlz.zmq_msg_close(dst);
                        if (n == 0 && errno == EAGAIN)
                                return 0;
                        break;
                }
                more = dlz.zmq_msg_more(dst);
                if (n < max)
                        n++;
                else
                        dlz.zmq_msg_close(&tmp), n = max + 1;
        }
        if (n > max) {
                for (size_t i = 0; i < max; i++)
                        dlz.zmq_msg_close(&parts[i]);
                return -1;
        }
        return (int)n;
}

/* Decodes and dispatches one message from a shell/control/iopub socket. */
static void kernel_dispatch(struct kernel *k, enum ksock which, zmq_msg_t *parts, int n) {
        struct kmsg_frame frames[KMSG_MAX_FRAMES];
        for (int i = 0; i < n; i++)
                frames[i] = (struct kmsg_frame){dlz.zmq_msg_data(&parts[i]), dlz.zmq_msg_size(&parts[i])};
        struct kmsg *m = NULL;
        if (kmsg_decode(frames, (size_t)n, &k->conn.key, &m, NULL) < 0) {
                kdropped++;
                return;
        }
        if (which == KS_IOPUB)
                kernel_on_iopub(k, m);
        else if (which == KS_SHELL)
                kernel_on_shell(k, m);
        kmsg_free(m);
}

/* Heartbeat echo arrived.  Once the kernel answered with IOPub linked,
 * the heartbeat rests: IOPub's disconnect says when the process exits. */
static void kernel_on_hb(struct kernel *k, zmq_msg_t *parts, int n) {
        (void)parts, (void)n;
        k->hb_waiting = false;
        k->hb_misses = 0;
        if (k->mon && k->linked) {
                k->answered = true;
                ev_timer_stop(k->loop, &k->hb);
        }
}

/* Reads everything pending on one socket (ZMQ_FD is edge-triggered). */
static void kernel_drain(struct kernel *k, enum ksock which) {
        k->depth++;
        while (!k->closing && k->socks[which].s) {
                int events = 0;
                size_t sz = sizeof events;
                if (dlz.zmq_getsockopt(k->socks[which].s, ZMQ_EVENTS, &events, &sz) < 0 ||
                    !(events & ZMQ_POLLIN))
                        break;
                zmq_msg_t parts[KMSG_MAX_FRAMES];
                int n = krecv(k->socks[which].s, parts, KMSG_MAX_FRAMES);
                if (n < 0) {
                        kdropped++;
                        continue;
                }
                if (n == 0)
                        break;
                if (which == KS_HB)
                        kernel_on_hb(k, parts, n);
                else
                        kernel_dispatch(k, which, parts, n);
                for (int i = 0; i < n; i++)
                        dlz.zmq_msg_close(&parts[i]);
        }
        k->depth--;
        kernel_maybe_free(k);
}

static void ksock_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop, (void)revents;
        struct kzsock *z = (struct kzsock *)((char *)w - offsetof(struct kzsock, io));
        kernel_drain(z->k, z->which);
}

/* Nudge timer: kernel_info until IOPub is ready; afterwards it is the
 * idle grace for replied executions. */
static void kernel_nudge_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)revents;
        struct kernel *k = (struct kernel *)((char *)w - offsetof(struct kernel, nudge));
        if (!k->iopub_ready) {
                if (ev_now(loop) - k->opened_at >= KERNEL_NUDGE_MAX) {
                        ev_timer_stop(loop, w);
                        k->iopub_ready = true; /* send anyway; replies come on shell */
                        kernel_flush(k);
                        return;
                }
                kernel_nudge_send(k);
                k->nudge_delay = k->nudge_delay * 2 < KERNEL_NUDGE_INTERVAL ? k->nudge_delay * 2
                                                                          : KERNEL_NUDGE_INTERVAL;
                ev_timer_set(w, k->nudge_delay, 0.);
                ev_timer_start(loop, w);
                return;
        }
        k->depth++;
        for (struct kexec *x = k->execs, *next; x; x = next) {
                next = x->next;
                if (x->replied && ev_now(loop) - x->replied_at >= KERNEL_IDLE_GRACE - 0.01)
                        kexec_finish(k, x);
        }
        k->depth--;
        kernel_maybe_free(k);
}

static void kernel_declare_dead(struct kernel *k, const char *why);

/* IOPub's connection events: 6 bytes (uint16 event, uint32 value), then
 * the endpoint. */
static void kernel_mon_drain(struct kernel *k) {
        k->depth++;
        while (!k->closing && !k->dead && k->mon) {
                int events = 0;
                size_t sz = sizeof events;
                if (dlz.zmq_getsockopt(k->mon, ZMQ_EVENTS, &events, &sz) < 0 || !(events & ZMQ_POLLIN))
                        break;
                zmq_msg_t parts[2];
                int n = krecv(k->mon, parts, 2);
                if (n <= 0)
                        break;
                uint16_t ev = 0;
                if (dlz.zmq_msg_size(&parts[0]) >= sizeof ev)
                        memcpy(&ev, dlz.zmq_msg_data(&parts[0]), sizeof ev);
                for (int i = 0; i < n; i++)
                        dlz.zmq_msg_close(&parts[i]);
                if (ev == ZMQ_EVENT_CONNECTED) {
                        k->linked = true;
                } else if (ev == ZMQ_EVENT_DISCONNECTED) {
                        bool was = k->linked && k->answered;
                        k->linked = k->answered = false;
                        if (was) { /* the process that answered closed its sockets: it exited */
                                kernel_declare_dead(k, "the kernel's process exited (it was shut down, "
                                                       "restarted or died)");
                                break;
                        }
                        ev_timer_stop(k->loop, &k->hb); /* not proven there yet: beat now */
                        ev_timer_set(&k->hb, 0., KERNEL_HB_INTERVAL);
                        ev_timer_start(k->loop, &k->hb);
                }
        }
        k->depth--;
        kernel_maybe_free(k);
}

static void kernel_mon_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop, (void)revents;
        kernel_mon_drain((struct kernel *)((char *)w - offsetof(struct kernel, mon_io)));
}

/* Watches IOPub's connection (kernel_mon_drain).  Without it (an old
 * libzmq) the heartbeat simply never rests. */
static void kernel_mon_open(struct kernel *k) {
        static unsigned long seq;
        char ep[128];
        snprintf(ep, sizeof ep, "inproc://sparkd-kernel-%s-%lu", k->id, ++seq);
        int fd;
        size_t fdsz = sizeof fd;
        if (!dlz.zmq_socket_monitor ||
            dlz.zmq_socket_monitor(k->socks[KS_IOPUB].s, ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) < 0)
                return;
        k->mon = dlz.zmq_socket(kctx, ZMQ_PAIR);
        if (!k->mon)
                return;
        int zero = 0;
        dlz.zmq_setsockopt(k->mon, ZMQ_LINGER, &zero, sizeof zero);
        if (dlz.zmq_connect(k->mon, ep) < 0 || dlz.zmq_getsockopt(k->mon, ZMQ_FD, &fd, &fdsz) < 0) {
                dlz.zmq_close(k->mon);
                k->mon = NULL;
                return;
        }
        ev_io_init(&k->mon_io, kernel_mon_cb, fd, EV_READ);
        ev_io_start(k->loop, &k->mon_io);
}

static void kernel_mon_close(struct kernel *k) {
        if (!k->mon)
                return;
        ev_io_stop(k->loop, &k->mon_io);
        dlz.zmq_close(k->mon);
        k->mon = NULL;
}

static void kernel_declare_dead(struct kernel *k, const char *why) {
        if (k->dead)
                return;
        k->dead = true;
        ev_timer_stop(k->loop, &k->hb);
        if (k->cbs.on_dead) {
                k->depth++;
                k->cbs.on_dead(k->data, why);
                k->depth--;
        }
        kernel_maybe_free(k);
}

/* Heartbeat: a ping every interval; a REQ that got no answer is replaced
 * (REQ cannot send twice); the connection file must still exist. */
static void kernel_hb_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop, (void)revents;
        struct kernel *k = (struct kernel *)((char *)w - offsetof(struct kernel, hb));
        struct stat st;
        if (stat(k->conn_path, &st) < 0) {
                kernel_declare_dead(k, "the kernel's connection file is gone (the kernel was shut down)");
                return;
        }
        if (k->hb_waiting) {
                if (++k->hb_misses >= KERNEL_HB_MISSES) {
                        kernel_declare_dead(k, "the kernel does not answer its heartbeat (it died)");
                        return;
                }
                ksock_close(k, KS_HB);
                if (ksock_open(k, KS_HB, ZMQ_REQ, KMSG_HB) < 0)
                        return;
        }
        k->hb_waiting = dlz.zmq_send(k->socks[KS_HB].s, "ping", 4, ZMQ_DONTWAIT) == 4;
        kernel_drain(k, KS_HB);
        if (k->mon) /* ZMQ_FD is edge-triggered: nothing queued there is left unread */
                kernel_mon_drain(k);
}

int kernel_open(struct ev_loop *loop, const char *runtime_dir, const char *id,
                const struct kernel_cbs *cbs, void *data, struct kernel **ret, char **ret_err) {
        struct kernel *k = calloc(1, sizeof *k);
        char *json = NULL;
        size_t len = 0;
        const char *why = NULL;
        int r = -ENOMEM;
        if (!k)
                goto err;
        k->loop = loop;
        snprintf(k->id, sizeof k->id, "%s", id);
        snprintf(k->conn_path, sizeof k->conn_path, "%s/kernel-%s.json", runtime_dir, id);
        r = read_file(k->conn_path, KMSG_MAX_CONN_FILE, &json, &len);
        if (r < 0) {
                *ret_err = r == -ENOENT ? strdupf("no running kernel %s (no %s)", id, k->conn_path)
                                        : strdupf("cannot read %s: %s", k->conn_path, strerror(-r));
                goto err_quiet;
        }
        r = kmsg_conn_parse(json, len, &k->conn, &why);
        if (r < 0) {
                *ret_err = strdupf("%s: %s", k->conn_path, why ? why : "malformed connection file");
                goto err_quiet;
        }
        k->cbs = *cbs;
        k->data = data;
        if ((r = kernel_zmq_init()) == -ELIBACC) {
                *ret_err = strdup(dl_error());
                goto err_quiet;
        }
        if (r < 0 || (r = ksock_open(k, KS_SHELL, ZMQ_DEALER, KMSG_SHELL)) < 0 ||
            (r = ksock_open(k, KS_CONTROL, ZMQ_DEALER, KMSG_CONTROL)) < 0)
                goto err;
        if ((r = ksock_open(k, KS_IOPUB, ZMQ_SUB, KMSG_IOPUB)) < 0 ||
            (r = ksock_open(k, KS_HB, ZMQ_REQ, KMSG_HB)) < 0)
                goto err;
        k->opened_at = ev_now(loop);
        k->nudge_delay = KERNEL_NUDGE_FIRST;
        ev_timer_init(&k->nudge, kernel_nudge_cb, k->nudge_delay, 0.);
        ev_timer_start(loop, &k->nudge);
        ev_timer_init(&k->hb, kernel_hb_cb, KERNEL_HB_INTERVAL, KERNEL_HB_INTERVAL);
        ev_timer_start(loop, &k->hb);
        kernel_nudge_send(k);
        if (k->mon)
                kernel_mon_drain(k); /* events queued before its watcher started */
        free(json);
        *ret = k;
        return 0;
err:
        *ret_err = strdupf("cannot connect to kernel %s: %s", id, strerror(-r));
err_quiet:
        free(json);
        if (k) {
                k->depth = 0;
                k->closing = true;
                kernel_mon_close(k);
                for (int i = 0; i < KS_N; i++)
                        ksock_close(k, (enum ksock)i);
                free(k);
        }
        return r;
}

int kernel_execute(struct kernel *k, const char *code, json_t *user_expressions,
                   const struct kernel_exec_cbs *cbs, void *data, char msg_id[KMSG_UUID_LEN + 1]) {
        struct kmsg_stamp st;
        struct kmsg *m = NULL;
        int r = kmsg_stamp_init(&st, kses, kuser);
        if (r < 0)
                return r;
        r = kmsg_execute_request(&st, code, user_expressions, &m);
        if (r < 0)
                return r;
        struct kexec *x = calloc(1, sizeof *x);
        if (!x) {
                kmsg_free(m);
                return -ENOMEM;
        }
        r = kmsg_encode(m, &k->conn.key, &x->wire);
        if (r < 0) {
                kmsg_free(m);
                free(x);
                return r;
        }
        snprintf(x->msg_id, sizeof x->msg_id, "%s", kmsg_id(m));
        kmsg_free(m);
        x->cbs = *cbs;
        x->data = data;
        struct kexec **pp = &k->execs;
        while (*pp)
                pp = &(*pp)->next;
        *pp = x;
        memcpy(msg_id, x->msg_id, sizeof x->msg_id);
        if (k->iopub_ready)
                kernel_flush(k);
        return 0;
}

void kernel_set_owner(struct kernel *k, const struct kernel_cbs *cbs, void *data) {
        k->cbs = *cbs;
        k->data = data;
}

bool kernel_is_dead(const struct kernel *k) { return k->dead; }

void kernel_forget(struct kernel *k, const char *msg_id) {
        struct kexec *x = kexec_find(k, msg_id);
        if (x)
                memset(&x->cbs, 0, sizeof x->cbs);
}

static void kernel_maybe_free(struct kernel *k) {
        if (!k->closing || k->depth > 0)
                return;
        ev_timer_stop(k->loop, &k->nudge);
        ev_timer_stop(k->loop, &k->hb);
        kernel_mon_close(k);
        for (int i = 0; i < KS_N; i++)
                ksock_close(k, (enum ksock)i);
        while (k->execs) {
                struct kexec *x = k->execs;
                k->execs = x->next;
                kexec_free(x);
        }
        free(k);
}

struct kernel *kernel_close(struct kernel *k) {
        if (!k)
                return NULL;
        k->closing = true;
        kernel_maybe_free(k);
        return NULL;
}
