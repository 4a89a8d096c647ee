#!/bin/sh
# Add/online/offline/remove one hidden block again and again (rig.cycles,
# default 100): no cycle may fail and nothing may drift (MemTotal, the kernel's
# page tables, /proc/iomem, the memory blocks), checked every 10 cycles; and
# PageTables of /proc/meminfo and MemFree back where they were at the end.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-cycles
cycles=$(rig_param cycles || echo 100)
ktap_plan 4
set -- $(hidden_blocks)
a=$1
b=$(block_of $a)
snapshot /tmp/before
pt0=$(meminfo_kb PageTables)
settle
free0=$(free_kb)
slab0=$(meminfo_kb Slab)
warm=$((cycles / 5))
[ "$warm" -ge 1 ] || warm=1
freew=$free0
bad=0 drift=0
start=$(date +%s)
i=0
while [ $i -lt "$cycles" ]; do
	# Movable: a kernel (ZONE_NORMAL) block can be pinned by any unmovable
	# allocation that lands in it while online, and then legitimately stays
	# (hotplug-add exercises kernel blocks and reports such pins).
	if ! cycle_block $a movable; then
		diag "cycle $i failed"
		bad=$((bad + 1))
		[ $bad -gt 3 ] && break
	fi
	i=$((i + 1))
	if [ $i = "$warm" ]; then
		settle
		freew=$(free_kb)
		diag "at cycle $i: $(meminfo_brief)"
	fi
	# Compare every 10 cycles and after the last one.
	[ $((i % 10)) = 0 ] || [ $i = "$cycles" ] || continue
	snapshot /tmp/now
	if ! snapshot_same /tmp/before /tmp/now; then
		diag "cycle $i: drift (above)"
		drift=$((drift + 1))
		[ $drift -gt 3 ] && break
	fi
done
diag "$i cycles of block $(hex $a) in $(($(date +%s) - start))s"
check_eq "$cycles add/online/offline/remove cycles succeed" "$bad" 0
check_eq "no drift at any check" "$drift" 0
diag "PageTables (kernel and processes) before $pt0 kB, after $(meminfo_kb PageTables) kB"
settle
free1=$(free_kb)
diag "at cycle $i: $(meminfo_brief)"
diag "free (MemFree and per-CPU lists) before $free0 kB, after $warm cycles $freew kB, after $i cycles $free1 kB; Slab $slab0 -> $(meminfo_kb Slab) kB"
# Free memory is MemFree plus the per-CPU free lists (free_kb), after
# settle: MemFree alone swings by 10 MiB and more with what the per-CPU lists
# hold at that moment (measured 9-23 MiB on them), which once failed an 8 MiB
# bound on sv39 with 25 cycles. Counted this way it moved 12-110 kB from the
# warm-up point to the end (20 and 80 cycles, sv39 and sv48). The first cycles
# still fill slab and memcg caches, so a leak is measured from the warm-up
# point ($warm cycles) on: 2 MiB over the remaining cycles catches a leaked
# memmap (2 MiB per cycle) at once, 100 KiB per cycle with 25 cycles and
# 2 KiB per cycle with make soak's 1000. Leaked page tables show in the exact
# page-table counts above.
check "free memory within 2 MiB from cycle $warm to cycle $i" test $((freew - free1)) -le 2048
check "kernel page tables and blocks checked" test "$i" -ge "$cycles"
ktap_exit
