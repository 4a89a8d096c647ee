#!/usr/bin/env python3
"""Host-side test runner for the riscv64 memory hot(un)plug rig.

Owns QEMU's lifetime, the serial console log, its own QMP socket, the
per-test timeout and the verdict. Guest scripts only report (KTAP); the
runner decides. Guests that drive QEMU (device_add, qom-set) do it through a
QMP monitor of their own that QEMU wires to a virtio-serial port
(guest_qmp_args): the runner takes no part in it.

  runner.py run   --profiles default,debug --modes sv39,sv48,sv57 [--tests a,b]
  runner.py shell --profile default --mode sv57 [--mem 2G] [--append ...]
  runner.py cmdline --profile default --mode sv57    (print a qemu command line)
"""
import argparse
import atexit
import concurrent.futures
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
QEMU = os.environ.get("RIG_QEMU", os.path.join(BUILD, "qemu", "qemu-system-riscv64"))
SUITE = os.path.join(TOP, "tests", "suite.toml")
# Per-boot directories (QMP and control sockets, derived DTBs, pmem images):
# under build/, removed after the boot unless KEEP=1.
TMP = os.environ.get("RIG_TMP", os.path.join(BUILD, "tmp"))
# Where 'run' writes its verdicts and consoles (series-check boots each patch
# with its own), and another kernel Image and initramfs than the profile's.
OUT = os.environ.get("RIG_OUT", BUILD)
KERNEL = os.environ.get("RIG_KERNEL", "")
INITRD = os.environ.get("RIG_INITRD", "")
KEEP = os.environ.get("KEEP", "") not in ("", "0")
# Bounds on everything that waits on QEMU: a QMP reply, the QMP lock, QEMU's
# exit after SIGKILL, the console reader after QEMU is gone.
QMP_TIMEOUT = float(os.environ.get("RIG_QMP_TIMEOUT", "30"))
DUMP_TIMEOUT = 5.0
KILL_GRACE = 10.0
FIRMWARE = os.environ.get(
    "OPENSBI_FW", "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")

# -cpu properties per paging mode: svNN=on makes NN the largest mode, as in
# QEMU 8.0 and later (patches/qemu/0001 gives 7.2 the same properties).
# sstc=off: the guest programs its timer through SBI. With QEMU 7.2's Sstc a
# guest doing CPU hotplug was once found with both harts idle in wfi and no
# timer pending for 10 minutes (hotplug-stress, Sv39); see notes/.
MODES = {
    "sv39": "rv64,sv39=on,sstc=off",
    "sv48": "rv64,sv48=on,sstc=off",
    "sv57": "rv64,sv57=on,sstc=off",
}
PROFILES_FILE = os.path.join(TOP, "configs", "profiles")
EARLY_HANG_S = 60
EARLY_HANG = "early boot hang (no kernel output)"
KERNEL_LINE = re.compile(r"(\[ *\d+\.\d+\] |Linux version |\*\* \d+ printk messages dropped)")

# Console lines that fail a run whatever the guest reported.
SPLAT = re.compile(
    r"(\bBUG: |kernel BUG at|WARNING: |\bOops\b|Kernel panic|Unable to handle kernel"
    r"|possible recursive locking|possible circular locking|inconsistent lock state"
    r"|suspicious RCU usage|INFO: possible|DEBUG_LOCKS_WARN_ON|lockdep is turned off"
    r"|possible deadlock|KASAN: |Bad page|unreferenced object"
    r"|kmemleak: .*suspected|soft lockup|hard LOCKUP|blocked for more than"
    r"|detected stall|general protection)")


# Splats after which the guest's test rarely finishes.
FATAL = re.compile(r"(kernel BUG at|Kernel BUG|\bOops\b|Kernel panic|Unable to handle kernel)")
FATAL_GRACE = 30


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def known_profiles():
    names = []
    with open(PROFILES_FILE) as f:
        for line in f:
            m = re.match(r"^([a-z0-9]+):", line)
            if m:
                names.append(m.group(1))
    return names


def load_suite():
    with open(SUITE, "rb") as f:
        suite = tomllib.load(f)
    defaults = suite.get("defaults", {})
    tests = []
    for t in suite.get("test", []):
        merged = dict(defaults)
        merged.update(t)
        # The profiles after the first that run the test with MATRIX=ci:
        # ci_profiles, else those the test names itself.
        merged["own_profiles"] = t.get("ci_profiles", t.get("profiles", []))
        tests.append(merged)
    return tests


def parse_size_mib(s):
    m = re.fullmatch(r"(\d+)([MG])", s)
    if not m:
        die(f"bad memory size '{s}' (use e.g. 512M or 2G)")
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1)


def guest_qmp_args(path, abstract=False):
    """QEMU options that give the guest a QMP monitor of its own, with no
    process on the host: a monitor on a unix-socket server chardev (PATH),
    and a virtio-serial port named rig.qmp on a client chardev connected to
    that server (tests/guest/lib.sh rig_qmp opens the port). A chardev has
    one frontend, hence two connected to each other. QEMU creates chardevs
    in command-line order and a client without reconnect= connects while it
    is created, so the server must come first. ABSTRACT: PATH is a name in
    the abstract socket namespace (no file; for runs without a directory of
    their own)."""
    a = ",abstract=on" if abstract else ""
    return ["-device", "virtio-serial-pci,id=rigser",
            "-chardev", f"socket,id=rigqmp,path={path}{a},server=on,wait=off",
            "-mon", "chardev=rigqmp,mode=control",
            "-chardev", f"socket,id=rigqmpc,path={path}{a}",
            "-device", "virtserialport,bus=rigser.0,chardev=rigqmpc,name=rig.qmp"]


RAM_BASE = 0x80000000  # start of RAM on QEMU's riscv virt machine


def qemu_dts(argv, raw):
    """The devicetree (as DTS text) that QEMU's virt machine gives a guest
    booted with argv (-M, -cpu, -smp, -m, -bios, and the memory backends and
    pc-dimm devices, which become memory nodes), dumped to raw."""
    dump = [argv[0], "-M", f"virt,dumpdtb={raw}", "-display", "none"]
    for opt in ("-cpu", "-smp", "-m", "-bios"):
        dump += [opt, argv[argv.index(opt) + 1]]
    for i, opt in enumerate(argv[:-1]):
        val = argv[i + 1]
        if (opt == "-object" and val.startswith("memory-backend-")) or \
           (opt == "-device" and val.startswith("pc-dimm,")):
            dump += [opt, val]
    r = subprocess.run(dump, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(raw):
        die(f"QEMU could not dump its DTB: {r.stderr.strip()}")
    return subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", raw], check=True,
                          capture_output=True, text=True).stdout


def cells(v):
    return f"0x{v >> 32:x} 0x{v & 0xffffffff:x}"


def shrink_ram_node(dts, ram, extra=""):
    """Set the size of QEMU's memory@80000000 node to ram bytes, and add the
    properties in extra to it."""
    mem_re = re.compile(r"(memory@%x \{[^}]*?reg = <)[^>]*(>;)" % RAM_BASE, re.S)
    if not mem_re.search(dts):
        die(f"no memory@{RAM_BASE:x} node in QEMU's DTB")
    return mem_re.sub(lambda m: m.group(1) + f"{cells(RAM_BASE)} {cells(ram)}" + m.group(2) + extra, dts)


def add_root_node(dts, node):
    end = dts.rstrip().rfind("};")
    return dts[:end] + node + dts[end:]


def write_dtb(dts, out):
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", out, "-"], input=dts,
                   check=True, capture_output=True, text=True)


def pmem_dtb(argv, mem_mib, pmem_mib, out):
    """Write to out the DTB QEMU's virt machine would give a guest booted with
    argv, with the last pmem_mib MiB of its RAM turned into a persistent-memory
    region: the memory node shrunk, and a "pmem-region" node
    (drivers/nvdimm/of_pmem.c, NUMA node 0, which dax/kmem needs) covering the
    rest. Returns the region's (start, size)."""
    if not 0 < pmem_mib < mem_mib:
        die(f"pmem {pmem_mib} MiB must be less than the guest's {mem_mib} MiB")
    ram = (mem_mib - pmem_mib) << 20
    start, size = RAM_BASE + ram, pmem_mib << 20
    dts = shrink_ram_node(qemu_dts(argv, out + ".qemu"), ram)
    dts = add_root_node(dts, f"\n\tpmem@{start:x} {{\n\t\tcompatible = \"pmem-region\";\n"
                        f"\t\treg = <{cells(start)} {cells(size)}>;\n\t\tnuma-node-id = <0x0>;\n\t}};\n")
    write_dtb(dts, out)
    return start, size


def node_dtb(argv, mem_mib, node_mib, out):
    """Write to out the DTB QEMU's virt machine would give a guest booted with
    argv, with the last node_mib MiB of its RAM made a second NUMA node that
    firmware marks "hotpluggable" (drivers/of/fdt.c: MEMBLOCK_HOTPLUG; with
    movable_node the kernel keeps its allocations out of it). Node 0 keeps
    the rest, the kernel image and the CPUs. Returns node 1's (start, size)."""
    if not 0 < node_mib < mem_mib:
        die(f"hotplug_node {node_mib} MiB must be less than the guest's {mem_mib} MiB")
    ram = (mem_mib - node_mib) << 20
    start, size = RAM_BASE + ram, node_mib << 20
    # QEMU puts the DTB just below min(end of RAM, 3 GiB) and the kernel keeps
    # it reserved: it must not land in the removable node.
    if start < min(RAM_BASE + (mem_mib << 20), 0xc0000000):
        die(f"hotplug_node: node 1 at 0x{start:x} would hold QEMU's DTB (below 3 GiB); use a smaller node")
    dts = shrink_ram_node(qemu_dts(argv, out + ".qemu"), ram, "\n\t\tnuma-node-id = <0x0>;")
    dts = add_root_node(dts, f"\n\tmemory@{start:x} {{\n\t\tdevice_type = \"memory\";\n"
                        f"\t\treg = <{cells(start)} {cells(size)}>;\n\t\tnuma-node-id = <0x1>;\n"
                        f"\t\thotpluggable;\n\t}};\n")
    write_dtb(dts, out)
    return start, size


# Guests whose QEMU runs: killed, and their directories removed, when the
# runner itself is interrupted or terminated.
def qemu_argv(profile, mode, t, bootdir, qmp_path, gqmp_path, interactive=False, lava=False):
    """The QEMU command line of test t (a suite.toml entry) on profile and
    paging mode, and the seconds after which no kernel output means an early
    boot hang. Files of the boot (derived DTBs; {dir} in t's qemu options)
    go to bootdir. The runner's QMP on the unix socket qmp_path (None: no
    runner QMP, no console options); the guest's QMP on gqmp_path, a name in
    the abstract socket namespace when lava is set. lava: the boot a LAVA job
    makes (scripts/lava.py), whose init gives LAVA's test shell a prompt
    (rig.lava=1) instead of running the test (rig.tests=)."""
    kdir = os.path.join(BUILD, f"kernel-{profile}")
    image = KERNEL or os.path.join(kdir, "arch", "riscv", "boot", "Image")
    initrd = INITRD or os.path.join(BUILD, f"initramfs-{profile}.cpio.gz")
    for f in (QEMU, image, initrd, FIRMWARE):
        if not os.path.exists(f):
            die(f"missing {f}: run 'make build PROFILE={profile}' first")
    mem = t.get("memory", "1G")
    memarg = mem
    if t.get("maxmem"):
        memarg += f",slots={t.get('slots', 4)},maxmem={t['maxmem']}"
    append = ["console=ttyS0", "earlycon=sbi", "panic=-1", "oops=panic" if t.get("oops_panic") else "",
              f"rig.mmu={mode}", f"rig.mem_mib={parse_size_mib(mem)}",
              f"rig.profile={profile}", "rig.qmp=1"]
    if lava:
        # The kernel log must hold the whole run: rig-lava-run.sh reads it
        # for splats (the runner reads the console).
        append += ["rig.lava=1", "log_buf_len=8M"]
    elif interactive:
        append.append("rig.shell=1")
    else:
        append.append(f"rig.tests={t['guest']}")
    append += shlex.split(t.get("append", ""))
    append += shlex.split(t.get(f"append_{profile}", ""))
    if t.get("reduced"):
        append += shlex.split(t["ci_append"])
    append += shlex.split(os.environ.get("RIG_APPEND", ""))
    # The kernel prints nothing before its 8250 console starts
    # (earlycon=sbi needs SBI v0.1, which the configs leave out). With
    # debug_pagealloc, setup_vm_final() maps all memory with 4 KiB pages
    # through the fixmap first: a debug kernel with 2 GiB on Sv48 was
    # still there after 60 s while two kernel builds ran (measured).
    early_hang_s = EARLY_HANG_S * (3 if "debug_pagealloc=on" in append else 1)
    argv = [QEMU, "-M", "virt", "-cpu", MODES[mode],
            "-smp", str(t.get("smp", 2)), "-m", memarg,
            "-bios", FIRMWARE, "-kernel", image, "-initrd", initrd,
            "-append", " ".join(a for a in append if a), "-no-reboot"]
    if interactive:
        argv += ["-nographic"]
    elif qmp_path:
        argv += ["-display", "none", "-monitor", "none", "-serial", "stdio",
                 "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    argv += guest_qmp_args(gqmp_path, abstract=lava)
    # {dir}: a directory private to this boot (e.g. for memory-backend-file).
    qemu = shlex.split(t.get("qemu", ""))
    if lava and any("{dir}" in a for a in qemu):
        die(f"{t['name']}: a LAVA job has no directory of its own for {{dir}} in its QEMU options")
    argv += [a.replace("{dir}", bootdir) for a in qemu]
    # A derived DTB (tests/suite.toml): 'pmem', persistent memory carved from
    # the top of RAM; else 'hotplug_node', a second NUMA node, "hotpluggable".
    # The range goes to the guest as rig.pmem / rig.node1.
    for key, derive, param in (("pmem", pmem_dtb, "pmem"), ("hotplug_node", node_dtb, "node1")):
        if t.get(key):
            dtb = os.path.join(bootdir, f"virt-{param}.dtb")
            start, size = derive(argv, parse_size_mib(mem), parse_size_mib(t[key]), dtb)
            argv += ["-dtb", dtb]
            argv[argv.index("-append") + 1] += f" rig.{param}=0x{start:x},0x{size:x}"
            break
    return argv, early_hang_s


LIVE = set()
LIVE_LOCK = threading.RLock()
STOPPING = False
# Per-boot directories not yet removed (removed at exit unless KEEP=1).
DIRS = set()


@atexit.register
def remove_dirs():
    if not KEEP:
        for d in list(DIRS):
            shutil.rmtree(d, ignore_errors=True)


def on_signal(signum, frame):
    global STOPPING
    with LIVE_LOCK:
        STOPPING = True
        guests = list(LIVE)
    for g in guests:
        if g.proc and g.proc.poll() is None:
            g.proc.kill()
    for g in guests:
        try:
            g.proc.wait(KILL_GRACE)
        except subprocess.TimeoutExpired:
            pass
    # Held until os._exit: no worker makes a boot directory from here on.
    LIVE_LOCK.acquire()
    if not KEEP:
        for d in list(DIRS):
            shutil.rmtree(d, ignore_errors=True)
    # os.write, not print: the signal may have interrupted the main thread
    # inside a print to stderr, and a second one into the same buffered
    # stream raises "reentrant call" instead of exiting.
    try:
        os.write(2, f"# runner: {signal.Signals(signum).name}: killed {len(guests)} QEMU(s)\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


class Guest:
    """One QEMU boot: console capture, QMP, timeout."""

    def __init__(self, profile, mode, test, log_path):
        self.profile, self.mode, self.test = profile, mode, test
        self.log_path = log_path
        os.makedirs(TMP, exist_ok=True)
        with LIVE_LOCK:
            self.dir = tempfile.mkdtemp(prefix="rig-", dir=TMP)
            if len(self.dir) > 90:
                # AF_UNIX socket paths are limited to 107 bytes.
                os.rmdir(self.dir)
                self.dir = tempfile.mkdtemp(prefix="rig-")
            DIRS.add(self.dir)
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.gqmp_path = os.path.join(self.dir, "gqmp.sock")
        self.lines = []
        self.kernel_seen = False
        self.lock = threading.Lock()
        self.qmp = self.qmp_sock = None
        self.qmp_lock = threading.Lock()
        self.proc = None
        self.echo = False
        self.qmp_dead = False
        self.elapsed = 0.0
        self.logf = None

    def cleanup(self):
        """Kill QEMU if it still runs and remove the boot's directory (KEEP=1
        keeps it)."""
        self.kill()
        with LIVE_LOCK:
            LIVE.discard(self)
        if self.qmp_sock:
            try:
                self.qmp_sock.close()
            except OSError:
                pass
        if KEEP:
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        DIRS.discard(self.dir)

    def kill(self):
        """SIGKILL QEMU (also when stopped) and reap it, bounded."""
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(KILL_GRACE)
            except subprocess.TimeoutExpired:
                self.log("[rig] QEMU did not die within %ds of SIGKILL" % KILL_GRACE)

    def argv(self, interactive=False):
        argv, self.early_hang_s = qemu_argv(self.profile, self.mode, self.test, self.dir,
                                            self.qmp_path, self.gqmp_path, interactive)
        return argv

    # --- QMP -----------------------------------------------------------
    def qmp_connect(self, deadline):
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("QEMU exited")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(max(0.1, min(QMP_TIMEOUT, deadline - time.time())))
                s.connect(self.qmp_path)
                self.qmp_sock, self.qmp = s, s.makefile("rw")
                json.loads(self.qmp.readline())  # greeting
                r = self.qmp_cmd({"execute": "qmp_capabilities"}, timeout=max(0.1, deadline - time.time()))
                if "error" in r:
                    raise RuntimeError(f"qmp_capabilities: {r['error'].get('desc')}")
                s.settimeout(QMP_TIMEOUT)
                return
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                time.sleep(0.05)
        raise RuntimeError("QMP socket did not come up")

    def qmp_cmd(self, req, timeout=None):
        """Send one QMP command; its reply, or an error reply when QMP is
        closed, does not answer within the bound or another command holds
        it longer than that. A QMP that timed out once is not used again."""
        bound = QMP_TIMEOUT if timeout is None else timeout
        if not self.qmp_lock.acquire(timeout=bound):
            return {"error": {"class": "RigTimeout", "desc": f"QMP busy for {bound:.0f}s"}}
        try:
            if self.qmp_dead or self.qmp is None:
                return {"error": {"class": "Disconnected", "desc": "QMP not usable"}}
            self.qmp_sock.settimeout(bound)
            try:
                self.qmp.write(json.dumps(req) + "\n")
                self.qmp.flush()
                while True:
                    line = self.qmp.readline()
                    if not line:
                        self.qmp_dead = True
                        return {"error": {"class": "Disconnected", "desc": "QMP closed"}}
                    msg = json.loads(line)
                    if "event" in msg:
                        self.log(f"[qmp event] {json.dumps(msg)}")
                        continue
                    return msg
            except (TimeoutError, socket.timeout):
                self.qmp_dead = True
                return {"error": {"class": "RigTimeout", "desc": f"no QMP reply in {bound:.0f}s"}}
            except (OSError, ValueError) as e:
                self.qmp_dead = True
                return {"error": {"class": "Disconnected", "desc": str(e)}}
        finally:
            self.qmp_lock.release()

    # --- console ----------------------------------------------------------
    def log(self, line):
        with self.lock:
            self.lines.append(line)
            self.kernel_seen = self.kernel_seen or bool(KERNEL_LINE.match(line))
            if self.logf and not self.logf.closed:
                self.logf.write(line + "\n")
                self.logf.flush()

    def console_loop(self):
        showing = False
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.log(line)
            if self.echo:
                if line.startswith("RIG-END"):
                    showing = False
                if showing or line.startswith("RIG: guest up"):
                    print(line, flush=True)
                if line.startswith("RIG-BEGIN"):
                    showing = True

    def run(self, timeout):
        """Boot, wait for RIG-DONE or timeout. Returns (guest_rcs, timed_out,
        start_error). QEMU is dead when it returns, at most timeout +
        DUMP_TIMEOUT + KILL_GRACE seconds after the start, whatever QMP does;
        the boot's directory is removed (unless KEEP=1)."""
        try:
            return self._run(timeout)
        finally:
            self.cleanup()
            if not self.logf.closed:
                self.logf.close()

    def _run(self, timeout):
        self.logf = open(self.log_path, "w")
        start = time.time()
        argv = self.argv()
        self.logf.write("# " + shlex.join(argv) + "\n")
        with LIVE_LOCK:
            if STOPPING:
                return {}, False, "runner interrupted"
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT)
            except OSError as e:
                return {}, False, f"QEMU failed to start: {e}"
            LIVE.add(self)
        con = threading.Thread(target=self.console_loop, daemon=True)
        con.start()

        def finish():
            self.kill()
            con.join(KILL_GRACE)
            self.elapsed = time.time() - start

        try:
            self.qmp_connect(start + 10)
        except (RuntimeError, OSError, ValueError) as e:
            finish()
            return {}, False, f"QEMU failed to start ({e}); exit code {self.proc.poll()}"
        # Bounded by the test's time, not only by QMP_TIMEOUT.
        status = self.qmp_cmd({"execute": "query-status"},
                              timeout=max(1.0, min(QMP_TIMEOUT, start + timeout - time.time())))
        self.log(f"[qmp] query-status -> {json.dumps(status)}")
        timed_out = False
        seen, fatal_at = 0, None
        while self.proc.poll() is None:
            # After an oops the guest's test is usually stuck (a task died
            # holding locks): give it FATAL_GRACE seconds to finish, then
            # stop, rather than wait for the whole timeout. The splat fails
            # the run either way.
            if fatal_at is None:
                lines = self.lines[seen:]
                seen += len(lines)
                if any(FATAL.search(l) for l in lines):
                    fatal_at = time.time()
            elif time.time() - fatal_at > FATAL_GRACE:
                self.log(f"[rig] kernel oops, no end of the test {FATAL_GRACE}s later: killing QEMU")
                self.log_cpu_state()
                break
            # An intermittent hang before the kernel prints anything (seen in
            # about 1 of 100 boots, cause unknown): report it as such.
            # Any printk line counts as output: with memblock=debug the ring
            # buffer wraps before the console starts and "Linux version" is
            # among the dropped messages.
            if time.time() - start > min(self.early_hang_s, timeout) and not self.kernel_seen:
                self.log(f"[rig] no kernel output {time.time() - start:.0f}s after start: early boot hang")
                self.log_cpu_state()
                finish()
                return {}, False, EARLY_HANG
            if time.time() - start > timeout:
                timed_out = True
                self.log(f"[rig] timeout after {timeout}s: killing QEMU")
                self.log_cpu_state()
                break
            time.sleep(0.1)
        finish()
        rcs = {}
        for line in self.lines:
            m = re.match(r"RIG-END (\S+) rc=(\d+)", line)
            if m:
                rcs[m.group(1)] = int(m.group(2))
        if not timed_out and self.proc.returncode != 0 and not rcs:
            return rcs, False, f"QEMU exited with {self.proc.returncode}"
        return rcs, timed_out, None

    def log_cpu_state(self):
        """Where the harts are (pc, privilege, satp) when a guest hangs: asked
        over QMP, given up after DUMP_TIMEOUT seconds (a wedged or stopped
        QEMU, or a guest request holding QMP, must not delay the kill)."""
        out = {}

        def ask():
            out["r"] = self.qmp_cmd({"execute": "human-monitor-command",
                                     "arguments": {"command-line": "info registers -a"}},
                                    timeout=DUMP_TIMEOUT)
        t = threading.Thread(target=ask, daemon=True)
        t.start()
        t.join(DUMP_TIMEOUT + 1)
        r = out.get("r")
        if r is None or "error" in r:
            why = "no answer" if r is None else r["error"].get("desc")
            self.log(f"[rig] info registers failed: {why}")
            return
        for line in str(r.get("return", "")).splitlines():
            if re.search(r"CPU#|\b(pc|mhartid|mstatus|satp|mepc|sepc|scause|mcause|stval|priv)\b", line):
                self.log(f"[rig] {line.strip()}")

    def splats(self):
        return [line for line in self.lines
                if SPLAT.search(line) and not line.startswith(("#", "[rig", "[qmp"))]

    def guest_done(self):
        return any(line.startswith("RIG-DONE") for line in self.lines)


RESULT = re.compile(r"^(ok|not ok) (\d+)\b ?(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)")


def guest_ktap(lines, name):
    """What guest test NAME printed between RIG-BEGIN and RIG-END: its plan
    (None when it printed none), its results as (ok, number, rest) and its
    diagnostic lines, in order, as ('diag', line) / ('result', (ok, n, rest)),
    the problems a parser would trip on (a second plan or version line,
    results out of sequence), and the reason of a '1..0 # SKIP' plan."""
    items, plan, problems, inside = [], None, [], False
    skip_reason = None
    for line in lines:
        if line.startswith(f"RIG-BEGIN {name}"):
            inside = True
            continue
        if line.startswith(f"RIG-END {name}"):
            break
        if not inside:
            continue
        m = RESULT.match(line)
        if m:
            n = sum(1 for k, _ in items if k == "result") + 1
            if int(m.group(2)) != n:
                problems.append(f"result {n} numbered {m.group(2)}")
            items.append(("result", (m.group(1) == "ok", n, m.group(3))))
        elif PLAN.match(line):
            if plan is not None:
                problems.append("a second plan line")
            else:
                plan = int(PLAN.match(line).group(1))
                # '1..0 # SKIP reason': the whole test was skipped.
                sm = re.match(r"^1\.\.0 # SKIP\b ?(.*)$", line)
                if sm:
                    skip_reason = sm.group(1).strip() or "skipped"
        elif line.startswith("KTAP version"):
            if any(k == "result" for k, _ in items) or plan is not None:
                problems.append("a KTAP version line after the plan")
        elif line.startswith("# "):
            items.append(("diag", line))
    return plan, items, problems, skip_reason


def ktap_text(s):
    """A description for a KTAP result line: one line, no '#' (it would
    start a directive)."""
    return re.sub(r"\s+", " ", s.replace("#", "")).strip()


# kunit_parser.py's TEST_RESULT_SKIP: what counts as a skipped result.
RESULT_SKIP = re.compile(r"^\s*(ok|not ok) ([0-9]+) (- )?(.*) # SKIP(.*)$")


def leaf_status(line):
    """How a KTAP parser counts a result line: skip, pass or fail."""
    if RESULT_SKIP.match(line):
        return "skip"
    return "pass" if line.lstrip().startswith("ok ") else "fail"


def tail(lines, n=40):
    return "\n".join("    | " + l for l in lines[-n:])


def profiles_modes(profiles, modes):
    """The comma-separated profile and paging-mode lists as lists; dies on
    a name that is not known."""
    profiles = [p for p in profiles.split(",") if p]
    modes = [m for m in modes.split(",") if m]
    for p in profiles:
        if p not in known_profiles():
            die(f"unknown profile '{p}' (known: {', '.join(known_profiles())})")
    for m in modes:
        if m not in MODES:
            die(f"unknown paging mode '{m}' (known: {', '.join(MODES)})")
    return profiles, modes


def build_plan(profiles, modes, tests_arg, matrix, jobs):
    """The runs (profile, mode, test) make check makes for the selection, in
    the order they start: the suite's tests filtered by their profiles and
    modes and, with matrix "ci", by the CI matrix rules (below). The LAVA
    jobs (scripts/lava.py) are made from the same list."""
    tests = load_suite()
    if tests_arg:
        wanted = [w for w in re.split(r"[ ,]+", tests_arg) if w]
        unknown = [w for w in wanted if w not in [t["name"] for t in tests]]
        if unknown:
            die(f"unknown test(s) {', '.join(unknown)} (known: {', '.join(t['name'] for t in tests)})")
        tests = [t for t in tests if t["name"] in wanted]
    plan = []
    for p in profiles:
        for m in modes:
            for i, t in enumerate(tests):
                if p not in t.get("profiles", [p]) or m not in t.get("modes", [m]):
                    continue
                if matrix == "ci":
                    # CI matrix: the first profile runs every test on its
                    # ci_modes (a list, or a number of modes taken in turn from
                    # test to test). The others run only the tests that name
                    # them (ci_profiles, else profiles), each on one of those
                    # modes, taken in turn, so that each mode still sees every
                    # profile. A test's ci_append (smaller counts) is used on
                    # every run; MATRIX=full runs the full sizes.
                    if p != profiles[0] and p not in t["own_profiles"]:
                        continue
                    allowed = [x for x in modes if x in t.get("modes", modes)]
                    cm = t.get("ci_modes")
                    if isinstance(cm, list):
                        # ci_modes = [...]: those modes (if asked for).
                        allowed = [x for x in allowed if x in cm] or allowed[:1]
                    elif cm:
                        # ci_modes = N: N of the modes, starting with a
                        # different one for each test.
                        allowed = (allowed[i % len(allowed):] + allowed[:i % len(allowed)])[:cm]
                        allowed.sort(key=modes.index)
                    if m not in allowed:
                        continue
                    if p != profiles[0] and m != allowed[i % len(allowed)]:
                        continue
                    if t.get("ci_append"):
                        t = dict(t, reduced=True)
                plan.append((p, m, t))
    if not plan:
        die(f"no test runs on profiles {','.join(profiles)} and modes {','.join(modes)} "
            f"(a test's 'profiles' and 'modes' in tests/suite.toml limit where it runs)")
    # Guests with more vCPUs first (each runs alone on a 2-CPU host), then
    # the longest first, so that the guests side by side finish together.
    plan.sort(key=lambda x: (-min(int(x[2].get("smp", 2)), jobs), -cost(x[0], x[2])))
    return plan


def cost(p, t):
    return t.get(f"cost_{p}", t.get("cost", 10))


class CpuSlots:
    """Host CPUs for guests side by side: a guest takes one per vCPU (at
    most all of them), and guests start in plan order (a ticket each), so
    that a 2-vCPU guest is not starved by 1-vCPU guests taking every CPU
    that frees up."""

    def __init__(self, cpus):
        self.cpus, self.free, self.turn = cpus, cpus, 0
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def take(self, ticket, vcpus):
        need = min(vcpus, self.cpus)
        with self.cond:
            self.cond.wait_for(lambda: self.turn == ticket and self.free >= need)
            self.free -= need
            self.turn += 1
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self.free += need
                self.cond.notify_all()


def cmd_run(args):
    profiles, modes = profiles_modes(args.profiles, args.modes)
    plan = build_plan(profiles, modes, args.tests, args.matrix, args.jobs)
    if args.list:
        # The runs, longest first, and their expected guest time.
        cpu_s = 0
        for p, m, t in plan:
            smp = int(t.get("smp", 2))
            cpu_s += cost(p, t) * min(smp, args.jobs)
            size = f"  ({t['ci_append']})" if t.get("reduced") else ""
            print(f"{p}/{m}/{t['name']}  cost {cost(p, t)}s  smp {smp}{size}")
        print(f"# {len(plan)} runs; cost {cpu_s}s of host CPU time, about {cpu_s / args.jobs:.0f}s "
              f"on {args.jobs} CPUs")
        return 0
    logdir = os.path.join(OUT, "logs", "tests")
    os.makedirs(logdir, exist_ok=True)
    results = {"pass": 0, "fail": 0, "skip": 0}
    summary = []
    t_start = time.time()

    def run_one(p, m, t):
        name = f"{p}/{m}/{t['name']}"
        log = os.path.join(logdir, f"{p}-{m}-{t['name']}.log")
        g = Guest(p, m, t, log)
        timeout = int(t.get(f"timeout_{p}", t.get("timeout", 120)) * args.timeout_scale)
        rcs, timed_out, err = g.run(timeout)
        retried = ""
        if err == EARLY_HANG:
            # Boot once more; the hang stays visible in the result line.
            os.replace(log, log + ".early-hang")
            retried = f" (retried after an {EARLY_HANG}: {os.path.relpath(log, TOP)}.early-hang)"
            g = Guest(p, m, t, log)
            rcs, timed_out, err = g.run(timeout)
        splats = g.splats()
        gplan, items, problems, skip_all = guest_ktap(g.lines, t["guest"])
        gres = [v for k, v in items if k == "result"]
        rc = rcs.get(t["guest"])
        reason, directive = None, ""
        verdict = "pass"
        if err:
            verdict, reason, directive = "fail", err, "ERROR"
        elif timed_out:
            verdict, reason, directive = "fail", f"no result after {timeout}s (guest hung?)", "TIMEOUT"
        elif t.get("expect_splat") and not splats:
            verdict, reason = "fail", "expected a kernel splat, the detector saw none"
        elif splats and not t.get("expect_splat"):
            verdict, reason = "fail", f"kernel splat in console: {splats[0].strip()}"
        elif rc is None:
            verdict, reason = "fail", "guest test did not finish (no RIG-END)"
        elif gplan is None:
            verdict, reason = "fail", f"guest test printed no KTAP plan (exit {rc})"
        elif len(gres) != gplan:
            verdict, reason = "fail", f"guest test ran {len(gres)} checks, its plan has {gplan} (exit {rc})"
        elif problems:
            verdict, reason = "fail", "guest KTAP: " + "; ".join(problems)
        elif gplan == 0 and not (skip_all and rc == 4):
            verdict, reason = "fail", f"guest test planned no checks and did not skip (exit {rc})"
        elif rc == 4:
            verdict = "skip"
            skips = [r[2].split("# SKIP", 1)[1].strip() for r in gres if "# SKIP" in r[2]]
            reason = skip_all or (skips[0] if skips else "guest test skipped")
        elif rc != 0:
            verdict, reason = "fail", f"guest test exited {rc}"
        elif any(not r[0] for r in gres):
            verdict, reason = "fail", "guest test reported a failed check but exited 0"
        elif not g.guest_done():
            verdict, reason = "fail", "guest did not reach RIG-DONE"
        mmu = ""
        for line in g.lines:
            mm = re.search(r"RIG: guest up: .*, mmu (\S+),", line)
            if mm:
                mmu = mm.group(1)
        if not err and mmu and mmu != m:
            verdict, reason, directive = "fail", f"guest ran {mmu}, wanted {m}", ""
        if verdict == "fail" and t.get("xfail"):
            # A known failure (suite.toml 'xfail' says why): KTAP XFAIL,
            # counted with the skipped, never with the passed.
            verdict, reason = "xfail", f"known failure: {t['xfail']} (this run: {reason})"
        dur = g.elapsed
        # The run as a KTAP subtest: the guest's results (renumbered, so the
        # document stays well-formed whatever the guest printed), then the
        # runner's own check of the boot as the last result; the plan is the
        # number of results printed. The guest's plan is checked above.
        out = ["    KTAP version 1", f"    # Subtest: {name}"]
        body = []
        for k, v in items:
            if k == "diag":
                body.append("    " + v)
            else:
                body.append(f"    {'ok' if v[0] else 'not ok'} {v[1]} {v[2]}".rstrip())
        if gplan is not None and gplan != len(gres):
            body.append(f"    # guest plan 1..{gplan}, {len(gres)} results")
        nhost = len(gres) + 1
        if verdict in ("pass", "skip"):
            what = "the expected splat seen" if t.get("expect_splat") else "no kernel splat"
            body.append(f"    ok {nhost} host: {what}, guest exited {rc} after {len(gres)} of {gplan} planned checks")
        else:
            why = reason if verdict == "fail" else reason.split(" (this run: ", 1)[-1].rstrip(")")
            body.append(f"    not ok {nhost} host: {ktap_text(why)}" + (f" # {directive}" if directive else ""))
        out += [f"    1..{nhost}"] + body
        leaves = {"pass": 0, "fail": 0, "skip": 0}
        for line in body:
            if RESULT.match(line.strip()):
                leaves[leaf_status(line)] += 1
        return {"name": name, "verdict": verdict, "reason": reason, "directive": directive,
                "dur": dur, "mmu": mmu, "retried": retried,
                "reduced": f" (ci size: {t['ci_append']})" if t.get("reduced") else "",
                "log": os.path.relpath(log, TOP), "out": out, "tail": tail(g.lines),
                "leaves": leaves, "profile": p, "mode": m, "test": t["name"]}

    # Boots run side by side (--jobs), the longest (suite.toml 'cost',
    # seconds) first so that the guests finish together; results print in
    # that order as they come.
    ktap = ["KTAP version 1", f"1..{len(plan)}"]
    for line in ktap:
        print(line)
    leaves = {"pass": 0, "fail": 0, "skip": 0}
    xfails = 0
    runs = []
    # --jobs counts host CPUs, not guests: a guest takes as many as it has
    # vCPUs (at most all of them). Under TCG each vCPU is a host thread; more
    # vCPU threads than host CPUs make a guest's spinlock holders lose the CPU
    # to their waiters, which can slow a guest down tenfold (measured:
    # hotplug-stress, 2 vCPUs, 23 s alone and over 300 s beside another
    # 2-vCPU guest on a 2-CPU host).
    slots = CpuSlots(args.jobs)

    def run_on_cpus(ticket, p, m, t):
        with slots.take(ticket, int(t.get("smp", 2))):
            return run_one(p, m, t)

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_on_cpus, i, p, m, t) for i, (p, m, t) in enumerate(plan)]
        for i, fut in enumerate(futures, 1):
            r = fut.result()
            lines = list(r["out"])
            log = f"(log: {r['log']})"
            if r["verdict"] == "pass":
                lines.append(f"ok {i} {r['name']} # {r['dur']:.1f}s mmu={r['mmu']}{r['reduced']}{r['retried']}")
            elif r["verdict"] == "skip":
                lines.append(f"ok {i} {r['name']} # SKIP {ktap_text(r['reason'])}")
            elif r["verdict"] == "xfail":
                lines.append(f"not ok {i} {r['name']} # XFAIL {ktap_text(r['reason'])} {log}")
            elif r["directive"]:
                lines.append(f"not ok {i} {r['name']} # {r['directive']} {ktap_text(r['reason'])} {log}")
            else:
                lines.append(f"not ok {i} {r['name']} # {ktap_text(r['reason'])} {log}")
            print("\n".join(lines), flush=True)
            ktap += lines
            if r["verdict"] not in ("pass", "skip"):
                # The console's end, for the reader; on stderr, so that the
                # KTAP stream holds only KTAP.
                print(f"    console tail of {r['name']}:\n{r['tail']}", file=sys.stderr, flush=True)
            results["skip" if r["verdict"] == "xfail" else r["verdict"]] += 1
            xfails += r["verdict"] == "xfail"
            for k in leaves:
                leaves[k] += r["leaves"][k]
            runs.append(r)
            summary.append({k: r[k] for k in ("profile", "mode", "test", "verdict", "reason", "mmu", "log")}
                           | {"seconds": round(r["dur"], 2), "checks": r["leaves"]})
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    ktap_path = os.path.join(OUT, "results.ktap")
    with open(ktap_path, "w") as f:
        f.write("\n".join(ktap) + "\n")
    write_junit(os.path.join(OUT, "results.xml"), runs, time.time() - t_start)
    rel = os.path.relpath(OUT, TOP)
    print(f"# {len(plan)} runs in {time.time() - t_start:.0f}s; consoles in {rel}/logs/tests/, "
          f"verdicts in {rel}/results.json (JUnit: {rel}/results.xml, KTAP: {rel}/results.ktap)")
    print(f"# checks: {sum(leaves.values())}: passed: {leaves['pass']}, failed: {leaves['fail']}, "
          f"skipped: {leaves['skip']}")
    bad = 0
    if args.kunit_check:
        bad = kunit_check(args.kunit_py, ktap_path, runs, leaves)
    print(f"{results['pass']} passed, {results['fail'] + bad} failed, {results['skip']} skipped")
    return 1 if results["fail"] or bad else 0


def write_junit(path, runs, seconds):
    """The runs as JUnit XML: one testcase per run (classname profile.mode),
    its KTAP subtest as system-out."""
    from xml.sax.saxutils import escape, quoteattr
    fails = sum(r["verdict"] in ("fail", "xfail") for r in runs)
    skips = sum(r["verdict"] == "skip" for r in runs)
    x = ['<?xml version="1.0" encoding="UTF-8"?>',
         f'<testsuites name="riscv-mhp" tests="{len(runs)}" failures="{fails}" skipped="{skips}" time="{seconds:.1f}">',
         f'  <testsuite name="riscv-mhp" tests="{len(runs)}" failures="{fails}" skipped="{skips}" time="{seconds:.1f}">']
    for r in runs:
        x.append(f'    <testcase classname={quoteattr(r["profile"] + "." + r["mode"])} '
                 f'name={quoteattr(r["test"])} time="{r["dur"]:.1f}">')
        if r["verdict"] == "skip":
            x.append(f'      <skipped message={quoteattr(r["reason"] or "")}/>')
        elif r["verdict"] in ("fail", "xfail"):
            kind = r["directive"] or ("XFAIL" if r["verdict"] == "xfail" else "FAIL")
            x.append(f'      <failure type="{kind}" message={quoteattr(r["reason"] or "")}>'
                     f'{escape(r["log"])}</failure>')
        x.append(f'      <system-out>{escape(chr(10).join(r["out"]))}</system-out>')
        x.append('    </testcase>')
    x += ['  </testsuite>', '</testsuites>']
    with open(path, "w") as f:
        f.write("\n".join(x) + "\n")


def kunit_check(kunit_py, ktap_path, runs, leaves):
    """Run the kernel's own KTAP parser (kunit.py parse) on the KTAP this run
    printed; 0 when it reads exactly what the runner reported (the counts of
    results, each run's status, no crash, no error), else 1. Its KernelCI
    JSON goes next to results.json."""
    if not os.path.exists(kunit_py):
        print(f"# kunit.py parse: not run, no {kunit_py} (make tree makes it)")
        return 1
    kdir = os.path.dirname(kunit_py)
    jpath = os.path.join(OUT, "results-kunit.json")
    spath = os.path.join(OUT, "logs", "kunit-parse.json")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    try:
        r = subprocess.run([sys.executable, kunit_py, "parse", f"--json={jpath}", ktap_path],
                           capture_output=True, text=True, timeout=300, cwd=kdir, env=env)
        # The status the parser gives each run (the subtests of its top-level
        # test), read with the same parser module.
        code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import kunit_parser as k\n"
                "t = k.parse_run_tests(open(sys.argv[2]))\n"
                "json.dump([[s.name, s.status.name] for s in t.subtests], open(sys.argv[3], 'w'))\n")
        r2 = subprocess.run([sys.executable, "-c", code, kdir, ktap_path, spath],
                            capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        print("# kunit.py parse: timed out")
        return 1
    with open(os.path.join(OUT, "logs", "kunit-parse.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)
    m = re.search(r"Testing complete\. (Ran \d+ tests:.*)", plain)
    if r.returncode not in (0, 1) or not m or r2.returncode != 0:
        print(f"# kunit.py parse: failed to run (exit {r.returncode}; log: {os.path.relpath(OUT, TOP)}/logs/kunit-parse.log)"
              f" {r2.stderr.strip()[-300:]}")
        return 1
    line = m.group(1).strip()
    print(f"# kunit.py parse: {line}")
    got = {k: 0 for k in ("passed", "failed", "crashed", "skipped", "errors")}
    for k, v in re.findall(r"(passed|failed|crashed|skipped|errors): (\d+)", line):
        got[k] = int(v)
    want = {"passed": leaves["pass"], "failed": leaves["fail"], "crashed": 0,
            "skipped": leaves["skip"], "errors": 0}
    bad = [f"{k} {got[k]} (runner: {want[k]})" for k in want if got[k] != want[k]]
    with open(spath) as f:
        statuses = json.load(f)
    expect = {"pass": "SUCCESS", "skip": "SKIPPED", "fail": "FAILURE", "xfail": "FAILURE"}
    if len(statuses) != len(runs):
        bad.append(f"{len(statuses)} runs parsed, the runner reported {len(runs)}")
    for (pname, pstat), r in zip(statuses, runs):
        if pname != r["name"] or pstat != expect[r["verdict"]]:
            bad.append(f"{r['name']}: parser {pname} {pstat}, runner {r['verdict']}")
    if bad:
        print("# kunit.py parse DISAGREES with the runner: " + "; ".join(bad[:10]))
        return 1
    print("# kunit.py parse agrees with the runner (checks and the status of every run)")
    return 0


def shell_test(args):
    t = {"name": "shell", "guest": "", "memory": args.mem, "smp": args.smp,
         "append": args.append, "qemu": args.qemu}
    if args.node:
        parse_size_mib(args.node)
        t["hotplug_node"] = args.node
    return t


def single_run(g, t):
    """Boot g for test t; None when it passed, else why it did not."""
    rcs, timed_out, err = g.run(t["timeout"])
    if err == EARLY_HANG:
        # As in 'run': boot once more, and say so.
        os.replace(g.log_path, g.log_path + ".early-hang")
        print(f"# {EARLY_HANG}: booting again (log: {os.path.relpath(g.log_path, TOP)}.early-hang)",
              flush=True)
        echo = g.echo
        g.__init__(g.profile, g.mode, g.test, g.log_path)
        g.echo = echo
        rcs, timed_out, err = g.run(t["timeout"])
    splats = g.splats()
    if err:
        return err
    if timed_out:
        return f"timeout after {t['timeout']}s"
    if splats:
        return f"kernel splat: {splats[0].strip()}"
    if rcs.get(t["guest"]) != 0:
        return f"{t['guest']} exited {rcs.get(t['guest'])}"
    return None


def cmd_demo(args):
    """Boot one guest running tests/guest/demo.sh and show what it prints."""
    t = {"name": "demo", "guest": "demo", "memory": "512M", "maxmem": "4G",
         "append": "memhp_default_state=online_movable pciehp.pciehp_poll_mode=1 workqueue.watchdog_thresh=120",
         "qemu": "-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1"
                 " -object memory-backend-ram,id=vmem0,size=2G",
         "timeout": 600}
    log = os.path.join(BUILD, "logs", "demo.log")
    g = Guest(args.profile, args.mode, t, log)
    g.echo = True
    print(f"# booting: {shlex.join(g.argv())}")
    why = single_run(g, t)
    if why:
        print(f"demo FAILED: {why} (log: {os.path.relpath(log, TOP)})")
        print(tail(g.lines))
        return 1
    print(f"# demo done in {g.elapsed:.1f}s; console log: {os.path.relpath(log, TOP)}")
    return 0


BENCH_ROWS = [  # key, description, target (issue 3)
    ("pagetables_boot_kib", "PageTables after boot (kB, /proc/meminfo)", ""),
    ("prealloc_kib", "top-level tables pre-allocated at boot, not in PageTables (KiB)", ""),
    ("prealloc_tables", "top-level tables pre-allocated at boot (count)", ""),
    ("pt_top_boot", "tables right below the PGD mapping boot memory (count)", ""),
    ("pt_top_added_1g", "tables right below the PGD the 1 GiB hot-add allocated (count)", ""),
    ("add_online_ms_per_gib_1g", "hot-add+online ms/GiB (1 GiB)", ""),
    ("add_online_ms_per_gib_2g", "hot-add+online ms/GiB (2 GiB)", ""),
    ("add_online_ms_per_gib_4g", "hot-add+online ms/GiB (4 GiB)", ""),
    ("offline_remove_ms_per_gib_1g", "offline+remove ms/GiB (1 GiB)", ""),
    ("offline_remove_ms_per_gib_2g", "offline+remove ms/GiB (2 GiB)", ""),
    ("offline_remove_ms_per_gib_4g", "offline+remove ms/GiB (4 GiB)", ""),
    ("boot_ram_kib_per_gib_momN", "boot RAM per hot-added GiB, memmap_on_memory=0 (KiB)", "<= 16486"),
    ("boot_ram_kib_per_gib_momY", "boot RAM per hot-added GiB, memmap_on_memory=1 (KiB)", "<= 64"),
    ("pt_pages_per_gib", "kernel page-table pages per hot-added GiB", ""),
    ("pt_pages_left", "kernel page-table pages left after removal", "0"),
    ("memfree_kib_drift", "MemFree not returned after removal (KiB)", ""),
    ("linear_pct_large", "hot-added linear map in >= 2 MiB leaves (%)", "100"),
    ("altmap_boot_ram_kib_per_gib_ram", "boot RAM per GiB of fsdax pmem, memmap in RAM (KiB)", ""),
    ("altmap_boot_ram_kib_per_gib_pmem", "boot RAM per GiB of fsdax pmem, memmap in device (KiB)", ""),
    ("kmem_boot_ram_kib_per_gib_momN", "boot RAM per GiB of dax/kmem, memmap_on_memory=0 (KiB)", ""),
    ("kmem_boot_ram_kib_per_gib_momY", "boot RAM per GiB of dax/kmem, memmap_on_memory=1 (KiB)", ""),
    ("hvo_saved_kib_per_2m_page", "vmemmap saved per 2 MiB hugetlb page with HVO (KiB)", "28"),
    ("vmem_grow_ms_per_gib", "virtio-mem grow 0->2 GiB, ms/GiB (guest-observed)", ""),
    ("vmem_shrink_ms_per_gib", "virtio-mem shrink 2 GiB->0, ms/GiB (guest-observed)", ""),
    ("vmem_max_mib_momY", "virtio-mem largest size plugged into 512 MiB, memmap_on_memory=1 (MiB)", ""),
    ("vmem_max_mib_momN", "virtio-mem largest size plugged into 512 MiB, memmap_on_memory=0 (MiB)", ""),
    ("vmem_momN_end", "how the memmap_on_memory=0 growth ended", ""),
    ("mn_early_node0", "movable_node: boot memblock reservations on node 0 (count)", ""),
    ("mn_early_node1", "movable_node: boot memblock reservations on hotpluggable node 1", "0"),
    ("mn_nomovable_early_node1", "without movable_node: boot memblock reservations on node 1", ""),
    ("mn_remove_ms_per_gib", "offline+remove of boot node 1 under load, ms/GiB", ""),
    ("mn_memtotal_before_kib", "MemTotal before removing node 1 (kB)", ""),
    ("mn_memtotal_after_kib", "MemTotal after removing node 1 (kB)", ""),
    ("mn_memtotal_readded_kib", "MemTotal after adding node 1 back with probe (kB)", ""),
]

# Device-memory and boot-node figures: guest tests of the suite booted once
# more, one cycle each, their "BENCH key value" lines collected.
DEVMEM_BENCH = [
    {"name": "altmap", "guest": "altmap", "memory": "2G", "pmem": "1G", "append": "rig.cycles=1"},
    {"name": "kmem", "guest": "kmem", "memory": "2G", "pmem": "1G", "append": "rig.cycles=1"},
    {"name": "kmem-mom", "guest": "kmem", "memory": "2G", "pmem": "1G",
     "append": "rig.cycles=1 memory_hotplug.memmap_on_memory=1"},
    {"name": "hvo", "guest": "hvo", "memory": "1G", "append": "hugetlb_free_vmemmap=on"},
    # Boot memory that can leave (the suite's movable-node tests).
    {"name": "movable-node", "guest": "movable-node", "memory": "2G", "hotplug_node": "1G",
     "append": "movable_node memblock=debug"},
    {"name": "movable-node-refuse", "guest": "movable-node-refuse", "memory": "2G",
     "hotplug_node": "1G", "append": "memblock=debug"},
]

# virtio-mem boots of make bench: (name, test, how to read its result).
VMEM_BENCH = [
    ("latency", {"name": "bench-virtio-mem", "guest": "bench-virtio-mem", "memory": "512M",
                 "maxmem": "4G", "append": "memhp_default_state=online_movable workqueue.watchdog_thresh=120",
                 "qemu": "-object memory-backend-ram,id=vmem0,size=2G"
                         " -device virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0",
                 "timeout": 900}),
]
for _mom in ("Y", "N"):
    VMEM_BENCH.append((f"scale-mom{_mom}", {
        "name": "bench-virtio-mem-scale", "guest": "virtio-mem-scale", "memory": "512M",
        "maxmem": "33G",
        "append": "memhp_default_state=online_movable rig.scale_expect=report workqueue.watchdog_thresh=120"
                  + (" memory_hotplug.memmap_on_memory=1 virtio_mem.bbm_memmap_on_memory=1" if _mom == "Y" else ""),
        "qemu": "-object memory-backend-ram,id=vmem0,size=32G,reserve=off -device"
                " virtio-mem-pci,id=vm0,memdev=vmem0,block-size=128M,requested-size=0",
        "timeout": 1200}))


def bench_values(g):
    """The "BENCH key value" lines of a boot: (key, int, or the text)."""
    for line in g.lines:
        mm = re.match(r"BENCH (\S+) (\S+)", line)
        if mm:
            try:
                yield mm.group(1), int(mm.group(2))
            except ValueError:
                yield mm.group(1), mm.group(2)


def bench_boot(profile, mode, t, name):
    """One make-bench boot: (guest, why it failed or None, log path)."""
    log = os.path.join(BUILD, "logs", f"bench-{mode}-{name}.log")
    g = Guest(profile, mode, t, log)
    return g, single_run(g, t), os.path.relpath(log, TOP)


def cmd_bench(args):
    """Boot the bench guest per paging mode, memmap_on_memory off and on."""
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            die(f"unknown paging mode '{m}' (known: {', '.join(MODES)})")
    results = {}
    failed = 0
    for m in modes:
        results[m] = {}
        for mom in ("0", "1"):
            t = {"name": "bench", "guest": "bench", "memory": "6G", "append":
                 f"mem=1G memory_hotplug.memmap_on_memory={mom}", "timeout": 900}
            g, why, log = bench_boot(args.profile, m, t, f"mom{mom}")
            if why:
                print(f"bench {m} memmap_on_memory={mom} FAILED: {why} (log: {log})")
                print(tail(g.lines))
                failed += 1
                continue
            for key, val in bench_values(g):
                # Latencies and page-table figures from the memmap_on_memory=0 boot.
                if mom == "1" and not key.startswith("boot_ram"):
                    continue
                results[m][key] = val
            print(f"# {m} memmap_on_memory={mom}: {g.elapsed:.0f}s", flush=True)
        for t in DEVMEM_BENCH:
            t = dict(t, timeout=600)
            g, why, log = bench_boot(args.profile, m, t, t["name"])
            if why:
                print(f"bench {m} {t['name']} FAILED: {why} (log: {log})", flush=True)
                failed += 1
                continue
            results[m].update((k, v) for k, v in bench_values(g) if isinstance(v, int))
            print(f"# {m} {t['name']}: {g.elapsed:.0f}s", flush=True)
        for what, t in VMEM_BENCH:
            g, why, log = bench_boot(args.profile, m, t, f"vmem-{what}")
            if why and what == "scale-momN":
                # Expected: without memmap_on_memory the guest runs out of
                # boot RAM for struct pages and dies; the last step it
                # completed is the figure.
                steps = [int(x.group(1)) for x in (re.match(r"SCALE requested (\d+) MiB", l)
                                                   for l in g.lines) if x]
                results[m]["vmem_max_mib_momN"] = max(steps) if steps else 0
                results[m]["vmem_momN_end"] = why[:60]
                print(f"# {m} virtio-mem {what}: {why} (expected; log: {log})")
                continue
            if why:
                print(f"bench {m} virtio-mem {what} FAILED: {why} (log: {log})")
                print(tail(g.lines))
                failed += 1
                continue
            results[m].update((k, v) for k, v in bench_values(g) if isinstance(v, int))
            for line in g.lines:
                mm = re.match(r"SCALE-RESULT .*plugged_mib=(\d+)", line)
                if mm:
                    results[m][f"vmem_max_mib_{what[-4:]}"] = int(mm.group(1))
            print(f"# {m} virtio-mem {what}: {g.elapsed:.0f}s", flush=True)
    out = os.path.join(BUILD, "bench.json")
    with open(out, "w") as f:
        json.dump({"profile": args.profile, "results": results, "failed_boots": failed,
                   "targets": {k: t for k, _, t in BENCH_ROWS if t}}, f, indent=1)
    w = max(len(d) for _, d, _ in BENCH_ROWS)
    print(f"{'metric':<{w}}  " + "  ".join(f"{m:>8}" for m in modes) + "  target")
    for key, desc, target in BENCH_ROWS:
        print(f"{desc:<{w}}  " + "  ".join(f"{str(results[m].get(key, '-')):>8}" for m in modes)
              + f"  {target}")
    print(f"# JSON: {os.path.relpath(out, TOP)}")
    if failed:
        print(f"# {failed} bench boot(s) failed: their figures are missing ('-')")
    return 1 if failed else 0


# The dax/kmem latency scenario (tests/guest/bench-kmem.sh): a 3 GiB guest
# whose devicetree has 1 GiB of RAM and a 2 GiB pmem-region; 15 blocks added,
# onlined movable, offlined and removed per cycle.
KMEM_STEPS = ("add", "online", "offline", "remove")
# The figures of issue 14, measured on another machine with the same QEMU,
# DTB, initramfs and scenario (medians of cycles 2-10 over 4 boots, ms): this
# series' v1 kernel ('default' profile) and mainline's riscv implementation
# (Linux 6.12 LTS, same trims, the riscv defconfig's debug options). This
# rig builds only 6.1, so they are printed for reference: a ratio to them
# means nothing unless both ran on the same machine.
KMEM_ISSUE_V1 = {
    ("sv39", "0"): (6.6, 39.5, 55.6, 2.8), ("sv39", "1"): (6.3, 39.1, 53.1, 3.6),
    ("sv48", "0"): (6.7, 40.4, 58.4, 2.6), ("sv48", "1"): (6.6, 39.7, 54.4, 3.8),
    ("sv57", "0"): (6.8, 37.9, 54.5, 2.6), ("sv57", "1"): (6.9, 40.2, 55.3, 3.9),
}
KMEM_MAINLINE = {
    ("sv39", "0"): (6.8, 28.4, 54.3, 2.7), ("sv39", "1"): (8.2, 31.8, 54.4, 4.2),
    ("sv48", "0"): (6.8, 28.3, 52.9, 2.7), ("sv48", "1"): (8.8, 31.1, 54.4, 4.4),
    ("sv57", "0"): (7.2, 28.9, 54.4, 2.7), ("sv57", "1"): (8.9, 32.3, 55.3, 4.5),
}


def kmem_test(mom, cycles, breakdown=False):
    return {"name": "bench-kmem", "guest": "bench-kmem", "memory": "3G", "pmem": "2G",
            "append": f"rig.cycles={cycles} memory_hotplug.memmap_on_memory={mom}"
                      + (" rig.breakdown=1" if breakdown else ""),
            "timeout": 900}


def median(vals):
    v = sorted(vals)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def kmem_lines(g, first):
    """The KMEMLAT and KMEMFN lines of a boot from cycle `first` on."""
    lat, fn = [], []
    for line in g.lines:
        m = re.match(r"KMEMLAT (\d+) (\w+) (\d+)$", line.strip())
        if m and int(m.group(1)) >= first:
            lat.append((int(m.group(1)), m.group(2), int(m.group(3))))
        m = re.match(r"KMEMFN (\d+) (\w+) (\S+) (\d+) ([\d.]+)$", line.strip())
        if m and int(m.group(1)) >= first:
            fn.append((int(m.group(1)), m.group(2), m.group(3), int(m.group(4)), float(m.group(5))))
    return lat, fn


def cmd_bench_kmem(args):
    """The dax/kmem latency table: per profile, paging mode and
    memmap_on_memory, the median of cycles 2..N of every boot, pooled over
    args.boots boots, next to mainline's figures."""
    profiles, modes = profiles_modes(args.profiles, args.modes)
    if args.cycles < 2 or args.boots < 1:
        die("bench-kmem needs --cycles >= 2 (cycle 1 is left out) and --boots >= 1")
    raw, leaves, failed = {}, {}, 0
    for p in profiles:
        for m in modes:
            for mom in ("0", "1"):
                cell = raw.setdefault(f"{p}/{m}/mom{mom}", {s: [] for s in KMEM_STEPS})
                for b in range(1, args.boots + 1):
                    g, why, log = bench_boot(p, m, kmem_test(mom, args.cycles), f"kmem-{p}-mom{mom}-{b}")
                    if why:
                        print(f"bench-kmem {p} {m} memmap_on_memory={mom} boot {b} FAILED: {why} (log: {log})",
                              flush=True)
                        print(tail(g.lines))
                        failed += 1
                        continue
                    lat, _ = kmem_lines(g, 2)
                    for _, step, us in lat:
                        cell[step].append(us)
                    lv = {k: v for k, v in bench_values(g) if k.startswith("kmem_linear_")}
                    if lv:
                        leaves.setdefault(f"{p}/{m}/mom{mom}", lv)
                    print(f"# {p} {m} memmap_on_memory={mom} boot {b}: {g.elapsed:.0f}s (log: {log})", flush=True)
    out = os.path.join(BUILD, "bench-kmem.json")
    table = {}
    for key, cell in raw.items():
        table[key] = {s: (round(median(v) / 1000, 2) if v else None) for s, v in cell.items()}
    with open(out, "w") as f:
        json.dump({"unit": "ms", "cycles": args.cycles, "boots": args.boots, "first_cycle": 2,
                   "medians": table, "raw_us": raw, "failed_boots": failed,
                   "linear_map_leaves": leaves,
                   "issue14_v1_ms": {f"{m}/mom{mom}": dict(zip(KMEM_STEPS, v))
                                     for (m, mom), v in KMEM_ISSUE_V1.items()},
                   "issue14_mainline_ms": {f"{m}/mom{mom}": dict(zip(KMEM_STEPS, v))
                                           for (m, mom), v in KMEM_MAINLINE.items()}}, f, indent=1)
    print(f"dax/kmem, 15 blocks (1920 MiB): ms, median of cycles 2-{args.cycles} over {args.boots} boot(s)")
    print(f"{'profile':<9}{'mode':<6}{'mom':<5}" + "".join(f"{s:>10}" for s in KMEM_STEPS))
    for key, med in table.items():
        p, m, mom = key.split("/")
        print(f"{p:<9}{m:<6}{mom[3:]:<5}" + "".join(
            f"{'-':>10}" if med[s] is None else f"{med[s]:>10.2f}" for s in KMEM_STEPS))
    if leaves:
        print("linear map of the 15 blocks after the first add (leaves: 1 GiB, 2 MiB, 4 KiB):")
        for key, lv in leaves.items():
            p, m, mom = key.split("/")
            print(f"{p:<9}{m:<6}{mom[3:]:<5}" + "".join(
                f"{lv.get('kmem_linear_' + k, '-'):>10}" for k in ("pud", "pmd", "pte")))
    print("issue 14's figures (another machine; v1 kernel / mainline 6.12), ms:")
    for (m, mom), v1 in KMEM_ISSUE_V1.items():
        if m in modes:
            ml = KMEM_MAINLINE[(m, mom)]
            print(f"{'issue':<9}{m:<6}{mom:<5}" + "".join(f"{f'{a}/{b}':>10}" for a, b in zip(v1, ml)))
    print(f"# JSON: {os.path.relpath(out, TOP)}")
    if failed:
        print(f"# {failed} boot(s) failed: their cycles are missing")
    return 1 if failed else 0


def cmd_bench_breakdown(args):
    """Where the time of each dax/kmem step goes: the ftrace function
    profiler (a kernel with FUNCTION_PROFILER: the 'trace' profile) over
    cycles 2..N of one boot per paging mode and memmap_on_memory; per step,
    the mean per cycle of each function's time (callees included)."""
    _, modes = profiles_modes(args.profile, args.modes)
    result, failed = {}, 0
    for m in modes:
        for mom in ("0", "1"):
            g, why, log = bench_boot(args.profile, m, kmem_test(mom, args.cycles, True), f"breakdown-mom{mom}")
            if why:
                print(f"breakdown {m} memmap_on_memory={mom} FAILED: {why} (log: {log})", flush=True)
                print(tail(g.lines))
                failed += 1
                continue
            if not any(l.startswith("KMEMFN ") for l in g.lines):
                print(f"breakdown {m} memmap_on_memory={mom}: no profiler figures; does profile"
                      f" '{args.profile}' have FUNCTION_PROFILER? (log: {log})")
                failed += 1
                continue
            lat, fn = kmem_lines(g, 2)
            ncyc = len({c for c, _, _ in lat}) or 1
            cell = result.setdefault(f"{m}/mom{mom}", {})
            for step in KMEM_STEPS:
                total = sum(us for _, s, us in lat if s == step) / ncyc
                funcs = {}
                for _, s, f, hits, us in fn:
                    if s == step:
                        h, u = funcs.get(f, (0, 0.0))
                        funcs[f] = (h + hits, u + us)
                cell[step] = {"step_us": round(total, 1),
                              "functions": {f: {"calls": round(h / ncyc, 1), "us": round(u / ncyc, 1)}
                                            for f, (h, u) in sorted(funcs.items(), key=lambda x: -x[1][1])}}
            print(f"# breakdown {m} memmap_on_memory={mom}: {g.elapsed:.0f}s (log: {log})", flush=True)
    out = os.path.join(BUILD, "bench-breakdown.json")
    with open(out, "w") as f:
        json.dump({"profile": args.profile, "unit": "us per cycle", "cycles": args.cycles,
                   "first_cycle": 2, "breakdown": result, "failed_boots": failed}, f, indent=1)
    for key, cell in result.items():
        for step, d in cell.items():
            print(f"{key} {step}: {d['step_us'] / 1000:.2f} ms per cycle (profiler on)")
            for fname, v in list(d["functions"].items())[:args.top]:
                share = 100 * v["us"] / d["step_us"] if d["step_us"] else 0
                print(f"    {fname:<32} {v['us'] / 1000:>8.2f} ms {share:>5.1f}%  {v['calls']:>7} calls")
    print(f"# JSON: {os.path.relpath(out, TOP)}")
    return 1 if failed else 0


def cmd_shell(args):
    if args.mode not in MODES:
        die(f"unknown paging mode '{args.mode}' (known: {', '.join(MODES)})")
    if args.profile not in known_profiles():
        die(f"unknown profile '{args.profile}' (known: {', '.join(known_profiles())})")
    g = Guest(args.profile, args.mode, shell_test(args), None)
    argv = g.argv(interactive=True)
    if args.print_only:
        if args.node:
            # The command line names the derived DTB: keep it.
            DIRS.discard(g.dir)
            print(f"# the DTB stays in {g.dir}", file=sys.stderr)
        print(shlex.join(argv))
        return 0
    print("# " + shlex.join(argv))
    print("# Ctrl-A X quits QEMU")
    rc = subprocess.call(argv)
    g.cleanup()
    return rc


def add_selection_args(p, matrix):
    """The options that pick the runs (build_plan) and scale their timeouts:
    make check's PROFILES, MODES, TESTS and MATRIX (scripts/lava.py takes
    the same)."""
    p.add_argument("--profiles", default="default")
    p.add_argument("--modes", default="sv39,sv48,sv57")
    p.add_argument("--tests", default="")
    p.add_argument("--timeout-scale", default=1.0, type=float)
    p.add_argument("--matrix", default=matrix, choices=["full", "ci"],
                   help="full: every profile on every mode; ci: make check's smaller matrix (tests/suite.toml)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    add_selection_args(r, "full")
    r.add_argument("--jobs", default=2, type=int,
                   help="host CPUs the guests use side by side (a guest takes one per vCPU)")
    r.add_argument("--kunit-py", default=os.path.join(BUILD, "linux", "tools", "testing", "kunit", "kunit.py"),
                   help="the KTAP parser the output is checked with")
    r.add_argument("--no-kunit-check", dest="kunit_check", action="store_false",
                   help="do not check the output with kunit.py parse")
    r.add_argument("--suite", default="", help="another suite file than tests/suite.toml")
    r.add_argument("--list", action="store_true", help="print the runs and their expected cost, run nothing")
    b = sub.add_parser("bench")
    b.add_argument("--profile", default="default")
    b.add_argument("--modes", default="sv39,sv48,sv57")
    k = sub.add_parser("bench-kmem", help="the dax/kmem latency table (make bench BENCH=kmem)")
    k.add_argument("--profiles", default="default,release")
    k.add_argument("--modes", default="sv39,sv48,sv57")
    k.add_argument("--cycles", default=10, type=int)
    k.add_argument("--boots", default=4, type=int)
    k = sub.add_parser("bench-breakdown", help="per-function times of the dax/kmem steps (make bench BENCH=breakdown)")
    k.add_argument("--profile", default="trace")
    k.add_argument("--modes", default="sv39,sv48,sv57")
    k.add_argument("--cycles", default=10, type=int)
    k.add_argument("--top", default=12, type=int)
    d = sub.add_parser("demo")
    d.add_argument("--profile", default="default")
    d.add_argument("--mode", default="sv57")
    for name in ("shell", "cmdline"):
        s = sub.add_parser(name)
        s.add_argument("--profile", default="default")
        s.add_argument("--mode", default="sv57")
        s.add_argument("--mem", default="2G")
        s.add_argument("--smp", default=2, type=int)
        s.add_argument("--append", default="")
        s.add_argument("--qemu", default="")
        s.add_argument("--node", default="", help="the last SIZE of RAM as a hotpluggable NUMA node 1")
    args = ap.parse_args()
    if args.cmd == "run":
        if args.suite:
            global SUITE
            SUITE = os.path.abspath(args.suite)
        return cmd_run(args)
    if args.cmd == "demo":
        return cmd_demo(args)
    if args.cmd == "bench":
        return cmd_bench(args)
    if args.cmd == "bench-kmem":
        return cmd_bench_kmem(args)
    if args.cmd == "bench-breakdown":
        return cmd_bench_breakdown(args)
    args.print_only = args.cmd == "cmdline"
    return cmd_shell(args)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    sys.exit(main())
