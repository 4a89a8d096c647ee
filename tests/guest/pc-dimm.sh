#!/bin/sh
# pc-dimm on riscv virt without ACPI. Boot: 512 MiB and a cold-plugged
# 256 MiB DIMM dimm0 (-m 512M,slots=3,maxmem=4G), which the devicetree
# describes, so it must be boot memory. At run time: object-add +
# device_add pc-dimm dimm1 (256 MiB); QEMU maps it, the guest probes and
# onlines it and fills it; device_del is refused with a message pointing to
# virtio-mem; the guest takes it out again itself. Bad DIMMs are refused:
# size not a multiple of 128 MiB, no free slot.
. "$(dirname "$0")/lib.sh"
MiB=1048576
ktap_plan 14
kpgd_save /tmp/kpgd0
require_probe
require_qmp pc-dimm


# in_ram ADDR SIZE: /proc/iomem shows [ADDR, ADDR+SIZE) as System RAM.
in_ram() {
	for _r in $(sed -n 's/^\([0-9a-f]*-[0-9a-f]*\) : System RAM$/\1/p' /proc/iomem); do
		[ $((0x${_r%-*})) -le $1 ] && [ $((0x${_r#*-})) -ge $(($1 + $2 - 1)) ] && return 0
	done
	return 1
}

a0=$(memdev_field dimm0 addr)
s0=$(memdev_field dimm0 size)
diag "dimm0: $s0 bytes at $(hex "$a0")"
check "cold-plugged dimm0 is boot memory (System RAM in /proc/iomem)" in_ram "$a0" "$s0"
check "the devicetree has a memory node for it" test -d "/proc/device-tree/memory@$(printf %x "$a0")"
total0=$(meminfo_kb MemTotal)
diag "MemTotal at boot $total0 kB"

r=$(rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "dm1", "size": 268435456}}')
echo "QMP: object-add memory-backend-ram id=dm1 size=256M -> $r"
r=$(rig_qmp '{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm1", "memdev": "dm1"}}')
echo "QMP: device_add pc-dimm id=dimm1 memdev=dm1 -> $r"
check "device_add pc-dimm at run time" qmp_ok "$r"
a1=$(memdev_field dimm1 addr)
diag "dimm1 at $(hex "$a1")"
bs=$(block_bytes)
fails=0
a=$a1
while [ $a -lt $((a1 + 256 * MiB)) ]; do
	echo "\$ echo $(hex $a) > $MEMSYS/probe; echo online_movable > $MEMSYS/memory$(block_of $a)/state"
	{ probe $a && set_state $(block_of $a) online_movable; } || fails=$((fails + 1))
	a=$((a + bs))
done
check_eq "the guest probes and onlines dimm1's blocks" "$fails" 0
check_eq "MemTotal grew by 256 MiB" "$(($(meminfo_kb MemTotal) - total0))" $((256 * 1024))
fill=$(($(meminfo_kb MemAvailable) / 1024 - 64))
check "pattern-fill and verify ${fill} MiB (dimm1 included)" memtouch $fill

qmp_refused "device_del of a pc-dimm" "virtio-mem" '{"execute": "device_del", "arguments": {"id": "dimm1"}}'
check_eq "dimm1 still there after the refusal" "$(memdev_field dimm1 addr)" "$a1"

fails=0
a=$a1
while [ $a -lt $((a1 + 256 * MiB)) ]; do
	{ offline_retry $(block_of $a) && unprobe $a; } || fails=$((fails + 1))
	a=$((a + bs))
done
check_eq "the guest offlines and removes dimm1 itself" "$fails" 0
check_eq "MemTotal back" "$(meminfo_kb MemTotal)" "$total0"

rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "dm2", "size": 67108864}}' >/dev/null
qmp_refused "a 64 MiB DIMM (not a multiple of 128 MiB)" "128 MiB" \
	'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm2", "memdev": "dm2"}}'
rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "dm3", "size": 134217728}}' >/dev/null
r=$(rig_qmp '{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm3", "memdev": "dm3"}}')
check "device_add a third DIMM (last slot)" qmp_ok "$r"
rig_qmp '{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "dm4", "size": 134217728}}' >/dev/null
qmp_refused "a fourth DIMM with 3 slots" "slot" \
	'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm4", "memdev": "dm4"}}'
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
