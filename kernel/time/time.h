/*
 * Time: a monotonic nanosecond clock (HPET main counter, or the TSC
 * calibrated against the PIT when there is no HPET), the LAPIC timer
 * calibrated against the same reference and run periodically as the kernel
 * tick, and the CMOS RTC as the wall clock.
 */
#ifndef CAPOS_TIME_H
#define CAPOS_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define TICK_HZ 100

struct rtc_time {
	uint16_t year;
	uint8_t month, day, hour, minute, second;
};

struct time_info {
	const char *source;	/* "hpet" or "pit" */
	uint64_t lapic_hz;	/* LAPIC timer input clock after the divide-by-16 */
	uint64_t tsc_hz;
	uint64_t hpet_hz;
	uint64_t ticks;		/* LAPIC timer interrupts since start */
	uint32_t tick_hz;
};

int time_init(void);		/* calibrate and start the periodic tick */
uint64_t time_ns(void);		/* monotonic, from time_init; 0 before it */
uint64_t time_stamp_ns(void);	/* cheap TSC stamp for records, near time_ns (time.c) */
uint64_t time_ticks(void);	/* LAPIC timer interrupts so far */
void time_get_info(struct time_info *ti);
void time_delay_us(uint64_t us);
static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* CMOS RTC (MC146818): waits out an update in progress, reads twice until stable. */
int rtc_read(struct rtc_time *t);

#endif
