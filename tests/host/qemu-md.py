#!/usr/bin/env python3
"""Host-side tests of the rig's QEMU (patches/qemu): memory-device error paths.

Each case starts qemu-system-riscv64 -M virt stopped (-S: no firmware, no
guest ever runs, so a PCIe unplug request stays pending for good) with a QMP
socket, sends QMP commands and checks the replies:

  pmem-unplug     device_add of a virtio-pmem-pci works, device_del of it is
                  refused ("cannot be unplugged") and it stays listed
  vmem-unplug     a virtio-mem-pci device with requested-size 128 MiB: device_del
                  refused; at 0, device_del accepted, and while that unplug is
                  pending requested-size cannot change ("being unplugged"),
                  setting the current value (0) still works, and the device
                  stays listed with size 0
  md-slot         a virtio based memory device must be alone in its PCI slot
                  (function 0, no multifunction): a slot is unplugged whole,
                  so device_del of a neighbour would take it along unchecked
  satp            the svNN CPU properties mean what they mean in QEMU 8.0+:
                  the devicetree's mmu-type for each spelling, the refused
                  combinations and their errors; CPU models without the
                  properties (sifive_u, -cpu sifive-u54) still start

Output: KTAP v1, one result per check; exit 0 only when every check passed.
RIG_QEMU selects the QEMU binary (default build/qemu/qemu-system-riscv64).
Nothing is left behind: each QEMU is killed and its socket directory removed.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
QEMU = os.environ.get("RIG_QEMU", os.path.join(BUILD, "qemu", "qemu-system-riscv64"))
REPLY_TIMEOUT = 20
# Every case: 512 MiB of RAM, room for device memory, one PCIe root port.
BASE = ["-m", "512M,maxmem=2G", "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1"]


class Qemu:
    """A stopped riscv QEMU (virt unless machine= says otherwise) with a QMP socket."""

    def __init__(self, args, machine="virt", cpu="rv64"):
        self.dir = tempfile.mkdtemp(prefix="rig-qmd-")
        sock = os.path.join(self.dir, "qmp.sock")
        cpu_args = ["-cpu", cpu] if cpu else []
        self.proc = subprocess.Popen(
            [QEMU, "-M", machine] + cpu_args + ["-bios", "none", "-display", "none",
             "-nodefaults", "-S", "-qmp", f"unix:{sock},server=on,wait=on"] + args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + REPLY_TIMEOUT
        self.sock = None
        while self.sock is None:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace").strip()
                self.close()
                raise RuntimeError(f"QEMU exited {self.proc.returncode}: {err}")
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(sock)
                self.sock = s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("no QMP socket")
                time.sleep(0.05)
        self.sock.settimeout(REPLY_TIMEOUT)
        self.buf = b""
        self.read()  # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.strip():
                    msg = json.loads(line)
                    if "event" not in msg:
                        return msg
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("QMP connection closed")
            self.buf += data

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        return self.read()

    def memdevs(self):
        """id -> size of the memory devices QEMU lists."""
        out = {}
        for d in self.cmd("query-memory-devices").get("return", []):
            out[d["data"].get("id")] = d["data"].get("size")
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if getattr(self, "sock", None):
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def startup(args, machine="virt"):
    """Run QEMU with -M MACHINE,dumpdtb=... and ARGS until it exits: (exit
    status, stderr, the dumped tree as dts text or None)."""
    d = tempfile.mkdtemp(prefix="rig-qmd-")
    try:
        dtb = os.path.join(d, "out.dtb")
        p = subprocess.run([QEMU, "-M", f"{machine},dumpdtb={dtb}", "-bios", "none",
                            "-display", "none", "-nodefaults"] + args,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=REPLY_TIMEOUT)
        dts = None
        if os.path.exists(dtb):
            dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", dtb], check=True,
                                 capture_output=True, text=True).stdout
        return p.returncode, p.stderr.decode(errors="replace").strip(), dts
    finally:
        shutil.rmtree(d, ignore_errors=True)


results = []


def check(desc, cond, why=""):
    results.append(cond)
    n = len(results)
    if cond:
        print(f"ok {n} {desc}")
    else:
        print(f"# {desc}: {why}")
        print(f"not ok {n} {desc}")


def refused(desc, reply, pattern):
    err = reply.get("error", {}).get("desc", "")
    check(desc, "error" in reply and pattern in err,
          f"reply {json.dumps(reply)}, want an error mentioning '{pattern}'")
    if err:
        print(f"# {desc}: {err}")


def accepted(desc, reply):
    check(desc, "return" in reply, f"reply {json.dumps(reply)}")


def pmem_unplug():
    with Qemu(BASE + ["-object", "memory-backend-ram,id=pmb1,size=64M"]) as q:
        accepted("pmem: device_add virtio-pmem-pci pm1 on a root port",
                 q.cmd("device_add", driver="virtio-pmem-pci", id="pm1", memdev="pmb1", bus="rp1"))
        refused("pmem: device_del pm1 refused", q.cmd("device_del", id="pm1"), "cannot be unplugged")
        check("pmem: pm1 still listed, 64 MiB", q.memdevs().get("pm1") == 64 << 20, f"{q.memdevs()}")


def vmem_unplug():
    path = "/machine/peripheral/vm0"
    with Qemu(BASE + ["-object", "memory-backend-ram,id=vmb0,size=1G",
               "-device", "virtio-mem-pci,id=vm0,memdev=vmb0,bus=rp1,requested-size=0"]) as q:
        accepted("vmem: requested-size 128 MiB",
                 q.cmd("qom-set", path=path, property="requested-size", value=128 << 20))
        refused("vmem: device_del refused with memory requested", q.cmd("device_del", id="vm0"),
                "still has memory")
        accepted("vmem: requested-size back to 0",
                 q.cmd("qom-set", path=path, property="requested-size", value=0))
        accepted("vmem: device_del accepted at size 0", q.cmd("device_del", id="vm0"))
        refused("vmem: requested-size 128 MiB refused while the unplug is pending",
                q.cmd("qom-set", path=path, property="requested-size", value=128 << 20),
                "being unplugged")
        req = q.cmd("qom-get", path=path, property="requested-size").get("return")
        check("vmem: requested-size still 0 after the refusal", req == 0, f"requested-size {req}")
        accepted("vmem: requested-size 0 (unchanged) still accepted",
                 q.cmd("qom-set", path=path, property="requested-size", value=0))
        check("vmem: vm0 still listed (pending unplug), size 0", q.memdevs().get("vm0") == 0,
              f"{q.memdevs()}")


def md_slot():
    with Qemu(BASE + ["-object", "memory-backend-ram,id=pmb1,size=64M",
               "-object", "memory-backend-ram,id=vmb1,size=256M"]) as q:
        refused("slot: virtio-pmem-pci at function 1 refused",
                q.cmd("device_add", driver="virtio-pmem-pci", id="pm1", memdev="pmb1", bus="rp1",
                      addr="0.1"), "alone in its PCI slot")
        refused("slot: virtio-mem-pci with multifunction=on refused",
                q.cmd("device_add", driver="virtio-mem-pci", id="vm1", memdev="vmb1", bus="rp1",
                      multifunction=True), "alone in its PCI slot")
        check("slot: no memory device added", q.memdevs() == {}, f"{q.memdevs()}")


# -cpu value -> the devicetree's mmu-type, or the error QEMU must stop with.
SATP = [
    ("rv64", "riscv,sv57"),
    ("rv64,sv39=on", "riscv,sv39"),
    ("rv64,sv48=on", "riscv,sv48"),
    ("rv64,sv57=on", "riscv,sv57"),
    ("rv64,sv57=off", "riscv,sv48"),
    ("rv64,sv48=off", "riscv,sv39"),
    ("rv64,sv48=off,sv57=off", "riscv,sv39"),
    ("rv64,sv48=on,sv57=off", "riscv,sv48"),
    ("rv64,mmu=off", "riscv,none"),
    ("rv64,sv57=on,sv48=off", "error: cannot disable satp mode sv48 while sv57 is enabled"),
    ("rv64,sv64=on", "error: satp mode sv64 is higher than the hart's maximum, sv57"),
    ("rv64,sv39=off", "error: sv39=off leaves the hart no paging mode"),
    ("rv64,mmu=off,sv48=on", "error: satp mode sv48 needs a hart with an MMU"),
    ("sifive-u54", "riscv,sv57"),
]


def satp():
    for cpu, want in SATP:
        rc, err, dts = startup(["-cpu", cpu])
        if want.startswith("error: "):
            check(f"satp: -cpu {cpu} refused", rc == 1 and want[7:] in err,
                  f"exit {rc}, stderr '{err}', want exit 1 and '{want[7:]}'")
        else:
            got = None
            for line in (dts or "").splitlines():
                if "mmu-type" in line:
                    got = line.split('"')[1]
                    break
            check(f"satp: -cpu {cpu} gives mmu-type {want}", rc == 0 and got == want,
                  f"exit {rc}, mmu-type {got}, stderr '{err}'")
    with Qemu([], machine="sifive_u", cpu=None) as q:
        st = q.cmd("query-status").get("return", {}).get("status")
        check("satp: -M sifive_u starts (CPU model without the properties)", st == "prelaunch",
              f"status {st}")


CASES = [(pmem_unplug, 3), (vmem_unplug, 8), (md_slot, 3), (satp, len(SATP) + 1)]


def main():
    start = time.monotonic()
    total = sum(n for _, n in CASES)
    print("KTAP version 1")
    print(f"1..{total}")
    if not os.access(QEMU, os.X_OK):
        print(f"# no QEMU at {QEMU}: run 'make qemu'")
        return 1
    for case, want in CASES:
        before = len(results)
        try:
            case()
        except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
            print(f"# {case.__name__}: {e}")
        if len(results) - before != want:
            print(f"# {case.__name__}: {len(results) - before} checks, {want} planned")
        while len(results) - before < want:
            check(f"{case.__name__}: not reached", False, "the case stopped early")
    print(f"# {sum(results)} of {len(results)} checks passed in {time.monotonic() - start:.1f}s")
    return 0 if all(results) and len(results) == total else 1


if __name__ == "__main__":
    sys.exit(main())
