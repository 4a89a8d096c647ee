#!/bin/sh
# Hot-add the RAM hidden with mem= through the probe interface: half of it as
# kernel memory, half as movable memory. Check the memory blocks, their zones,
# MemTotal and /proc/iomem, fill all free memory with a pattern and verify it,
# then offline and remove everything: MemTotal, /proc/iomem, the memory blocks
# and the kernel's page tables must return exactly.
#
# The movable half goes first; then each kernel block is probed, onlined,
# checked, offlined and removed on its own: once the kernel has put unmovable allocations (slab, page tables) in
# ZONE_NORMAL memory it may refuse to offline it, which is what ZONE_NORMAL
# means, not a bug. Using hot-added kernel memory under load is the job of
# hotplug-kasan.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-add

bs=$(block_bytes)
blocks=$(hidden_blocks)
n=$(echo $blocks | wc -w)
nk=$((n / 2))
kernel=$(echo $blocks | tr ' ' '\n' | head -n $nk)
movable=$(echo $blocks | tr ' ' '\n' | tail -n $((n - nk)))
ktap_plan 17
diag "block size $bs, $n hidden blocks: $(for a in $blocks; do hex $a; printf ' '; done)"
snapshot /tmp/before
total0=$(meminfo_kb MemTotal)

# online_zone ZONE WANT BLOCKS...: online each block, check state and zone.
online_zone() {
	_z=$1 _want=$2 _bad=0
	shift 2
	for _a in "$@"; do
		_b=$(block_of $_a)
		set_state $_b online_$_z || _bad=$((_bad + 1))
		[ "$(state_of $_b)" = online ] || _bad=$((_bad + 1))
		[ "$(cat $MEMSYS/memory$_b/valid_zones)" = "$_want" ] ||
			{ diag "memory$_b valid_zones '$(cat $MEMSYS/memory$_b/valid_zones)', want $_want"; _bad=$((_bad + 1)); }
	done
	echo $_bad
}

# covered ADDRS...: how many of the blocks /proc/iomem shows as System RAM.
covered() {
	_c=0
	for _a in "$@"; do
		for _r in $(sed -n 's/^\([0-9a-f]*-[0-9a-f]*\) : System RAM$/\1/p' /proc/iomem); do
			_s=$((0x${_r%-*})) _e=$((0x${_r#*-}))
			[ $_s -le $_a ] && [ $_e -ge $((_a + bs - 1)) ] && { _c=$((_c + 1)); break; }
		done
	done
	echo $_c
}

# probed_ok ADDRS...: blocks that exist, are offline and may go to Normal or Movable.
probed_ok() {
	_bad=0
	for _a in "$@"; do
		_b=$(block_of $_a)
		[ "$(state_of $_b)" = offline ] || { diag "memory$_b: $(state_of $_b 2>&1)"; _bad=$((_bad + 1)); }
		case " $(cat $MEMSYS/memory$_b/valid_zones) " in
		*Normal*Movable* | *Movable*Normal*) ;;
		*) diag "memory$_b valid_zones: $(cat $MEMSYS/memory$_b/valid_zones)"; _bad=$((_bad + 1)) ;;
		esac
	done
	echo $_bad
}

# Movable memory, all at once, used, then removed.
fails=0
for a in $movable; do
	probe $a || { diag "probe $(hex $a) failed"; fails=$((fails + 1)); }
done
check_eq "probe $((n - nk)) more blocks" "$fails" 0
check_eq "new blocks offline, Normal and Movable in valid_zones" "$(probed_ok $movable)" 0
check_eq "online $((n - nk)) blocks movable (zone Movable)" "$(online_zone movable Movable $movable)" 0
check_eq "MemTotal grew by the $((n - nk)) movable blocks" "$(($(meminfo_kb MemTotal) - total0))" "$(((n - nk) * bs / 1024))"
check_eq "/proc/iomem System RAM covers every movable block" "$(covered $movable)" "$((n - nk))"

free_mib=$(($(meminfo_kb MemAvailable) / 1024 - 48))
diag "memtouch $free_mib MiB (MemAvailable less 48 MiB: boot RAM and the movable blocks)"
check "pattern-fill and verify ${free_mib} MiB" memtouch $free_mib

bad=0
for a in $movable; do
	b=$(block_of $a)
	set_state $b offline || { diag "offline memory$b: $(sysfs-write $MEMSYS/memory$b/state offline)"; bad=$((bad + 1)); }
done
check_eq "offline every movable block" "$bad" 0
bad=0
for a in $movable; do
	unprobe $a || { diag "unprobe $(hex $a) failed"; bad=$((bad + 1)); }
	[ ! -e $MEMSYS/memory$(block_of $a) ] || bad=$((bad + 1))
done
check_eq "remove every movable block" "$bad" 0
check_eq "/proc/iomem no longer shows them" "$(covered $movable)" 0

# Kernel memory, one block at a time. Between online and offline the loop
# only uses shell builtins: every fork would put a new process's page tables
# and slab objects into the block just onlined, and pin it.
memtotal_builtin() {
	while read -r _k _v _u; do
		[ "$_k" = MemTotal: ] && { echo "$_v"; return; }
	done </proc/meminfo
}
bad=0 grew=0 pb=0 pinned=""
for a in $kernel; do
	b=$(block_of $a)
	t0=$(meminfo_kb MemTotal)
	probe $a || { diag "probe $(hex $a) failed"; pb=$((pb + 1)); continue; }
	[ "$(probed_ok $a)" = 0 ] || pb=$((pb + 1))
	set_state $b online_kernel || bad=$((bad + 1))
	read -r st <$MEMSYS/memory$b/state
	read -r zone <$MEMSYS/memory$b/valid_zones
	echo 1 >/proc/sys/vm/stat_refresh
	t1=$(memtotal_builtin)
	[ "$st $zone" = "online Normal" ] || { echo "# memory$b: $st, zone $zone"; bad=$((bad + 1)); }
	[ $((t1 - t0)) = $((bs / 1024)) ] || grew=$((grew + 1))
	if ! offline_retry $b; then
		err=$(sysfs-write $MEMSYS/memory$b/state offline)
		diag "memory$b: $err; pages neither free nor on an LRU:"
		pageflags $a $bs | sed 's/^/#   /'
		if [ "${err%% *}" = EBUSY ]; then pinned="$pinned $a"; else bad=$((bad + 1)); fi
	elif ! unprobe $a; then
		bad=$((bad + 1))
	fi
done
npinned=$(echo $pinned | wc -w)
check_eq "probe $nk blocks one by one: offline, Normal and Movable possible" "$pb" 0
check_eq "online each as kernel memory (zone Normal), offline and remove it (EBUSY aside)" "$bad" 0
check_eq "MemTotal grew by a block for each" "$grew" 0
check "at least one kernel block offlined and removed ($npinned pinned)" test "$npinned" -lt "$nk"

snapshot /tmp/after
# A pinned kernel block stays, with its linear map and memmap: take it out.
if [ "$npinned" -gt 0 ]; then
	diag "$npinned kernel blocks pinned by unmovable allocations: comparing without them and without page-table counts"
	for a in $pinned; do
		sed -i "/^memory$(block_of $a) online$/d; /^$(printf '%x' $a)-.* : System RAM$/d" /tmp/after
	done
	sed -i "s/^MemTotal .*/MemTotal $(($(meminfo_kb MemTotal) - npinned * bs / 1024))/" /tmp/after
	sed -i '/^linear /d; /^vmemmap /d' /tmp/before /tmp/after
fi
check_snapshot "MemTotal, kernel page tables, /proc/iomem and blocks as before the add" /tmp/before /tmp/after

# A block under top-level entries of the linear map and of the vmemmap that
# nothing has used yet: in the second vmemmap entry, past boot memory and the
# blocks above. No memory is there and it is never onlined; probing it only
# maps it and initialises its memmap, which this shell does (a builtin write)
# through its own PGD, forked long before: without the copy of the new
# vmemmap entry into every PGD, that write faults. A new process and PID 1
# must see both entries; unprobe frees the tables below them and keeps them.

# kpgd_val REGION INDEX: that top-level entry as a fresh process sees it.
kpgd_val() {
	awk -v r=$1 -v i=$2 '$1 == r && $2 == i { print $3 }' /sys/kernel/debug/rig_peek/kpgd
}

# iomem_free START END: no /proc/iomem range overlaps [START, END].
iomem_free() {
	for _r in $(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : .*/\1-\2/p' /proc/iomem); do
		[ $((0x${_r%-*})) -gt $2 ] || [ $((0x${_r#*-})) -lt $1 ] || return 1
	done
}

# Earlier patches of the series pre-allocated every top-level entry at boot.
why=""
[ "$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory)" = N ] ||
	why="memmap_on_memory would put its memmap where no memory is"
! dmesg | grep -q 'pre-allocated .* top-level entries .* for the linear map' ||
	why="this kernel pre-allocates the top-level entries at boot"
if [ -n "$why" ]; then
	for d in "probe a block under unused top-level entries" "both entries filled, PID 1's copy agrees" \
		"unprobe it: tables below the entries freed, entries kept"; do
		skip "$d" "$why"
	done
	ktap_exit
fi
set -- $(grep '^linear ' /sys/kernel/debug/rig_peek/toplayout)
lbase=$(($2)) lsize=$(($3))
set -- $(grep '^vmemmap ' /sys/kernel/debug/rig_peek/toplayout)
vbase=$(($2)) vsize=$(($3))
lfirst=$(awk '$1 == "linear" && $2 ~ /^[0-9]+$/ { print $2; exit }' /sys/kernel/debug/rig_peek/kpgd)
vfirst=$(awk '$1 == "vmemmap" && $2 ~ /^[0-9]+$/ { print $2; exit }' /sys/kernel/debug/rig_peek/kpgd)
far="" j=1
while [ -z "$far" ] && [ $j -le 3 ]; do
	pa=$(((vbase + j * vsize + bs - 1) / bs * bs))
	# On Sv39 the linear map is offset by 2 MiB: a block can span two entries
	li=$((lfirst + (pa - lbase) / lsize)) le=$((lfirst + (pa + bs - 1 - lbase) / lsize))
	vi=$((vfirst + (pa - vbase) / vsize))
	case "$(kpgd_val linear $li) $(kpgd_val linear $le) $(kpgd_val vmemmap $vi)" in
	0000000000000000\ 0000000000000000\ 0000000000000000) iomem_free $pa $((pa + bs - 1)) && far=$pa ;;
	esac
	j=$((j + 1))
done
diag "top-level entries: linear from $(hex $lbase), $(hex $lsize) each; vmemmap from $(hex $vbase), $(hex $vsize) each; block at ${far:+$(hex $far)} (linear $li-$le, vmemmap $vi)"
pt0=$(kernel_pt_pages) top0=$(kernel_top_pages)
if [ -n "$far" ] && probe $far; then
	ok "probe a block under unused top-level entries ($(hex $far))"
	lv=$(kpgd_val linear $li) lw=$(kpgd_val linear $le) vv=$(kpgd_val vmemmap $vi)
	if [ "${lv:-0}" != 0000000000000000 ] && [ "${lw:-0}" != 0000000000000000 ] &&
		[ "${vv:-0}" != 0000000000000000 ] &&
		! grep -q '^stale' /sys/kernel/debug/rig_peek/kpgd; then
		ok "both entries filled, PID 1's copy agrees"
	else
		diag "linear $li: $lv, $le: $lw, vmemmap $vi: $vv"
		grep '^stale' /sys/kernel/debug/rig_peek/kpgd | sed 's/^/# /'
		not_ok "both entries filled, PID 1's copy agrees"
	fi
	if unprobe $far && [ ! -e $MEMSYS/memory$(block_of $far) ] &&
		[ "$(kernel_pt_pages)" = "$pt0" ] && [ "$(kernel_top_pages)" = $((top0 + le - li + 2)) ] &&
		[ "$(kpgd_val linear $li)" = "$lv" ] && [ "$(kpgd_val linear $le)" = "$lw" ] &&
		[ "$(kpgd_val vmemmap $vi)" = "$vv" ]; then
		ok "unprobe it: tables below the entries freed, entries kept"
	else
		diag "tables below the PGD $(kernel_pt_pages) (before $pt0), right below it $(kernel_top_pages) (before $top0, $((le - li + 2)) expected more)"
		not_ok "unprobe it: tables below the entries freed, entries kept"
	fi
else
	not_ok "probe a block under unused top-level entries (${far:+$(hex $far)}${far:-no candidate})"
	not_ok "both entries filled, PID 1's copy agrees"
	not_ok "unprobe it: tables below the entries freed, entries kept"
fi
ktap_exit
