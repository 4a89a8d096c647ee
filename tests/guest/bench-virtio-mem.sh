#!/bin/sh
# make bench: virtio-mem grow and shrink latency, guest-observed: from the
# qom-set of requested-size until MemTotal has followed, 0 -> 2 GiB -> 0 on
# the cold-plugged device vm0 (BENCH lines for the host runner).
. "$(dirname "$0")/lib.sh"
GiB=1073741824
[ -d /sys/bus/virtio/drivers/virtio_mem ] || { echo "no virtio_mem driver"; exit 1; }
qmp_port >/dev/null || { echo "no rig.qmp port"; exit 1; }
total0=$(meminfo_kb MemTotal)
t0=$(mstime)
qom_set vm0 requested-size $((2 * GiB)) >/dev/null
wait_memtotal $((total0 + 2 * 1024 * 1024)) 600 >/dev/null || exit 1
t1=$(mstime)
qom_set vm0 requested-size 0 >/dev/null
wait_memtotal $total0 600 >/dev/null || exit 1
t2=$(mstime)
echo "BENCH vmem_grow_ms_per_gib $(((t1 - t0) / 2))"
echo "BENCH vmem_shrink_ms_per_gib $(((t2 - t1) / 2))"
