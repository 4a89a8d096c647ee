#!/bin/bash
# initramfs.sh PROFILE: pack build/initramfs-PROFILE.cpio.gz from the static
# BusyBox, the guest init and tests, static C test programs, the kernel's
# modules and the riscv64 kselftests of build/kernel-PROFILE; the kselftest
# install (the rig's tests included) also goes to build/kselftest-PROFILE.tar.gz.
. "$(dirname "$0")/lib.sh"

profile=$1
kdir=$BUILD/kernel-$profile
# The source tree kdir was built from (series-check: a worktree at one patch).
ksrc=${KSRC:-$BUILD/linux}
root=$BUILD/initramfs-$profile
[ -x "$BUILD/busybox/busybox" ] || die "no BusyBox: run 'make busybox'"
[ -d "$kdir/modroot" ] || die "no modules for profile $profile: run 'make kernel PROFILE=$profile'"

rm -rf "$root"
# The rig's guest tests are a kselftest collection, memory-hotplug-rig, in
# the kselftest install (/kselftest) beside the kernel's vm and
# memory-hotplug tests: run_kselftest.sh runs them there, in this initramfs
# or in any rootfs build/kselftest-PROFILE.tar.gz is unpacked into; the rig's
# init runs them directly. /rig links to the collection.
ks=$root/kselftest
col=$ks/memory-hotplug-rig
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,lib} "$col"/{bin,kmod}
cp "$BUILD/busybox/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 755 "$TOP/tests/guest/init" "$root/init"
cp "$TOP/tests/guest/lib.sh" "$col/lib.sh"
for t in "$TOP"/tests/guest/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	install -m 755 "$t" "$col/"
done
ln -s kselftest/memory-hotplug-rig "$root/rig"

# Static C test programs.
for c in "$TOP"/tests/c/*.c; do
	[ -f "$c" ] || continue
	riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror \
		-I "$kdir/usr/include" -I "$BUILD/linux/tools/testing/selftests" \
		-o "$col/bin/$(basename "$c" .c)" "$c"
done
riscv64-linux-gnu-strip "$col"/bin/* 2>/dev/null || true

# Rig-only test modules (tests/kmod), built against this profile's kernel.
kmod=$BUILD/kmod-$profile
rm -rf "$kmod"
cp -r "$TOP/tests/kmod" "$kmod"
make -s -C "$ksrc" O="$kdir" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- M="$kmod" modules
cp "$kmod"/*.ko "$col/kmod/"
riscv64-linux-gnu-strip --strip-debug "$col"/kmod/*.ko

cp -a "$kdir/modroot/lib/modules" "$root/lib/"
cp -a "$kdir/kselftest/." "$ks/"
riscv64-linux-gnu-strip "$ks"/vm/* 2>/dev/null || true

# The kselftest runner, as 'make install' of the selftests lays it out.
sel=$ksrc/tools/testing/selftests
install -m 755 "$sel/run_kselftest.sh" "$ks/"
mkdir -p "$ks/kselftest"
install -m 755 "$sel"/kselftest/{runner.sh,prefix.pl,module.sh} "$ks/kselftest/"
# settings: run_kselftest.sh's one timeout for the collection, the longest
# of suite.toml's; config: the kernel options the tests need.
/usr/bin/python3 - "$TOP/tests/suite.toml" >"$col/settings" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    suite = tomllib.load(f)
t = max(v for test in suite["test"] for k, v in test.items() if k.startswith("timeout"))
print(f"timeout={t}")
PY
# The console lines that fail a run (scripts/runner.py SPLAT), as an ERE
# for rig-lava-run.sh, which judges a run no host runner watches.
/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import runner; print(runner.SPLAT.pattern)' \
	"$TOP/scripts" >"$col/splat.ere"
cat "$TOP"/configs/{hotplug,probe,devmem,hvo,virtio-mem,virt}.config | grep '^CONFIG_' | LC_ALL=C sort -u >"$col/config"
# One entry per test: the kernel's memory-hotplug test, then the rig's
# guest tests (not the benchmarks, the demo and the nd.sh helper).
{
	echo "memory-hotplug:mem-on-off-test.sh"
	for t in "$col"/*.sh; do
		case ${t##*/} in lib.sh | nd.sh | demo.sh | bench*.sh | rig-lava-run.sh) continue ;; esac
		echo "memory-hotplug-rig:${t##*/}"
	done
} >"$ks/kselftest-list.txt"
# kselftest's runner.sh calls '/usr/bin/timeout --foreground T timeout T
# TEST', as coreutils' timeout takes it; BusyBox's has no --foreground. The
# test still runs under the inner timeout. The initramfs has this wrapper as
# /usr/bin/timeout (busybox --install -s keeps it); the collection carries
# it for other BusyBox-only roots.
cat >"$col/busybox-timeout" <<'SH'
#!/bin/sh
# coreutils' timeout for kselftest's runner.sh, on BusyBox: --foreground
# dropped. Install as /usr/bin/timeout on a root without coreutils.
[ "$1" = --foreground ] && shift
exec busybox timeout "$@"
SH
chmod 755 "$col/busybox-timeout"
cp "$col/busybox-timeout" "$root/usr/bin/timeout"
tar -C "$root" -czf "$BUILD/kselftest-$profile.tar.gz.tmp" --owner=0 --group=0 kselftest
mv "$BUILD/kselftest-$profile.tar.gz.tmp" "$BUILD/kselftest-$profile.tar.gz"

echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$BUILD/initramfs-$profile.cpio.gz.tmp"
mv "$BUILD/initramfs-$profile.cpio.gz.tmp" "$BUILD/initramfs-$profile.cpio.gz"
echo "initramfs-$profile.cpio.gz: $(stat -c %s "$BUILD/initramfs-$profile.cpio.gz") bytes"
