#!/bin/sh
# The series' kselftest memory-hotplug/probe-test.sh: probes, onlines,
# offlines and unprobes the RAM hidden by mem=, plus its error cases.
. "$(dirname "$0")/lib.sh"
ktap_plan 1
t=$KSFT_DIR/memory-hotplug/probe-test.sh
if [ ! -f $t ]; then
	skip_all "not in this kernel tree (the series is not applied)"
fi
sh $t >/tmp/probe-test.out 2>&1
rc=$?
sed 's/^/# /' /tmp/probe-test.out
case $rc in
0) ok "probe-test.sh" ;;
4) skip "probe-test.sh" "$(grep -m1 -i skip /tmp/probe-test.out)" ;;
*) not_ok "probe-test.sh (exit $rc)" ;;
esac
ktap_exit
