#!/bin/sh
# Trigger a kernel WARN on purpose (LKDTM): the host runner must see it and
# would fail any other test that did this. Here the runner expects the splat.
# It runs only where the one running it asked for a splat (rig.splat_ok=1 on
# the kernel command line, as the rig's suite sets, or RIG_SPLAT_OK=1): a
# plain run_kselftest.sh of the collection must not warn on purpose.
. "$(dirname "$0")/lib.sh"
if [ "$(rig_param splat_ok)" != 1 ] && [ "${RIG_SPLAT_OK:-0}" != 1 ]; then
	skip_all "provokes a kernel WARNING on purpose: rig.splat_ok=1 or RIG_SPLAT_OK=1 runs it"
fi
ktap_plan 2
check "modprobe lkdtm" modprobe lkdtm
echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
check "kernel still alive after WARN" test -r /proc/meminfo
ktap_exit
