#!/bin/sh
# memory_hotplug.memmap_on_memory=1: the memmap of a probed block lives in
# the block itself, so adding it costs (almost) no boot RAM; it removes cleanly.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-memmap-on-memory
case $(cmdline_param memory_hotplug.memmap_on_memory) in
1 | y | Y | on) ;;
*) skip_all "boot with memory_hotplug.memmap_on_memory=1" ;;
esac
ktap_plan 5
param=/sys/module/memory_hotplug/parameters/memmap_on_memory
check_eq "memmap_on_memory enabled" "$(cat $param 2>/dev/null)" Y
set -- $(hidden_blocks)
a=$1
b=$(block_of $a)
bs=$(block_bytes)
snapshot /tmp/before
sync; echo 3 >/proc/sys/vm/drop_caches
free0=$(free_kb)
probe $a
free1=$(free_kb)
cost=$((free0 - free1))
# Without memmap_on_memory a 128 MiB block's memmap alone is 2048 kB.
diag "boot RAM used by adding the block: $cost kB"
if [ "$cost" -le 256 ]; then ok "adding the block costs <= 256 kB of boot RAM"; else not_ok "adding the block costs <= 256 kB of boot RAM ($cost kB)"; fi
total0=$(meminfo_kb MemTotal)
set_state $b online_movable
total1=$(meminfo_kb MemTotal)
# The memmap pages (bs / 4096 * 64 bytes) are not online memory.
memmap_kb=$((bs / 4096 * 64 / 1024))
check_eq "MemTotal grows by the block less its own memmap" "$((total1 - total0))" "$((bs / 1024 - memmap_kb))"
check "offline" set_state $b offline
unprobe $a
snapshot /tmp/after
check_snapshot "removed cleanly" /tmp/before /tmp/after
ktap_exit
