/*
 * verify/rollout: a device's bucket for a release. SHA-256 spreads any
 * set of device ids evenly, whatever their shape (serial numbers in
 * sequence, MAC addresses); the NUL keeps "ab" + id from colliding with
 * "a" + "b" + id. The modulo's bias is 2^64 mod 10000 in 2^64: nothing.
 */
#include <stdint.h>
#include <string.h>

#include "common/endian.h"
#include "verify/digest.h"
#include "verify/rollout.h"

uint32_t
rollout_bucket(const char *device_id, const uint8_t bundle_id[32])
{
	uint8_t buf[ROLLOUT_ID_MAX + 33], d[32];
	size_t n = strlen(device_id);

	/* Out of contract: a bucket no rollout reaches, so the device
	 * takes nothing rather than a share chosen some other way. */
	if (n > ROLLOUT_ID_MAX)
		return ROLLOUT_BUCKETS;
	memcpy(buf, device_id, n);
	buf[n] = 0;
	memcpy(buf + n + 1, bundle_id, 32);
	digest_sha256(buf, n + 33, d);
	return (uint32_t)(get64(d) % ROLLOUT_BUCKETS);
}

int
rollout_selected(const char *device_id, const uint8_t bundle_id[32],
    uint32_t rollout)
{
	return rollout_bucket(device_id, bundle_id) < rollout;
}
