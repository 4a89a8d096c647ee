# shellcheck shell=bash
# Common helpers for the rig's scripts: pinned versions, paths, stage output.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
LOGS=$BUILD/logs
# Machine-wide cache for QEMU, BusyBox and Debian source packages, reused by every
# clone on this machine while their inputs are unchanged (ccache plays that role
# for the kernel).
RIG_CACHE=${RIG_CACHE:-/var/cache/riscv-mhp-rig}
JOBS=${JOBS:-$(nproc)}
V=${V:-0}
mkdir -p "$LOGS"

# Pins from base/versions; the environment (make variables) may override them.
while IFS='=' read -r key val; do
	case $key in ''|\#*) continue ;; esac
	if [ -z "${!key:-}" ]; then
		printf -v "$key" '%s' "$val"
	fi
	export "${key?}"
done < "$TOP/base/versions"

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

note() {
	printf '       %s\n' "$*"
}

_t0=$(date +%s)

# No stage may die silently under set -e: name the command, file and line that
# failed, so a log is never empty after a failure.
set -E
# (Only under set -e: run_stage turns it off around the stage it reports itself.)
trap '_rc=$?; case $- in *e*) printf "error: %s: line %s: command failed (exit %s): %s\n" \
	"${BASH_SOURCE[0]##*/}" "$LINENO" "$_rc" "$BASH_COMMAND" >&2 ;; esac' ERR

# run_stage NAME LOG CMD...: run CMD with its output in LOG (or on the terminal
# with V=1), then print one line: stage, elapsed seconds, log path.
run_stage() {
	local name=$1 log=$2 start rc
	shift 2
	start=$(date +%s)
	printf '[%-9s] ...\r' "$name"
	if [ "$V" = 1 ]; then
		set +e
		"$@" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		set -e
	else
		set +e
		"$@" >"$log" 2>&1
		rc=$?
		set -e
	fi
	if [ "$rc" != 0 ]; then
		printf '%s: exit status %s after %ss\n' "$name" "$rc" "$(($(date +%s) - start))" >>"$log"
		printf '[%-9s] FAILED after %ss (exit %s), log: %s\n' "$name" \
			"$(($(date +%s) - start))" "$rc" "${log#"$TOP"/}"
		if [ "$V" != 1 ]; then
			echo "------ last lines of ${log#"$TOP"/} ------"
			tail -n 25 "$log"
			echo "------"
		fi
		exit "$rc"
	fi
	printf '[%-9s] ok in %3ss  log: %s\n' "$name" "$(($(date +%s) - start))" "${log#"$TOP"/}"
}

# Hash of files (their contents, not their paths: every clone on the machine
# shares the cache) and strings, used as a cache key.
inputs_hash() {
	{
		for f in "$@"; do
			if [ -f "$f" ]; then
				sha256sum <"$f"
			else
				printf '%s\n' "$f"
			fi
		done
	} | sha256sum | cut -c1-16
}

cross_prefix() {
	echo riscv64-linux-gnu-
}
