#!/bin/sh
# Boot memory that can leave: node 1 is memory the devicetree marks
# "hotpluggable" (runner: hotplug_node), booted with movable_node. Node 1 must be
# all ZONE_MOVABLE with no early allocation in it; the kernel image's memory
# must refuse to go; every block of node 1 is offlined and removed while
# memtouch holds data (some of it on node 1, which has to migrate), then added
# back with probe onto node 1, used, and removed once more.
. "$(dirname "$0")/lib.sh"
require_probe
require_node1 movable-node
# Kernels with kmemleak get one more check: a scan after the removal.
kml=0
[ -w /sys/kernel/debug/kmemleak ] && kml=1
ktap_plan $((24 + kml))

n1=$(rig_param node1)
start=$((${n1%,*})) size=$((${n1#*,}))
bs=$(block_bytes)
blocks=$(node_blocks $start $size)
nblocks=$((size / bs))
size_kb=$((size / 1024))
diag "node 1: $(hex $start)-$(hex $((start + size - 1))), $nblocks blocks: $(echo $blocks)"

# ---- the node at boot ----------------------------------------------------
check_eq "node 1 has the devicetree's memory" \
	"$(sed -n 's/^Node 1 MemTotal: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node1/meminfo)" "$size_kb"
check_eq "node 1 is all ZONE_MOVABLE (zoneinfo: Movable, DMA32, Normal present)" \
	"$(zone_present 1 Movable) $(zone_present 1 DMA32) $(zone_present 1 Normal)" "$((size / 4096)) 0 0"
bad=""
for b in $blocks; do
	[ "$(cat $MEMSYS/memory$b/valid_zones)" = Movable ] && [ -e $MEMSYS/memory$b/node1 ] || bad="$bad $b"
done
check_eq "every block of node 1 is on node 1 and Movable only" "${bad:-none}" none

# No early allocation in node 1, three ways: no page of it is PageReserved
# (what memblock allocations and reservations become), /proc/iomem has no
# "Reserved" range in it, and the boot log of memblock=debug has no
# memblock_reserve there (each allocation is one), while node 0 has many.
r1=$(reserved_pages $start $size)
check_eq "no page of node 1 is reserved (/proc/kpageflags)" "$r1" 0
check_eq "no Reserved range inside node 1 in /proc/iomem" "$(iomem_count Reserved $start $size)" 0
set -- $(memblock_per_node $start)
diag "memblock reservations at boot: node 0: $1 ($2 KiB), node 1: $3 ($4 KiB)"
echo "BENCH mn_early_node0 $1"
echo "BENCH mn_early_node1 $3"
diag "$(dmesg | grep -m1 'NODE_DATA(1)' | sed 's/^\[[^]]*\] *//')"
check "memblock=debug: reservations on node 0, none on node 1" [ "$1" -gt 0 -a "$3" -eq 0 ]

# ---- how node 1 is mapped ----------------------------------------------------
# Node 1 is one 1 GiB-aligned GiB: the linear map maps it with one PUD leaf on
# Sv48 and Sv57, PMD leaves on Sv39, base pages under debug_pagealloc. Before
# its first block goes offline, the PUD leaf is split into PMD leaves (unprobe
# then removes the block without splitting anything), so the other blocks are
# then mapped with PMD leaves on every mode.
case "$(paging_mode) $(cat /proc/cmdline)" in
*debug_pagealloc=on*) leaf=pte split=pte ;;
sv39*) leaf=pmd split=pmd ;;
*) leaf=pud split=pmd ;;
esac
# levels ADDR...: the sorted leaf levels that map the addresses, "-invalid"
# (debug_pagealloc's unmapped free pages) counted as mapped.
levels() {
	for _a in "$@"; do kleaf_level $_a; done | sort -u | tr '\n' ' '
}
starts=""
for b in $blocks; do starts="$starts $((b * bs))"; done
check_eq "node 1's linear map: $leaf leaves" "$(levels $starts)" "$leaf "

# ---- the kernel's own memory cannot go --------------------------------------
snapshot /tmp/boot
expect_err "offline the kernel image's block" EINVAL $MEMSYS/memory$(block_of $((0x80200000)))/state offline
expect_err "unprobe the kernel image's block (node 0: not hotpluggable)" ENOENT $MEMSYS/unprobe 0x80000000
# Node 0's last block holds the top-down boot allocations (memmap, percpu).
top=$(( start / bs - 1 ))
expect_err "offline node 0's last block (boot allocations)" EBUSY $MEMSYS/memory$top/state offline
[ "$(state_of $top)" = online ] || set_state $top online
snapshot /tmp/boot2
check_snapshot "MemTotal, /proc/iomem and blocks unchanged" /tmp/boot /tmp/boot2

# ---- remove node 1 under load -------------------------------------------------
# mt1 puts 256 MiB on node 1 (to be migrated), mt0 runs on node 0.
memtouch_start 256 mt1 --node 1 || diag "memtouch on node 1: $(cat /tmp/mt1.out)"
memtouch_start 128 mt0 || diag "memtouch: $(cat /tmp/mt0.out)"
used1=$(sed -n 's/^Node 1 MemUsed: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node1/meminfo)
diag "node 1 MemUsed with the workload: $used1 kB"
before=$(meminfo_kb MemTotal)
t0=$(mstime)
gone=0
first=""
for b in $blocks; do
	if offline_retry $b 4 && unprobe $((b * bs)); then
		gone=$((gone + 1))
		[ -n "$first" ] && continue
		# The first block removed shared the GiB (and on Sv48/Sv57 its
		# leaf) with the others: they must still be mapped, with the
		# leaves of the split, and readable through the linear map, the
		# removed block not.
		# (With debug_pagealloc, free pages are unmapped: only valid
		# entries are read.)
		first=$b
		got="" unread=""
		for o in $blocks; do
			[ $o = $b ] && continue
			l=$(kleaf $((o * bs)))
			got="$got $l"
			case $l in
			*-invalid | none) ;;
			*) kpeek $((o * bs)) || unread="$unread $o" ;;
			esac
		done
		got=$(echo $got | tr ' ' '\n' | sed 's/-invalid$//' | sort -u | tr '\n' ' ')
		check_eq "first block gone (memory$b): it is unmapped, the others $split-mapped and readable" \
			"$(kleaf $((b * bs))) $got${unread:+unreadable:$unread}" \
			"none $split "
	else
		diag "memory$b: $(sysfs-write $MEMSYS/memory$b/state offline 2>&1)"
		pageflags $((b * bs)) $bs | sed 's/^/# /'
	fi
done
t1=$(mstime)
after=$(meminfo_kb MemTotal)
drop=$((before - after))
memmap_kb=$((size_kb / 64))
diag "removed $gone of $nblocks blocks in $((t1 - t0)) ms; MemTotal $before -> $after kB (-$drop)"
echo "BENCH mn_remove_ms_per_gib $(( (t1 - t0) * 1048576 / size_kb ))"
echo "BENCH mn_memtotal_before_kib $before"
echo "BENCH mn_memtotal_after_kib $after"
[ -n "$first" ] || not_ok "first block gone: no block of node 1 could be removed"
check_eq "every block of node 1 offlined and removed" "$gone" "$nblocks"
# The node's memmap and its linear-map tables came from memblock on node 0 and
# go back to the page allocator: MemTotal drops by the node less its memmap
# (size/64), less a few table pages (up to 4 MiB with debug_pagealloc's PTEs).
check "MemTotal dropped by node 1 less its memmap and tables (-$drop kB)" \
	[ $drop -le $((size_kb - memmap_kb)) -a $drop -ge $((size_kb - memmap_kb - 4096)) ]
v=0
memtouch_verify mt1 && memtouch_verify mt0 && v=1
check_eq "data of both workloads intact after the removal" "$v" 1
check_eq "no System RAM left in node 1 (/proc/iomem)" "$(iomem_count 'System RAM' $start $size)" 0
check_eq "node 1 is offline (/sys/devices/system/node/online)" "$(cat /sys/devices/system/node/online)" 0
# Debug kernels: kmemleak tracked node 1's memmap and tables as memblock
# allocations. A scan now must neither fault on nor report what was freed.
if [ $kml = 1 ]; then
	t0=$(date +%s)
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
	diag "kmemleak scan took $(($(date +%s) - t0)) s"
	[ "$leaks" -eq 0 ] || head -40 /sys/kernel/debug/kmemleak
	check_eq "kmemleak scan after the removal: no suspected leak" "$leaks" 0
fi

# ---- add it back with probe ---------------------------------------------------
back=0
for b in $blocks; do
	probe $((b * bs)) && set_state $b online && back=$((back + 1))
done
bad=""
for b in $blocks; do
	[ -e $MEMSYS/memory$b/node1 ] && [ "$(cat $MEMSYS/memory$b/valid_zones)" = Movable ] || bad="$bad $b"
done
check_eq "all blocks probed and onlined again" "$back" "$nblocks"
check_eq "they are node 1's again, and Movable" "${bad:-none}" none
readd=$(meminfo_kb MemTotal)
echo "BENCH mn_memtotal_readded_kib $readd"
check_eq "MemTotal grew by exactly node 1's size" "$readd" "$((after + size_kb))"
check "256 MiB bound to node 1 written and verified" memtouch_start 256 mt2 --node 1
used=$(sed -n 's/^Node 1 MemUsed: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node1/meminfo)
check "node 1 holds it (MemUsed $used kB)" [ "$used" -ge $((256 * 1024)) ]
ok_all=1
for m in mt2 mt1 mt0; do memtouch_stop $m || ok_all=0; done
check_eq "every memtouch verification clean" "$ok_all" 1

# ---- and remove it once more (memory probe added, not boot memory) --------------
gone=0
for b in $blocks; do
	offline_retry $b 4 && unprobe $((b * bs)) && gone=$((gone + 1))
done
check_eq "the re-added node removed again, MemTotal back" "$gone $(meminfo_kb MemTotal)" "$nblocks $after"
ktap_exit
