#!/bin/sh
# The whole update with bootloader = efi on a real vfat ESP (loop-mounted
# with dirsync) and a fake efivarfs folder: upkit update arms B under a
# counted UKI name, a modelled systemd-boot boots it (picks the first
# entry, renames it to count the try, exports LoaderEntrySelected),
# upkit health commits it; then an update that fails its check rolls
# back, and one that never boots falls back when its tries run out.
# Last, a power cut after every durable step of mark bad, arm, commit
# and rollback: the loader must still pick a whole slot, and the next
# upkit run must finish the job.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
. "$TESTS/efiloader.sh"
need_upkit
need_root
need openssl mkenvimage mkfs.vfat mdir iconv losetup
SHIM=${SHIM_DIR:-$TOP/build/tests}/badwrite.so
[ -f "$SHIM" ] || die "$SHIM not built (make $SHIM)"
ws_init

mk_keys "$WS/keys"
# Part 1 of issue 12 updates the root file system; each slot's UKI is
# already on the ESP (the UKI payload is a later part).
gen_bytes 1048576 rootfs-1 >"$WS/rootfs1.img"
gen_bytes 1048576 rootfs-2 >"$WS/rootfs2.img"
SLOT_CLASSES=rootfs mk_device "$WS/dev" "$WS/keys/root.pem"
ESP=$DEV/esp VARS=$DEV/efivars
mkdir -p "$ESP" "$VARS" "$DEV/health.d"
# A kernel without vfat (some CI and VM kernels have none, and no module
# to load) gets a plain folder: every name and order is checked the
# same, only the FAT itself (fat_names) is not.
LOOP=
if grep -qw vfat /proc/filesystems || modprobe vfat 2>/dev/null; then
	truncate -s 32M "$DEV/esp.img"
	mkfs.vfat -n ESP "$DEV/esp.img" >/dev/null || die "mkfs.vfat"
	LOOP=$(loop_attach "$DEV/esp.img")
	mount -t vfat -o dirsync "$LOOP" "$ESP" || die "mount $LOOP"
	ws_mount "$ESP"
else
	echo "note: this kernel has no vfat: the ESP is a plain folder" >&2
fi
# The device, switched to systemd-boot.
sed -i -e 's/^bootloader = uboot$/bootloader = efi/' \
    -e '/^\[uboot\]$/,/^config = /d' "$CFG"
printf '\n[efi]\nesp = %s\nefivarfs = %s\n' "$ESP" "$VARS" >>"$CFG"
printf '\n[health]\ndirectory = %s/health.d\n' "$DEV" >>"$CFG"
mk_bundle "$WS/keys" "$WS/b1.upk" 1.0.0 --image rootfs="$WS/rootfs1.img"
mk_bundle "$WS/keys" "$WS/b2.upk" 2.0.0 --image rootfs="$WS/rootfs2.img"
LNX=$ESP/EFI/Linux

# A board image: both UKIs good, A preferred; the loader booted A.
factory()
{
	rm -rf "$ESP/EFI" "$ESP/loader" "$DATA"
	mkdir -p "$LNX" "$ESP/EFI/BOOT" "$ESP/loader" "$DATA"
	echo "systemd-boot" >"$ESP/EFI/BOOT/BOOTX64.EFI"
	echo "timeout 0" >"$ESP/loader/loader.conf"
	gen_bytes 65536 uki-a >"$LNX/upkit-1-A.efi"
	gen_bytes 65536 uki-b >"$LNX/upkit-0-B.efi"
	truncate -s "$SLOT_SIZE" "$ROOT_B"
	: >"$ROOT_B"
	truncate -s "$SLOT_SIZE" "$ROOT_B"
	rm -f "$DEV/health.d/"*
	selected upkit-1-a.efi
	sync -f "$LNX"
}

names()
{
	ls "$LNX" | tr '\n' ' ' | sed 's/ $//'
}

# The names as they are on the FAT itself, read by mtools from the loop
# device, not through the kernel's mount.
fat_names()
{
	[ -n "$LOOP" ] || { names; return; }
	mdir -b -i "$LOOP" ::/EFI/Linux 2>/dev/null |
	    sed 's|.*/||' | sort | tr '\n' ' ' | sed 's/ $//'
}

expect_names()
{
	[ "$(names)" = "$1" ] || die "$2: EFI/Linux holds '$(names)', not '$1'"
	[ "$(fat_names)" = "$1" ] ||
	    die "$2: the FAT holds '$(fat_names)', not '$1'"
}

# The rootfs of the slot the loader picks must be whole: A was never
# written; B must hold the image of the bundle that armed it.
whole_pick()
{
	_s=$(loader_pick | sed 's/^upkit-[0-9]*-\(.\).*/\1/')
	case $_s in
	A)	;;
	B)	cmp -s -n "$(filesize "$1")" "$1" "$ROOT_B" ||
		    die "$2: the loader picks B, whose rootfs is not whole" ;;
	*)	die "$2: the loader picks nothing ($(names))" ;;
	esac
}

# A counted entry the loader picks is a trial: upkit must know it, or a
# boot of it would be taken for a good slot and skip its checks.
trial_known()
{
	_f=$(loader_pick)
	case $_f in
	*+*)	_s=$(echo "$_f" | sed 's/^upkit-[0-9]*-\(.\).*/\1/')
		[ "$(store_trial)" = "$_s" ] ||
		    die "$1: the loader picks $_f, but the store's trial is" \
		    "'$(store_trial)'" ;;
	esac
}

# --- An update, its commit, a rollback and a fallback.
factory
run update update -c "$CFG" --from "$WS/b1.upk" --no-reboot
expect_rc update 0
expect_names "upkit-1-A.efi upkit-2-B+3.efi" "armed"
[ "$(loader_boot)" = B ] || die "the loader did not boot the armed B"
expect_names "upkit-1-A.efi upkit-2-B+2-1.efi" "after B's first try"
run status status -c "$CFG"
expect_rc status 0
grep -q '^booted: *B' "$WS/status.out" ||
    die "status does not say B booted: $(cat "$WS/status.out")"
run health health -c "$CFG" --no-reboot
expect_rc health 0
grep -q committed "$WS/health.out" || die "no commit: $(cat "$WS/health.out")"
expect_names "upkit-1-A.efi upkit-2-B.efi" "committed"
[ "$(loader_boot)" = B ] || die "the committed B does not boot"

# An update of A whose check fails: back to B. This systemd-boot
# exports ids without the counter.
ID_STYLE=new
run update2 update -c "$CFG" --from "$WS/b2.upk" --no-reboot
expect_rc update2 0
expect_names "upkit-2-B.efi upkit-3-A+3.efi" "A armed"
[ "$(loader_boot)" = A ] || die "the loader did not boot the armed A"
[ "$(od -An -tx1 "$VARS/LoaderEntrySelected-$GUID" | tr -d ' \n')" = \
    "06000000$(printf 'upkit-3-a.efi\000' | od -An -tx1 | tr -d ' \n' |
    sed 's/\(..\)/\100/g')" ] || die "LoaderEntrySelected not as expected"
printf '#!/bin/sh\necho broken >&2\nexit 1\n' >"$DEV/health.d/10-fail"
chmod +x "$DEV/health.d/10-fail"
run health2 health -c "$CFG" --no-reboot
[ "$RC" -ne 0 ] || die "a failing check passed"
expect_names "upkit-2-B.efi upkit-A.off" "rolled back"
[ "$(loader_boot)" = B ] || die "no boot into B after the rollback"
rm -f "$DEV/health.d/10-fail"
ID_STYLE=252

# An update of A that never reaches upkit health: three tries, then B.
run update3 update -c "$CFG" --from "$WS/b2.upk" --no-reboot
expect_rc update3 0
expect_names "upkit-2-B.efi upkit-3-A+3.efi" "A armed again"
for i in 1 2 3; do
	[ "$(loader_boot)" = A ] || die "try $i did not boot A"
done
expect_names "upkit-2-B.efi upkit-3-A+0-3.efi" "A's tries used up"
[ "$(loader_boot)" = B ] || die "no fallback to B after three tries"
run health3 health -c "$CFG" --no-reboot
expect_rc health3 0
grep -q 'fell back' "$WS/health3.out" ||
    die "fallback not recorded: $(cat "$WS/health3.out")"
expect_names "upkit-2-B.efi upkit-A.off" "fallback recorded"

# No LoaderEntrySelected: upkit will not guess which slot booted.
rm -f "$VARS/LoaderEntrySelected-$GUID"
run novar status -c "$CFG"
expect_rc novar 8
grep -q LoaderEntrySelected "$WS/novar.err" ||
    die "no word of LoaderEntrySelected: $(cat "$WS/novar.err")"

# A files slot that would swap the UKI folder away is refused (exit 3).
mkdir -p "$DEV/bootb"
{ cat "$CFG"; printf '\n[slot.boot.0]\ndevice = %s\ntype = files\nbootname = A\n' \
    "$LNX"; printf '\n[slot.boot.1]\ndevice = %s\ntype = files\nbootname = B\n' \
    "$DEV/bootb"; } >"$CFG.own"
selected upkit-2-b.efi
run own status -c "$CFG.own"
expect_rc own 3
grep -q 'UKI folder of \[efi\] esp' "$WS/own.err" ||
    die "no word of the UKI folder: $(cat "$WS/own.err")"

# --- Power cuts: after each durable step (a syncfs on the ESP;
# powercut in tests/efiloader.sh).

sweeps=0
k=1
while :; do
	# The update of B: mark bad, write, arm.
	factory
	powercut "upd$k" "$k" update -c "$CFG" --from "$WS/b1.upk" --no-reboot
	[ "$RC" -eq 137 ] || { expect_rc "upd$k" 0; break; }
	sweeps=$((sweeps + 1))
	whole_pick "$WS/rootfs1.img" "update cut after step $k"
	trial_known "update cut after step $k"
	run "upd$k.again" update -c "$CFG" --from "$WS/b1.upk" --no-reboot
	expect_rc "upd$k.again" 0
	expect_names "upkit-1-A.efi upkit-2-B+3.efi" "update rerun after cut $k"
	k=$((k + 1))
done
[ "$k" -ge 3 ] || die "the update made only $((k - 1)) steps on the ESP"

# The commit, then the rollback, of B on its first boot.
for what in commit rollback; do
	k=1
	while :; do
		factory
		run "arm.$what.$k" update -c "$CFG" --from "$WS/b1.upk" \
		    --no-reboot
		expect_rc "arm.$what.$k" 0
		[ "$(loader_boot)" = B ] || die "$what $k: B did not boot"
		[ "$what" = commit ] || printf '#!/bin/sh\nexit 1\n' \
		    >"$DEV/health.d/10-fail"
		chmod +x "$DEV/health.d/"* 2>/dev/null || true
		powercut "$what$k" "$k" health -c "$CFG" --no-reboot
		[ "$RC" -eq 137 ] || break
		sweeps=$((sweeps + 1))
		whole_pick "$WS/rootfs1.img" "$what cut after step $k"
		trial_known "$what cut after step $k"
		run "$what$k.again" health -c "$CFG" --no-reboot
		if [ "$what" = commit ]; then
			expect_rc "$what$k.again" 0
			expect_names "upkit-1-A.efi upkit-2-B.efi" \
			    "commit rerun after cut $k"
		else
			expect_names "upkit-1-A.efi upkit-B.off" \
			    "rollback rerun after cut $k"
		fi
		k=$((k + 1))
	done
	[ "$k" -ge 2 ] || die "$what made no step on the ESP"
done
echo "power cuts checked after $sweeps steps"
exit 0
