#!/bin/sh
# make bench, guest side: hot-add/remove latency per GiB (1, 2, 4 GiB), boot
# RAM consumed per hot-added GiB, linear-map leaf sizes, page tables left after
# removal, and the page tables at boot.
# Prints "BENCH key value" lines; the host runner turns them into a table.
. "$(dirname "$0")/lib.sh"
# PageTables first, with builtins only: no process but init and this shell
# (and what is still exiting: the smallest of three readings a second apart),
# each after folding the per-CPU counter deltas (stat_refresh).
pt_boot=""
for _i in 1 2 3; do
	echo 1 >/proc/sys/vm/stat_refresh
	while read -r _k _v _u; do
		[ "$_k" = PageTables: ] && { [ -z "$pt_boot" ] || [ "$_v" -lt "$pt_boot" ]; } && pt_boot=$_v
	done </proc/meminfo
	[ $_i = 3 ] || sleep 1
done
require_probe
ktap_plan 1
bs=$(block_bytes)
per_gib=$((1024 * 1024 * 1024 / bs))
all=$(hidden_blocks)
mom=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory)

bench() {
	echo "BENCH $1 $2"
}

# Boot page tables: PageTables of /proc/meminfo as the test starts (the page
# tables of init and this shell, and kernel tables from the page allocator), the top-level
# tables pre-allocated at boot (from memblock, not in PageTables; the kernel
# logs them, KASAN shadow only with the final series) and the tables right
# below the PGD that map boot memory.
bench pagetables_boot_kib "$pt_boot"
prealloc=$(dmesg | sed -n 's/.*pre-allocated \([0-9]*\) top-level.* (\([0-9]*\) KiB).*/\1 \2/p' | head -n 1)
[ -n "$prealloc" ] || prealloc="0 0"
bench prealloc_tables "${prealloc% *}"
bench prealloc_kib "${prealloc#* }"

# KiB of the linear mapping of the physical range [$1, $2) mapped by leaves
# >= 2 MiB and by 4 KiB PTEs.
leaf_kib() {
	_big=0 _small=0
	while read -r _lv _b; do
		if [ "$_lv" = PTE ]; then _small=$((_small + _b / 1024)); else _big=$((_big + _b / 1024)); fi
	done <<EOF
$(linear_map_bytes $1 $2)
EOF
	echo "$_big $_small"
}

peek_load
top0=$(kernel_top_pages)
bench pt_top_boot "$top0"
kpgd_save /tmp/kpgd.boot
sync; echo 3 >/proc/sys/vm/drop_caches
pt0=$(kernel_pt_pages)
free0=$(meminfo_kb MemFree)
for gib in 1 2 4; do
	set -- $all
	n=$((gib * per_gib))
	[ $# -ge $n ] || { diag "only $# hidden blocks, skipping $gib GiB"; continue; }
	blocks=$(echo $all | tr ' ' '\n' | head -n $n)
	sync; echo 3 >/proc/sys/vm/drop_caches
	f0=$(free_kb)
	t0=$(mstime)
	for a in $blocks; do probe $a; done
	t1=$(mstime)
	f1=$(free_kb)
	for a in $blocks; do set_state $(block_of $a) online_movable; done
	t2=$(mstime)
	# Boot RAM per GiB from the largest size: free memory (with the per-CPU
	# lists) moves by a few hundred KiB on its own, 1/4 of that per GiB here.
	cost_per_gib=$(((f0 - f1) / gib))
	if [ $gib = 1 ]; then
		bench pt_pages_per_gib $(($(kernel_pt_pages) - pt0))
		bench pt_top_added_1g $(($(kernel_top_pages) - top0))
		kpgd_save /tmp/kpgd.now
		diag "top-level entries the first GiB filled: $(kpgd_diff /tmp/kpgd.boot /tmp/kpgd.now | sed -n 's/^filled //p' | tr '\n' ';')"
		rm -f /tmp/kpgd.boot /tmp/kpgd.now
		set -- $blocks
		first=$1
		last=$(echo $blocks | tr ' ' '\n' | tail -n 1)
		lk=$(leaf_kib $first $((last + bs)))
		bench linear_kib_large_leaves "${lk% *}"
		bench linear_kib_4k_leaves "${lk#* }"
		bench linear_pct_large $(( ${lk% *} * 100 / (${lk% *} + ${lk#* } + (${lk% *} + ${lk#* } == 0)) ))
	fi
	for a in $blocks; do set_state $(block_of $a) offline; done
	t3=$(mstime)
	for a in $blocks; do unprobe $a; done
	t4=$(mstime)
	bench "add_online_ms_per_gib_${gib}g" $(((t2 - t0) / gib))
	bench "probe_ms_per_gib_${gib}g" $(((t1 - t0) / gib))
	bench "offline_remove_ms_per_gib_${gib}g" $(((t4 - t2) / gib))
done
bench "boot_ram_kib_per_gib_mom$mom" "$cost_per_gib"
sync; echo 3 >/proc/sys/vm/drop_caches
bench pt_pages_left $(($(kernel_pt_pages) - pt0))
bench memfree_kib_drift $((free0 - $(meminfo_kb MemFree)))
ok "bench ran"
ktap_exit
