#!/bin/sh
# An fsdax pfn device with its memmap in the device ("pmem": a vmem_altmap)
# bound and unbound rig.cycles times: boot RAM does not pay for the memmap
# (compared with "ram", where it does), and nothing leaks: MemFree, the
# kernel's vmemmap page tables and /proc/iomem come back.
. "$(dirname "$0")/lib.sh"
ktap_plan 6
nd=$RIG_DIR/nd.sh
require_pmem "altmap"
cycles=$(rig_param cycles)
cycles=${cycles:-20}
pmem_mib=$(($(cat /sys/bus/nd/devices/region0/size) / 1048576))
# Boot RAM (MemFree) an fsdax device of LOC costs while it is bound, against
# the namespace unbound: bound raw, the namespace is memremap()ed, which
# under KASAN_VMALLOC costs a shadow of 1/8 of it (128 MiB for 1 GiB) that
# the fsdax device does not need.
cost() {
	$nd idle || return 1
	settle
	_f0=$(free_kb)
	$nd fsdax "$1" 2097152 >/dev/null || return 1
	settle
	_f1=$(free_kb)
	$nd reset || return 1
	echo $((_f0 - _f1))
}
$nd reset
snapshot /tmp/before
pt0=$(kernel_pt_pages)
settle
free0=$(free_kb)
ram=$(cost ram)
pmem=$(cost pmem)
memmap=$((pmem_mib * 1024 / 4096 * 64))
diag "boot RAM used with the memmap in RAM: $ram kB, in the device: $pmem kB (memmap of $pmem_mib MiB: $memmap kB)"
echo "BENCH altmap_boot_ram_kib_per_gib_ram $((ram * 1024 / pmem_mib))"
echo "BENCH altmap_boot_ram_kib_per_gib_pmem $((pmem * 1024 / pmem_mib))"
if [ "${ram:-0}" -ge $((memmap * 3 / 4)) ]; then ok "memmap in RAM costs boot RAM (>= 3/4 of $memmap kB)"; else not_ok "memmap in RAM costs boot RAM (${ram:-?} kB)"; fi
if [ -n "$pmem" ] && [ "$pmem" -le $((memmap / 4)) ]; then ok "memmap in the device costs <= 1/4 of it in boot RAM"; else not_ok "memmap in the device costs <= 1/4 of it in boot RAM (${pmem:-?} kB)"; fi
i=0 bad=0
while [ $i -lt $cycles ]; do
	if ! $nd fsdax pmem 2097152 >/dev/null || [ ! -b /dev/pmem0 ] || ! $nd reset; then
		bad=$((bad + 1))
		break
	fi
	i=$((i + 1))
done
check_eq "$cycles bind/unbind cycles" "$i" "$cycles"
snapshot /tmp/after
check_snapshot "kernel page tables, iomem and blocks as before" /tmp/before /tmp/after
check_eq "vmemmap and linear-map page tables as before" "$(kernel_pt_pages)" "$pt0"
settle
free1=$(free_kb)
drift=$((free0 - free1))
diag "MemFree drift after $cycles cycles: $drift kB"
if [ $drift -le 8192 ]; then ok "MemFree within 8 MiB of the start"; else not_ok "MemFree within 8 MiB of the start ($drift kB)"; fi
ktap_exit
