#!/bin/bash
# Build a static riscv64 BusyBox from Debian's source package, once per machine
# (cached under $RIG_CACHE/busybox-<hash of inputs>), linked to build/busybox.
. "$(dirname "$0")/lib.sh"

# Applets beyond defconfig: /bin/bash is ash (kselftest scripts use #!/bin/bash);
# tc does not build against every kernel header set and is not needed.
SETTINGS="CONFIG_STATIC=y CONFIG_CROSS_COMPILER_PREFIX=\"riscv64-linux-gnu-\"
CONFIG_BASH_IS_ASH=y CONFIG_BASH_IS_NONE=n CONFIG_TC=n CONFIG_FEATURE_SH_STANDALONE=n"
key=$(inputs_hash "$BUSYBOX_VERSION" "$BUSYBOX_DSC_SHA256" "$SETTINGS" "$TOP/scripts/busybox.sh")
out=$RIG_CACHE/busybox-$key

if [ -x "$out/busybox" ]; then
	echo "cached: $out"
else
	work=$RIG_CACHE/busybox-work
	rm -rf "$work"
	bash "$TOP/scripts/srcpkg.sh" busybox "$BUSYBOX_VERSION" "$BUSYBOX_DSC_SHA256" "$work/src"
	cd "$work/src"
	make -s defconfig >/dev/null
	for s in $SETTINGS; do
		sym=${s%%=*} val=${s#*=}
		sed -i "/^$sym=/d; /^# $sym is not set/d" .config
		if [ "$val" = n ]; then
			echo "# $sym is not set" >>.config
		else
			echo "$sym=$val" >>.config
		fi
	done
	(yes '' || true) | make oldconfig >/dev/null
	for s in $SETTINGS; do
		sym=${s%%=*} val=${s#*=}
		if [ "$val" = n ]; then
			! grep -q "^$sym=" .config || die "busybox: $sym still set"
		else
			grep -qx "$sym=$val" .config || die "busybox: $sym=$val did not survive oldconfig"
		fi
	done
	make -j"$JOBS" busybox
	file busybox 2>/dev/null | grep -q 'statically linked' || readelf -d busybox 2>&1 | grep -q 'no dynamic' ||
		die "busybox is not static"
	mkdir -p "$out.tmp"
	cp busybox "$out.tmp/"
	./busybox --list-full 2>/dev/null >"$out.tmp/applets" || true
	rm -rf "$out"
	mv "$out.tmp" "$out"
	rm -rf "$work"
fi
ln -sfn "$out" "$BUILD/busybox"
echo "busybox: $(stat -c %s "$BUILD/busybox/busybox") bytes"
