#!/bin/sh
# Concurrency: add/remove cycles while other tasks walk the kernel page tables
# (ptdump), churn vmalloc (test_vmalloc) and take CPUs offline and online.
# No splat (the runner checks), no hang (the runner's timeout), page tables
# and memory back to baseline.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-stress
cycles=$(rig_param cycles || echo 20)
ktap_plan 4
set -- $(hidden_blocks)
a=$1
b=$(block_of $a)
snapshot /tmp/before
rm -f /tmp/stop
(while [ ! -e /tmp/stop ]; do cat /sys/kernel/debug/kernel_page_tables >/dev/null; done) &
p1=$!
(while [ ! -e /tmp/stop ]; do
	modprobe test_vmalloc nr_threads=2 test_loop_count=2000 run_test_mask=0x7 2>/dev/null
done) &
p2=$!
(while [ ! -e /tmp/stop ]; do
	echo 0 >/sys/devices/system/cpu/cpu1/online
	sleep 0.2
	echo 1 >/sys/devices/system/cpu/cpu1/online
	sleep 0.2
done) &
p3=$!
bad=0 i=0
while [ $i -lt "$cycles" ]; do
	# Movable: with vmalloc churning, kernel blocks are pinned at once.
	if ! cycle_block $a movable; then
		diag "cycle $i failed"
		bad=$((bad + 1))
		[ $bad -gt 3 ] && break
	fi
	i=$((i + 1))
done
touch /tmp/stop
wait $p1 $p2 $p3
echo 1 >/sys/devices/system/cpu/cpu1/online 2>/dev/null
check_eq "$cycles cycles under ptdump, vmalloc churn and CPU hotplug" "$bad" 0
check_eq "cpu1 back online" "$(cat /sys/devices/system/cpu/cpu1/online)" 1
runs=$(dmesg | grep -c 'All test took')
diag "test_vmalloc completed $runs runs"
check "test_vmalloc churned vmalloc meanwhile" test "$runs" -ge 1
snapshot /tmp/after
# Module loads (test_vmalloc) split 2 MiB leaves of boot memory's linear map
# for the aliases of module pages: those new PTE tables are not ours to undo.
sed -i 's/^\(linear .*\) pte [0-9]*$/\1/' /tmp/before /tmp/after
check_snapshot "memory and page tables back to baseline (linear-map PTE tables aside)" /tmp/before /tmp/after
ktap_exit
