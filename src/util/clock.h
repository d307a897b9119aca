/*
 * pghost/clock.h - monotonic time and sleeping, for timeouts, intervals and backoff.
 */
#ifndef PGHOST_CLOCK_H
#define PGHOST_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (an arbitrary origin; only differences mean anything). */
int64_t pgh_clock_ms(void);

/* Nanoseconds on the same clock, for timing statements. */
int64_t pgh_clock_ns(void);

/* The time ms milliseconds from now on clock, for pthread_cond_timedwait (whose condition
 * variable must use the same clock). */
struct timespec pgh_clock_deadline(clockid_t clock, int ms);

/* Sleep for ms milliseconds (returns early only on a signal). */
void pgh_sleep_ms(int ms);

#endif
