#!/bin/bash
# kconfig.sh PROFILE OUTDIR [SRCDIR]: defconfig + the profile's fragments (merge_config.sh),
# then check that every option a fragment asked for survived Kconfig.
# A fragment whose first lines say '# rig-requires: SYM' is merged only when the
# tree's Kconfig gives CONFIG_SYM=y (e.g. the arch support the series adds);
# '# rig-requires-symbol: SYM' only when the tree declares SYM at all;
# '# rig-requires-depends: SYM WORD' only when SYM's Kconfig entry names WORD
# (e.g. VIRTIO_MEM once the series lets it depend on RISCV).
. "$(dirname "$0")/lib.sh"

profile=$1 out=$2
src=${3:-$BUILD/linux}
line=$(grep "^$profile:" "$TOP/configs/profiles" || true)
[ -n "$line" ] || die "unknown profile '$profile' (known: $(sed -n 's/^\([a-z0-9]*\):.*/\1/p' "$TOP/configs/profiles" | xargs))"
frags=${line#*:}

# kconf DIR TARGET: make TARGET (a config target) in DIR, silently; Kconfig's
# "unmet direct dependencies" (an option selected while what it depends on is
# off) fails the profile, other warnings are shown.
kconf() {
	local err
	err=$(make -C "$src" O="$1" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- -s "$2" 2>&1 >/dev/null) ||
		{ echo "$err" >&2; die "make $2 failed (profile $profile)"; }
	[ -z "$err" ] || echo "$err" >&2
	case $err in *"unmet direct dependencies"*) die "Kconfig: unmet direct dependencies (profile $profile, make $2)" ;; esac
}

mkdir -p "$out"
kconf "$out" defconfig
cp "$out/.config" "$out/.config.defconfig"

# trial_config FRAGMENT...: defconfig with the fragments merged, as Kconfig
# resolves it; prints the path of the .config. A fragment's rig-requires is
# checked against the profile's trial config: the symbol may be selected only
# once a fragment chose something (e.g. ARCH_ENABLE_MEMORY_HOTPLUG needs the
# SPARSEMEM_VMEMMAP that virt.config asks for).
trial_config() {
	local t=$out/.trial
	rm -rf "$t"
	mkdir -p "$t"
	# shellcheck disable=SC2068
	(cd "$t" && "$src/scripts/kconfig/merge_config.sh" -m -O "$t" "$out/.config.defconfig" $@) >/dev/null
	kconf "$t" olddefconfig
	echo "$t/.config"
}
use=""
trial=""
for f in $frags; do
	file=$TOP/configs/$f.config
	[ -f "$file" ] || die "profile $profile: no fragment configs/$f.config"
	req=$(sed -n 's/^# rig-requires: *//p' "$file")
	if [ -n "$req" ] && [ -z "$trial" ]; then
		# shellcheck disable=SC2046
		trial=$(trial_config $(for g in $frags; do echo "$TOP/configs/$g.config"; done))
	fi
	if [ -n "$req" ] && ! grep -q "^CONFIG_$req=y" "$trial"; then
		echo "configs/$f.config: not merged, this tree does not provide CONFIG_$req (series not applied?)"
		continue
	fi
	sym=$(sed -n 's/^# rig-requires-symbol: *//p' "$file")
	if [ -n "$sym" ] && ! grep -rqsx "config $sym" --include='Kconfig*' "$src/arch/riscv" "$src/mm" "$src/drivers/base"; then
		echo "configs/$f.config: not merged, this tree has no Kconfig symbol $sym (series not applied?)"
		continue
	fi
	dep=$(sed -n 's/^# rig-requires-depends: *//p' "$file")
	if [ -n "$dep" ]; then
		set -- $dep
		kc=$(grep -rlx --include='Kconfig*' "config $1" "$src/drivers" "$src/arch/riscv" "$src/mm" | head -1)
		if [ -z "$kc" ] || ! awk -v s="config $1" -v w="$2" '
			$0 == s { on = 1; next }
			on && /^(config|menuconfig|menu|endmenu|if|endif|choice|source) / { exit }
			on && $0 ~ "depends on.*[^A-Z0-9_]" w "([^A-Z0-9_]|$)" { found = 1 }
			END { exit !found }' "$kc"; then
			echo "configs/$f.config: not merged, $1 does not depend on $2 in this tree (series not applied?)"
			continue
		fi
	fi
	use="$use $file"
done
# shellcheck disable=SC2086
(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" $use) >/dev/null
kconf "$out" olddefconfig
rm -rf "$out/.trial" "$out/.config.defconfig"

# Every option requested must be in the final .config as requested.
bad=0
for file in $use; do
	while IFS= read -r l; do
		case $l in
		CONFIG_*=*)
			sym=${l%%=*}
			want=${l#*=}
			got=$(sed -n "s/^$sym=//p" "$out/.config")
			if [ "$got" != "$want" ] && ! { [ "$want" = m ] && [ "$got" = y ]; }; then
				echo "dropped: $sym=$want (final: ${got:-not set}) from configs/$(basename "$file")"
				bad=1
			fi
			;;
		"# CONFIG_"*" is not set")
			sym=${l#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$out/.config"; then
				echo "dropped: '# $sym is not set' (final: $(grep "^$sym=" "$out/.config")) from configs/$(basename "$file")"
				bad=1
			fi
			;;
		esac
	done <"$file"
done
[ "$bad" = 0 ] || die "Kconfig did not honour the options above (profile $profile)"
echo "profile $profile: all requested options present ($(echo $use | wc -w) fragments)"
