#!/usr/bin/env python3
"""Make seeds for fuzz_fat32: small FAT32 trees built with mkfs.fat and mcopy,
converted to the sparse input form that tests/fuzz/fuzz_fat32.c documents
(flags, device sectors, runs of non-zero 512-byte sectors).
Usage: fuzz_fat32_seeds.py OUTDIR"""
import os, struct, subprocess, sys, tempfile

def sparse(img, flags):
    data = open(img, 'rb').read()
    n = len(data) // 512
    out = bytearray(struct.pack('<BI', flags, n))
    i = 0
    while i < n:
        if data[i * 512:(i + 1) * 512].strip(b'\0') == b'':
            i += 1
            continue
        j = i
        while j < n and j - i < 64 and data[j * 512:(j + 1) * 512].strip(b'\0') != b'':
            j += 1
        chunk = data[i * 512:j * 512].rstrip(b'\0')
        out += struct.pack('<IH', i, len(chunk)) + chunk
        i = j
    return bytes(out)

def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    env = dict(os.environ, TZ='UTC', MTOOLS_SKIP_CHECK='1')
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, 'tree')
        os.makedirs(os.path.join(tree, 'dir1', 'dir2', 'dir3'))
        os.makedirs(os.path.join(tree, 'many'))
        open(os.path.join(tree, 'hello.txt'), 'w').write('hello, capOS\n')
        open(os.path.join(tree, 'empty.bin'), 'w').close()
        open(os.path.join(tree, 'Long File Name With Spaces.txt'), 'wb').write(bytes(range(256)) * 6)
        open(os.path.join(tree, 'dir1', 'dir2', 'dir3', 'deep.txt'), 'w').write('deep\n')
        open(os.path.join(tree, 'dir1', 'ünïcödé-名前.txt'), 'w').write('unicode\n')
        for k in range(24):
            open(os.path.join(tree, 'many', 'entry-number-%03d.dat' % k), 'w').write('entry %d\n' % k)
        for name, sec, size, flags in (('s512', 512, '40M', 0), ('s512-blk4k', 512, '40M', 1),
                                       ('s4096', 4096, '272M', 0), ('s512-strict', 512, '40M', 2)):
            img = os.path.join(tmp, name + '.img')
            subprocess.run(['truncate', '-s', size, img], check=True)
            subprocess.run(['mkfs.fat', '-F', '32', '-S', str(sec), '-s', '1', '-i', '12345678', img],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            subprocess.run(['mcopy', '-i', img, '-s', '-m'] + [os.path.join(tree, x) for x in sorted(os.listdir(tree))] + ['::/'],
                           check=True, env=env)
            seed = sparse(img, flags)
            assert len(seed) < 65536, (name, len(seed))
            open(os.path.join(outdir, name), 'wb').write(seed)

main()
