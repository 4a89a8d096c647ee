#!/bin/sh
# Hot-add the RAM hidden with mem= through the probe interface, online it as
# movable and as kernel memory, use it, then offline and remove it: MemTotal,
# /proc/iomem, the memory blocks and PageTables must return exactly.
. /rig/lib.sh
require_probe "hot-add hidden RAM"

bs=$(block_bytes)
blocks=$(hidden_blocks)
n=$(echo $blocks | wc -w)
ktap_plan 10
diag "block size $bs, $n hidden blocks: $(for a in $blocks; do hex $a; printf ' '; done)"
snapshot /tmp/before
total0=$(meminfo_kb MemTotal)

fails=0
for a in $blocks; do
	probe $a || { diag "probe $(hex $a) failed"; fails=$((fails + 1)); }
done
check_eq "probe every hidden block" "$fails" 0

bad=0
for a in $blocks; do
	b=$(block_of $a)
	[ "$(state_of $b)" = offline ] || { diag "memory$b: $(state_of $b 2>&1)"; bad=$((bad + 1)); }
	case " $(cat $MEMSYS/memory$b/valid_zones) " in
	*" Movable "*) ;;
	*) diag "memory$b valid_zones: $(cat $MEMSYS/memory$b/valid_zones)"; bad=$((bad + 1)) ;;
	esac
done
check_eq "new blocks offline, Movable among valid_zones" "$bad" 0

# First half movable, second half kernel memory.
i=0 bad=0
for a in $blocks; do
	b=$(block_of $a)
	if [ $i -lt $((n / 2)) ]; then zone=movable want=Movable; else zone=kernel want=Normal; fi
	set_state $b online_$zone || bad=$((bad + 1))
	[ "$(state_of $b)" = online ] || bad=$((bad + 1))
	[ "$(cat $MEMSYS/memory$b/valid_zones)" = "$want" ] ||
		{ diag "memory$b valid_zones '$(cat $MEMSYS/memory$b/valid_zones)', want $want"; bad=$((bad + 1)); }
	i=$((i + 1))
done
check_eq "online $((n / 2)) blocks movable, $((n - n / 2)) as kernel memory" "$bad" 0

total1=$(meminfo_kb MemTotal)
check_eq "MemTotal grew by $n blocks" "$((total1 - total0))" "$((n * bs / 1024))"

bad=0
for a in $blocks; do
	covered=0
	for r in $(sed -n 's/^\([0-9a-f]*-[0-9a-f]*\) : System RAM$/\1/p' /proc/iomem); do
		s=$((0x${r%-*})) e=$((0x${r#*-}))
		[ $s -le $a ] && [ $e -ge $((a + bs - 1)) ] && covered=1
	done
	[ $covered = 1 ] || { diag "$(hex $a) not in System RAM"; bad=$((bad + 1)); }
done
check_eq "/proc/iomem System RAM covers every added block" "$bad" 0

free_mib=$(($(meminfo_kb MemAvailable) / 1024 - 48))
diag "memtouch $free_mib MiB (MemAvailable less 48 MiB)"
check "pattern-fill and verify ${free_mib} MiB" memtouch $free_mib

bad=0
for a in $blocks; do
	b=$(block_of $a)
	set_state $b offline || { diag "offline memory$b failed"; bad=$((bad + 1)); }
done
check_eq "offline every added block" "$bad" 0
bad=0
for a in $blocks; do
	unprobe $a || { diag "unprobe $(hex $a) failed"; bad=$((bad + 1)); }
	[ ! -e $MEMSYS/memory$(block_of $a) ] || bad=$((bad + 1))
done
check_eq "remove every added block" "$bad" 0

snapshot /tmp/after
if cmp -s /tmp/before /tmp/after; then
	ok "MemTotal, PageTables, /proc/iomem and blocks as before the add"
else
	diff /tmp/before /tmp/after | sed 's/^/# /'
	not_ok "MemTotal, PageTables, /proc/iomem and blocks as before the add"
fi
total2=$(meminfo_kb MemTotal)
check_eq "MemTotal back to $total0 kB" "$total2" "$total0"
ktap_exit
