#!/bin/sh
# Scale: a 512 MiB guest asks its 32 GiB virtio-mem device vm0 (block-size
# 128 MiB, lazily backed by the host) for all of it, in one qom-set. The test
# follows MemTotal until it reaches 32 GiB more than at boot or stops moving
# for STALL_S seconds, and prints the largest size reached and what the
# kernel said when it stopped. rig.scale_expect=full requires all 32 GiB
# (run with memory_hotplug.memmap_on_memory=1); rig.scale_expect=report only
# requires that the guest survives and plugged something (without
# memmap_on_memory the struct pages of 32 GiB, 512 MiB, cannot come from
# 512 MiB of boot RAM). Only the memmap and a sample are touched.
. "$(dirname "$0")/lib.sh"
MiB=1048576
GiB=$((1024 * MiB))
STALL_S=${STALL_S:-30}
expect=$(rig_param scale_expect)
ktap_plan 5
if [ ! -d /sys/bus/virtio/drivers/virtio_mem ]; then
	skip_all "no virtio_mem driver in this kernel"
fi
require_qmp virtio-mem-scale
total0=$(meminfo_kb MemTotal)
target=$((32 * GiB))
diag "memmap_on_memory=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null); boot MemTotal $total0 kB, MemFree $(meminfo_kb MemFree) kB"
mom=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null)
# kB MemTotal grows by when BYTES are plugged: with memmap_on_memory the
# struct pages (1/64) live on the added memory and are not in MemTotal.
grow_kb() {
	if [ "$mom" = Y ]; then echo $(($1 / 1024 - $1 / 1024 / 64)); else echo $(($1 / 1024)); fi
}

# wait_stable KB: until MemTotal is KB, stops moving for STALL_S seconds, or
# the driver reports a failed add; prints the last MemTotal.
wait_stable() {
	want=$1
	_last=$(meminfo_kb MemTotal)
	_lt=$(mstime)
	while :; do
		sleep 1
		_now=$(meminfo_kb MemTotal)
		if [ "$_now" != "$_last" ]; then
			_last=$_now
			_lt=$(mstime)
		fi
		[ "$_now" -ge "$want" ] && break
		dmesg | grep -q 'virtio_mem.*adding memory failed' && break
		[ $(($(mstime) - _lt)) -gt $((STALL_S * 1000)) ] && break
	done
	echo "$_last"
}

t0=$(mstime)
if [ "$expect" = full ]; then
	r=$(qom_set vm0 requested-size $target)
	echo "QMP: qom-set /machine/peripheral/vm0 requested-size $target -> $r"
	check "qom-set requested-size 32 GiB" qmp_ok "$r"
	last=$(wait_stable $((total0 + $(grow_kb $target))))
else
	# 2 GiB steps, stopping at the first failed add: the driver would retry
	# until the kernel has no memory left at all (OOM, then a panic).
	ok=1
	sz=0
	while [ $sz -lt $target ]; do
		sz=$((sz + 2 * GiB))
		r=$(qom_set vm0 requested-size $sz)
		qmp_ok "$r" || ok=0
		last=$(wait_stable $((total0 + $(grow_kb $sz))))
		echo "SCALE requested $((sz / MiB)) MiB: MemTotal $last kB MemFree $(meminfo_kb MemFree) kB"
		if dmesg | grep -q 'virtio_mem.*adding memory failed'; then
			qom_set vm0 requested-size "$(memdev_field vm0 size)" >/dev/null
			diag "adding memory failed at requested-size $((sz / MiB)) MiB; requested-size set back to the plugged size"
			break
		fi
	done
	check "qom-set requested-size in 2 GiB steps" test $ok = 1
	sleep 2
	last=$(meminfo_kb MemTotal)
fi
lastt=$(mstime)
grown=$(( (last - total0) / 1024 ))
qsize=$(memdev_field vm0 size)
echo "SCALE-RESULT grown_mib=$grown plugged_mib=$((qsize / MiB)) seconds=$(((lastt - t0) / 1000)) memfree_kb=$(meminfo_kb MemFree) memmap_on_memory=$mom"
dmesg | grep -i 'virtio_mem\|out of memory\|alloc failure' | tail -n 5 | sed 's/^/# /'
if [ "$expect" = full ]; then
	check_eq "QEMU plugged 32 GiB" "$qsize" "$target"
else
	diag "plugged $((qsize / MiB)) MiB of 32768 (rig.scale_expect=$expect: reported, not required)"
	check "plugged something" test "$qsize" -gt 0
fi
check_eq "MemTotal grew by the plugged size (less the memmap on it)" "$grown" $(($(grow_kb $qsize) / 1024))
check "a 64 MiB sample of memory verifies" memtouch 64
check "the guest still runs userspace" test -n "$(cat /proc/uptime)"
ktap_exit
