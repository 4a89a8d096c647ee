#!/bin/sh
# Bad input to the nd pfn/dax and dax sysfs files, binding the same range
# twice, and unbinding dax/kmem while its memory is online and in use:
# clear errors, no splat, nothing lost.
. "$(dirname "$0")/lib.sh"
ktap_plan 13
kpgd_save /tmp/kpgd0
nd=$RIG_DIR/nd.sh
ND=/sys/bus/nd
require_pmem "devmem-bad-input"
# expect DESC ERRNO FILE VALUE: the write fails with ERRNO (sysfs-write).
expect() {
	_r=$(sysfs-write "$3" "$4")
	check_eq "$1" "${_r%% *}" "$2"
}
$nd reset
pfn=$(cat $ND/devices/region0/pfn_seed)
expect "pfn align not a supported alignment: EINVAL" EINVAL $ND/devices/$pfn/align 12345
expect "pfn mode 'bogus': EINVAL" EINVAL $ND/devices/$pfn/mode bogus
expect "pfn uuid not a uuid: EINVAL" EINVAL $ND/devices/$pfn/uuid not-a-uuid
expect "pfn namespace that does not exist: ENODEV" ENODEV $ND/devices/$pfn/namespace namespace9.9
# namespace0.0 is bound (raw): a pfn device may claim it, but not bind.
sysfs-write $ND/devices/$pfn/uuid "$(cat /proc/sys/kernel/random/uuid)" >/dev/null
sysfs-write $ND/devices/$pfn/mode pmem >/dev/null
sysfs-write $ND/devices/$pfn/namespace namespace0.0 >/dev/null
expect "binding a pfn device whose namespace is in use: EBUSY" EBUSY $ND/drivers/nd_pmem/bind $pfn
sysfs-write $ND/devices/$pfn/namespace "
" >/dev/null
dax=$($nd devdax 2097152 ram) || dax=none
check_eq "devdax device" "$([ "$dax" != none ] && echo yes)" yes
# The same range twice: a second pfn device claiming namespace0.0.
pfn=$(cat $ND/devices/region0/pfn_seed)
expect "binding the claimed namespace to a second device: EBUSY" EBUSY $ND/devices/$pfn/namespace namespace0.0
# Static (pmem) dax regions have a fixed size and alignment: writes fail.
r=$(sysfs-write /sys/bus/dax/devices/$dax/size 4096)
diag "dax size write: $r"
check "dax device size of a static region cannot be changed" [ "$r" != ok ]
blocks=$($nd kmem $dax)
blocks=$(echo $blocks)
for b in $blocks; do set_state $b online_movable; done
total=$(meminfo_kb MemTotal)
# In use: a workload holds memory (most likely some of it in the device)
# until /tmp/go appears.
memtouch $(( $(meminfo_kb MemFree) / 1024 * 3 / 4 )) --hold /tmp/go >/tmp/mt.out 2>&1 &
mt=$!
sleep 5
r=$(sysfs-write /sys/bus/dax/drivers/kmem/unbind $dax)
diag "unbinding kmem with its memory online: $r"
check_eq "memory still System RAM after the refused hot-remove" "$(grep -c 'System RAM (kmem)' /proc/iomem | sed 's/^[1-9][0-9]*$/yes/')" yes
check_eq "MemTotal unchanged" "$(meminfo_kb MemTotal)" "$total"
touch /tmp/go
wait $mt
check_eq "workload data intact" $? 0
# And the memory is still usable: offline and online again.
b=${blocks%% *}
check "first block offlines and onlines again" eval "offline_retry $b && set_state $b online_movable"
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
