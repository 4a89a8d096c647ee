#!/bin/sh
# rig-lava-run.sh TEST [EXPECT_SPLAT [XFAIL [TIMEOUT]]]: run the rig's guest test TEST
# from the kselftest install (run_kselftest.sh -t memory-hotplug-rig:TEST.sh)
# and judge it as the host runner (scripts/runner.py) judges a make check
# run, for a guest no host runner watches: a LAVA job's test shell, or by
# hand. EXPECT_SPLAT=1: the test must make the kernel splat
# (splat-detector). XFAIL: a known failure's reason (a failed run counts as
# skipped). TIMEOUT: seconds the test may take (its suite.toml timeout;
# default the collection's settings): then its process group is killed and
# the run fails, timed out.
#
# Results go to LAVA with lava-test-case, after the test has ended (so that
# no kernel message can cut into them): one case per check of the test
# (NN-slug), "kernel-log" (no splat in the kernel log since boot, or the
# expected one) and the verdict, a case named TEST (pass, fail or skip).
# Without lava-test-case on PATH they are only printed. The last line is
# "RIG-VERDICT TEST pass|fail|skip REASON"; the exit status is 0 unless the
# arguments are wrong.
# lib.sh: RIG_DIR, KSFT_DIR, rig_param, paging_mode (no KTAP of its own here).
. "$(dirname "$0")/lib.sh"
t=${1:?usage: rig-lava-run.sh TEST [EXPECT_SPLAT [XFAIL [TIMEOUT]]]}
expect_splat=${2:-0}
xfail=${3:-}
limit=${4:-$(sed -n 's/^timeout=//p' "$RIG_DIR/settings")}
case $limit in '' | *[!0-9]*) echo "rig-lava-run.sh: TIMEOUT must be seconds, got '$limit'" >&2; exit 2 ;; esac
[ -f "$RIG_DIR/$t.sh" ] || { echo "rig-lava-run.sh: no test $t in $RIG_DIR" >&2; exit 2; }
out=/tmp/rig-lava-$t.out
kmsg=/tmp/rig-kmsg.log

case_result() {
	if command -v lava-test-case >/dev/null 2>&1; then
		lava-test-case "$1" --result "$2"
	else
		echo "RIG-CASE $1 $2"
	fi
}

# Kernel messages stay off the console while the test runs (the kernel log
# goes to $kmsg); they would cut into LAVA's shell. The level comes back
# after.
read -r level _ </proc/sys/kernel/printk
echo 1 >/proc/sys/kernel/printk
[ "$expect_splat" = 1 ] && export RIG_SPLAT_OK=1
# In a session of its own, so that a test that outlives TIMEOUT goes with
# everything it started (BusyBox's timeout, which runner.sh uses, signals
# the test's shell only). Appending: runner.sh opens /dev/stdout again for
# the test's output, and only O_APPEND keeps the two writers from
# overwriting each other in a regular file.
: >"$out"
setsid "$KSFT_DIR/run_kselftest.sh" -t "memory-hotplug-rig:$t.sh" >>"$out" 2>&1 </dev/null &
pid=$!
tail -f "$out" &
tailpid=$!
timed_out=0
s=0
while kill -0 "$pid" 2>/dev/null; do
	if [ "$s" -ge "$limit" ]; then
		timed_out=1
		kill -TERM -- "-$pid" 2>/dev/null
		sleep 5
		kill -KILL -- "-$pid" 2>/dev/null
		break
	fi
	sleep 1
	s=$((s + 1))
done
wait "$pid" 2>/dev/null
sleep 1
kill "$tailpid" 2>/dev/null
wait "$tailpid" 2>/dev/null
echo "$level" >/proc/sys/kernel/printk

# Leak reports (the debug profile's kmemleak), as the rig's init does.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >>"$out.leaks"
	cat "$out.leaks"
fi

# The kselftest result line: the test's exit status (0, 4 for a skip,
# exit=N, or TIMEOUT).
top=$(grep -E "^(not )?ok [0-9]+ selftests: memory-hotplug-rig: $t\.sh" "$out" | tail -n 1)
case $top in
"ok "*"# SKIP"*) rc=4 ;;
"ok "*) rc=0 ;;
*"# TIMEOUT"*) rc=timeout ;;
*"# exit="*) rc=${top##*# exit=} ;;
*) rc="" ;;
esac
# BusyBox's timeout ends the test with SIGTERM: 128 + 15.
[ "$rc" = 143 ] && rc=timeout
[ "$timed_out" = 1 ] && rc=timeout top="killed after ${limit}s"

# The test's own KTAP, one "# " level down: plan, results, problems.
sed -n 's/^# //p' "$out" | grep -v '^selftests: ' >"$out.ktap"
eval "$(awk '
	/^(ok|not ok) [0-9]+/ {
		n++
		num = ($1 == "ok") ? $2 : $3
		if (num != n) prob = prob "result " n " numbered " num "; "
		if ($1 == "not") fails++
		next
	}
	/^1\.\.[0-9]+/ {
		if (plan != "") prob = prob "a second plan line; "
		else {
			plan = substr($1, 4)
			if ($0 ~ /^1\.\.0 # SKIP/) { skipall = $0; sub(/^1\.\.0 # SKIP ?/, "", skipall); if (skipall == "") skipall = "skipped" }
		}
		next
	}
	/^KTAP version/ { if (n || plan != "") prob = prob "a KTAP version line after the plan; " }
	END {
		gsub(/'\''/, "", skipall); gsub(/'\''/, "", prob)
		printf "plan=%s nres=%d nfail=%d skipall='\''%s'\'' prob='\''%s'\''\n", plan, n, fails, skipall, prob
	}' "$out.ktap")"

# Splats: the kernel log kmsg-log kept from boot, the ring buffer as it is
# now (a LAVA job boots with log_buf_len=8M: it holds the whole run), and
# kmemleak. Records lost before either read them fail the check: what they
# said is unknown.
splat=$( (cat "$kmsg" 2>/dev/null; dmesg; cat "$out.leaks" 2>/dev/null) | grep -E -m 1 -f "$RIG_DIR/splat.ere")
lost=$(grep -m 1 '^kmsg-log: ' "$kmsg" 2>/dev/null)
[ -s "$kmsg" ] || lost="no $kmsg (kmsg-log did not run from boot)"
if [ -n "$lost" ] && ! dmesg | head -n 1 | grep -q '^\[ *0\.000000\]'; then
	splat=${splat:-kernel log incomplete: $lost, and dmesg no longer starts at boot}
fi

# The verdict, in scripts/runner.py's order.
v=pass why=""
if [ "$rc" = timeout ]; then
	v=fail why="timed out (run_kselftest.sh: $top)"
elif [ "$expect_splat" = 1 ] && [ -z "$splat" ]; then
	v=fail why="expected a kernel splat, the detector saw none"
elif [ -n "$splat" ] && [ "$expect_splat" != 1 ]; then
	v=fail why="kernel splat in the kernel log: $splat"
elif [ -z "$rc" ]; then
	v=fail why="guest test did not finish (no kselftest result line)"
elif [ -z "$plan" ]; then
	v=fail why="guest test printed no KTAP plan (exit $rc)"
elif [ "$nres" != "$plan" ]; then
	v=fail why="guest test ran $nres checks, its plan has $plan (exit $rc)"
elif [ -n "$prob" ]; then
	v=fail why="guest KTAP: $prob"
elif [ "$plan" = 0 ] && ! { [ -n "$skipall" ] && [ "$rc" = 4 ]; }; then
	v=fail why="guest test planned no checks and did not skip (exit $rc)"
elif [ "$rc" = 4 ]; then
	v=skip why=${skipall:-$(sed -n 's/^ok [0-9]* .*# SKIP //p' "$out.ktap" | head -n 1)}
	why=${why:-guest test skipped}
elif [ "$rc" != 0 ]; then
	v=fail why="guest test exited $rc"
elif [ "${nfail:-0}" -gt 0 ]; then
	v=fail why="guest test reported a failed check but exited 0"
fi
want_mmu=$(rig_param mmu)
got_mmu=$(paging_mode)
if [ -n "$want_mmu" ] && [ "$want_mmu" != "$got_mmu" ]; then
	v=fail why="guest ran $got_mmu, wanted $want_mmu"
fi
if [ "$v" = fail ] && [ -n "$xfail" ]; then
	v=skip why="known failure: $xfail (this run: $why)"
fi

# Report: the checks, the kernel log, the verdict.
awk '/^(ok|not ok) [0-9]+/ {
	num = ($1 == "ok") ? $2 : $3
	res = ($1 == "ok") ? "pass" : "fail"
	if ($0 ~ /# SKIP/) res = "skip"
	d = $0; sub(/^(not )?ok [0-9]+ /, "", d); sub(/ # SKIP.*/, "", d)
	d = tolower(d); gsub(/[^a-z0-9]+/, "-", d); sub(/^-/, "", d); d = substr(d, 1, 60); sub(/-$/, "", d)
	printf "%02d-%s %s\n", num, d, res
}' "$out.ktap" | while read -r id res; do
	case_result "$id" "$res"
done
if [ "$expect_splat" = 1 ]; then
	case_result kernel-log "$([ -n "$splat" ] && echo pass || echo fail)"
else
	case_result kernel-log "$([ -z "$splat" ] && echo pass || echo fail)"
fi
[ -z "$splat" ] || echo "# splat: $splat"
# A failed run: the kernel log's end, for the reader of the job log.
if [ "$v" = fail ] && [ -s "$kmsg" ]; then
	echo "# the kernel log's last 60 records ($kmsg):"
	tail -n 60 "$kmsg" | sed 's/^/# kmsg: /'
fi
case_result "$t" "$v"
echo "RIG-VERDICT $t $v ${why:-guest test exited $rc after $nres of $plan planned checks}"
rm -f "$out" "$out.ktap" "$out.leaks"
exit 0
