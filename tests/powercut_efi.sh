# tests/powercut_efi.sh: the power-cut simulator's efi scenarios (docs/
# powercut.md, "Scenarios"), sourced by tests/integration/powercut_test.sh
# after tests/lib.sh, tests/powercut.sh and tests/efiloader.sh; it uses
# that test's WS, UPKIT, CFG conventions, its images ($WS/img) and its
# bundle keys. pc_efi_scenarios runs them.

# The efi backend (docs/efi.md): systemd-boot boots the first live UKI
# of ESP/EFI/Linux; upkit renames them and keeps the trial in
# ESP/EFI/upkit/state.{0,1}. The ESP follows vfat's rules, a cut inside
# each of its renames included (rename-empty, rename-both); the boot is
# tests/efiloader.sh's model of the loader, the one efi_env_test.sh
# uses, with its counting rename after the cut. The efi-uki scenarios
# also update B's UKI (a uki slot, slots/uki.c: the aside file
# .upkit-B.new written and renamed to the parked upkit-B.off, which the
# arm renames live), so that B's old and new UKIs differ.

# device_efi NAME [uki]: A running v1 and good (upkit-1-A.efi), B holding
# v0, good and second (upkit-0-B.efi), as a board image ships; the
# loader booted A. uki: the config also has the uki slots of
# boards/qemu-x86_64-uki, and the bundle ($BUNDLE) carries B's new UKI.
# PC_uki_{old,new}_{A,B}: the UKI each slot legitimately holds with its
# old and its new image.
device_efi()
{
	DEV=$WS/$1 RUN=A TARGET=B PC_ENVKIND=efi PC_NOFILES=1
	PC_uki_old_A=$WS/uki-A PC_uki_new_A=$WS/uki-A PC_uki_old_B=$WS/uki-B
	PC_uki_new_B=$WS/uki-B BUNDLE=$WS/v2raw.upk
	[ "${2:-}" != uki ] || PC_uki_new_B=$WS/uki-B2 BUNDLE=$WS/v2uki.upk
	rm -rf "$DEV" "$WS/$1.efivars"
	ESP=$DEV/esp LNX=$DEV/esp/EFI/Linux VARS=$WS/$1.efivars
	mkdir -p "$DEV/data" "$LNX" "$ESP/EFI/BOOT" "$ESP/loader" "$VARS"
	CFG=$DEV/upkit.conf DATA=$DEV/data CMDLINE=$DEV/cmdline
	for _s in A B; do
		_l=$(echo "$_s" | tr AB ab)
		_v=v1
		[ "$_s" = A ] || _v=v0
		truncate -s $((2 * MIB)) "$DEV/rootfs-$_l.img"
		dd if="$WS/img/$_v/rootfs.img" of="$DEV/rootfs-$_l.img" \
		    conv=notrunc status=none
		eval "PC_old_$_s=\$WS/img/\$_v PC_new_$_s=\$WS/img/v2"
	done
	echo "systemd-boot" >"$ESP/EFI/BOOT/BOOTX64.EFI"
	echo "timeout 0" >"$ESP/loader/loader.conf"
	cp "$WS/uki-A" "$LNX/upkit-1-A.efi"
	cp "$WS/uki-B" "$LNX/upkit-0-B.efi"
	selected upkit-1-a.efi
	echo "console=ttyS0" >"$CMDLINE"
	cat >"$CFG" <<-EOF
	[system]
	compatible = $COMPATIBLE
	bootloader = efi
	data-directory = $DATA
	boot-attempts = 3
	cmdline = $CMDLINE
	journal-interval-mb = 1
	journal-interval-s = 3600

	[keyring]
	path = $WS/keys/root.pem

	[health]
	directory = $WS/health.d

	[efi]
	esp = $ESP
	efivarfs = $VARS

	[slot.rootfs.0]
	device = $DEV/rootfs-a.img
	type = raw
	bootname = A

	[slot.rootfs.1]
	device = $DEV/rootfs-b.img
	type = raw
	bootname = B
	EOF
	[ "${2:-}" != uki ] ||
	    printf '\n[slot.uki.%s]\ndevice = %s\ntype = uki\nbootname = %s\n' \
	    0 "$ESP" A 1 "$ESP" B >>"$CFG"
	BOOT=pc_boot_efi
}

efi_names()
{
	ls "$LNX" | tr '\n' ' ' | sed 's/ $//'
}

# pc_boot_efi: one boot by the loader model. Sets BOOTED, HOW (good: an
# entry without a counter; counted), UKI_IS (" old new " or a part: the
# UKIs of its slot the file booted is, byte for byte) and PC_MISSING (it
# is neither).
pc_boot_efi()
{
	_f=$(loader_pick)
	UKI_IS=" "
	case $_f in
	upkit-*-[AB]*)
		_s=$(efi_slot "$_f")
		for _w in old new; do
			eval "_u=\$PC_uki_${_w}_$_s"
			! cmp -s "$_u" "$LNX/$_f" || UKI_IS="$UKI_IS$_w "
		done ;;
	esac
	BOOTED=$(loader_boot) || die "the loader boots nothing: $(efi_names)"
	case $BOOTED in
	A|B)	;;
	*)	die "the loader boots nothing: $(efi_names)" ;;
	esac
	HOW=good
	case $_f in *+*) HOW=counted ;; esac
	PC_MISSING=0
	[ "$UKI_IS" != " " ] || PC_MISSING=1
}

# efi_slot NAME: the slot of an entry's name.
efi_slot()
{
	echo "$1" | sed 's/^upkit-[0-9]*-\(.\).*/\1/'
}

# efi_boot_check: the boot of a state: the slot the loader picks holds
# a complete image and the UKI of that image, byte for byte (never a
# half-written one: the old UKI with the old image, the new with the
# new); a live counted entry (an armed slot) holds the new image and
# the new UKI, and the one the loader picks is upkit's trial.
efi_boot_check()
{
	for _e in $(ls "$LNX"); do
		case $_e in
		upkit-*+*.efi)	[ -s "$LNX/$_e" ] || continue ;;
		*)		continue ;;
		esac
		_s=$(efi_slot "$_e")
		[ "$(pc_slot_is "$_s")" = new ] ||
		    die "ARMED BUT CORRUPT: $_e, slot $_s is" \
		    "$(pc_slot_is "$_s")"
		eval "_u=\$PC_uki_new_$_s"
		cmp -s "$_u" "$LNX/$_e" ||
		    die "ARMED BUT CORRUPT: $_e is not slot $_s's new UKI"
	done
	_f=$(loader_pick)
	case $_f in
	*+*)	_s=$(efi_slot "$_f")
		[ "$(store_trial)" = "$_s" ] ||
		    die "the loader picks $_f, but upkit's trial is" \
		    "'$(store_trial)' ($(efi_names))" ;;
	esac
	$BOOT
	CONTENT=$(pc_slot_is "$BOOTED")
	[ "$CONTENT" != corrupt ] && [ "$PC_MISSING" = 0 ] ||
	    die "UNBOOTABLE: the loader picks $BOOTED ($HOW), which" \
	    "holds no complete image or UKI ($(efi_names))"
	case $UKI_IS in
	*" $CONTENT "*)	;;
	*)	die "UNBOOTABLE: the loader picks $BOOTED ($HOW): its" \
		    "image is $CONTENT, its UKI the$UKI_IS one ($(efi_names))" ;;
	esac
}

# efi_health RC: upkit health (then status) on the booted slot, as at
# every boot. A rename cut after its new name got the clusters leaves
# two names for one slot (rename-both): upkit refuses, naming both and
# asking for fsck.vfat (docs/efi.md); here fsck.vfat finds nothing
# to part (the model's names share one file) and the operator removes
# the name upkit named first, then upkit runs again. Sets PC_FSCK.
efi_health()
{
	run health health -c "$CFG" --no-reboot
	if grep -q "holds two entries of slot" "$WS/health.err"; then
		[ "$RC" -ne 0 ] || die "two entries, and health passed"
		_stale=$(sed -n \
		    's/.*two entries of slot ., \([^ ]*\) and .*/\1/p' \
		    "$WS/health.err")
		[ -n "$_stale" ] && [ -f "$LNX/$_stale" ] ||
		    die "no stale name in: $(cat "$WS/health.err")"
		rm "$LNX/$_stale"
		PC_FSCK=-fsck
		run health health -c "$CFG" --no-reboot
	fi
	expect_rc health "${1:-0}"
	run status status -c "$CFG"
	expect_rc status 0
}

# efi_armed: B holds the bundle's image and UKI, counted and first; the
# trial; no aside file left.
efi_armed()
{
	[ "$(pc_slot_is B)" = new ] || die "$1: slot B is $(pc_slot_is B)"
	[ "$(ls -A "$LNX" | tr '\n' ' ')" = \
	    "upkit-1-A.efi upkit-2-B+3.efi " ] && [ "$(store_trial)" = B ] ||
	    die "$1: B not armed: $(ls -A "$LNX" | tr '\n' ' ')trial" \
	    "'$(store_trial)'"
	cmp -s "$PC_uki_new_B" "$LNX/upkit-2-B+3.efi" ||
	    die "$1: B's armed UKI is not the bundle's"
}

# efi_committed: B is good and first, its new UKI, no trial.
efi_committed()
{
	[ "$(pc_slot_is B)" = new ] || die "$1: slot B is $(pc_slot_is B)"
	[ "$(efi_names)" = "upkit-1-A.efi upkit-2-B.efi" ] &&
	    [ -z "$(store_trial)" ] ||
	    die "$1: B not committed: $(efi_names), trial '$(store_trial)'"
	cmp -s "$PC_uki_new_B" "$LNX/upkit-2-B.efi" ||
	    die "$1: B's committed UKI is not the bundle's"
}

# efi_update: the rerun of the update from A. A cut inside the rename of
# B's aside UKI onto its parked name, after the new name got the
# clusters (rename-both), leaves both names on one file: the uki
# writer refuses, asking for fsck.vfat and naming the aside file to
# remove (docs/efi.md, "The UKI payload"). Here fsck.vfat finds nothing
# to part (the model's names share one file): the operator removes the
# aside name, and the update runs again (-fsck-aside in the outcome).
# Both names there and no refusal fails the cut.
efi_update()
{
	# Both names non-empty: on vfat they may share clusters, and
	# removing either frees the other's; the writer must refuse.
	_two=0
	[ ! -s "$LNX/.upkit-B.new" ] || [ ! -s "$LNX/upkit-B.off" ] || _two=1
	run again update -c "$CFG" --from "$BUNDLE" --no-reboot
	if [ "$_two" = 1 ] && { [ "$RC" -eq 0 ] ||
	    ! grep -q "holds both .*fsck.vfat" "$WS/again.err"; }; then
		die "the update went on over two names of B's UKI" \
		    "(.upkit-B.new, upkit-B.off): exit $RC, $(cat \
		    "$WS/again.err")"
	fi
	if [ "$RC" -ne 0 ] && grep -q "holds both .*fsck.vfat" \
	    "$WS/again.err"; then
		_stale=$(sed -n 's/.*then remove \(\.upkit-[AB]\.new\).*/\1/p' \
		    "$WS/again.err")
		[ -n "$_stale" ] && [ -s "$LNX/$_stale" ] &&
		    cmp -s "$LNX/$_stale" "$LNX/upkit-B.off" ||
		    die "two names refused, not as one file: $(cat \
		    "$WS/again.err") ($(ls -A "$LNX" | tr '\n' ' '))"
		rm "$LNX/$_stale"
		PC_FSCK=$PC_FSCK-fsck-aside
		run again update -c "$CFG" --from "$BUNDLE" --no-reboot
	fi
	expect_rc again 0
}

# After a cut during the update of B from A (mark bad, write, arm).
check_efi_install()
{
	PC_FSCK=
	efi_boot_check
	efi_health 0
	if [ "$BOOTED" = A ]; then
		efi_update
		efi_armed rerun
	else
		efi_committed "health after the install"
	fi
	echo "$BOOTED-$CONTENT-$HOW$PC_FSCK"
}

# After a cut during the commit of B (booted, its first try counted).
check_efi_commit()
{
	PC_FSCK=
	efi_boot_check
	[ "$BOOTED" = B ] || die "commit: the loader boots $BOOTED"
	efi_health 0
	efi_committed "health after the commit"
	echo "$BOOTED-$CONTENT-$HOW$PC_FSCK"
}

# After a cut during the rollback (a failing check) or the record of a
# fallback: B counted boots again and fails again, or A boots; either
# way the next health leaves A alone in the order, B parked.
check_efi_back()
{
	PC_FSCK=
	efi_boot_check
	if [ "$BOOTED" = B ]; then
		[ "$HOW" = counted ] || die "$1: B boots good"
		efi_health 9
		_first=$BOOTED-$CONTENT-$HOW
		$BOOT
		[ "$BOOTED" = A ] || die "$1: after the rollback $BOOTED boots"
		efi_health 0
		_out=$_first-then-A
	else
		efi_health 0
		_out=$BOOTED-$CONTENT-$HOW
	fi
	[ "$(efi_names)" = "upkit-1-A.efi upkit-B.off" ] ||
	    die "$1: after the rerun EFI/Linux holds $(efi_names)"
	echo "$_out$PC_FSCK"
}
check_efi_rollback() { check_efi_back rollback; }
check_efi_fellback() { check_efi_back fellback; }

# pc_efi_scenarios: efi (the rootfs), efi-uki (the rootfs and B's UKI):
# update from A; then, each after such an update and B's first try,
# health commit, rollback (a failing check) and the record of a
# fallback (B's tries used up, A booted), efi-uki-commit and
# efi-uki-rollback the same with the UKI updated (SOAK=1 only).
pc_efi_scenarios()
{
	mk_uki "$WS/uki-A" 65536 uki-a
	mk_uki "$WS/uki-B" 65536 uki-b
	mk_uki "$WS/uki-B2" 150000 uki-b2
	mk_bundle "$WS/keys" "$WS/v2raw.upk" 2.0.0 --level 1 \
	    --chunk-size "$CHUNK" --image rootfs="$WS/img/v2/rootfs.img"
	mk_bundle "$WS/keys" "$WS/v2uki.upk" 2.0.0 --level 1 \
	    --chunk-size "$CHUNK" --uki "$WS/uki-B2" \
	    --image rootfs="$WS/img/v2/rootfs.img"
	for _sc in efi efi-uki; do
		want "$_sc" || continue
		_uki=
		[ "$_sc" = efi ] || _uki=uki
		device_efi "$_sc" $_uki
		pc_record "$_sc" "$UPKIT" update -c "$CFG" --from "$BUNDLE" \
		    --no-reboot
		expect_rc "$_sc.rec" 0
		pc_sweep "$_sc" check_efi_install "vfat:$DEV/esp"
	done
	for _sc in commit rollback fellback uki-commit uki-rollback; do
		want "efi-$_sc" || continue
		# Health renames entries only, as in efi-commit and
		# efi-rollback; with the UKI updated, the old and new UKIs
		# of B differ. make soak, or named in PC_ONLY.
		case $_sc in
		uki-*)	[ "${SOAK:-0}" = 1 ] || [ -n "${PC_ONLY:-}" ] ||
			    continue ;;
		esac
		pc_efi_health "$_sc"
	done
}

# pc_efi_health WHAT: scenario efi-WHAT (WHAT: [uki-]commit, rollback,
# fellback).
pc_efi_health()
{
	_what=${1#uki-}
	_uki=
	[ "$1" = "$_what" ] || _uki=uki
	device_efi "efi-$1" $_uki
	run "efi-$1.update" update -c "$CFG" --from "$BUNDLE" --no-reboot
	expect_rc "efi-$1.update" 0
	_tries=1
	[ "$_what" != fellback ] || _tries=4
	for _i in $(seq "$_tries"); do
		$BOOT
	done
	_want=B
	[ "$_what" != fellback ] || _want=A
	[ "$BOOTED" = "$_want" ] ||
	    die "efi-$1: booted $BOOTED, not $_want ($(efi_names))"
	_rc=0
	if [ "$_what" = rollback ]; then
		sed -i "s|^directory = .*|directory = $WS/health-fail.d|" "$CFG"
		_rc=9
	fi
	pc_record "efi-$1" "$UPKIT" health -c "$CFG" --no-reboot
	expect_rc "efi-$1.rec" "$_rc"
	pc_sweep "efi-$1" "check_efi_$_what" "vfat:$DEV/esp"
}
