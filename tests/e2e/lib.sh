# tests/e2e/lib.sh: helpers for the QEMU boot tests (tests/e2e/*_test.sh),
# for every board. Source it after setting TESTS to the tests/ folder:
#
#	TESTS=$(cd "$(dirname "$0")/.." && pwd)
#	. "$TESTS/e2e/lib.sh"
#
# It sources tests/lib.sh (die, skip, need, ws_init, mk_keys, ...). What it
# adds, all general (the board is the caller's business):
#
#   e2e_init                 workspace ($WS) with QEMU cleanup, cache folder
#   e2e_deb PKG[:ARCH]       a Debian package extracted in the cache (dir)
#   e2e_kernel ARCH          Debian's kernel: E2E_KVER, E2E_VMLINUZ, E2E_MODDIR
#   e2e_busybox ARCH         a static busybox for ARCH: E2E_BUSYBOX
#   e2e_bb_root ROOT         ROOT/bin with $E2E_BUSYBOX and its applets
#   e2e_modules ROOT NAME... modules with their deps, in load order
#   e2e_libs ROOT BIN LIBDIR...  the shared libs (and ld.so) BIN needs
#   e2e_guest_lib ROOT       /lib/e2e.sh for the guest (modules, partlabel
#                            links, disks by serial, control step)
#   e2e_cpio DIR OUT         a gzip newc initramfs of DIR
#   e2e_ctl IMG < SCRIPT     a control disk holding the next boot's step
#   e2e_rawdisk FILE IMG     FILE on a raw disk (padded to 512 bytes)
#   e2e_accel QEMU ARGS...   "kvm" when a probe boot works, else "tcg"
#   e2e_boot NAME QEMU ARGS...   one boot: serial log $WS/NAME.log, timeout
#                            $E2E_TIMEOUT, optional kill at a log line
#   e2e_booted NAME          the slot the guest said it booted
#   e2e_expect NAME REGEX    the serial log matches, else fail with its tail
#   e2e_fail NAME MSG        fail with the tail of the serial log
#   e2e_time MSG             print MSG with seconds since e2e_init
#
# The guest side (e2e_guest_lib) prints lines starting with "UPKIT-E2E "
# on the serial console; the host asserts on those and on the disk image.
# Nothing here sleeps to wait: waits end on a log line or a process exit.

. "$TESTS/lib.sh"

E2E_CACHE=${E2E_CACHE:-$TOP/build/e2e-cache}
# One boot must end by itself well before this (TCG: 5-15 s).
E2E_TIMEOUT=${E2E_TIMEOUT:-120}
E2E_ACCEL=${E2E_ACCEL:-}

# e2e_init: ws_init plus the cache folder and the clock for e2e_time.
# QEMU processes started by e2e_boot are registered with ws_pid, so the
# EXIT trap kills them on every path.
e2e_init()
{
	ws_init
	mkdir -p "$E2E_CACHE"
	E2E_T0=$(date +%s)
}

e2e_time()
{
	echo "[$(($(date +%s) - E2E_T0)) s] $*"
}

# e2e_deb PKG[:ARCH]: downloads PKG with apt-get download (never
# installs) and extracts it into the cache, once; prints the folder.
# Exits 77 when the archive cannot be reached: call it as
# DIR=$(e2e_deb PKG) || exit $?
e2e_deb()
{
	_pkg=$1
	_dir=$E2E_CACHE/deb/$(echo "$_pkg" | tr ':/' '__')
	if [ ! -f "$_dir/.done" ]; then
		rm -rf "$_dir" "$_dir.dl"
		mkdir -p "$_dir.dl" "$_dir/root"
		if ! (cd "$_dir.dl" && apt-get download "$_pkg") \
		    >"$_dir.dl/log" 2>&1; then
			# stdout is the caller's $(...): say why on stderr.
			echo "skipped: apt-get download $_pkg failed:" \
			    "$(tail -n 1 "$_dir.dl/log")" >&2
			exit 77
		fi
		for _f in "$_dir.dl"/*.deb; do
			dpkg-deb -x "$_f" "$_dir/root" ||
			    die "dpkg-deb -x $_f"
			cp "$_f" "$_dir/"
		done
		rm -rf "$_dir.dl"
		: >"$_dir/.done"
	fi
	echo "$_dir"
}

# e2e_kernel ARCH (amd64, arm64): Debian's current kernel for ARCH. The
# meta package linux-image-ARCH names the real one in its Depends; the
# archive keeps only the newest, so this is resolved at run time (the
# meta package is fetched again at most once a day). Sets E2E_KVER,
# E2E_VMLINUZ (the kernel image: bzImage on amd64, a vmlinuz that may be
# a gzip of Image on arm64: see E2E_IMAGE) and E2E_MODDIR.
e2e_kernel()
{
	_arch=$1
	_meta=$E2E_CACHE/meta-$_arch
	mkdir -p "$_meta"
	if [ -z "$(find "$_meta" -name '*.deb' -mtime -1 2>/dev/null)" ]; then
		rm -f "$_meta"/*.deb
		(cd "$_meta" && apt-get download "linux-image-$_arch:$_arch") \
		    >"$_meta/log" 2>&1 ||
		    [ -n "$(ls "$_meta"/*.deb 2>/dev/null)" ] ||
		    skip "apt-get download linux-image-$_arch failed"
	fi
	_real=$(dpkg-deb -f "$(ls "$_meta"/*.deb | head -n 1)" Depends |
	    tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' |
	    head -n 1)
	[ -n "$_real" ] || die "no linux-image-6.x in Depends of linux-image-$_arch"
	_kdir=$(e2e_deb "$_real:$_arch") || exit $?
	E2E_KVER=${_real#linux-image-}
	E2E_VMLINUZ=$_kdir/root/boot/vmlinuz-$E2E_KVER
	E2E_MODDIR=$_kdir/root/lib/modules/$E2E_KVER
	[ -f "$E2E_VMLINUZ" ] || die "$_real has no $E2E_VMLINUZ"
	[ -d "$E2E_MODDIR" ] || die "$_real has no $E2E_MODDIR"
	# arm64 vmlinuz is a gzip'd Image; U-Boot's booti wants it plain.
	E2E_IMAGE=$E2E_VMLINUZ
	if gzip -t "$E2E_VMLINUZ" 2>/dev/null; then
		E2E_IMAGE=$_kdir/Image
		[ -f "$E2E_IMAGE" ] || gzip -dc "$E2E_VMLINUZ" >"$E2E_IMAGE"
	fi
}

# e2e_busybox ARCH: a static busybox for ARCH from busybox-static:ARCH
# (the amd64 and arm64 packages cannot both be installed: same path).
e2e_busybox()
{
	E2E_BUSYBOX=$(e2e_deb "busybox-static:$1") || exit $?
	E2E_BUSYBOX=$E2E_BUSYBOX/root/bin/busybox
	[ -x "$E2E_BUSYBOX" ] || die "busybox-static:$1 has no bin/busybox"
}

# e2e_bb_root ROOT: ROOT/bin/busybox ($E2E_BUSYBOX) and a link for each
# of its applets, the start of every guest root and initrd.
e2e_bb_root()
{
	mkdir -p "$1/bin"
	cp "$E2E_BUSYBOX" "$1/bin/busybox"
	for _a in $("$E2E_BUSYBOX" --list); do
		[ "$_a" = busybox ] || ln -sf busybox "$1/bin/$_a"
	done
}

# e2e_modules ROOT NAME...: copies the modules NAME (module names, '_' or
# '-') and everything they depend on from $E2E_MODDIR to ROOT/lib/modules,
# and writes ROOT/lib/modules/load.order, dependencies first. The kernel
# package has no modules.dep (depmod makes it at install), so the
# depends= field of each module's .modinfo section is read instead.
# Compressed modules (.ko.xz, .ko.zst) are decompressed here: busybox
# insmod reads plain ELF only. A missing NAME is skipped when it is
# built in (modules.builtin), else the test fails.
e2e_modules()
{
	_root=$1
	shift
	mkdir -p "$_root/lib/modules"
	: >"$_root/lib/modules/load.order"
	find "$E2E_MODDIR" -name '*.ko*' >"$WS/.modindex"
	for _m in "$@"; do
		e2e_module_add "$_root" "$_m"
	done
}

e2e_module_add()
{
	# Recursion in sh shares variables: keep per-call values in $1/$2.
	set -- "$1" "$(echo "$2" | tr - _)"
	grep -qx "$2" "$1/lib/modules/load.order" && return 0
	_f=$(awk -v m="$2" '{ b = $0; sub(/.*\//, "", b);
	    sub(/\.ko.*/, "", b); gsub(/-/, "_", b); if (b == m) { print;
	    exit } }' "$WS/.modindex")
	if [ -z "$_f" ]; then
		tr - _ <"$E2E_MODDIR/modules.builtin" |
		    grep -q "/$2\.ko\$" && return 0
		die "module $2 not in $E2E_MODDIR"
	fi
	case $_f in
	*.xz)	xz -dc "$_f" ;;
	*.zst)	zstd -dcq "$_f" ;;
	*.gz)	gzip -dc "$_f" ;;
	*)	cat "$_f" ;;
	esac >"$1/lib/modules/$2.ko" || die "decompress $_f"
	for _d in $(tr '\0' '\n' <"$1/lib/modules/$2.ko" |
	    sed -n 's/^depends=//p' | tr ',' ' '); do
		e2e_module_add "$1" "$_d"
	done
	echo "$2" >>"$1/lib/modules/load.order"
}

# e2e_libs ROOT BIN LIBDIR...: copies into ROOT the shared libraries BIN
# needs (NEEDED entries, recursively, found in the LIBDIRs) and its
# program interpreter, at the same paths. readelf works for any
# architecture, so this serves cross-built binaries too.
e2e_libs()
{
	_root=$1 _bin=$2
	shift 2
	_interp=$(readelf -l "$_bin" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
	if [ -n "$_interp" ]; then
		mkdir -p "$_root$(dirname "$_interp")"
		cp -L "$_interp" "$_root$_interp" || die "copy $_interp"
	fi
	_todo=$_bin _seen=" "
	while [ -n "$_todo" ]; do
		_next=
		for _b in $_todo; do
			for _n in $(readelf -d "$_b" |
			    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
				case $_seen in *" $_n "*) continue ;; esac
				_seen="$_seen$_n "
				_found=
				for _l in "$@"; do
					if [ -e "$_l/$_n" ]; then
						_found=$_l/$_n
						break
					fi
				done
				[ -n "$_found" ] || die "$_bin: $_n not in $*"
				mkdir -p "$_root$_l"
				cp -L "$_found" "$_root$_found"
				_next="$_next $_found"
			done
		done
		_todo=$_next
	done
}

# e2e_guest_lib ROOT: writes ROOT/lib/e2e.sh, the guest half, for
# busybox sh. Functions:
#   e2e_load_modules        insmod /lib/modules/load.order
#   e2e_partlabels          /dev/disk/by-partlabel links (no udev here)
#   e2e_wait_label LABEL    e2e_partlabels until LABEL exists
#   e2e_disk SERIAL         /dev/NAME of the disk whose virtio serial
#                           (-device virtio-blk-*,serial=S) is SERIAL
#   e2e_hold                waits to be killed, before upkit runs, when
#                           the step's first line is "#hold"
#   e2e_step                runs the script on the disk with serial
#                           upkit-ctl (e2e_ctl), if there is one, in a
#                           shell that has these functions
#   e2e_loader_entry        systemd-boot's LoaderEntrySelected, or ""
#   e2e_entry_slot ID       A or B from an upkit UKI id, or ""
#   e2e_off                 sync, print "UPKIT-E2E done", power off
e2e_guest_lib()
{
	mkdir -p "$1/lib"
	cat >"$1/lib/e2e.sh" <<-'EOF'
	# Written by tests/e2e/lib.sh (e2e_guest_lib): the guest half.
	e2e_load_modules()
	{
		while read -r _e_m; do
			insmod "/lib/modules/$_e_m.ko" ||
			    echo "UPKIT-E2E error insmod $_e_m"
		done </lib/modules/load.order
	}

	e2e_partlabels()
	{
		mkdir -p /dev/disk/by-partlabel
		for _e_u in /sys/class/block/*/uevent; do
			_e_name= _e_label=
			while IFS== read -r _e_k _e_v; do
				case $_e_k in
				DEVNAME) _e_name=$_e_v ;;
				PARTNAME) _e_label=$_e_v ;;
				esac
			done <"$_e_u"
			if [ -n "$_e_label" ]; then
				ln -sf "/dev/$_e_name" \
				    "/dev/disk/by-partlabel/$_e_label"
			fi
		done
	}

	# Partitions can appear after insmod returns: rescan until the
	# label shows up (bounded by the host's timeout of the boot).
	e2e_wait_label()
	{
		e2e_partlabels
		while [ ! -e "/dev/disk/by-partlabel/$1" ]; do
			usleep 20000
			e2e_partlabels
		done
	}

	e2e_disk()
	{
		for _e_s in /sys/block/*/serial; do
			[ "$(cat "$_e_s" 2>/dev/null)" = "$1" ] || continue
			_e_d=${_e_s%/serial}
			echo "/dev/${_e_d##*/}"
			return 0
		done
		return 1
	}

	# A step whose first line is "#hold" stops this boot before upkit
	# runs, so that a power cut lands at a known point: prints
	# "UPKIT-E2E held" and waits for the host to kill QEMU.
	e2e_hold()
	{
		_e_ctl=$(e2e_disk upkit-ctl) || return 0
		[ "$(head -c 5 "$_e_ctl")" = "#hold" ] || return 0
		echo "UPKIT-E2E held"
		exec tail -f /dev/null
	}

	e2e_step()
	{
		_e_ctl=$(e2e_disk upkit-ctl) || return 0
		tr -d '\000' <"$_e_ctl" >/tmp/e2e-step.sh
		echo "UPKIT-E2E step begin"
		sh -c '. /lib/e2e.sh; . /tmp/e2e-step.sh'
		echo "UPKIT-E2E step rc=$?"
	}

	# systemd-boot's LoaderEntrySelected (attributes, then UTF-16LE
	# with a NUL), as ASCII; empty if unset. Needs efivarfs mounted.
	e2e_loader_entry()
	{
		_e_v=/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
		[ -f "$_e_v" ] || return 0
		dd if="$_e_v" bs=1 skip=4 2>/dev/null | tr -d '\000'
	}

	# The slot (A or B) of an upkit UKI id (upkit-R-x..., lower case in
	# systemd-boot 252), or nothing.
	e2e_entry_slot()
	{
		echo "$1" | sed -n 's/^upkit-[0-9]*-\([abAB]\)[+.].*/\1/p' |
		    tr ab AB
	}

	e2e_off()
	{
		sync
		echo "UPKIT-E2E done"
		poweroff -f
	}
	EOF
}

# e2e_cpio DIR OUT: DIR as a gzip'd newc cpio, owned by root.
e2e_cpio()
{
	(cd "$1" && find . | sort | cpio -o -H newc -R 0:0 --quiet) |
	    gzip -n -1 >"$2" || die "cpio $1"
}

# e2e_ctl IMG: the script on stdin becomes the control disk IMG (1 MiB,
# zero padded; the guest strips the zeros). Attach it with serial
# upkit-ctl; e2e_step runs it.
e2e_ctl()
{
	rm -f "$1"
	cat >"$1"
	truncate -s 1M "$1"
}

# e2e_rawdisk FILE IMG: a raw disk image holding FILE at offset 0, padded
# to whole sectors. The guest reads exactly $(filesize FILE) bytes back.
e2e_rawdisk()
{
	cp "$1" "$2"
	_s=$(filesize "$2")
	truncate -s $(((_s + 511) / 512 * 512)) "$2"
}

# e2e_accel QEMU ARGS...: "kvm" if QEMU with these args (a machine and a
# -kernel, no disks needed) prints the kernel's first line under KVM
# within 10 s, else "tcg". The probe is killed as soon as that line shows.
# E2E_ACCEL=tcg|kvm skips the probe. Call it as ACCEL=$(e2e_accel ...).
e2e_accel()
{
	if [ -n "${E2E_ACCEL:-}" ]; then
		echo "$E2E_ACCEL"
		return 0
	fi
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return 0
	fi
	E2E_TIMEOUT=10 E2E_KILL_AT='Linux version|Kernel panic' \
	    e2e_boot kvm-probe "$@" -accel kvm \
	    -append "console=ttyS0 console=ttyAMA0 panic=-1" >/dev/null 2>&1 ||
	    true
	if grep -q 'Linux version' "$WS/kvm-probe.log"; then
		echo kvm
	else
		echo tcg
	fi
}

# e2e_boot NAME QEMU ARGS...: one boot. QEMU gets -display none, the
# serial console in $WS/NAME.log, no network, -no-reboot (a reset or a
# panic ends the process) and a timeout of $E2E_TIMEOUT seconds. Returns
# QEMU's exit code (137: timed out). With E2E_KILL_AT=REGEX (grep -E;
# and E2E_KILL_NTH=N, default 1), QEMU is killed with SIGKILL the moment
# the Nth log line matching REGEX appears, a power cut; then E2E_KILLED=1
# and the return is 0. Call it in the current shell (not at the end of a
# pipeline) to see E2E_KILLED.
e2e_boot()
{
	_name=$1
	shift
	_log=$WS/$_name.log
	rm -f "$_log" "$WS/$_name.pid" "$WS/$_name.killed"
	: >"$_log"
	E2E_KILLED=0
	timeout -s KILL "$E2E_TIMEOUT" "$@" -display none -monitor none \
	    -serial "file:$_log" -nic none -no-reboot \
	    -pidfile "$WS/$_name.pid" </dev/null >"$WS/$_name.qemu" 2>&1 &
	_qpid=$!
	ws_pid "$_qpid"
	if [ -n "${E2E_KILL_AT:-}" ]; then
		# tail ends with QEMU; grep -m stops at the Nth match and the
		# kill follows at once (mawk would wait for a full buffer).
		tail --pid="$_qpid" -n +1 -f "$_log" | {
			_c=$(grep -E -c -m "${E2E_KILL_NTH:-1}" -- \
			    "$E2E_KILL_AT") || true
			if [ "$_c" = "${E2E_KILL_NTH:-1}" ]; then
				kill -KILL "$(cat "$WS/$_name.pid")" 2>/dev/null
				: >"$WS/$_name.killed"
			fi
			cat >/dev/null
		}
	fi
	_rc=0
	wait "$_qpid" || _rc=$?
	if [ -f "$WS/$_name.killed" ]; then
		E2E_KILLED=1
		return 0
	fi
	if [ "$_rc" -ne 0 ]; then
		cat "$WS/$_name.qemu" >&2
	fi
	return "$_rc"
}

# e2e_fail NAME MSG: fails the test, showing the end of NAME's log.
e2e_fail()
{
	echo "--- serial log $1 (tail)" >&2
	tail -n 30 "$WS/$1.log" | tr -d '\r' >&2
	die "$1: $2"
}

e2e_expect()
{
	tr -d '\r' <"$WS/$1.log" | grep -Eq -- "$2" ||
	    e2e_fail "$1" "no line matching /$2/"
}

# e2e_booted NAME: A or B, from the guest's "UPKIT-E2E booted=X" line;
# empty if the guest never got that far.
e2e_booted()
{
	tr -d '\r' <"$WS/$1.log" |
	    sed -n 's/^UPKIT-E2E booted=\([AB]\).*/\1/p' | head -n 1
}
