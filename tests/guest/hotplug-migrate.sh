#!/bin/sh
# Data survives migration: fill a movable hot-added block from userspace,
# offline it underneath the running program (its pages migrate), then the
# program verifies every byte.
. "$(dirname "$0")/lib.sh"
require_probe
require_hidden_ram hotplug-migrate
ktap_plan 5
set -- $(hidden_blocks)
a=$1
b=$(block_of $a)
snapshot /tmp/before
probe $a && set_state $b online_movable
check_eq "block $(hex $a) online movable" "$(cat $MEMSYS/memory$b/valid_zones)" Movable

movable_free() {
	awk '/^Node .* zone/ {z=$4} z=="Movable" && $1=="nr_free_pages" {print $2}' /proc/zoneinfo
}
free0=$(movable_free)
rm -f /tmp/go
memtouch 112 --hold /tmp/go >/tmp/memtouch.out 2>&1 &
pid=$!
# Wait until the fill is done (first verification printed).
i=0
while ! grep -q 'written and verified' /tmp/memtouch.out && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
free1=$(movable_free)
used=$((free0 - free1))
diag "Movable zone: $free0 free pages before the fill, $free1 after ($used used)"
if [ "$used" -ge $((64 * 256)) ]; then
	ok "at least 64 MiB of the fill sits in the hot-added block"
else
	not_ok "at least 64 MiB of the fill sits in the hot-added block"
fi
check "offline the block under the live data" set_state $b offline
touch /tmp/go
wait $pid
rc=$?
sed 's/^/# /' /tmp/memtouch.out
check_eq "every byte verified after migration" "$rc" 0
unprobe $a
snapshot /tmp/after
check_snapshot "removed cleanly" /tmp/before /tmp/after
ktap_exit
