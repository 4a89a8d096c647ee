#!/bin/sh
# Trigger a kernel WARN on purpose (LKDTM): the host runner must see it and
# would fail any other test that did this. Here the runner expects the splat.
. /rig/lib.sh
ktap_plan 2
check "modprobe lkdtm" modprobe lkdtm
echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
check "kernel still alive after WARN" test -r /proc/meminfo
ktap_exit
