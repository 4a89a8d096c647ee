#!/bin/sh
# make demo: show the guest's memory layout and memory blocks; when the kernel
# has the series' probe interface, hot-add the RAM hidden by mem=, use it,
# and remove it again.
. /rig/lib.sh

show() {
	echo "== $1"
	echo "   paging mode: $(sed -n 's/^mmu[^:]*: //p' /proc/cpuinfo | head -n 1)"
	echo "   MemTotal:    $(meminfo_kb MemTotal) kB   MemFree: $(meminfo_kb MemFree) kB   PageTables: $(meminfo_kb PageTables) kB"
	echo "   /proc/iomem System RAM:"
	grep 'System RAM' /proc/iomem | sed 's/^/     /'
	if [ -d /sys/devices/system/memory ]; then
		echo "   memory blocks ($(($(cat /sys/devices/system/memory/block_size_bytes | sed 's/^/0x/') >> 20)) MiB each):"
		for n in $(ls /sys/devices/system/memory | sed -n 's/^memory\([0-9]*\)$/\1/p' | sort -n); do
			b=/sys/devices/system/memory/memory$n
			printf '     %-10s %-8s %s\n' "memory$n" "$(cat "$b/state")" "$(cat "$b/valid_zones" 2>/dev/null)"
		done
	else
		echo "   /sys/devices/system/memory: absent (this kernel has no CONFIG_MEMORY_HOTPLUG)"
	fi
}

show "boot"
probe=/sys/devices/system/memory/probe
if [ ! -w "$probe" ]; then
	echo "== no $probe: the series is not applied; nothing to hot-add"
	exit 0
fi
bs=$((0x$(cat /sys/devices/system/memory/block_size_bytes)))
end=$(sed -n 's/^[0-9a-f]*-\([0-9a-f]*\) : System RAM$/\1/p' /proc/iomem | tail -n 1)
start=$(( (0x$end + bs) / bs * bs ))
ram_end=$((0x80000000 + $(rig_param mem_mib) * 1024 * 1024))
added=""
a=$start
while [ $a -lt $ram_end ]; do
	printf '$ echo 0x%x > %s\n' $a "$probe"
	printf '0x%x' $a >"$probe" || { echo "probe failed"; exit 1; }
	blk=$((a / bs))
	echo online_movable >/sys/devices/system/memory/memory$blk/state || exit 1
	added="$added $a"
	a=$((a + bs))
done
show "after probing and onlining the hidden RAM as movable"
n=$(( ($(meminfo_kb MemFree) / 1024) - 64 ))
echo "== touching ${n} MiB with memtouch"
memtouch "$n" || exit 1
for a in $added; do
	blk=$((a / bs))
	echo offline >/sys/devices/system/memory/memory$blk/state || exit 1
	printf '$ echo 0x%x > /sys/devices/system/memory/unprobe\n' $a
	printf '0x%x' $a >/sys/devices/system/memory/unprobe || exit 1
done
show "after offlining and removing it again"
