#!/bin/bash
# Install the Debian packages the rig needs (only those missing), add a bookworm
# deb-src entry for the source packages, and check the pinned kernel base.
. "$(dirname "$0")/lib.sh"

# Host tools for the kernel, the cross toolchain, firmware, initramfs and QEMU's
# build dependencies for a riscv64-softmmu-only build.
PKGS="gcc-riscv64-linux-gnu libc6-dev-riscv64-cross binutils-riscv64-linux-gnu
ccache flex bison bc libssl-dev libelf-dev cpio device-tree-compiler kmod rsync
xz-utils zstd opensbi dpkg-dev build-essential git python3 perl
ninja-build meson pkg-config libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev"
# QEMU 10.0's configure builds a Python venv (meson itself comes from trixie's
# package, see base/versions).
if [ "${QEMU:-7.2}" = 10.0 ]; then
	PKGS="$PKGS python3-venv"
fi

[ "$(id -u)" = 0 ] || die "the rig installs Debian packages: run it as root (or install: $PKGS $LINUX_PACKAGE)"
command -v apt-get >/dev/null || die "apt-get not found: the rig needs Debian 12 (bookworm)"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done

# dpkg-query exits 1 for a package that is not installed: that is an answer
# here, not an error.
have_linux=$({ dpkg-query -W -f='${Status} ${Version}' "$LINUX_PACKAGE" 2>/dev/null || true; } |
	sed -n 's/^install ok installed //p')
if [ -z "$have_linux" ]; then
	missing="$missing $LINUX_PACKAGE=$LINUX_VERSION"
fi

# deb-src entry for bookworm, needed by 'apt-get source qemu busybox'.
need_update=0
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
	! grep -qs '^deb-src ' /etc/apt/sources.list; then
	echo "adding a bookworm deb-src entry: /etc/apt/sources.list.d/riscv-mhp-rig-src.sources"
	cat >/etc/apt/sources.list.d/riscv-mhp-rig-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	need_update=1
fi

if [ -n "$missing" ] || [ "$need_update" = 1 ]; then
	echo "apt-get update"
	apt-get update || die "apt-get update failed"
fi
if [ -n "$missing" ]; then
	echo "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
		die "apt-get install failed for:$missing"
else
	echo "all packages present"
fi

have_linux=$(dpkg-query -W -f='${Version}' "$LINUX_PACKAGE")
if [ "$have_linux" != "$LINUX_VERSION" ]; then
	die "$LINUX_PACKAGE: expected version $LINUX_VERSION, found $have_linux installed.
Install the pinned one (apt-get install $LINUX_PACKAGE=$LINUX_VERSION) or, to build on
the installed one on purpose, override the pin:
  make <target> LINUX_VERSION=$have_linux LINUX_SHA256=\$(sha256sum $LINUX_TARBALL | cut -d' ' -f1)"
fi
echo "$LINUX_PACKAGE $have_linux"
