#!/bin/sh
# Security: the linear map of hot-added memory is RW and never executable;
# after removal the range is gone from the kernel page tables and a read of
# its old linear-map address fails cleanly (copy_from_kernel_nofault).
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-ptdump
ktap_plan 6
peek_load
set -- $(hidden_blocks)
a=$1
b=$(block_of $a)
bs=$(block_bytes)
echo $(hex $a) >/sys/kernel/debug/rig_peek/phys
va=$(cat /sys/kernel/debug/rig_peek/addr)
diag "block $(hex $a) -> linear map $va"

# ptdump lines of the linear mapping that overlap [va, va + bs). Kernel
# addresses are negative as 64-bit signed numbers, which keeps their order.
covering() {
	_s=$((va)) _e=$((va + bs)) _lin=0
	while read -r range rest; do
		case $range in
		---*) case $rest in *"Linear mapping"*) _lin=1 ;; *) _lin=0 ;; esac; continue ;;
		0x*-0x*) ;;
		*) continue ;;
		esac
		[ $_lin = 1 ] || continue
		_rs=$((${range%-*})) _re=$((${range#*-}))
		if [ $_rs -lt $_e ] && [ $_re -gt $_s ]; then echo "$range $rest"; fi
	done </sys/kernel/debug/kernel_page_tables
}
probe $a && set_state $b online_movable
covering >/tmp/map
sed 's/^/# /' /tmp/map
check "added block appears in the linear mapping" test -s /tmp/map
check "mapped read/write" sh -c "! grep -v ' W R ' /tmp/map | grep -q ."
check "never executable" sh -c "! grep -q ' X ' /tmp/map"
check "readable through the linear map" cat /sys/kernel/debug/rig_peek/peek
set_state $b offline && unprobe $a
covering >/tmp/map
sed 's/^/# /' /tmp/map
check "gone from ptdump after removal" test ! -s /tmp/map
if cat /sys/kernel/debug/rig_peek/peek 2>/tmp/err; then
	not_ok "read of the removed linear-map address fails cleanly"
else
	diag "$(cat /tmp/err)"
	check "read of the removed linear-map address fails cleanly" grep -q 'Bad address' /tmp/err
fi
ktap_exit
