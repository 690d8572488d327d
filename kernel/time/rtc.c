/*
 * CMOS real-time clock (MC146818A; registers 0x00-0x09, status A/B at
 * 0x0A/0x0B). Values may be BCD and the hour may be 12-hour: status B says
 * which. A read is repeated until two consecutive reads agree, so an update
 * in the middle of a read cannot give a torn time. The century comes from
 * the CMOS index the FADT names, else 20xx is assumed.
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "time/time.h"

static uint8_t
cmos(uint8_t reg)
{
	outb(0x70, reg | 0x80);	/* bit 7 keeps NMI disabled while selecting */
	return inb(0x71);
}

static uint8_t
bcd(uint8_t v)
{
	return (uint8_t)((v >> 4) * 10 + (v & 15));
}

static void
raw(uint8_t r[7])
{
	for (int spin = 0; (cmos(0x0A) & 0x80) && spin < 1000000; spin++)
		pause();
	r[0] = cmos(0x00);
	r[1] = cmos(0x02);
	r[2] = cmos(0x04);
	r[3] = cmos(0x07);
	r[4] = cmos(0x08);
	r[5] = cmos(0x09);
	r[6] = acpi.fadt.century ? cmos(acpi.fadt.century) : 0;
}

int
rtc_read(struct rtc_time *t)
{
	uint8_t a[7], b[7];
	int tries = 0;

	raw(a);
	do {
		memcpy(b, a, sizeof a);
		raw(a);
		if (++tries > 10)
			return E_AGAIN;
	} while (memcmp(a, b, sizeof a));
	uint8_t sb = cmos(0x0B);
	bool pm = a[2] & 0x80;
	a[2] &= 0x7F;
	if (!(sb & 0x04))
		for (int i = 0; i < 7; i++)
			a[i] = bcd(a[i]);
	if (!(sb & 0x02)) {	/* 12-hour clock */
		a[2] %= 12;
		if (pm)
			a[2] += 12;
	}
	t->second = a[0];
	t->minute = a[1];
	t->hour = a[2];
	t->day = a[3];
	t->month = a[4];
	t->year = (uint16_t)((a[6] ? a[6] : 20) * 100 + a[5]);
	if (t->second > 59 || t->minute > 59 || t->hour > 23 || !t->day || t->day > 31 ||
	    !t->month || t->month > 12)
		return E_CORRUPT;
	return 0;
}
