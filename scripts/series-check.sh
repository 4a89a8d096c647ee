#!/bin/bash
# series-check.sh: what the RISC-V patchwork CI does per patch. For the base
# and then each patch of patches/linux in turn (a worktree of build/linux):
#   - build Image and modules with the 'default' profile (hotplug config on);
#   - count W=1 warnings in the directories the series touches, and fail if a
#     patch adds any;
#   - run scripts/checkpatch.pl --strict on the patch file;
#   - boot it (SERIES_BOOT=0 skips this): boot-sanity on Sv39, and
#     hotplug-add from the first patch whose kernel has the probe and
#     unprobe interfaces
#     (the rig has no other way to add memory before virtio-mem), with an
#     initramfs of that patch's own modules;
# and it names the first patch that fails to build, warns, or does not boot;
# then the whole series in the build matrix (scripts/build-matrix.sh): riscv64
# FLATMEM defconfig, SPARSEMEM without VMEMMAP, rv32, nommu, the rig's
# profiles, x86_64 and arm64 with memory hotplug; and last whether the series
# applies on every linux-source-6.1 version of the archive and on the vanilla
# tree (scripts/apply-check.sh). SERIES_PARTS="patches matrix apply" (the
# default) selects the parts that run.
. "$(dirname "$0")/lib.sh"

tree=$BUILD/linux
wt=$BUILD/series-src
out=$BUILD/kernel-series
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so clones and worktrees share hits.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP} CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=riscv-mhp-rig
SERIES_BOOT=${SERIES_BOOT:-1}
case $SERIES_BOOT in 0 | 1) ;; *) die "SERIES_BOOT must be 0 or 1, not '$SERIES_BOOT'" ;; esac
# SERIES_FROM=N: check patches N.. only, starting from a build of patch N-1
# (its W=1 count is the reference), e.g. after changing patch N or adding
# patches at the end.
SERIES_FROM=${SERIES_FROM:-1}
case $SERIES_FROM in '' | *[!0-9]* | 0*) die "SERIES_FROM must be a patch number (1, 2, ...), not '$SERIES_FROM'" ;; esac
W1_DIRS="arch/riscv/mm/ arch/riscv/kernel/ drivers/base/ mm/"
# UNKNOWN_COMMIT_ID: the Fixes: tags name upstream commits, and this tree
# (Debian's source package) has no upstream history to look them up in.
IGNORE=COMMIT_LOG_LONG_LINE,MACRO_ARG_REUSE,ALLOC_SIZEOF_STRUCT,CAMELCASE,GIT_COMMIT_ID,FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID

[ -d "$tree/.git" ] || die "no build/linux: run 'make tree'"
SERIES_PARTS=${SERIES_PARTS:-patches matrix apply}
for part in $SERIES_PARTS; do
	case $part in patches | matrix | apply) ;; *) die "unknown SERIES_PARTS entry '$part' (known: patches matrix apply)" ;; esac
done
part() { case " $SERIES_PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

kbuild() {
	make -C "$wt" O="$out" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
		CC="ccache riscv64-linux-gnu-gcc" -j"$JOBS" "$@"
}

w1_count() {
	# Force the W=1 directories to recompile, then count their warnings.
	find "$out" \( -path "$out/arch/riscv/mm/*" -o -path "$out/arch/riscv/kernel/*" \
		-o -path "$out/drivers/base/*" -o -path "$out/mm/*" \) -name '*.o' -delete 2>/dev/null || true
	# shellcheck disable=SC2086
	kbuild W=1 $W1_DIRS 2>&1 | grep -c 'warning:' || true
}

# boot NAME: pack an initramfs with this build's modules and boot it; prints
# the verdicts ("boot-sanity pass, hotplug-add pass"). Consoles and verdicts
# go to build/series-boot/NAME.
boot() {
	local name=$1 tests=boot-sanity res=$BUILD/series-boot/$1 v
	# hotplug-add removes what it adds: it needs unprobe too (a patch
	# later than probe), and skips without it.
	grep -qx 'CONFIG_ARCH_MEMORY_PROBE=y' "$out/.config" &&
		grep -qx 'CONFIG_MEMORY_UNPROBE=y' "$out/.config" && tests=boot-sanity,hotplug-add
	rm -rf "$res" "$out/modroot" "$out/kselftest"
	mkdir -p "$res" "$out/kselftest"
	if ! { kbuild -s INSTALL_MOD_PATH="$out/modroot" INSTALL_MOD_STRIP=1 modules_install &&
		kbuild -s headers_install INSTALL_HDR_PATH="$out/usr" &&
		KSRC=$wt bash "$TOP/scripts/initramfs.sh" series; } >"$res/initramfs.log" 2>&1; then
		echo "initramfs FAILED (build/series-boot/$name/initramfs.log)"
		return 1
	fi
	RIG_KERNEL=$out/arch/riscv/boot/Image RIG_INITRD=$BUILD/initramfs-series.cpio.gz RIG_OUT=$res \
		python3 "$TOP/scripts/runner.py" run --profiles default --modes sv39 --tests "$tests" \
		--no-kunit-check --jobs "$JOBS" >"$res/runner.log" 2>&1
	v=$(python3 -c 'import json, sys
print(", ".join(r["test"] + " " + r["verdict"] for r in json.load(open(sys.argv[1]))))' "$res/results.json" 2>/dev/null) ||
		v="no verdicts (build/series-boot/$name/runner.log)"
	echo "$v"
	# Every test asked for must run: a skip is not a pass.
	case $v in *fail* | *error* | *skip* | no\ verdicts*) return 1 ;; esac
}

configure() {
	bash "$TOP/scripts/kconfig.sh" default "$out" "$wt" >/dev/null ||
		die "configuring $(git -C "$wt" log -1 --format=%s) failed"
}

# Each patch: build, boot, W=1, checkpatch.
if part patches; then
	# checkpatch runs scripts/spdxcheck.py on new files, which needs python3-ply
	# and python3-git, with Debian's python3 (/usr/bin first in PATH: a python3
	# of pyenv or a venv earlier in PATH does not see Debian's modules).
	CP_PATH=/usr/bin:$PATH
	if ! PATH=$CP_PATH python3 -c 'import ply, git' 2>/dev/null; then
		[ "$(id -u)" = 0 ] || die "python3-ply or python3-git is missing (Debian packages), checkpatch needs them"
		echo "installing python3-ply and python3-git (Debian packages) for checkpatch's SPDX check"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-ply python3-git >/dev/null ||
			die "apt-get install python3-ply python3-git failed"
		PATH=$CP_PATH python3 -c 'import ply, git' || die "Debian's python3 still cannot import ply and git"
	fi
	patches=$(ls "$TOP"/patches/linux/0*.patch 2>/dev/null | grep -v '/0000-cover-letter.patch$' || true)
	[ -n "$patches" ] || die "patches/linux has no patches"
	commits=$(git -C "$tree" rev-list --reverse base..HEAD)
	[ "$(echo "$commits" | wc -w)" = "$(echo "$patches" | wc -w)" ] ||
		die "build/linux and patches/linux differ in length: run 'make tree' (or 'make export')"
	[ "$SERIES_FROM" -le "$(echo "$commits" | wc -w)" ] ||
		die "SERIES_FROM=$SERIES_FROM: the series has $(echo "$commits" | wc -w) patches"

	# The starting point: base, or patch SERIES_FROM-1.
	start=base name=base
	if [ "$SERIES_FROM" -gt 1 ]; then
		start=$(echo "$commits" | sed -n "$((SERIES_FROM - 1))p")
		name="patch $((SERIES_FROM - 1))"
	fi
	git -C "$tree" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
	git -C "$tree" worktree prune
	git -C "$tree" worktree add -q --detach "$wt" "$start"

	fail=0
	configure
	t0=$(date +%s)
	kbuild Image modules >"$LOGS/series-base.log" 2>&1 || die "$name does not build (log: build/logs/series-base.log)"
	booted=
	if [ "$SERIES_BOOT" = 1 ]; then
		booted=$(boot base) || die "$name does not boot: $booted"
		booted=", boot $booted"
	fi
	base_w=$(w1_count)
	echo "$name: builds; W=1 warnings in $W1_DIRS: $base_w$booted; $(($(date +%s) - t0)) s (log: build/logs/series-base.log)"
	prev_w=$base_w
	i=0
	first_bad=
	for c in $commits; do
		i=$((i + 1))
		[ "$i" -ge "$SERIES_FROM" ] || continue
		t0=$(date +%s)
		bad=0
		p=$(echo "$patches" | sed -n "${i}p")
		subj=$(git -C "$tree" log -1 --format=%s "$c")
		git -C "$wt" checkout -q --detach "$c"
		configure
		log=$LOGS/series-$(printf %04d $i).log
		if kbuild Image modules >"$log" 2>&1; then build=ok; else build=FAILED; bad=1; fi
		booted=
		if [ "$SERIES_BOOT" = 1 ] && [ "$build" = ok ]; then
			booted=$(boot "$(printf %04d $i)") || bad=1
			booted=", boot $booted"
		fi
		w=$(w1_count)
		# A Traceback is spdxcheck.py failing: a finding too.
		cp=$(cd "$wt" && PATH=$CP_PATH ./scripts/checkpatch.pl --strict --terse --no-summary --ignore="$IGNORE" "$p" 2>&1 |
			grep -cE 'ERROR|WARNING|CHECK|Traceback' || true)
		status="build $build, W=1 $w (was $prev_w), checkpatch $cp$booted"
		[ "$w" -le "$prev_w" ] || bad=1
		[ "$cp" = 0 ] || { bad=1; (cd "$wt" && PATH=$CP_PATH ./scripts/checkpatch.pl --strict --terse --no-summary --ignore="$IGNORE" "$p" | sed 's/^/      /'); }
		printf '%2d %-66s %s; %d s (log: build/logs/series-%04d.log)\n' "$i" "$subj" "$status" $(($(date +%s) - t0)) "$i"
		if [ "$bad" = 1 ]; then
			fail=1
			[ -n "$first_bad" ] || first_bad="$i ($subj)"
		fi
		prev_w=$w
	done
	git -C "$tree" worktree remove --force "$wt"
	rm -rf "$BUILD/initramfs-series" "$BUILD/initramfs-series.cpio.gz" "$BUILD/kmod-series"
	[ "$fail" = 0 ] || die "series-check failed; first bad patch: $first_bad (logs: build/logs/series-*.log, build/series-boot/)"
	checked="all $i patches"
	[ "$SERIES_FROM" = 1 ] || checked="patches $SERIES_FROM-$i (SERIES_FROM=$SERIES_FROM)"
	if [ "$SERIES_BOOT" = 1 ]; then
		echo "series-check: $checked build, boot, add no W=1 warnings and pass checkpatch --strict"
	else
		echo "series-check: $checked build, add no W=1 warnings and pass checkpatch --strict (boots skipped: SERIES_BOOT=0)"
	fi
fi

# The whole series in the configurations the rig's kernels do not cover
# (MATRIX_CONFIGS selects some; see scripts/build-matrix.sh).
if part matrix; then
	# shellcheck disable=SC2086
	bash "$TOP/scripts/build-matrix.sh" ${MATRIX_CONFIGS:-}
fi

# Where users are: every linux-source-6.1 version in Debian's archive and the
# vanilla tree (scripts/apply-check.sh).
if part apply; then
	bash "$TOP/scripts/apply-check.sh" || die "the series does not apply on every linux-source-6.1 version (table above)"
fi
