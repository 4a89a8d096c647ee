# Helpers for the rig's guest tests (POSIX sh for BusyBox ash), sourced by each
# test. Output is KTAP v1 (Documentation/dev-tools/ktap.rst): the version line
# and a plan, one 'ok N desc' / 'not ok N desc' per check, '# SKIP reason'
# for checks that cannot run; exit 0 pass, 1 fail, 4 skip. The number of
# results must equal the plan: ktap_exit fails a test that ran short or long.
#
# The tests are a kselftest collection (memory-hotplug-rig, beside the
# kernel's own under the kselftest install: run_kselftest.sh runs them, and
# the rig's init runs them directly): RIG_DIR is the collection, whatever
# the current directory, and KSFT_DIR the install (vm/, memory-hotplug/).
KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4
RIG_DIR=$(cd "$(dirname "$0")" && pwd -P)
KSFT_DIR=${RIG_DIR%/*}
case :$PATH: in
*":$RIG_DIR/bin:"*) ;;
*) PATH=$RIG_DIR/bin:$PATH ;;
esac
# A rootfs other than the rig's initramfs may lack these mounts.
grep -q '^[^ ]* /sys/kernel/debug debugfs ' /proc/mounts ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# Scratch files go to /tmp (run_kselftest.sh starts a test in its
# collection's directory).
cd /tmp || exit 1
_n=0 _fail=0 _pass=0 _skip=0 _plan=""
_test=${0##*/}
_test=${_test%.sh}

ktap_plan() {
	_plan=$1
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

# skip_all REASON: the test cannot run here (a missing driver or interface).
# Before the plan, the plan says so: '1..0 # SKIP REASON' (ktap.rst), exit 4.
# After it, every check the plan still expects is reported skipped, so the
# count stays the plan's. Then exit (4 when nothing failed or passed).
skip_all() {
	if [ -z "$_plan" ]; then
		echo "KTAP version 1"
		echo "1..0 # SKIP $1"
		echo "# totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0"
		exit $KSFT_SKIP
	else
		while [ "$_n" -lt "$_plan" ]; do
			skip "$_test check $((_n + 1))" "$1"
		done
	fi
	ktap_exit
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

# ktap_exit: the totals line, then the exit status. A test that printed no
# plan, or whose number of results is not its plan, fails whatever its
# results said (an early exit must not look like a pass).
ktap_exit() {
	echo "# totals: pass:$_pass fail:$_fail xfail:0 xpass:0 skip:$_skip error:0"
	if [ -z "$_plan" ]; then
		echo "# $_test: no plan was printed"
		exit $KSFT_FAIL
	fi
	if [ "$_n" != "$_plan" ]; then
		echo "# $_test: planned $_plan checks, ran $_n"
		exit $KSFT_FAIL
	fi
	if [ "$_fail" -gt 0 ]; then exit $KSFT_FAIL; fi
	if [ "$_pass" -eq 0 ] && [ "$_skip" -gt 0 ]; then exit $KSFT_SKIP; fi
	exit $KSFT_PASS
}

# cmdline_param NAME: the value of kernel parameter NAME=VALUE (the last
# one given); status 1 when it is not on the command line.
cmdline_param() {
	_v=""
	_found=1
	for _a in $(cat /proc/cmdline); do
		case $_a in "$1="*) _v=${_a#"$1"=}; _found=0 ;; esac
	done
	[ $_found = 0 ] && echo "$_v"
}

# Kernel command-line parameter rig.NAME=VALUE (set by the host runner).
rig_param() {
	cmdline_param "rig.$1"
}

# /proc/meminfo field in kB, with the per-CPU vmstat deltas folded in first
# (vm.stat_refresh) so that counters such as PageTables are exact.
meminfo_kb() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo
}

# Free memory in kB: MemFree plus the pages on the per-CPU free lists, which
# MemFree does not count (order-0 pages freed one by one, e.g. vmemmap pages,
# land there first).
# settle: hand back what caches hold, so that MemFree counts what is in
# use: dirty data written, page cache and reclaimable slab dropped, and every
# slab cache shrunk. Shrinking a cache also empties KASAN's quarantine of its
# objects (kasan_cache_shrink()): a KASAN kernel holds freed objects there, up
# to 1/32 of RAM. Then wait (up to 20 s) until the free page count stops
# moving: a vmap area freed lazily is purged from a workqueue, and with
# KASAN_VMALLOC its shadow goes then, 1/8 of its size (128 MiB for the
# memremap() of a 1 GiB pmem namespace, which its unbind leaves behind).
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for _s in /sys/kernel/slab/*/shrink; do echo 1 >"$_s"; done 2>/dev/null
	_si=0
	_sf=$(free_kb)
	while [ $_si -lt 40 ]; do
		sleep 0.5
		_sg=$(free_kb)
		[ $((_sg - _sf)) -lt 1024 ] && [ $((_sf - _sg)) -lt 1024 ] && break
		_sf=$_sg
		_si=$((_si + 1))
	done
}

free_kb() {
	echo $(( $(meminfo_kb MemFree) + $(awk '/^ *count:/ { s += $2 } END { print s + 0 }' /proc/zoneinfo) * 4 ))
}

# meminfo_brief: the /proc/meminfo figures (kB) that move without a leak, on
# one line, for the diagnostics of a memory-drift check.
meminfo_brief() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '/^ *count:/ { pcp += $2 }
	     END { printf "pcp:%d ", pcp * 4 }' /proc/zoneinfo
	awk '/^(MemFree|Cached|Shmem|Slab|KernelStack|PageTables|VmallocUsed|Percpu):/ {
		sub(":", "", $1); printf "%s:%s ", $1, $2 } END { print "" }' /proc/meminfo
}

# ---- QMP from the guest ------------------------------------------------------
# QEMU gives the guest a QMP monitor of its own on the virtio-serial port
# rig.qmp (scripts/runner.py guest_qmp_args: a monitor on a socket chardev
# connected to the port's chardev), so tests drive QEMU with nothing on the
# host but QEMU's command line; the same options run the tests in a LAVA job
# or by hand. The monitor lives as long as QEMU, whoever has the port open:
# its capabilities are negotiated once per boot (/tmp/.rig-qmp.ready). The
# port has one opener at a time; a lock serialises callers. QMP commands that
# name host files (memory-backend-file, ...) have no place in a guest test.
RIG_QMP_TIMEOUT=${RIG_QMP_TIMEOUT:-30}

# qmp_port: the device node of the rig.qmp port; 1 when QEMU has none.
qmp_port() {
	for _p in /sys/class/virtio-ports/*; do
		[ "$(cat "$_p/name" 2>/dev/null)" = rig.qmp ] && { echo "/dev/${_p##*/}"; return 0; }
	done
	return 1
}

# require_qmp NAME: the test drives QEMU. Without a rig.qmp port (real
# hardware, or QEMU started without the options) the test is skipped; but
# when the command line says QEMU has one (rig.qmp=1, which the runner and
# the LAVA jobs set), a missing port fails one check first, as require_pmem.
require_qmp() {
	qmp_port >/dev/null && return 0
	if [ "$(rig_param qmp)" = 1 ]; then
		not_ok "$1: rig.qmp virtio-serial port present (rig.qmp=1)"
	fi
	skip_all "no rig.qmp virtio-serial port (not QEMU, or QEMU without a guest QMP monitor)"
}

# _qmp_xchg JSON: send JSON on fd 9 (the open port) with an id of its own
# and print the reply that carries that id, without it. The greeting, events
# (kept in /tmp/rig-qmp-events.log) and late replies to earlier requests
# that timed out are skipped. A request QEMU cannot parse gets an error
# without an id: that is its reply. The ids carry the kernel's boot id, so
# that no reply is taken for another boot's request.
_qmp_xchg() {
	_qseq=$(( $(cat /tmp/.rig-qmp.seq 2>/dev/null || echo 0) + 1 ))
	echo $_qseq >/tmp/.rig-qmp.seq
	_qid=rig-$(cut -c1-8 /proc/sys/kernel/random/boot_id)-$_qseq
	_qj=$(printf '%s\n' "$1" | sed 's/^[[:space:]]*//')
	case $_qj in
	'{'*) printf '{"id": "%s", %s\n' "$_qid" "${_qj#\{}" >&9 ;;
	*) printf '%s\n' "$_qj" >&9 ;;
	esac
	while :; do
		if ! IFS= read -r -t "$RIG_QMP_TIMEOUT" _ql <&9; then
			echo "{\"error\": {\"class\": \"RigTimeout\", \"desc\": \"no QMP reply in ${RIG_QMP_TIMEOUT}s\"}}"
			return 1
		fi
		_ql=${_ql%"$(printf '\r')"}
		case $_ql in
		*"\"id\": \"$_qid\""*)
			echo "$_ql" | sed "s/, \"id\": \"$_qid\"//; s/\"id\": \"$_qid\", //"
			return 0 ;;
		'{"QMP": '*) ;;
		*'"event": '*) echo "$_ql" >>/tmp/rig-qmp-events.log ;;
		*'"id": '*) ;;
		'{"error": '*) echo "$_ql"; return 0 ;;
		esac
	done
}

# rig_qmp JSON: run a QMP command in QEMU and print its JSON reply on one
# line (as QEMU writes it: the separators of Python's json.dumps). Errors of
# the rig's own (no port, port busy, no reply in RIG_QMP_TIMEOUT seconds)
# come as a QMP error of class RigError or RigTimeout, with status 1.
rig_qmp() {
	(
		# A holder waits at most RIG_QMP_TIMEOUT seconds per line read.
		if ! flock 8; then
			echo '{"error": {"class": "RigError", "desc": "flock on /tmp/.rig-qmp.lock failed"}}'
			exit 1
		fi
		if ! _qp=$(qmp_port); then
			echo '{"error": {"class": "RigError", "desc": "no rig.qmp virtio-serial port"}}'
			exit 1
		fi
		# A failed exec redirection would end this shell before any
		# message: try the open in a subshell first.
		if ! (exec 9<>"$_qp") 2>/dev/null; then
			echo "{\"error\": {\"class\": \"RigError\", \"desc\": \"cannot open $_qp (another opener?)\"}}"
			exit 1
		fi
		exec 9<>"$_qp"
		# Negotiated once per boot (the monitor lives as long as QEMU);
		# again if QEMU says it is not.
		_boot=$(cat /proc/sys/kernel/random/boot_id)
		for _try in 1 2; do
			if [ "$(cat /tmp/.rig-qmp.ready 2>/dev/null)" != "$_boot" ]; then
				_qr=$(_qmp_xchg '{"execute": "qmp_capabilities"}')
				case $_qr in
				'{"return": {}}' | *'negotiation is already complete'*) echo "$_boot" >/tmp/.rig-qmp.ready ;;
				*) echo "$_qr"; exit 1 ;;
				esac
			fi
			_qr=$(_qmp_xchg "$1")
			_qrc=$?
			case $_qr in
			*'Expecting capabilities negotiation'*) rm -f /tmp/.rig-qmp.ready ;;
			*) break ;;
			esac
		done
		echo "$_qr"
		exit $_qrc
	) 8>>/tmp/.rig-qmp.lock
}

# ---- memory hotplug helpers ---------------------------------------------
MEMSYS=/sys/devices/system/memory

block_bytes() {
	echo $((0x$(cat $MEMSYS/block_size_bytes)))
}

# paging_mode: the MMU mode the kernel runs in (sv39, sv48 or sv57).
paging_mode() {
	sed -n 's/^mmu[^:]*: //p' /proc/cpuinfo | head -n 1
}

# dt_cells FILE: the 32-bit cells of a devicetree property, in hex, one a line.
dt_cells() {
	hexdump -v -e '1/1 "%02x"' "$1" | fold -w 8
	echo
}

# ram_end: where the machine's RAM ends (exclusive), whatever mem= hid: on
# the rig's QEMU, from rig.mem_mib (RAM starts at 0x80000000 on virt);
# elsewhere the highest end among the devicetree's memory nodes.
ram_end() {
	if _m=$(rig_param mem_mib); then
		echo $((0x80000000 + _m * 1048576))
		return
	fi
	_ac=$((0x$(dt_cells /proc/device-tree/#address-cells))) _sc=$((0x$(dt_cells /proc/device-tree/#size-cells)))
	_max=0
	for _r in /proc/device-tree/memory@*/reg; do
		[ -f "$_r" ] || continue
		set -- $(dt_cells "$_r")
		while [ $# -ge $((_ac + _sc)) ]; do
			_ra=0 _rs=0 _i=0
			while [ $_i -lt $_ac ]; do _ra=$(((_ra << 32) | 0x$1)); shift; _i=$((_i + 1)); done
			_i=0
			while [ $_i -lt $_sc ]; do _rs=$(((_rs << 32) | 0x$1)); shift; _i=$((_i + 1)); done
			[ $((_ra + _rs)) -gt $_max ] && _max=$((_ra + _rs))
		done
	done
	echo $_max
}

# Physical addresses (decimal) of the blocks the machine has as RAM that the
# kernel did not get at boot (hidden with mem=): from the first block
# boundary after the last boot "System RAM" up to the end of RAM (ram_end).
hidden_blocks() {
	_bs=$(block_bytes)
	_end=$(sed -n 's/^[0-9a-f]*-\([0-9a-f]*\) : System RAM$/\1/p' /proc/iomem | tail -n 1)
	_a=$(( (0x$_end + _bs) / _bs * _bs ))
	_ram_end=$(ram_end)
	while [ $_a -lt $_ram_end ]; do
		echo $_a
		_a=$((_a + _bs))
	done
}

# require_hidden_ram NAME [MIB]: the test hot-adds RAM the kernel was booted
# without (mem=): at least MIB MiB of it (default one block). Without that
# it is skipped, unless the command line promised it (mem= and rig.mem_mib,
# as the rig boots it): then it fails one check.
require_hidden_ram() {
	_want=${2:-$(($(block_bytes) >> 20))}
	[ $(($(hidden_blocks | wc -l) * $(block_bytes) >> 20)) -ge "$_want" ] && return 0
	if rig_param mem_mib >/dev/null && cmdline_param mem >/dev/null; then
		[ -n "$_plan" ] || ktap_plan 1
		not_ok "$1: $_want MiB of RAM hidden with mem= (rig.mem_mib=$(rig_param mem_mib))"
		skip_all "not enough hidden RAM"
	fi
	skip_all "needs $_want MiB of RAM hidden from the kernel at boot (boot with mem= below the RAM size)"
}

# require_node1 NAME: the test needs the hotpluggable second NUMA node the
# rig describes in rig.node1=START,SIZE (suite.toml 'hotplug_node'); skipped
# without it.
require_node1() {
	rig_param node1 >/dev/null ||
		skip_all "needs a hotpluggable second NUMA node, given as rig.node1=START,SIZE"
}

# Like hidden_blocks, but from a saved boot snapshot rather than /proc/iomem
# (hot-added ranges also show up as System RAM).
boot_ram_end() {
	sed -n 's/^[0-9a-f]*-\([0-9a-f]*\) : System RAM$/\1/p' /proc/iomem | tail -n 1
}

block_of() {
	echo $(($1 / $(block_bytes)))
}

hex() {
	printf '0x%x' "$1"
}

# probe ADDR / unprobe ADDR: the series' sysfs interfaces (ARCH_MEMORY_PROBE).
probe() {
	printf '0x%x' "$1" >$MEMSYS/probe
}

unprobe() {
	printf '0x%x' "$1" >$MEMSYS/unprobe
}

set_state() {
	echo "$2" >$MEMSYS/memory$1/state
}

# offline_retry BLOCK [TRIES]: offline a block, retrying (10 times unless
# TRIES says otherwise) after dropping caches and compacting: kernel
# (ZONE_NORMAL) memory can hold unmovable pages for a while.
offline_retry() {
	_i=0
	while ! set_state $1 offline 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -ge "${2:-10}" ] && return 1
		sync
		echo 3 >/proc/sys/vm/drop_caches
		echo 1 >/proc/sys/vm/compact_memory
		for _s in /sys/kernel/slab/*/shrink; do echo 1 >"$_s"; done 2>/dev/null
		sleep 0.5
	done
	[ $_i -gt 0 ] && diag "memory$1 offline after $_i retries"
	return 0
}

state_of() {
	cat $MEMSYS/memory$1/state
}

# A snapshot of what hot(un)plug must restore: MemTotal, the System RAM lines
# of /proc/iomem, the memory blocks with their states, and the kernel's page
# tables below the PGD for the linear map and the vmemmap, counted per level by
# walking them (rig_peek). PageTables of /proc/meminfo also counts the page
# tables of processes, which move with whatever userspace runs meanwhile; it is
# recorded separately (pagetables_kb) and compared where the test controls
# userspace.
snapshot() {
	peek_load
	{
		echo "MemTotal $(meminfo_kb MemTotal)"
		cat /sys/kernel/debug/rig_peek/ptpages
		cat /sys/kernel/debug/rig_peek/kpgd
		grep 'System RAM' /proc/iomem
		for _b in $MEMSYS/memory*; do
			echo "${_b##*/} $(cat "$_b/state")"
		done | sort
	} >"$1"
}

# peek_load: the rig_peek module (tests/kmod, built for this kernel), once.
peek_load() {
	[ -d /sys/kernel/debug/rig_peek ] || insmod "$RIG_DIR/kmod/rig_peek.ko"
}

# peek_select PHYS: point rig_peek at PHYS's linear-map address.
peek_select() {
	peek_load
	echo "$(hex $1)" >/sys/kernel/debug/rig_peek/phys
}

# kleaf PHYS: the level of the linear-map leaf that maps PHYS (pgd, p4d,
# pud, pmd, pte; LEVEL-invalid without the valid bit) or none (rig_peek kleaf).
kleaf() {
	peek_select $1 && cat /sys/kernel/debug/rig_peek/kleaf
}

# kleaf_level PHYS: kleaf without "-invalid": the level of the leaf, whether or
# not debug_pagealloc has unmapped the page.
kleaf_level() {
	kleaf $1 | sed 's/-invalid$//'
}

# linear_map_bytes PHYS_START PHYS_END: "LEVEL BYTES" for each range of
# ptdump's linear mapping that maps part of [PHYS_START, PHYS_END), with the
# bytes of that part (ptdump's ranges are virtual: rig_peek gives __va() of
# the start). Shell arithmetic: kernel addresses do not fit awk's doubles.
linear_map_bytes() {
	peek_select $1
	_s=$(($(cat /sys/kernel/debug/rig_peek/addr)))
	_e=$((_s + $2 - $1))
	_lin=0
	while read -r _range _phys _size _level _rest; do
		case $_range in
		---*) case "$_phys $_size $_level $_rest" in *"Linear mapping"*) _lin=1 ;; *) _lin=0 ;; esac; continue ;;
		0x*-0x*) ;;
		*) continue ;;
		esac
		[ $_lin = 1 ] || continue
		_rs=$((${_range%-*})) _re=$((${_range#*-}))
		[ $_rs -lt $_e ] && [ $_re -gt $_s ] || continue
		[ $_rs -lt $_s ] && _rs=$_s
		[ $_re -gt $_e ] && _re=$_e
		echo "$_level $((_re - _rs))"
	done </sys/kernel/debug/kernel_page_tables
}

# kpeek PHYS: PHYS reads through the linear map (rig_peek peek, no oops).
kpeek() {
	peek_select $1 && cat /sys/kernel/debug/rig_peek/peek >/dev/null 2>&1
}

# require_probe: skip the whole test (skip_all) on a kernel without the
# series' probe/unprobe files.
require_probe() {
	if [ ! -w $MEMSYS/probe ] || [ ! -w $MEMSYS/unprobe ]; then
		skip_all "no $MEMSYS/probe and unprobe (the series is not applied)"
	fi
}

# Kernel page-table pages below the PGD for the linear map and the vmemmap.
# The tables right below the PGD ("REGION-top" lines), which hot-add may
# allocate and nothing frees, are not counted: kernel_top_pages counts them.
kernel_pt_pages() {
	peek_load
	awk '$1 !~ /-top$/ { n += $3 + $5 + $7 + $9 } END { print n }' /sys/kernel/debug/rig_peek/ptpages
}

kernel_top_pages() {
	peek_load
	awk '$1 ~ /-top$/ { n += $2 } END { print n }' /sys/kernel/debug/rig_peek/ptpages
}

# Top-level entries (rig_peek kpgd "REGION INDEX VALUE" lines) and the count
# of the tables below them ("REGION-top N") are not restored by removal: an
# entry is filled when memory is first mapped under it and then kept.
_snap_fixed() {
	awk '!($1 ~ /^(linear|vmemmap|kasan)$/ && $2 ~ /^[0-9]+$/) && $1 !~ /-top$/' "$1"
}

# kpgd_diff BEFORE AFTER: how the top-level entries of AFTER differ from
# BEFORE, one per line: "filled REGION INDEX" for an entry that was empty,
# "changed REGION INDEX: ..." for any other difference. The values are
# compared as strings: awk takes a hex value such as 000000002086e401 for a
# number (2086e401, which overflows to inf), and BusyBox's awk compares two
# numbers by subtracting them, so two equal infinities differ (inf - inf is
# NaN).
kpgd_diff() {
	awk 'NR == FNR { if ($2 ~ /^[0-9]+$/) v[$1 " " $2] = $3; next }
	     $1 ~ /^(linear|vmemmap|kasan)$/ && $2 ~ /^[0-9]+$/ {
		k = $1 " " $2
		if (!(k in v)) print "changed " k ": new, " $3
		else if (("x" v[k]) == ("x" $3)) next
		else if (v[k] ~ /^0+$/) print "filled " k
		else print "changed " k ": was " v[k] ", now " $3
	     }' "$1" "$2"
}

# kpgd_changed BEFORE AFTER: kpgd_diff's entries other than filled ones.
kpgd_changed() {
	kpgd_diff "$1" "$2" | sed -n 's/^changed //p'
}

# check_snapshot DESC BEFORE AFTER: ok when the two snapshots are the same,
# except for top-level entries that were empty and are now filled, and no
# process holds a stale copy of a kernel top-level entry; else the
# differences and not ok.
check_snapshot() {
	if snapshot_same "$2" "$3"; then ok "$1"; else not_ok "$1"; fi
}

# snapshot_same BEFORE AFTER: check_snapshot's test, without a result line;
# the differences go out as diagnostics.
snapshot_same() {
	_snap_fixed "$1" >/tmp/snap.a
	_snap_fixed "$2" >/tmp/snap.b
	_chg=$(kpgd_changed "$1" "$2")
	_same=0
	if ! cmp -s /tmp/snap.a /tmp/snap.b || [ -n "$_chg" ] || grep -q '^stale' "$2"; then
		diff /tmp/snap.a /tmp/snap.b | sed 's/^/# /'
		[ -z "$_chg" ] || echo "$_chg" | sed 's/^/# top-level entry changed: /'
		grep '^stale' "$2" | sed 's/^/# /'
		_same=1
	fi
	rm -f /tmp/snap.a /tmp/snap.b
	return $_same
}

# kpgd_save FILE: the kernel's top-level entries for the linear map, the
# vmemmap and the KASAN shadow (rig_peek kpgd; a fresh process reads them,
# so they are swapper_pg_dir's), and any entry PID 1's copy has stale.
kpgd_save() {
	peek_load
	cat /sys/kernel/debug/rig_peek/kpgd >"$1"
}

# check_kpgd DESC FILE: the top-level entries are bit for bit those saved in
# FILE, or were empty there (the series fills an entry when it first maps
# memory under it and never changes it after that), and PID 1's copy
# agrees.
check_kpgd() {
	kpgd_save /tmp/kpgd.now
	check_snapshot "$1" "$2" /tmp/kpgd.now
}

# cycle_block ADDR ZONE: probe, online in ZONE, offline and unprobe one block;
# on failure, take the block back out as far as possible and return 1.
cycle_block() {
	_b=$(block_of $1)
	if probe $1 && set_state $_b online_$2 && set_state $_b offline && unprobe $1; then
		return 0
	fi
	[ -e $MEMSYS/memory$_b ] && { set_state $_b offline; unprobe $1; } 2>/dev/null
	return 1
}

# ---- QMP helpers and memory devices (virtio-mem, virtio-pmem, pc-dimm) -------
# The replies of rig_qmp are one JSON line as Python's json.dumps prints it.

# qmp_ok REPLY: the command succeeded.
qmp_ok() {
	case $1 in *'"return"'*) return 0 ;; esac
	return 1
}

# qmp_desc REPLY: the error description of a failed command.
qmp_desc() {
	echo "$1" | sed -n 's/.*"desc": "\([^"]*\)".*/\1/p'
}

# qmp_num REPLY: the number a command returned ({"return": N}).
qmp_num() {
	echo "$1" | sed -n 's/^{"return": \([0-9]*\)}$/\1/p'
}

# qom_get ID PROP / qom_set ID PROP VALUE on a device given by its id.
qom_get() {
	qmp_num "$(rig_qmp "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine/peripheral/$1\", \"property\": \"$2\"}}")"
}

qom_set() {
	rig_qmp "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/$1\", \"property\": \"$2\", \"value\": $3}}"
}

# memdev_field ID FIELD: FIELD (a number) of the memory device ID in
# query-memory-devices, empty when there is no such device.
memdev_field() {
	rig_qmp '{"execute": "query-memory-devices"}' | sed 's/{"type"/\n&/g' |
		grep "\"id\": \"$1\"" | sed -n "s/.*\"$2\": \\([0-9]*\\).*/\\1/p"
}

# memdev_count: how many memory devices QEMU has.
memdev_count() {
	rig_qmp '{"execute": "query-memory-devices"}' | grep -o '{"type"' | wc -l
}

# wait_memtotal KB SECONDS: wait until MemTotal is KB; prints the seconds
# (with tenths) it took, returns 1 on timeout.
wait_memtotal() {
	_t0=$(mstime)
	while [ "$(meminfo_kb MemTotal)" != "$1" ]; do
		[ $(($(mstime) - _t0)) -gt $(($2 * 1000)) ] && return 1
		sleep 0.2
	done
	_ms=$(($(mstime) - _t0))
	echo "$((_ms / 1000)).$((_ms % 1000 / 100))"
}

# wait_qom ID PROP VALUE SECONDS: wait until QOM property PROP of ID is VALUE.
wait_qom() {
	_i=0
	while [ "$(qom_get $1 $2)" != "$3" ]; do
		_i=$((_i + 1))
		[ $_i -gt $(($4 * 5)) ] && return 1
		sleep 0.2
	done
	return 0
}

# memtouch_start MIB NAME [ARGS]: fill MIB MiB in a memtouch that holds it
# (--signals; ARGS e.g. --node 1); its pid in /tmp/NAME.pid, its output in
# /tmp/NAME.out. Returns once filled.
memtouch_start() {
	_mib=$1 _name=$2
	shift 2
	memtouch "$_mib" --signals "$@" >/tmp/$_name.out 2>&1 &
	echo $! >/tmp/$_name.pid
	_i=0
	while ! grep -q 'written and verified' /tmp/$_name.out; do
		_i=$((_i + 1))
		if [ $_i -gt 3000 ] || ! kill -0 "$(cat /tmp/$_name.pid)" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	grep -q ', 0 bad words' /tmp/$_name.out
}

# memtouch_verify NAME: have it verify everything again; 0 when no bad word.
memtouch_verify() {
	_mv=$(grep -c 'verify [0-9]*:' /tmp/$1.out)
	kill -USR1 "$(cat /tmp/$1.pid)" || return 1
	_i=0
	while [ "$(grep -c 'verify [0-9]*:' /tmp/$1.out)" = "$_mv" ]; do
		_i=$((_i + 1))
		[ $_i -gt 3000 ] && return 1
		sleep 0.1
	done
	tail -n 1 /tmp/$1.out | grep -q ': 0 bad words'
}

# memtouch_stop NAME: end it; its exit status (0: every verification clean).
memtouch_stop() {
	kill -USR2 "$(cat /tmp/$1.pid)"
	wait "$(cat /tmp/$1.pid)"
}

# qmp_refused DESC PATTERN JSON: the QMP command fails and its error mentions
# PATTERN (case-insensitive).
qmp_refused() {
	_r=$(rig_qmp "$3")
	echo "QMP: $3 -> $_r"
	if qmp_ok "$_r"; then
		not_ok "$1: refused"
	elif ! qmp_desc "$_r" | grep -qi "$2"; then
		diag "error '$(qmp_desc "$_r")' does not mention '$2'"
		not_ok "$1: refused"
	else
		ok "$1: refused ($(qmp_desc "$_r"))"
	fi
}

# require_pmem NAME: the pmem region the runner described (rig.pmem, from
# suite.toml 'pmem') must be there: missing, it fails the test (one failed
# check, the rest of the plan skipped); a test booted without one is skipped.
require_pmem() {
	[ -d /sys/bus/nd/devices/region0 ] && return 0
	if rig_param pmem >/dev/null; then
		not_ok "$1: pmem region $(rig_param pmem) present (OF_PMEM, pmem-region node)"
	fi
	skip_all "no pmem region (suite.toml 'pmem' not set)"
}

# expect_err DESC ERRNO FILE VALUE: writing VALUE to FILE must fail with ERRNO
# (as sysfs-write names it).
expect_err() {
	_out=$(sysfs-write "$3" "$4")
	case $_out in
	"$2 "*) ok "$1 -> $_out" ;;
	*) diag "$1: writing '$4' to $3 gave: $_out (want $2)"; not_ok "$1" ;;
	esac
}

# reserved_pages PHYS SIZE: PageReserved pages in the range (/proc/kpageflags).
reserved_pages() {
	pageflags "$1" "$2" | awk '/ reserved/ { n += $1 } END { print n + 0 }'
}

# zone_present NODE ZONE: 'present' pages of that zone (0 when it has none).
zone_present() {
	awk -v h="Node $1, zone" -v z="$2" '
		$0 ~ "^" h { cur = ($4 == z) }
		cur && $1 == "present" { n = $2 }
		END { print n + 0 }' /proc/zoneinfo
}

# node_blocks START SIZE: the memory block numbers covering the range.
node_blocks() {
	_b=$(block_of $1)
	_e=$(( $(block_of $(($1 + $2 - 1))) ))
	while [ $_b -le $_e ]; do echo $_b; _b=$((_b + 1)); done
}

# memblock_per_node START: count and KiB of the boot memblock reservations
# (memblock=debug: the memblock_reserve lines, each allocation included) below
# and at or above START, as "N0 KIB0 N1 KIB1".
memblock_per_node() {
	dmesg | sed -n 's/.*memblock_reserve: \[\(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)\].*/\1 \2/p' | {
		n0=0 k0=0 n1=0 k1=0
		while read -r _s _e; do
			if [ $((_e)) -ge $(($1)) ]; then
				n1=$((n1 + 1)); k1=$((k1 + (_e - _s + 1) / 1024))
			else
				n0=$((n0 + 1)); k0=$((k0 + (_e - _s + 1) / 1024))
			fi
		done
		echo "$n0 $k0 $n1 $k1"
	}
}

# iomem_count NAME START SIZE: /proc/iomem entries called NAME (at any depth)
# that start inside the range.
iomem_count() {
	sed -n "s/^ *\([0-9a-f]*\)-[0-9a-f]* : $1\$/\1/p" /proc/iomem | {
		_n=0
		while read -r _a; do
			[ $((0x$_a)) -ge $2 ] && [ $((0x$_a)) -lt $(($2 + $3)) ] && _n=$((_n + 1))
		done
		echo $_n
	}
}
