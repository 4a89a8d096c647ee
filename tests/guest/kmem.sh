#!/bin/sh
# dax/kmem: the pmem region, as a device-dax device, becomes System RAM
# ("System RAM (kmem)" in /proc/iomem), onlined movable, used by a workload,
# offlined, and given back to device_dax: MemTotal back to its baseline,
# rig.cycles times. With memory_hotplug.memmap_on_memory=1 the memmap of
# each block lives at the start of the block (in the device), not in boot RAM,
# when the dax device asks for it (its memmap_on_memory attribute, 0 by
# default, which cannot change while kmem holds the device).
. "$(dirname "$0")/lib.sh"
ktap_plan 13
nd=$RIG_DIR/nd.sh
require_pmem "kmem"
cycles=$(rig_param cycles)
cycles=${cycles:-20}
mom=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null)
bs=$(block_bytes)
$nd reset
# The dax device's own memmap in RAM: what kmem adds is then all usable.
if ! dax=$($nd devdax 2097152 ram); then
	not_ok "devdax device for kmem"
	skip_all "no devdax device"
fi
ok "devdax device $dax"
attr=/sys/bus/dax/devices/$dax/memmap_on_memory
check_eq "$dax memmap_on_memory is 0 by default" "$(cat $attr 2>&1)" 0
if [ "$mom" = Y ]; then
	check_eq "$dax memmap_on_memory set to 1" "$(sysfs-write $attr 1) $(cat $attr)" "ok 1"
else
	expect_err "$dax memmap_on_memory=1 without memory_hotplug.memmap_on_memory" EOPNOTSUPP $attr 1
fi
# The baseline without device_dax bound: device_dax's own memmap of the range
# (in RAM, 2 MiB compound pages de-duplicated: ~4.5 MiB per GiB) is freed
# when kmem takes the device over, and must not offset what kmem costs.
sysfs-write /sys/bus/dax/drivers/device_dax/unbind $dax >/dev/null
snapshot /tmp/before
sync; echo 3 >/proc/sys/vm/drop_caches
total0=$(meminfo_kb MemTotal)
free0=$(free_kb)
i=0 fail=""
while [ $i -lt $cycles ] && [ -z "$fail" ]; do
	i=$((i + 1))
	blocks=$($nd kmem $dax) || { fail="kmem bind"; break; }
	blocks=$(echo $blocks)
	n=$(echo $blocks | wc -w)
	if [ $i = 1 ]; then
		check_eq "System RAM (kmem) in /proc/iomem" "$(grep -c 'System RAM (kmem)' /proc/iomem | sed 's/^0$/none/;s/^[1-9][0-9]*$/yes/')" yes
		if [ "$mom" = Y ]; then
			expect_err "change memmap_on_memory while kmem holds $dax" EBUSY $attr 0
		else
			check_eq "write the same memmap_on_memory while kmem holds $dax" "$(sysfs-write $attr 0)" ok
		fi
		sync; echo 3 >/proc/sys/vm/drop_caches
		cost=$((free0 - $(free_kb)))
		memmap=$((n * bs / 4096 * 64 / 1024))
		diag "$n blocks added; boot RAM used before onlining: $cost kB (memmap: $memmap kB; memmap_on_memory=$mom)"
		echo "BENCH kmem_boot_ram_kib_per_gib_mom$mom $((cost * 1024 * 1024 / (n * bs / 1024)))"
		if [ "$mom" = Y ]; then
			if [ $cost -le $((memmap / 8)) ]; then ok "memmap in the device: boot RAM pays <= 1/8 of it"; else not_ok "memmap in the device: boot RAM pays <= 1/8 of it ($cost kB)"; fi
		else
			# Free memory moves by a few MiB with caches: half of the
			# memmap is still far above the <= 1/8 of memmap_on_memory=1.
			if [ $cost -ge $((memmap / 2)) ]; then ok "memmap in boot RAM (>= 1/2 of $memmap kB)"; else not_ok "memmap in boot RAM ($cost kB)"; fi
		fi
	fi
	for b in $blocks; do set_state $b online_movable || fail="online memory$b"; done
	[ -n "$fail" ] && break
	if [ $i = 1 ]; then
		grow=$(( $(meminfo_kb MemTotal) - total0 ))
		want=$((n * bs / 1024))
		[ "$mom" = Y ] && want=$((want - n * bs / 4096 * 64 / 1024))
		check_eq "MemTotal grows by the blocks (less their memmap with memmap_on_memory)" "$grow" "$want"
		check "all blocks in ZONE_MOVABLE" sh -c "for b in $blocks; do grep -qx Movable $MEMSYS/memory\$b/valid_zones || exit 1; done"
	fi
	# A workload that needs the device memory: more than boot RAM has free.
	memtouch $(( $(meminfo_kb MemFree) / 1024 * 3 / 4 )) >/tmp/mt.out 2>&1 || fail="workload"
	for b in $blocks; do offline_retry $b || fail="offline memory$b"; done
	[ -n "$fail" ] && break
	$nd unkmem $dax || fail="unbind kmem"
	[ "$(meminfo_kb MemTotal)" = "$total0" ] || fail="MemTotal $(meminfo_kb MemTotal) kB after cycle $i, want $total0"
done
[ -n "$fail" ] && diag "cycle $i: $fail"
check_eq "$cycles kmem cycles (bind, online, workload, offline, unbind)" "${fail:-ok} $i" "ok $cycles"
check_eq "MemTotal back to baseline" "$(meminfo_kb MemTotal)" "$total0"
check_eq "no System RAM (kmem) left" "$(grep -c 'System RAM (kmem)' /proc/iomem)" 0
# As for the baseline: device_dax (which unkmem bound again) unbound.
sysfs-write /sys/bus/dax/drivers/device_dax/unbind $dax >/dev/null
snapshot /tmp/after
check_snapshot "kernel page tables, iomem and blocks as before" /tmp/before /tmp/after
check "reset" $nd reset
ktap_exit
