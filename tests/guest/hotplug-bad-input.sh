#!/bin/sh
# Bad input to probe/unprobe and offline of busy memory: each write fails with
# the expected errno, nothing splats, MemTotal and the blocks stay unchanged.
. /rig/lib.sh
require_probe "bad input"
ktap_plan 10

# expect_err DESC ERRNO-TEXT FILE VALUE: the write must fail with that message.
expect_err() {
	_out=$( (printf '%s' "$4" >"$3") 2>&1 )
	_rc=$?
	case "$_rc:$_out" in
	0:*) diag "$1: write of '$4' to $3 succeeded"; not_ok "$1" ;;
	*"$2"*) ok "$1 -> $2" ;;
	*) diag "$1: got '$_out'"; not_ok "$1" ;;
	esac
}

bs=$(block_bytes)
set -- $(hidden_blocks)
a=$1
snapshot /tmp/before
expect_err "probe unaligned address" "Invalid argument" $MEMSYS/probe "$(hex $((a + 4096)))"
expect_err "probe inside boot RAM" "File exists" $MEMSYS/probe 0x80000000
expect_err "probe garbage" "Invalid argument" $MEMSYS/probe "bananas"
# Far beyond what the linear map and vmemmap can cover on any paging mode.
expect_err "probe past the mappable range" "Argument list too long" $MEMSYS/probe 0x7ff0000000000000
expect_err "unprobe a boot block" "Invalid argument" $MEMSYS/unprobe 0x80000000
expect_err "unprobe garbage" "Invalid argument" $MEMSYS/unprobe "0xzz"

probe $a
expect_err "probe an already added block" "File exists" $MEMSYS/probe "$(hex $a)"
set_state $(block_of $a) online_movable
expect_err "unprobe an online block" "Device or resource busy" $MEMSYS/unprobe "$(hex $a)"
set_state $(block_of $a) offline
unprobe $a

# The block holding the kernel image is boot memory in use by the kernel.
kblock=$(block_of $((0x80200000)))
expect_err "offline the kernel's own block" "Device or resource busy" $MEMSYS/memory$kblock/state offline
snapshot /tmp/after
if cmp -s /tmp/before /tmp/after; then
	ok "MemTotal, /proc/iomem and blocks unchanged"
else
	diff /tmp/before /tmp/after | sed 's/^/# /'
	not_ok "MemTotal, /proc/iomem and blocks unchanged"
fi
ktap_exit
