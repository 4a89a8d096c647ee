#!/bin/sh
# Add/online/offline/remove one hidden block again and again (rig.cycles,
# default 100): no cycle may fail and nothing may drift (MemTotal, PageTables,
# /proc/iomem, the memory blocks), checked after every cycle.
. /rig/lib.sh
require_probe "add/remove cycles"
cycles=$(rig_param cycles || echo 100)
ktap_plan 2
set -- $(hidden_blocks)
a=$1
b=$(block_of $a)
snapshot /tmp/before
bad=0 drift=0 zone=movable
start=$(date +%s)
i=0
while [ $i -lt "$cycles" ]; do
	# Alternate the zone so both online paths are exercised.
	if [ $((i % 2)) = 0 ]; then zone=movable; else zone=kernel; fi
	if ! probe $a || ! set_state $b online_$zone || ! set_state $b offline || ! unprobe $a; then
		diag "cycle $i ($zone) failed"
		bad=$((bad + 1))
		[ -e $MEMSYS/memory$b ] && { set_state $b offline; unprobe $a; } 2>/dev/null
		[ $bad -gt 3 ] && break
	fi
	snapshot /tmp/now
	if ! cmp -s /tmp/before /tmp/now; then
		diag "cycle $i: drift"
		diff /tmp/before /tmp/now | sed 's/^/# /'
		drift=$((drift + 1))
		[ $drift -gt 3 ] && break
	fi
	i=$((i + 1))
done
diag "$i cycles of block $(hex $a) in $(($(date +%s) - start))s"
check_eq "$cycles add/online/offline/remove cycles succeed" "$bad" 0
check_eq "no drift after any cycle" "$drift" 0
ktap_exit
