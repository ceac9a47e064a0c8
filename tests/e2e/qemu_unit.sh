# tests/e2e/qemu_unit.sh: the cross-built unit tests under a QEMU user-mode
# emulator, for arm64_unit_test.sh and armhf_unit_test.sh. Source it after
# tests/lib.sh, and call it after ws_init.
#
# qemu_unit QEMU CPU BIN: runs every BIN/*_test except health_test under
# `QEMU -cpu CPU`, with SHIM_DIR unset: under qemu-user a program that
# posix_spawn starts is a host one and cannot exec (status 127), and
# io_test would re-exec itself under a host shim. Fails on any exit but
# 0 and 77; sets QEMU_UNIT_N to the tests run and QEMU_UNIT_SKIPPED to
# the names of those that skipped.
qemu_unit()
{
	QEMU_UNIT_N=0
	QEMU_UNIT_SKIPPED=
	for _t in "$3"/*_test; do
		case $_t in
		*/health_test) continue ;;
		esac
		_rc=0
		env -u SHIM_DIR "$1" -cpu "$2" "$_t" >"$WS/out" 2>&1 \
		    </dev/null || _rc=$?
		case $_rc in
		0) ;;
		77) QEMU_UNIT_SKIPPED="$QEMU_UNIT_SKIPPED${_t##*/} " ;;
		*) cat "$WS/out" >&2; die "$_t under $1: exit $_rc" ;;
		esac
		QEMU_UNIT_N=$((QEMU_UNIT_N + 1))
	done
	[ "$QEMU_UNIT_N" -ge 10 ] || die "only $QEMU_UNIT_N unit tests ran"
}
