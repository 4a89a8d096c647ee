#!/bin/sh
# make demo: the host resizes a running riscv64 guest with virtio-mem. The
# guest boots with 512 MiB and a PCIe root port (rp1) and a 2 GiB memory
# backend (vmem0) on the QEMU command line; every step below prints the QMP
# command it sends (on the guest's own QMP monitor, the rig.qmp port), so it
# can be repeated on any QMP monitor of QEMU's by hand.
. "$(dirname "$0")/lib.sh"
GiB=1073741824

blocks() {
	echo "   memory blocks ($(($(block_bytes) >> 20)) MiB each), online/offline/total:" \
		"$(grep -l online $MEMSYS/memory*/state | wc -l)/$(grep -l offline $MEMSYS/memory*/state | wc -l)/$(ls -d $MEMSYS/memory* | wc -l);" \
		"virtio-mem ranges in /proc/iomem:"
	grep 'virtio_mem' /proc/iomem | sed 's/^ */     /'
}

show() {
	echo "== $1: MemTotal $(meminfo_kb MemTotal) kB, MemFree $(meminfo_kb MemFree) kB"
	blocks
}

# qmp JSON: send it, print it and the reply on one line.
qmp() {
	_r=$(rig_qmp "$1")
	echo "QMP> $1"
	echo "   <- $_r"
	qmp_ok "$_r"
}

echo "== paging mode $(sed -n 's/^mmu[^:]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
if [ ! -d /sys/bus/virtio/drivers/virtio_mem ]; then
	echo "== no virtio_mem driver in this kernel: nothing to show"
	exit 1
fi
show "boot"
qmp '{"execute": "device_add", "arguments": {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "vmem0", "bus": "rp1", "requested-size": 0}}' || exit 1
i=0
while [ -z "$(ls /sys/bus/virtio/drivers/virtio_mem | grep '^virtio')" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
total0=$(meminfo_kb MemTotal)
qmp "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/vm0\", \"property\": \"requested-size\", \"value\": $((2 * GiB))}}" || exit 1
s=$(wait_memtotal $((total0 + 2 * 1024 * 1024)) 300) || { echo "MemTotal did not follow"; exit 1; }
echo "   guest MemTotal followed in ${s}s"
show "grown by 2 GiB"
qmp '{"execute": "query-memory-devices"}'
n=$(($(meminfo_kb MemAvailable) / 1024 - 96))
echo "== memtouch $n MiB: $(memtouch $n)"
qmp '{"execute": "qom-set", "arguments": {"path": "/machine/peripheral/vm0", "property": "requested-size", "value": 0}}' || exit 1
s=$(wait_memtotal $total0 300) || { echo "MemTotal did not follow"; exit 1; }
echo "   guest MemTotal followed in ${s}s"
show "shrunk to 0"
qmp '{"execute": "device_del", "arguments": {"id": "vm0"}}' || exit 1
i=0
while [ "$(memdev_count)" != 0 ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
echo "== device vm0 removed: QEMU has $(memdev_count) memory devices"
