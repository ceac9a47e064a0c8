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
CPPFLAGS += -I. -D_GNU_SOURCE \
	   $(shell pkg-config --cflags libcurl $(PKGS) 2>/dev/null)
LDLIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linih -lxxhash \
	   -lmbedtls -lmbedx509 -lmbedcrypto -lpthread	# mbedtls 2.28: no .pc

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
	     host/esp.c host/fat.c
AGENT_SRC  = agent/config.c agent/config_ini.c agent/config_check.c \
	     agent/state.c agent/util.c \
	     agent/info.c agent/install.c agent/checkpoint.c agent/keyfiles.c \
	     agent/update.c agent/update_cmd.c agent/status.c agent/progress.c agent/device.c \
	     agent/health.c agent/checks.c agent/lifecycle.c agent/exitcode.c \
	     agent/stop.c agent/resume.c agent/channel.c \
	     agent/daemon.c agent/poll.c \
	     agent/reporturl.c agent/outbox.c agent/report.c \
	     agent/outbox_send.c agent/reportcmd.c
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
	   grub-efi-amd64-bin fdisk dosfstools mtools
DEPS_E2E = qemu-system-x86 qemu-system-arm qemu-user ovmf u-boot-qemu \
	   systemd-boot-efi binutils \
	   gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
	   libmbedtls-dev:arm64 libcurl4-openssl-dev:arm64 libzstd-dev:arm64 \
	   libubootenv-dev:arm64 libcjson-dev:arm64 libinih-dev:arm64 \
	   libxxhash-dev:arm64

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
	$(call install_missing,$(DEPS_E2E))

unit: $(UNIT_BIN)

# Real boots in QEMU (tests/e2e). check runs them once, in the plain
# build: under SAN=1 or TSAN=1 the guest would run a sanitized upkit at
# TCG speed.
ifeq ($(SAN)$(TSAN),)
E2E_RUN	 = $(E2E)
endif
check: deps $(B)/upkit $(UNIT_BIN) $(FUZZ_BIN) $(B)/tests/badwrite.so \
    $(B)/tests/nospace.so $(if $(E2E_RUN),arm64) $(TOOLS)
	UPKIT=$(abspath $(B)/upkit) FUZZ_DIR=$(abspath build/fuzz) \
	    SHIM_DIR=$(abspath $(B)/tests) TOOL_DIR=$(abspath $(B)/tests) \
	    sh tests/run.sh $(UNIT_BIN) $(INTEG) $(E2E_RUN)

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

demo: deps-core all
	sh tests/demo.sh $(abspath $(B)/upkit)

$(B)/tests/sha256bench: tests/bench/sha256bench.c $(B)/libupkit.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(B)/libupkit.a \
	    $(LDFLAGS) $(LDLIBS)

bench: deps-core all $(B)/tests/sha256bench
	SHA256BENCH=$(abspath $(B)/tests/sha256bench) \
	    sh tests/bench.sh $(abspath $(B)/upkit)

install: $(B)/upkit
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/upkit $(DESTDIR)$(BINDIR)/upkit

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(B)/agent/main.d
-include $(FUZZ_OBJ:.o=.d)
