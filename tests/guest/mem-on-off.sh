#!/bin/sh
# kselftest memory-hotplug/mem-on-off-test.sh (with its memory notifier error
# injection), run by BusyBox's ash installed as /bin/bash.
. "$(dirname "$0")/lib.sh"
ktap_plan 1
if [ ! -d /sys/devices/system/memory ]; then
	skip_all "CONFIG_MEMORY_HOTPLUG not enabled in this kernel"
fi
before=$(grep -l online /sys/devices/system/memory/memory*/state | wc -l)
/bin/bash $KSFT_DIR/memory-hotplug/mem-on-off-test.sh >/tmp/mem-on-off.out 2>&1
rc=$?
sed 's/^/# /' /tmp/mem-on-off.out
after=$(grep -l online /sys/devices/system/memory/memory*/state | wc -l)
diag "online blocks before $before, after $after"
case $rc in
0) ok "mem-on-off-test.sh" ;;
4) skip "mem-on-off-test.sh" "$(grep -m1 'skip' /tmp/mem-on-off.out)" ;;
*) not_ok "mem-on-off-test.sh (exit $rc)" ;;
esac
ktap_exit
