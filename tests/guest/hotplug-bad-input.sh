#!/bin/sh
# Bad input to probe/unprobe and offline of busy memory: each write fails with
# the expected errno, nothing splats, MemTotal and the blocks stay unchanged.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-bad-input
ktap_plan 13

bs=$(block_bytes)
set -- $(hidden_blocks)
a=$1
snapshot /tmp/before
expect_err "probe unaligned address" EINVAL $MEMSYS/probe "$(hex $((a + 4096)))"
expect_err "probe inside boot RAM" EEXIST $MEMSYS/probe 0x88000000
expect_err "probe garbage" EINVAL $MEMSYS/probe "bananas"
# Far beyond what the linear map and vmemmap can cover on any paging mode.
expect_err "probe past the mappable range" E2BIG $MEMSYS/probe 0x7ff0000000000000
# The edge of the mappable range on this paging mode: the linear map starts at
# the kernel's load address (0x80200000 on virt) and spans KERN_VIRT_SIZE less
# 4 GiB (Documentation/riscv/vm-layout.rst); the vmemmap covers more.
case $(paging_mode) in
sv39) lm=$((124 << 30)) ;;
sv48) lm=$(((64 << 40) - (4 << 30))) ;;
sv57) lm=$(((32 << 50) - (4 << 30))) ;;
esac
limit=$((0x80200000 + lm))
past=$(( (limit + bs - 1) / bs * bs ))
last=$(( limit / bs * bs - bs ))
diag "mappable range ends at $(hex $limit): probing $(hex $last) and $(hex $past)"
r1=$(sysfs-write $MEMSYS/probe "$(hex $last)")
r2=$(sysfs-write $MEMSYS/unprobe "$(hex $last)")
check_eq "probe and unprobe the last block below the mappable end" "$r1 $r2" "ok ok"
expect_err "probe the first block past the mappable end" E2BIG $MEMSYS/probe "$(hex $past)"
# Boot memory that the devicetree does not mark hotpluggable is not unprobe's.
expect_err "unprobe the kernel image's block (boot memory not marked hotpluggable)" ENOENT $MEMSYS/unprobe 0x80000000
expect_err "unprobe garbage" EINVAL $MEMSYS/unprobe "0xzz"

probe $a
expect_err "probe an already added block" EEXIST $MEMSYS/probe "$(hex $a)"
set_state $(block_of $a) online_movable
expect_err "unprobe an online block" EBUSY $MEMSYS/unprobe "$(hex $a)"
set_state $(block_of $a) offline
unprobe $a

# The kernel image's block also spans the firmware hole below 0x80200000;
# the last whole boot block holds the boot memmap (memblock allocates top-down).
expect_err "offline the kernel image's block" EINVAL $MEMSYS/memory$(block_of $((0x80200000)))/state offline
top=$(( (0x$(boot_ram_end) + 1) / bs - 1 ))
[ $(( (top + 1) * bs - 1 )) -gt $((0x$(boot_ram_end))) ] && top=$((top - 1))
expect_err "offline the block holding the boot memmap" EBUSY $MEMSYS/memory$top/state offline
[ "$(state_of $top)" = online ] || set_state $top online
snapshot /tmp/after
check_snapshot "MemTotal, /proc/iomem and blocks unchanged" /tmp/before /tmp/after
ktap_exit
