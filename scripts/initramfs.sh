#!/bin/bash
# initramfs.sh PROFILE: pack build/initramfs-PROFILE.cpio.gz from the static
# BusyBox, the guest init and tests, static C test programs, the kernel's
# modules and the riscv64 kselftests of build/kernel-PROFILE.
. "$(dirname "$0")/lib.sh"

profile=$1
kdir=$BUILD/kernel-$profile
# The source tree kdir was built from (series-check: a worktree at one patch).
ksrc=${KSRC:-$BUILD/linux}
root=$BUILD/initramfs-$profile
[ -x "$BUILD/busybox/busybox" ] || die "no BusyBox: run 'make busybox'"
[ -d "$kdir/modroot" ] || die "no modules for profile $profile: run 'make kernel PROFILE=$profile'"

rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,lib,rig/tests,rig/bin}
cp "$BUILD/busybox/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 755 "$TOP/tests/guest/init" "$root/init"
cp "$TOP/tests/guest/lib.sh" "$root/rig/lib.sh"
for t in "$TOP"/tests/guest/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	install -m 755 "$t" "$root/rig/tests/"
done

# Static C test programs.
for c in "$TOP"/tests/c/*.c; do
	[ -f "$c" ] || continue
	riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror \
		-I "$kdir/usr/include" -I "$BUILD/linux/tools/testing/selftests" \
		-o "$root/rig/bin/$(basename "$c" .c)" "$c"
done
riscv64-linux-gnu-strip "$root"/rig/bin/* 2>/dev/null || true

# Rig-only test modules (tests/kmod), built against this profile's kernel.
kmod=$BUILD/kmod-$profile
rm -rf "$kmod"
cp -r "$TOP/tests/kmod" "$kmod"
make -s -C "$ksrc" O="$kdir" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- M="$kmod" modules
mkdir -p "$root/rig/kmod"
cp "$kmod"/*.ko "$root/rig/kmod/"
riscv64-linux-gnu-strip --strip-debug "$root"/rig/kmod/*.ko

cp -a "$kdir/modroot/lib/modules" "$root/lib/"
cp -a "$kdir/kselftest" "$root/kselftest"
riscv64-linux-gnu-strip "$root"/kselftest/vm/* 2>/dev/null || true

echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$BUILD/initramfs-$profile.cpio.gz.tmp"
mv "$BUILD/initramfs-$profile.cpio.gz.tmp" "$BUILD/initramfs-$profile.cpio.gz"
echo "initramfs-$profile.cpio.gz: $(stat -c %s "$BUILD/initramfs-$profile.cpio.gz") bytes"
