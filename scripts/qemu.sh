#!/bin/bash
# Build qemu-system-riscv64 from Debian's qemu 7.2 source package with
# patches/qemu/*.patch applied (git am, no fuzz). The result is cached per
# machine under $RIG_CACHE/qemu-<hash of inputs> and linked to build/qemu.
. "$(dirname "$0")/lib.sh"

CONFIGURE_FLAGS="--target-list=riscv64-softmmu --without-default-features
--enable-fdt=system --enable-tcg --disable-docs --disable-werror"
# shellcheck disable=SC2086
key=$(inputs_hash "$QEMU_VERSION" "$QEMU_DSC_SHA256" $CONFIGURE_FLAGS "$TOP"/patches/qemu/*.patch)
out=$RIG_CACHE/qemu-$key

if [ -x "$out/qemu-system-riscv64" ]; then
	echo "cached: $out"
else
	work=$RIG_CACHE/qemu-work
	rm -rf "$work"
	bash "$TOP/scripts/srcpkg.sh" qemu "$QEMU_VERSION" "$QEMU_DSC_SHA256" "$work/src"
	cd "$work/src"
	git init -q
	git -c user.name=rig -c user.email=rig@localhost commit -q --allow-empty -m init
	git add -A >/dev/null
	git -c user.name=rig -c user.email=rig@localhost commit -q -m "Debian qemu $QEMU_VERSION"
	for p in "$TOP"/patches/qemu/*.patch; do
		[ -f "$p" ] || continue
		echo "applying ${p#"$TOP"/}"
		git -c user.name=rig -c user.email=rig@localhost am -q "$p" ||
			die "patch does not apply: ${p#"$TOP"/}"
	done
	mkdir -p "$work/obj"
	cd "$work/obj"
	# shellcheck disable=SC2086
	../src/configure $CONFIGURE_FLAGS
	ninja -j"$JOBS" qemu-system-riscv64
	mkdir -p "$out.tmp"
	cp qemu-system-riscv64 "$out.tmp/"
	# The virt machine needs no ROM files besides the firmware passed with -bios.
	rm -rf "$out"
	mv "$out.tmp" "$out"
	rm -rf "$work"
fi
ln -sfn "$out" "$BUILD/qemu"
"$BUILD/qemu/qemu-system-riscv64" --version | head -1
