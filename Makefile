# riscv64 memory hot(un)plug for Linux 6.1: the series and its test rig.
#   make demo     build everything, boot a guest, show its memory
#   make check    build everything, run the whole suite (KTAP + a counts line)
#   make shell    interactive guest console (Ctrl-A X quits)
#   make export   regenerate patches/linux/ from build/linux's commits
#   make series-check   build + boot + W=1 + checkpatch --strict for every patch, build matrix, apply check
#   make soak     1000 hot-add/remove cycles per paging mode
#   make bench    hot(un)plug latency and memory figures per paging mode; BENCH=base|kmem|breakdown
#   make fresh-check    the README's commands on a fresh minimal Debian 12 root (mmdebstrap, chroot):
#                 make deps tree, then make check on one test; KEEP=1 keeps the root (build/fresh/root)
#   make lava-jobs   LAVA job definitions (qemu device type) for make check's selection, in build/lava/jobs/
#   make lava     run them with LAVA's dispatcher (lava-run); counts from LAVA's results
#   make lava-server   once: a local lava-server + worker, the jobs submitted and read back with lavacli
# Variables: PROFILES="default debug kasan" MATRIX=ci|full PROFILE=default MODES="sv39 sv48 sv57"
#            MODE=sv57 TESTS=a,b JOBS=N GUESTS=2 V=1 MEM=2G APPEND="..." NODE=1G KEEP=1
#            QEMU=10.0 (Debian 13's QEMU with patches/qemu-10.0/ instead of 7.2)
SHELL := /bin/bash
export PROFILES PROFILE MODES MATRIX MODE TESTS JOBS GUESTS V MEM APPEND FORCE CYCLES NODE KEEP MATRIX_CONFIGS SERIES_BOOT SERIES_PARTS SERIES_FROM BENCH BOOTS QEMU LAVA_URL
export LINUX_VERSION LINUX_SHA256

.PHONY: all deps tree qemu busybox build check demo shell soak bench series-check export fresh-check lava-jobs lava lava-server clean distclean

all: check

deps tree qemu busybox build check demo shell soak bench series-check export fresh-check lava-jobs lava lava-server:
	@bash scripts/rig.sh $@

clean:
	rm -rf build/kernel-* build/initramfs-* build/logs build/results.json

distclean:
	rm -rf build
