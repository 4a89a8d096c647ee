#!/bin/bash
# apply-check.sh: does the series apply (git am rules: no fuzz, every hunk in
# place) on every linux-source-6.1 version Debian's archive has, and on the
# vanilla tree of the pinned version (the .orig.tar.xz of Debian's 'linux'
# source package)? Prints a table: tree, result, first patch that does not
# apply and the file it stops at. Only the files the series touches are
# unpacked; the packages are downloaded once into the rig's cache.
. "$(dirname "$0")/lib.sh"

dir=$RIG_CACHE/apply-check
mkdir -p "$dir"
patches=$(ls "$TOP"/patches/linux/0*.patch | grep -v '/0000-cover-letter.patch$')
# Files the series changes that exist before it (new files need no base).
files=$(sed -n 's|^--- a/||p' $patches | sort -u)
work=$(mktemp -d "$BUILD/apply-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# try TREE: apply the series to the unpacked files in TREE; print the result.
try() {
	local n=0 p out
	for p in $patches; do
		n=$((n + 1))
		if ! out=$(patch -p1 -F0 -s -f --no-backup-if-mismatch -r - -d "$1" <"$p" 2>&1); then
			printf 'stops at %02d (%s): %s\n' "$n" "$(sed -n 's/^Subject: \[[^]]*\] //p' "$p" | head -n 1 | cut -c1-60)" \
				"$(echo "$out" | grep -m1 -o 'patching file [^ ]*\|FAILED.*' | head -n 1)"
			return 1
		fi
	done
	echo "applies ($n patches)"
}

# unpack TARFILE TOPDIR DEST: the series' files from an xz tarball
unpack() {
	mkdir -p "$3"
	# shellcheck disable=SC2046
	tar -xJf "$1" -C "$3" --strip-components=1 $(printf "$2/%s " $files) 2>/dev/null || true
}

printf '%-28s %s\n' "tree" "result"
fail=0
versions=$(apt-cache madison linux-source-6.1 | awk '$1 == "linux-source-6.1" && $NF == "Packages" {print $3}' | sort -V -u)
[ -n "$versions" ] || die "apt knows no linux-source-6.1 version (run 'make deps')"
for v in $versions; do
	deb=$dir/linux-source-6.1_${v}_all.deb
	if [ ! -f "$deb" ]; then
		(cd "$dir" && apt-get download -q "linux-source-6.1=$v" >/dev/null 2>&1) && [ -f "$deb" ] ||
			{ printf '%-28s %s\n' "linux-source-6.1 $v" "download failed"; fail=1; continue; }
	fi
	rm -rf "$work/t" "$work/x"
	mkdir -p "$work/x"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x" ./usr/src/linux-source-6.1.tar.xz
	unpack "$work/x/usr/src/linux-source-6.1.tar.xz" linux-source-6.1 "$work/t"
	printf '%-28s %s\n' "linux-source-6.1 $v" "$(try "$work/t" || true)"
done

# The vanilla tree of the pinned version: Debian's orig tarball.
up=${LINUX_VERSION%-*}
orig=$dir/linux_${up}.orig.tar.xz
if [ ! -f "$orig" ]; then
	(cd "$dir" && apt-get source --download-only -q "linux=$LINUX_VERSION" >/dev/null 2>&1 &&
		rm -f linux_*.dsc linux_*.debian.tar.xz) || true
fi
if [ -f "$orig" ]; then
	rm -rf "$work/t"
	unpack "$orig" "linux-$up" "$work/t"
	printf '%-28s %s\n' "vanilla $up (orig.tar.xz)" "$(try "$work/t" || true)"
else
	printf '%-28s %s\n' "vanilla $up (orig.tar.xz)" "download failed"
	fail=1
fi
exit $fail
