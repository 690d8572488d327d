#!/usr/bin/env bash
# Build the Linux baseline guest of `make bench-blk` (docs/bench-blk.md).
#
# Fetches Debian 12 packages with `apt-get download` (never installs them on
# this machine), unpacks them with `dpkg-deb -x` under build/bench-blk/, and
# writes:
#   build/bench-blk/vmlinuz          Debian's linux-image-amd64 kernel
#   build/bench-blk/initramfs.cpio   busybox-static, fio + the shared libraries
#                                    it needs (DT_NEEDED closure) and ld.so,
#                                    virtio_blk/nvme modules + dependencies,
#                                    and bench/blk/linux/init as /init
# Everything third-party stays in build/; nothing here is committed.
# Re-running is cheap: downloads and extraction are skipped when present.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=bench/blk/linux
out=build/bench-blk
debs=$out/debs
root=$out/root            # the initramfs tree
sysroot=$out/sysroot      # fio + libraries, unpacked
ktree=$out/kernel-tree    # linux-image, unpacked
mkdir -p "$debs"

log() { echo "bench-blk build: $*" >&2; }

# 1. Package names (Debian 12). linux-image-amd64 is a metapackage: take its
#    versioned linux-image-6.1.0-N-amd64 dependency.
if ! apt-cache show fio >/dev/null 2>&1; then
	log "apt-get update"
	apt-get update -qq
fi
kpkg=${BENCH_BLK_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)}
[ -n "$kpkg" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
# fio's library packages: the recursive Depends closure, lib* and zlib only (the
# interpreters fio's helper scripts want are not needed by the binary).
libpkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances fio | grep -E '^(lib|zlib)' | grep -vE 'perl|python' | sort -u)
pkgs="$kpkg busybox-static fio $libpkgs"

# 2. Download what is missing (one .deb per package name).
missing=()
for p in $pkgs; do
	compgen -G "$debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "apt-get download ${#missing[@]} packages into $debs"
	(cd "$debs" && apt-get download -q "${missing[@]}" 2>&1 | grep -vE '^(W: Download is performed unsandboxed|Get:)' >&2 || true)
	for p in "${missing[@]}"; do
		compgen -G "$debs/${p}_*.deb" >/dev/null || { log "download of $p failed"; exit 1; }
	done
fi

# 3. Unpack (stamped by the set of .deb files).
stamp=$(ls "$debs" | sha256sum | cut -c1-16)
if [ "$(cat "$out/.unpacked" 2>/dev/null)" != "$stamp" ]; then
	log "unpacking"
	rm -rf "$sysroot" "$ktree"
	mkdir -p "$sysroot" "$ktree"
	dpkg-deb -x "$(ls "$debs"/${kpkg}_*.deb | head -1)" "$ktree"
	for p in busybox-static fio $libpkgs; do
		dpkg-deb -x "$(ls "$debs"/${p}_*.deb | head -1)" "$sysroot"
	done
	echo "$stamp" > "$out/.unpacked"
fi
kver=$(ls "$ktree/lib/modules" | head -1)
cp "$ktree/boot/vmlinuz-$kver" "$out/vmlinuz"

# 4. The initramfs tree.
rm -rf "$root"
mkdir -p "$root"/{bin,lib,lib64,modules,dev,proc,sys,tmp}
cp "$sysroot/bin/busybox" "$root/bin/busybox"
cp "$sysroot/usr/bin/fio" "$root/bin/fio"
install -m 0755 "$here/init" "$root/init"

# 4a. fio's shared libraries: DT_NEEDED closure resolved inside the sysroot.
declare -A libpath=()
while IFS= read -r f; do
	n=$(basename "$f")
	[ -n "${libpath[$n]:-}" ] || libpath[$n]=$f
done < <(find "$sysroot" \( -type f -o -type l \) -name '*.so*' | sort)
# Follow symlinks inside the sysroot (an absolute link must not reach the host).
inroot() {
	local p=$1 t n=0
	while [ -L "$p" ] && [ $n -lt 20 ]; do
		t=$(readlink "$p")
		case $t in /*) p=$sysroot$t ;; *) p=$(dirname "$p")/$t ;; esac
		n=$((n + 1))
	done
	[ -f "$p" ] || { log "dangling link $1"; exit 1; }
	echo "$p"
}
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'; }
declare -A have=()
queue=("$root/bin/fio")
while [ ${#queue[@]} -gt 0 ]; do
	f=${queue[0]}
	queue=("${queue[@]:1}")
	for so in $(needed "$f"); do
		[ -z "${have[$so]:-}" ] || continue
		src=${libpath[$so]:-}
		[ -n "$src" ] || { log "no package in the closure provides $so"; exit 1; }
		cp "$(inroot "$src")" "$root/lib/$so"
		have[$so]=1
		queue+=("$root/lib/$so")
	done
done
interp=$(readelf -l "$root/bin/fio" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
mkdir -p "$root$(dirname "$interp")"
cp "$(inroot "$sysroot$interp")" "$root$interp"
log "fio needs ${#have[@]} shared libraries"

# 4b. Kernel modules: virtio_pci + virtio_blk + nvme and their `depends=`
#     (.modinfo; the package ships no modules.dep), in load order.
declare -A kmod=()
while IFS= read -r f; do
	n=$(basename "$f" .ko); kmod[${n//-/_}]=$f
done < <(find "$ktree/lib/modules/$kver/kernel" -name '*.ko')
declare -A loaded=()
order=()
add_mod() {
	local m=${1//-/_} f d
	[ -z "${loaded[$m]:-}" ] || return 0
	f=${kmod[$m]:-}
	[ -n "$f" ] || { log "module $m not in $kpkg"; exit 1; }
	loaded[$m]=1
	for d in $(readelf -p .modinfo "$f" | sed -n 's/.*depends=\(.*\)$/\1/p' | tr ',' ' '); do
		add_mod "$d"
	done
	order+=("$m")
	cp "$f" "$root/modules/$m.ko"
}
for m in virtio_pci virtio_blk nvme; do add_mod "$m"; done
printf '%s\n' "${order[@]}" > "$root/modules/order"
log "modules: ${order[*]}"

# 5. newc cpio (no cpio(1) needed), uncompressed.
python3 - "$root" "$out/initramfs.cpio" <<'PY'
import os, stat, sys
root, outp = sys.argv[1], sys.argv[2]
ino = 1
def hdr(name, mode, size, nlink=1):
    global ino
    ino += 1
    n = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in
        (ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(n), 0)) + n
    return h + b"\0" * (-len(h) % 4)
with open(outp + ".tmp", "wb") as o:
    for d, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(d, root)
        if rel != ".":
            o.write(hdr(rel, stat.S_IFDIR | 0o755, 0, 2))
        for f in sorted(files):
            p = os.path.join(d, f)
            st = os.lstat(p)
            data = os.readlink(p).encode() if stat.S_ISLNK(st.st_mode) else open(p, "rb").read()
            o.write(hdr(os.path.relpath(p, root), st.st_mode, len(data)))
            o.write(data + b"\0" * (-len(data) % 4))
    o.write(hdr("TRAILER!!!", 0, 0))
    o.write(b"\0" * (-o.tell() % 512))
os.replace(outp + ".tmp", outp)
PY
echo "$kpkg $kver" > "$out/kernel-version"
log "$out/vmlinuz ($kver) and $out/initramfs.cpio ($(du -h "$out/initramfs.cpio" | cut -f1))"
