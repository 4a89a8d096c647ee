#!/usr/bin/env python3
"""Host-side fault tests of scripts/runner.py: no QEMU, no kernel.

tests/host/fake-qemu stands in for QEMU (RIG_QEMU) and plays, per guest test
name, a good guest, a hung one, a stopped QEMU, a QEMU that rejects its
options, a kernel splat, a guest that ran short of its plan, a skipped test
and two wedged QMPs (tests/host/suite.toml). This runs the runner on that
suite in a throw-away BUILD (build/host-faults/, removed at the end unless
KEEP=1) and checks each verdict, how long each run took, the counts line,
results.json/.ktap/.xml, that the kernel's KTAP parser (kunit.py parse, when
build/linux has it) reads what the runner reported, and that nothing is left
behind: no fake QEMU process, no per-boot directory in RIG_TMP or /tmp (also
with a RIG_TMP too long for socket paths). Then the runner is killed (SIGTERM,
SIGINT) while guests run, and must exit at once, leaving nothing either; and
SIGTERMed at ten moments of a stream of quick boots (the "storm").

Output: KTAP v1, one result per check, then the elapsed time; exit 0 only
when every check passed. V=1 prints all of the runner's KTAP; KEEP=1 keeps
build/host-faults/; RIG_RUNNER_PY=path tests another copy of runner.py.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(TOP, "tests", "host", "fake-qemu")
SUITE = os.path.join(TOP, "tests", "host", "suite.toml")
# How soon the runner must exit after a signal. Its handler kills the QEMUs
# and waits up to KILL_GRACE (10 s) for them; on an idle host it exits in a
# fraction of a second, but make check runs these checks beside two guests
# that keep every CPU busy, and there a 5 s bound failed once (6.4 s).
EXIT_BOUND = 12
# RIG_RUNNER_PY: another runner.py to test (e.g. a copy with a fix in it).
RUNNER = os.environ.get("RIG_RUNNER_PY", os.path.join(TOP, "scripts", "runner.py"))
WORK = os.path.join(TOP, "build", "host-faults")
KUNIT_PY = os.path.join(TOP, "build", "linux", "tools", "testing", "kunit", "kunit.py")
KEEP = os.environ.get("KEEP", "") not in ("", "0")
VERBOSE = os.environ.get("V", "") not in ("", "0")
# Every fake this run starts carries this in its environment: another run of
# this harness on the machine (a fresh-check root shares /proc) is not ours.
TOKEN = f"{os.getpid()}-{time.time_ns()}"
RUNNER_BOUND = 100  # seconds a whole runner invocation may take here

# scenario: (expected top-level result, a regex the text after its " # " must
# match, what that means), per tests/host/suite.toml.
EXPECT = {
    "good": ("ok", r"\d+\.\d+s mmu=sv39$", "passes"),
    "hang": ("not ok", r"TIMEOUT ", "fails, TIMEOUT"),
    "stop": ("not ok", r"TIMEOUT ", "fails, TIMEOUT"),
    "badopt": ("not ok", r"ERROR QEMU failed to start", "fails, ERROR"),
    "splat": ("not ok", r"kernel splat in console: .*WARNING: CPU: 0 PID: 1 at mm/foo\.c:1",
              "fails on the kernel splat"),
    "short": ("not ok", r"guest test ran 3 checks, its plan has 5", "fails, results short of the plan"),
    "skipall": ("ok", r"SKIP no driver$", "is skipped"),
    "qmpwedge": ("not ok", r"TIMEOUT ", "fails, TIMEOUT"),
    "statuswedge": ("not ok", r"TIMEOUT ", "fails, TIMEOUT"),
}
COUNTS = "1 passed, 7 failed, 1 skipped"
# Each run may take at most its timeout + SLACK seconds; these (seconds
# beyond the timeout) are tighter where the runner promises more. Guest.run:
# QEMU dead within timeout + DUMP_TIMEOUT (5) + KILL_GRACE (10) "whatever QMP
# does"; a fake dies at once on SIGKILL.
SLACK = 20
TIGHT = {
    "good": 0,          # done long before its timeout
    "stop": 15,         # the register dump times out (5 s), then the kill
    "qmpwedge": 15,     # the register dump gets no QMP reply (5 s), then the kill
    "statuswedge": 15,  # query-status never answered
}
QUICK = {"badopt": 5}   # seconds, whatever the timeout: QEMU exits at once

results = []  # (ok, description, [diagnostic lines])


def check(ok, desc, diag=()):
    results.append((bool(ok), desc, list(diag)))
    return ok


def fake_pids():
    """Processes running tests/host/fake-qemu (any state, stopped included)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and FAKE.encode() in argv[:2] and ours(d):
            pids.append(int(d))
    return pids


def ours(pid):
    """The process was started by this run (RIG_FAKE_TOKEN in its environment)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"RIG_FAKE_TOKEN={TOKEN}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:300]
    except OSError:
        return "?"


def reap_fakes(what):
    """Check that no fake QEMU runs; kill (by pid) any that does, so that a
    runner bug does not leave them behind this script either."""
    pids = fake_pids()
    check(not pids, f"{what}: no fake QEMU process left",
          [f"pid {p} state {proc_state(p)}: {cmdline(p)}" for p in pids])
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def tmp_rig_dirs():
    return {os.path.join("/tmp", d) for d in os.listdir("/tmp") if d.startswith("rig-")}


def leftovers(rig_tmp):
    """Directories left in RIG_TMP (and in any directory below it, where the
    runner may have made a long RIG_TMP)."""
    left = []
    if os.path.isdir(rig_tmp):
        for root, dirs, files in os.walk(rig_tmp):
            left += [os.path.join(root, d) for d in dirs if d.startswith("rig-")]
            left += [os.path.join(root, f) for f in files]
    return left


def env_for(build, rig_tmp):
    env = dict(os.environ, BUILD=build, RIG_TMP=rig_tmp, RIG_QEMU=FAKE, RIG_FAKE_TOKEN=TOKEN,
               OPENSBI_FW=os.path.join(build, "fw_dynamic.bin"),
               RIG_FAKE_QEMU_MAX_S="120", PYTHONDONTWRITEBYTECODE="1")
    for k in ("KEEP", "RIG_APPEND", "RIG_QMP_TIMEOUT"):
        env.pop(k, None)
    return env


def make_build(build):
    os.makedirs(os.path.join(build, "kernel-default", "arch", "riscv", "boot"), exist_ok=True)
    for f in ("kernel-default/arch/riscv/boot/Image", "initramfs-default.cpio.gz", "fw_dynamic.bin"):
        with open(os.path.join(build, f), "wb") as fh:
            fh.write(b"not a real " + f.encode() + b"\n")


def runner_argv(tests=None, kunit=True):
    argv = [sys.executable, RUNNER, "run", "--suite", SUITE, "--profiles", "default",
            "--modes", "sv39", "--jobs", "2"]
    if tests:
        argv += ["--tests", tests]
    if kunit:
        argv += ["--kunit-py", KUNIT_PY]
    else:
        argv += ["--no-kunit-check"]
    return argv


def run_runner(argv, env, bound=RUNNER_BOUND):
    """Run the runner to its end (killed by pid after bound seconds):
    (exit code or None when it had to be killed, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=TOP, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    so, se, rc = wait_or_kill(p, bound)
    return rc, so, se, time.monotonic() - t0


def wait_or_kill(p, bound):
    """(stdout, stderr, exit status) of p, or its output and None when it
    did not exit within bound seconds and was killed."""
    try:
        so, se = p.communicate(timeout=bound)
        return so, se, p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
        return so, se, None


def top_results(stdout):
    """The runner's top-level KTAP result lines: name -> (ok/not ok, text
    after ' # ' or None, the line)."""
    res = {}
    for line in stdout.splitlines():
        m = re.match(r"^(ok|not ok) \d+ default/sv39/(\S+)(?: # (.*))?$", line)
        if m:
            res[m.group(2)] = (m.group(1), m.group(3), line)
    return res


def load_suite():
    """tests/host/suite.toml's tests: name -> timeout."""
    with open(SUITE, "rb") as f:
        suite = tomllib.load(f)
    default = suite.get("defaults", {}).get("timeout", 120)
    return {t["name"]: t.get("timeout", default) for t in suite.get("test", [])}


TIMEOUTS = load_suite()


def suite_run(kunit):
    check(sorted(TIMEOUTS) == sorted(EXPECT), "suite: tests/host/suite.toml has the scenarios checked here",
          [f"suite: {sorted(TIMEOUTS)}", f"checked: {sorted(EXPECT)}"])
    build = os.path.join(WORK, "suite")
    rig_tmp = os.path.join(build, "tmp")
    make_build(build)
    tmp_before = tmp_rig_dirs()
    rc, so, se, secs = run_runner(runner_argv(kunit=kunit), env_for(build, rig_tmp))
    print(f"# runner on tests/host/suite.toml: exit {rc} after {secs:.1f}s", flush=True)
    nchecks = len(results)
    errlines = se.splitlines()
    check(rc is not None, f"suite: the runner ends (within {RUNNER_BOUND}s)",
          [f"stderr: {l}" for l in errlines[-20:]])
    check(rc == 1, "suite: the runner exits 1 (some runs fail)", [f"exit {rc}"])
    lines = so.splitlines()
    check(lines[:2] == ["KTAP version 1", f"1..{len(EXPECT)}"],
          f"suite: KTAP version line and plan 1..{len(EXPECT)}", [repr(l) for l in lines[:2]])
    top = top_results(so)
    for name, (want, pat, label) in EXPECT.items():
        got = top.get(name)
        ok = got is not None and got[0] == want and got[1] is not None and re.match(pat, got[1])
        check(ok, f"suite: {name} {label}",
              [f"want: {want} N default/sv39/{name} # {pat}", f"got: {got[2] if got else 'no result line'}"])
    tail_counts = [l for l in lines if re.match(r"^\d+ passed, \d+ failed, \d+ skipped$", l)]
    check(tail_counts == [COUNTS] and lines and lines[-1] == COUNTS,
          f"suite: counts line '{COUNTS}'", [f"got: {tail_counts}"])
    if kunit:
        agree = [l for l in lines if l.startswith("# kunit.py parse")]
        check("# kunit.py parse agrees with the runner (checks and the status of every run)" in agree,
              "suite: kunit.py parse agrees with the runner", agree)
    # Wall time per run, from results.json.
    try:
        with open(os.path.join(build, "results.json")) as f:
            summary = {r["test"]: r for r in json.load(f)}
    except (OSError, ValueError) as e:
        summary = {}
        check(False, "suite: results.json readable", [str(e)])
    for name in EXPECT:
        r = summary.get(name)
        timeout = TIMEOUTS.get(name, 0)
        bound = QUICK.get(name, timeout + TIGHT.get(name, SLACK))
        low = timeout if EXPECT[name][1].startswith("TIMEOUT") else 0
        check(r is not None and low <= r["seconds"] <= bound,
              f"suite: {name}: run took {low}s to {bound}s",
              [f"results.json: {json.dumps(r)}"])
    r = summary.get("good")
    check(r is not None and r.get("mmu") == "sv39" and r.get("verdict") == "pass",
          "suite: results.json has good passed on sv39", [json.dumps(r)])
    # results.ktap: the KTAP printed, up to the summary lines.
    try:
        with open(os.path.join(build, "results.ktap")) as f:
            saved = f.read().splitlines()
    except OSError as e:
        saved = [str(e)]
    printed = [l for l in lines if not l.startswith("#") and not re.match(r"^\d+ passed, ", l)]
    check(saved == printed, "suite: results.ktap holds the KTAP printed",
          [f"{len(saved)} lines saved, {len(printed)} printed"])
    # results.xml: JUnit counts.
    try:
        import xml.etree.ElementTree as ET
        root = ET.parse(os.path.join(build, "results.xml")).getroot()
        got = {k: root.get(k) for k in ("tests", "failures", "skipped")}
    except (OSError, ET.ParseError) as e:
        got = {"error": str(e)}
    want = {"tests": str(len(EXPECT)), "failures": str(sum(w == "not ok" for w, _, _ in EXPECT.values())),
            "skipped": "1"}
    check(got == want, "suite: results.xml parses, with the right counts", [f"got {got}, want {want}"])
    tb = [i for i, l in enumerate(errlines) if l.startswith(("Traceback", "Exception in thread"))]
    check(not tb, "suite: no Python traceback on the runner's stderr",
          errlines[tb[0]:tb[0] + 12] if tb else [])
    reap_fakes("suite")
    # The runner's KTAP: all of it when a check failed (or V=1), else its
    # top-level results and summary lines.
    verbose = VERBOSE or not all(ok for ok, _, _ in results[nchecks:])
    for line in so.splitlines():
        if verbose or not line.startswith(" "):
            print(f"#   | {line}")
    left = leftovers(rig_tmp)
    check(not left, "suite: no per-boot directory left in RIG_TMP", left)
    new = tmp_rig_dirs() - tmp_before
    check(not new, "suite: no rig-* directory left in /tmp", sorted(new))


def long_tmp_run():
    """RIG_TMP too long for AF_UNIX socket paths: the runner falls back to
    /tmp/rig-*; those must go too."""
    build = os.path.join(WORK, "longtmp")
    rig_tmp = os.path.join(build, "t" * 100)
    make_build(build)
    tmp_before = tmp_rig_dirs()
    rc, so, se, secs = run_runner(runner_argv("good,badopt,splat", kunit=False), env_for(build, rig_tmp),
                                  bound=40)
    top = top_results(so)
    check(rc == 1 and top.get("good", ("",))[0] == "ok" and top.get("badopt", ("",))[0] == "not ok"
          and top.get("splat", ("",))[0] == "not ok",
          f"long RIG_TMP: verdicts good ok, badopt and splat not ok ({secs:.1f}s)",
          [f"exit {rc}"] + so.splitlines()[-8:] + se.splitlines()[-8:])
    reap_fakes("long RIG_TMP")
    new = tmp_rig_dirs() - tmp_before
    check(not new, "long RIG_TMP: no rig-* directory left in /tmp", sorted(new))
    check(not leftovers(rig_tmp), "long RIG_TMP: nothing left in RIG_TMP", leftovers(rig_tmp))


def signal_run(signum, tests, label):
    """Start the runner on tests, send it signum once its fake QEMUs have run
    ~3 s; it must exit within a few seconds with 128+signum, having killed
    every fake QEMU and removed every per-boot directory."""
    build = os.path.join(WORK, label)
    rig_tmp = os.path.join(build, "tmp")
    make_build(build)
    tmp_before = tmp_rig_dirs()
    want = len(tests.split(","))
    t0 = time.monotonic()
    p = subprocess.Popen(runner_argv(tests, kunit=False), cwd=TOP, env=env_for(build, rig_tmp),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    # Wait for the fakes to be up (at most 10 s), then 3 s more.
    while time.monotonic() - t0 < 10 and len(fake_pids()) < want and p.poll() is None:
        time.sleep(0.1)
    up = len(fake_pids())
    time.sleep(3)
    states = [proc_state(x) for x in fake_pids()]
    so, se, rc, took = signal_and_wait(p, signum)
    name = signal.Signals(signum).name
    check(up == want, f"{label}: {want} fake QEMU(s) up before the {name}",
          [f"{up} up; states after 3 s: {states}"])
    check(rc == 128 + signum and took < EXIT_BOUND,
          f"{label}: the runner exits {128 + signum} within {EXIT_BOUND}s of {name}",
          [f"exit {rc} after {took:.1f}s"] + [f"stderr: {l}" for l in se.splitlines()[-10:]])
    check(re.search(rf"# runner: {name}: killed {want} QEMU\(s\)", se),
          f"{label}: the runner says it killed {want} QEMU(s)", se.splitlines()[-5:])
    reap_fakes(label)
    left = leftovers(rig_tmp)
    check(not left, f"{label}: no per-boot directory left in RIG_TMP", left)
    new = tmp_rig_dirs() - tmp_before
    check(not new, f"{label}: no rig-* directory left in /tmp", sorted(new))


def signal_storm(n=10):
    """SIGTERM the runner at n moments of a run of quick guests (a QEMU
    starting or ending every few hundred ms, two side by side): each time it
    must exit 143 within EXIT_BOUND seconds, and no fake QEMU nor per-boot directory may
    outlive it. A runner that lets a worker start a QEMU while its signal
    handler runs leaks one in roughly a third of these; n=10 finds that
    nearly always (and cannot fail for a runner without the race)."""
    build = os.path.join(WORK, "storm")
    make_build(build)
    # A suite of 24 quick boots (a few seconds in all, longer than the
    # latest SIGTERM below).
    suite = os.path.join(build, "storm.toml")
    kinds = ["good", "splat", "short", "skipall", "badopt"]
    with open(suite, "w") as f:
        f.write('[defaults]\nprofiles = ["default"]\nmodes = ["sv39"]\ntimeout = 8\nsmp = 1\n')
        for j in range(24):
            f.write(f'[[test]]\nname = "q{j}"\nguest = "{kinds[j % len(kinds)]}"\n')
    tmp_before = tmp_rig_dirs()
    slow, procs, dirs = [], [], []
    for i in range(n):
        rig_tmp = os.path.join(build, f"tmp{i}")
        delay = 0.1 + i * 1.3 / max(1, n - 1)
        argv = runner_argv(kunit=False)
        argv[argv.index(SUITE)] = suite
        p = subprocess.Popen(argv, cwd=TOP,
                             env=env_for(build, rig_tmp), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        # The clock starts with the first boot (the runner's signal handlers
        # are in place by then).
        t0 = time.monotonic()
        while not fake_pids() and p.poll() is None and time.monotonic() - t0 < 10:
            time.sleep(0.02)
        time.sleep(delay)
        _, se, rc, took = signal_and_wait(p, signal.SIGTERM)
        said = (se.strip().splitlines() or [""])[-1]
        if rc != 143 or took >= EXIT_BOUND:
            slow.append(f"SIGTERM after {delay:.2f}s: exit {rc} after {took:.1f}s; {said}")
        time.sleep(0.3)  # a fork under way when the runner died has exec'd by now
        for pid in fake_pids():
            procs.append(f"SIGTERM after {delay:.2f}s ({said}): fake QEMU pid {pid} "
                         f"(rig.tests={scenario_of(pid)}) runs")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for d in leftovers(rig_tmp):
            if not d.endswith(".sock"):
                dirs.append(f"SIGTERM after {delay:.2f}s ({said}): {os.path.relpath(d, TOP)} left")
    check(not slow, f"storm: the runner exits 143 within {EXIT_BOUND}s of each of {n} SIGTERMs", slow)
    check(not procs, f"storm: no fake QEMU outlives the runner ({n} SIGTERMs mid-run)", procs)
    new = tmp_rig_dirs() - tmp_before
    check(not dirs and not new, f"storm: no per-boot directory outlives the runner ({n} SIGTERMs mid-run)",
          dirs + sorted(new))


def cpu_slots_run():
    """Guests take one host CPU per vCPU (--jobs 2): a 2-vCPU guest never
    runs beside another guest, 1-vCPU guests still run two at a time, and
    every guest gets its turn (none starved by smaller ones)."""
    build = os.path.join(WORK, "slots")
    make_build(build)
    suite = os.path.join(build, "slots.toml")
    with open(suite, "w") as f:
        f.write('[defaults]\nprofiles = ["default"]\nmodes = ["sv39"]\ntimeout = 20\nsmp = 1\n')
        for j in range(8):
            f.write(f'[[test]]\nname = "s{j}"\nguest = "good"\n' + ("smp = 2\n" if j % 2 == 0 else ""))
    argv = runner_argv(kunit=False)
    argv[argv.index(SUITE)] = suite
    p = subprocess.Popen(argv, cwd=TOP, env=env_for(build, os.path.join(build, "tmp")),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    peak, pair, t0 = 0, False, time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < RUNNER_BOUND:
        vcpus = []
        for pid in fake_pids():
            m = re.search(r"-smp (\d+)", cmdline(pid))
            vcpus.append(int(m.group(1)) if m else 0)
        peak = max(peak, sum(vcpus))
        pair = pair or vcpus.count(1) >= 2
        time.sleep(0.005)
    so, se, rc = wait_or_kill(p, 10)
    top = top_results(so or "")
    check(rc == 0 and len(top) == 8 and all(v[0] == "ok" for v in top.values()),
          "cpu slots: 8 guests, 4 with 2 vCPUs, all run and pass", [f"exit {rc}", f"results {top}"])
    check(peak <= 2, "cpu slots: never more vCPUs running than --jobs (2)", [f"peak {peak} vCPUs"])
    check(pair, "cpu slots: 1-vCPU guests ran two at a time", ["never saw two 1-vCPU guests at once"])


def signal_and_wait(p, signum):
    """Send the runner signum; (stdout, stderr, exit status or None when it
    had to be killed after EXIT_BOUND + 3 s, seconds it took to exit)."""
    t1 = time.monotonic()
    p.send_signal(signum)
    so, se, rc = wait_or_kill(p, EXIT_BOUND + 3)
    return so, se, rc, time.monotonic() - t1


def scenario_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            m = re.search(rb"rig\.tests=(\S+)", f.read().replace(b"\0", b" "))
        return m.group(1).decode() if m else "?"
    except OSError:
        return "?"


def main():
    t0 = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    kunit = os.path.exists(KUNIT_PY)
    print(f"# kunit.py parse check: {'on (' + os.path.relpath(KUNIT_PY, TOP) + ')' if kunit else 'off (no build/linux)'}",
          flush=True)
    try:
        suite_run(kunit)
        long_tmp_run()
        signal_run(signal.SIGTERM, "hang", "sigterm")
        # A stopped QEMU and a wedged QMP while the runner is interrupted.
        signal_run(signal.SIGINT, "stop,qmpwedge", "sigint")
        signal_storm()
        cpu_slots_run()
    finally:
        for p in fake_pids():
            os.kill(p, signal.SIGKILL)
    print("KTAP version 1")
    print(f"1..{len(results)}")
    for i, (ok, desc, diag) in enumerate(results, 1):
        if not ok:
            for d in diag:
                print(f"# {d}")
        print(f"{'ok' if ok else 'not ok'} {i} {desc.replace('#', '')}")
    failed = sum(not ok for ok, _, _ in results)
    print(f"# {len(results)} checks, {failed} failed, in {time.monotonic() - t0:.1f}s")
    if not KEEP:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print(f"# kept {os.path.relpath(WORK, TOP)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
