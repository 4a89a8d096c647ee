#!/bin/bash
# rig.sh ACTION: the stages behind the Makefile's targets, one progress line
# each (elapsed time, log path); full output in build/logs/ (V=1 shows it).
. "$(dirname "$0")/lib.sh"

PROFILES=${PROFILES:-default debug kasan}
PROFILE=${PROFILE:-default}
MODES=${MODES:-sv39 sv48 sv57}
MATRIX=${MATRIX:-ci}
S=$TOP/scripts

known_profiles=$(sed -n 's/^\([a-z0-9]*\):.*/\1/p' "$TOP/configs/profiles" | xargs)
for p in $PROFILES $PROFILE; do
	case " $known_profiles " in *" $p "*) ;; *) die "unknown profile '$p' (known: $known_profiles)" ;; esac
done
for m in $MODES; do
	case $m in sv39|sv48|sv57) ;; *) die "unknown paging mode '$m' (known: sv39 sv48 sv57)" ;; esac
done
case $MATRIX in ci|full) ;; *) die "MATRIX must be 'ci' or 'full', got '$MATRIX'" ;; esac
# QEMU=10.0: build Debian 13's QEMU 10.0 with patches/qemu-10.0/ and run the
# guests (and the host-side QEMU tests) on it.
case ${QEMU:=7.2} in
7.2) ;;
10.0) export RIG_QEMU=${RIG_QEMU:-$BUILD/qemu-10.0/qemu-system-riscv64} ;;
*) die "QEMU must be 7.2 or 10.0, got '$QEMU'" ;;
esac
export QEMU
case ${JOBS} in ''|*[!0-9]*|0) die "JOBS must be a positive number, got '$JOBS'" ;; esac
case ${GUESTS:-2} in ''|*[!0-9]*|0) die "GUESTS must be a positive number, got '$GUESTS'" ;; esac
for b in ${BENCH:-}; do
	case $b in base|kmem|breakdown) ;; *) die "unknown BENCH part '$b' (known: base kmem breakdown)" ;; esac
done
case ${BOOTS:-4} in ''|*[!0-9]*|0) die "BOOTS must be a positive number, got '$BOOTS'" ;; esac
for p in ${SERIES_PARTS:-}; do
	case $p in patches|matrix|apply) ;; *) die "unknown SERIES_PARTS entry '$p' (known: patches matrix apply)" ;; esac
done
case ${SERIES_BOOT:-1} in 0|1) ;; *) die "SERIES_BOOT must be 0 or 1, got '$SERIES_BOOT'" ;; esac
case ${SERIES_FROM:-1} in ''|*[!0-9]*|0*) die "SERIES_FROM must be a patch number (1, 2, ...), got '$SERIES_FROM'" ;; esac
case ${CYCLES:-1000} in ''|*[!0-9]*|0) die "CYCLES must be a positive number, got '$CYCLES'" ;; esac
known_matrix=$(bash "$TOP/scripts/build-matrix.sh" --list)
for c in ${MATRIX_CONFIGS:-}; do
	case " $known_matrix " in *" $c "*) ;; *) die "unknown MATRIX_CONFIGS entry '$c' (known: $known_matrix)" ;; esac
done
known_tests=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$TOP/tests/suite.toml" | xargs)
for t in $(echo "${TESTS:-}" | tr ',' ' '); do
	case " $known_tests " in *" $t "*) ;; *) die "unknown test '$t' (known: $known_tests)" ;; esac
done

stage_deps() { run_stage deps "$LOGS/deps.log" bash "$S/deps.sh"; }
stage_tree() { run_stage tree "$LOGS/tree.log" bash "$S/tree.sh"; }
stage_qemu() { run_stage qemu "$LOGS/qemu.log" bash "$S/qemu.sh"; }
stage_busybox() { run_stage busybox "$LOGS/busybox.log" bash "$S/busybox.sh"; }
stage_kernel() {
	for p in "$@"; do
		run_stage "kernel:$p" "$LOGS/kernel-$p.log" bash "$S/kernel.sh" "$p"
		run_stage "initramfs" "$LOGS/initramfs-$p.log" bash "$S/initramfs.sh" "$p"
	done
}

build() {
	stage_deps
	stage_tree
	stage_qemu
	stage_busybox
	# shellcheck disable=SC2068
	stage_kernel $@
}

csv() { echo "$*" | tr ' ' ','; }

case ${1:-} in
deps) stage_deps ;;
tree) stage_deps; stage_tree ;;
qemu) stage_deps; stage_qemu ;;
busybox) stage_deps; stage_busybox ;;
build) build $PROFILES ;;
check)
	# host_result NAME RC SUMMARY-REGEX: one line for a host-side suite
	# (log $LOGS/NAME.log): ok with its summary, or FAILED with its
	# failures; returns non-zero when it failed.
	host_result() {
		local log=$LOGS/$1.log
		if [ "$2" = 0 ]; then
			printf '[%-9s] ok (%s)  log: %s\n' "$1" "$(sed -n "s/$3/\1/p" "$log" | tail -n 1)" "${log#"$TOP"/}"
			return 0
		fi
		printf '[%-9s] FAILED (exit %s), log: %s\n' "$1" "$2" "${log#"$TOP"/}"
		grep -E '^not ok|^# ' "$log" | tail -n 20
		return 1
	}
	build $PROFILES
	# The runner's own fault tests (fake QEMUs: hangs, stops, bad options,
	# splats, short plans, signals) run beside the guests: they mostly wait.
	python3 "$TOP/tests/host/runner-faults.py" >"$LOGS/runner-faults.log" 2>&1 &
	faults=$!
	trap 'kill $faults 2>/dev/null' EXIT
	echo "[tests    ] profiles: $PROFILES; modes: $MODES; matrix: $MATRIX; logs: build/logs/tests/"
	set +e
	python3 "$S/runner.py" run --profiles "$(csv $PROFILES)" --modes "$(csv $MODES)" \
		--tests "${TESTS:-}" --jobs "${GUESTS:-2}" --matrix "$MATRIX" | tee "$LOGS/check.out"
	rc=${PIPESTATUS[0]}
	wait $faults
	frc=$?
	set -e
	trap - EXIT
	# QEMU's memory-device error paths, host side (no guest): a second.
	set +e
	python3 "$TOP/tests/host/qemu-md.py" >"$LOGS/qemu-md.log" 2>&1
	qrc=$?
	set -e
	hostfail=0
	host_result runner-faults "$frc" '^# \([0-9]* checks, .*\)' || hostfail=$((hostfail + 1))
	host_result qemu-md "$qrc" '^# \([0-9]* of [0-9]* checks passed .*\)' || hostfail=$((hostfail + 1))
	if [ "$hostfail" != 0 ]; then
		# The counts line stays last: each failed host-side suite counts
		# as one failure.
		counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOGS/check.out" | tail -n 1)
		set -- ${counts:-0 passed, 0 failed, 0 skipped}
		echo "$1 passed, $(($3 + hostfail)) failed, $5 skipped"
		exit 1
	fi
	exit "$rc"
	;;
demo)
	build "$PROFILE"
	exec python3 "$S/runner.py" demo --profile "$PROFILE" --mode "${MODE:-sv57}"
	;;
shell)
	build "$PROFILE"
	exec python3 "$S/runner.py" shell --profile "$PROFILE" --mode "${MODE:-sv57}" \
		--mem "${MEM:-2G}" --append "${APPEND:-}" --node "${NODE:-}"
	;;
soak)
	# 1000 add/remove cycles per paging mode on the default profile.
	build "$PROFILE"
	RIG_APPEND="rig.cycles=${CYCLES:-1000}" exec python3 "$S/runner.py" run --profiles "$PROFILE" \
		--modes "$(csv $MODES)" --tests hotplug-cycles --timeout-scale 12
	;;
bench)
	# base: latency per GiB, page tables and memory cost (PROFILE); kmem: the
	# dax/kmem latency table, default and release profiles (BOOTS boots per
	# cell); breakdown: per-function times of its steps (trace profile).
	rc=0
	for b in ${BENCH:-base kmem breakdown}; do
		case $b in
		base)
			build "$PROFILE"
			python3 "$S/runner.py" bench --profile "$PROFILE" --modes "$(csv $MODES)" || rc=1
			;;
		kmem)
			build default release
			python3 "$S/runner.py" bench-kmem --profiles default,release --modes "$(csv $MODES)" \
				--boots "${BOOTS:-4}" || rc=1
			;;
		breakdown)
			build trace
			python3 "$S/runner.py" bench-breakdown --profile trace --modes "$(csv $MODES)" || rc=1
			;;
		esac
	done
	exit $rc
	;;
series-check)
	stage_deps
	stage_tree
	# The per-patch boots need the rig's QEMU and BusyBox.
	if [ "${SERIES_BOOT:-1}" != 0 ] && [[ " ${SERIES_PARTS:-patches} " == *" patches "* ]]; then
		stage_qemu
		stage_busybox
	fi
	exec bash "$S/series-check.sh"
	;;
lava-jobs | lava)
	# The suite as LAVA jobs (scripts/lava.py), for the same selection as
	# make check; 'lava' runs them with LAVA's dispatcher (lava-run) and
	# prints LAVA's counts, then compares each run's verdict with the last
	# make check's (build/results.json) where that covered the run.
	build $PROFILES
	run_stage lava-deps "$LOGS/lava-deps.log" bash "$S/lava-deps.sh"
	run_stage lava-jobs "$LOGS/lava-jobs.log" /usr/bin/python3 "$S/lava.py" jobs \
		--profiles "$(csv $PROFILES)" --modes "$(csv $MODES)" --tests "${TESTS:-}" --matrix "$MATRIX"
	tail -n 1 "$LOGS/lava-jobs.log"
	[ "$1" = lava ] || exit 0
	echo "[lava     ] profiles: $PROFILES; modes: $MODES; matrix: $MATRIX; logs: build/lava/runs/"
	set +e
	/usr/bin/python3 "$S/lava.py" run --jobs "${GUESTS:-2}" | tee "$LOGS/lava.out"
	rc=${PIPESTATUS[0]}
	if [ -f "$BUILD/results.json" ]; then
		/usr/bin/python3 "$S/lava.py" compare "$BUILD/results.json" || rc=1
	fi
	set -e
	# The counts line last.
	grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOGS/lava.out" | tail -n 1
	exit "$rc"
	;;
lava-server)
	# Once, by hand: a local lava-server and worker (PostgreSQL and LAVA's
	# services from Debian's packages), the jobs submitted and read back
	# with lavacli (scripts/lava-server.sh).
	build $PROFILES
	run_stage lava-deps "$LOGS/lava-deps.log" bash "$S/lava-deps.sh" server
	run_stage lava-jobs "$LOGS/lava-jobs.log" /usr/bin/python3 "$S/lava.py" jobs \
		--profiles "$(csv $PROFILES)" --modes "$(csv $MODES)" --tests "${TESTS:-}" --matrix "$MATRIX"
	exec bash "$S/lava-server.sh"
	;;
export) exec bash "$S/export.sh" ;;
fresh-check)
	# No stage_deps here: the point is that the fresh root's own 'make deps'
	# installs everything (fresh-check.sh installs mmdebstrap on the host if missing).
	exec bash "$S/fresh-check.sh"
	;;
*) die "usage: rig.sh deps|tree|qemu|busybox|build|check|demo|shell|soak|bench|series-check|export|fresh-check|lava-jobs|lava|lava-server" ;;
esac
