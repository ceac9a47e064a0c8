#!/bin/sh
# What must survive a reboot lives in the boot env, not only in the data
# directory (docs/boot-selection.md, "What survives a reboot"). LinuxKit
# mounts tmpfs on /var, so after the reboot into a trial slot state.json
# may be gone:
# - upkit health must still see the trial (UPKIT_TRIAL) and run the
#   checks: a failing check rolls back, it does not commit;
# - the security floor must not drop (UPKIT_FLOOR, UPKIT_TRIAL_FLOOR);
# - a data directory on tmpfs is refused unless the config says it is
#   intended.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need openssl mksquashfs fw_printenv mkenvimage busybox
ws_init

mk_keys "$WS/keys"
mk_images "$WS/img" lk
mk_device "$WS/dev" "$WS/keys/root.pem"
mkdir "$WS/health.d"
printf '[health]\ndirectory = %s\n' "$WS/health.d" >>"$CFG"
mk_bundle "$WS/keys" "$WS/v2.upk" 2.0.0 --security-version 4 \
    --linuxkit "$WS/img/lk"
mk_bundle "$WS/keys" "$WS/v3.upk" 3.0.0 --security-version 2 \
    --linuxkit "$WS/img/lk"
mk_bundle "$WS/keys" "$WS/v5.upk" 5.0.0 --security-version 6 \
    --linuxkit "$WS/img/lk"

# A check that fails: only a health run that runs it sees it fail.
printf '#!/bin/sh\necho "the new app does not start" >&2\nexit 1\n' \
    >"$WS/health.d/10-app"
chmod +x "$WS/health.d/10-app"

# The arm records the trial and its floor in the env itself.
run install update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install 0
[ "$(env_get BOOT_ORDER)" = "B A" ] || die "2.0.0 not armed"
[ "$(env_get UPKIT_TRIAL)" = B ] ||
    die "UPKIT_TRIAL='$(env_get UPKIT_TRIAL)' after the arm, expected B"
[ "$(env_get UPKIT_TRIAL_FLOOR)" = 4 ] ||
    die "UPKIT_TRIAL_FLOOR='$(env_get UPKIT_TRIAL_FLOOR)', expected 4"

# The reboot into B, with the data directory lost (tmpfs on /var).
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
rm -rf "$DATA"
run status1 status -c "$CFG"
expect_rc status1 0
grep -Eq 'trial' "$WS/status1.out" ||
    die "status does not show B on trial: $(cat "$WS/status1.out")"
run health1 health -c "$CFG" --no-reboot
expect_rc health1 9
grep -q 'lost or stale data directory' "$WS/health1.err" ||
    die "health did not say why it treats B as a trial: $(cat "$WS/health1.err")"
grep -q '10-app' "$WS/health1.out" ||
    die "the check did not run: $(cat "$WS/health1.out")"
[ "$(env_get BOOT_ORDER)" = A ] && [ "$(env_get BOOT_B_LEFT)" = 0 ] ||
    die "B not rolled back: BOOT_ORDER='$(env_get BOOT_ORDER)'"
[ -z "$(env_get UPKIT_TRIAL)" ] || die "UPKIT_TRIAL left after rollback"
[ "$(env_get UPKIT_FLOOR)" = 0 ] ||
    die "a rolled back trial raised the floor to $(env_get UPKIT_FLOOR)"

# Once more, now with a passing check and the data directory lost again:
# the commit raises the floor from the env alone.
echo "console=ttyS0 upkit.slot=A" >"$CMDLINE"
run install2 update -c "$CFG" --from "$WS/v2.upk" --no-reboot
expect_rc install2 0
echo "console=ttyS0 upkit.slot=B" >"$CMDLINE"
rm -rf "$DATA"
printf '#!/bin/sh\nexit 0\n' >"$WS/health.d/10-app"
run health2 health -c "$CFG" --no-reboot
expect_rc health2 0
grep -qi 'committed' "$WS/health2.out" ||
    die "B not committed: $(cat "$WS/health2.out")"
[ "$(env_get BOOT_ORDER)" = "B A" ] && [ -z "$(env_get UPKIT_TRIAL)" ] ||
    die "env after commit: $(fw_printenv -c "$ENVCFG" | tr '\n' ' ')"
[ "$(env_get UPKIT_FLOOR)" = 4 ] ||
    die "UPKIT_FLOOR='$(env_get UPKIT_FLOOR)' after the commit, expected 4"
grep -q '"security_floor":[[:space:]]*4' "$DATA/state.json" ||
    die "state.json floor: $(cat "$DATA/state.json")"

# The floor holds with the data directory lost once more: 3.0.0 carries
# security version 2, below 4.
rm -rf "$DATA"
snapshot floor
run low update -c "$CFG" --from "$WS/v3.upk" --no-reboot --allow-downgrade
expect_rc low 6
expect_msg low 'floor 4'
# Nothing changed but the data directory the refusal may create.
rm -rf "$DATA"
same_as floor "an update below the env's floor"

# A fresh state.json with a floor above the env's is not lowered either:
# the higher of the two holds, and the next env store carries it.
run install5 update -c "$CFG" --from "$WS/v5.upk" --no-reboot
expect_rc install5 0
[ "$(env_get UPKIT_TRIAL)" = A ] && [ "$(env_get UPKIT_TRIAL_FLOOR)" = 6 ] ||
    die "5.0.0 arm: $(fw_printenv -c "$ENVCFG" | tr '\n' ' ')"

# A data directory on tmpfs is refused unless it is intended (root only:
# the mount).
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$WS/tmpfs"
	mount -t tmpfs -o size=1m upkit-test "$WS/tmpfs" || die "mount tmpfs"
	ws_mount "$WS/tmpfs"
	sed "s|^data-directory = .*|data-directory = $WS/tmpfs/upkit|" \
	    "$CFG" >"$WS/tmpfs.conf"
	run volatile status -c "$WS/tmpfs.conf"
	expect_rc volatile 3
	expect_msg volatile 'data-directory .*tmpfs.*data-directory-volatile'
	sed 's/^\[system\]$/[system]\ndata-directory-volatile = yes/' \
	    "$WS/tmpfs.conf" >"$WS/tmpfs2.conf"
	run volatile2 status -c "$WS/tmpfs2.conf"
	expect_rc volatile2 0
fi
exit 0
