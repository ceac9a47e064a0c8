/*
 * source/libcurl: libcurl, loaded with dlopen() the first time a URL is
 * opened, so that commands which never use the network (upkit health at
 * every boot) do not pay for loading it and its TLS stack. The function
 * pointers carry the types of <curl/curl.h>'s declarations.
 */
#ifndef SOURCE_LIBCURL_H
#define SOURCE_LIBCURL_H

#include <curl/curl.h>

struct err;

#define LIBCURL_SONAME	"libcurl.so.4"

struct libcurl {
	__typeof__(curl_global_init)		*global_init;
	__typeof__(curl_easy_init)		*easy_init;
	__typeof__(curl_easy_setopt)		*easy_setopt;
	__typeof__(curl_easy_getinfo)		*easy_getinfo;
	__typeof__(curl_easy_pause)		*easy_pause;
	__typeof__(curl_easy_strerror)		*easy_strerror;
	__typeof__(curl_easy_cleanup)		*easy_cleanup;
	__typeof__(curl_easy_perform)		*easy_perform;
	__typeof__(curl_slist_append)		*slist_append;
	__typeof__(curl_slist_free_all)		*slist_free_all;
	__typeof__(curl_multi_init)		*multi_init;
	__typeof__(curl_multi_add_handle)	*multi_add_handle;
	__typeof__(curl_multi_remove_handle)	*multi_remove_handle;
	__typeof__(curl_multi_perform)		*multi_perform;
	__typeof__(curl_multi_poll)		*multi_poll;
	__typeof__(curl_multi_info_read)	*multi_info_read;
	__typeof__(curl_multi_strerror)		*multi_strerror;
	__typeof__(curl_multi_cleanup)		*multi_cleanup;
};

/* Loads libcurl once per process and runs curl_global_init(); later
 * calls return the same table. name is for the message: "NAME:
 * libcurl.so.4 not found (apt install libcurl4)" (-ENOPKG). Returns 0 or
 * -errno. */
int	libcurl_load(const char *name, const struct libcurl **cp,
	    struct err *e);

#endif /* SOURCE_LIBCURL_H */
