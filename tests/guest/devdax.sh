#!/bin/sh
# Device-dax on the pmem region: /dev/daxN.M with 2 MiB alignment is mapped
# with devmap PMD leaves, survives fork, takes O_DIRECT reads and GUP
# (gup_test), and keeps its data across munmap/mmap. Both memmap locations:
# in the device (vmem_altmap) and in RAM, where 6.1 shares the tail struct
# pages of each 2 MiB compound page (vmemmap_can_optimize()).
. "$(dirname "$0")/lib.sh"
ktap_plan 21
kpgd_save /tmp/kpgd0
nd=$RIG_DIR/nd.sh
require_pmem "devdax"
peek_load
# O_DIRECT source: the virtio-blk disk of suite.toml (QEMU null-co, zeros;
# serial rig-null), found by its serial (a LAVA job adds a disk of its
# own); on another machine, the first other disk (only read).
odsrc=""
for d in /sys/block/*; do
	case ${d##*/} in loop* | ram* | pmem* | zram*) continue ;; esac
	if [ "$(cat "$d/serial" 2>/dev/null)" = rig-null ]; then
		odsrc=/dev/${d##*/}
		break
	fi
	[ -n "$odsrc" ] || odsrc=/dev/${d##*/}
done
diag "O_DIRECT source: ${odsrc:-none}"
MIB=64
for loc in pmem ram; do
	if ! dax=$($nd devdax 2097152 "$loc"); then
		not_ok "$loc: devdax device created"
		continue
	fi
	ok "$loc: devdax device $dax created"
	out=$(daxmap /dev/$dax $MIB $odsrc)
	echo "$out" | sed "s/^/# $loc: /"
	v() { echo "$out" | sed -n "s/^$1 //p"; }
	check_eq "$loc: mapping 2 MiB aligned" "$(v aligned)" 1
	check_eq "$loc: every 2 MiB faulted in as one PMD leaf" "$(v pmd)" $((MIB / 2))
	check_eq "$loc: every leaf has the devmap bit" "$(v devmap)" $((MIB / 2))
	check_eq "$loc: data written reads back" "$(v fill)" ok
	check_eq "$loc: fork: child and parent share the data" "$(v fork)" ok
	check_eq "$loc: O_DIRECT read into the mapping" "$(v odirect)" ok
	check_eq "$loc: data survives munmap/mmap" "$(v remap)" ok
	# GUP fast, pin fast and longterm pin on the device pages.
	r=""
	for opt in -u -a -L; do
		$KSFT_DIR/vm/gup_test -f /dev/$dax -S -m 32 -r 2 $opt >/tmp/gup.out 2>&1 || r="$r $opt"
	done
	[ -z "$r" ] || sed 's/^/# /' /tmp/gup.out
	check_eq "$loc: gup_test -u -a -L on the device" "${r:-none failed}" "none failed"
	check "$loc: reset" $nd reset
done
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
