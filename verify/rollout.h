/*
 * verify/rollout: staged rollout, the pure part. A device takes a release
 * when its bucket, a stable hash of its device id and the release's
 * bundle id, falls below the release's rollout percentage. The bucket
 * does not depend on the percentage, so raising the percentage only adds
 * devices: none drops out. A new bundle id draws new buckets, so the
 * same devices are not always the first. No I/O here.
 */
#ifndef VERIFY_ROLLOUT_H
#define VERIFY_ROLLOUT_H

#include <stdint.h>

#define ROLLOUT_BUCKETS	10000	/* basis points: 0.01 % each */
#define ROLLOUT_ID_MAX	255	/* bytes of a device id */

/* The first 8 bytes of SHA-256(device_id || 0x00 || bundle_id), the
 * bundle id as its 32 raw bytes, as a big-endian u64, mod 10000. A
 * device id longer than ROLLOUT_ID_MAX gets ROLLOUT_BUCKETS, which no
 * rollout selects. */
uint32_t rollout_bucket(const char *device_id, const uint8_t bundle_id[32]);
/* 1 if the device takes a release rolled out to rollout basis points
 * (0..10000: 0 selects none, 10000 all), else 0. */
int	rollout_selected(const char *device_id, const uint8_t bundle_id[32],
	    uint32_t rollout);

#endif /* VERIFY_ROLLOUT_H */
