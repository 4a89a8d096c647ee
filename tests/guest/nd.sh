#!/bin/sh
# nd.sh: configure the rig's persistent memory through sysfs, what ndctl and
# daxctl do on other distributions (Debian has neither for riscv64). The
# region is the devicetree "pmem-region" the host runner adds (suite.toml
# 'pmem'): region0 with one label-less namespace, namespace0.0.
#
#   nd.sh reset              tear everything down, wipe the info block, leave
#                            namespace0.0 raw (/dev/pmem0)
#   nd.sh idle               reset, then leave namespace0.0 unbound: nothing of
#                            the region is mapped (a raw namespace is mapped
#                            with memremap(), whose vmap area gets a real
#                            shadow under KASAN_VMALLOC: 1/8 of the region)
#   nd.sh fsdax LOC ALIGN    namespace0.0 as fsdax through a pfn device, memmap
#                            in LOC (pmem: in the device, ram: boot RAM); prints
#                            the block device (pmem0)
#   nd.sh devdax ALIGN [LOC] namespace0.0 as device-dax, memmap in LOC (default
#                            pmem); prints the dax device
#   nd.sh kmem DAX           hand device-dax DAX to dax/kmem (System RAM, blocks
#                            offline); prints the memory block numbers
#   nd.sh unkmem DAX         back from kmem to device_dax (blocks must be offline)
#   nd.sh blocks             the memory block numbers of System RAM (kmem)
#   nd.sh info               what is configured
#
# Every step says what it wrote where and what the kernel answered; the first
# failing step stops the script with exit status 1.
ND=/sys/bus/nd
DAXB=/sys/bus/dax
REGION=$ND/devices/region0
NS=namespace0.0
NL='
'

die() {
	echo "nd: $*" >&2
	exit 1
}

# w FILE VALUE: one write(2), errors reported with the errno name.
w() {
	_r=$(sysfs-write "$1" "$2")
	[ "$_r" = ok ] || die "writing '$2' to $1: $_r"
}

need() {
	[ -e "$1" ] || die "$1 does not exist ($2)"
}

driver_of() {
	[ -L "$1/driver" ] && basename "$(readlink "$1/driver")"
}

unbind() {
	_d=$(driver_of "$1/devices/$2")
	[ -n "$_d" ] && w "$1/drivers/$_d/unbind" "$2"
	return 0
}

uuid() {
	cat /proc/sys/kernel/random/uuid
}

# The nd pfn and dax devices that claim namespace0.0.
claimers() {
	for _d in $ND/devices/pfn0.* $ND/devices/dax0.*; do
		[ -e "$_d/namespace" ] && [ "$(cat "$_d/namespace")" = $NS ] && echo "${_d##*/}"
	done
}

# Blocks of the System RAM (kmem) ranges, from /proc/iomem.
kmem_blocks() {
	_bs=$((0x$(cat /sys/devices/system/memory/block_size_bytes)))
	sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM (kmem)$/\1 \2/p' /proc/iomem |
		while read -r _s _e; do
			_a=$((0x$_s))
			while [ $_a -lt $((0x$_e)) ]; do
				echo $((_a / _bs))
				_a=$((_a + _bs))
			done
		done
}

cmd_reset() {
	need $REGION "no pmem region: does the guest have a pmem-region node (suite.toml 'pmem')?"
	for d in $DAXB/devices/dax*; do
		[ -e "$d" ] || continue
		[ "$(driver_of "$d")" = kmem ] && w $DAXB/drivers/kmem/unbind "${d##*/}"
		[ -e "$d" ] && unbind $DAXB "${d##*/}"
	done
	for c in $(claimers); do
		unbind $ND "$c"
		w "$ND/devices/$c/namespace" "$NL"
	done
	# Wipe the pfn/dax info block (4 KiB into the namespace) through the raw
	# namespace, so that the next bind does not find and reuse it.
	unbind $ND $NS
	w $ND/devices/$NS/force_raw 1
	w $ND/drivers/nd_pmem/bind $NS
	need /dev/pmem0 "raw namespace bound, but no /dev/pmem0"
	dd if=/dev/zero of=/dev/pmem0 bs=4096 count=64 conv=fsync 2>/dev/null ||
		die "could not wipe the start of /dev/pmem0"
	unbind $ND $NS
	w $ND/devices/$NS/force_raw 0
	w $ND/drivers/nd_pmem/bind $NS
}

cmd_idle() {
	cmd_reset
	unbind $ND $NS
}

# setup KIND(pfn|dax) LOC ALIGN DRIVER: claim namespace0.0 with the region's
# seed device of KIND and bind it.
setup() {
	cmd_reset
	seed=$(cat $REGION/${1}_seed)
	[ -n "$seed" ] || die "region0 has no $1 seed device"
	unbind $ND $NS
	w $ND/devices/$seed/uuid "$(uuid)"
	w $ND/devices/$seed/align "$3"
	w $ND/devices/$seed/mode "$2"
	w $ND/devices/$seed/namespace $NS
	w $ND/drivers/$4/bind "$seed"
	echo "$seed"
}

cmd_fsdax() {
	[ $# = 2 ] || die "usage: nd.sh fsdax pmem|ram ALIGN"
	seed=$(setup pfn "$1" "$2" nd_pmem) || exit 1
	b=$(ls $ND/devices/$seed/block 2>/dev/null)
	[ -n "$b" ] && [ -b "/dev/$b" ] || die "$seed bound, but it has no block device"
	echo "$b"
}

cmd_devdax() {
	[ $# = 1 ] || [ $# = 2 ] || die "usage: nd.sh devdax ALIGN [pmem|ram]"
	seed=$(setup dax "${2:-pmem}" "$1" dax_pmem) || exit 1
	d=$(ls -d $ND/devices/$seed/dax*.* 2>/dev/null | head -n 1)
	[ -n "$d" ] || die "$seed bound, but no dax device appeared under it"
	d=${d##*/}
	[ -c "/dev/$d" ] || die "no /dev/$d"
	echo "$d"
}

cmd_kmem() {
	[ $# = 1 ] || die "usage: nd.sh kmem DAX"
	need $DAXB/devices/$1 "no dax device $1"
	[ "$(driver_of $DAXB/devices/$1)" = device_dax ] && w $DAXB/drivers/device_dax/unbind "$1"
	w $DAXB/drivers/kmem/new_id "$1"
	[ "$(driver_of $DAXB/devices/$1)" = kmem ] || die "$1 did not bind to kmem (dmesg says why)"
	kmem_blocks
}

cmd_unkmem() {
	[ $# = 1 ] || die "usage: nd.sh unkmem DAX"
	w $DAXB/drivers/kmem/unbind "$1"
	w $DAXB/drivers/device_dax/bind "$1"
}

cmd_info() {
	for d in $ND/devices/region* $ND/devices/namespace* $ND/devices/pfn* $ND/devices/dax* $DAXB/devices/*; do
		[ -e "$d" ] || continue
		printf '%s driver=%s' "${d##*/}" "$(driver_of "$d")"
		for a in size mode align namespace target_node numa_node; do
			[ -r "$d/$a" ] && printf ' %s=%s' $a "$(cat "$d/$a" 2>/dev/null)"
		done
		echo
	done
}

cmd=$1
[ $# -gt 0 ] && shift
case $cmd in
reset) cmd_reset ;;
idle) cmd_idle ;;
fsdax) cmd_fsdax "$@" ;;
devdax) cmd_devdax "$@" ;;
kmem) cmd_kmem "$@" ;;
unkmem) cmd_unkmem "$@" ;;
info) cmd_info ;;
blocks) kmem_blocks ;;
*) die "usage: nd.sh reset|fsdax LOC ALIGN|devdax ALIGN [LOC]|kmem DAX|unkmem DAX|blocks|info" ;;
esac
