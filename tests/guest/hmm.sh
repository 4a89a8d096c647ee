#!/bin/sh
# HMM device memory with lib/test_hmm: hmm-tests pass for device-private
# memory (a free physical range the kernel picks) and device-coherent memory
# (two 256 MiB ranges of the RAM hidden with mem=); the device-private ranges
# have their struct pages inside the vmemmap on this paging mode; and
# 'rmmod test_hmm' + reload x10 (rig.cycles) leaks no PageTables or MemFree.
. "$(dirname "$0")/lib.sh"
ktap_plan 7
kpgd_save /tmp/kpgd0
if ! modinfo test_hmm >/dev/null 2>&1; then
	skip_all "no test_hmm module (CONFIG_TEST_HMM)"
fi
require_hidden_ram hmm 512
set -- $(hidden_blocks)
spm0=$1
spm1=$(($1 + 268435456))
load() {
	modprobe test_hmm spm_addr_dev0=$(hex $spm0) spm_addr_dev1=$(hex $spm1)
}
check "modprobe test_hmm (device coherent at $(hex $spm0) and $(hex $spm1))" load
# THP only where asked for (the THP tests madvise): 6.1's
# make_device_exclusive_range() refuses tail pages, so the exclusive tests
# fail on buffers that THP=always backed with huge pages. The hugetlbfs tests
# need free huge pages.
thp=/sys/kernel/mm/transparent_hugepage/enabled
echo madvise >$thp
echo 16 >/proc/sys/vm/nr_hugepages
$KSFT_DIR/vm/hmm-tests >/tmp/hmm.out 2>&1
rc=$?
echo 0 >/proc/sys/vm/nr_hugepages
# The output of failed and skipped tests, and the totals.
awk '/^#  RUN/ { n = 0 } { buf[n++] = $0 } /^not ok|# SKIP/ { for (i = 0; i < n; i++) print buf[i]; n = 0 }
     /^# (PASSED|FAILED|Totals)/' /tmp/hmm.out | sed 's/^/# /'
check_eq "hmm-tests exit status" $rc 0
check_eq "no hmm-tests skipped (coherent variants ran)" "$(sed -n 's/^# Totals: .* skip:\([0-9]*\).*/\1/p' /tmp/hmm.out)" 0
# Where the device-private chunks went, against what the vmemmap can hold.
case $(paging_mode) in
sv39) va_bits=39 ;; sv48) va_bits=48 ;; *) va_bits=57 ;;
esac
limit=$((0x80000000 + (1 << (va_bits - 1))))
[ $va_bits = 57 ] && limit=$((1 << 56))
bad=0 n=0
for r in $(sed -n 's/^ *\([0-9a-f]*-[0-9a-f]*\) : hmm_dmirror$/\1/p' /proc/iomem); do
	n=$((n + 1))
	diag "device-private chunk $r (vmemmap holds pfns below $(hex $limit))"
	[ $((0x${r#*-})) -lt $limit ] || bad=$((bad + 1))
done
check_eq "device-private chunks ($n) inside the vmemmap" "$bad $((n > 0))" "0 1"
rmmod test_hmm
settle
pt0=$(meminfo_kb PageTables)
# Kernel page tables of the vmemmap and the linear map (rig_peek), less the
# linear map's PTE tables: loading a module makes set_memory_*() split the
# linear-map leaves of its pages, which 6.1 never merges back, so those grow
# with every load of test_hmm whatever the device memory does. The tables
# right below the PGD stay once hot-add has allocated them ("-top" lines).
kpt() {
	kernel_pt_pages >/dev/null
	sed '/-top /d; s/^\(linear .*\) pte [0-9]*$/\1/' /sys/kernel/debug/rig_peek/ptpages
}
kpt >/tmp/kpt0
settle
free0=$(free_kb)
cycles=$(rig_param cycles || echo 10)
i=0
while [ $i -lt "$cycles" ]; do
	load || break
	# Device memory in use in every cycle, private and coherent.
	hmm-migrate /dev/hmm_dmirror0 16 >/dev/null || break
	hmm-migrate /dev/hmm_dmirror2 16 >/dev/null || break
	rmmod test_hmm || break
	i=$((i + 1))
done
check_eq "$cycles load/use/unload cycles" $i "$cycles"
settle
pt1=$(meminfo_kb PageTables)
free1=$(free_kb)
diag "PageTables $pt0 -> $pt1 kB, free memory (MemFree and per-CPU lists) $free0 -> $free1 kB"
d=$((free0 - free1))
# PageTables also counts the page tables of the shell's processes, which
# move by a few pages either way: the kernel tables above must be exactly as
# before, PageTables within 64 kB.
kpt >/tmp/kpt1
diag "kernel page tables (linear map without PTE tables, vmemmap): $(cat /tmp/kpt0 | tr '\n' ' ')-> $(cat /tmp/kpt1 | tr '\n' ' ')"
if cmp -s /tmp/kpt0 /tmp/kpt1 && [ $((pt1 - pt0)) -le 64 ] && [ $d -le 4096 ]; then
	ok "no page-table or MemFree drift"
else
	not_ok "no page-table or MemFree drift"
fi
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
