#!/bin/sh
# Bad input over QMP: each request must fail with a clear QMP error, and the
# guest must keep running with its memory unchanged. vm0 is a cold-plugged
# 1 GiB virtio-mem device (-m 512M,slots=4,maxmem=4G); rp1 a PCIe root port.
. "$(dirname "$0")/lib.sh"
MiB=1048576
ktap_plan 14
require_qmp virtio-mem-bad-input


total0=$(meminfo_kb MemTotal)
blocks0=$(ls -d /sys/devices/system/memory/memory* | wc -l)
size=$(memdev_field vm0 max-size)
bs=$(qom_get vm0 block-size)
addr=$(memdev_field vm0 memaddr)
diag "vm0: $size bytes at $(hex $addr), block-size $bs"

qmp_refused "requested-size above the device size" "size" \
	"{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/vm0\", \"property\": \"requested-size\", \"value\": $((size + 2 * bs))}}"
qmp_refused "requested-size not a multiple of the block size" "multiple" \
	"{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/vm0\", \"property\": \"requested-size\", \"value\": $((bs + bs / 2))}}"
qmp_refused "qom-set on a missing device" "not found" \
	'{"execute": "qom-set", "arguments": {"path": "/machine/peripheral/nosuchdev", "property": "requested-size", "value": 0}}'

r=$(rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "vmem2", "size": 268435456}}')
check "object-add a 256 MiB backend" qmp_ok "$r"
qmp_refused "second virtio-mem device overlapping vm0" "overlap\|conflict" \
	"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-mem-pci\", \"id\": \"vm2\", \"memdev\": \"vmem2\", \"bus\": \"rp1\", \"memaddr\": $addr}}"
qmp_refused "virtio-mem hot-plugged on pcie.0 (no hotplug there)" "hotplug\|hot-plug\|hot-plugged" \
	'{"execute": "device_add", "arguments": {"driver": "virtio-mem-pci", "id": "vm3", "memdev": "vmem2", "bus": "pcie.0"}}'

r=$(rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "vbig", "size": 4294967296, "reserve": false}}')
check "object-add a 4 GiB backend" qmp_ok "$r"
qmp_refused "virtio-mem beyond maxmem" "space" \
	'{"execute": "device_add", "arguments": {"driver": "virtio-mem-pci", "id": "vm4", "memdev": "vbig", "bus": "rp1"}}'
qmp_refused "pc-dimm beyond maxmem" "space" \
	'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "d4", "memdev": "vbig"}}'

r=$(qom_set vm0 requested-size $((128 * MiB)))
wait_memtotal $((total0 + 128 * 1024)) 120 >/dev/null
check_eq "vm0 grows to 128 MiB" "$(memdev_field vm0 size)" $((128 * MiB))
qmp_refused "device_del of virtio-mem with memory plugged" "plugged\|hotplugging" \
	'{"execute": "device_del", "arguments": {"id": "vm0"}}'
qom_set vm0 requested-size 0 >/dev/null
wait_memtotal $total0 120 >/dev/null

rig_qmp '{"execute": "object-del", "arguments": {"id": "vmem2"}}' >/dev/null
rig_qmp '{"execute": "object-del", "arguments": {"id": "vbig"}}' >/dev/null
check_eq "QEMU still has one memory device, vm0 at size 0" "$(memdev_count) $(memdev_field vm0 size)" "1 0"
check_eq "guest MemTotal and memory blocks unchanged" \
	"$(meminfo_kb MemTotal) $(ls -d /sys/devices/system/memory/memory* | wc -l)" "$total0 $blocks0"
check "guest still runs userspace (64 MiB verified)" memtouch 64
ktap_exit
