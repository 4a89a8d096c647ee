#!/bin/sh
# Boot sanity: paging mode, MemTotal, memory block size, and the QMP channel.
. "$(dirname "$0")/lib.sh"
ktap_plan 5

# rig.mmu and rig.mem_mib describe the machine the rig started (QEMU's
# -cpu and -m); booted without them (by hand, on a board) those checks skip.
got_mmu=$(paging_mode)
if want_mmu=$(rig_param mmu); then
	check_eq "paging mode is $want_mmu" "$got_mmu" "$want_mmu"
else
	skip "paging mode is as asked ($got_mmu)" "no rig.mmu on the command line"
fi

if mem_mib=$(rig_param mem_mib); then
	# MemTotal: all of RAM less what the kernel image and early reservations hold.
	mem_kb=$((mem_mib * 1024))
	total=$(meminfo_kb MemTotal)
	diag "MemTotal $total kB of $mem_kb kB RAM"
	# KASAN takes 1/8 of RAM for its shadow, and its much larger kernel and early
	# reservations more (measured: 58% of 1 GiB left with the kasan profile).
	low=85
	zcat /proc/config.gz 2>/dev/null | grep -qx CONFIG_KASAN=y && low=50
	if [ "$total" -le "$mem_kb" ] && [ "$total" -ge $((mem_kb * low / 100)) ]; then
		ok "MemTotal within $low-100% of RAM"
	else
		not_ok "MemTotal within $low-100% of RAM"
	fi

	# /proc/iomem: System RAM ends where QEMU's RAM (from 0x80000000) ends.
	last=$(sed -n 's/^[0-9a-f]*-\([0-9a-f]*\) : System RAM$/\1/p' /proc/iomem | tail -n 1)
	check_eq "System RAM ends at the end of QEMU's RAM" "$last" "$(printf '%x' $((0x80000000 + mem_kb * 1024 - 1)))"
else
	skip "MemTotal within 85-100% of RAM" "no rig.mem_mib on the command line"
	skip "System RAM ends at the end of QEMU's RAM" "no rig.mem_mib on the command line"
fi

if [ -d /sys/devices/system/memory ]; then
	bs=$(cat /sys/devices/system/memory/block_size_bytes)
	check_eq "memory block size is 128 MiB" "$bs" "8000000"
else
	skip "memory block size is 128 MiB" "no /sys/devices/system/memory (CONFIG_MEMORY_HOTPLUG off)"
fi

# The guest's own QMP monitor (rig.qmp port): QEMU's view of boot memory
# agrees with -m. Not QEMU, or QEMU without the port: skipped.
if qmp_port >/dev/null; then
	reply=$(rig_qmp '{"execute": "query-memory-size-summary"}')
	echo "# QMP: query-memory-size-summary -> $reply"
	base=$(echo "$reply" | sed -n 's/.*"base-memory": *\([0-9]*\).*/\1/p')
	if [ -n "$mem_mib" ]; then
		check_eq "QMP base-memory equals -m" "$base" "$((mem_mib * 1048576))"
	else
		check "QMP answers query-memory-size-summary (base-memory ${base:-none})" [ "${base:-0}" -gt 0 ]
	fi
elif [ "$(rig_param qmp)" = 1 ]; then
	not_ok "QMP base-memory equals -m: no rig.qmp port although rig.qmp=1"
else
	skip "QMP base-memory equals -m" "no rig.qmp virtio-serial port"
fi
ktap_exit
