# Helpers for the rig's guest tests (POSIX sh for BusyBox ash), sourced by each
# test. Output is KTAP: a plan, one 'ok N desc' / 'not ok N desc' per check,
# '# SKIP reason' for checks that cannot run; exit 0 pass, 1 fail, 4 skip.
KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4
_n=0 _fail=0 _pass=0 _skip=0

ktap_plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

ok() {
	_n=$((_n + 1)); _pass=$((_pass + 1))
	echo "ok $_n $*"
}

not_ok() {
	_n=$((_n + 1)); _fail=$((_fail + 1))
	echo "not ok $_n $*"
}

skip() {
	_n=$((_n + 1)); _skip=$((_skip + 1))
	echo "ok $_n $1 # SKIP $2"
}

# check DESC CMD...: 'ok' when CMD succeeds.
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else not_ok "$_d"; fi
}

# check_eq DESC GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		echo "# $1: got '$2', want '$3'"
		not_ok "$1"
	fi
}

diag() {
	echo "# $*"
}

ktap_exit() {
	echo "# totals: pass:$_pass fail:$_fail skip:$_skip"
	if [ "$_fail" -gt 0 ]; then exit $KSFT_FAIL; fi
	if [ "$_pass" -eq 0 ] && [ "$_skip" -gt 0 ]; then exit $KSFT_SKIP; fi
	exit $KSFT_PASS
}

# Kernel command-line parameter rig.NAME=VALUE (set by the host runner).
rig_param() {
	for _a in $(cat /proc/cmdline); do
		case $_a in "rig.$1="*) echo "${_a#rig.$1=}"; return 0 ;; esac
	done
	return 1
}

meminfo_kb() {
	sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo
}

# rig_qmp JSON: run a QMP command on the host (through the runner's virtio-serial
# control port) and print its JSON reply on one line.
rig_qmp() {
	_port=""
	for _p in /sys/class/virtio-ports/*; do
		[ "$(cat "$_p/name" 2>/dev/null)" = rig.ctl ] && _port=/dev/${_p##*/}
	done
	[ -n "$_port" ] || { echo '{"error": "no rig.ctl port"}'; return 1; }
	exec 9<>"$_port"
	echo "qmp $1" >&9
	read -r _reply <&9
	exec 9<&-
	echo "$_reply"
}
