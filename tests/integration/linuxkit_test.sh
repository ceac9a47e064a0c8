#!/bin/sh
# The LinuxKit integration (docs/linuxkit.md), as far as it runs here:
# no container runtime can pull images on this machine, so neither
# `linuxkit pkg build pkg/upkit` nor a boot of examples/linuxkit-upkit.yml
# runs. What does:
# - examples/linuxkit-upkit.yml parses (Python's yaml); the upkit.conf
#   it ships parses in upkit; every path that upkit.conf names is bound
#   into both upkit containers (health at boot, the daemon), from a
#   source that exists on the device: a mount an onboot container made
#   before upkit-health runs, a file the YAML ships, /dev; the data
#   directory is on the data disk's mount, never the tmpfs /var; both
#   containers may open block devices;
# - pkg/upkit/build.yml brings every source folder the Makefile builds
#   from into the build context, and the Dockerfile installs every
#   library -dev package of DEPS_CORE on Debian bookworm;
# - pkg/upkit/mkroot.sh, the Dockerfile's last build step, makes a root
#   in which upkit runs under chroot: keys, a bundle verified, libcurl
#   loaded for a URL, busybox's sh for health scripts.
set -eu
TESTS=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS/lib.sh"
need_upkit
need python3
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed"
ws_init

cat >"$WS/check.py" <<'EOF'
import configparser, os, re, sys, yaml

top, out = sys.argv[1], sys.argv[2]
y = yaml.safe_load(open(os.path.join(top, "examples/linuxkit-upkit.yml")))
fail = []

def need(cond, what):
    if not cond:
        fail.append(what)

onboot, services = y.get("onboot", []), y.get("services", [])
byname = {c["name"]: c for c in onboot + services}
health, daemon = byname.get("upkit-health"), byname.get("upkit-daemon")
need(health in onboot, "upkit-health is not an onboot container")
need(daemon in services, "upkit-daemon is not a service")
if fail:
    sys.exit("\n".join(fail))
conf_arg = "/etc/upkit/upkit.conf"
for c, verb in ((health, "health"), (daemon, "daemon")):
    cmd = c.get("command", [])
    need(cmd[:2] == ["/usr/bin/upkit", verb] and
         cmd[cmd.index("-c") + 1] == conf_arg if "-c" in cmd else False,
         "%s: command %s is not upkit %s -c %s" % (c["name"], cmd, verb,
                                                   conf_arg))
    need({"path": "all", "type": "b"} in c.get("devices", []),
         "%s: block devices not allowed" % c["name"])

# What exists on the device before upkit-health runs: the files the YAML
# ships, the mounts of the onboot containers before it, /dev, /proc.
files = {"/" + f["path"]: f for f in y.get("files", [])}
mounts = []
for c in onboot[:onboot.index(health)]:
    cmd = c.get("command", [])
    if cmd[:1] == ["/usr/bin/mountie"]:
        mounts.append(cmd[-1])
need(any(m.startswith("/var/") for m in mounts), "no onboot mount under /var")

def under(p, d):
    return p == d or p.startswith(d.rstrip("/") + "/")

def source_ok(src):
    return (src == "/dev" or any(under(src, m) for m in mounts) or
            any(under(f, src) for f in files))

conf_text = files.get(conf_arg, {}).get("contents")
need(conf_text is not None, "the YAML ships no " + conf_arg)
if fail:
    sys.exit("\n".join(fail))
open(out, "w").write(conf_text)
ini = configparser.ConfigParser(comment_prefixes=(";", "#"),
                                inline_comment_prefixes=(";",))
ini.read_string(conf_text)
PATHS = {"system": ["data-directory", "cmdline", "machine-id-file"],
         "keyring": ["path", "crl"], "grub": ["env"], "uboot": ["config"],
         "efi": ["esp", "efivarfs"], "health": ["directory"],
         "server": ["ca", "cert", "key", "channel-keyring"]}
paths = []
for sec in ini.sections():
    keys = ["device"] if sec.startswith("slot.") else PATHS.get(sec, [])
    paths += [(sec, k, ini[sec][k]) for k in keys if k in ini[sec]]
need(len(paths) >= 8, "upkit.conf names only %d paths" % len(paths))

for c in (health, daemon):
    binds = [b.split(":") for b in c.get("binds", [])]
    for sec, key, p in paths:
        need(p.startswith("/"), "[%s] %s = %s: not absolute" % (sec, key, p))
        if under(p, "/proc"):
            continue            # the runtime mounts /proc in every container
        hit = [b for b in binds if under(p, b[1])]
        need(hit, "%s: [%s] %s = %s is not bound" % (c["name"], sec, key, p))
        for b in hit:
            need(source_ok(b[0]), "%s: bind %s: %s is neither shipped, "
                 "mounted nor /dev" % (c["name"], ":".join(b), b[0]))
            if key == "data-directory":
                need(any(under(b[0], m) for m in mounts),
                     "%s: data-directory %s is bound from %s, not from a "
                     "mounted disk (/var is tmpfs)" % (c["name"], p, b[0]))
            if key not in ("path", "directory", "crl", "ca", "cert", "key",
                           "channel-keyring", "device") or not under(p, "/etc"):
                need(len(b) < 3 or "ro" not in b[2].split(","),
                     "%s: %s is bound read-only" % (c["name"], p))
for sec, key, p in paths:
    if under(p, "/etc/upkit"):
        need(p in files, "[%s] %s = %s is not in the YAML's files" %
             (sec, key, p))

# pkg/upkit: every folder the Makefile compiles from is in the context.
bld = yaml.safe_load(open(os.path.join(top, "pkg/upkit/build.yml")))
srcs = {}
for e in bld.get("extra-sources", []):
    s, d = e.split(":")
    need(os.path.exists(os.path.join(top, "pkg/upkit", s)),
         "build.yml: extra source %s does not exist" % s)
    srcs[d] = s
need(srcs.get("src/Makefile") == "../../Makefile", "build.yml: no Makefile")
mk = open(os.path.join(top, "Makefile")).read().replace("\\\n", " ")
# The lists the binary is built from: LIB_OBJ's and MAIN_SRC.
lists = {"MAIN_SRC"}
for line in mk.splitlines():
    if line.startswith("LIB_OBJ"):
        lists |= set(re.findall(r"\$\((\w+_SRC)\)", line))
dirs = set()
for line in mk.splitlines():
    if line.split("=")[0].strip() in lists:
        dirs |= {w.split("/")[0] for w in line.split("=", 1)[1].split()
                 if w.endswith(".c")}
need(len(dirs) >= 6, "found only %s in the Makefile" % sorted(dirs))
for d in sorted(dirs):
    need(srcs.get("src/" + d) == "../../" + d,
         "build.yml: source folder %s/ is not an extra source" % d)
dock = open(os.path.join(top, "pkg/upkit/Dockerfile")).read()
need("FROM debian:bookworm" in dock, "Dockerfile: not built on bookworm")
deps = [l for l in mk.splitlines() if l.startswith("DEPS_CORE")][0]
for p in deps.split("=", 1)[1].split():
    if p.startswith("lib") and p.endswith("-dev") and "clang" not in p:
        need(p in dock.split(), "Dockerfile: does not install " + p)
sys.exit("\n".join(fail) if fail else 0)
EOF
python3 "$WS/check.py" "$TOP" "$WS/upkit.conf" ||
    die "examples/linuxkit-upkit.yml or pkg/upkit (above)"

# The shipped upkit.conf is one upkit reads: exit 8 means it parsed
# and the env (the device's grubenv) is missing here.
run conf status -c "$WS/upkit.conf"
case $RC in
0|8)	;;
*)	expect_rc conf 8 ;;
esac

# The image's root, from the binary under test, used under chroot.
[ "$(id -u)" -eq 0 ] && command -v chroot >/dev/null ||
    skip "YAML and package checks passed; chroot needs root"
R=$WS/root
sh "$TOP/pkg/upkit/mkroot.sh" "$UPKIT" "$R" || die "mkroot.sh failed"
! sh "$TOP/pkg/upkit/mkroot.sh" "$UPKIT" "$R" 2>/dev/null ||
    die "mkroot.sh wrote over an existing root"
# As in a container, /proc is there (the sanitizers read it, too).
mkdir -p "$R/proc"
mount -t proc proc "$R/proc" || die "mount /proc in the root"
ws_mount "$R/proc"
chroot "$R" /usr/bin/upkit --version >"$WS/version" ||
    die "upkit does not run in the image's root"
chroot "$R" /usr/bin/upkit keys create --out /tmp/k >/dev/null ||
    die "upkit keys create in the image's root"
mkdir -p "$R/tmp/in"
echo kernel >"$R/tmp/in/kernel"
chroot "$R" /usr/bin/upkit bundle create --key /tmp/k/signer.key \
    --cert /tmp/k/signer.pem --compatible c --version 1.0.0 \
    --files boot=/tmp/in -o /tmp/b.upk >/dev/null ||
    die "upkit bundle create in the image's root"
chroot "$R" /usr/bin/upkit bundle verify /tmp/b.upk \
    --keyring /tmp/k/root.pem >/dev/null ||
    die "upkit bundle verify in the image's root"
# A URL loads libcurl (dlopen): the connection is refused, the library
# is there.
set +e
chroot "$R" /usr/bin/upkit bundle info http://127.0.0.1:9/b.upk \
    >/dev/null 2>"$WS/url.err"
set -e
grep -q 'connect' "$WS/url.err" ||
    die "libcurl in the image's root: $(cat "$WS/url.err")"
printf '#!/bin/sh\nexit 0\n' >"$R/tmp/check"
chmod 0755 "$R/tmp/check"
chroot "$R" /tmp/check || die "no /bin/sh for health scripts in the root"
[ -x "$R/bin/reboot" ] || die "no reboot in the image's root"
exit 0
