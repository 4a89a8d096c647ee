#!/bin/bash
# kernel.sh PROFILE: configure and build build/linux into build/kernel-PROFILE
# (Image, modules, the riscv64 kselftests the rig runs), with ccache.
. "$(dirname "$0")/lib.sh"

profile=$1
out=$BUILD/kernel-$profile
src=$BUILD/linux
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so clones and worktrees share hits.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP} CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# Fixed build stamps keep ccache hits across rebuilds and clones.
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=riscv-mhp-rig

kmake() {
	make -C "$src" O="$out" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
		CC="ccache riscv64-linux-gnu-gcc" "$@"
}

bash "$TOP/scripts/kconfig.sh" "$profile" "$out.cfg"
# Only replace .config when it changed, so that make's timestamps stay valid.
if ! cmp -s "$out.cfg/.config" "$out/.config"; then
	mkdir -p "$out"
	cp "$out.cfg/.config" "$out/.config"
fi
rm -rf "$out.cfg"

# Warm runs: kbuild takes ~25 s per kernel to find nothing to do. Skip it
# when none of the inputs changed since the last successful build: the
# tree's content (its commit's tree, so that rewording a commit message
# rebuilds nothing), its uncommitted changes (tracked and untracked), the
# .config, and this script.
inputs() {
	git -C "$src" rev-parse 'HEAD^{tree}'
	git -C "$src" diff HEAD
	git -C "$src" ls-files -z -o --exclude-standard | (cd "$src" && xargs -0r sha256sum)
	cat "$out/.config" "$0"
}
stamp=$out/.rig-inputs
want=$(inputs | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$out/arch/riscv/boot/Image" ]; then
	echo "kernel $profile: up to date ($(cat "$out/include/config/kernel.release"), inputs $want)"
	exit 0
fi
rm -f "$stamp"
kmake -j"$JOBS" olddefconfig >/dev/null
kmake -j"$JOBS" Image modules
rm -rf "$out/modroot"
kmake -s INSTALL_MOD_PATH="$out/modroot" INSTALL_MOD_STRIP=1 modules_install
kmake -s headers_install INSTALL_HDR_PATH="$out/usr"

# kselftests, static, for the initramfs: memory-hotplug (a script) and vm.
ks=$out/kselftest
rm -rf "$ks"
mkdir -p "$ks"
# The vm tests the rig runs (those needing libnuma, which has no riscv64 cross
# package in bookworm, are left out).
VM_TESTS="gup_test hmm-tests hugepage-mmap hugepage-vmemmap hugetlb-madvise map_hugetlb
madv_populate transhuge-stress compaction_test mremap_test"
mkdir -p "$ks/vm"
make -C "$src/tools/testing/selftests/vm" ARCH=riscv MACHINE=riscv64 \
	CROSS_COMPILE=riscv64-linux-gnu- CC=riscv64-linux-gnu-gcc \
	OUTPUT="$ks/vm" KHDR_INCLUDES="-isystem $out/usr/include" \
	EXTRA_CFLAGS="-static" -j"$JOBS" $(printf "$ks/vm/%s " $VM_TESTS)
cp "$src"/tools/testing/selftests/vm/*.sh "$ks/vm/" 2>/dev/null || true
mkdir -p "$ks/memory-hotplug"
cp "$src"/tools/testing/selftests/memory-hotplug/*.sh "$ks/memory-hotplug/"
echo "$want" >"$stamp"
echo "kernel $profile: $(cat "$out/include/config/kernel.release") $(stat -c %s "$out/arch/riscv/boot/Image") bytes"
