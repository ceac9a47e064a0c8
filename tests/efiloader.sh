# tests/efiloader.sh: systemd-boot and upkit's store on the ESP, as
# docs/efi.md states them, for the tests that boot an efi device:
# efi_env_test.sh, uki_payload_test.sh and the power-cut simulator
# (tests/powercut_efi.sh).
# Needs LNX (ESP/EFI/Linux), VARS (the efivarfs folder), ESP and die;
# powercut also SHIM (badwrite.so), UPKIT and WS.

GUID=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f

# mk_uki OUT SIZE SEED: what systemd-boot takes for a UKI: PE headers
# with a .text and an .osrel section naming an OS (NAME="LinuxKit", as
# LinuxKit's ukify call writes), then SIZE bytes of SEED (gen_bytes of
# tests/lib.sh).
mk_uki()
{
	{
		printf 'MZ'; head -c 58 /dev/zero
		printf '\100\000\000\000PE\000\000\144\206\002\000'
		head -c 16 /dev/zero
		printf '.text\000\000\000'; head -c 32 /dev/zero
		printf '.osrel\000\000\020\000\000\000\000\000\000\000'
		printf '\000\002\000\000\000\002\000\000'; head -c 360 /dev/zero
		printf 'NAME="LinuxKit"\n'; head -c 496 /dev/zero
	} >"$1"
	gen_bytes "$2" "$3" >>"$1"
}

# selected ID: LoaderEntrySelected as systemd-boot writes it: volatile
# (attributes BS|RT), UTF-16LE with its NUL.
selected()
{
	{ printf '\006\000\000\000'; printf '%s\000' "$1" |
	    iconv -f ascii -t utf-16le; } >"$VARS/LoaderEntrySelected-$GUID"
}

# loader_pick: the entry systemd-boot boots: live (*.efi, not empty),
# those with no tries left (+0) last, then the higher rank, then B.
loader_pick()
{
	ls "$LNX" | while read -r f; do
		case $f in upkit-*.efi) ;; *) continue ;; esac
		[ -s "$LNX/$f" ] || continue
		echo "$f"
	done | awk '{
		n = $0; sub(/^upkit-/, "", n); split(n, p, "-")
		left = -1
		if (match($0, /\+[0-9]+/))
			left = substr($0, RSTART + 1, RLENGTH - 1) + 0
		printf "%d %020.0f %d %s\n", (left == 0), 1e15 - p[1],
		    (substr(p[2], 1, 1) != "B"), $0
	}' | sort | head -n 1 | cut -d' ' -f4
}

# loader_boot: one boot by systemd-boot. Prints the slot booted. The id
# it exports keeps the counter, as systemd-boot 252 does, or with
# ID_STYLE=new drops it, as later versions do.
loader_boot()
{
	_f=$(loader_pick)
	[ -n "$_f" ] || die "the loader finds no entry in EFI/Linux"
	_id=$(echo "$_f" | tr 'A-Z' 'a-z')
	[ "${ID_STYLE:-252}" = 252 ] ||
	    _id=$(echo "$_id" | sed 's/+[0-9]*\(-[0-9]*\)\{0,1\}\.efi$/.efi/')
	selected "$_id"
	case $_f in
	*+*)	_n=$(echo "$_f" | awk '{
			match($0, /\+[0-9]+(-[0-9]+)?\.efi$/)
			c = substr($0, RSTART + 1, RLENGTH - 5)
			split(c, p, "-"); l = p[1] + 0; d = p[2] + 0
			printf "%s+%d-%d.efi", substr($0, 1, RSTART - 1),
			    (l > 0 ? l - 1 : 0), d + 1 }')
		mv "$LNX/$_f" "$LNX/$_n"
		sync -f "$LNX" ;;
	esac
	echo "$_f" | sed 's/^upkit-[0-9]*-\(.\).*/\1/'
}

# store_trial: UPKIT_TRIAL in the newer copy of upkit's store on the ESP.
store_trial()
{
	for _c in "$ESP/EFI/upkit/state.0" "$ESP/EFI/upkit/state.1"; do
		[ -f "$_c" ] || continue
		printf '%s %s\n' "$(sed -n 's/^seq=//p' "$_c")" \
		    "$(sed -n 's/^UPKIT_TRIAL=//p' "$_c")"
	done | sort -n | tail -n 1 | cut -s -d' ' -f2
}

# powercut NAME K ARG...: runs upkit ARG... killed right after its K-th
# syncfs under ESP (badwrite.so's KILLSYNC_*: a power cut after a durable
# step); as run, RC is 137 when the cut happened.
powercut()
{
	_n=$1 _k=$2
	shift 2
	set +e
	ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
	LD_PRELOAD=$SHIM KILLSYNC_PATH=$ESP KILLSYNC_AT=$_k "$UPKIT" "$@" \
	    >"$WS/$_n.out" 2>"$WS/$_n.err"
	RC=$?
	set -e
}
