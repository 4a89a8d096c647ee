#!/bin/sh
# make bench, guest side: hot(un)plug latency through dax/kmem. The guest's
# 2 GiB pmem-region becomes a device-dax device (2 MiB aligned, its memmap in
# the device: 15 memory blocks of 128 MiB usable); then, rig.cycles times:
#   add      bind the device to dax/kmem (one add_memory() of the 15 blocks;
#            one per block when the device asks for memmap_on_memory)
#   online   online the 15 blocks movable
#   offline  offline them
#   remove   unbind the device from dax/kmem
# Each step is timed around its sysfs writes only (timed-write: no fork in
# it), in microseconds of CLOCK_MONOTONIC, and printed as
# "KMEMLAT CYCLE STEP US". With memory_hotplug.memmap_on_memory=1 the device
# asks for memmap_on_memory.
#
# rig.breakdown=1 (a kernel with FUNCTION_PROFILER, the 'trace' profile):
# the ftrace function profiler times the functions below during each step;
# "KMEMFN CYCLE STEP FUNCTION HITS US" per function called, time including
# what it calls (graph-time).
. "$(dirname "$0")/lib.sh"
ktap_plan 4
nd=$RIG_DIR/nd.sh
require_pmem "bench-kmem"
cycles=$(rig_param cycles)
cycles=${cycles:-10}
breakdown=$(rig_param breakdown)
mom=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null)
KMEM=/sys/bus/dax/drivers/kmem

$nd reset >/dev/null || skip_all "nd.sh reset failed"
if ! dax=$($nd devdax 2097152 pmem); then
	not_ok "devdax device (2 MiB aligned, memmap in the device)"
	skip_all "no devdax device"
fi
if [ "$mom" = Y ]; then
	check_eq "$dax asks for memmap_on_memory" "$(sysfs-write /sys/bus/dax/devices/$dax/memmap_on_memory 1)" ok
else
	check_eq "$dax memmap_on_memory stays 0" "$(cat /sys/bus/dax/devices/$dax/memmap_on_memory)" 0
fi
sysfs-write /sys/bus/dax/drivers/device_dax/unbind $dax >/dev/null

# The functions the breakdown times, by step (the profiler keeps its own
# filter; names this kernel does not have, e.g. inlined ones, are left out).
FN_ARCH="arch_add_memory arch_remove_memory create_linear_mapping_hotplug
remove_linear_mapping vmemmap_populate vmemmap_free flush_tlb_kernel_range
flush_tlb_all"
FN_GENERIC="add_memory_driver_managed add_memory_resource remove_memory
try_remove_memory __add_pages __remove_pages sparse_add_section
sparse_remove_section section_activate section_deactivate page_init_poison
online_pages offline_pages move_pfn_range_to_zone remove_pfn_range_from_zone
memmap_init_range mem_hotplug_begin mem_hotplug_done memory_notify
register_memory_resource release_mem_region_adjustable
firmware_map_add_hotplug firmware_map_remove"
FN_DEVICE="create_memory_block_devices remove_memory_block_devices
device_online device_offline memory_subsys_online memory_subsys_offline
kobject_uevent_env"
FN_ZONE="build_all_zonelists zone_pcp_update zone_pcp_disable zone_pcp_enable
init_per_zone_wmark_min setup_per_zone_wmarks kswapd_run kswapd_stop
kcompactd_run kcompactd_stop writeback_set_ratelimit set_zone_contiguous
clear_zone_contiguous shuffle_zone"
FN_PAGES="online_pages_range generic_online_page __free_pages_core
undo_isolate_page_range start_isolate_page_range scan_movable_pages
do_migrate_range test_pages_isolated __offline_isolated_pages drain_all_pages
lru_cache_disable lru_add_drain_all dissolve_free_huge_pages synchronize_rcu"
T=/sys/kernel/debug/tracing
prof=0
if [ "$breakdown" = 1 ]; then
	if [ -w $T/function_profile_enabled ]; then
		: >$T/set_ftrace_filter
		for f in $FN_ARCH $FN_GENERIC $FN_DEVICE $FN_ZONE $FN_PAGES; do
			grep -qx "$f" $T/available_filter_functions && echo "$f" >>$T/set_ftrace_filter
		done
		echo 1 >$T/options/graph-time
		prof=1
		diag "breakdown: $(wc -l <$T/set_ftrace_filter) functions profiled"
	else
		diag "rig.breakdown=1, but this kernel has no function profiler (use the 'trace' profile)"
	fi
fi

# step CYCLE NAME FILE VALUE...: time the writes; with the profiler, print
# the functions' figures of this step.
step() {
	_c=$1 _s=$2
	shift 2
	[ $prof = 1 ] && echo 1 >$T/function_profile_enabled
	_us=$(timed-write "$@") || { [ $prof = 1 ] && echo 0 >$T/function_profile_enabled; return 1; }
	if [ $prof = 1 ]; then
		echo 0 >$T/function_profile_enabled
		cat $T/trace_stat/function* | awk -v c=$_c -v s=$_s '
			$2 ~ /^[0-9]+$/ && $4 == "us" { hits[$1] += $2; us[$1] += $3 }
			END { for (f in hits) printf "KMEMFN %s %s %s %d %.1f\n", c, s, f, hits[f], us[f] }'
	fi
	echo "KMEMLAT $_c $_s $_us"
}

# linear_leaves FIRST_BLOCK LAST_BLOCK: the number of leaves of each size
# that map those memory blocks in the kernel's linear map, as BENCH lines.
linear_leaves() {
	_bs=$(block_bytes)
	_pud=0 _pmd=0 _pte=0
	while read -r _lv _b; do
		case $_lv in
		PUD) _pud=$((_pud + _b / 1073741824)) ;;
		PMD) _pmd=$((_pmd + _b / 2097152)) ;;
		PTE) _pte=$((_pte + _b / 4096)) ;;
		esac
	done <<EOF
$(linear_map_bytes $(($1 * _bs)) $((($2 + 1) * _bs)))
EOF
	echo "BENCH kmem_linear_pud $_pud"
	echo "BENCH kmem_linear_pmd $_pmd"
	echo "BENCH kmem_linear_pte $_pte"
}

# state_args STATE BLOCKS...: timed-write arguments for every block.
state_args() {
	_st=$1
	shift
	for _b in "$@"; do
		echo "$MEMSYS/memory$_b/state $_st"
	done
}

total0=$(meminfo_kb MemTotal)
i=0 fail="" nblocks=""
while [ $i -lt $cycles ] && [ -z "$fail" ]; do
	i=$((i + 1))
	step $i add $KMEM/new_id $dax || { fail="bind $dax to kmem"; break; }
	blocks=$($nd blocks | xargs)
	n=$(echo $blocks | wc -w)
	if [ -z "$nblocks" ]; then
		nblocks=$n
		# How the linear map maps the added memory (not timed).
		last=$(echo "$blocks" | tr ' ' '\n' | tail -n 1)
		linear_leaves "${blocks%% *}" "$last"
	fi
	[ "$n" = "$nblocks" ] || { fail="$n blocks, cycle 1 had $nblocks"; break; }
	# shellcheck disable=SC2046
	step $i online $(state_args online_movable $blocks) || { fail="online"; break; }
	# shellcheck disable=SC2046
	step $i offline $(state_args offline $blocks) || { fail="offline"; break; }
	step $i remove $KMEM/unbind $dax || { fail="unbind $dax from kmem"; break; }
	[ "$(meminfo_kb MemTotal)" = "$total0" ] || fail="MemTotal $(meminfo_kb MemTotal) kB after cycle $i, want $total0"
done
[ -n "$fail" ] && diag "cycle $i: $fail"
check_eq "$cycles cycles of add, online, offline, remove" "${fail:-ok} $i" "ok $cycles"
check_eq "kmem added 15 memory blocks" "$nblocks" 15
echo "BENCH kmem_blocks $nblocks"
check "reset" $nd reset
ktap_exit
