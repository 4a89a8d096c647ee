#!/bin/bash
# Build qemu-system-riscv64 from Debian's QEMU source package with the rig's
# patches applied (git am, no fuzz). QEMU=7.2 (default): bookworm's 7.2 with
# patches/qemu/, linked to build/qemu. QEMU=10.0: Debian 13's 10.0 with
# patches/qemu-10.0/, linked to build/qemu-10.0 (meson from trixie's package,
# see base/versions). The result is cached per machine under
# $RIG_CACHE/qemu-<hash of inputs>.
. "$(dirname "$0")/lib.sh"

CONFIGURE_FLAGS="--target-list=riscv64-softmmu --without-default-features
--enable-fdt=system --enable-tcg --disable-docs --disable-werror"
case ${QEMU:-7.2} in
7.2)
	version=$QEMU_VERSION dsc_sha=$QEMU_DSC_SHA256 patches=$TOP/patches/qemu link=$BUILD/qemu
	suite=bookworm extra_flags="" meson_key=""
	;;
10.0)
	version=$QEMU10_VERSION dsc_sha=$QEMU10_DSC_SHA256 patches=$TOP/patches/qemu-10.0
	link=$BUILD/qemu-10.0 suite=trixie
	# Debian's +ds source has no firmware blobs; Debian's own build says the same.
	extra_flags="--disable-install-blobs --python=/usr/bin/python3"
	meson_key="$QEMU10_MESON_VERSION $QEMU10_MESON_SHA256"
	;;
*) die "QEMU must be 7.2 or 10.0, got '$QEMU'" ;;
esac
# shellcheck disable=SC2086
key=$(inputs_hash "$version" "$dsc_sha" $CONFIGURE_FLAGS $extra_flags $meson_key "$patches"/*.patch)
out=$RIG_CACHE/qemu-$key

# meson_dir: trixie's meson package unpacked (not installed) into the cache.
meson_dir() {
	local d=$RIG_CACHE/meson-$QEMU10_MESON_VERSION deb
	if [ ! -d "$d/usr/lib/python3/dist-packages/mesonbuild" ]; then
		mkdir -p "$RIG_CACHE/src"
		deb=$RIG_CACHE/src/meson_${QEMU10_MESON_VERSION}_all.deb
		if [ ! -f "$deb" ]; then
			(cd "$RIG_CACHE/src" && bash "$TOP/scripts/trixie-apt.sh" download "meson=$QEMU10_MESON_VERSION") >&2 ||
				die "apt-get download meson=$QEMU10_MESON_VERSION from trixie failed"
		fi
		[ "$(sha256sum "$deb" | cut -d' ' -f1)" = "$QEMU10_MESON_SHA256" ] ||
			die "$deb: sha256 does not match QEMU10_MESON_SHA256 (base/versions)"
		rm -rf "$d.tmp"
		dpkg-deb -x "$deb" "$d.tmp" || die "dpkg-deb -x $deb failed"
		mv "$d.tmp" "$d"
	fi
	echo "$d/usr/lib/python3/dist-packages"
}

if [ -x "$out/qemu-system-riscv64" ]; then
	echo "cached: $out"
else
	work=$RIG_CACHE/qemu-work
	rm -rf "$work"
	SRCPKG_SUITE=$suite bash "$TOP/scripts/srcpkg.sh" qemu "$version" "$dsc_sha" "$work/src"
	cd "$work/src"
	git init -q
	git -c user.name=rig -c user.email=rig@localhost commit -q --allow-empty -m init
	git add -A >/dev/null
	git -c user.name=rig -c user.email=rig@localhost commit -q -m "Debian qemu $version"
	for p in "$patches"/*.patch; do
		[ -f "$p" ] || continue
		# A series' cover letter (git format-patch --cover-letter) has no diff.
		case $p in */0000-cover-letter.patch) continue ;; esac
		echo "applying ${p#"$TOP"/}"
		git -c user.name=rig -c user.email=rig@localhost am -q "$p" ||
			die "patch does not apply: ${p#"$TOP"/}"
	done
	if [ -n "$meson_key" ]; then
		PYTHONPATH=$(meson_dir)
		export PYTHONPATH
	fi
	mkdir -p "$work/obj"
	cd "$work/obj"
	# shellcheck disable=SC2086
	../src/configure $CONFIGURE_FLAGS $extra_flags
	# The series' qtest runs from tests/host/qemu-md.py (make check).
	ninja -j"$JOBS" qemu-system-riscv64 tests/qtest/riscv-virt-memdev-test
	mkdir -p "$out.tmp"
	cp qemu-system-riscv64 tests/qtest/riscv-virt-memdev-test "$out.tmp/"
	# The virt machine needs no ROM files besides the firmware passed with -bios.
	rm -rf "$out"
	mv "$out.tmp" "$out"
	rm -rf "$work"
fi
ln -sfn "$out" "$link"
"$link/qemu-system-riscv64" --version | head -1
