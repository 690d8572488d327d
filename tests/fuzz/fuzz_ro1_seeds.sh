#!/usr/bin/env bash
# Make seeds for fuzz_ro1: small CAPOSRO1 images built by the real builder
# (tools/mkstore-image/ro1_cmd.c over lib/ro1) from tiny host trees.
# Usage: tests/fuzz/fuzz_ro1_seeds.sh [OUTDIR]   (default tests/fuzz/corpus/fuzz_ro1)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-tests/fuzz/corpus/fuzz_ro1}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include "%s/tools/mkstore-image/ro1_cmd.h"\nint main(int argc, char **argv) { return ro1_cmd_build(argc - 1, argv + 1); }\n' "$PWD" > "$tmp/main.c"
gcc -std=c11 -D_DEFAULT_SOURCE -O1 -Ilib -o "$tmp/build" "$tmp/main.c" tools/mkstore-image/ro1_cmd.c \
	lib/ro1/ro1_build.c lib/ro1/ro1_read.c lib/base/crc32c.c lib/base/err.c
export SOURCE_DATE_EPOCH=1700000000
mkdir -p "$out" "$tmp/t1/a/b/c" "$tmp/t1/etc" "$tmp/t2" "$tmp/t3"
printf 'hello, capOS\n' > "$tmp/t1/etc/motd"
head -c 9000 /dev/zero | tr '\0' 'x' > "$tmp/t1/a/b/c/leaf"
: > "$tmp/t1/empty"
for i in $(seq 1 40); do printf '%d\n' "$i" > "$tmp/t2/f$i"; done
printf 'x' > "$tmp/t3/one"
"$tmp/build" build "$tmp/t1" "$out/tree" >/dev/null
"$tmp/build" build "$tmp/t2" "$out/flat40" >/dev/null
"$tmp/build" build "$tmp/t3" "$out/one" >/dev/null
mkdir -p "$tmp/t4"; "$tmp/build" build "$tmp/t4" "$out/emptyroot" >/dev/null
ls -l "$out"
