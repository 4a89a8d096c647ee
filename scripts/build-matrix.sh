#!/bin/bash
# build-matrix.sh [CONFIG...]: build the series (build/linux at HEAD) in the
# configurations the rig's own kernels do not cover, and print a table:
# configuration x result. Each build goes to build/matrix/NAME, its log to
# build/logs/matrix-NAME.log. Without arguments every configuration is built.
#
#   riscv64-flatmem      riscv defconfig as it is (FLATMEM, no fragments)
#   riscv64-sparse-novm  defconfig + SPARSEMEM without SPARSEMEM_VMEMMAP, with
#                        MEMORY_HOTPLUG/HOTREMOVE requested: must link, and
#                        hotplug must be refused by Kconfig (the hooks need
#                        the vmemmap)
#   riscv32              rv32_defconfig
#   riscv64-nommu        nommu_virt_defconfig
#   default debug kasan  the rig's profiles (configs/profiles): the rig's own
#                        kernels (build/kernel-NAME, scripts/kernel.sh)
#   x86_64 arm64         defconfig + MEMORY_HOTPLUG/HOTREMOVE, ZONE_DEVICE,
#                        dax/kmem, virtio-mem and KASAN: the generic code the
#                        series touches (drivers/base, drivers/dax,
#                        drivers/virtio, mm, mm/kasan) built for other
#                        architectures (x86_64 with
#                        Debian's native gcc, arm64 with gcc-aarch64-linux-gnu);
#                        x86_64 also with ARCH_MEMORY_PROBE (and without
#                        MEMORY_UNPROBE); arm64 builds Image only
# The order is the order of risk and cost: the riscv configurations the rig
# does not boot first, the rig's profiles (usually up to date) last.
. "$(dirname "$0")/lib.sh"

src=${MATRIX_SRC:-$BUILD/linux}
base=$BUILD/matrix
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP} CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=riscv-mhp-rig
ALL="riscv64-sparse-novm riscv64-nommu riscv64-flatmem riscv32 arm64 x86_64 default debug kasan"
if [ "${1:-}" = --list ]; then
	echo "$ALL"
	exit 0
fi
[ -d "$src" ] || die "no $src: run 'make tree'"
configs=${*:-$ALL}
for c in $configs; do
	case " $ALL " in *" $c "*) ;; *) die "unknown matrix configuration '$c' (known: $ALL)" ;; esac
done

# kb ARCH OUT ARGS...: kbuild with ccache for that architecture.
kb() {
	local arch=$1 out=$2 cross cc
	shift 2
	case $arch in
	riscv) cross=riscv64-linux-gnu- ;;
	arm64) cross=aarch64-linux-gnu- ;;
	x86) cross=x86_64-linux-gnu- ;;
	esac
	cc=${cross}gcc
	if ! command -v "$cc" >/dev/null; then
		[ "$(id -u)" = 0 ] || die "$cc not found: install Debian's gcc-${cross%-}"
		echo "installing gcc-${cross%-} (Debian package) for $arch"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "gcc-${cross%-}" >&2 ||
			die "apt-get install gcc-${cross%-} failed"
	fi
	make -C "$src" O="$out" ARCH="$arch" CROSS_COMPILE="$cross" CC="ccache $cc" -j"$JOBS" "$@"
}

# with OUT OPTION...: set options in OUT/.config (=y, =n, =m) and resolve.
with() {
	local out=$1 arch=$2 o
	shift 2
	for o in "$@"; do
		case $o in
		*=n) "$src/scripts/config" --file "$out/.config" --disable "${o%=n}" ;;
		*=m) "$src/scripts/config" --file "$out/.config" --module "${o%=m}" ;;
		*) "$src/scripts/config" --file "$out/.config" --enable "${o%=y}" ;;
		esac
	done
	kb "$arch" "$out" -s olddefconfig
}

# require OUT OPTION...: every OPTION (=y) survived Kconfig, or say which did
# not and fail (a dependency the defconfig lacks would otherwise drop it, and
# its code would silently not be built).
require() {
	local out=$1 o bad=0
	shift
	for o in "$@"; do
		grep -qx "CONFIG_$o" "$out/.config" || { echo "dropped by Kconfig: CONFIG_$o (final: $(grep "^CONFIG_${o%=*}=" "$out/.config" || echo 'not set'))"; bad=1; }
	done
	return $bad
}

# KASAN: the series' mm/kasan/init.c change is built there too. DAX and
# TRANSPARENT_HUGEPAGE: what DEV_DAX depends on (x86_64_defconfig has
# neither).
GENERIC="MEMORY_HOTPLUG=y MEMORY_HOTREMOVE=y SPARSEMEM_VMEMMAP=y ZONE_DEVICE=y
TRANSPARENT_HUGEPAGE=y LIBNVDIMM=y DAX=y DEV_DAX=y DEV_DAX_KMEM=y VIRTIO_MEM=y
MHP_MEMMAP_ON_MEMORY=y KASAN=y"

# build_one NAME: configure and build; prints the result column.
build_one() {
	local name=$1 out=$base/$1
	mkdir -p "$out"
	case $name in
	riscv64-flatmem)
		kb riscv "$out" -s defconfig
		kb riscv "$out" Image modules
		;;
	riscv64-sparse-novm)
		kb riscv "$out" -s defconfig
		with "$out" riscv SPARSEMEM_MANUAL=y SPARSEMEM_VMEMMAP=n MEMORY_HOTPLUG=y MEMORY_HOTREMOVE=y
		grep -q '^CONFIG_SPARSEMEM=y' "$out/.config" || { echo "SPARSEMEM not set"; return 1; }
		! grep -q '^CONFIG_SPARSEMEM_VMEMMAP=y' "$out/.config" || { echo "SPARSEMEM_VMEMMAP still set"; return 1; }
		kb riscv "$out" Image modules
		if grep -q '^CONFIG_MEMORY_HOTPLUG=y' "$out/.config"; then
			echo "note: MEMORY_HOTPLUG=y without SPARSEMEM_VMEMMAP"
		else
			echo "note: MEMORY_HOTPLUG refused by Kconfig"
		fi
		;;
	riscv32)
		kb riscv "$out" -s rv32_defconfig
		kb riscv "$out" Image modules
		;;
	riscv64-nommu)
		kb riscv "$out" -s nommu_virt_defconfig
		kb riscv "$out" vmlinux
		;;
	default|debug|kasan)
		if [ "$src" = "$BUILD/linux" ]; then
			# The rig's own kernel of that profile (build/kernel-NAME),
			# built by the same stage as make check's: nothing is
			# built twice, and it is skipped when up to date.
			rmdir "$out" 2>/dev/null || true
			bash "$TOP/scripts/kernel.sh" "$name"
		else
			bash "$TOP/scripts/kconfig.sh" "$name" "$out" "$src"
			kb riscv "$out" Image modules
		fi
		;;
	x86_64)
		# ARCH_MEMORY_PROBE: x86 has the sysfs probe file the series
		# extends in drivers/base/memory.c; built here without the
		# unprobe ABI (riscv opts in to that, x86 does not).
		kb x86 "$out" -s x86_64_defconfig
		# shellcheck disable=SC2086
		with "$out" x86 $GENERIC ARCH_MEMORY_PROBE=y
		# shellcheck disable=SC2086
		require "$out" $GENERIC ARCH_MEMORY_PROBE=y
		! grep -q '^CONFIG_MEMORY_UNPROBE=y' "$out/.config" || { echo "MEMORY_UNPROBE set on x86"; return 1; }
		kb x86 "$out" bzImage modules
		;;
	arm64)
		# Image only: every file of the series' generic code is built
		# in (GENERIC is all =y); arm64 defconfig's modules are drivers
		# the series does not touch, and would double the build.
		kb arm64 "$out" -s defconfig
		# shellcheck disable=SC2086
		with "$out" arm64 $GENERIC
		# shellcheck disable=SC2086
		require "$out" $GENERIC
		kb arm64 "$out" Image
		;;
	esac
}

fail=0
rows=""
for c in $configs; do
	log=$LOGS/matrix-$c.log
	start=$(date +%s)
	printf '[matrix   ] %-20s ...\r' "$c"
	if (set -e; build_one "$c") >"$log" 2>&1; then
		res="ok"
	else
		res="FAILED"
		fail=1
	fi
	# Kconfig selecting an option whose dependencies are off is a defect
	# of the series too, even when the build goes through.
	if grep -q 'unmet direct dependencies' "$log"; then
		res="FAILED"
		fail=1
		echo "note: Kconfig: $(grep -m1 -A1 'unmet direct dependencies' "$log" | tr -s ' \n' ' ')" >>"$log"
	fi
	note=$(sed -n 's/^note: //p' "$log" | tail -n 1)
	linkerr=$(grep -m1 -E 'undefined reference|Error [0-9]' "$log" || true)
	t=$(($(date +%s) - start))
	printf '[matrix   ] %-20s %-6s in %4ss  log: %s\n' "$c" "$res" "$t" "${log#"$TOP"/}"
	rows="$rows$(printf '%-20s | %-6s | %s' "$c" "$res" "${note:-${linkerr:-}}")"$'\n'
done
echo
echo "configuration        | result | note"
echo "---------------------|--------|-----"
printf '%s' "$rows"
[ "$fail" = 0 ] || die "build matrix: a configuration failed (logs: build/logs/matrix-*.log)"
