#!/bin/sh
# virtio-mem grow and shrink: the guest boots with 512 MiB and a virtio-mem
# device 'vm0' (2 GiB, requested-size 0). Over QMP the test sets
# requested-size in four steps to MAX (rig.vm_max MiB, default 2048) and
# back in two steps to 0; after each step MemTotal must follow within a
# timeout, QEMU's view of the device (size in query-memory-devices) must
# agree with the guest, and data held by two programs (one in boot memory
# from the start, one filled into the virtio-mem memory at MAX) must verify
# byte for byte. At MAX most of the memory is pattern-filled and verified
# once; the shrink then runs with the held data live, so the driver has to
# migrate it out of what it unplugs.
. "$(dirname "$0")/lib.sh"
MiB=1048576
STEP_S=${STEP_S:-600}
dev=vm0
max=$(rig_param vm_max || echo 2048)
ktap_plan 23
kpgd_save /tmp/kpgd0
case $max in
''|*[!0-9]*) max=0 ;;
esac
if [ "$max" -le 0 ] || [ $((max % 512)) -ne 0 ] || [ "$max" -gt 2048 ]; then
	diag "rig.vm_max must be 512, 1024, 1536 or 2048 (MiB; the device has 2 GiB), got '$(rig_param vm_max)'"
	exit 1
fi

if ! grep -q virtio_mem /proc/kallsyms 2>/dev/null && [ ! -d /sys/bus/virtio/drivers/virtio_mem ]; then
	skip_all "no virtio_mem driver in this kernel"
fi
require_qmp virtio-mem-resize
total0=$(meminfo_kb MemTotal)
diag "boot MemTotal $total0 kB; device block-size $(qom_get $dev block-size), region $(memdev_field $dev max-size) bytes at $(hex "$(memdev_field $dev memaddr)")"
check_eq "QEMU reports size 0 at boot" "$(memdev_field $dev size)" 0

avail0=$(($(meminfo_kb MemAvailable) / 1024))
check "hold 64 MiB in boot memory (memtouch A)" memtouch_start 64 A

# resize BYTES: set requested-size, wait for the guest's MemTotal and for
# QEMU's size, check both and the held data.
resize() {
	_want=$(($1 / 1024 + total0))
	_r=$(qom_set $dev requested-size $1)
	qmp_ok "$_r" || { diag "qom-set: $_r"; not_ok "requested-size $(($1 / MiB)) MiB"; return; }
	echo "QMP: qom-set /machine/peripheral/$dev requested-size $1"
	if _s=$(wait_memtotal $_want $STEP_S); then
		ok "requested-size $(($1 / MiB)) MiB: MemTotal $(meminfo_kb MemTotal) kB after ${_s}s"
	else
		diag "MemTotal $(meminfo_kb MemTotal) kB, want $_want kB; QEMU size $(memdev_field $dev size)"
		not_ok "requested-size $(($1 / MiB)) MiB: MemTotal follows within ${STEP_S}s"
	fi
	check_eq "QEMU size agrees with the guest at $(($1 / MiB)) MiB" \
		"$(memdev_field $dev size)" "$((($(meminfo_kb MemTotal) - total0) * 1024))"
}

for mib in $((max / 4)) $((max / 2)) $((max * 3 / 4)) $max; do
	resize $((mib * MiB))
done
check "memtouch A verifies after growing" memtouch_verify A

fill=$(($(meminfo_kb MemAvailable) / 1024 - 96))
diag "pattern-fill ${fill} MiB of $(($(meminfo_kb MemTotal) / 1024)) MiB"
check "pattern-fill and verify ${fill} MiB" memtouch $fill

# B: as much as fits in boot memory besides A, filled while virtio-mem
# memory (ZONE_MOVABLE, used first for user pages) is there.
nb=$((avail0 - 64 - 128))
check "hold ${nb} MiB in virtio-mem memory (memtouch B)" memtouch_start $nb B
movable_used=$(awk '/^Node .* zone/ {z=$4} z=="Movable" && $1=="nr_free_pages" {f=$2} z=="Movable" && $1=="managed" {m=$2} END {print int((m - f) / 256)}' /proc/zoneinfo)
diag "ZONE_MOVABLE in use: $movable_used MiB"

for mib in $((max / 2)) 0; do
	resize $((mib * MiB))
	if memtouch_verify A && memtouch_verify B; then
		ok "memtouch A and B verify at $mib MiB"
	else
		tail -n 2 /tmp/A.out /tmp/B.out | sed 's/^/# /'
		not_ok "memtouch A and B verify at $mib MiB"
	fi
done
memtouch_stop A
check_eq "memtouch A: every verification clean" "$?" 0
memtouch_stop B
check_eq "memtouch B: every verification clean" "$?" 0
check_eq "back to the boot MemTotal" "$(meminfo_kb MemTotal)" "$total0"
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
