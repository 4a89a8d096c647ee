#!/bin/sh
# fsdax: ext2 mounted with -o dax on /dev/pmem (a pfn device, memmap in the
# device): data written, synced and remounted reads back, and a file's
# mmap is a DAX mapping (devmap PTEs straight to the device, no page cache).
. "$(dirname "$0")/lib.sh"
ktap_plan 10
kpgd_save /tmp/kpgd0
nd=$RIG_DIR/nd.sh
require_pmem "fsdax"
peek_load
if ! blk=$($nd fsdax pmem 2097152); then
	not_ok "fsdax namespace"
	skip_all "no fsdax namespace"
fi
ok "fsdax namespace: /dev/$blk"
check "mke2fs -b 4096 /dev/$blk" mke2fs -q -b 4096 /dev/$blk
mkdir -p /mnt/dax
check "mount -o dax" mount -t ext2 -o dax /dev/$blk /mnt/dax
check_eq "mounted with dax" "$(sed -n "s|^/dev/$blk /mnt/dax ext2 \([^ ]*\).*|\1|p" /proc/mounts | tr ',' '\n' | grep -c '^dax')" 1
dd if=/dev/urandom of=/tmp/ref bs=1M count=16 2>/dev/null
cp /tmp/ref /mnt/dax/data && sync
cached0=$(meminfo_kb Cached)
truncate -s 8M /mnt/dax/map
out=$(daxmap /mnt/dax/map 8)
echo "$out" | sed 's/^/# /'
v() { echo "$out" | sed -n "s/^$1 //p"; }
check_eq "mmap of a file: devmap leaves in every 2 MiB" "$(v devmap)" 4
check_eq "mmap of a file: data, fork, remap" "$(v fill) $(v fork) $(v remap)" "ok ok ok"
cached1=$(meminfo_kb Cached)
diag "Cached $cached0 kB -> $cached1 kB after writing 8 MiB through the mapping"
if [ $((cached1 - cached0)) -lt 4096 ]; then ok "no page cache for the DAX mapping"; else not_ok "no page cache for the DAX mapping"; fi
umount /mnt/dax
mount -t ext2 -o dax /dev/$blk /mnt/dax
check "data intact after sync and remount" cmp /tmp/ref /mnt/dax/data
umount /mnt/dax
check "reset" $nd reset
check_kpgd "kernel top-level entries kept or newly filled; PID 1's copy agrees" /tmp/kpgd0
ktap_exit
