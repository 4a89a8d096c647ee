#!/bin/sh
# WIP (issue 14 item 3; to go to tests/guest/ with the kernel patches): the
# linear map's leaves. Guest: 4 GiB, the last 2 GiB a pmem region (RAM
# 0x80000000-0xffffffff, pmem 0x100000000-0x17fffffff). On Sv48 and Sv57 a
# 1 GiB-aligned GiB gets one PUD leaf: the boot GiB at 0xc0000000 (not the
# kernel's, not hotpluggable) and the GiB at 0x140000000 that dax/kmem adds;
# the kernel's GiB keeps PMD leaves (pgprot_from_va() protects its alias per
# PMD). Sv39 has PMD leaves at most, debug_pagealloc base pages. Memory is
# removed as it was added: after unbind nothing maps the kmem GiB, and a
# second bind maps it the same way.
. /rig/lib.sh
ktap_plan 6
nd=/rig/tests/nd.sh
require_pmem "linear-map-leaves"
case "$(rig_param mmu) $(cat /proc/cmdline)" in
*debug_pagealloc=on*) big=pte kern=pte ;;
sv39*) big=pmd kern=pmd ;;
*) big=pud kern=pmd ;;
esac
lvl() { kleaf $1 | sed 's/-invalid$//'; }
check_eq "the kernel's GiB (0x80200000): $kern" "$(lvl 0x80200000)" $kern
check_eq "boot RAM's aligned GiB (0xc0000000): $big" "$(lvl 0xc0000000)" $big
check "boot RAM's aligned GiB readable through the linear map" kpeek 0xc0000000
$nd reset
dax=$($nd devdax 2097152 ram) || skip_all "no devdax device"
sysfs-write /sys/bus/dax/drivers/device_dax/unbind $dax >/dev/null
ok=1
for round in 1 2; do
	blocks=$($nd kmem $dax) || { ok=0; break; }
	[ "$(lvl 0x140000000)" = $big ] || { diag "round $round: 0x140000000 mapped by $(lvl 0x140000000)"; ok=0; }
	kpeek 0x17ff00000 || { diag "round $round: the range's top not readable"; ok=0; }
	for b in $blocks; do set_state $b online_movable; done
	memtouch 1024 >/dev/null || { diag "round $round: memtouch"; ok=0; }
	for b in $blocks; do offline_retry $b 4 || ok=0; done
	$nd unkmem $dax || ok=0
	[ "$(lvl 0x140000000)" = none ] || { diag "round $round: 0x140000000 still mapped by $(lvl 0x140000000) after unbind"; ok=0; }
	[ $round = 1 ] && check_eq "kmem's aligned GiB: $big leaf, unmapped after unbind" "$ok" 1
done
check_eq "bound again: the same leaf, unmapped again after unbind" "$ok" 1
check "no splat in dmesg" sh -c '! dmesg | grep -qE "WARNING:|BUG:|Oops"'
ktap_exit
