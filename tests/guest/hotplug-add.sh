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
. /rig/lib.sh
require_probe

bs=$(block_bytes)
blocks=$(hidden_blocks)
n=$(echo $blocks | wc -w)
nk=$((n / 2))
kernel=$(echo $blocks | tr ' ' '\n' | head -n $nk)
movable=$(echo $blocks | tr ' ' '\n' | tail -n $((n - nk)))
ktap_plan 14
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
ktap_exit
