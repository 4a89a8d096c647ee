#!/bin/bash
# Prepare build/linux: the pinned linux-source-6.1 tarball as a git repository
# with one base commit (tagged 'base'), then patches/linux/*.patch applied with
# 'git am' (no fuzz, no 3-way merge).
. "$(dirname "$0")/lib.sh"

tree=$BUILD/linux
stamp=$BUILD/linux.stamp
series=$(ls "$TOP"/patches/linux/0*.patch 2>/dev/null | grep -v '/0000-cover-letter.patch$' || true)
# shellcheck disable=SC2086
key=$(inputs_hash "$LINUX_SHA256" $series)
gitc() { git -C "$tree" -c user.name=rig -c user.email=rig@localhost "$@"; }

have=$(dpkg-query -W -f='${Version}' "$LINUX_PACKAGE" 2>/dev/null || true)
[ "$have" = "$LINUX_VERSION" ] ||
	die "$LINUX_PACKAGE: expected $LINUX_VERSION, found '${have:-not installed}' (run 'make deps', or override with LINUX_VERSION=... LINUX_SHA256=...)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -d "$tree/.git" ] &&
	[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
	echo "up to date: $(git -C "$tree" log --oneline base..HEAD | wc -l) patches on base"
	exit 0
fi

if [ -d "$tree/.git" ] && git -C "$tree" rev-parse -q --verify base >/dev/null; then
	# Never throw away work that was not exported to patches/linux.
	if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
		[ "${FORCE:-0}" = 1 ] || die "build/linux has uncommitted changes; commit and 'make export', or FORCE=1 to discard them"
	fi
	if [ -f "$stamp" ] && [ "${FORCE:-0}" != 1 ]; then
		# The tree holds what the stamp's series produced, plus maybe new commits.
		applied=$(cat "$BUILD/linux.applied" 2>/dev/null || echo none)
		now=$(git -C "$tree" rev-parse HEAD)
		[ "$applied" = "$now" ] ||
			die "build/linux has commits not exported to patches/linux ('make export' first, or FORCE=1 to discard them)"
	fi
	echo "resetting build/linux to base"
	gitc am --abort >/dev/null 2>&1 || true
	gitc reset -q --hard base
else
	want=$LINUX_SHA256
	got=$(sha256sum "$LINUX_TARBALL" | cut -d' ' -f1)
	[ "$got" = "$want" ] ||
		die "$LINUX_TARBALL: sha256 $got, expected $want for $LINUX_PACKAGE $LINUX_VERSION (base/versions; override with LINUX_SHA256=...)"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	echo "unpacking $LINUX_TARBALL"
	tar -C "$tree.tmp" --strip-components=1 -xf "$LINUX_TARBALL"
	git -C "$tree.tmp" init -q
	# No automatic 'git gc' in the background: it would compete with the
	# kernel builds that follow (and outlive the stage that started it).
	git -C "$tree.tmp" config gc.auto 0
	git -C "$tree.tmp" add -A -f  # Debian's top-level .gitignore ignores everything
	# Fixed identity and dates: the base commit's id depends only on the
	# tarball, so 'base-commit:' in the exported series means the same tree
	# on every machine.
	GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
		git -C "$tree.tmp" -c user.name="riscv-mhp-rig" -c user.email="rig@localhost" \
		commit -q -m "Linux $LINUX_VERSION (Debian $LINUX_PACKAGE)" \
		-m "Unpacked from $LINUX_TARBALL, sha256 $LINUX_SHA256."
	git -C "$tree.tmp" tag base
	# Commits made in the tree (and the exported cover letter) carry the
	# series' identity.
	git -C "$tree.tmp" config user.name "RISC-V MHP rig"
	git -C "$tree.tmp" config user.email "rig@example.org"
	mv "$tree.tmp" "$tree"
fi

for p in $series; do
	echo "applying ${p#"$TOP"/}"
	if ! gitc am -q --no-3way "$p"; then
		gitc am --abort >/dev/null 2>&1 || true
		gitc reset -q --hard base
		rm -f "$stamp"
		die "patch does not apply: ${p#"$TOP"/} (git am, no fuzz); build/linux reset to base"
	fi
done
git -C "$tree" rev-parse HEAD >"$BUILD/linux.applied"
echo "$key" >"$stamp"
echo "$(git -C "$tree" log --oneline base..HEAD | wc -l) patches applied on base $(git -C "$tree" rev-parse --short base)"
