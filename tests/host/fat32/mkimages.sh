#!/usr/bin/env bash
# Build the FAT32 test images for tests/host/test_fat32.c with mkfs.fat and
# mcopy (dosfstools, mtools). Usage: mkimages.sh OUTDIR. Images are made fresh
# each run and never committed. mtools needs >= 65525 clusters to see FAT32. File contents follow fat_pattern() in the test:
# byte i of a file made with seed s is (i * 31 + s) & 0xff.
set -euo pipefail
out=$1
export TZ=UTC MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0
rm -rf "$out"; mkdir -p "$out/tree"
t=$out/tree
pat() { python3 -c "import sys; n,s=int(sys.argv[1]),int(sys.argv[2]); sys.stdout.buffer.write(bytes((i*31+s)&255 for i in range(n)))" "$1" "$2"; }
printf 'hello, capOS\n' > "$t/hello.txt"
: > "$t/empty.bin"
pat 100000 1 > "$t/big.bin"
pat 300 2 > "$t/Long File Name With Spaces.txt"
pat 4096 4 > "$t/exact4k.bin"   # a whole number of clusters at both cluster sizes
mkdir -p "$t/dir1/dir2/dir3" "$t/many"
pat 1234 3 > "$t/dir1/dir2/dir3/deep.txt"
printf 'unicode\n' > "$t/dir1/ünïcödé-名前.txt"
printf 'UPPER\n' > "$t/UPPER.TXT"
for i in $(seq -w 0 199); do printf 'entry %s\n' "$i" > "$t/many/entry-number-$i.dat"; done
touch -d '2021-03-04 05:06:08' "$t/hello.txt"

mk() { # name sector_size sectors_per_cluster size
	local img=$out/$1.img
	truncate -s "$4" "$img"
	mkfs.fat -F 32 -S "$2" -s "$3" -n CAPOSTEST -i 12345678 "$img" >/dev/null 2>&1
	mcopy -i "$img" -s -m "$t"/* ::/
}
# mtools only treats a volume as FAT32 from 65525 clusters up, so the images are
# that large; they are sparse files and the test maps them copy-on-write.
mk s512 512 1 40M
mk s4096 4096 1 272M
mk s2048 2048 1 140M
truncate -s 16M "$out/fat16.img"  # FAT16: must be refused with E_NOTSUP
mkfs.fat -F 16 "$out/fat16.img" >/dev/null 2>&1
