# upkit A/B boot script, qemu-aarch64 (U-Boot qemu_arm64).
# Build: mkimage -A arm64 -T script -C none -d boot.cmd boot.scr
#
# U-Boot's distro boot finds boot.scr on the first partition and sets
# devtype, devnum and distro_bootpart; every file below comes from that
# FAT partition. See README.md for the design; docs/boot-selection.md
# for the variables.

setenv upkit_dev "${devtype} ${devnum}:${distro_bootpart}"
# Scratch buffers between scriptaddr (this script, 0x40200000) and
# kernel_addr_r (0x40400000): never overwrite the running script.
setenv upkit_envaddr 0x40300000
setenv upkit_argaddr 0x40310000

# U-Boot's own env on qemu_arm64 is flash that cannot be saved
# (NOTES-BOOT.md), so the selection lives in uboot.env on the FAT
# partition, the format libubootenv writes. Import only the names upkit
# owns: the file may hold stale runtime values (fdtcontroladdr, bootcmd)
# that must not replace this U-Boot's. Names in the list but missing
# from the file are deleted, so an absent counter reads as 0. The
# UPKIT_* names are upkit's own (docs/boot-selection.md): the script
# never reads them, but must carry them through its export.
setenv BOOT_ORDER
setenv BOOT_A_LEFT
setenv BOOT_B_LEFT
setenv UPKIT_TRIAL
setenv UPKIT_TRIAL_FLOOR
setenv UPKIT_FLOOR
if load ${upkit_dev} ${upkit_envaddr} uboot.env; then
	env import -c ${upkit_envaddr} 0x4000 BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT UPKIT_TRIAL UPKIT_TRIAL_FLOOR UPKIT_FLOOR
fi

# First slot in BOOT_ORDER with attempts left. Neither U-Boot (x86 builds
# lack setexpr) nor GRUB can subtract, so every board script counts down
# with the same table; anything but 1..9 means no attempts left.
setenv upkit_slot
for s in ${BOOT_ORDER}; do
	if test -z "${upkit_slot}"; then
		setenv upkit_left
		if test "${s}" = A; then
			setenv upkit_left "${BOOT_A_LEFT}"
		elif test "${s}" = B; then
			setenv upkit_left "${BOOT_B_LEFT}"
		fi
		# upkit-decrement-table-begin
		if test "${upkit_left}" = 9; then setenv upkit_next 8
		elif test "${upkit_left}" = 8; then setenv upkit_next 7
		elif test "${upkit_left}" = 7; then setenv upkit_next 6
		elif test "${upkit_left}" = 6; then setenv upkit_next 5
		elif test "${upkit_left}" = 5; then setenv upkit_next 4
		elif test "${upkit_left}" = 4; then setenv upkit_next 3
		elif test "${upkit_left}" = 3; then setenv upkit_next 2
		elif test "${upkit_left}" = 2; then setenv upkit_next 1
		elif test "${upkit_left}" = 1; then setenv upkit_next 0
		else setenv upkit_next
		fi
		# upkit-decrement-table-end
		if test -n "${upkit_next}"; then
			if test "${s}" = A; then
				setenv BOOT_A_LEFT ${upkit_next}
				setenv upkit_slot A
			elif test "${s}" = B; then
				setenv BOOT_B_LEFT ${upkit_next}
				setenv upkit_slot B
			fi
		fi
	fi
done

if test -n "${upkit_slot}"; then
	# The counter is on disk before the kernel runs: a kernel that hangs
	# or resets still uses up one attempt. The list is the same as the
	# import's; anything else in the file is dropped here (README.md).
	env export -c -s 0x4000 ${upkit_envaddr} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT UPKIT_TRIAL UPKIT_TRIAL_FLOOR UPKIT_FLOOR
	if fatwrite ${upkit_dev} ${upkit_envaddr} uboot.env 0x4000; then
		echo "upkit: booting slot ${upkit_slot}, ${upkit_next} attempts left"
	else
		# Booting anyway is the lesser evil: the counter did not drop,
		# but refusing to boot would brick the device.
		echo "upkit: cannot save uboot.env; booting slot ${upkit_slot}"
	fi
else
	# No slot has attempts left, BOOT_ORDER is empty or uboot.env is
	# missing or corrupt. Never brick: boot the first slot still in
	# BOOT_ORDER (a slot being written is always out of it), else A, the
	# slot the factory image fills. Nothing is decremented or saved, so
	# the agent finds the env as it left it.
	for s in ${BOOT_ORDER}; do
		if test -z "${upkit_slot}"; then
			if test "${s}" = A || test "${s}" = B; then
				setenv upkit_slot ${s}
			fi
		fi
	done
	if test -z "${upkit_slot}"; then
		setenv upkit_slot A
	fi
	echo "upkit: no slot has attempts left; fallback boot of ${upkit_slot}"
fi

# The slot's own kernel arguments are its raw LinuxKit cmdline file. With
# no string functions in U-Boot, write "upkit_args=" in front of the
# loaded file and import that as one text variable; the zeroed buffer
# ends it. The import takes only that name, whatever the file holds.
setenv upkit_args
mw.b ${upkit_argaddr} 0 0x1000
mw.b 0x40310000 0x75 1
mw.b 0x40310001 0x70 1
mw.b 0x40310002 0x6b 1
mw.b 0x40310003 0x69 1
mw.b 0x40310004 0x74 1
mw.b 0x40310005 0x5f 1
mw.b 0x40310006 0x61 1
mw.b 0x40310007 0x72 1
mw.b 0x40310008 0x67 1
mw.b 0x40310009 0x73 1
mw.b 0x4031000a 0x3d 1
if load ${upkit_dev} 0x4031000b ${upkit_slot}/cmdline; then
	env import -t ${upkit_argaddr} 0x1000 upkit_args
fi
# upkit.slot goes last: the agent reads it to know what booted.
setenv bootargs "${upkit_args} upkit.slot=${upkit_slot}"
echo "upkit: slot ${upkit_slot}: ${bootargs}"

# booti also takes a gzip-compressed Image if these are set.
setenv kernel_comp_addr_r 0x50000000
setenv kernel_comp_size 0x4000000
load ${upkit_dev} ${kernel_addr_r} ${upkit_slot}/kernel
load ${upkit_dev} ${ramdisk_addr_r} ${upkit_slot}/initrd.img
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
# Only reached when the kernel did not start. After a counted attempt
# the reset moves on once the counter runs out; after a fallback boot it
# retries, which is all that is left (a transient read error recovers).
echo "upkit: booti of slot ${upkit_slot} failed"
reset
