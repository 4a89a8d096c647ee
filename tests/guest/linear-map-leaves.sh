#!/bin/sh
# linear-map-leaves: the leaves that map boot and hot-added memory in the
# linear map. Guest (suite.toml): 5 GiB, the top 2 GiB a pmem region, so boot
# RAM is 0x80000000-0x13fffffff. On Sv48 and Sv57 every 1 GiB-aligned GiB of
# memory gets one PUD leaf, except the kernel's (pgprot_from_va() protects
# its alias per PMD): here the middle GiB of boot RAM, 0xc0000000 (the top
# one is where the page allocator hands out pages first, and set_direct_map_*
# splits what module loading frees), and the aligned GiB of the pmem that
# dax/kmem adds. Sv39 maps with PMD leaves at most, debug_pagealloc with base
# pages. Memory is removed as it was added: after unbind nothing maps the kmem
# GiB, and binding again maps it the same way. With KFENCE (debug profile)
# the pool, allocated at the top of boot RAM, is mapped with base pages (each
# object page is protected on its own), and its GiB no longer with a PUD leaf.
. "$(dirname "$0")/lib.sh"
ktap_plan 6
nd=$RIG_DIR/nd.sh
require_pmem "linear-map-leaves"
case "$(paging_mode) $(cat /proc/cmdline)" in
*debug_pagealloc=on*) big=pte kern=pte ;;
sv39*) big=pmd kern=pmd ;;
*) big=pud kern=pmd ;;
esac
GIB=$((1 << 30))
kernel=$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel image$/\1/p' /proc/iomem)
check_eq "the kernel's GiB (0x$kernel): $kern leaves" "$(kleaf_level 0x$kernel)" $kern
check_eq "boot RAM's middle GiB (0xc0000000): $big leaf" "$(kleaf_level 0xc0000000)" $big
check "boot RAM's middle GiB reads through the linear map" kpeek 0xc0000000
if [ -r /sys/kernel/debug/rig_peek/kfence ]; then
	set -- $(cat /sys/kernel/debug/rig_peek/kfence)
	if [ $# = 2 ]; then
		pool=$(($1)) size=$(($2))
		gib=$(hex $((pool / GIB * GIB)))
		lp=$(kleaf_level $pool) ll=$(kleaf_level $((pool + size - 4096))) lg=$(kleaf_level $gib)
		diag "KFENCE pool $(hex $pool)+$(hex $size): first page $lp, last $ll; its GiB at $gib: $lg"
		ok=1
		[ "$lp" = pte ] && [ "$ll" = pte ] || ok=0
		[ "$lg" != pud ] || ok=0
		check_eq "KFENCE pool mapped with base pages, its GiB split" $ok 1
	else
		not_ok "KFENCE pool mapped with base pages, its GiB split: pool '$*'"
	fi
else
	skip "KFENCE pool mapped with base pages" "no CONFIG_KFENCE"
fi

$nd reset >/dev/null
dax=$($nd devdax 2097152 ram) || skip_all "no devdax device"
sysfs-write /sys/bus/dax/drivers/device_dax/unbind "$dax" >/dev/null
# kmem_round: bind to dax/kmem, check the aligned GiB's leaf, use the memory,
# take it back; 0 when every step did what it should.
kmem_round() {
	blocks=$($nd kmem "$dax") || return 1
	# The first 1 GiB-aligned GiB that the kmem range holds whole.
	set -- $(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM (kmem)$/\1 \2/p' /proc/iomem)
	[ $# = 2 ] || { diag "not one System RAM (kmem) range: $*"; set -- 0 0; }
	s=$(( (0x$1 + GIB - 1) / GIB * GIB )) e=$((0x$2 + 1)) r=0 g=
	if [ $((s + GIB)) -gt $e ]; then
		diag "kmem range 0x$1-0x$2 holds no aligned GiB"
		r=1
	else
		g=$(hex $s)
		l=$(kleaf_level $g)
		[ "$l" = $big ] || { diag "$g mapped by $l, not $big"; r=1; }
		kpeek $((s + GIB - 4096)) || { diag "the GiB's last page does not read"; r=1; }
	fi
	for b in $blocks; do set_state "$b" online_movable || r=1; done
	memtouch 512 >/dev/null || { diag "memtouch 512 MiB failed"; r=1; }
	for b in $blocks; do offline_retry "$b" 4 || r=1; done
	# unkmem hands the device back to device_dax, whose memremap_pages()
	# maps the range again: unbind that too before looking.
	$nd unkmem "$dax" >/dev/null || return 1
	sysfs-write /sys/bus/dax/drivers/device_dax/unbind "$dax" >/dev/null || return 1
	if [ -n "$g" ]; then
		l=$(kleaf_level $g)
		[ "$l" = none ] || { diag "$g still mapped by $l after unbind"; r=1; }
	fi
	return $r
}
check "dax/kmem's aligned GiB: one $big leaf, unmapped after unbind" kmem_round
check "bound again: the same, and unmapped again after unbind" kmem_round
ktap_exit
