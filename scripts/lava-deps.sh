#!/bin/bash
# lava-deps.sh [server]: what 'make lava' and 'make lava-jobs' need, from
# Debian 12 only: lava-dispatcher (lava-run, the dispatcher a lab's worker
# runs), lavacli, the YAML/Jinja2 modules the job generator uses, and a host
# kernel for libguestfs (LAVA writes its test overlay to a disk image with
# it; the appliance boots the host's /boot/vmlinuz-*). LAVA's device-type
# templates come from the lava-server package of the same version, unpacked
# into build/lava/templates (not installed). With "server": lava-server and
# PostgreSQL too (scripts/lava-server.sh).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "LAVA's dispatcher runs as root: run as root"
PKGS="lava-dispatcher=$LAVA_VERSION lava-common=$LAVA_VERSION lava-dispatcher-host=$LAVA_VERSION
lavacli=$LAVACLI_VERSION python3-yaml python3-jinja2 linux-image-cloud-amd64"
[ "${1:-}" = server ] && PKGS="$PKGS lava-server=$LAVA_VERSION lava-server-doc=$LAVA_VERSION postgresql"

missing=""
for p in $PKGS; do
	name=${p%%=*} want=${p#*=}
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null | sed -n 's/^install ok installed //p' || true)
	if [ -z "$have" ]; then
		missing="$missing $p"
	elif [ "$want" != "$p" ] && [ "$have" != "$want" ]; then
		die "$name $have is installed, the rig pins $want (base/versions)"
	fi
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	# The packages' services (lava-worker, lava-server-gunicorn, ...) are
	# not started by apt here: the rig starts what it uses itself.
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
		die "apt-get install failed:$missing"
fi
command -v lava-run >/dev/null || die "lava-run not found after installing lava-dispatcher"
ls /boot/vmlinuz-* >/dev/null 2>&1 || die "no kernel in /boot for libguestfs (linux-image-cloud-amd64)"

# lava-server's device-type templates, from its .deb.
tdir=$BUILD/lava/templates
if [ ! -f "$tdir/qemu.jinja2" ] || [ "$(cat "$tdir/.version" 2>/dev/null)" != "$LAVA_VERSION" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download "lava-server=$LAVA_VERSION") 2>&1 | grep -v '^W: Download is performed unsandboxed' ||
		true
	deb=$(ls "$tmp"/lava-server_*.deb 2>/dev/null) || die "apt-get download lava-server=$LAVA_VERSION failed"
	dpkg-deb -x "$deb" "$tmp/x"
	rm -rf "$tdir"
	mkdir -p "$tdir"
	cp "$tmp"/x/usr/share/lava-server/device-types/*.jinja2 "$tdir/"
	echo "$LAVA_VERSION" >"$tdir/.version"
	rm -rf "$tmp"
	trap - EXIT
fi
echo "lava-run $(dpkg-query -W -f='${Version}' lava-dispatcher), lavacli $(dpkg-query -W -f='${Version}' lavacli)," \
	"templates $(ls "$tdir" | wc -l) ($LAVA_VERSION), host kernel $(ls /boot/vmlinuz-* | head -n 1)"
