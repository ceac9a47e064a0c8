/*
 * The systemd-boot backend: efivarfs strings, the two-copy store, the
 * .osrel order check, and every transition as the names it leaves in
 * EFI/Linux, with a model of the loader (pick the first entry, count its
 * try by renaming it) between them. The names and the loader's order
 * alone are efiname_test.c's.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "slots/boot/bootenv.h"
#include "slots/boot/efi.h"
#include "tests/harness.h"

static const struct bootenv_ops *ops;
static char esp[1024], lnx[1024], vars[1024];

/* An efivarfs file: attributes, then s as UTF-16LE (nul: with a NUL). */
static void
efivar_put(const char *name, const char *s, int nul)
{
	unsigned char buf[600] = { 0x06, 0, 0, 0 };
	char p[1100];
	size_t n = 4, i;

	for (i = 0; s[i] != '\0'; i++) {
		buf[n++] = (unsigned char)s[i];
		buf[n++] = 0;
	}
	if (nul) {
		buf[n++] = 0;
		buf[n++] = 0;
	}
	snprintf(p, sizeof(p), "%s/%s-%s", vars, name, EFI_LOADER_GUID);
	write_file(p, buf, n);
}

static void
test_efivar(void)
{
	unsigned char odd[] = { 6, 0, 0, 0, 'u', 0, 'p' };
	unsigned char wide[] = { 6, 0, 0, 0, 'u', 0, 0xe9, 0x00, 0, 0 };
	char v[64], p[1100];
	struct err e;

	efivar_put("LoaderEntrySelected", "upkit-2-b+3.efi", 1);
	CHECK_OK(efivar_read_string(vars, "LoaderEntrySelected", v,
	    sizeof(v), &e), &e);
	CHECK(strcmp(v, "upkit-2-b+3.efi") == 0);
	efivar_put("LoaderEntrySelected", "upkit-2-b.efi", 0);
	CHECK_OK(efivar_read_string(vars, "LoaderEntrySelected", v,
	    sizeof(v), &e), &e);
	CHECK(strcmp(v, "upkit-2-b.efi") == 0);
	CHECK(efivar_read_string(vars, "LoaderEntryDefault", v, sizeof(v),
	    &e) == -ENOENT);
	snprintf(p, sizeof(p), "%s/LoaderEntrySelected-%s", vars,
	    EFI_LOADER_GUID);
	write_file(p, odd, sizeof(odd));
	CHECK(efivar_read_string(vars, "LoaderEntrySelected", v, sizeof(v),
	    &e) == -EBADMSG);
	write_file(p, wide, sizeof(wide));
	CHECK(efivar_read_string(vars, "LoaderEntrySelected", v, sizeof(v),
	    &e) == -EBADMSG);
	write_file(p, odd, 3);
	CHECK(efivar_read_string(vars, "LoaderEntrySelected", v, sizeof(v),
	    &e) == -EBADMSG);
	efivar_put("LoaderEntrySelected", "upkit-2-b.efi", 1);
	CHECK(efivar_read_string(vars, "LoaderEntrySelected", v, 8,
	    &e) == -EBADMSG);
	/* A NUL inside would hide the rest. */
	efivar_put("LoaderEntrySelected", "upkit-2-b.efi\001x", 1);
	CHECK(efivar_read_string(vars, "LoaderEntrySelected", v, sizeof(v),
	    &e) == -EBADMSG);
}

static void
test_store(void)
{
	unsigned char buf[EFI_STORE_SIZE];
	struct efi_store s = { 0, -1, 'B', 7, 5 }, r;
	char sd[1100], note[400], why[100], p[1200];
	struct err e;

	efi_store_encode(&s, buf);
	CHECK(efi_store_decode(buf, sizeof(buf), &r, why, sizeof(why)) == 0);
	CHECK(r.trial == 'B' && r.trial_floor == 7 && r.floor == 5);
	buf[60] ^= 1;
	CHECK(efi_store_decode(buf, sizeof(buf), &r, why, sizeof(why)) ==
	    -EBADMSG);
	CHECK(efi_store_decode(buf, 100, &r, why, sizeof(why)) == -EBADMSG);

	snprintf(sd, sizeof(sd), "%s/store", dir);
	CHECK_OK(efi_store_read(sd, &r, note, sizeof(note), &e), &e);
	CHECK(r.cur == -1 && r.seq == 0 && r.trial == 0 && note[0] == '\0');
	/* Writes alternate between the copies. */
	s.seq = 0;
	s.cur = -1;
	CHECK_OK(efi_store_write(sd, &s, &e), &e);
	CHECK(s.cur == 0 && s.seq == 1);
	s.floor = 6;
	CHECK_OK(efi_store_write(sd, &s, &e), &e);
	CHECK(s.cur == 1 && s.seq == 2);
	CHECK_OK(efi_store_read(sd, &r, note, sizeof(note), &e), &e);
	CHECK(r.cur == 1 && r.seq == 2 && r.floor == 6 && r.trial == 'B');
	/* A torn write damages only the copy being written: the other
	 * holds the state before it. */
	snprintf(p, sizeof(p), "%s/state.1", sd);
	CHECK(shell("printf 'torn' | dd of=%s bs=1 seek=100 conv=notrunc "
	    "2>/dev/null", p) != NULL);
	CHECK_OK(efi_store_read(sd, &r, note, sizeof(note), &e), &e);
	CHECK(r.cur == 0 && r.seq == 1 && r.floor == 5);
	CHECK(strstr(note, "state.1") != NULL);
	CHECK_OK(efi_store_write(sd, &r, &e), &e);
	CHECK(r.cur == 1 && r.seq == 2);
}

/* EFI/Linux's file names, sorted, space-separated. */
static const char *
names(void)
{
	static char buf[1024];
	struct dirent **list;
	int i, n;

	CHECK((n = scandir(lnx, &list, NULL, alphasort)) >= 0);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s%s", buf[0] != '\0' ? " " : "",
			    list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return buf;
}

static struct bootenv *
env_open(void)
{
	struct bootenv_opts o = { vars, 3 };
	struct bootenv *b;
	struct err e;

	CHECK_OK(ops->open(esp, &b, &e), &e);
	CHECK_OK(ops->configure(b, &o, &e), &e);
	return b;
}

static void
load(struct bootstate *st)
{
	struct bootenv *b = env_open();
	struct err e;

	CHECK_OK(ops->load(b, st, &e), &e);
	ops->close(b);
}

static void
store(const struct bootstate *st)
{
	struct bootenv *b = env_open();
	struct err e;

	CHECK_OK(ops->commit(b, st, &e), &e);
	ops->close(b);
}

/* systemd-boot, modelled: picks the first live entry, counts the try by
 * renaming it (+L-D to +(L-1)-(D+1), as boot.c does before booting), and
 * exports LoaderEntrySelected (the lower-case id with the counter it had,
 * as systemd-boot 252 does). Returns the slot booted. */
static char
loader_boot(void)
{
	struct efi_entry en[2], n;
	char found[2][EFI_NAME_MAX], id[EFI_NAME_MAX], from[1200], to[1200];
	struct dirent *d;
	struct stat sb;
	size_t k = 0, i, best = 0;
	DIR *dp;

	/* An empty file has no PE header: no entry. */
	CHECK((dp = opendir(lnx)) != NULL);
	while ((d = readdir(dp)) != NULL)
		if (efi_name_parse(d->d_name, &n) == 0 && n.live && k < 2 &&
		    fstatat(dirfd(dp), d->d_name, &sb, 0) == 0 &&
		    sb.st_size > 0) {
			en[k] = n;
			snprintf(found[k++], EFI_NAME_MAX, "%.*s",
			    EFI_NAME_MAX - 1, d->d_name);
		}
	closedir(dp);
	CHECK(k > 0);
	for (i = 1; i < k; i++)
		if (efi_entry_cmp(&en[i], &en[best]) < 0)
			best = i;
	for (i = 0; found[best][i] != '\0'; i++)
		id[i] = (char)(found[best][i] | (found[best][i] >= 'A' &&
		    found[best][i] <= 'Z' ? 0x20 : 0));
	id[i] = '\0';
	efivar_put("LoaderEntrySelected", id, 1);
	if (en[best].counted) {
		n = en[best];
		n.left = n.left > 0 ? n.left - 1 : 0;
		n.done++;
		snprintf(from, sizeof(from), "%s/%s", lnx, found[best]);
		efi_name_format(&n, id);
		snprintf(to, sizeof(to), "%s/%s", lnx, id);
		CHECK(rename(from, to) == 0);
	}
	return en[best].slot;
}

static char
booted(void)
{
	struct bootenv *b = env_open();
	struct err e;
	char s = 0;

	CHECK_OK(ops->booted(b, &s, &e), &e);
	ops->close(b);
	return s;
}

static int
is(const struct bootstate *st, const char *order, int a, int b, char trial)
{
	return strcmp(st->order, order) == 0 && st->left[0] == a &&
	    st->left[1] == b && st->trial == trial;
}

/* The update of B from A and its commit. */
static void
test_update(void)
{
	struct bootstate st;
	struct bootenv *b;
	struct err e;

	CHECK(shell("rm -rf %s/EFI && mkdir -p %s", esp, lnx) != NULL);
	b = env_open();
	CHECK(ops->load(b, &st, &e) == -ENOENT);
	ops->close(b);
	/* A board image: A preferred, B good too. */
	write_str(at("esp/EFI/Linux/upkit-1-A.efi"), "uki A");
	write_str(at("esp/EFI/Linux/upkit-0-B.efi"), "uki B");
	load(&st);
	CHECK(is(&st, "AB", 3, 3, 0) && st.floor == 0);
	CHECK(loader_boot() == 'A' && booted() == 'A');

	bootstate_mark_bad(&st, 'B');
	store(&st);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-B.off") == 0);
	load(&st);
	CHECK(is(&st, "A", 3, 0, 0));

	bootstate_arm(&st, 'B', 3);
	st.trial_floor = 7;
	store(&st);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B+3.efi") == 0);
	load(&st);
	CHECK(is(&st, "BA", 3, 3, 'B') && st.trial_floor == 7);

	CHECK(loader_boot() == 'B' && booted() == 'B');
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B+2-1.efi") == 0);
	load(&st);
	CHECK(is(&st, "BA", 3, 2, 'B'));
	bootstate_commit(&st, 'B', 3);
	store(&st);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B.efi") == 0);
	load(&st);
	CHECK(is(&st, "BA", 3, 3, 0) && st.floor == 7);
	CHECK(loader_boot() == 'B');
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B.efi") == 0);
}

/* From test_update(): updates of A that never boot (fallback), then one
 * that fails its check (rollback); a default is refused. */
static void
test_fallback(void)
{
	struct bootstate st;
	struct bootenv *b;
	struct err e;

	load(&st);
	/* An update of A that hangs: three tries, then B again. */
	bootstate_mark_bad(&st, 'A');
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-A.off") == 0);
	bootstate_arm(&st, 'A', 3);
	st.trial_floor = 8;
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-3-A+3.efi") == 0);
	CHECK(loader_boot() == 'A' && loader_boot() == 'A' &&
	    loader_boot() == 'A');
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-3-A+0-3.efi") == 0);
	CHECK(loader_boot() == 'B' && booted() == 'B');
	load(&st);
	CHECK(is(&st, "BA", 0, 3, 'A'));
	/* lifecycle_fell_back(). */
	bootstate_mark_bad(&st, 'A');
	bootstate_mark_good(&st, 'B', 3);
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-A.off") == 0);
	load(&st);
	CHECK(is(&st, "B", 0, 3, 0) && st.floor == 7);

	/* An update of A that boots but fails its check. */
	bootstate_arm(&st, 'A', 3);
	st.trial_floor = 9;
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-3-A+3.efi") == 0);
	CHECK(loader_boot() == 'A');
	load(&st);
	CHECK(is(&st, "AB", 2, 3, 'A'));
	bootstate_mark_bad(&st, 'A');
	bootstate_mark_good(&st, 'B', 3);
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-A.off") == 0);
	CHECK(loader_boot() == 'B');
	load(&st);
	CHECK(is(&st, "B", 0, 3, 0) && st.floor == 7);
	/* A default pins an entry even with no tries left: refused. */
	CHECK(shell("mkdir -p %s/loader", esp) != NULL);
	write_str(at("esp/loader/loader.conf"), "timeout 0\ndefault upkit-2-b*\n");
	b = env_open();
	CHECK(ops->commit(b, &st, &e) == -EINVAL);
	CHECK(strstr(e.msg, "default upkit-2-b*") != NULL);
	ops->close(b);
	write_str(at("esp/loader/loader.conf"), "timeout 0\ndefault upkit-*\n");
	efivar_put("LoaderEntryDefault", "upkit-3-a.efi", 1);
	b = env_open();
	CHECK(ops->commit(b, &st, &e) == -EINVAL);
	CHECK(strstr(e.msg, "LoaderEntryDefault") != NULL);
	ops->close(b);
	CHECK(unlink(at("efivars/LoaderEntryDefault-" EFI_LOADER_GUID)) == 0);
	/* Storing what was loaded writes nothing. */
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-A.off") == 0);
}

/* What a cut leaves between two steps, or inside one rename on a vfat
 * mounted with dirsync (docs/efi.md): each loads as a state whose first
 * slot is whole. */
static void
test_cuts(void)
{
	struct bootstate st;
	struct bootenv *b;
	struct efi_store s;
	char note[400], sd[1100];
	struct err e;

	CHECK(shell("rm -rf %s/EFI && mkdir -p %s", esp, lnx) != NULL);
	snprintf(sd, sizeof(sd), "%s/EFI/upkit", esp);
	write_str(at("esp/EFI/Linux/upkit-2-B.efi"), "uki B");
	write_str(at("esp/EFI/Linux/upkit-A.off"), "uki A");
	/* An arm cut after its first step, the store: the trial's slot is
	 * still parked, so there is no trial yet. */
	memset(&s, 0, sizeof(s));
	s.cur = -1;
	s.trial = 'A';
	s.trial_floor = 9;
	CHECK_OK(efi_store_write(sd, &s, &e), &e);
	load(&st);
	CHECK(is(&st, "B", 0, 3, 0));
	/* The arm's rename cut after the new name's directory entry was
	 * written without its clusters: an empty upkit-3-A+3.efi, which
	 * the loader skips (no PE header), and so does upkit. */
	write_str(at("esp/EFI/Linux/upkit-3-A+3.efi"), "");
	load(&st);
	CHECK(is(&st, "B", 0, 3, 0));
	CHECK(loader_boot() == 'B');
	/* Arming again renames over the empty leftover. */
	bootstate_arm(&st, 'A', 3);
	st.trial_floor = 9;
	store(&st);
	CHECK(strcmp(names(), "upkit-2-B.efi upkit-3-A+3.efi") == 0);
	load(&st);
	CHECK(is(&st, "AB", 3, 3, 'A'));
	/* A rename cut with both names written: two entries of one
	 * slot, which may share clusters. upkit refuses to touch either;
	 * the loader still boots a whole A. */
	write_str(at("esp/EFI/Linux/upkit-A.off"), "uki A");
	b = env_open();
	CHECK(ops->load(b, &st, &e) == -EBADMSG);
	CHECK(strstr(e.msg, "two entries of slot A") != NULL);
	CHECK(ops->commit(b, &st, &e) == -EBADMSG);
	ops->close(b);
	CHECK(loader_boot() == 'A');
	CHECK(unlink(at("esp/EFI/Linux/upkit-A.off")) == 0);
	/* A commit cut after its rename, before the store: the trial is
	 * still there, on a slot without a counter: the health check runs
	 * again and commits again. */
	load(&st);
	CHECK(rename(at("esp/EFI/Linux/upkit-3-A+2-1.efi"),
	    at("esp/EFI/Linux/upkit-3-A.efi")) == 0);
	load(&st);
	CHECK(is(&st, "AB", 3, 3, 'A'));
	bootstate_commit(&st, 'A', 3);
	store(&st);
	load(&st);
	CHECK(is(&st, "AB", 3, 3, 0) && st.floor == 9);
	CHECK_OK(efi_store_read(sd, &s, note, sizeof(note), &e), &e);
	CHECK(s.trial == 0 && s.floor == 9);
}

/* A PE image as a UKI starts: "MZ", the PE header at 0x40, two
 * sections, .text and .osrel, the os-release text at 0x200. */
static size_t
mkpe(unsigned char *buf, size_t size, const char *osrel)
{
	size_t n = strlen(osrel);
	unsigned char *sec;

	CHECK(size >= 0x200 + n);
	memset(buf, 0, size);
	buf[0] = 'M';
	buf[1] = 'Z';
	buf[0x3c] = 0x40;
	memcpy(buf + 0x40, "PE\0\0", 4);
	buf[0x44] = 0x64;
	buf[0x45] = 0x86;
	buf[0x46] = 2;		/* sections */
	sec = buf + 0x58;
	memcpy(sec, ".text", 5);
	sec += 40;
	memcpy(sec, ".osrel", 6);
	sec[8] = (unsigned char)n;		/* VirtualSize */
	sec[9] = (unsigned char)(n >> 8);
	sec[17] = 0x02;				/* SizeOfRawData 0x200 */
	sec[21] = 0x02;				/* PointerToRawData 0x200 */
	memcpy(buf + 0x200, osrel, n);
	return 0x400;
}

static void
test_osrel(void)
{
	unsigned char pe[0x400];
	struct efi_osrel a, b;
	uint64_t off, size;
	size_t n;

	n = mkpe(pe, sizeof(pe), "NAME=\"LinuxKit\"\n");
	CHECK(efi_pe_section(pe, n, ".osrel", &off, &size) == 0);
	CHECK(off == 0x200 && size == 16);
	CHECK(efi_pe_section(pe, n, ".cmdline", &off, &size) == -ENOENT);
	CHECK(efi_pe_section(pe, n, ".osre", &off, &size) == -ENOENT);
	CHECK(efi_pe_section(pe, 0x60, ".osrel", &off, &size) == -EBADMSG);
	pe[0x46] = 200;			/* more sections than bytes */
	CHECK(efi_pe_section(pe, n, ".osrel", &off, &size) == -EBADMSG);
	pe[0x46] = 2;
	pe[0x3c] = 0xff;
	pe[0x3d] = 0xff;
	CHECK(efi_pe_section(pe, n, ".osrel", &off, &size) == -EBADMSG);
	pe[0] = 'X';
	CHECK(efi_pe_section(pe, n, ".osrel", &off, &size) == -EBADMSG);

	/* bootspec_pick_name_version_sort_key(): IMAGE_ID before ID,
	 * IMAGE_VERSION, VERSION, VERSION_ID, BUILD_ID in turn. */
	efi_osrel_parse("NAME=\"LinuxKit\"\n", 16, &a);
	CHECK(a.entry && a.sort_key[0] == '\0' && a.version[0] == '\0');
	efi_osrel_parse("ID=fedora\nVERSION_ID=40\nIMAGE_ID='iot'\n", 38, &a);
	CHECK(a.entry && strcmp(a.sort_key, "iot") == 0 &&
	    strcmp(a.version, "40") == 0);
	efi_osrel_parse("BUILD_ID=7\nFOO=bar", 18, &a);
	CHECK(!a.entry && strcmp(a.version, "7") == 0);

	/* Ordered by id (upkit's rank) only when .osrel cannot decide. */
	efi_osrel_parse("NAME=LinuxKit\n", 14, &a);
	efi_osrel_parse("NAME=LinuxKit\nVERSION=2\n", 24, &b);
	CHECK(efi_osrel_by_id(&a, &b));
	efi_osrel_parse("ID=lk\nVERSION=1\n", 16, &a);
	efi_osrel_parse("ID=lk\nVERSION=1\n", 16, &b);
	CHECK(efi_osrel_by_id(&a, &b));
	efi_osrel_parse("ID=lk\nVERSION=2\n", 16, &b);
	CHECK(!efi_osrel_by_id(&a, &b));
	efi_osrel_parse("NAME=lk\n", 8, &b);
	CHECK(!efi_osrel_by_id(&a, &b));
	efi_osrel_parse("ID=other\nVERSION=1\n", 19, &b);
	CHECK(!efi_osrel_by_id(&a, &b));
	b.entry = 0;
	CHECK(efi_osrel_by_id(&a, &b));
}

/* An arm that systemd-boot's .osrel order would undo is refused before
 * any step; UKIs that leave the order to the ids arm. */
static void
test_arm_osrel(void)
{
	unsigned char pe[0x400];
	struct bootstate st;
	struct bootenv *b;
	struct err e;
	size_t n;

	CHECK(shell("rm -rf %s/EFI %s/loader && mkdir -p %s", esp, esp, lnx)
	    != NULL);
	n = mkpe(pe, sizeof(pe), "ID=lk\nVERSION=2\n");
	write_file(at("esp/EFI/Linux/upkit-1-A.efi"), pe, n);
	n = mkpe(pe, sizeof(pe), "ID=lk\nVERSION=1\n");
	write_file(at("esp/EFI/Linux/upkit-B.off"), pe, n);
	load(&st);
	bootstate_arm(&st, 'B', 3);
	b = env_open();
	CHECK(ops->commit(b, &st, &e) == -EINVAL);
	CHECK(strstr(e.msg, "\"1\"") != NULL && strstr(e.msg, "\"2\"") != NULL);
	ops->close(b);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-B.off") == 0);
	load(&st);
	CHECK(is(&st, "A", 3, 0, 0));
	n = mkpe(pe, sizeof(pe), "NAME=LinuxKit\n");
	write_file(at("esp/EFI/Linux/upkit-B.off"), pe, n);
	write_file(at("esp/EFI/Linux/upkit-1-A.efi"), pe, n);
	bootstate_arm(&st, 'B', 3);
	store(&st);
	CHECK(strcmp(names(), "upkit-1-A.efi upkit-2-B+3.efi") == 0);
}

int
main(void)
{
	CHECK((ops = bootenv_find("efi")) != NULL);
	tmpdir_make("efi_test");
	snprintf(esp, sizeof(esp), "%s/esp", dir);
	snprintf(lnx, sizeof(lnx), "%s/esp/EFI/Linux", dir);
	snprintf(vars, sizeof(vars), "%s/efivars", dir);
	CHECK(shell("mkdir -p %s %s", lnx, vars) != NULL);

	test_efivar();
	test_store();
	test_update();
	test_fallback();
	test_cuts();
	test_osrel();
	test_arm_osrel();

	tmpdir_remove();
	return 0;
}
