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
. /rig/lib.sh
MiB=1048576
GiB=$((1024 * MiB))
STALL_S=${STALL_S:-90}
expect=$(rig_param scale_expect)
ktap_plan 5
if [ ! -d /sys/bus/virtio/drivers/virtio_mem ]; then
	skip "virtio-mem scale" "no virtio_mem driver in this kernel"
	ktap_exit
fi
total0=$(meminfo_kb MemTotal)
target=$((32 * GiB))
want=$((total0 + target / 1024))
diag "memmap_on_memory=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null); boot MemTotal $total0 kB, MemFree $(meminfo_kb MemFree) kB"
r=$(qom_set vm0 requested-size $target)
echo "QMP: qom-set /machine/peripheral/vm0 requested-size $target -> $r"
check "qom-set requested-size 32 GiB" qmp_ok "$r"

t0=$(mstime)
last=$(meminfo_kb MemTotal)
lastt=$t0
while :; do
	sleep 2
	now=$(meminfo_kb MemTotal)
	t=$(mstime)
	if [ "$now" != "$last" ]; then
		last=$now
		lastt=$t
		echo "SCALE $(((t - t0) / 1000))s MemTotal $now kB MemFree $(meminfo_kb MemFree) kB"
	fi
	[ "$now" -ge "$want" ] && break
	[ $((t - lastt)) -gt $((STALL_S * 1000)) ] && break
done
grown=$(( (last - total0) / 1024 ))
echo "SCALE-RESULT grown_mib=$grown seconds=$(((lastt - t0) / 1000)) memfree_kb=$(meminfo_kb MemFree) qemu_size=$(memdev_field vm0 size)"
dmesg | grep -i 'virtio_mem\|out of memory\|allocation failure' | tail -n 5 | sed 's/^/# /'
if [ "$expect" = full ]; then
	check_eq "MemTotal grew by 32 GiB" "$grown" $((32 * 1024))
else
	diag "grew by $grown MiB of 32768 (rig.scale_expect=$expect: reported, not required)"
	check "MemTotal grew at all" test "$grown" -gt 0
fi
check_eq "QEMU size agrees with the guest" "$(memdev_field vm0 size)" $((grown * MiB))
check "a 64 MiB sample of memory verifies" memtouch 64
check "the guest still runs userspace" test -n "$(cat /proc/uptime)"
ktap_exit
