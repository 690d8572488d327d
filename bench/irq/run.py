#!/usr/bin/env python3
"""make bench-irq: guest instruction counts of the interrupt path.

Boots the kernel's `bench-irq` self-test (kernel/hw_ktest.c) under
`-icount shift=0`, where QEMU advances the virtual clock by exactly 1 ns per
guest instruction and the guest TSC (1 GHz there) therefore counts
instructions. Reports, per APIC mode, the medians of 64 rounds of:

  self-IPI send->return   ICR write (xAPIC) or SELF_IPI MSR (x2APIC), delivery,
                          entry stub, register save, dispatch, handler + EOI,
                          restore, iretq, back to the sender
  self-IPI send->handler  the same up to the handler's first rdtsc
  handler->return         from the handler's rdtsc to the sender again: EOI, return
                          through dispatch, register restore, iretq
  timer tick path         the step a tick adds to a tight rdtsc loop: the whole
                          LAPIC timer interrupt, entry to return, including the
                          tick handler (counter, EOI, scheduler hook if any)

xAPIC and x2APIC are run side by side (-cpu qemu64 and qemu64,+x2apic). QEMU
7.2's TCG cannot offer x2APIC; the second run then says so and runs xAPIC.
Instruction counts are deterministic; they say nothing about the time an
MMIO or MSR access costs on hardware.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from capos_qemu import EXIT_PASS, Machine, kv  # noqa: E402

UNSUPPORTED = "TCG doesn't support requested feature: CPUID.01H:ECX.x2apic"
rows = []
for label, cpu in (("xapic", "qemu64,-x2apic"), ("x2apic", "qemu64,+x2apic")):
    m = Machine(f"bench-irq-{label}", machine="q35", cpu=cpu, cmdline="capos.test=bench-irq",
                extra=["-icount", "shift=0"])
    rc = m.wait_exit(300)
    line = re.search(r"capos: bench-irq apic=[^\n]*", m.text)
    if rc != EXIT_PASS or not line:
        print(f"bench-irq: {label} run failed (exit {rc}); log {m.log_path}")
        sys.exit(1)
    f = kv(line.group(0))
    note = ""
    if label == "x2apic" and f["apic"] != "x2apic":
        note = "x2APIC not offered by this QEMU's TCG" if UNSUPPORTED in m.text else \
               "x2APIC not offered by the CPU"
    rows.append((label, f, note))

print("bench-irq: guest instructions (TSC under -icount shift=0), median of 64 rounds")
print(f"{'requested':10} {'ran':7} {'ipi send->return':>17} {'ipi send->handler':>18} "
      f"{'handler->return':>16} {'tick path':>10} {'loop step':>10}  note")
for label, f, note in rows:
    print(f"{label:10} {f['apic']:7} {f['self_ipi_send_to_return_median']:>17} "
          f"{f['self_ipi_send_to_handler_median']:>18} {f['handler_to_return_median']:>16} "
          f"{f['timer_tick_path_median']:>10} "
          f"{f['loop_step']:>10}  {note}")
