#!/bin/sh
# Hot-plug the virtio-mem device itself: device_add virtio-mem-pci on the
# PCIe root port rp1 after boot (backend vmem1, 1 GiB, exists from the start),
# the guest's driver binds it; grow to 1 GiB, fill and hold data, shrink to
# 0, check the data; device_del is refused while memory is plugged and
# succeeds at size 0: the device and its memory are gone on both sides.
. "$(dirname "$0")/lib.sh"
MiB=1048576
dev=vm1
ktap_plan 14
kpgd_save /tmp/kpgd0
if [ ! -d /sys/bus/virtio/drivers/virtio_mem ]; then
	skip_all "no virtio_mem driver in this kernel"
fi
require_qmp virtio-mem-hotplug
total0=$(meminfo_kb MemTotal)
nvirtio() { ls /sys/bus/virtio/drivers/virtio_mem | grep -c '^virtio'; }
n0=$(nvirtio)

r=$(rig_qmp '{"execute": "device_add", "arguments": {"driver": "virtio-mem-pci", "id": "vm1", "memdev": "vmem1", "bus": "rp1", "requested-size": 0}}')
echo "QMP: device_add virtio-mem-pci id=vm1 memdev=vmem1 bus=rp1 -> $r"
check "device_add virtio-mem-pci on pcie-root-port rp1" qmp_ok "$r"
i=0
while [ "$(nvirtio)" = "$n0" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
check_eq "the guest's virtio_mem driver binds the new device" "$(nvirtio)" $((n0 + 1))
dmesg | grep 'virtio_mem virtio' | tail -n 4 | sed 's/^/# /'

r=$(qom_set $dev requested-size $((1024 * MiB)))
echo "QMP: qom-set /machine/peripheral/$dev requested-size $((1024 * MiB)) -> $r"
if s=$(wait_memtotal $((total0 + 1024 * 1024)) 180); then
	ok "grow to 1 GiB: MemTotal follows in ${s}s"
else
	not_ok "grow to 1 GiB: MemTotal $(meminfo_kb MemTotal) kB, want $((total0 + 1024 * 1024))"
fi
check_eq "QEMU size 1 GiB" "$(memdev_field $dev size)" $((1024 * MiB))

r=$(rig_qmp '{"execute": "device_del", "arguments": {"id": "vm1"}}')
echo "QMP: device_del vm1 (1 GiB plugged) -> $r"
if qmp_ok "$r"; then not_ok "device_del refused while memory is plugged"; else
	diag "$(qmp_desc "$r")"; ok "device_del refused while memory is plugged"; fi

check "hold 160 MiB, most of it in the new memory" memtouch_start 160 A
r=$(qom_set $dev requested-size 0)
echo "QMP: qom-set /machine/peripheral/$dev requested-size 0 -> $r"
if s=$(wait_memtotal $total0 180); then
	ok "shrink to 0: MemTotal back to boot in ${s}s"
else
	not_ok "shrink to 0: MemTotal $(meminfo_kb MemTotal) kB, want $total0"
fi
check "held data verifies after the shrink" memtouch_verify A
memtouch_stop A

check_eq "QEMU size 0" "$(memdev_field $dev size)" 0
r=$(rig_qmp '{"execute": "device_del", "arguments": {"id": "vm1"}}')
echo "QMP: device_del vm1 (size 0) -> $r"
check "device_del accepted at size 0" qmp_ok "$r"
# The guest releases the device after pciehp's 5 s attention-button delay:
# until then, QEMU must not let the size grow again.
qmp_refused "requested-size 128 MiB while vm1 is being unplugged" "being unplugged\|process of unplug" \
	'{"execute": "qom-set", "arguments": {"path": "/machine/peripheral/vm1", "property": "requested-size", "value": 134217728}}'
i=0
while [ "$(memdev_count)" != 0 ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
check_eq "QEMU has no memory device left" "$(memdev_count)" 0
i=0
while [ "$(nvirtio)" != "$n0" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
check_eq "the guest's device is gone" "$(nvirtio)" "$n0"
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
