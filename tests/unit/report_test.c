/*
 * report_test: the [server] report-url template (expansion, escaping,
 * names refused at config load), the report document, and the outbox
 * on a real folder: sequence, count and byte caps with the oldest
 * dropped first, and the dropped counter in the next report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "agent/outbox.h"
#include "agent/report.h"
#include "agent/reporturl.h"
#include "common/err.h"
#include "tests/harness.h"

static void
test_template(void)
{
	struct report_vars v = { "dev 1/../x?y", "20261207T140116Z", "42",
	    "rolled-back" };
	struct err e = { 0, "" };
	char url[REPORTURL_MAX], small[24];

	CHECK_OK(report_url_expand("https://r.example/{device}/{time}-{seq}"
	    ".json?r={result}", &v, url, sizeof(url), &e), &e);
	/* A device id cannot add a path segment or a query. */
	CHECK(strcmp(url, "https://r.example/dev%201%2F..%2Fx%3Fy/"
	    "20261207T140116Z-42.json?r=rolled-back") == 0);
	CHECK_OK(report_url_check("http://h/{device}{device}", &e), &e);
	CHECK(report_url_check("https://h/{devce}.json", &e) == -EINVAL);
	CHECK(strstr(e.msg, "unknown {devce}") != NULL);
	CHECK(report_url_check("https://h/{device", &e) == -EINVAL);
	CHECK(report_url_check("https://h/}", &e) == -EINVAL);
	CHECK(report_url_check("https://h/{}", &e) == -EINVAL);
	CHECK(report_url_check("ftp://h/{device}", &e) == -EINVAL);
	CHECK(report_url_check("/reports/{device}", &e) == -EINVAL);
	CHECK(report_url_expand("http://h/{device}", &v, small,
	    sizeof(small), &e) == -ENAMETOOLONG);
}

static void
test_config(void)
{
	static const char base[] = "[system]\ncompatible = b\nbootloader = "
	    "uboot\ndevice-id = d-1\n[uboot]\nconfig = /x\n[keyring]\n"
	    "path = /k\n[slot.rootfs.0]\ndevice = /a\nbootname = A\n"
	    "[slot.rootfs.1]\ndevice = /b\nbootname = B\n[server]\n";
	struct config *c = NULL;
	struct err e = { 0, "" };
	char text[512];

	snprintf(text, sizeof(text), "%sreport-url = https://h/{device}/"
	    "{time}.json\noutbox-max = 5\n", base);
	CHECK_OK(config_parse("r.conf", text, strlen(text), &c, &e), &e);
	CHECK(strcmp(c->device_id, "d-1") == 0);
	CHECK(strcmp(c->report_url, "https://h/{device}/{time}.json") == 0);
	CHECK(c->outbox_max == 5 && c->outbox_max_kb == 1024);
	config_free(c);
	snprintf(text, sizeof(text), "%sreport-url = https://h/{host}.json\n",
	    base);
	CHECK(config_parse("r.conf", text, strlen(text), &c, &e) == -EINVAL);
	CHECK(strstr(e.msg, "r.conf:16: [server] report-url: unknown "
	    "{host}") != NULL);
	snprintf(text, sizeof(text), "%soutbox-max = 0\n", base);
	CHECK(config_parse("r.conf", text, strlen(text), &c, &e) == -EINVAL);
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	CHECK(cJSON_IsNumber(it));
	return it->valuedouble;
}

static struct report_doc
doc_of(const char *reason)
{
	struct report_doc d;

	memset(&d, 0, sizeof(d));
	d.device = "dev-1";
	d.compatible = "board";
	d.result = REPORT_ROLLED_BACK;
	d.reason = reason;
	d.check = "10-app";
	d.from_slot = 'A';
	d.to_slot = 'B';
	d.from_version = "1.0.0";
	d.to_version = "2.0.0";
	d.to_bundle = "ab12";
	d.time = "2026-12-07T14:01:16Z";
	d.arm_to_outcome = 75;
	d.boot_to_outcome = -1;
	d.fetched = 9007199254740991ULL;
	d.refetched = 1024;
	return d;
}

static void
test_document(void)
{
	struct report_doc d = doc_of("check 10-app: exited with status 1");
	const cJSON *o;
	cJSON *j;
	char *text;

	/* As the outbox writes it and a server reads it: printed (integers
	 * are raw digits in memory, common/json.h), then parsed. */
	CHECK((j = report_json(&d)) != NULL);
	CHECK((text = cJSON_Print(j)) != NULL);
	cJSON_Delete(j);
	CHECK((j = cJSON_Parse(text)) != NULL);
	cJSON_free(text);
	CHECK(num(j, "format") == 1);
	CHECK(strcmp(str(j, "device"), "dev-1") == 0);
	CHECK(strcmp(str(j, "result"), "rolled-back") == 0);
	CHECK(strcmp(str(j, "check"), "10-app") == 0);
	CHECK(strcmp(str(j, "reason"), d.reason) == 0);
	o = cJSON_GetObjectItemCaseSensitive(j, "from");
	CHECK(strcmp(str(o, "slot"), "A") == 0 &&
	    strcmp(str(o, "version"), "1.0.0") == 0);
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "bundle")));
	o = cJSON_GetObjectItemCaseSensitive(j, "to");
	CHECK(strcmp(str(o, "bundle"), "ab12") == 0);
	o = cJSON_GetObjectItemCaseSensitive(j, "timings");
	CHECK(num(o, "arm_to_outcome_s") == 75);
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
	    "boot_to_outcome_s")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
	    "install_started")));
	o = cJSON_GetObjectItemCaseSensitive(j, "bytes");
	CHECK(num(o, "refetched") == 1024);
	CHECK(num(o, "fetched") == 9007199254740991.0);
	cJSON_Delete(j);
	CHECK(strcmp(report_result_name(REPORT_FELL_BACK), "fell-back") == 0);
	CHECK(strcmp(report_result_name(REPORT_INSTALL_FAILED),
	    "install-failed") == 0);
	CHECK(strcmp(report_result_name(REPORT_REFUSED), "refused") == 0);
}

/* Puts a report whose reason is n bytes long. */
static int
put_report(size_t n, unsigned max, uint64_t max_bytes, struct err *e)
{
	struct report_doc d;
	char *reason;
	cJSON *j;
	int r;

	CHECK((reason = malloc(n + 1)) != NULL);
	memset(reason, 'x', n);
	reason[n] = '\0';
	d = doc_of(reason);
	CHECK((j = report_json(&d)) != NULL);
	r = outbox_put(dir, max, max_bytes, j, e);
	cJSON_Delete(j);
	free(reason);
	return r;
}

static void
check_names(const char *want)
{
	struct err e = { 0, "" };
	char **names, got[256] = "";
	size_t i, n;

	CHECK_OK(outbox_names(dir, &names, &n, &e), &e);
	for (i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i > 0 ? " " : "", names[i]);
	outbox_names_free(names, n);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "outbox: \"%s\", want \"%s\"\n", got, want);
	CHECK(strcmp(got, want) == 0);
}

static void
test_outbox(void)
{
	struct outbox_stat st;
	struct err e = { 0, "" };
	char buf[8192];

	CHECK_OK(outbox_stat(dir, &st, &e), &e);
	CHECK(st.count == 0 && st.dropped == 0 && st.seq == 0);
	CHECK_OK(put_report(10, 3, 1 << 20, &e), &e);
	CHECK_OK(put_report(10, 3, 1 << 20, &e), &e);
	CHECK_OK(put_report(10, 3, 1 << 20, &e), &e);
	check_names("0000000001.json 0000000002.json 0000000003.json");
	/* The count cap: the oldest goes, and the new report says so. */
	CHECK_OK(put_report(10, 3, 1 << 20, &e), &e);
	check_names("0000000002.json 0000000003.json 0000000004.json");
	slurp(at("outbox/0000000004.json"), buf, sizeof(buf));
	CHECK(strstr(buf, "\"dropped\":\t1") != NULL);
	CHECK(strstr(buf, "\"seq\":\t4") != NULL);
	/* The byte cap: a 3000-byte report leaves room for no other. */
	CHECK_OK(put_report(3000, 3, 4000, &e), &e);
	check_names("0000000005.json");
	CHECK_OK(outbox_stat(dir, &st, &e), &e);
	CHECK(st.count == 1 && st.dropped == 4 && st.seq == 5);
	CHECK(st.bytes > 3000 && st.bytes < 4000);
	/* Sent reports go; the sequence goes on, never reusing a name. */
	CHECK_OK(outbox_remove(dir, "0000000005.json", &e), &e);
	CHECK_OK(put_report(10, 3, 1 << 20, &e), &e);
	check_names("0000000006.json");
	/* One that is no longer a report is dropped and counted. */
	CHECK_OK(outbox_drop(dir, "0000000006.json", &e), &e);
	CHECK_OK(outbox_stat(dir, &st, &e), &e);
	CHECK(st.count == 0 && st.dropped == 5);
}

int
main(void)
{
	tmpdir_make("report_test");
	test_template();
	test_config();
	test_document();
	test_outbox();
	tmpdir_remove();
	return 0;
}
