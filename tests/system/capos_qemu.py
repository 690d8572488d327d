"""QEMU harness for capOS system tests.

A Machine boots one capOS image under TCG with COM1 on a pipe, keeps the
whole serial log (saved under build/logs/<test>.log), and lets a test wait
for structured `capos:` markers with a timeout, type into the console, and
collect QEMU's exit status (isa-debug-exit: 33 pass, 35 fail).
"""
import hashlib
import os
import re
import shutil
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
EXIT_PASS = 33
EXIT_FAIL = 35
QUIET = 0.3  # seconds without output after which an unfinished line is taken as complete

_image_lock = threading.Lock()


def image(cmdline="", extra_modules=()):
    """The boot image for a kernel command line (built once, then cached)."""
    if not cmdline and not extra_modules:
        return os.path.join(BUILD, "capos.img")
    key = hashlib.sha256((cmdline + "\0" + "\0".join(extra_modules)).encode()).hexdigest()[:16]
    out = os.path.join(BUILD, "test-images", key + ".img")
    # `make` rebuilds capos.img whenever the kernel or a boot binary changes.
    newest = max(os.path.getmtime(os.path.join(BUILD, f)) for f in ("kernel/capos.elf", "capos.img")
                 if os.path.exists(os.path.join(BUILD, f)))
    with _image_lock:
        if not os.path.exists(out) or os.path.getmtime(out) < newest:
            subprocess.run(["bash", "scripts/mkimage.sh", out, cmdline, *extra_modules],
                           cwd=ROOT, check=True)
    return out


def module_image(subdir, prog, mf):
    """The image booting manifest `mf` with `prog` and `mf`.mf from build/SUBDIR/:
    test modules kept out of build/bins/, which goes whole into every image and
    is bounded by the kernel's MB2_MAX_MODULES (docs/testing.md "Block-driver
    faults")."""
    import pytest
    mods = [os.path.join(BUILD, subdir, p) for p in (f"{mf}.mf", prog)]
    for p in mods:
        if not os.path.exists(p):
            pytest.fail(f"{p} is not built (make -j2)")
    # GRUB loads kernel.sym, every file of build/bins/, then these; the
    # kernel keeps the first MB2_MAX_MODULES and ignores the rest
    with open(os.path.join(ROOT, "lib", "boot", "mb2.h")) as f:
        limit = int(re.search(r"#define MB2_MAX_MODULES\s+(\d+)", f.read()).group(1))
    n = 1 + len(os.listdir(os.path.join(BUILD, "bins"))) + len(mods)
    assert n <= limit, f"{n} boot modules: over the kernel's MB2_MAX_MODULES {limit}"
    img = image(f"capos.manifest={mf}.mf", mods)
    # image() rebuilds a cached image when the kernel or build/bins/ changed,
    # not when an extra module did
    if os.path.getmtime(img) < max(os.path.getmtime(p) for p in mods):
        os.unlink(img)
        img = image(f"capos.manifest={mf}.mf", mods)
    return img


class Machine:
    def __init__(self, name, img=None, firmware="bios", media="disk", machine="pc",
                 memory="512M", cpu=None, smp=1, extra=(), kernel=None, cmdline=""):
        self.name = name
        self.log_path = os.path.join(BUILD, "logs", name + ".log")
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        img = img or image(cmdline)
        args = ["qemu-system-x86_64", "-M", machine, "-m", memory, "-smp", str(smp),
                "-no-reboot", "-display", "none", "-serial", "stdio", "-monitor", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if cpu:
            args += ["-cpu", cpu]
        if firmware == "uefi":
            vars_copy = os.path.join(BUILD, "logs", name + ".OVMF_VARS.fd")
            shutil.copy(OVMF_VARS, vars_copy)
            args += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,file={vars_copy}"]
        if kernel:
            args += ["-kernel", kernel]
        elif media == "disk":
            args += ["-drive", f"file={img},format=raw,if=ide,snapshot=on"]
        else:
            args += ["-drive", f"file={img},format=raw,media=cdrom,readonly=on"]
        args += list(extra)
        self.args = args
        self.output = bytearray()
        self._last_output = time.monotonic()
        self._cond = threading.Condition()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        with open(self.log_path, "wb") as log:
            log.write(("# " + " ".join(self.args) + "\n").encode())
            while True:
                chunk = self.proc.stdout.read1(4096)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                with self._cond:
                    self.output += chunk
                    self._last_output = time.monotonic()
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def text(self):
        with self._cond:
            return self.output.decode("utf-8", "replace").replace("\r", "")

    def wait_for(self, pattern, timeout=60, start=0):
        """Wait for a regex in the serial output; return the match. Fails on timeout or exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                text = self.output.decode("utf-8", "replace").replace("\r", "")
                m = rx.search(text, start)
                # A match on the last, unfinished line may be part of a marker still
                # arriving (the test then reads the whole line): accept it once that
                # line is complete, or once output has been quiet for QUIET seconds
                # (a prompt such as "capos> " is an unfinished line that stays so).
                line_done = m is not None and text.find("\n", max(m.end() - 1, 0)) != -1
                if m and (line_done or self.proc.poll() is not None
                          or time.monotonic() - self._last_output >= QUIET):
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    break
                self._cond.wait(min(left, QUIET if m else 0.5))
        raise AssertionError(f"{self.name}: no match for {pattern!r} within {timeout}s "
                             f"(qemu exit={self.proc.poll()}); log: {self.log_path}\n"
                             + text[-3000:])

    def send(self, s, delay=0.0):
        """Type into COM1."""
        for ch in s.encode():
            self.proc.stdin.write(bytes([ch]))
            self.proc.stdin.flush()
            if delay:
                time.sleep(delay)

    def wait_exit(self, timeout=60):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: QEMU did not exit within {timeout}s; "
                                 f"log: {self.log_path}\n" + self.text[-3000:])
        self._reader.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)

    def markers(self):
        return [l for l in self.text.splitlines() if l.startswith("capos: ")]


def kv(line):
    """Parse `key=value` pairs of a marker line."""
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
