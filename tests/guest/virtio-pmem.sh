#!/bin/sh
# virtio-pmem: the cold-plugged pm0 (128 MiB, file backend) is /dev/pmem0
# and keeps what is written to it; pm1 (64 MiB, RAM backend) hot-plugged on
# the PCIe root port rp1 becomes a second pmem disk. QEMU refuses device_del
# of a virtio-pmem always, as it cannot tell whether the guest uses it; here
# the guest holds it open: both devices stay, and what was written to it
# reads back.
. "$(dirname "$0")/lib.sh"
ktap_plan 11
kpgd_save /tmp/kpgd0
if [ ! -d /sys/bus/virtio/drivers/virtio_pmem ]; then
	skip_all "no virtio_pmem driver in this kernel"
fi
require_qmp virtio-pmem
pmems() { ls /sys/block | grep '^pmem' | sort | xargs; }
i=0
while [ -z "$(pmems)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check_eq "pm0 is a pmem disk" "$(pmems)" pmem0
check_eq "/dev/pmem0 is 128 MiB" "$(($(cat /sys/block/pmem0/size) * 512))" 134217728
check_eq "QEMU lists pm0 (virtio-pmem)" "$(memdev_field pm0 size)" 134217728
dd if=/dev/urandom of=/tmp/pat bs=1M count=16 2>/dev/null
dd if=/tmp/pat of=/dev/pmem0 bs=1M seek=100 conv=fsync 2>/dev/null
echo 3 >/proc/sys/vm/drop_caches
dd if=/dev/pmem0 of=/tmp/back bs=1M skip=100 count=16 2>/dev/null
check "16 MiB written to /dev/pmem0 read back the same" cmp -s /tmp/pat /tmp/back

r=$(rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "pmb1", "size": 67108864}}')
r=$(rig_qmp '{"execute": "device_add", "arguments": {"driver": "virtio-pmem-pci", "id": "pm1", "memdev": "pmb1", "bus": "rp1"}}')
echo "QMP: device_add virtio-pmem-pci id=pm1 memdev=pmb1 bus=rp1 -> $r"
check "device_add virtio-pmem-pci on rp1" qmp_ok "$r"
i=0
while [ "$(pmems)" = pmem0 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check_eq "the hot-plugged device is a second pmem disk" "$(pmems)" "pmem0 pmem1"
dd if=/tmp/pat of=/dev/pmem1 bs=1M conv=fsync 2>/dev/null
exec 3</dev/pmem1
qmp_refused "device_del of virtio-pmem pm1 while the guest holds it open" "cannot be unplugged" \
	'{"execute": "device_del", "arguments": {"id": "pm1"}}'
check_eq "QEMU still lists pm0 and pm1" "$(memdev_count)" 2
check_eq "the guest still has both pmem disks" "$(pmems)" "pmem0 pmem1"
echo 3 >/proc/sys/vm/drop_caches
dd if=/dev/pmem1 of=/tmp/back bs=1M count=16 2>/dev/null
check "16 MiB written to /dev/pmem1 read back the same" cmp -s /tmp/pat /tmp/back
exec 3<&-
rm -f /tmp/pat /tmp/back
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
