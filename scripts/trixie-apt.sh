#!/bin/bash
# trixie-apt.sh APT-GET-ARGS...: run apt-get against Debian 13 (trixie) with a
# private configuration under the rig's cache: its own sources list (deb and
# deb-src for trixie, the same archive and keyring as bookworm), package lists
# and package cache. The machine's apt sources, lists and cache are not
# touched. Used for QEMU 10.0's source package and trixie's meson.
. "$(dirname "$0")/lib.sh"

dir=$RIG_CACHE/apt-trixie
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
cat >"$dir/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main
SRC
opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/none"
	-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "APT::Sandbox::User=root")
# Fresh lists once a day at most.
if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*InRelease' -mtime -1 2>/dev/null)" ]; then
	apt-get "${opts[@]}" update >&2 || die "apt-get update for trixie failed"
fi
exec apt-get "${opts[@]}" "$@"
