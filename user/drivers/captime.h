/*
 * Time for userspace drivers and benchmarks: the TSC, calibrated against
 * WallClock.monotonicNanos (the kernel's 10 ms tick) over two tick periods.
 * cap_enter sleeps only while a call is in flight, so short delays spin.
 * Without a clock cap (or when calibration fails) time is virtual: a delay
 * advances it by its length and every reading by 1 us, so deadlines still
 * end (later than stated, never never). docs/drivers.md "The caps binding".
 */
#ifndef CAPOS_DRIVERS_CAPTIME_H
#define CAPOS_DRIVERS_CAPTIME_H

#include <stdint.h>

#include "capos.h"

struct captime {
	uint64_t tsc_khz;               /* 0: virtual time */
	uint64_t tsc0, ns0;
	uint64_t vtime_ns;
};

/* clk: a WallClock cap or 0. Takes about 20-30 ms with a clock. */
void captime_init(struct captime *t, capid_t clk);
uint64_t captime_now_ns(struct captime *t);
void captime_delay_us(struct captime *t, uint32_t us);
/* Account a wait that ended by its timeout (virtual time only). */
void captime_waited(struct captime *t, uint64_t ns);

#endif
