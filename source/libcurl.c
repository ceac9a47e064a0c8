/*
 * source/libcurl: dlopen("libcurl.so.4") on first use. Loading and
 * curl_global_init() run once (pthread_once): curl_global_init is not
 * thread-safe in every libcurl a device may have.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "source/libcurl.h"

#define SYM(f, field)	{ f, offsetof(struct libcurl, field) }

static const struct {
	const char	*sym;
	size_t		 at;
} syms[] = {
	SYM("curl_global_init", global_init),
	SYM("curl_easy_init", easy_init),
	SYM("curl_easy_setopt", easy_setopt),
	SYM("curl_easy_getinfo", easy_getinfo),
	SYM("curl_easy_pause", easy_pause),
	SYM("curl_easy_strerror", easy_strerror),
	SYM("curl_easy_cleanup", easy_cleanup),
	SYM("curl_easy_perform", easy_perform),
	SYM("curl_slist_append", slist_append),
	SYM("curl_slist_free_all", slist_free_all),
	SYM("curl_multi_init", multi_init),
	SYM("curl_multi_add_handle", multi_add_handle),
	SYM("curl_multi_remove_handle", multi_remove_handle),
	SYM("curl_multi_perform", multi_perform),
	SYM("curl_multi_poll", multi_poll),
	SYM("curl_multi_info_read", multi_info_read),
	SYM("curl_multi_strerror", multi_strerror),
	SYM("curl_multi_cleanup", multi_cleanup),
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct libcurl api;
static int load_r;			/* 0 or -errno */
static char load_msg[200];		/* why, without the name */

static void
load(void)
{
	void *h, *f;
	size_t i;
	CURLcode c;

	if ((h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		load_r = -ENOPKG;
		snprintf(load_msg, sizeof(load_msg), "%s not found "
		    "(apt install libcurl4)", LIBCURL_SONAME);
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if ((f = dlsym(h, syms[i].sym)) == NULL) {
			load_r = -ENOPKG;
			snprintf(load_msg, sizeof(load_msg), "%s has no %s "
			    "(libcurl 7.66 or later needed)", LIBCURL_SONAME,
			    syms[i].sym);
			return;
		}
		/* POSIX: a function's address may go through void *. */
		memcpy((char *)&api + syms[i].at, &f, sizeof(f));
	}
	if ((c = api.global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		load_r = -EIO;
		snprintf(load_msg, sizeof(load_msg), "libcurl: %s",
		    api.easy_strerror(c));
	}
	/* h stays open for the life of the process. */
}

int
libcurl_load(const char *name, const struct libcurl **cp, struct err *e)
{
	pthread_once(&once, load);
	if (load_r < 0)
		return err_set(e, load_r, "%s: %s", name, load_msg);
	*cp = &api;
	return 0;
}
