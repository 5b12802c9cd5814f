/*
 * topkeys.c — which keys a keyed limiter denies most, for operators.
 *
 * The limiter's table keeps no key text (only a keyed hash), so each keyed
 * limiter keeps a list of FBX_TOP_KEYS keys with their denial counts, by
 * the space-saving algorithm (Metwally et al.): a denied key on the list
 * counts up; a key not on it replaces the entry with the fewest denials and
 * starts from that count, so a count may be too high, never too low.  Only
 * denials touch it: the allow path never does.
 */
#include <string.h>

#include "internal.h"
#include "keyhash.h"

static uint64_t top_tag(const fbx_limiter *l, const void *key, size_t keylen)
{
	const uint64_t seed[2] = {l->box->secret[1] ^ l->hash_salt, l->box->secret[0]};
	uint64_t tag = (fbx__keyhash(seed, key, keylen) >> 1) | 1u;
	/* 0 is an empty entry, the busy bit one being rewritten */
	FBX_ASSERT(tag != 0 && !(tag & FBX__TOP_BUSY));
	return tag;
}

void fbx__top_note(fbx_limiter *l, const void *key, size_t keylen)
{
	struct fbx__topkey *t = l->rec->top;
	uint64_t tag = top_tag(l, key, keylen);
	int victim = 0;
	uint64_t fewest = UINT64_MAX;
	for (int i = 0; i < FBX_TOP_KEYS; i++) {
		uint64_t have = atomic_load_explicit(&t[i].tag, memory_order_acquire);
		if (have == tag) {
			atomic_fetch_add_explicit(&t[i].denials, 1, memory_order_relaxed);
			return;
		}
		/* empty or abandoned mid-rewrite: the first to go */
		uint64_t d = have == 0 || (have & FBX__TOP_BUSY)
				     ? 0 : atomic_load_explicit(&t[i].denials, memory_order_relaxed);
		if (d < fewest) {
			fewest = d;
			victim = i;
		}
	}
	uint64_t old = atomic_load(&t[victim].tag);
	if (!atomic_compare_exchange_strong(&t[victim].tag, &old, tag | FBX__TOP_BUSY))
		return; /* somebody else is rewriting it: this one denial goes uncounted */
	uint8_t text[FBX_TOP_KEY_TEXT] = {0};
	text[0] = keylen > 255 ? 255 : (uint8_t)keylen;
	memcpy(text + 1, key, keylen < sizeof(text) - 1 ? keylen : sizeof(text) - 1);
	for (int w = 0; w < FBX__TOP_WORDS; w++) {
		uint64_t v;
		memcpy(&v, text + 8 * w, 8);
		atomic_store_explicit(&t[victim].text[w], v, memory_order_relaxed);
	}
	atomic_store_explicit(&t[victim].denials, (fewest == UINT64_MAX ? 0 : fewest) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&t[victim].tag, tag, memory_order_release);
}

/* Readers copy an entry only while its tag stays the same and not busy;
 * the text is shown printable whatever bytes the segment holds. */
void fbx__top_read(const struct fbx__limiter_rec *rec, fbx_limiter_info *li)
{
	li->ntop = 0;
	for (int i = 0; i < FBX_TOP_KEYS; i++) {
		const struct fbx__topkey *t = &rec->top[i];
		uint64_t t1 = atomic_load_explicit(&t->tag, memory_order_acquire);
		if (t1 == 0 || (t1 & FBX__TOP_BUSY))
			continue;
		uint8_t text[FBX_TOP_KEY_TEXT];
		for (int w = 0; w < FBX__TOP_WORDS; w++) {
			uint64_t v = atomic_load_explicit(&t->text[w], memory_order_relaxed);
			memcpy(text + 8 * w, &v, 8);
		}
		uint64_t denials = atomic_load_explicit(&t->denials, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&t->tag, memory_order_relaxed) != t1)
			continue;
		fbx_top_key *k = &li->top[li->ntop++];
		size_t len = text[0], kept = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
		for (size_t j = 0; j < kept; j++) {
			uint8_t ch = text[1 + j];
			k->key[j] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
		k->key[kept] = '\0';
		if (len > kept)
			memcpy(k->key + kept, "...", 4);
		k->denials = denials;
	}
	/* most denied first (eight entries: insertion sort) */
	for (uint32_t i = 1; i < li->ntop; i++) {
		fbx_top_key k = li->top[i];
		uint32_t j = i;
		for (; j > 0 && li->top[j - 1].denials < k.denials; j--)
			li->top[j] = li->top[j - 1];
		li->top[j] = k;
	}
}
