/* keytable.h — the limiter key table's lookup, inline for the hot path;
 * insertion and eviction live in keytable.c. */
#ifndef FBX_KEYTABLE_H
#define FBX_KEYTABLE_H

#include "internal.h"
#include "keyhash.h"

/* The key's two candidate buckets: multiply-shift maps 32 hash bits onto
 * any bucket count, so the table need not be a power of two.  The log's
 * keys have a table of their own (their entries carry a ring each);
 * registration makes sure a keyed log limiter has one of at least 2. */
static inline void fbx__key_buckets(const fbx_limiter *l, uint64_t h, struct fbx__kbucket *bk[2])
{
	const fbx_box *box = l->box;
	bool log = l->algorithm == FBX_ALGO_LOG;
	struct fbx__kbucket *table = log ? box->log_keys : box->keys;
	uint64_t n = log ? box->log_key_buckets : box->key_buckets;
	uint64_t b0 = ((h >> 32) * n) >> 32, b1 = ((h & 0xffffffffu) * n) >> 32;
	if (b1 == b0)
		b1 = b0 + 1 < n ? b0 + 1 : 0;
	/* R1: both candidates lie inside the table, whose validated size is
	 * at least 2, and differ */
	FBX_ASSERT(b0 < n && b1 < n && b0 != b1);
	bk[0] = &table[b0];
	bk[1] = &table[b1];
}

static inline uint64_t fbx__key_tag(const fbx_limiter *l, uint64_t h)
{
	uint64_t tag = ((uint64_t)(l->index + 1) << FBX__TAG_LIM_SHIFT) | (h & FBX__TAG_HASH_MASK);
	/* a published tag names its limiter (index + 1 fits the field, as
	 * the capacity is at most FBX__LIMITERS_MAX), is never 0 (empty) and
	 * never reserved (lookups would not match it) */
	FBX_ASSERT(l->index < FBX__LIMITERS_MAX &&
		   tag >> FBX__TAG_LIM_SHIFT == (uint64_t)l->index + 1 &&
		   !(tag & FBX__TAG_RESERVED));
	return tag;
}

_Atomic uint64_t *fbx__key_insert(fbx_limiter *l, uint64_t tag, struct fbx__kbucket *bk[2],
				  uint64_t now);

/* The state words of key for limiter l if it is in the table (NULL if
 * not); *tag, bk and *pos say where it is, or would be looked for. */
static inline _Atomic uint64_t *fbx__key_find(const fbx_limiter *l, const void *key,
					      size_t keylen, uint64_t *tag,
					      struct fbx__kbucket *bk[2], int *pos)
{
	const fbx_box *box = l->box;
	const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
	uint64_t h = fbx__keyhash(seed, key, keylen);
	*tag = fbx__key_tag(l, h);
	fbx__key_buckets(l, h, bk);
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < FBX__KB_WAYS; i++)
			if (atomic_load_explicit(&bk[b]->tag[i], memory_order_acquire) == *tag) {
				*pos = b * FBX__KB_WAYS + i;
				return bk[b]->st[i];
			}
	return NULL;
}

/* The state words of key for limiter l, adding the key when it is new;
 * NULL only when the key could not be placed (see keytable.c). */
static inline _Atomic uint64_t *fbx__key_state(fbx_limiter *l, const void *key, size_t keylen,
					       uint64_t now)
{
	uint64_t tag;
	struct fbx__kbucket *bk[2];
	int pos;
	_Atomic uint64_t *st = fbx__key_find(l, key, keylen, &tag, bk, &pos);
	return st != NULL ? st : fbx__key_insert(l, tag, bk, now);
}

#endif
