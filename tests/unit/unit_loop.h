/* unit_loop.h — driving the default libev loop in unit tests that start
 * real children (proc.c and the modules on top of it). */
#pragma once
#include <ev.h>
#include <time.h>

static inline double unit_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void unit_tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)w, (void)revents;
        ev_break(loop, EVBREAK_ONE);
}

/* Runs the default loop until *counter reaches want or timeout seconds
 * pass (a 50 ms tick bounds each iteration). */
static inline void unit_run_until(const int *counter, int want, double timeout) {
        double end = unit_now() + timeout;
        ev_timer tick;
        ev_timer_init(&tick, unit_tick_cb, 0.05, 0.05);
        ev_timer_start(EV_DEFAULT, &tick);
        while (*counter < want && unit_now() < end)
                ev_run(EV_DEFAULT, EVRUN_ONCE);
        ev_timer_stop(EV_DEFAULT, &tick);
}
