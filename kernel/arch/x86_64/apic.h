/*
 * Local APIC (Intel SDM Vol. 3A ch. 11), 8259 PIC retirement, and the
 * interrupt vector map of capOS:
 *
 *   0x00-0x1F  CPU exceptions
 *   0x20-0x2F  the 8259 PICs, remapped and masked (only their spurious IRQ 7/15 can arrive)
 *   0x30-0xDF  device vector pool: I/O APIC pins, MSI, MSI-X (irq_route_claim_*)
 *   0xE0-0xEF  kernel: 0xE0 LAPIC timer tick, 0xE1 self-IPI (tests, bench)
 *   0xF0-0xFE  free for SMP/scheduler IPIs (register with trap_register)
 *   0xFF       LAPIC spurious vector
 *
 * xAPIC registers are reached through an uncached MMIO window, x2APIC
 * registers through MSRs 0x800+; every accessor below hides the difference.
 * x2APIC is used only when CPUID.01H:ECX[21] offers it.
 */
#ifndef CAPOS_APIC_H
#define CAPOS_APIC_H

#include <stdbool.h>
#include <stdint.h>

struct trap_frame;

#define VEC_PIC_BASE	0x20
#define VEC_POOL_FIRST	0x30
#define VEC_POOL_LAST	0xDF
#define VEC_TIMER	0xE0
#define VEC_SELF_IPI	0xE1
#define VEC_TLB_SHOOTDOWN	0xE2	/* cross-CPU TLB invalidation (kernel/smp) */
#define VEC_RESCHED	0xE3	/* cross-CPU reschedule / kill (kernel/proc, kernel/sched) */
#define VEC_SPURIOUS	0xFF

/* Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + off / 16). */
#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0B0
#define LAPIC_LDR	0x0D0
#define LAPIC_DFR	0x0E0
#define LAPIC_SVR	0x0F0
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERR	0x370
#define LAPIC_TMR_INIT	0x380
#define LAPIC_TMR_CUR	0x390
#define LAPIC_TMR_DIV	0x3E0
#define LAPIC_SELF_IPI	0x3F0	/* x2APIC only */

#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)
#define LVT_NMI		(4u << 8)
#define LVT_LEVEL	(1u << 15)
#define LVT_ACTIVE_LOW	(1u << 13)

struct apic_stats {
	uint64_t spurious;	/* LAPIC spurious vector 0xFF */
	uint64_t pic_spurious;	/* remapped 8259 IRQ 7 / 15 */
	uint64_t self_ipis;
};

/* Bring up the boot CPU's LAPIC (x2APIC when offered, unless no_x2apic) and mask the PICs. */
int apic_init(bool no_x2apic);
bool apic_ready(void);
bool apic_x2(void);		/* true in x2APIC mode */
bool apic_x2_offered(void);	/* CPUID offered x2APIC */
uint64_t apic_base_phys(void);
extern struct apic_stats apic_stats;

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_id(void);	/* this CPU's APIC id (8 bits xAPIC, 32 bits x2APIC) */
void lapic_eoi(void);
/* Fixed IPI with vector to the CPU with APIC id dest; waits for delivery (xAPIC). */
void lapic_send_ipi(uint32_t dest, uint8_t vector);
void lapic_send_self_ipi(uint8_t vector);
/* SMP bring-up (SDM 8.4.4): INIT assert, then STARTUP with the 4 KiB page number of the trampoline. */
void lapic_send_init(uint32_t dest);
void lapic_send_startup(uint32_t dest, uint8_t page);
/* Per-CPU bring-up of the LAPIC on an application processor (same mode as the BSP). */
void lapic_init_ap(void);

#endif
