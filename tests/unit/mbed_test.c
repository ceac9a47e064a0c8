/*
 * tests/mbed_test: verify/mbed.h's promises, on whichever mbedtls this
 * build took (the system's 2.28, or 3.6 under make mbedtls3): the headers
 * compiled against and the library loaded are the same version, one the
 * build accepts; mbed_nul_copy() ends its copy with a NUL; mbed_error()
 * names the error. Prints "mbedtls: headers X, library Y", which
 * tests/mbedtls3/linked_test.sh reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>
#include <mbedtls/version.h>

#include "tests/check.h"
#include "verify/mbed.h"

static void
test_version(void)
{
	char lib[18];
	unsigned int n;

	n = mbedtls_version_get_number();
	mbedtls_version_get_string(lib);
	printf("mbedtls: headers %s, library %s\n", MBEDTLS_VERSION_STRING,
	    lib);
	/* Major and minor: a patch release keeps the ABI (and soname). */
	CHECK(n >> 16 == (unsigned int)MBEDTLS_VERSION_NUMBER >> 16);
	CHECK((n >= 0x021c0000 && n < 0x03000000) ||
	    (n >= 0x03060000 && n < 0x03070000));
}

static void
test_nul_copy(void)
{
	const char pem[] = "-----BEGIN X-----";
	unsigned char *p;

	CHECK((p = mbed_nul_copy(pem, 5)) != NULL);
	CHECK(memcmp(p, pem, 5) == 0 && p[5] == '\0');
	free(p);
}

static void
test_error(void)
{
	char buf[128];

	CHECK(strstr(mbed_error(MBEDTLS_ERR_PK_KEY_INVALID_FORMAT, buf,
	    sizeof(buf)), "PK") != NULL);
}

int
main(void)
{
	test_version();
	test_nul_copy();
	test_error();
	return 0;
}
