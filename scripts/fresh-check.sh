#!/bin/bash
# shellcheck disable=SC2317  # (functions run through run_stage and traps)
# fresh-check.sh: the README's commands on a truly fresh Debian 12 machine.
#
# A minimal Debian 12 root (mmdebstrap --variant=minbase, the apt sources of a
# standard install, plus only make, git and ca-certificates: what a new user
# needs to get the repository and type make) under build/fresh/root; the
# tracked files of this working tree copied into it as a git repository; then,
# chrooted as root in a private mount namespace: 'make deps tree' and
# 'make check TESTS=boot-sanity MODES=sv39 PROFILES=default', which must say
# '1 passed, 0 failed, 0 skipped'. Everything else the rig needs must come from
# its own 'make deps': machines that already have the packages installed (CI's)
# cannot see a missing install step.
#
# The machine's ccache, the rig's QEMU/BusyBox cache and apt's archives are
# bind-mounted into the root (read-write: what the root builds or downloads is
# reused), so this costs minutes, not a cold build. The mounts live only in the
# private mount namespace of the chrooted processes: they vanish with them, are
# never visible on the host, and the root is deleted only after no process runs
# in it and no mount of it is left in any namespace. KEEP=1 keeps the root.
. "$(dirname "$0")/lib.sh"

FRESH=$BUILD/fresh
ROOT=$FRESH/root
# The project's path inside the root, where a new user might clone it. Not
# this checkout's path: the root shares the host's process table, and a test
# that looks for its own processes by path (tests/host/runner-faults.py looks
# for tests/host/fake-qemu) would take a make check running here for its own
# and kill it. ccache hits do not need the same path (CCACHE_BASEDIR is the
# checkout, the kernel's paths are rewritten relative to it).
PROJ=/root/riscv-mhp
[ "$PROJ" != "$TOP" ] || PROJ=/root/riscv-mhp-fresh
HOST_CCACHE=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
ARCHIVES=/var/cache/apt/archives
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
# What 'make check' runs inside the root, and what it must print.
CHECK_ARGS="TESTS=boot-sanity MODES=sv39 PROFILES=default"
WANT="1 passed, 0 failed, 0 skipped"
# KEEP as the runner reads it: anything but empty or 0 keeps.
keep() { case ${KEEP:-0} in '' | 0) return 1 ;; esac; }
t_start=$(date +%s)

rel() { echo "${1#"$TOP"/}"; }

# Processes whose root directory is the fresh root (chrooted into it).
procs_in_root() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
	done
	return 0
}

# Mounts on or under the fresh root: the host's mount table (findmnt), then the
# table of every other mount namespace (one process per namespace, as seen from
# processes not chrooted into the root). Prints "PID MOUNTPOINT" lines.
mounts_of_root() {
	local p ns seen
	# This namespace: findmnt's.
	seen=" $(readlink /proc/self/ns/mnt) "
	findmnt -rn -o TARGET | awk -v r="$ROOT" '$0 == r || index($0, r "/") == 1 { print "host", $0 }'
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
		case $seen in *" $ns "*) continue ;; esac
		seen="$seen$ns "
		awk -v r="$ROOT" -v pid="${p#/proc/}" \
			'$5 == r || index($5, r "/") == 1 { print pid, $5 }' "$p/mountinfo" 2>/dev/null || true
	done
	return 0
}

# Descendants of a process (parent pids from /proc/PID/stat, one pass).
descendants() {
	local top=$1 p line ppid
	for p in /proc/[0-9]*; do
		read -r line 2>/dev/null <"$p/stat" || continue
		ppid=${line##*) }   # after the command name: "STATE PPID ..."
		ppid=${ppid#* }
		echo "${p#/proc/} ${ppid%% *}"
	done | awk -v top="$top" '{ parent[$1] = $2 }
		END { n = 1; q[1] = top
			for (i = 1; i <= n; i++) for (c in parent) if (parent[c] == q[i]) { q[++n] = c; print c } }'
}

# End what this run started: the stages' process tree and anything chrooted
# into the root (TERM, then KILL after 10 s), each by its pid.
stop_everything() {
	local pids i p
	for i in $(seq 1 20); do
		pids=$(
			{
				[ -n "${stages_pid:-}" ] && kill -0 "$stages_pid" 2>/dev/null &&
					{ descendants "$stages_pid"; echo "$stages_pid"; }
				procs_in_root
			} | sort -u | xargs
		)
		[ -z "$pids" ] && return 0
		if [ "$i" = 1 ]; then
			printf 'fresh-check: ending what still runs from this run (or in the root):' >&2
			for p in $pids; do printf ' %s(%s)' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)" >&2; done
			echo >&2
		fi
		# shellcheck disable=SC2086
		if [ "$i" -le 10 ]; then kill -TERM $pids 2>/dev/null; else kill -KILL $pids 2>/dev/null; fi
		sleep 1
	done
	pids=$(procs_in_root | xargs)
	[ -z "$pids" ] || echo "fresh-check: still running in the root: $pids" >&2
}

cleanup() {
	local rc=$? m size t
	trap - EXIT INT TERM
	set +e
	stop_everything
	m=$(mounts_of_root)
	if [ -n "$m" ] || [ -n "$(procs_in_root)" ]; then
		printf 'error: fresh root %s still mounted or in use; NOT deleted (it may hold bind mounts of the host caches):\n%s\n' \
			"$(rel "$ROOT")" "$m" >&2
		exit 1
	fi
	if [ -d "$ROOT$PROJ/build/logs" ]; then
		# The rig's own logs from inside the root (its failures are explained there).
		cp -a "$ROOT$PROJ/build/logs" "$LOGS/fresh"
	fi
	size=""
	[ -d "$ROOT" ] && size=$(du -sh --one-file-system "$ROOT" 2>/dev/null | cut -f1)
	if [ -d "$ROOT" ] && keep; then
		note "kept the root (${size}): $(rel "$ROOT") (KEEP=1; the next fresh-check deletes it)"
	elif [ -d "$ROOT" ]; then
		# No mount of it exists anywhere (checked above); --one-file-system as a
		# second guard. (Minutes on a disk mounted with 'discard': some 190,000
		# files, 80,000 of them build/linux's loose git objects.)
		printf '[%-9s] ...\r' cleanup
		t=$(date +%s)
		rm -rf --one-file-system "$ROOT"
		size="$size, deleted in $(($(date +%s) - t))s"
	fi
	rm -f "$FRESH/check.out"
	if [ "$rc" = 0 ]; then
		printf '[%-9s] ok in %3ss  (root %s)\n' fresh "$(($(date +%s) - t_start))" \
			"${size:-?}$(keep && echo ", kept")"
	elif [ "$rc" = 130 ] || [ "$rc" = 143 ]; then
		printf '[%-9s] interrupted after %ss\n' fresh "$(($(date +%s) - t_start))"
	else
		printf '[%-9s] FAILED after %ss; logs: build/logs/fresh-*.log%s\n' fresh "$(($(date +%s) - t_start))" \
			"$([ -d "$LOGS/fresh" ] && echo ", the rig's own from inside the root: build/logs/fresh/")"
	fi
	exit "$rc"
}

# What runs in the private mount namespace (as root, arguments: ROOT PROJ
# CCACHE_DIR RIG_CACHE ARCHIVES ENV CMD...): mount, then exec chroot, so that no
# process outside the root holds the namespace.
# shellcheck disable=SC2016
NS_SCRIPT='
set -euo pipefail
root=$1 proj=$2 ccache=$3 cache=$4 archives=$5 envs=$6
shift 6
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mkdir -p "$root/root/.cache/ccache" "$root$cache" "$root$archives"
mount --bind "$ccache" "$root/root/.cache/ccache"
mount --bind "$cache" "$root$cache"
mount --bind "$archives" "$root$archives"
exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin $envs \
	/bin/bash -c "cd \"\$0\" && exec \"\$@\"" "$proj" "$@"
'

# in_root CMD...: run CMD as root in the fresh root, from the project directory,
# with a clean environment (JOBS, V, KEEP passed on), in a private mount
# namespace holding /proc, /sys, /dev (with /dev/pts and /dev/shm) and the
# bind-mounted caches, all gone when the chrooted processes are.
in_root() {
	local envs="" v
	for v in JOBS V KEEP; do
		[ -n "${!v:-}" ] && envs="$envs $v=${!v}"
	done
	rm -f "$ROOT/etc/resolv.conf"
	cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
	unshare --mount --propagation private -- /bin/bash -c "$NS_SCRIPT" fresh-check \
		"$ROOT" "$PROJ" "$HOST_CCACHE" "$RIG_CACHE" "$ARCHIVES" "$envs" "$@"
}

# --- the stages (subshells with set -e: run_stage runs them with it off) ---

stage_root() (
	set -e
	mkdir -p "$FRESH"
	# mmdebstrap (root mode) mounts /proc, /dev... in the root while it works:
	# in a namespace of its own, so that none of it can be left on the host.
	unshare --mount --propagation private -- \
		mmdebstrap --variant=minbase --include=make,git,ca-certificates \
		bookworm "$ROOT" \
		"deb $MIRROR bookworm main" \
		"deb $MIRROR bookworm-updates main" \
		"deb $SECURITY bookworm-security main"
	echo "--- /etc/apt/sources.list of the root"
	cat "$ROOT/etc/apt/sources.list"
	echo "--- $(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W | wc -l) packages"
	echo "size: $(du -sh --one-file-system "$ROOT" | cut -f1)"
)

stage_copy() (
	set -e
	local dest=$ROOT$PROJ f n untracked
	mkdir -p "$dest"
	# The tracked files as they are in the working tree (what 'git clone' of
	# the next commit gives, if everything is committed); nothing of build/.
	git -C "$TOP" ls-files -z | while IFS= read -r -d '' f; do
		if [ -e "$TOP/$f" ] || [ -L "$TOP/$f" ]; then printf '%s\0' "$f"; else echo "tracked but deleted, not copied: $f" >&2; fi
	done | tar -C "$TOP" --null -T - -cf - | tar -C "$dest" -xf -
	n=$(git -C "$TOP" ls-files | wc -l)
	echo "copied $n tracked files to $PROJ in the root"
	untracked=$(git -C "$TOP" ls-files --others --exclude-standard)
	if [ -n "$untracked" ]; then
		echo "untracked files, not copied (a clone would not have them):"
		echo "$untracked"
	fi
	# A clone is a git repository: one commit of what was copied.
	git -C "$dest" init -q
	git -C "$dest" add -A
	git -C "$dest" -c user.name=fresh-check -c user.email=fresh-check@localhost \
		commit -q -m "working tree of $(git -C "$TOP" rev-parse --short HEAD) for fresh-check"
	git -C "$dest" log --oneline
)

stage_deps_tree() (
	set -e
	# V=1: the output of both (what apt-get installed on the fresh machine) is
	# in this log; the rig's own deps.log is overwritten by tree's deps stage.
	in_root make deps tree V=1
)

stage_check() (
	set -e
	local counts
	# shellcheck disable=SC2086
	in_root make check $CHECK_ARGS | tee "$FRESH/check.out"
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$FRESH/check.out" | tail -n 1)
	[ "$counts" = "$WANT" ] || die "make check $CHECK_ARGS in the fresh root: '${counts:-no counts line}', expected '$WANT'"
	echo "counts line as expected: $counts"
)

stages() {
	run_stage root "$LOGS/fresh-root.log" stage_root
	run_stage copy "$LOGS/fresh-copy.log" stage_copy
	untracked=$(git -C "$TOP" ls-files --others --exclude-standard | wc -l)
	[ "$untracked" = 0 ] || note "$untracked untracked file(s) not copied, see $(rel "$LOGS/fresh-copy.log")"
	run_stage deps+tree "$LOGS/fresh-deps-tree.log" stage_deps_tree
	run_stage check "$LOGS/fresh-check.log" stage_check
}

# --- refusals, before anything is changed ---

[ "$(id -u)" = 0 ] || die "fresh-check builds a Debian root and chroots into it: run it as root"
for t in unshare chroot findmnt flock git tar; do
	command -v "$t" >/dev/null || die "fresh-check needs '$t' on this host"
done
mkdir -p "$FRESH"
exec 9>"$FRESH/lock"
flock -n 9 || die "another fresh-check is running on $(rel "$FRESH") (lock $(rel "$FRESH/lock"))"

stale_m=$(mounts_of_root)
stale_p=$(procs_in_root | xargs)
if [ -n "$stale_m" ] || [ -n "$stale_p" ]; then
	die "a stale fresh root is in use, refusing to touch it: $(rel "$ROOT")
${stale_p:+processes chrooted into it (a previous run killed hard?): $stale_p
}${stale_m:+mounts of it (PID: namespace of that process, host: this one):
$stale_m
}End those processes (kill PID) or unmount it (umount -R), then run make fresh-check again.
Do not delete it while it is mounted: it may hold bind mounts of the host's caches."
fi

if ! command -v mmdebstrap >/dev/null; then
	note "mmdebstrap is not installed: installing it on this host (apt-get install mmdebstrap), log: $(rel "$LOGS/fresh-host.log")"
	{
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mmdebstrap ||
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mmdebstrap; }
	} >"$LOGS/fresh-host.log" 2>&1 || true
	command -v mmdebstrap >/dev/null ||
		die "could not install mmdebstrap (Debian package) on this host: see $(rel "$LOGS/fresh-host.log")"
fi
mkdir -p "$HOST_CCACHE" "$RIG_CACHE" "$ARCHIVES"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$LOGS/fresh"
if [ -e "$ROOT" ]; then
	# Left by KEEP=1 or a run killed hard; nothing mounts it (checked above).
	note "deleting the previous root $(rel "$ROOT")"
	rm -rf --one-file-system "$ROOT"
fi

echo "[fresh    ] a minimal Debian 12 root: make deps tree; make check $CHECK_ARGS"
# The stages run in the background so that a signal reaches the trap at once
# (bash runs traps only between foreground commands); the lock stays here.
stages 9>&- &
stages_pid=$!
rc=0
wait "$stages_pid" || rc=$?
stages_pid=""  # reaped: its pid may be reused
exit "$rc"
