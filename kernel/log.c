/*
 * Kernel log: every line goes to COM1 and into a 64 KiB ring that the
 * diagnostics console reads back (`logs`). The ring keeps the newest bytes;
 * readers hold a cursor (total bytes ever written) so they can page through
 * it and notice what they missed.
 */
#include "fmt/fmt.h"
#include "kernel.h"
#include "sync/spinlock.h"

#define LOG_RING_SIZE (64 * 1024)

static char log_ring[LOG_RING_SIZE];
static uint64_t log_head;	/* total bytes ever written */
static struct spinlock log_lock;

static void
ring_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log_ring[(log_head + i) % LOG_RING_SIZE] = s[i];
	log_head += n;
}

void
kvprintf(const char *f, va_list ap)
{
	char line[512];
	int n = fmt_vsnprintf(line, sizeof line, f, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	uint64_t flags = spin_lock_irqsave(&log_lock);
	ring_put(line, (size_t)n);
	serial_write(line, (size_t)n);
	spin_unlock_irqrestore(&log_lock, flags);
}

void
kprintf(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	kvprintf(f, ap);
	va_end(ap);
}

size_t
klog_read(uint64_t *cursor, char *buf, size_t len)
{
	uint64_t flags = spin_lock_irqsave(&log_lock);
	uint64_t oldest = log_head > LOG_RING_SIZE ? log_head - LOG_RING_SIZE : 0;
	if (*cursor < oldest)
		*cursor = oldest;
	size_t n = 0;
	while (n < len && *cursor < log_head) {
		buf[n++] = log_ring[*cursor % LOG_RING_SIZE];
		(*cursor)++;
	}
	spin_unlock_irqrestore(&log_lock, flags);
	return n;
}
