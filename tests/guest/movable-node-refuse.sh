#!/bin/sh
# The same two-node guest as movable-node, booted without movable_node: the
# kernel's early allocations may now land in node 1, and removing the blocks
# that hold them must be refused cleanly (EBUSY), as must removing the kernel
# image's block, with MemTotal, /proc/iomem and the blocks unchanged.
. "$(dirname "$0")/lib.sh"
require_probe
require_node1 movable-node-refuse
ktap_plan 8

n1=$(rig_param node1)
start=$((${n1%,*})) size=$((${n1#*,}))
bs=$(block_bytes)

check_eq "node 1 has no ZONE_MOVABLE memory" "$(zone_present 1 Movable)" 0
set -- $(memblock_per_node $start)
diag "memblock reservations at boot: node 0: $1 ($2 KiB), node 1: $3 ($4 KiB)"
echo "BENCH mn_nomovable_early_node1 $3"
busy=""
for b in $(node_blocks $start $size); do
	r=$(reserved_pages $((b * bs)) $bs)
	[ "$r" -gt 0 ] && busy="$busy $b" && diag "memory$b: $r reserved pages"
done
check "node 1 holds early allocations (reserved pages in:$busy)" [ -n "$busy" ]

snapshot /tmp/before
refused=0
for b in $busy; do
	r1=$(sysfs-write $MEMSYS/memory$b/state offline)
	r2=$(sysfs-write $MEMSYS/unprobe "$(hex $((b * bs)))")
	case "$r1|$r2" in
	EBUSY*"|"EBUSY*) refused=$((refused + 1)) ;;
	*) diag "memory$b: offline: $r1; unprobe: $r2" ;;
	esac
done
check_eq "offline and unprobe refused (EBUSY) for each block with kernel memory" \
	"$refused" "$(echo $busy | wc -w)"
expect_err "offline the kernel image's block" EINVAL $MEMSYS/memory$(block_of $((0x80200000)))/state offline
expect_err "unprobe the kernel image's block (node 0: not hotpluggable)" ENOENT $MEMSYS/unprobe 0x80000000
expect_err "unprobe an address with no memory block" ENOENT $MEMSYS/unprobe "$(hex $((start + size)))"
snapshot /tmp/after
check_snapshot "MemTotal, /proc/iomem and blocks unchanged" /tmp/before /tmp/after
check "no block of node 1 went offline" [ -z "$(grep -l offline $MEMSYS/memory*/state)" ]
ktap_exit
