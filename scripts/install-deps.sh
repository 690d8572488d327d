#!/usr/bin/env bash
# Install every Debian package capOS needs to build, boot and test.
# Run by the Makefile when a required tool is missing; safe to re-run.
set -euo pipefail

PKGS=(
  build-essential gcc make binutils
  qemu-system-x86 qemu-utils ovmf seabios
  grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools dosfstools
  capnproto libcapnp-dev
  libcmocka-dev python3-pytest python3-pytest-xdist
  clang llvm lld libclang-rt-14-dev
  libsqlite3-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "capOS: missing packages: ${missing[*]}" >&2
  echo "capOS: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "capOS: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
