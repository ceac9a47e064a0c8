# upkit: the only build file. Sources are listed by name.
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
CC	?= cc
CLANG	?= clang
CFLAGS	?= -O2 -g
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wwrite-strings -Wundef -Wpointer-arith -Wswitch-enum
PKGS	 = libzstd libubootenv libcjson
# libcurl: its header only; source/libcurl.c dlopen()s it on the first URL.
# mbedtls: the system's unless MBEDTLS_CFLAGS and MBEDTLS_LIBS say where
# (make mbedtls3).
CPPFLAGS += $(MBEDTLS_CFLAGS) -I. -D_GNU_SOURCE \
	   $(shell pkg-config --cflags libcurl $(PKGS) 2>/dev/null)
# A 32-bit target (armhf) gets a 64-bit off_t, for slots past 4 GiB, and
# a 64-bit time_t (docs/portability.md). Not a 64-bit one: there they
# change no type but rename open, pwrite and the rest to their *64
# aliases, which the tests' preload shims do not catch.
ifeq ($(shell echo __SIZEOF_LONG__ | $(CC) -E -P - 2>/dev/null),4)
CPPFLAGS += -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
endif
LDLIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linih -lxxhash \
	   $(MBEDTLS_LIBS) -lmbedtls -lmbedx509 -lmbedcrypto -lpthread

ifeq ($(SAN),1)
B	?= build/san
CFLAGS	+= -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
else ifeq ($(TSAN),1)
# ThreadSanitizer: the install pipeline's threads. halt_on_error makes a
# race a failed test; exitcode 66 is TSan's own, beside upkit's 0-9.
B	?= build/tsan
CFLAGS	+= -O1 -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=thread
export TSAN_OPTIONS ?= halt_on_error=1 exitcode=66
else
B	?= build
endif

COMMON_SRC = common/err.c common/io.c common/json.c
VERIFY_SRC = verify/bundle.c verify/manifest.c verify/manifest_rows.c \
	     verify/manifest_encode.c verify/sigblock.c \
	     verify/trust.c verify/policy.c verify/chunk.c \
	     verify/digest.c verify/sha256.c verify/frame.c verify/reader.c \
	     verify/rollout.c verify/channel.c verify/channel_body.c
SLOTS_SRC  = slots/writer.c slots/raw.c slots/files.c slots/identity.c \
	     slots/blockdev.c slots/uki.c \
	     slots/boot/bootstate.c slots/boot/bootenv.c \
	     slots/boot/uboot.c slots/boot/grub.c slots/boot/grubenv.c \
	     slots/boot/efi.c slots/boot/efiname.c slots/boot/efivar.c \
	     slots/boot/efistore.c slots/boot/efiosrel.c
HOST_SRC   = host/inputs.c host/compress.c host/assemble.c host/create.c \
	     host/sign.c host/keys.c host/tar.c host/channel.c host/fleet.c \
	     host/lkoutputs.c host/esp.c host/fat.c host/plan.c
AGENT_SRC  = agent/config.c agent/config_ini.c agent/config_check.c \
	     agent/state.c agent/util.c \
	     agent/info.c agent/install.c agent/checkpoint.c agent/keyfiles.c \
	     agent/update.c agent/update_cmd.c agent/status.c agent/progress.c agent/device.c \
	     agent/health.c agent/checks.c agent/lifecycle.c agent/exitcode.c \
	     agent/stop.c agent/resume.c agent/channel.c \
	     agent/daemon.c agent/poll.c \
	     agent/reporturl.c agent/outbox.c agent/report.c \
	     agent/outbox_send.c agent/reportcmd.c \
	     agent/slotmap.c agent/reimage.c agent/cli.c
MAIN_SRC   = agent/main.c
SOURCE_SRC = source/source.c source/file.c source/http.c source/answer.c \
	     source/httphdr.c source/libcurl.c source/fetch.c source/put.c

LIB_OBJ	= $(patsubst %.c,$(B)/%.o,$(COMMON_SRC) $(VERIFY_SRC) $(SLOTS_SRC) \
	  $(HOST_SRC) $(AGENT_SRC)) $(patsubst %.c,$(B)/%.o,$(SOURCE_SRC))
UNIT_SRC = $(sort $(wildcard tests/unit/*_test.c))
UNIT_BIN = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
INTEG	 = $(sort $(wildcard tests/integration/*.sh))
E2E	 = $(sort $(wildcard tests/e2e/*_test.sh))

# Debian packages: DEPS_CORE builds upkit and runs the demo, the unit and
# integration tests; DEPS_E2E adds the QEMU boots (emulators, firmware,
# the arm64 cross toolchain and :arm64 libraries). make deps installs both.
DEPS_CORE = build-essential pkg-config clang libclang-rt-14-dev \
	   libmbedtls-dev libcurl4-openssl-dev libzstd-dev libubootenv-dev \
	   libcjson-dev libinih-dev libxxhash-dev libubootenv-tool \
	   u-boot-tools squashfs-tools busybox-static e2fsprogs zstd \
	   util-linux cpio nginx openssl time grub-common grub-emu \
	   grub-efi-amd64-bin fdisk dosfstools mtools python3 python3-yaml
DEPS_E2E = qemu-system-x86 qemu-system-arm qemu-user ovmf u-boot-qemu \
	   systemd-boot-efi binutils \
	   gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
	   libmbedtls-dev:arm64 libcurl4-openssl-dev:arm64 libzstd-dev:arm64 \
	   libubootenv-dev:arm64 libcjson-dev:arm64 libinih-dev:arm64 \
	   libxxhash-dev:arm64

# DEPS_PORTS: the armhf cross toolchain and :armhf libraries (make
# armhf), and the keyring that checks trixie's mbedtls (make mbedtls3).
DEPS_PORTS = gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
	   libmbedtls-dev:armhf libcurl4-openssl-dev:armhf libzstd-dev:armhf \
	   libubootenv-dev:armhf libcjson-dev:armhf libinih-dev:armhf \
	   libxxhash-dev:armhf debian-archive-keyring

# $(call install_missing,PACKAGES): apt-get installs the ones missing,
# quietly, and says nothing when all are there.
define install_missing
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi
endef

.PHONY: all deps deps-core check unit demo bench fuzz install clean e2e soak arm64
.PHONY: armhf mbedtls3
all: $(B)/upkit

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(B)/libupkit.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/upkit: $(B)/agent/main.o $(B)/libupkit.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c tests/check.h tests/harness.h \
    $(B)/libupkit.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(B)/libupkit.a \
	    $(LDFLAGS) $(LDLIBS)

# libFuzzer targets, always with clang and the sanitizers. The library
# is built once, instrumented, and each target links what it calls.
FUZZ_SAN   = -g -O1 -fsanitize=address,undefined $(CPPFLAGS)
FUZZ_OBJ   = $(patsubst %.c,build/fuzz/obj/%.o,$(COMMON_SRC) $(VERIFY_SRC) \
	     $(SLOTS_SRC) $(HOST_SRC) $(AGENT_SRC)) \
	     $(patsubst %.c,build/fuzz/obj/%.o,$(SOURCE_SRC))
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/libupkit.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libupkit.a
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
	    build/fuzz/libupkit.a $(LDLIBS)

fuzz: $(FUZZ_BIN)

# A preload shim for the one fault the tests cannot make otherwise.
$(B)/tests/badwrite.so: tests/shim/badwrite.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

# A data directory that fills up between two state saves.
$(B)/tests/nospace.so: tests/shim/nospace.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

# The power-cut simulator (docs/powercut.md): a log of every change to
# the watched storage, and the replay of that log up to each cut.
# The log shim is built without sanitizers: the tool test preloads it
# into sh and dd, which carry no sanitizer runtime.
$(B)/tests/powerlog.so: tests/shim/powerlog.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -fsanitize=%,$(CFLAGS)) $(WARN) -fPIC -shared \
	    -o $@ $< -ldl -lpthread

PCUT_SRC = tests/tools/powercut.c tests/tools/pclog.c tests/tools/pcplan.c \
	   tests/tools/pcmodel.c
$(B)/tests/powercut: $(PCUT_SRC) tests/tools/powercut.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $(PCUT_SRC) $(LDFLAGS) -lxxhash

# The source tests' tools: a proxy that cuts or stalls at given offsets,
# and a copy through source_open()/source_read().
$(B)/tests/cutproxy: tests/tools/cutproxy.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(LDFLAGS)

$(B)/tests/fetch: tests/tools/fetch.c $(B)/libupkit.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(B)/libupkit.a \
	    $(LDFLAGS) $(LDLIBS)

TOOLS	 = $(B)/tests/cutproxy $(B)/tests/fetch $(B)/tests/powercut \
	   $(B)/tests/powerlog.so

deps-core:
	$(call install_missing,$(DEPS_CORE))

deps: deps-core
	@dpkg --print-foreign-architectures | grep -qx arm64 || \
	    dpkg --add-architecture arm64
	@dpkg --print-foreign-architectures | grep -qx armhf || \
	    dpkg --add-architecture armhf
	$(call install_missing,$(DEPS_E2E) $(DEPS_PORTS))

unit: $(UNIT_BIN)

# Real boots in QEMU (tests/e2e). check runs them once, in the plain
# build: under SAN=1 or TSAN=1 the guest would run a sanitized upkit at
# TCG speed.
ifeq ($(SAN)$(TSAN),)
E2E_RUN	 = $(E2E)
endif
check: deps $(B)/upkit $(UNIT_BIN) $(FUZZ_BIN) $(B)/tests/badwrite.so \
    $(B)/tests/nospace.so $(if $(E2E_RUN),arm64 armhf mbedtls3) $(TOOLS)
	UPKIT=$(abspath $(B)/upkit) FUZZ_DIR=$(abspath build/fuzz) \
	    SHIM_DIR=$(abspath $(B)/tests) TOOL_DIR=$(abspath $(B)/tests) \
	    $(if $(E2E_RUN),$(M3_ENV)) \
	    sh tests/run.sh $(UNIT_BIN) $(INTEG) $(E2E_RUN) \
	    $(if $(E2E_RUN),tests/mbedtls3/suite_test.sh)

e2e: deps $(B)/upkit arm64
	UPKIT=$(abspath $(B)/upkit) sh tests/run.sh $(E2E)

# The long runs: every boot scenario, then every distinct power cut of
# the simulator (docs/powercut.md), run on its own so that its outcome
# distribution is printed.
soak: deps $(B)/upkit arm64 $(TOOLS)
	SOAK=1 UPKIT=$(abspath $(B)/upkit) sh tests/run.sh $(E2E)
	SOAK=1 UPKIT=$(abspath $(B)/upkit) SHIM_DIR=$(abspath $(B)/tests) \
	    TOOL_DIR=$(abspath $(B)/tests) \
	    sh tests/integration/powercut_test.sh

# upkit for the aarch64 guest, and the unit tests for qemu-aarch64
# (tests/e2e/arm64_unit_test.sh): Debian's cross compiler and :arm64 libs.
ARM64_PC = /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
arm64:
	PKG_CONFIG_LIBDIR=$(ARM64_PC) $(MAKE) B=build/arm64 \
	    CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar SAN= TSAN= \
	    build/arm64/upkit unit

# upkit and the unit tests for 32-bit Arm (armhf: ARMv7 with hard float,
# the boards of docs/portability.md), run under qemu-arm by
# tests/e2e/armhf_unit_test.sh: Debian's cross compiler and :armhf libs.
ARMHF_PC = /usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig
armhf:
	PKG_CONFIG_LIBDIR=$(ARMHF_PC) $(MAKE) B=build/armhf \
	    CC=arm-linux-gnueabihf-gcc AR=arm-linux-gnueabihf-ar SAN= TSAN= \
	    build/armhf/upkit unit

# The same upkit built against mbedtls 3.6 (Debian 13's), beside the
# system's 2.28. tests/mbedtls3/fetch.sh downloads trixie's packages with
# an apt setup of its own under build/trixie and unpacks them there; the
# build takes their headers with -isystem and their libraries with an
# rpath into that folder, so these binaries run here and nothing is
# installed. check runs the unit and integration tests on it, in the
# plain build only (docs/portability.md).
M3_ROOT	 = build/trixie/root
M3_LIB	 = $(abspath $(M3_ROOT))/usr/lib/$(shell \
	   dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
build/trixie/stamp: tests/mbedtls3/fetch.sh
	sh tests/mbedtls3/fetch.sh build/trixie
	touch $@

mbedtls3: build/trixie/stamp
	$(MAKE) B=build/mbedtls3 SAN= TSAN= \
	    MBEDTLS_CFLAGS="-isystem $(abspath $(M3_ROOT))/usr/include" \
	    MBEDTLS_LIBS="-L$(M3_LIB) -Wl,-rpath,$(M3_LIB) \
	    -Wl,--disable-new-dtags" \
	    build/mbedtls3/upkit unit

# tests/mbedtls3/suite_test.sh: the tests again with the 3.6 build.
M3_ENV	 = M3_UPKIT=$(abspath build/mbedtls3/upkit) MBEDTLS3_LIB=$(M3_LIB) \
	   M3_UNIT="$(patsubst tests/unit/%.c,$(abspath build/mbedtls3/tests)/%,$(UNIT_SRC))"

demo: deps-core all
	sh tests/demo.sh $(abspath $(B)/upkit)

$(B)/tests/sha256bench: tests/bench/sha256bench.c $(B)/libupkit.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(B)/libupkit.a \
	    $(LDFLAGS) $(LDLIBS)

bench: deps-core all $(B)/tests/sha256bench
	SHA256BENCH=$(abspath $(B)/tests/sha256bench) \
	    sh tests/bench.sh $(abspath $(B)/upkit)

# Install layout, manuals, service files and the Debian package
# (docs/packaging.md). make install [DESTDIR=...] [PREFIX=...];
# install-strip strips the binary. The configuration stays in /etc
# whatever the prefix: the agent reads /etc/upkit/upkit.conf by default.
SYSCONFDIR ?= /etc
DATADIR	?= $(PREFIX)/share
MANDIR	?= $(DATADIR)/man
DOCDIR	?= $(DATADIR)/doc/upkit
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UPKIT_BIN ?= $(B)/upkit
STRIPPROG ?= $(if $(filter %-gcc,$(CC)),$(CC:%-gcc=%-strip),strip)
INSTALL_STRIP =
MAN	 = build/man/upkit.8 build/man/upkit.conf.5
UNITS	 = upkit-health.service upkit-daemon.service
OPENRC	 = upkit-health upkit-daemon
DOCS	 = README.md $(sort $(wildcard docs/*.md))
# scdoc and man-db for the manuals, systemd-analyze for the units,
# debhelper and lintian for make deb.
DEPS_PKG = scdoc man-db groff-base systemd debhelper lintian dpkg-dev
DEPS_CORE += $(DEPS_PKG)
# @BINDIR@ in the service files becomes where the binary is installed.
fill_in	 = sed 's|@BINDIR@|$(BINDIR)|g' $(1) >$(2).tmp && \
	   chmod $(3) $(2).tmp && mv $(2).tmp $(2)

.PHONY: man install-strip install-openrc uninstall deb
man: $(MAN)

# The date in the footer: SOURCE_DATE_EPOCH, else the source's commit.
build/man/%: docs/man/%.scd
	@mkdir -p $(@D)
	t=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct -- $< 2>/dev/null)}; \
	    if [ -n "$$t" ]; then SOURCE_DATE_EPOCH=$$t; \
	    export SOURCE_DATE_EPOCH; fi; scdoc <$< >$@.tmp && mv $@.tmp $@

install: $(UPKIT_BIN) $(MAN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(DOCDIR)/examples/openrc \
	    $(DESTDIR)$(SYSCONFDIR)/upkit/health.d
	install -m 0755 $(INSTALL_STRIP) $(UPKIT_BIN) $(DESTDIR)$(BINDIR)/upkit
	install -m 0644 build/man/upkit.8 $(DESTDIR)$(MANDIR)/man8/upkit.8
	install -m 0644 build/man/upkit.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/upkit.conf.5
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)
	for u in $(UNITS); do $(call fill_in,dist/systemd/$$u.in, \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/$$u,0644) || exit 1; done
	for s in $(OPENRC); do $(call fill_in,dist/openrc/$$s.in, \
	    $(DESTDIR)$(DOCDIR)/examples/openrc/$$s,0644) || exit 1; done
	$(call fill_in,dist/inittab.in,$(DESTDIR)$(DOCDIR)/examples/inittab,0644)
	install -m 0644 dist/upkit.conf $(DESTDIR)$(DOCDIR)/examples/upkit.conf
	@# An edited configuration is never overwritten.
	if [ -e $(DESTDIR)$(SYSCONFDIR)/upkit/upkit.conf ]; then \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/upkit/upkit.conf"; else \
	    install -m 0644 dist/upkit.conf \
	    $(DESTDIR)$(SYSCONFDIR)/upkit/upkit.conf; fi
	@# Written by the command-line work; installed once it is there.
	if [ -f dist/bash-completion/upkit ]; then \
	    install -d $(DESTDIR)$(BASHCOMPDIR) && install -m 0644 \
	    dist/bash-completion/upkit $(DESTDIR)$(BASHCOMPDIR)/upkit; fi

install-strip:
	$(MAKE) install INSTALL_STRIP="-s --strip-program=$(STRIPPROG)"

# OpenRC (Alpine, Gentoo): the scripts into /etc/init.d.
install-openrc:
	install -d $(DESTDIR)$(SYSCONFDIR)/init.d
	for s in $(OPENRC); do $(call fill_in,dist/openrc/$$s.in, \
	    $(DESTDIR)$(SYSCONFDIR)/init.d/$$s,0755) || exit 1; done

# Everything install put there but the configuration and health.d's
# checks, which are the user's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/upkit $(DESTDIR)$(MANDIR)/man8/upkit.8 \
	    $(DESTDIR)$(MANDIR)/man5/upkit.conf.5 \
	    $(DESTDIR)$(BASHCOMPDIR)/upkit \
	    $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS)) \
	    $(addprefix $(DESTDIR)$(SYSCONFDIR)/init.d/,$(OPENRC))
	rm -rf $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(SYSCONFDIR)/upkit/health.d 2>/dev/null

# The .deb, built by dpkg-buildpackage from debian/ in a copy of the tree
# (build/deb/src), so that its outputs land in build/deb and nothing in
# the tree changes; then lintian, which fails it on any error. The
# package gets Debian's build flags (hardening, no -Werror), not those
# of this make: its CFLAGS and MAKEFLAGS stay out.
DEB_SRC	 = build/deb/src
DEB_ENV	 = env -u CFLAGS -u CPPFLAGS -u LDFLAGS -u MAKEFLAGS -u MFLAGS \
	   -u MAKELEVEL -u B -u SAN -u TSAN
deb: deps-core
	rm -rf build/deb
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude=./.git . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && $(DEB_ENV) dpkg-buildpackage -us -uc -b -jauto
	lintian --fail-on error --display-info build/deb/*.changes

# check builds and tests the package in the plain build only: under
# SAN=1 or TSAN=1 the package would hold the plain binary again.
check: $(MAN)
ifeq ($(SAN)$(TSAN),)
check: deb
else
INTEG	:= $(filter-out tests/integration/deb_test.sh,$(INTEG))
endif

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(B)/agent/main.d
-include $(FUZZ_OBJ:.o=.d)
