/*
 * COM1 diagnostics console (docs/diag-console.md). Receive is interrupt
 * driven: the UART's "received data available" interrupt arrives on ISA IRQ 4
 * through the I/O APIC (overrides honoured), and the handler drains the FIFO
 * into a small ring. The console loop sleeps in `hlt` between characters.
 *
 * Output is bounded by construction: every command prints a fixed maximum
 * (tables come in pages of DIAG_PAGE rows with an offset argument, `logs`
 * prints at most DIAG_LOG_MAX lines). Lines longer than DIAG_LINE_MAX are
 * refused whole. Console replies go straight to COM1, not into the log ring,
 * so `logs` shows the kernel's log rather than the console's own chatter.
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/apic_irq.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/x86.h"
#include "boot/mb2.h"
#include "fmt/fmt.h"
#include "hw.h"
#include "kernel.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "pci/pci.h"
#include "time/time.h"

#define COM1		0x3F8
#define DIAG_LINE_MAX	79
#define DIAG_PAGE	16
#define DIAG_LOG_DEF	20
#define DIAG_LOG_MAX	200
#define RX_RING		256

static volatile uint8_t rx[RX_RING];
static volatile uint32_t rx_head, rx_tail;
static volatile uint64_t rx_irqs, rx_dropped;
static bool rx_irq_mode;

static void
out(const char *f, ...) __attribute__((format(printf, 1, 2)));

static void
out(const char *f, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, f);
	int n = fmt_vsnprintf(buf, sizeof buf, f, ap);
	va_end(ap);
	if (n < 0)
		return;
	serial_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static size_t
strnlen_bounded(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

static void
uart_rx_irq(void *arg)
{
	rx_irqs++;
	while (inb(COM1 + 5) & 1) {
		uint8_t c = inb(COM1);
		uint32_t next = (rx_head + 1) % RX_RING;
		if (next == rx_tail) {
			rx_dropped++;
			continue;
		}
		rx[rx_head] = c;
		rx_head = next;
	}
}

static int
getc_wait(void)
{
	for (;;) {
		cli();
		if (rx_tail != rx_head) {
			uint8_t c = rx[rx_tail];
			rx_tail = (rx_tail + 1) % RX_RING;
			sti();
			return c;
		}
		if (!rx_irq_mode) {
			sti();
			if (inb(COM1 + 5) & 1)
				return inb(COM1);
			pause();
			continue;
		}
		__asm__ volatile("sti; hlt" ::: "memory");	/* sti's shadow covers hlt */
	}
}

/* Parse a decimal argument; def when absent, -1 when malformed. */
static long
num_arg(const char *s, long def)
{
	long v = 0;

	if (!s || !*s)
		return def;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static void
cmd_help(const char *arg)
{
	out("commands:\n");
	out("  help            this list\n");
	out("  status          uptime, subsystems, interrupt counts\n");
	out("  cpu             CPUID, local APIC, MADT processors\n");
	out("  mem             physical memory and heap\n");
	out("  acpi            ACPI tables (accepted and rejected) and what they said\n");
	out("  pci [N]         PCI functions, %u per page, from entry N\n", DIAG_PAGE);
	out("  irq             vector pool, claimed routes, I/O APICs\n");
	out("  timers          clock source, LAPIC timer, ticks, RTC wall clock\n");
	out("  devices [N]     PCI functions by kind with their BARs, %u per page\n",
	    DIAG_PAGE / 2);
	out("  logs [N]        the last N kernel log lines (default %u, at most %u)\n",
	    DIAG_LOG_DEF, DIAG_LOG_MAX);
	out("  reboot          reset: ACPI reset register, 8042, then triple fault\n");
	out("  halt            stop the machine\n");
}

static void
cmd_status(const char *arg)
{
	struct time_info ti;
	struct irq_stats is;

	time_get_info(&ti);
	irq_get_stats(&is);
	uint64_t ns = time_ns();
	out("capos diag: uptime=%lu.%03lus firmware=%s apic=%s acpi=%s pci_functions=%u "
	    "ticks=%lu irq_delivered=%lu irq_live=%u console_rx_irqs=%lu\n",
	    ns / 1000000000, ns / 1000000 % 1000, boot_info.efi ? "uefi" : "bios",
	    apic_ready() ? (apic_x2() ? "x2apic" : "xapic") : "off",
	    acpi.present ? "yes" : "no", pci.nfuncs, ti.ticks, is.delivered, is.live,
	    rx_irqs);
}

static void
cmd_cpu(const char *arg)
{
	uint32_t a, b, c, d, v[4];
	char vendor[13], brand[49];

	cpuid(0, 0, &a, &v[0], &v[2], &v[1]);
	memcpy(vendor, v, 12);
	vendor[12] = 0;
	cpuid(1, 0, &a, &b, &c, &d);
	uint32_t fam = (a >> 8) & 15, model = (a >> 4) & 15;
	if (fam == 15)
		fam += (a >> 20) & 0xFF;
	if (fam >= 6)
		model |= ((a >> 16) & 15) << 4;
	brand[0] = 0;
	uint32_t maxext, t;
	cpuid(0x80000000u, 0, &maxext, &t, &t, &t);
	if (maxext >= 0x80000004u) {
		for (uint32_t i = 0; i < 3; i++)
			cpuid(0x80000002u + i, 0, (uint32_t *)(brand + 16 * i),
			      (uint32_t *)(brand + 16 * i + 4), (uint32_t *)(brand + 16 * i + 8),
			      (uint32_t *)(brand + 16 * i + 12));
		brand[48] = 0;
	}
	out("cpu: vendor=%s family=%u model=%u stepping=%u brand=\"%s\"\n", vendor, fam, model,
	    a & 15, brand);
	out("cpu: features apic=%s x2apic=%s tsc=%s nx=%s lapic_id=%u apic_mode=%s\n",
	    d & (1u << 9) ? "yes" : "no", c & (1u << 21) ? "yes" : "no",
	    d & (1u << 4) ? "yes" : "no", boot_nx ? "yes" : "no", lapic_id(),
	    apic_ready() ? (apic_x2() ? "x2apic" : "xapic") : "off");
	out("cpu: madt processors=%u (dropped %u)\n", acpi.madt.ncpus, acpi.madt.cpus_dropped);
	for (uint32_t i = 0; i < acpi.madt.ncpus && i < DIAG_PAGE; i++)
		out("  cpu%u apic_id=%u uid=%u %s%s\n", i, acpi.madt.cpus[i].apic_id,
		    acpi.madt.cpus[i].uid, acpi.madt.cpus[i].enabled ? "enabled" : "online-capable",
		    acpi.madt.cpus[i].x2 ? " x2apic-entry" : "");
}

static void
cmd_mem(const char *arg)
{
	struct pmm_stats st;
	struct heap_stats hs;

	pmm_stats(&st);
	heap_stats(&hs);
	out("mem: source=%s usable_kib=%lu free_kib=%lu tracked_frames=%lu absurd=%u "
	    "overlaps=%u\n", st.source, st.usable_bytes >> 10, st.free_frames * 4,
	    st.total_frames, st.absurd, st.overlaps);
	out("heap: live_objects=%lu live_bytes=%lu slab_pages=%lu big_pages=%lu\n",
	    hs.live_objects, hs.live_bytes, hs.slab_pages, hs.big_pages);
}

static void
cmd_acpi(const char *arg)
{
	if (!acpi.present) {
		out("acpi: no usable RSDP/XSDT/RSDT\n");
		return;
	}
	out("acpi: rsdp=v%u oem=\"%s\" root=%s tables=%u rejected=%u\n",
	    acpi.rsdp.revision >= 2 ? 2 : 1, acpi.rsdp.oem, acpi.via_xsdt ? "xsdt" : "rsdt",
	    acpi.ntables, acpi.rejected);
	for (uint32_t i = 0; i < acpi.ntables; i++) {
		struct acpi_table_rec *t = &acpi.tables[i];
		out("  %-4s pa=%#010lx len=%-6u %s\n", t->sig, t->pa, t->length,
		    !t->ok ? "REJECTED" : t->used ? "parsed" : "valid");
	}
	struct acpi_madt *m = &acpi.madt;
	out("  madt: lapic=%#lx cpus=%u ioapics=%u isos=%u lapic_nmis=%u pcat_compat=%s\n",
	    m->lapic_addr, m->ncpus, m->nioapics, m->nisos, m->nnmis, m->flags & 1 ? "yes" : "no");
	for (uint32_t i = 0; i < m->nisos; i++)
		out("    iso: irq %u -> gsi %u flags=%#x\n", m->isos[i].source, m->isos[i].gsi,
		    m->isos[i].flags);
	for (uint32_t i = 0; i < acpi.mcfg.count; i++)
		out("  mcfg: segment %u buses %u-%u ecam=%#lx\n", acpi.mcfg.seg[i].segment,
		    acpi.mcfg.seg[i].bus_start, acpi.mcfg.seg[i].bus_end, acpi.mcfg.seg[i].base);
	if (acpi.has_fadt)
		out("  fadt: rev=%u reset=%s space=%u addr=%#lx value=%#x pm_timer=%#x%s century=%u "
		    "8042=%s\n", acpi.fadt.revision, acpi.fadt.reset_supported ? "yes" : "no",
		    acpi.fadt.reset_reg.space, acpi.fadt.reset_reg.address, acpi.fadt.reset_value,
		    acpi.fadt.pm_tmr_port, acpi.fadt.pm_tmr_32bit ? "(32-bit)" : "(24-bit)",
		    acpi.fadt.century, acpi.fadt.boot_arch & ACPI_BOOT_ARCH_8042 ? "yes" : "no");
	if (acpi.has_hpet)
		out("  hpet: base=%#lx number=%u min_tick=%u\n", acpi.hpet.base, acpi.hpet.number,
		    acpi.hpet.min_tick);
	out("  dmar: %s units=%u  ivrs: %s units=%u (recorded only)\n",
	    acpi.has_dmar ? "yes" : "no", acpi.dmar.units, acpi.has_ivrs ? "yes" : "no",
	    acpi.ivrs.units);
}

static const char *
bar_kind(uint8_t t)
{
	return t == PCI_BAR_MEM32 ? "mem32" : t == PCI_BAR_MEM64 ? "mem64" :
	       t == PCI_BAR_IO ? "io" : "-";
}

static long
page_start(const char *cmd, const char *arg, uint32_t total)
{
	long from = num_arg(arg, 0);
	if (from < 0) {
		out("%s: bad offset \"%s\" (want a decimal entry number)\n", cmd, arg);
		return -1;
	}
	if (total && (uint32_t)from >= total) {
		out("%s: offset %ld past the last entry (%u entries)\n", cmd, from, total);
		return -1;
	}
	return from;
}

static void
page_end(const char *cmd, uint32_t next, uint32_t total)
{
	if (next < total)
		out("-- more: %u of %u shown; type `%s %u` for the next page --\n", next, total, cmd,
		    next);
	else
		out("-- end: %u entries --\n", total);
}

static void
cmd_pci(const char *arg)
{
	long from = page_start("pci", arg, pci.nfuncs);
	if (from < 0)
		return;
	out("pci: functions=%u buses_scanned=%u bridges=%u access=%s\n", pci.nfuncs,
	    pci.buses_scanned, pci.bridges, pci.ecam ? "ecam" : "legacy");
	uint32_t i = (uint32_t)from;
	for (; i < pci.nfuncs && i < (uint32_t)from + DIAG_PAGE; i++) {
		struct pci_func *f = &pci_funcs[i];
		out("  %3u %02x:%02x.%x %04x:%04x class=%02x%02x%02x %-12s msi=%s msix=%u pcie=%s "
		    "vcaps=%u\n", i, f->bus, f->dev, f->fn, f->vendor, f->device, f->class,
		    f->subclass, f->progif, pci_class_name(f->class, f->subclass),
		    f->cap_msi ? "yes" : "no", f->cap_msix ? f->msix_size : 0,
		    f->cap_pcie ? "yes" : "no", f->nvcaps);
	}
	page_end("pci", i, pci.nfuncs);
}

static void
cmd_devices(const char *arg)
{
	long from = page_start("devices", arg, pci.nfuncs);
	if (from < 0)
		return;
	uint32_t i = (uint32_t)from;
	for (; i < pci.nfuncs && i < (uint32_t)from + DIAG_PAGE / 2; i++) {
		struct pci_func *f = &pci_funcs[i];
		out("  %02x:%02x.%x %s %04x:%04x", f->bus, f->dev, f->fn,
		    pci_class_name(f->class, f->subclass), f->vendor, f->device);
		if (f->header == 1)
			out(" bridge to buses %u-%u", f->secondary, f->subordinate);
		out("\n");
		for (int b = 0; b < 6; b++)
			if (f->bar[b].type)
				out("      bar%d %s%s base=%#lx size=%#lx\n", b, bar_kind(f->bar[b].type),
				    f->bar[b].prefetch ? " prefetch" : "", f->bar[b].base,
				    f->bar[b].size);
	}
	page_end("devices", i, pci.nfuncs);
	out("  platform: ioapics=%u hpet=%s uart=com1 lapic=%#lx\n", ioapic_count(),
	    acpi.has_hpet ? "yes" : "no", apic_base_phys());
	/* kernel/ddf: the device-manager ledger, one line per claim */
	static char claims[2048];
	extern int kddf_fmt_devices(char *buf, uint64_t size);
	kddf_fmt_devices(claims, sizeof claims);
	out("  device-manager: ");
	serial_write(claims, strnlen_bounded(claims, sizeof claims));	/* may exceed out()'s line */
}

static void
cmd_irq(const char *arg)
{
	struct irq_stats s;
	struct irq_route r;

	irq_get_stats(&s);
	out("irq: pool=0x%x-0x%x free=%u live_routes=%u delivered=%lu stale=%lu "
	    "exhausted_refusals=%u stale_handles_refused=%u\n", VEC_POOL_FIRST, VEC_POOL_LAST,
	    s.pool_free, s.live, s.delivered, s.stale, s.exhausted, s.stale_refused);
	out("irq: spurious=%lu pic_spurious=%lu self_ipis=%lu apic=%s\n", apic_stats.spurious,
	    apic_stats.pic_spurious, apic_stats.self_ipis, apic_x2() ? "x2apic" : "xapic");
	static const char *const kinds[] = { "-", "ioapic", "msi", "msix", "kernel" };
	for (uint32_t i = 0; i < IRQ_MAX_ROUTES; i++)
		if (irq_route_at(i, &r))
			out("  route %u gen=%u %s src=%#x vector=%#x owner=%u count=%lu\n", i, r.gen,
			    kinds[r.kind <= 4 ? r.kind : 0], r.src, r.vector, r.owner, r.count);
	for (uint32_t i = 0; i < ioapic_count(); i++) {
		const struct ioapic_info *io = ioapic_get(i);
		out("  ioapic id=%u addr=%#lx gsi=%u-%u\n", io->id, io->phys, io->gsi_base,
		    io->gsi_base + io->pins - 1);
	}
}

static void
cmd_timers(const char *arg)
{
	struct time_info ti;
	struct rtc_time t;

	time_get_info(&ti);
	uint64_t ns = time_ns();
	out("timers: source=%s time_ns=%lu lapic_hz=%lu tsc_hz=%lu hpet_hz=%lu tick_hz=%u "
	    "ticks=%lu\n", ti.source, ns, ti.lapic_hz, ti.tsc_hz, ti.hpet_hz, ti.tick_hz, ti.ticks);
	int r = rtc_read(&t);
	if (r)
		out("rtc: unreadable (%s)\n", err_name(r));
	else
		out("rtc: %04u-%02u-%02uT%02u:%02u:%02uZ\n", t.year, t.month, t.day, t.hour,
		    t.minute, t.second);
}

/* The last n lines of the log ring. */
static void
cmd_logs(const char *arg)
{
	static char ring[64 * 1024];
	uint64_t cur = 0;
	size_t len = 0, got;
	long n = num_arg(arg, DIAG_LOG_DEF);

	if (n <= 0 || n > DIAG_LOG_MAX) {
		out("logs: want a line count 1..%u, got \"%s\"\n", DIAG_LOG_MAX, arg);
		return;
	}
	while (len < sizeof ring && (got = klog_read(&cur, ring + len, sizeof ring - len)) > 0)
		len += got;
	size_t start = len;
	long lines = 0;
	while (start > 0) {
		if (ring[start - 1] == '\n' && start != len && ++lines == n)
			break;
		start--;
	}
	out("-- last %ld log lines --\n", lines < n ? lines + (len > 0) : n);
	serial_write(ring + start, len - start);
	out("-- end of log --\n");
	/* kernel/ddf: the newest HardwareAuditLog records (bounded) */
	static char audit[2048];
	extern int kddf_fmt_audit_tail(char *buf, uint64_t size, uint32_t max);
	out("-- hardware audit log (newest) --\n");
	if (kddf_fmt_audit_tail(audit, sizeof audit, 8) > 0)
		serial_write(audit, strnlen_bounded(audit, sizeof audit));
	out("-- end of audit log --\n");
}

static void
cmd_reboot(const char *arg)
{
	out("reboot: trying the ACPI reset register\n");
	cli();
	struct acpi_fadt *f = &acpi.fadt;
	if (acpi.has_fadt && f->reset_supported) {
		if (f->reset_reg.space == ACPI_GAS_IO) {
			outb((uint16_t)f->reset_reg.address, f->reset_value);
		} else if (f->reset_reg.space == ACPI_GAS_MEM) {
			volatile uint8_t *p = vmm_map_phys(f->reset_reg.address, 1, VMM_RW | VMM_UC);
			if (p)
				*p = f->reset_value;
		} else if (f->reset_reg.space == ACPI_GAS_PCI) {
			uint64_t a = f->reset_reg.address;
			uint8_t dev = (a >> 32) & 0x1F, fn = (a >> 16) & 7;
			uint16_t off = a & 0xFF;
			uint32_t w = pci_cfg_read32(0, dev, fn, off & ~3);
			w = (w & ~(0xFFu << (off & 3) * 8)) | (uint32_t)f->reset_value << (off & 3) * 8;
			pci_cfg_write32(0, dev, fn, off & ~3, w);
		}
		for (volatile int i = 0; i < 10000000; i++)
			;
		out("reboot: the ACPI reset register did not reset; trying the 8042\n");
	} else {
		out("reboot: no ACPI reset register; trying the 8042\n");
	}
	for (int i = 0; i < 100000 && (inb(0x64) & 2); i++)
		pause();
	outb(0x64, 0xFE);
	for (volatile int i = 0; i < 10000000; i++)
		;
	out("reboot: the 8042 did not reset; forcing a triple fault\n");
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) empty = { 0, 0 };
	__asm__ volatile("lidt %0; int3" : : "m"(empty));
	for (;;)
		hlt();
}

static void
cmd_halt(const char *arg)
{
	out("capos: diag halt\n");
	qemu_exit(0);	/* leaves QEMU through isa-debug-exit; on hardware this just stops */
}

static const struct {
	const char *name;
	void (*fn)(const char *arg);
} cmds[] = {
	{ "help", cmd_help }, { "status", cmd_status }, { "cpu", cmd_cpu }, { "mem", cmd_mem },
	{ "acpi", cmd_acpi }, { "pci", cmd_pci }, { "irq", cmd_irq }, { "timers", cmd_timers },
	{ "devices", cmd_devices }, { "logs", cmd_logs }, { "reboot", cmd_reboot },
	{ "halt", cmd_halt },
};

static void
execute(char *line)
{
	char *cmd = line, *arg;

	while (*cmd == ' ')
		cmd++;
	if (!*cmd)
		return;
	for (arg = cmd; *arg && *arg != ' '; arg++)
		;
	if (*arg) {
		*arg++ = 0;
		while (*arg == ' ')
			arg++;
		for (char *e = arg + strlen(arg); e > arg && e[-1] == ' '; e--)
			e[-1] = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmd, cmds[i].name)) {
			cmds[i].fn(arg);
			return;
		}
	out("error: unknown command \"%s\"; type `help` for the list\n", cmd);
}

void
diag_run(void)
{
	static char line[DIAG_LINE_MAX + 1];
	size_t n = 0;
	bool overlong = false, last_cr = false;
	irq_handle_t h;

	if (hw_irq_ready() && irq_route_claim_isa(4, 0, uart_rx_irq, NULL, &h) == 0) {
		outb(COM1 + 1, 0x01);	/* IER: received data available */
		rx_irq_mode = true;
	}
	kprintf("capos: diag-ready rx=%s\n", rx_irq_mode ? "irq" : "polled");
	out("capOS diagnostics console; type `help`\ncapos> ");
	for (;;) {
		int c = getc_wait();
		if (c == '\n' && last_cr) {
			last_cr = false;
			continue;
		}
		last_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			out("\n");
			line[n] = 0;
			if (overlong)
				out("error: line too long (more than %u characters); ignored\n",
				    DIAG_LINE_MAX);
			else
				execute(line);
			n = 0;
			overlong = false;
			out("capos> ");
		} else if (c == 0x08 || c == 0x7F) {
			if (n > 0 && !overlong) {
				n--;
				out("\b \b");
			}
		} else if (c >= 0x20 && c < 0x7F) {
			if (n == DIAG_LINE_MAX)
				overlong = true;
			if (!overlong) {
				line[n++] = (char)c;
				serial_putc((char)c);
			}
		}
	}
}
