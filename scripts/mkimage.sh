#!/usr/bin/env bash
# Build the hybrid boot image: one file that boots as a CD-ROM and as a raw
# disk, under BIOS (SeaBIOS) and UEFI (OVMF), made by grub-mkrescue.
# Usage: mkimage.sh OUT.img "KERNEL COMMAND LINE" [extra-module-file ...]
# Boot binaries come from build/bins/* and go to /boot/bins/ as separate
# multiboot2 modules; the kernel symbol table rides along as kernel.sym.
# CAPOS_KERNEL=path replaces the kernel and CAPOS_BARE=1 leaves out every
# module (the GRUB/firmware floor image of `make bench-boot`).
set -euo pipefail
out=$1
cmdline=${2:-}
shift 2 || true
build=build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tmp=$work/iso
mkdir -p "$tmp/boot/grub" "$tmp/boot/bins"
cp "${CAPOS_KERNEL:-$build/kernel/capos.elf}" "$tmp/boot/capos.elf"
modules=
bins=()
if [ -z "${CAPOS_BARE:-}" ]; then
	cp $build/kernel/kernel.sym "$tmp/boot/kernel.sym"
	modules="	module2 /boot/kernel.sym kernel.sym"
	bins=($build/bins/* "$@")
fi
for f in "${bins[@]}"; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	cp "$f" "$tmp/boot/bins/$name"
	modules+=$'\n'"	module2 /boot/bins/$name $name"
done
cat > "$tmp/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry "capOS" {
	multiboot2 /boot/capos.elf $cmdline
$modules
	boot
}
CFG
mkdir -p "$(dirname "$out")"
# The ISO volume id marks a capOS boot image: block drivers refuse to serve a
# disk that carries it (user/drivers/blkproc.c, docs/drivers.md).
grub-mkrescue -o "$out.$$.tmp" "$tmp" -- -volid CAPOS_BOOT >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
mv "$out.$$.tmp" "$out"	# atomic: parallel test workers may build the same image
