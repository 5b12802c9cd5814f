/*
 * keyhash.h — the keyed hash of limiter keys.
 *
 * Clients choose limiter keys (tokens, addresses), so the table's hash must
 * be keyed with the box's random 128-bit secret or a client could aim many
 * keys at one bucket.  A multiply-fold construction keyed at every step (as
 * Go's runtime and Rust's foldhash use for the same purpose) costs a few
 * nanoseconds for a short key, where SipHash-1-3 cost four times as much
 * and the limiter's whole budget is 40 ns.
 */
#ifndef FBX_KEYHASH_H
#define FBX_KEYHASH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t fbx__fold(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t fbx__load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t fbx__load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t fbx__keyhash(const uint64_t k[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = k[0] ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull);
	uint64_t a = 0, b = 0;
	while (len > 16) {
		h = fbx__fold(fbx__load64(p) ^ k[1], fbx__load64(p + 8) ^ h);
		p += 16;
		len -= 16;
	}
	/* 0..16 bytes left: overlapping reads cover them without a loop */
	if (len >= 8) {
		a = fbx__load64(p);
		b = fbx__load64(p + len - 8);
	} else if (len >= 4) {
		a = fbx__load32(p) << 32 | fbx__load32(p + len - 4);
	} else if (len > 0) {
		a = (uint64_t)p[0] << 16 | (uint64_t)p[len / 2] << 8 | p[len - 1];
	}
	h = fbx__fold(a ^ k[1], b ^ h);
	return fbx__fold(h ^ 0xa0761d6478bd642full, k[0] ^ 0xe7037ed1a0b428dbull);
}

#endif
