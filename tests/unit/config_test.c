/*
 * config_test: agent/config.c on real files. Every error path is a row of
 * the table: INI text, expected errno and the message that follows the
 * file name, line number included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "common/err.h"
#include "tests/harness.h"

/* Lines 1-3, 4-5, 6-7 and 8-13. */
#define SYS	"[system]\ncompatible = acme-board\nbootloader = uboot\n"
#define KEYRING	"[keyring]\npath = /etc/upkit/keyring.pem\n"
#define UBOOT	"[uboot]\nconfig = /etc/fw_env.config\n"
#define BASE	SYS KEYRING UBOOT
#define SLOTS	"[slot.rootfs.0]\ndevice = /dev/a\nbootname = A\n" \
		"[slot.rootfs.1]\ndevice = /dev/b\nbootname = B\n"

struct bad {
	const char	*text;
	int		 code;
	const char	*want;		/* text after the path */
};

static const struct bad bad[] = {
	{ BASE SLOTS "[bogus]\n", -EINVAL,
	    ":14: [bogus]: unknown section" },
	{ "[ system ]\n", -EINVAL, ":1: [ system ]: unknown section" },
	{ SYS "colour = red\n", -EINVAL, ":4: [system] colour: unknown key" },
	{ BASE "[slot.rootfs.0]\nsize = 3\n", -EINVAL,
	    ":9: [slot.rootfs.0] size: unknown key" },
	{ BASE "colour = red\n", -EINVAL, ":8: [uboot] colour: unknown key" },
	{ SYS "compatible = other\n", -EINVAL,
	    ":4: [system] compatible: given twice (first on line 2)" },
	{ BASE "[slot.rootfs.0]\ndevice = /dev/a\nbootname = C\n", -EINVAL,
	    ":10: [slot.rootfs.0] bootname: \"C\" is not A or B" },
	{ BASE "[slot.rootfs.0]\nbootname = AB\n", -EINVAL,
	    ":9: [slot.rootfs.0] bootname: \"AB\" is not A or B" },
	{ BASE "[slot.rootfs.0]\ntype = ext4\n", -EINVAL,
	    ":9: [slot.rootfs.0] type: \"ext4\" is not raw, files or uki" },
	{ "[system]\nbootloader = lilo\n", -EINVAL,
	    ":2: [system] bootloader: \"lilo\" is not supported "
	    "(supported: uboot" },
	{ "[system]\ncompatible = x\nbootloader = none\n" KEYRING
	    "[slot.disk.0]\ndevice = /dev/a\nbootname = B\n", -EINVAL,
	    ":8: [slot.disk.0] bootname: B: with bootloader = none each "
	    "class has one slot, bootname A" },
	{ SYS "boot-attempts = 0\n", -EINVAL,
	    ":4: [system] boot-attempts: \"0\" is not an integer from 1 to 9" },
	{ SYS "boot-attempts = 10\n", -EINVAL,
	    ":4: [system] boot-attempts: \"10\" is not an integer" },
	{ SYS "boot-attempts = 3x\n", -EINVAL,
	    ":4: [system] boot-attempts: \"3x\" is not an integer" },
	{ SYS "boot-attempts =\n", -EINVAL,
	    ":4: [system] boot-attempts: \"\" is not an integer" },
	{ SYS "allow-special-modes = true\n", -EINVAL,
	    ":4: [system] allow-special-modes: \"true\" is not yes or no" },
	{ SYS "allow-special-modes =\n", -EINVAL,
	    ":4: [system] allow-special-modes: \"\" is not yes or no" },
	{ SYS "journal-interval-mb = 0\n", -EINVAL,
	    ":4: [system] journal-interval-mb: \"0\" is not a number of MiB "
	    "from 1 to 1048576" },
	{ SYS "journal-interval-s = 86401\n", -EINVAL,
	    ":4: [system] journal-interval-s: \"86401\" is not a number of "
	    "seconds" },
	{ BASE "[server]\ninterval = 9\n", -EINVAL,
	    ":9: [server] interval: \"9\" is not a number of seconds from "
	    "10 to 604800" },
	{ BASE "[server]\ninterval = 604801\n", -EINVAL,
	    ":9: [server] interval: \"604801\" is not a number of seconds" },
	{ BASE "[server]\nchannel = ftp://x/c.upc\n", -EINVAL,
	    ":9: [server] channel: \"ftp://x/c.upc\" is not an http:// or "
	    "https:// URL with a host" },
	{ BASE "[server]\nchannel = https:///c.upc\n", -EINVAL,
	    ":9: [server] channel: \"https:///c.upc\" is not an http:// or "
	    "https:// URL with a host" },
	{ BASE "[server]\nchannel = http://x/a b.upc\n", -EINVAL,
	    ":9: [server] channel: \"http://x/a b.upc\": byte 11 is not "
	    "visible ASCII" },
	{ SYS "device-id = dev 7\n", -EINVAL,
	    ":4: [system] device-id: \"dev 7\": byte 4 is not visible "
	    "ASCII" },
	{ SYS "machine-id-file = etc/machine-id\n", -EINVAL,
	    ":4: [system] machine-id-file: \"etc/machine-id\" is not an "
	    "absolute path" },
	{ BASE "[health]\ntimeout = 0\n", -EINVAL,
	    ":9: [health] timeout: \"0\" is not a number of seconds from 1 "
	    "to 86400" },
	{ BASE "[health]\ntimeout = 86401\n", -EINVAL,
	    ":9: [health] timeout: \"86401\" is not a number of seconds" },
	{ BASE "[health]\ntimeout = 1000000000000000000000\n", -EINVAL,
	    ":9: [health] timeout: \"1000000000000000000000\" is not a "
	    "number" },
	{ BASE "[health]\ndeadline = 5s\n", -EINVAL,
	    ":9: [health] deadline: \"5s\" is not a number of seconds" },
	{ BASE "[health]\ndeadline = -5\n", -EINVAL,
	    ":9: [health] deadline: \"-5\" is not a number of seconds" },
	{ BASE "[health]\ndeadline =\n", -EINVAL,
	    ":9: [health] deadline: \"\" is not a number of seconds" },
	{ BASE "[health]\ndirectory = health.d\n", -EINVAL,
	    ":9: [health] directory: \"health.d\" is not an absolute path" },
	{ BASE "[health]\ncommand = /bin/true\n", -EINVAL,
	    ":9: [health] command: unknown key" },
	{ BASE "[health]\ntimeout = 5\ntimeout = 6\n", -EINVAL,
	    ":10: [health] timeout: given twice (first on line 9)" },
	{ SYS "data-directory = var/lib/upkit\n", -EINVAL,
	    ":4: [system] data-directory: \"var/lib/upkit\" is not an "
	    "absolute path" },
	{ "[system]\ncompatible =\n", -EINVAL,
	    ":2: [system] compatible: empty value" },
	{ "[system]\ncompatible = a\tb\n", -EINVAL,
	    ":2: [system] compatible: byte 2 is not printable ASCII" },
	{ "[system]\ncompatible = "
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "012345678\n", -EINVAL,
	    ":2: [system] compatible: longer than 128 bytes" },
	{ BASE "[keyring]\n", -EINVAL,
	    ":8: [keyring]: section given twice (first on line 4)" },
	{ BASE SLOTS "[slot.rootfs.0]\n", -EINVAL,
	    ":14: [slot.rootfs.0]: section given twice (first on line 8)" },
	{ "[slot.Rootfs.0]\n", -EINVAL,
	    ":1: [slot.Rootfs.0]: not a valid slot section" },
	{ "[slot.rootfs]\n", -EINVAL,
	    ":1: [slot.rootfs]: not a valid slot section" },
	{ "[slot.rootfs.100]\n", -EINVAL,
	    ":1: [slot.rootfs.100]: not a valid slot section" },
	{ "[slot.rootfs.01]\n", -EINVAL,
	    ":1: [slot.rootfs.01]: not a valid slot section" },
	{ "[slot..0]\n", -EINVAL, ":1: [slot..0]: not a valid slot section" },
	{ "[slot._x.0]\n", -EINVAL,
	    ":1: [slot._x.0]: not a valid slot section" },
	{ "[slot.rootfs.a]\n", -EINVAL,
	    ":1: [slot.rootfs.a]: not a valid slot section" },
	{ "[slot.abcdefghijabcdefghijabcdefghijabc.0]\n", -EINVAL,
	    ":1: [slot.abcdefghijabcdefghijabcdefghijabc.0]: not a valid" },
	{ "[system] compatible = x\n", -EINVAL,
	    ":1: text after a section header" },
	{ SYS "this line has no equals sign\n", -EINVAL,
	    ":4: syntax error" },
	{ "[system\ncompatible = x\n", -EINVAL, ":1: syntax error" },
	{ "compatible = x\n", -EINVAL,
	    ":1: compatible: key outside any section" },
	{ SYS "  cmdline = /x\n", -EINVAL,
	    ":4: [system] bootloader: indented line" },
	{ SYS "cmdline = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n", -EINVAL, ":4: line longer than" },
	/* Errors found after parsing carry no line, or the key's line. */
	{ "", -EINVAL, ": [system] compatible: missing" },
	{ KEYRING UBOOT SLOTS, -EINVAL, ": [system] compatible: missing" },
	{ "[system]\ncompatible = b\n" KEYRING UBOOT SLOTS, -EINVAL,
	    ": [system] bootloader: missing" },
	{ SYS UBOOT SLOTS, -EINVAL, ": [keyring] path: missing" },
	{ SYS KEYRING SLOTS, -EINVAL,
	    ": [uboot] config: missing (required when bootloader = uboot)" },
	{ "[system]\ncompatible = b\nbootloader = efi\n" KEYRING SLOTS,
	    -EINVAL, ": [efi] esp: missing (required when bootloader = efi)" },
	{ BASE "[efi]\nesp = boot/efi\n", -EINVAL,
	    ":9: [efi] esp: \"boot/efi\" is not an absolute path" },
	{ BASE "[efi]\nefivarfs = efivars\n", -EINVAL,
	    ":9: [efi] efivarfs: \"efivars\" is not an absolute path" },
	{ BASE, -EINVAL, ": no [slot.CLASS.N] section" },
	{ BASE "[slot.rootfs.0]\nbootname = A\n", -EINVAL,
	    ": [slot.rootfs.0] device: missing" },
	{ BASE "[slot.rootfs.0]\ndevice = /dev/a\n", -EINVAL,
	    ": [slot.rootfs.0] bootname: missing" },
	{ BASE SLOTS "[slot.boot.0]\n", -EINVAL,
	    ": [slot.boot.0] device: missing" },
	{ BASE "[slot.rootfs.0]\ndevice = /dev/a\nbootname = A\n"
	    "[slot.rootfs.1]\ndevice = /dev/b\nbootname = A\n", -EINVAL,
	    ":13: [slot.rootfs.1] bootname: A is also the bootname of "
	    "[slot.rootfs.0]" },
	{ BASE "[slot.rootfs.0]\ndevice = /dev/a\nbootname = A\n", -EINVAL,
	    ": class rootfs: no slot with bootname B" },
	{ BASE SLOTS "[slot.boot.0]\ndevice = /b\nbootname = B\n", -EINVAL,
	    ": class boot: no slot with bootname A" },
	{ BASE "[slot.rootfs.0]\ndevice = /dev/a\nbootname = A\n"
	    "[slot.rootfs.1]\ndevice = /dev/a\nbootname = B\n", -EINVAL,
	    ":12: [slot.rootfs.1] device: /dev/a is also the device of "
	    "[slot.rootfs.0]" },
	{ BASE "[slot.boot.0]\ndevice = /dev/x\nbootname = A\n"
	    "[slot.boot.1]\ntype = files\ndevice = boot/b\nbootname = B\n",
	    -EINVAL, ":13: [slot.boot.1] device: \"boot/b\" is not an "
	    "absolute path (type files)" },
};

static void
expect_bad(const char *path, const char *text, size_t len, int code,
    const char *want)
{
	struct config *c = (struct config *)1;
	struct err e = { 0, "" };
	size_t n = strlen(path);
	int r;

	write_file(path, text, len);
	r = config_load(path, &c, &e);
	if (r != code || c != NULL || e.code != code ||
	    strncmp(e.msg, path, n) != 0 ||
	    strncmp(e.msg + n, want, strlen(want)) != 0) {
		fprintf(stderr, "config:\n%s\nwant %d \"%s\"\ngot  %d \"%s\"\n",
		    text, code, want, r, e.msg);
		exit(1);
	}
}

static void
test_bad(const char *path)
{
	char text[4096];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(path, bad[i].text, strlen(bad[i].text), bad[i].code,
		    bad[i].want);

	/* A NUL byte cannot sit in a table string. */
	expect_bad(path, SYS "cmdline = /x\0y\n",
	    sizeof(SYS "cmdline = /x\0y\n") - 1, -EINVAL,
	    ":4: NUL byte in line");

	/* One slot too many, each class with its A and B. */
	n = (size_t)snprintf(text, sizeof(text), "%s", BASE);
	for (i = 0; i <= CONFIG_SLOTS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "[slot.c%zu.%zu]\ndevice = /dev/d%zu\nbootname = %c\n",
		    i / 2, i % 2, i, i % 2 ? 'B' : 'A');
	expect_bad(path, text, n, -EINVAL,
	    ":56: [slot.c8.0]: more than 16 slots");
}

static void
test_good(const char *path)
{
	static const char text[] =
	    "; comment\n"
	    "# another\n"
	    "[system]\n"
	    "compatible = acme board v1 ; inline comment\n"
	    "bootloader = uboot\n"
	    "data-directory = /data/upkit\n"
	    "boot-attempts = 5\n"
	    "cmdline = /tmp/cmdline\n"
	    "journal-interval-mb = 1048576\n"
	    "journal-interval-s = 1\n"
	    "\n"
	    "[keyring]\n"
	    "path = /etc/upkit/keyring.pem\n"
	    "crl = /etc/upkit/crl.pem\n"
	    "[uboot]\n"
	    "config = /etc/fw_env.config\n"
	    "[grub]\n"
	    "env = /boot/grub/grubenv\n"
	    "[efi]\n"
	    "esp = /boot/efi\n"
	    "efivarfs = /tmp/efivars\n"
	    "[health]\n"
	    "directory = /etc/upkit/checks\n"
	    "timeout = 7\n"
	    "deadline = 86400\n"
	    "[server]\n"
	    "channel = https://updates.example.com/stable.upc\n"
	    "interval = 10\n"
	    "[slot.rootfs.0]\n"
	    "device = /dev/mmcblk0p2\n"
	    "bootname = A\n"
	    "[slot.rootfs.1]\n"
	    "bootname = B\n"
	    "device = /dev/mmcblk0p3\n"
	    "type = raw\n"
	    "[slot.boot-fw_2.0]\n"
	    "type = files\n"
	    "device = /boot/a\n"
	    "bootname = A\n"
	    "[slot.boot-fw_2.1]\n"
	    "type = files\n"
	    "device = /boot/b\n"
	    "bootname = B\n";
	struct config *c;
	struct err e = { 0, "" };
	const struct slot *s;

	write_file(path, text, sizeof(text) - 1);
	CHECK_OK(config_load(path, &c, &e), &e);
	CHECK(strcmp(c->path, path) == 0);
	CHECK(strcmp(c->compatible, "acme board v1") == 0);
	CHECK(strcmp(c->bootloader, "uboot") == 0);
	CHECK(strcmp(c->data_directory, "/data/upkit") == 0);
	CHECK(c->boot_attempts == 5);
	CHECK(c->journal_mb == 1048576 && c->journal_s == 1);
	CHECK(strcmp(c->cmdline, "/tmp/cmdline") == 0);
	CHECK(strcmp(c->keyring_path, "/etc/upkit/keyring.pem") == 0);
	CHECK(strcmp(c->keyring_crl, "/etc/upkit/crl.pem") == 0);
	CHECK(strcmp(c->uboot_config, "/etc/fw_env.config") == 0);
	CHECK(strcmp(c->grub_env, "/boot/grub/grubenv") == 0);
	CHECK(strcmp(c->efi_esp, "/boot/efi") == 0);
	CHECK(strcmp(c->efi_efivarfs, "/tmp/efivars") == 0);
	CHECK(strcmp(config_bootenv_path(c), "/etc/fw_env.config") == 0);
	CHECK(strcmp(c->health_directory, "/etc/upkit/checks") == 0);
	CHECK(c->health_timeout == 7);
	CHECK(c->health_deadline == 86400);
	CHECK(strcmp(c->server_channel,
	    "https://updates.example.com/stable.upc") == 0);
	CHECK(c->server_interval == 10);
	CHECK(c->nslots == 4);
	CHECK(strcmp(c->slots[0].name, "rootfs.0") == 0);
	CHECK(strcmp(c->slots[0].class, "rootfs") == 0);
	CHECK(c->slots[0].bootname == 'A');
	CHECK(c->slots[0].type == SLOT_RAW);
	CHECK(strcmp(c->slots[0].device, "/dev/mmcblk0p2") == 0);
	CHECK((s = config_slot(c, "rootfs", 'B')) == &c->slots[1]);
	CHECK(s->type == SLOT_RAW);
	CHECK(strcmp(s->device, "/dev/mmcblk0p3") == 0);
	CHECK((s = config_slot(c, "boot-fw_2", 'B')) == &c->slots[3]);
	CHECK(strcmp(s->name, "boot-fw_2.1") == 0);
	CHECK(strcmp(s->class, "boot-fw_2") == 0);
	CHECK(s->type == SLOT_FILES);
	CHECK(strcmp(s->device, "/boot/b") == 0);
	CHECK(config_slot(c, "boot", 'A') == NULL);
	CHECK(config_slot(c, "rootfs", 'C') == NULL);
	config_free(c);

	/* The smallest config: every default applies. */
	write_file(path, BASE SLOTS, strlen(BASE SLOTS));
	CHECK_OK(config_load(path, &c, &e), &e);
	CHECK(strcmp(c->data_directory, "/var/lib/upkit") == 0);
	CHECK(c->boot_attempts == 3);
	CHECK(c->journal_mb == 64 && c->journal_s == 10);
	CHECK(strcmp(c->cmdline, "/proc/cmdline") == 0);
	CHECK(c->keyring_crl == NULL);
	CHECK(c->grub_env == NULL);
	CHECK(c->efi_esp == NULL && c->efi_efivarfs == NULL);
	CHECK(strcmp(c->health_directory, "/etc/upkit/health.d") == 0);
	CHECK(c->health_timeout == 60);
	CHECK(c->health_deadline == 300);
	CHECK(c->server_channel == NULL && c->channel_keyring == NULL);
	CHECK(c->server_interval == 3600);
	CHECK(c->device_id == NULL);
	CHECK(strcmp(c->machine_id_file, "/etc/machine-id") == 0);
	CHECK(c->nslots == 2);
	CHECK(!c->special_modes && !c->slots[0].special_modes &&
	    !c->slots[1].special_modes);
	config_free(c);
	config_free(NULL);

	/* allow-special-modes reaches every slot: the writer reads no
	 * config. */
	write_file(path, SYS "allow-special-modes = yes\n" KEYRING UBOOT SLOTS,
	    strlen(SYS "allow-special-modes = yes\n" KEYRING UBOOT SLOTS));
	CHECK_OK(config_load(path, &c, &e), &e);
	CHECK(c->special_modes && c->slots[0].special_modes &&
	    c->slots[1].special_modes);
	config_free(c);
	write_file(path, SYS "allow-special-modes = no\n" KEYRING UBOOT SLOTS,
	    strlen(SYS "allow-special-modes = no\n" KEYRING UBOOT SLOTS));
	CHECK_OK(config_load(path, &c, &e), &e);
	CHECK(!c->special_modes && !c->slots[1].special_modes);
	config_free(c);
}

static void
test_path(void)
{
	struct config *c = (struct config *)1;
	struct err e = { 0, "" };
	char missing[64];

	CHECK(unsetenv("UPKIT_CONFIG") == 0);
	CHECK(strcmp(config_path(NULL), CONFIG_DEFAULT_PATH) == 0);
	CHECK(setenv("UPKIT_CONFIG", "", 1) == 0);
	CHECK(strcmp(config_path(NULL), CONFIG_DEFAULT_PATH) == 0);
	CHECK(setenv("UPKIT_CONFIG", "/env/upkit.conf", 1) == 0);
	CHECK(strcmp(config_path(NULL), "/env/upkit.conf") == 0);
	CHECK(strcmp(config_path("/x.conf"), "/x.conf") == 0);

	snprintf(missing, sizeof(missing), "%s/missing.conf", dir);
	CHECK(config_load(missing, &c, &e) == -ENOENT);
	CHECK(c == NULL);
	CHECK(strstr(e.msg, missing) != NULL);
}

/*
 * config_parse() on text in memory, which need not end in a NUL. A last
 * line just over inih's limit and without a newline was copied one byte
 * past the text (fuzz_config; ASan sees it in make SAN=1).
 */
static void
test_parse(void)
{
	static const char good[] = SYS KEYRING UBOOT SLOTS;
	struct config *c;
	struct err e;
	char *text;
	size_t len, n;

	CHECK_OK(config_parse("mem.conf", good, sizeof(good) - 1, &c, &e),
	    &e);
	CHECK(strcmp(c->path, "mem.conf") == 0 && c->nslots == 2);
	config_free(c);

	for (len = 100; len < 1100; len++) {
		n = sizeof(SYS) - 1;
		CHECK((text = malloc(n + len)) != NULL);
		memcpy(text, SYS, n);
		memcpy(text + n, "cmdline = /", 11);
		memset(text + n + 11, 'a', len - 11);
		c = (struct config *)1;
		CHECK(config_parse("mem.conf", text, n + len, &c, &e) ==
		    -EINVAL);
		CHECK(c == NULL);
		CHECK(strncmp(e.msg, "mem.conf", 8) == 0);
		free(text);
	}
}

int
main(void)
{
	char path[64];

	tmpdir_make("config_test");
	snprintf(path, sizeof(path), "%s/upkit.conf", dir);
	test_path();
	test_parse();
	test_good(path);
	test_bad(path);
	unlink(path);
	rmdir(dir);
	return 0;
}
