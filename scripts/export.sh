#!/bin/bash
# Regenerate patches/linux/ from build/linux's commits on top of 'base':
# git format-patch --cover-letter --base=base. The cover letter's subject and
# text are kept from the existing patches/linux/0000-cover-letter.patch (shortlog,
# diffstat and base-commit are regenerated).
. "$(dirname "$0")/lib.sh"

tree=$BUILD/linux
dir=$TOP/patches/linux
[ -e "$tree/.git" ] || die "no build/linux tree: run 'make tree' first"
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes: commit them first"
n=$(git -C "$tree" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "build/linux has no commits on top of base"

desc=""
cover=$dir/0000-cover-letter.patch
if [ -f "$cover" ]; then
	# Subject line (without [PATCH n/m]) and the body up to the shortlog.
	subject=$(awk '/^Subject: /{s=substr($0,10); while ((getline l) > 0 && l ~ /^[ \t]/) s=s l; print s; exit}' "$cover" |
		sed 's/^\[[^]]*\] //')
	body=$(awk 'f && /^[^ ].* \([0-9]+\):$/ {exit} f {print} /^$/ && !f {f=1}' "$cover")
	desc=$(printf '%s\n\n%s\n' "$subject" "$body")
fi
branch=$(git -C "$tree" symbolic-ref --short HEAD)
if [ -n "$desc" ]; then
	git -C "$tree" config "branch.$branch.description" "$desc"
fi
tmp=$(mktemp -d)
prefix=PATCH
[ "${SERIES_VERSION:-1}" = 1 ] || prefix="PATCH v$SERIES_VERSION"
git -C "$tree" format-patch -q --cover-letter --cover-from-description=subject \
	--subject-prefix="$prefix" --base=base --no-signature -o "$tmp" base..HEAD
rm -f "$dir"/*.patch
mkdir -p "$dir"
mv "$tmp"/*.patch "$dir/"
rmdir "$tmp"
# The tree now is exactly the exported series.
git -C "$tree" rev-parse HEAD >"$BUILD/linux.applied"
series=$(ls "$dir"/0*.patch | grep -v '/0000-cover-letter.patch$')
# shellcheck disable=SC2086
inputs_hash "$LINUX_SHA256" $series >"$BUILD/linux.stamp"
echo "exported $n patches and a cover letter to patches/linux/"
