#!/bin/sh
# mkuki.sh PREFIX OUT.efi: turns LinuxKit outputs PREFIX-kernel,
# PREFIX-initrd.img and PREFIX-cmdline into one unified kernel image
# (UKI) for systemd-boot, as LinuxKit's raw-efi does: the command line
# gets " text" and the os-release is NAME="LinuxKit" (no ID, no
# version: systemd-boot then orders upkit's UKIs by file name,
# docs/efi.md). With ukify (Debian 13's systemd-ukify) it runs ukify;
# else (Debian 12) it adds the same sections to systemd's stub with
# objcopy, each at a VMA after the stub's own sections and the one
# before it, as ukify does. STUB overrides the stub's path.
set -eu
prefix=${1:?usage: mkuki.sh PREFIX OUT.efi}
out=${2:?usage: mkuki.sh PREFIX OUT.efi}
stub=${STUB:-/usr/lib/systemd/boot/efi/linuxx64.efi.stub}
for f in "$prefix-kernel" "$prefix-initrd.img" "$prefix-cmdline"; do
	[ -f "$f" ] || { echo "mkuki.sh: $f missing" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s text' "$(tr '\n\r\t' '   ' <"$prefix-cmdline" |
    sed 's/  */ /g; s/^ //; s/ $//')" >"$tmp/cmdline"
printf 'NAME="LinuxKit"\n' >"$tmp/osrel"
if command -v ukify >/dev/null 2>&1; then
	exec ukify build --linux "$prefix-kernel" \
	    --initrd "$prefix-initrd.img" --cmdline "@$tmp/cmdline" \
	    --os-release "@$tmp/osrel" --stub "$stub" --output "$out"
fi
[ -f "$stub" ] || { echo "mkuki.sh: $stub missing" >&2; exit 1; }
# The end of the stub's last section (objdump -h: size, then VMA).
end=$(objdump -h "$stub" | awk '$1 ~ /^[0-9]+$/ { print $3, $4 }' |
    while read -r size vma; do echo $((0x$vma + 0x$size)); done |
    sort -n | tail -n 1)
[ -n "$end" ] || { echo "mkuki.sh: no sections in $stub" >&2; exit 1; }
set --
for s in osrel:"$tmp/osrel" cmdline:"$tmp/cmdline" \
    linux:"$prefix-kernel" initrd:"$prefix-initrd.img"; do
	name=${s%%:*} file=${s#*:}
	# Page aligned, as the PE loader maps sections.
	vma=$(((end + 4095) / 4096 * 4096))
	set -- "$@" --add-section ".$name=$file" \
	    --change-section-vma ".$name=$(printf '0x%x' "$vma")"
	end=$((vma + $(wc -c <"$file")))
done
objcopy "$@" "$stub" "$out"
