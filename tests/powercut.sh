# tests/powercut.sh: the power-cut simulator's evaluation half, sourced by
# tests/integration/powercut_test.sh after tests/lib.sh. See
# docs/powercut.md for what it models.
#
# A scenario is a device folder ($DEV, every file upkit writes lives in
# it), one upkit command run under tests/shim/powerlog.so (pc_record),
# and a check run on each distinct state a power cut during that command
# can leave (pc_sweep). The check boots the state the way the board's own
# boot script does (pc_boot_uboot runs boards/qemu-aarch64/boot.cmd,
# pc_boot_grub boards/qemu-x86_64-efi/grub.cfg, both under bash with the
# bootloader's commands as functions over the real fw_printenv,
# fw_setenv and grub-editenv), then runs upkit again on it.

PC_TOOL=${TOOL_DIR:-$TOP/build/tests}/powercut
PC_SHIM=${SHIM_DIR:-$TOP/build/tests}/powerlog.so
PC_BOARDS=$TOP/boards
# Outcome counts of every sweep of this run, one "NAME OUTCOME" a line.
PC_TALLY=
# The plan lines a short sweep always cuts: a write to the boot env or
# the efi backend's store, a rename or removal in the UKI folder, and
# each write of a UKI slot's aside file with every pending change landed
# (a half-written UKI beside the parked one: docs/powercut.md).
PC_STORES='^W .*/(uboot\.env|grubenv)(\.redund)?$'
PC_STORES=$PC_STORES'|^W .*/EFI/upkit/|^[NU] .*/EFI/Linux/'
PC_STORES=$PC_STORES'|^W all .*/EFI/Linux/\.upkit-[A-Z]\.new$'

pc_need()
{
	[ -x "$PC_TOOL" ] || die "$PC_TOOL not built (make check builds it)"
	[ -f "$PC_SHIM" ] || die "$PC_SHIM not built (make check builds it)"
	need bash fw_printenv fw_setenv grub-editenv
	PC_TALLY=$WS/pc.tally
	: >"$PC_TALLY"
	: >"$WS/pc.times"
	: >"$WS/pc.distinct"
	: >"$WS/pc.savecuts"
}

# pc_record NAME CMD...: snapshots $DEV (and the block devices in
# $PC_DEVICES) into $WS/NAME.snap, then runs CMD with the log shim
# watching them; the log is $WS/NAME.log, CMD's output $WS/NAME.rec.out
# and .err, its exit code $RC.
pc_record()
{
	_n=$1
	shift
	rm -rf "$WS/$_n.snap" "$WS/$_n.log"
	# shellcheck disable=SC2086
	"$PC_TOOL" snap "$DEV" "$WS/$_n.snap" ${PC_DEVICES:-} ||
	    die "$_n: snapshot"
	_watch=$DEV
	for _d in ${PC_DEVICES:-}; do
		_watch=$_watch:$_d
	done
	_asan=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0
	set +e
	# MALLOC_PERTURB_: glibc's malloc() returns bytes that are not
	# zero, as a long-running process's heap may, so that a store that
	# writes memory it never set (libubootenv's single copy did: docs/
	# powercut.md) shows on every run, not only under ASan.
	env ASAN_OPTIONS="$_asan" MALLOC_PERTURB_="${PC_PERTURB:-170}" \
	    LD_PRELOAD="$PC_SHIM" \
	    POWERLOG_OUT="$WS/$_n.log" POWERLOG_WATCH="$_watch" "$@" \
	    >"$WS/$_n.rec.out" 2>"$WS/$_n.rec.err"
	RC=$?
	set -e
	[ -s "$WS/$_n.log" ] || die "$_n: the shim logged nothing"
	pc_complete "$_n"
}

# pc_complete NAME: the log holds every change: replayed in full over
# the snapshot, it gives exactly the folder the command left (every
# byte of every slot, the env, state.json, the names).
pc_complete()
{
	_last=$("$PC_TOOL" dump "$WS/$1.log" | tail -n 1 | cut -d' ' -f1)
	rm -rf "$WS/$1.replay"
	# A device is replayed where it is: what the run left, hashed
	# before, must be what the replay leaves.
	_sums=
	for _d in ${PC_DEVICES:-}; do
		_sums="$_sums $(sha256sum <"$_d")"
	done
	"$PC_TOOL" apply "$WS/$1.snap" "$WS/$1.log" "$_last" 0 \
	    "$WS/$1.replay" >/dev/null || die "$1: replay of the whole log"
	diff -r "$DEV" "$WS/$1.replay" >&2 ||
	    die "$1: the log is incomplete: its replay differs from $DEV"
	_after=
	for _d in ${PC_DEVICES:-}; do
		_after="$_after $(sha256sum <"$_d")"
	done
	[ "$_sums" = "$_after" ] ||
	    die "$1: the log is incomplete: its replay changed $PC_DEVICES"
	rm -rf "$WS/$1.replay"
}

# pc_boot_uboot: the U-Boot board's boot.cmd on the device as it is now.
# Sets BOOTED (A or B), HOW (counted or fallback), and saves the counter
# through fw_setenv as the script's env export + fatwrite would.
pc_boot_uboot()
{
	_out=$(PC_ENVCFG=$ENVCFG PC_ENV=$ENV PC_BOOTDIR=$DEV/boot \
	    PC_SAVE=$WS/pc.save bash -c '
	setenv() { if [ $# -le 1 ]; then unset "$1"; else
		local n=$1; shift; printf -v "$n" "%s" "$*"; fi; }
	# load INTERFACE DEV:PART ADDR FILE: FILE of the boot partition.
	load() {
		local f="${!#}"
		case $f in
		uboot.env) [ -f "$PC_ENV" ] ;;
		*) [ -f "$PC_BOOTDIR/$f" ] ||
		    { echo "upkit-sim: missing $f"; return 1; } ;;
		esac
	}
	# env import -c ADDR SIZE NAMES: fails on a bad CRC (fw_printenv
	# applies the same check and, for two copies, the same choice);
	# a listed name missing from the env is deleted.
	env() {
		local all n
		case $1 in
		import)
			shift; [ "$1" = -c ] && shift; shift 2
			all=$(fw_printenv -c "$PC_ENVCFG" 2>/dev/null) ||
			    { echo "upkit-sim: env import failed"; return 1; }
			for n in "$@"; do
				if printf "%s\n" "$all" | grep -q "^$n="; then
					printf -v "$n" "%s" "$(printf "%s\n" \
					    "$all" | sed -n "s/^$n=//p")"
				else
					unset "$n"
				fi
			done ;;
		export)
			shift
			while [ "${1#-}" != "$1" ]; do
				[ "$1" = -s ] && shift; shift
			done
			shift; PC_EXPORTED="$*" ;;
		esac
	}
	# env export -c -s SIZE writes the listed names that are set,
	# sorted, then zeros to SIZE, with a CRC: exactly what mkenvimage
	# -p 0 makes, which fatwrite puts in the file. With two copies
	# (no board script writes those) libubootenv stores them instead.
	fatwrite() {
		local n
		if [ "$(grep -c . "$PC_ENVCFG")" = 1 ]; then
			for n in $PC_EXPORTED; do
				if [ -n "${!n+x}" ] && [ -n "${!n}" ]; then
					echo "$n=${!n}"
				fi
			done | LC_ALL=C sort >"$PC_SAVE"
			mkenvimage -s 0x4000 -p 0 -o "$PC_ENV" "$PC_SAVE"
			return
		fi
		for n in $PC_EXPORTED; do
			if [ -n "${!n+x}" ] && [ -n "${!n}" ]; then
				echo "$n ${!n}"
			else
				echo "$n"
			fi
		done >"$PC_SAVE"
		fw_setenv -c "$PC_ENVCFG" -s "$PC_SAVE" >/dev/null 2>&1
	}
	mw.b() { :; }
	devtype=virtio devnum=0 distro_bootpart=1
	kernel_addr_r=0x40400000 ramdisk_addr_r=0x44000000
	booti() { echo "upkit-sim: booti $upkit_slot"; exit 0; }
	reset() { echo "upkit-sim: reset"; exit 0; }
	. "$1"
	' sh "$PC_BOARDS/qemu-aarch64/boot.cmd" 2>&1) ||
	    die "boot.cmd under bash failed: $_out"
	pc_booted "$_out"
}

# pc_boot_grub: the GRUB board's grub.cfg on the device as it is now.
# GRUB's "set X=V" becomes an assignment, load_env and save_env run
# grub-editenv (which parses the block with GRUB's own envblk code).
pc_boot_grub()
{
	sed -e 's/\(^\|[[:space:];]\)set \([A-Za-z_][A-Za-z_0-9]*=\)/\1\2/g' \
	    -e 's|"/\$upkit_slot/|"$PC_ESP/$upkit_slot/|g' \
	    "$PC_BOARDS/qemu-x86_64-efi/grub.cfg" >"$WS/pc.grub.sh"
	_out=$(PC_GRUBENV=$GRUBENV PC_ESP=$DEV/boot prefix=/EFI/BOOT bash -c '
	load_env() {
		local all n
		shift 2
		all=$(grub-editenv "$PC_GRUBENV" list 2>/dev/null) ||
		    { echo "upkit-sim: invalid environment block"; return 1; }
		for n in "$@"; do
			if printf "%s\n" "$all" | grep -q "^$n="; then
				printf -v "$n" "%s" "$(printf "%s\n" "$all" |
				    sed -n "s/^$n=//p")"
			fi
		done
	}
	save_env() {
		shift 2
		grub-editenv "$PC_GRUBENV" set "$1=${!1}" >/dev/null 2>&1
	}
	linux() { [ -f "$1" ] || echo "upkit-sim: missing $1"; }
	initrd() { :; }
	boot() { echo "upkit-sim: booti $upkit_slot"; exit 0; }
	reboot() { echo "upkit-sim: reset"; exit 0; }
	. "$1"
	' sh "$WS/pc.grub.sh" 2>&1) || die "grub.cfg under bash failed: $_out"
	pc_booted "$_out"
}

# pc_envfiles: the bootloader's env files of the device ($ENV and its
# redundant copy, or $GRUBENV).
pc_envfiles()
{
	case ${PC_ENVKIND:-} in
	uboot-*)	echo "$ENV"
			[ ! -f "$ENV.redund" ] || echo "$ENV.redund" ;;
	grub)		echo "$GRUBENV" ;;
	esac
}

# pc_boot_cut: $BOOT, and a power cut inside the bootloader's own save
# of its counter (docs/powercut.md, "The bootloader's save"). The save
# is one write of each env file it changed; for each, what reached the
# medium is tried as: every proper subset of its changed 512-byte
# sectors when they are at most 3, else the in-order ones (none, the
# first, the first two...) and each sector alone (SOAK=1); in a short
# sweep only the first sector alone (none, the save lost, boots as the
# first boot did), the other files as saved; a sector that reached the
# medium is taken whole. The board then boots again
# from that env, and the slot it picks must hold a complete image.
# Then the save is put back whole, and BOOTED, HOW and PC_MISSING are
# the first boot's. Appends the cuts it tried to $WS/pc.savecuts.
pc_boot_cut()
{
	_files=$(pc_envfiles)
	_j=0
	for _f in $_files; do
		_j=$((_j + 1))
		cp "$_f" "$WS/pc.pre.$_j" 2>/dev/null || : >"$WS/pc.pre.$_j"
	done
	$BOOT
	_b1=$BOOTED _h1=$HOW _m1=$PC_MISSING
	_j=0
	for _f in $_files; do
		_j=$((_j + 1))
		cp "$_f" "$WS/pc.post.$_j"
	done
	_j=0
	for _f in $_files; do
		_j=$((_j + 1))
		[ "$(filesize "$WS/pc.pre.$_j")" = "$(filesize "$_f")" ] ||
		    continue
		# The sectors the save changed, at most 8 (2^8 subsets).
		_secs=$(cmp -l "$WS/pc.pre.$_j" "$WS/pc.post.$_j" |
		    awk '{ print int(($1 - 1) / 512) }' | uniq | head -n 8)
		_n=$(printf '%s\n' $_secs | grep -c . || true)
		[ "$_n" -gt 0 ] || continue
		_m=0
		while [ "$_m" -lt $(((1 << _n) - 1)) ]; do
			# Every subset of up to 3 sectors (SOAK=1); past
			# that, the save written in order, cut after each
			# sector (masks 0, 1, 3, ...), and each sector
			# alone. A short sweep: the first sector alone (the
			# CRC, and with two copies the flag); the save lost
			# boots as the first boot did.
			if [ $((_m & (_m + 1))) -ne 0 ] &&
			    { [ "${SOAK:-0}" != 1 ] || { [ "$_n" -gt 3 ] &&
			    [ $((_m & (_m - 1))) -ne 0 ]; }; }; then
				_m=$((_m + 1))
				continue
			fi
			if [ "${SOAK:-0}" != 1 ] && [ "$_m" != 1 ]; then
				_m=$((_m + 1))
				continue
			fi
			cp "$WS/pc.pre.$_j" "$_f"
			_i=0
			for _sec in $_secs; do
				if [ $(((_m >> _i) & 1)) = 1 ]; then
					dd if="$WS/pc.post.$_j" of="$_f" \
					    bs=512 skip="$_sec" seek="$_sec" \
					    count=1 conv=notrunc status=none
				fi
				_i=$((_i + 1))
			done
			$BOOT
			_c=$(pc_slot_is "$BOOTED")
			[ "$_c" != corrupt ] && [ "$PC_MISSING" = 0 ] ||
			    die "UNBOOTABLE after a cut inside the boot's" \
			    "save of $(basename "$_f") (sectors $_secs," \
			    "landed mask $_m): the next boot picks" \
			    "$BOOTED ($HOW), which holds no complete image"
			echo "$(basename "$_f") $_n $_m $BOOTED-$_c-$HOW" \
			    >>"$WS/pc.savecuts"
			# Back to the save whole, for the next subset.
			_k=0
			for _g in $_files; do
				_k=$((_k + 1))
				cp "$WS/pc.post.$_k" "$_g"
			done
			_m=$((_m + 1))
		done
	done
	BOOTED=$_b1 HOW=$_h1 PC_MISSING=$_m1
}

pc_booted()
{
	case $1 in
	*"no slot has attempts left"*)	HOW=fallback ;;
	*)				HOW=counted ;;
	esac
	BOOTED=$(printf '%s\n' "$1" | sed -n 's/^upkit-sim: booti //p')
	[ -n "$BOOTED" ] || die "the boot script booted nothing: $1"
	case $1 in
	*"upkit-sim: missing"*)	PC_MISSING=1 ;;
	*)			PC_MISSING=0 ;;
	esac
}

# pc_slot_is SLOT: which complete image slot SLOT holds, "old" (what it
# held before the scenario), "new" (the bundle's) or "corrupt". The raw
# slot holds the image at its start; the boot folder the bundle's files
# exactly.
pc_slot_is()
{
	eval "_raw=\${PC_RAW_$1:-}"
	[ -n "$_raw" ] || _raw=$DEV/rootfs-$(echo "$1" | tr AB ab).img
	_dir=$DEV/boot/$1
	for _what in new old; do
		eval "_img=\$PC_${_what}_$1"
		cmp -s -n "$(filesize "$_img/rootfs.img")" "$_img/rootfs.img" \
		    "$_raw" || continue
		[ -n "${PC_NOFILES:-}" ] ||
		    diff -r "$_img/boot" "$_dir" >/dev/null 2>&1 || continue
		echo "$_what"
		return 0
	done
	echo corrupt
}

# pc_tally NAME OUTCOME
pc_tally()
{
	echo "$1 $2" >>"$PC_TALLY"
}

# pc_keys NAME: $WS/NAME.keys, one line per line of $WS/NAME.plan: "HASH
# KEY", KEY naming the cut by what it is rather than by its place in the
# log, which the install threads' order changes from run to run: record
# K's kind, offsets and path (below $WS), its ordinal among the records
# so described, and the variant (docs/powercut.md, "The short sweep").
pc_keys()
{
	"$PC_TOOL" dump "$WS/$1.log" >"$WS/$1.dump"
	awk -v ws="$WS" -v devs="${PC_DEVICES:-}" '
	BEGIN {
		for (i = 1; i < 256; i++)
			ord[sprintf("%c", i)] = i
		ndev = split(devs, dev, " ")
	}
	function swap(s, from, to,   i) {
		while ((i = index(s, from)) > 0)
			s = substr(s, 1, i - 1) to substr(s, i + length(from))
		return s
	}
	# Paths below $WS; a block device by its place in $PC_DEVICES.
	function rel(s,   i) {
		for (i = 1; i <= ndev; i++)
			s = swap(s, dev[i], "device" i)
		return swap(s, ws, "")
	}
	function hash(s,   i, x) {
		x = 5381
		for (i = 1; i <= length(s); i++)
			x = (x * 33 + ord[substr(s, i, 1)]) % 4294967291
		return x
	}
	FNR == NR {
		k = $1
		sub(/^[0-9]+ /, "")
		sub(/ covers [0-9]+/, "")
		d = rel($0)
		desc[k] = d " #" (++seen[d])
		next
	}
	{
		v = $0
		sub(/^[0-9]+ [0-9]+ . /, "", v)
		sub(/ \([0-9]+ pending\).*/, "", v)
		# A tear by its kind: the write torn is the newest pending
		# one, whose length the threads order changes.
		if (split(v, t, "[ /]") == 3 && t[1] ~ /^tear-/) {
			if (t[1] == "tear-tail")
				v = t[1] " last"
			else if (t[2] == 1)
				v = t[1] " first"
			else if (t[2] == t[3] - 1)
				v = t[1] " all-but-last"
			else
				v = t[1] " half"
		}
		key = ($1 == 0 ? "start" : desc[$1]) " " v
		printf "%.0f %s\n", hash(key), key
	}' "$WS/$1.dump" "$WS/$1.plan" >"$WS/$1.keys"
}

# pc_sweep NAME CHECK [MODEL]: every distinct cut of the log of NAME,
# each applied to $DEV and checked by the function CHECK, which prints
# the outcome on its last line or dies. A failure names the cut. A short
# sweep (no SOAK=1) takes the $PC_SHORT cuts whose keys hash lowest (the
# same cuts on every run), the last one, every cut right after a write
# to the boot env (the stores a tear can mix), and the cuts $PC_MUST
# names for NAME (regression cases, "NAME KEY" a line). $PC_KEY, if
# set, is the one cut to take (a key as a failure names it).
pc_sweep()
{
	_n=$1 _check=$2 _model=${3:-ext4}
	"$PC_TOOL" plan -m "$_model" "$WS/$_n.snap" "$WS/$_n.log" \
	    >"$WS/$_n.plan" 2>"$WS/$_n.plan.err" || die "$_n: plan failed"
	pc_keys "$_n"
	sort -n -k1,1 -s "$WS/$_n.keys" | head -n "$PC_SHORT" |
	    cut -d' ' -f2- >"$WS/$_n.picks"
	printf '%s\n' "${PC_MUST:-}" | sed -n "s/^$_n //p" >"$WS/$_n.must"
	cut -d' ' -f2- "$WS/$_n.keys" >"$WS/$_n.allkeys"
	while read -r _m; do
		grep -qxF "$_m" "$WS/$_n.allkeys" ||
		    die "$_n: no cut \"$_m\" in the plan (PC_MUST)"
	done <"$WS/$_n.must"
	cat "$WS/$_n.must" >>"$WS/$_n.picks"
	# "1 KEY" for a cut to take, "0 KEY" for one to leave, a tab, the
	# plan's line.
	PC_KEY=${PC_KEY:-} PC_STORES=$PC_STORES awk -v soak="${SOAK:-0}" \
	    -v total="$(wc -l <"$WS/$_n.plan")" '
	FILENAME == ARGV[1] { pick[$0] = 1; next }
	FILENAME == ARGV[2] { sub(/^[0-9]+ /, ""); key[FNR] = $0; next }
	{
		k = key[FNR]
		rest = $0
		sub(/^[0-9]+ [0-9]+ /, "", rest)
		if (ENVIRON["PC_KEY"] != "")
			take = k == ENVIRON["PC_KEY"]
		else
			take = soak == 1 || FNR == total || (k in pick) ||
			    rest ~ ENVIRON["PC_STORES"]
		print (take ? 1 : 0) " " k "\t" $0
	}' "$WS/$_n.picks" "$WS/$_n.keys" "$WS/$_n.plan" >"$WS/$_n.todo"
	_tab=$(printf '\t')
	_done=0
	: >"$WS/$_n.seen"
	_t0=$(date +%s%N)
	while IFS=$_tab read -r _key _line; do
		[ "${_key%% *}" = 1 ] || continue
		_r=${_line#* }
		pc_cut "$_n" "${_line%% *}" "${_r%% *}" "$_model" "$_check" \
		    "${_r#* }" "${_key#* }"
		_done=$((_done + 1))
	done <"$WS/$_n.todo"
	_t1=$(date +%s%N)
	echo "$_n: $(sed 's/^powercut: //' "$WS/$_n.plan.err");" \
	    "checked $_done in $(((_t1 - _t0) / 1000000)) ms" >&2
	echo "$_done $(((_t1 - _t0) / 1000000))" >>"$WS/pc.times"
	sed -n 's/.* \([0-9]*\) distinct$/\1/p' "$WS/$_n.plan.err" \
	    >>"$WS/pc.distinct"
}

# pc_cut NAME K V MODEL CHECK WHAT KEY: one cut, applied and checked.
pc_cut()
{
	_h=$("$PC_TOOL" apply -m "$4" "$WS/$1.snap" "$WS/$1.log" "$2" "$3" \
	    "$DEV") || die "$1: apply $2 $3"
	_h=${_h%% *}
	if grep -qx "$_h" "$WS/$1.seen"; then
		pc_tally "$1" same-state
		return 0
	fi
	echo "$_h" >>"$WS/$1.seen"
	PC_CUT="$1 cut $2 $3 [$7] ($6)" PC_NAME=$1 PC_MODEL=$4
	_o=$("$5") || die "$PC_CUT: $_o"
	pc_tally "$1" "$(printf '%s\n' "$_o" | tail -n 1)"
}

# pc_report: the outcome distribution of every sweep, and the totals. A
# failed check ends the test before this, so the totals have none.
pc_report()
{
	echo "outcomes (scenario outcome count):" >&2
	sort "$PC_TALLY" | uniq -c | awk '{ print "  " $2, $3, $1 }' >&2
	echo "outcomes over all scenarios:" >&2
	awk '{ print $2 }' "$PC_TALLY" | sort | uniq -c |
	    awk '{ print "  " $2, $1 }' >&2
	_plans=$(awk '{ s += $1 } END { print s + 0 }' "$WS/pc.distinct")
	_checked=$(grep -vc ' same-state$' "$PC_TALLY" || true)
	awk -v p="$_plans" -v c="$_checked" '{ n += $1; ms += $2 } END {
	    printf "cut points: %d distinct in the plans, %d cut, %d " \
	    "distinct states checked: 0 unbootable, 0 armed but " \
	    "corrupt; %.0f ms a cut\n", p, n, c, n ? ms / n : 0 }' \
	    "$WS/pc.times" >&2
	echo "cuts inside the boot's own env save:" \
	    "$(wc -l <"$WS/pc.savecuts")," \
	    "next boot:" $(awk '{ print $4 }' "$WS/pc.savecuts" | sort |
	    uniq -c | awk '{ printf "%s %s,", $2, $1 }') >&2
}
