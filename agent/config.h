/*
 * agent/config: /etc/upkit/upkit.conf, INI read with libinih
 * (docs/configuration.md). -c FILE or UPKIT_CONFIG overrides the path.
 * Errors name the file, the line and the key.
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stddef.h>

#include "slots/slot.h"

struct err;

#define CONFIG_DEFAULT_PATH	"/etc/upkit/upkit.conf"
#define CONFIG_SLOTS_MAX	16
#define CONFIG_SECONDS_MAX	86400	/* [health] timeout, deadline */
#define CONFIG_RETRIES_MAX	1000000	/* [server] retries */
#define CONFIG_MS_MAX		3600000	/* [server] backoff-ms, backoff-max-ms */
#define CONFIG_MIB_MAX		1048576	/* [system] journal-interval-mb */
#define CONFIG_COUNT_MAX	1000000	/* [server] outbox-max, -kb */
#define CONFIG_INTERVAL_MIN	10	/* [server] interval, s */
#define CONFIG_INTERVAL_MAX	604800	/* a week */
#define CONFIG_DEVICE_ID_MAX	255	/* verify/rollout.h ROLLOUT_ID_MAX */
#define CONFIG_URL_MAX		2048
/* [system] bootloader for a machine upkit reimages and selects nothing
 * on (docs/reimage.md). */
#define CONFIG_BOOTLOADER_NONE	"none"

struct config {
	char		*path;			/* the file read */
	/* [system] */
	char		*compatible;		/* required */
	char		*bootloader;		/* "uboot", "grub", "efi",
						   "none" */
	char		*data_directory;	/* default /var/lib/upkit */
	int		 data_volatile;		/* tmpfs is intended; default 0 */
	int		 boot_attempts;		/* default 3, 1..9 */
	char		*cmdline;		/* default /proc/cmdline */
	int		 special_modes;		/* allow-special-modes */
	int		 journal_mb;		/* journal-interval-mb; default 64 */
	int		 journal_s;		/* journal-interval-s; default 10 */
	char		*device_id;		/* device-id; NULL: machine id */
	char		*machine_id_file;	/* default /etc/machine-id */
	/* [keyring] */
	char		*keyring_path;		/* required */
	char		*keyring_crl;		/* NULL if none */
	/* [uboot] */
	char		*uboot_config;		/* fw_env.config path */
	/* [grub] */
	char		*grub_env;		/* grubenv path */
	/* [efi] */
	char		*efi_esp;		/* where the ESP is mounted */
	char		*efi_efivarfs;		/* NULL: EFI_EFIVARFS */
	/* [health] */
	char		*health_directory;	/* /etc/upkit/health.d */
	int		 health_timeout;	/* per check, s; default 60 */
	int		 health_deadline;	/* all checks, s; default 300 */
	/* [server]: for --from URL (source/source.h) */
	char		*server_ca;		/* CA file; NULL: system CAs */
	char		*server_pin;		/* "sha256//BASE64[;...]" */
	char		*server_cert;		/* client certificate */
	char		*server_key;		/* its key; NULL: in cert */
	int		 server_stall;		/* stall-timeout, s; default 30 */
	int		 server_connect;	/* connect-timeout, s; default 30 */
	int		 server_retries;	/* in a row; 0: no limit;
						   default 10 */
	int		 server_backoff;	/* backoff-ms; default 1000 */
	int		 server_backoff_max;	/* backoff-max-ms; default 60000 */
	char		*report_url;		/* a reporturl.h template; NULL:
						   reports stay in the outbox */
	int		 outbox_max;		/* reports kept; default 64 */
	int		 outbox_max_kb;		/* their KiB; default 1024 */
	/* [server]: for upkit daemon (docs/daemon.md) */
	char		*server_channel;	/* channel URL; NULL: none */
	int		 server_interval;	/* s between polls; default 3600 */
	char		*channel_keyring;	/* NULL: [keyring] path */
	/* [slot.CLASS.N] */
	size_t		 nslots;
	struct slot	 slots[CONFIG_SLOTS_MAX];
};

/* Path to read: explicit (from -c) if not NULL, else $UPKIT_CONFIG,
 * else CONFIG_DEFAULT_PATH. */
const char *config_path(const char *explicit_path);

/* Reads and checks path. Unknown sections or keys, bad values, missing
 * required keys, slots without a partner, or slots whose storage overlaps
 * another slot or a path upkit owns (docs/configuration.md) are errors
 * ("FILE:LINE: key: what is wrong"). Free with config_free(). */
int	config_load(const char *path, struct config **cp, struct err *e);
/* config_load() on len bytes of text in memory (no NUL needed), with
 * name standing for the path in messages and c->path, minus the storage
 * checks: nothing on the filesystem is looked at. For tests and fuzzing. */
int	config_parse(const char *name, const char *text, size_t len,
	    struct config **cp, struct err *e);
void	config_free(struct config *c);		/* accepts NULL */

/* The slot of class with bootname, or NULL. */
const struct slot *config_slot(const struct config *c, const char *class,
	    char bootname);

/* 1 if [system] bootloader = none: one slot a class (bootname A), no
 * boot env, no state; only `upkit update` runs (agent/reimage.c). */
int	config_reimage(const struct config *c);

/* The path the bootloader backend opens: [uboot] config for uboot,
 * [grub] env for grub, [efi] esp for efi; NULL for a backend that takes
 * none. */
const char *config_bootenv_path(const struct config *c);

/* Install time: the storage checks of config_load() again, for the
 * slots with bootname target against every other slot and path upkit
 * owns, as the paths resolve now ("[slot.X] device: ... is also the
 * device of [slot.Y] (...)", -EINVAL). */
int	config_check_target(const struct config *c, char target,
	    struct err *e);
/* device_open(): -EINVAL if [system] data-directory (or the nearest
 * existing folder above it) is on tmpfs or ramfs, unless [system]
 * data-directory-volatile = yes. */
int	config_check_data_directory(const struct config *c, struct err *e);

#endif /* AGENT_CONFIG_H */
