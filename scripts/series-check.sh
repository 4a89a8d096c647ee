#!/bin/bash
# series-check.sh: what the RISC-V patchwork CI does per patch. For the base
# and then each patch of patches/linux in turn (a worktree of build/linux):
#   - build Image and modules with the 'default' profile (hotplug config on);
#   - count W=1 warnings in the directories the series touches, and fail if a
#     patch adds any;
#   - run scripts/checkpatch.pl --strict on the patch file;
# then the whole series in the build matrix (scripts/build-matrix.sh): riscv64
# FLATMEM defconfig, SPARSEMEM without VMEMMAP, rv32, nommu, the rig's
# profiles, x86_64 and arm64 with memory hotplug; and last whether the series
# applies on every linux-source-6.1 version of the archive and on the vanilla
# tree (scripts/apply-check.sh).
. "$(dirname "$0")/lib.sh"

tree=$BUILD/linux
wt=$BUILD/series-src
out=$BUILD/kernel-series
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so clones and worktrees share hits.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP} CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=riscv-mhp-rig
W1_DIRS="arch/riscv/mm/ arch/riscv/kernel/ drivers/base/ mm/"
# UNKNOWN_COMMIT_ID: the Fixes: tags name upstream commits, and this tree
# (Debian's source package) has no upstream history to look them up in.
IGNORE=COMMIT_LOG_LONG_LINE,MACRO_ARG_REUSE,ALLOC_SIZEOF_STRUCT,CAMELCASE,GIT_COMMIT_ID,FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID

[ -d "$tree/.git" ] || die "no build/linux: run 'make tree'"
# checkpatch runs scripts/spdxcheck.py on new files, which needs python3-ply.
if ! python3 -c 'import ply' 2>/dev/null; then
	[ "$(id -u)" = 0 ] || die "python3-ply is missing (Debian package), checkpatch needs it"
	echo "installing python3-ply (Debian package) for checkpatch's SPDX check"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-ply >/dev/null ||
		die "apt-get install python3-ply failed"
fi
patches=$(ls "$TOP"/patches/linux/0*.patch 2>/dev/null | grep -v '/0000-cover-letter.patch$' || true)
[ -n "$patches" ] || die "patches/linux has no patches"
commits=$(git -C "$tree" rev-list --reverse base..HEAD)
[ "$(echo "$commits" | wc -w)" = "$(echo "$patches" | wc -w)" ] ||
	die "build/linux and patches/linux differ in length: run 'make tree' (or 'make export')"

git -C "$tree" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
git -C "$tree" worktree prune
git -C "$tree" worktree add -q --detach "$wt" base

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

configure() {
	bash "$TOP/scripts/kconfig.sh" default "$out" "$wt" >/dev/null ||
		die "configuring $(git -C "$wt" log -1 --format=%s) failed"
}

fail=0
configure
kbuild Image modules >"$LOGS/series-base.log" 2>&1 || die "base does not build (log: build/logs/series-base.log)"
base_w=$(w1_count)
echo "base: builds; W=1 warnings in $W1_DIRS: $base_w"
prev_w=$base_w
i=0
for c in $commits; do
	i=$((i + 1))
	p=$(echo "$patches" | sed -n "${i}p")
	subj=$(git -C "$tree" log -1 --format=%s "$c")
	git -C "$wt" checkout -q --detach "$c"
	configure
	log=$LOGS/series-$(printf %04d $i).log
	if kbuild Image modules >"$log" 2>&1; then build=ok; else build=FAILED; fail=1; fi
	w=$(w1_count)
	cp=$(cd "$wt" && ./scripts/checkpatch.pl --strict --terse --no-summary --ignore="$IGNORE" "$p" 2>&1 |
		grep -cE 'ERROR|WARNING|CHECK' || true)
	status="build $build, W=1 $w (was $prev_w), checkpatch $cp"
	[ "$w" -le "$prev_w" ] || fail=1
	[ "$cp" = 0 ] || { fail=1; (cd "$wt" && ./scripts/checkpatch.pl --strict --terse --no-summary --ignore="$IGNORE" "$p" | sed 's/^/      /'); }
	printf '%2d %-70s %s\n' "$i" "$subj" "$status"
	prev_w=$w
done
git -C "$tree" worktree remove --force "$wt"
[ "$fail" = 0 ] || die "series-check failed (logs: build/logs/series-*.log)"
echo "series-check: all $i patches build, add no W=1 warnings and pass checkpatch --strict"

# The whole series in the configurations the rig's kernels do not cover
# (MATRIX_CONFIGS selects some; see scripts/build-matrix.sh).
# shellcheck disable=SC2086
bash "$TOP/scripts/build-matrix.sh" ${MATRIX_CONFIGS:-}

# Where users are: every linux-source-6.1 version in Debian's archive and the
# vanilla tree (scripts/apply-check.sh).
bash "$TOP/scripts/apply-check.sh" || die "the series does not apply on every linux-source-6.1 version (table above)"
