#!/usr/bin/python3
"""The rig's suite as LAVA jobs (LAVA's qemu device type), and a local run
of them with LAVA's own dispatcher.

  lava.py jobs --profiles P --modes M [--tests T] [--matrix ci|full] [--url URL]
      one job definition per run make check makes for the same selection
      (scripts/runner.py build_plan), in build/lava/jobs/, with the device
      dictionary for a riscv64 QEMU worker (lava/rig-qemu01.jinja2) and the
      artifacts the jobs name (kernel, initramfs, firmware, derived DTBs) in
      build/lava/artifacts/. The QEMU command line is the runner's
      (runner.qemu_argv, lava=True): the guest's QMP monitor needs nothing on
      the host, and the guest's init gives LAVA's test shell a prompt; the
      test runs from the kselftest install (rig-lava-run.sh), which judges
      it as the runner does and reports with lava-test-case.
  lava.py run [--jobs N]
      each job with lava-run (lava-dispatcher, as a lab's worker runs it),
      the device configuration rendered from LAVA's qemu.jinja2 and the
      dictionary as lava-server renders it; prints one line per job and
      "N passed, N failed, N skipped" from LAVA's results (the verdict case
      of each job; a job that did not complete is a failure).
  lava.py compare RESULTS_JSON
      the verdicts of the last run against make check's (build/results.json)
      for the same runs.

Runs with Debian's python3 (python3-yaml, python3-jinja2: lava-dispatcher's
dependencies).
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402

TOP = runner.TOP
BUILD = runner.BUILD
LAVA = os.path.join(BUILD, "lava")
DEVICE = "rig-qemu01"
DICT_SRC = os.path.join(TOP, "lava", f"{DEVICE}.jinja2")
TEMPLATES = os.path.join(LAVA, "templates")  # LAVA's device-type templates
PROMPT = "/ # "


def die(msg):
    print(f"lava.py: {msg}", file=sys.stderr)
    sys.exit(2)


def slug(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def minutes(seconds):
    return max(1, -(-int(seconds) // 60))


def copy_artifact(src, rel):
    """src copied to build/lava/artifacts/rel (kept when unchanged)."""
    dst = os.path.join(LAVA, "artifacts", rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    st = os.stat(src)
    if not (os.path.exists(dst) and os.path.getsize(dst) == st.st_size
            and os.path.getmtime(dst) >= st.st_mtime):
        shutil.copy2(src, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    return rel


def job_definition(p, m, t, url, scale, nonce):
    """The LAVA job (a dict) for test t on profile p and paging mode m."""
    name = f"{p}-{m}-{t['name']}"
    bootdir = os.path.join(LAVA, "artifacts", "dtb", name)
    shutil.rmtree(bootdir, ignore_errors=True)
    os.makedirs(bootdir)
    # A name in the abstract socket namespace for the guest's QMP, unique to
    # this job file (two copies of one job file at once on one worker would
    # collide: QEMU then fails to start).
    gqmp = "rig-qmp-" + hashlib.sha256(f"{nonce} {name}".encode()).hexdigest()[:12]
    argv, early_hang_s = runner.qemu_argv(p, m, t, bootdir, None, gqmp, lava=True)
    images, extra, ctx = {}, [], {}
    append = ""
    i = 1
    while i < len(argv):
        opt = argv[i]
        if opt == "-no-reboot":
            extra.append(opt)
            i += 1
            continue
        val = argv[i + 1]
        i += 2
        if opt == "-M":
            ctx["machine"] = val
        elif opt == "-cpu":
            ctx["cpu"] = val
        elif opt == "-m":
            # LAVA's template gives "-m MEMORY" first; a later -m with
            # slots and maxmem adds to it (QEMU merges -m options).
            ctx["memory"] = runner.parse_size_mib(val.split(",")[0])
            if "," in val:
                extra.append(f"-m {val}")
        elif opt == "-append":
            append = val
        elif opt in ("-bios", "-kernel", "-initrd", "-dtb"):
            label = {"-bios": "bios", "-kernel": "kernel", "-initrd": "ramdisk", "-dtb": "dtb"}[opt]
            if label == "dtb":
                rel = os.path.relpath(val, os.path.join(LAVA, "artifacts"))
            elif label == "bios":
                rel = copy_artifact(val, "firmware/" + os.path.basename(val))
            else:
                rel = copy_artifact(val, f"{p}/{os.path.basename(val)}")
            images[label] = {"url": f"{url}/{rel}"}
            images[label]["image_arg"] = f"{opt} {{{label}}}"
        else:
            extra.append(f"{opt} {val}")
    if '"' in append:
        die(f"{name}: a double quote in the kernel command line")
    images["kernel"]["image_arg"] += f' -append "{append}"'
    timeout = int(t.get(f"timeout_{p}", t.get("timeout", 120)) * scale)
    expect_splat = "1" if t.get("expect_splat") else "0"
    step = f"/rig/rig-lava-run.sh {t['guest']} {expect_splat} {shlex.quote(t.get('xfail', ''))} {timeout}"
    ctx.update({
        "arch": "riscv64",
        "guestfs_interface": "virtio",  # riscv virt has no IDE
        "guestfs_size": 64,
        "extra_options": extra,
    })
    boot_min = minutes(early_hang_s + 120)
    return name, {
        "device_type": "qemu",
        "job_name": f"rig {p}/{m}/{t['name']}",
        "visibility": "public",
        "priority": "medium",
        "timeouts": {
            "job": {"minutes": minutes(timeout) + boot_min + 13},
            "action": {"minutes": minutes(timeout) + 3},
            "connection": {"minutes": 2},
        },
        "metadata": {"rig.run": f"{p}/{m}/{t['name']}", "rig.test": t["name"],
                     "rig.guest": t["guest"], "rig.profile": p, "rig.mode": m},
        "context": ctx,
        "actions": [
            {"deploy": {"to": "tmpfs", "os": "oe", "timeout": {"minutes": 5}, "images": images}},
            # No failure_retry: a retried boot would not stop the first QEMU
            # (CallQemuAction finalises only a connection it was given).
            {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"minutes": boot_min},
                      "prompts": [PROMPT]}},
            # rig-lava-run.sh kills the test at its timeout and still reports;
            # three more minutes for that, kmemleak's scan and the results.
            {"test": {
                "timeout": {"minutes": minutes(timeout) + 3},
                "definitions": [{
                    "from": "inline", "name": "rig", "path": "inline/rig.yaml",
                    "repository": {
                        "metadata": {"format": "Lava-Test Test Definition 1.0", "name": "rig",
                                     "description": f"{t['guest']} from the kselftest install "
                                                    "(run_kselftest.sh), judged by rig-lava-run.sh"},
                        "run": {"steps": [step]},
                    },
                }],
            }},
        ],
    }


def render_device(context, out):
    """The device configuration lava-run takes: the dictionary rendered with
    LAVA's device-type templates and the job's context, as lava-server
    renders it for its worker (lava_scheduler_app: a sandboxed Jinja2
    environment, trim_blocks)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment
    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader([os.path.dirname(DICT_SRC), TEMPLATES]),
                               autoescape=False, trim_blocks=True)
    text = env.get_template(os.path.basename(DICT_SRC)).render(**context)
    yaml.safe_load(text)  # must be YAML
    with open(out, "w") as f:
        f.write(text)


def cmd_jobs(args):
    if not os.path.exists(os.path.join(TEMPLATES, "qemu.jinja2")):
        die(f"no LAVA device-type templates in {TEMPLATES}: run 'make lava-jobs'")
    profiles, modes = runner.profiles_modes(args.profiles, args.modes)
    plan = runner.build_plan(profiles, modes, args.tests, args.matrix, 2)
    url = args.url or "file://" + os.path.join(LAVA, "artifacts")
    for d in ("jobs", "devices"):
        shutil.rmtree(os.path.join(LAVA, d), ignore_errors=True)
        os.makedirs(os.path.join(LAVA, d))
    nonce = os.urandom(8).hex()
    order = []
    for p, m, t in plan:
        name, job = job_definition(p, m, t, url.rstrip("/"), args.timeout_scale, nonce)
        path = os.path.join(LAVA, "jobs", f"{name}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(job, f, sort_keys=False, width=200)
        render_device(job["context"], os.path.join(LAVA, "devices", f"{name}.yaml"))
        order.append({"name": name, "run": f"{p}/{m}/{t['name']}", "guest": t["guest"],
                      "smp": int(t.get("smp", 2))})
    shutil.copy(DICT_SRC, os.path.join(LAVA, "devices", os.path.basename(DICT_SRC)))
    with open(os.path.join(LAVA, "jobs", "order.json"), "w") as f:
        json.dump(order, f, indent=1)
    print(f"{len(order)} LAVA jobs in {os.path.relpath(LAVA, TOP)}/jobs/ (device dictionary "
          f"{os.path.relpath(DICT_SRC, TOP)}; artifacts from {url})")
    return 0


def parse_log(path):
    """(results, complete, error) from a lava-run log (a YAML list of
    {dt, lvl, msg}): the lava-test-case results of our definition, whether
    the job completed, and LAVA's error if it did not."""
    results, complete, error = [], None, None
    # One {dt, lvl, msg} mapping a line (lava_common.log.YAMLLogger).
    entries = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("- "):
                line = line[2:]
            if not line.startswith("{"):
                continue
            try:
                entries.append(yaml.safe_load(line))
            except yaml.YAMLError:
                continue
    for e in entries:
        if not isinstance(e, dict):
            continue
        msg = e.get("msg")
        if e.get("lvl") == "results" and isinstance(msg, dict):
            if msg.get("definition") == "lava" and msg.get("case") == "job":
                complete = msg.get("result") == "pass"
                error = msg.get("error_msg") or error
            elif msg.get("definition", "").endswith("rig"):
                results.append((msg.get("case"), msg.get("result")))
        elif e.get("lvl") == "error" and isinstance(msg, str):
            error = error or msg
    return results, complete, error


def verdict(guest, results, complete, error):
    """pass / fail / skip and why, from LAVA's results: the verdict case
    (named after the guest test) and the job's completion."""
    cases = dict(results)
    v = cases.get(guest)
    if v is None:
        return "fail", f"no verdict case '{guest}' in LAVA's results" + (f" ({error})" if error else "")
    if not complete:
        return "fail", f"job incomplete: {error or 'no job result'}"
    if v == "pass":
        return "pass", ""
    if v == "skip":
        return "skip", ""
    bad = [c for c, r in results if r == "fail" and c != guest]
    return "fail", "failed cases: " + ", ".join(bad) if bad else "verdict case failed"


def lava_run(job, jobid):
    name = job["name"]
    outdir = os.path.join(LAVA, "runs", name)
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    log = os.path.join(outdir, "log.yaml")
    env = dict(os.environ)
    # LAVA's qemu device type runs "qemu-system-riscv64" from PATH: ours.
    env["PATH"] = os.path.dirname(runner.QEMU) + ":" + env.get("PATH", "")
    cmd = ["lava-run", "--job-id", str(jobid), "--output-dir", outdir,
           "--device", os.path.join(LAVA, "devices", f"{name}.yaml"),
           os.path.join(LAVA, "jobs", f"{name}.yaml")]
    t0 = time.time()
    with open(log, "w") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    dur = time.time() - t0
    results, complete, error = parse_log(log)
    v, why = verdict(job["guest"], results, complete, error)
    shutil.rmtree(os.path.join("/var/lib/lava/dispatcher/tmp", str(jobid)), ignore_errors=True)
    return {"name": name, "run": job["run"], "verdict": v, "reason": why, "seconds": round(dur, 1),
            "lava_rc": rc, "cases": results, "log": os.path.relpath(log, TOP)}


def cmd_run(args):
    with open(os.path.join(LAVA, "jobs", "order.json")) as f:
        order = json.load(f)
    if shutil.which("lava-run") is None:
        die("lava-run not found: 'make lava' installs lava-dispatcher")
    base = int(time.time()) % 100000 * 1000
    # Only this run's logs (results.json is this run's too).
    shutil.rmtree(os.path.join(LAVA, "runs"), ignore_errors=True)
    slots = runner.CpuSlots(args.jobs)
    counts = {"pass": 0, "fail": 0, "skip": 0}
    out = []
    t0 = time.time()

    def one(i, job):
        with slots.take(i, job["smp"]):
            return lava_run(job, base + i)

    print(f"# {len(order)} LAVA jobs with lava-run, {args.jobs} CPUs; logs in build/lava/runs/", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futs = [pool.submit(one, i, j) for i, j in enumerate(order)]
        for i, fut in enumerate(futs, 1):
            r = fut.result()
            counts[r["verdict"]] += 1
            out.append(r)
            ncases = len(r["cases"])
            line = f"{'ok' if r['verdict'] != 'fail' else 'not ok'} {i} {r['run']}"
            if r["verdict"] == "skip":
                line += " # SKIP"
            line += f" # {r['seconds']:.0f}s, {ncases} LAVA results"
            if r["reason"]:
                line += f": {r['reason']} (log: {r['log']})"
            print(line, flush=True)
    with open(os.path.join(LAVA, "results.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"# {len(order)} jobs in {time.time() - t0:.0f}s; LAVA's results in build/lava/results.json")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] else 0


def lavacli(identity, *args):
    r = subprocess.run(["lavacli", "-i", identity, *args], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"lavacli {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def cmd_server_run(args):
    """The jobs through a lava-server (scripts/lava-server.sh): submitted
    with lavacli, waited for, their results read back with lavacli and
    counted as cmd_run counts lava-run's."""
    with open(os.path.join(LAVA, "jobs", "order.json")) as f:
        order = json.load(f)
    t0 = time.time()
    ids = []
    for job in order:
        path = os.path.join(LAVA, "jobs", f"{job['name']}.yaml")
        out = lavacli(args.identity, "jobs", "submit", path).split()
        ids.append(out[-1] if out else "")
        print(f"# submitted {job['run']}: job {ids[-1]}", flush=True)
    counts = {"pass": 0, "fail": 0, "skip": 0}
    res = []
    for i, (job, jid) in enumerate(zip(order, ids), 1):
        lavacli(args.identity, "jobs", "wait", jid, "--polling", "10")
        show = yaml.safe_load(lavacli(args.identity, "jobs", "show", jid, "--yaml"))
        results = yaml.safe_load(lavacli(args.identity, "results", jid, "--yaml")) or []
        cases = [(r.get("name"), r.get("result")) for r in results if str(r.get("suite", "")).endswith("rig")]
        complete = show.get("health") == "Complete"
        v, why = verdict(job["guest"], cases, complete, show.get("failure_comment"))
        counts[v] += 1
        res.append({"name": job["name"], "run": job["run"], "job": jid, "verdict": v, "reason": why,
                    "health": show.get("health"), "cases": cases})
        line = f"{'ok' if v != 'fail' else 'not ok'} {i} {job['run']}{' # SKIP' if v == 'skip' else ''}" \
               f" # LAVA job {jid}: {show.get('health')}, {len(cases)} results"
        print(line + (f": {why}" if why else ""), flush=True)
    with open(os.path.join(LAVA, "server-results.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(f"# {len(order)} jobs through lava-server in {time.time() - t0:.0f}s; build/lava/server-results.json")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] else 0


def cmd_compare(args):
    """Each run's verdict and number of guest checks in LAVA against make
    check's (build/results.json), for the runs both have. LAVA's cases are
    the guest's checks plus kernel-log and the verdict; make check's are the
    guest's plus the runner's check of the boot."""
    with open(os.path.join(LAVA, "results.json")) as f:
        lava = {r["run"]: r for r in json.load(f)}
    with open(args.results) as f:
        check = {f"{r['profile']}/{r['mode']}/{r['test']}": r for r in json.load(f)}
    both = sorted(set(lava) & set(check))
    bad = nl = nc = 0
    for run in both:
        lv = lava[run]["verdict"]
        cv = "skip" if check[run]["verdict"] == "xfail" else check[run]["verdict"]
        lchecks = len(lava[run]["cases"]) - 2
        cchecks = sum(check[run]["checks"].values()) - 1
        nl, nc = nl + lchecks, nc + cchecks
        if lv != cv or lchecks != cchecks:
            bad += 1
            print(f"# differs: {run}: LAVA {lv} ({lchecks} checks), make check {cv} ({cchecks} checks)")
    missing = sorted(set(lava) - set(check))
    print(f"# LAVA against make check ({os.path.relpath(args.results, TOP)}): {len(both) - bad} runs agree "
          f"(verdict and guest checks: {nl} in LAVA, {nc} in make check), {bad} differ, "
          f"{len(missing)} not in make check's results")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("jobs")
    runner.add_selection_args(j, "ci")
    j.add_argument("--url", default=os.environ.get("LAVA_URL", ""))
    r = sub.add_parser("run")
    r.add_argument("--jobs", type=int, default=2)
    c = sub.add_parser("compare")
    c.add_argument("results")
    sr = sub.add_parser("server-run")
    sr.add_argument("--identity", default="rig")
    args = ap.parse_args()
    return {"jobs": cmd_jobs, "run": cmd_run, "compare": cmd_compare,
            "server-run": cmd_server_run}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
