#!/bin/sh
# mkboot.sh PREFIX OUTDIR: turns LinuxKit outputs PREFIX-kernel,
# PREFIX-cmdline (and PREFIX-initrd.img if present) into the boot slot
# folder this board's grub.cfg reads: kernel, cmdline, initrd.img and
# cmdline.cfg. GRUB cannot read a text file into a variable, so
# cmdline.cfg carries the same arguments as a GRUB script:
#	set upkit_args='console=ttyS0 ...'
# Bundle it with: upkit bundle create ... --files boot=OUTDIR
#	--image rootfs=PREFIX-squashfs.img
# A plain `upkit bundle create ... --linuxkit PREFIX` writes the same
# cmdline.cfg itself; this script is for bundles made with --files.
set -eu
prefix=${1:?usage: mkboot.sh PREFIX OUTDIR}
out=${2:?usage: mkboot.sh PREFIX OUTDIR}
mkdir -p "$out"
cp "$prefix-kernel" "$out/kernel"
cp "$prefix-cmdline" "$out/cmdline"
if [ -f "$prefix-initrd.img" ]; then
	cp "$prefix-initrd.img" "$out/initrd.img"
fi
# One line, as upkit bundle create --linuxkit writes it
# (host/lkoutputs.c): tabs, CR and LF become spaces, white space at the
# ends goes; inside GRUB's single quotes nothing expands, and a quote
# itself is closed, escaped and reopened, as in sh.
args=$(tr '\n\r\t' '   ' <"$prefix-cmdline" | sed "s/^ *//; s/ *\$//; s/'/'\\\\''/g")
printf "set upkit_args='%s'\n" "$args" >"$out/cmdline.cfg"
