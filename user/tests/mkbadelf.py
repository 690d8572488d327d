#!/usr/bin/env python3
"""Malformed ELF boot modules for the loader tests, each made from a good
binary (argv[1]) by damaging one thing; written to the directory argv[2]."""
import struct
import sys

src, out = sys.argv[1], sys.argv[2]
good = bytearray(open(src, "rb").read())
phoff = struct.unpack_from("<Q", good, 32)[0]
phnum = struct.unpack_from("<H", good, 56)[0]


def ph(buf, i):
    return phoff + 56 * i


def first_load(buf):
    for i in range(phnum):
        if struct.unpack_from("<I", buf, ph(buf, i))[0] == 1:
            return ph(buf, i)
    raise SystemExit("no PT_LOAD")


def write(name, buf):
    open(f"{out}/{name}", "wb").write(buf)


b = bytearray(good); b[0:4] = b"\x7fELG"; write("bad-magic", b)
b = bytearray(good); struct.pack_into("<Q", b, first_load(b) + 16, 0xFFFF800000400000); write("bad-kernel-half", b)
# second PT_LOAD moved onto the first one's address
b = bytearray(good)
loads = [ph(b, i) for i in range(phnum) if struct.unpack_from("<I", b, ph(b, i))[0] == 1]
va0 = struct.unpack_from("<Q", b, loads[0] + 16)[0]
off1 = struct.unpack_from("<Q", b, loads[1] + 8)[0]
struct.pack_into("<Q", b, loads[1] + 16, va0 + (off1 & 0xFFF))
write("bad-overlap", b)
# cut inside the first PT_LOAD's bytes
p0 = first_load(good)
write("bad-truncated", good[: struct.unpack_from("<Q", good, p0 + 8)[0] + 64])
b = bytearray(good); p = first_load(b)
memsz = struct.unpack_from("<Q", b, p + 40)[0]
struct.pack_into("<Q", b, p + 32, memsz + 0x1000); write("bad-filesz", b)
