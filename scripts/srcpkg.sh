#!/bin/bash
# srcpkg.sh NAME VERSION DSC_SHA256 DEST: fetch a Debian source package with
# 'apt-get source' into the machine cache (once; from trixie, through
# trixie-apt.sh, with SRCPKG_SUITE=trixie), check the .dsc against its
# pinned hash and unpack it with dpkg-source (which verifies every file the
# .dsc lists and applies Debian's own patches) into DEST.
. "$(dirname "$0")/lib.sh"

name=$1 version=$2 sha=$3 dest=$4
upver=${version#*:}
dsc=$RIG_CACHE/src/${name}_${upver}.dsc
mkdir -p "$RIG_CACHE/src"
if [ ! -f "$dsc" ]; then
	if [ "${SRCPKG_SUITE:-}" = trixie ]; then
		(cd "$RIG_CACHE/src" && bash "$TOP/scripts/trixie-apt.sh" source --download-only "$name=$version") ||
			die "apt-get source $name=$version from trixie failed"
	else
		(cd "$RIG_CACHE/src" && apt-get source --download-only "$name=$version") ||
			die "apt-get source $name=$version failed (is a bookworm deb-src entry present? run 'make deps')"
	fi
fi
got=$(sha256sum "$dsc" | cut -d' ' -f1)
[ "$got" = "$sha" ] || die "$dsc: sha256 $got, expected $sha (base/versions)"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
dpkg-source -x "$dsc" "$dest" || die "dpkg-source -x $dsc failed"
