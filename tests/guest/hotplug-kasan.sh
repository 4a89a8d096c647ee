#!/bin/sh
# KASAN profile: hot-added memory onlined as kernel memory gets used by slab
# (boot RAM is pinned by a user program first, so the allocations have to come
# from the new blocks), then everything is freed and the blocks removed. The
# runner fails the run on any KASAN report.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-kasan
# Booted by the rig (rig.profile), this is the kasan profile: a kernel
# without KASAN fails; elsewhere it skips.
if ! zcat /proc/config.gz | grep -qx CONFIG_KASAN=y && ! rig_param profile >/dev/null; then
	skip_all "needs a kernel with CONFIG_KASAN"
fi
ktap_plan 6
check "kernel built with KASAN" sh -c "zcat /proc/config.gz | grep -qx CONFIG_KASAN=y"
# Only blocks more than 8 GiB above boot memory: the shadow of the first
# 8 GiB after it shares a shadow PMD table with boot memory, which kasan_init()
# populated, so they would work even with the early shadow still mapped.
blocks=""
for a in $(hidden_blocks); do
	[ $((a)) -ge $((0x80000000 + 9 * 1024 * 1024 * 1024)) ] && blocks="$blocks $a"
done
if [ -z "$blocks" ]; then
	# The rig gives it 10 GiB (rig.mem_mib): there, this is a failure.
	rig_param mem_mib >/dev/null || skip_all "needs RAM hidden with mem= more than 8 GiB above boot memory"
	diag "no hidden block 8 GiB above boot memory (QEMU -m too small)"
	not_ok "hidden blocks far from boot memory"
	skip_all "no hidden blocks"
fi
diag "blocks:$blocks"
snapshot /tmp/before
bad=0
for a in $blocks; do
	probe $a && set_state $(block_of $a) online_kernel || bad=$((bad + 1))
done
check_eq "probe and online $(echo $blocks | wc -w) blocks as kernel memory" "$bad" 0

# Pin most of the free boot RAM (user pages stay where they are allocated).
normal_free_mib=$(( $(meminfo_kb MemFree) / 1024 - $(echo $blocks | wc -w) * 128 - 48 ))
rm -f /tmp/go
memtouch $normal_free_mib --hold /tmp/go >/tmp/memtouch.out 2>&1 &
pid=$!
while ! grep -q 'written and verified' /tmp/memtouch.out 2>/dev/null; do
	kill -0 $pid 2>/dev/null || break
	sleep 0.2
done
diag "pinned $normal_free_mib MiB, MemFree now $(meminfo_kb MemFree) kB"
slab0=$(meminfo_kb Slab)
mkdir -p /tmp/slab
# 1000 inodes and dentries per directory: ~4 MiB of slab measured on the
# KASAN kernel (16 directories grew Slab by 64 MiB). 16 by default, 8 in
# make check (rig.slab_dirs), twice the 16 MiB asked for below.
dirs=$(rig_param slab_dirs || echo 16)
i=0
while [ $i -lt "$dirs" ]; do
	mkdir /tmp/slab/d$i
	(cd /tmp/slab/d$i && seq 1 1000 | xargs touch)
	i=$((i + 1))
done
slab1=$(meminfo_kb Slab)
diag "Slab grew from $slab0 kB to $slab1 kB"
check "slab grew by >= 16 MiB on the new memory" test $((slab1 - slab0)) -ge 16384
rm -rf /tmp/slab
touch /tmp/go
wait $pid
check_eq "user data intact" "$?" 0

# Free what the workload left behind and remove the blocks. While boot RAM
# was pinned, every kernel allocation went to the new blocks, and some stay
# (slab pages with a live object, page tables): those blocks cannot go
# offline, which is ZONE_NORMAL behaviour, not a KASAN matter. They must fail
# with EBUSY and no splat; the rest must go, freeing their shadow.
sync; echo 3 >/proc/sys/vm/drop_caches
removed="" pinned=0 bad=0
for a in $blocks; do
	b=$(block_of $a)
	# Four tries: a block still busy after reclaim and compaction is pinned.
	if offline_retry $b 4 && unprobe $a; then
		removed="$removed $a"
		continue
	fi
	e=$(sysfs-write $MEMSYS/memory$b/state offline 2>&1)
	case $e in
	EBUSY*) pinned=$((pinned + 1)); diag "memory$b: pinned by unmovable kernel pages ($e)" ;;
	*) bad=$((bad + 1)); diag "memory$b: offline/remove failed: $e" ;;
	esac
done
diag "removed $(echo $removed | wc -w) of $(echo $blocks | wc -w) blocks, $pinned pinned"
check "every block removed or pinned (EBUSY), at least one removed" \
	test "$bad" = 0 -a -n "$removed"

# The shadow of a removed block was vfree()d: adding it again as kernel
# memory and using it needs a new one.
set -- $removed
if [ $# -gt 0 ]; then
	b=$(block_of $1)
	ok=0
	probe $1 && set_state $b online_kernel && ok=1
	sh -c 'mkdir -p /tmp/s2 && cd /tmp/s2 && seq 1 2000 | xargs touch && cd / && rm -rf /tmp/s2' || ok=0
	offline_retry $b && unprobe $1 || diag "memory$b: pinned again after the second use"
	check_eq "a removed block added and used again as kernel memory" "$ok" 1
else
	not_ok "a removed block added and used again as kernel memory"
fi
# Leave what can go: one more try each for the blocks found pinned.
for a in $blocks; do
	b=$(block_of $a)
	[ -e $MEMSYS/memory$b ] || continue
	set_state $b offline && unprobe $a
done 2>/dev/null
ktap_exit
