/* keytable.h — the limiter key table's lookup, inline for the hot path;
 * insertion and eviction live in keytable.c. */
#ifndef FBX_KEYTABLE_H
#define FBX_KEYTABLE_H

#include "internal.h"
#include "keyhash.h"

static inline void fbx__key_buckets(fbx_box *box, uint64_t h, struct fbx__kbucket *bk[2])
{
	uint32_t mask = box->key_buckets - 1;
	uint32_t b0 = (uint32_t)(h >> 32) & mask, b1 = (uint32_t)(h >> 12) & mask;
	if (b1 == b0)
		b1 ^= 1;
	bk[0] = &box->keys[b0];
	bk[1] = &box->keys[b1];
}

_Atomic uint64_t *fbx__key_insert(fbx_limiter *l, uint64_t tag, uint64_t h, uint64_t now);

/* The state words of key for limiter l, adding the key when it is new;
 * NULL only when racing inserters kept taking the entry it chose. */
static inline _Atomic uint64_t *fbx__key_state(fbx_limiter *l, const void *key, size_t keylen,
					       uint64_t now)
{
	fbx_box *box = l->box;
	const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
	uint64_t h = fbx__keyhash(seed, key, keylen);
	uint64_t tag = ((uint64_t)(l->index + 1) << FBX__TAG_LIM_SHIFT) | (h & FBX__TAG_HASH_MASK);
	struct fbx__kbucket *bk[2];
	fbx__key_buckets(box, h, bk);
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < FBX__KB_WAYS; i++)
			if (atomic_load_explicit(&bk[b]->e[i].tag, memory_order_acquire) == tag)
				return bk[b]->e[i].st;
	return fbx__key_insert(l, tag, h, now);
}

#endif
