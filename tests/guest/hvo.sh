#!/bin/sh
# HugeTLB Vmemmap Optimisation (hugetlb_free_vmemmap=on): allocating N 2 MiB
# hugetlb pages frees 7 of the 8 vmemmap pages of each (28 KiB per page,
# visible in MemFree against the same allocation with the optimisation off),
# freeing them restores the vmemmap and MemFree, and hugetlb data is intact.
. "$(dirname "$0")/lib.sh"
ktap_plan 8
kpgd_save /tmp/kpgd0
N=${N:-64}
sysctl=/proc/sys/vm/hugetlb_optimize_vmemmap
if [ ! -w $sysctl ]; then
	skip_all "no $sysctl (HUGETLB_PAGE_OPTIMIZE_VMEMMAP not built)"
fi
# Booted with hugetlb_free_vmemmap=on (as the rig boots it), the parameter
# must have turned the optimisation on; booted without, the sysctl does.
if [ "$(cmdline_param hugetlb_free_vmemmap)" = on ]; then
	check_eq "hugetlb_free_vmemmap=on enabled it" "$(cat $sysctl)" 1
else
	skip "hugetlb_free_vmemmap=on enabled it" "booted without it: enabled with the sysctl"
	echo 1 >$sysctl
fi
hp=/proc/sys/vm/nr_hugepages
# used: MemFree taken by allocating N pages, in kB.
used() {
	settle
	_f0=$(free_kb)
	echo $N >$hp
	[ "$(cat $hp)" = $N ] || { echo "only $(cat $hp) of $N pages" >&2; echo 0; return; }
	settle
	echo $((_f0 - $(free_kb)))
}
settle
free0=$(free_kb)
on=$(used)
# Hugetlb data with the vmemmap optimised: map_hugetlb writes and checks.
check "map_hugetlb data intact on optimised pages" $KSFT_DIR/vm/map_hugetlb $N
echo 0 >$hp
settle
back=$(( free0 - $(free_kb) ))
diag "MemFree after freeing the optimised pages: $back kB below the start"
if [ $back -le 1024 ] && [ $back -ge -1024 ]; then ok "MemFree restored (within 1 MiB)"; else not_ok "MemFree restored ($back kB)"; fi
echo 0 >$sysctl
off=$(used)
echo 0 >$hp
echo 1 >$sysctl
saved=$(( (off - on) / N ))
diag "$N pages: $off kB with HVO off, $on kB on: $saved kB saved per 2 MiB page"
echo "BENCH hvo_saved_kib_per_2m_page $saved"
if [ $saved -ge 24 ] && [ $saved -le 32 ]; then ok "about 28 KiB of vmemmap saved per 2 MiB page"; else not_ok "about 28 KiB of vmemmap saved per 2 MiB page ($saved)"; fi
# Reversible many times, and data intact after restoring.
i=0
while [ $i -lt 10 ]; do
	echo $N >$hp && echo 0 >$hp || break
	i=$((i + 1))
done
check_eq "10 allocate/free cycles" $i 10
echo $N >$hp
check "map_hugetlb after the cycles" $KSFT_DIR/vm/map_hugetlb $N
echo 0 >$hp
settle
back=$(( free0 - $(free_kb) ))
if [ $back -le 2048 ] && [ $back -ge -2048 ]; then ok "MemFree back at the end (within 2 MiB: $back kB)"; else not_ok "MemFree back at the end ($back kB)"; fi
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
