/*
 * cache.c — a stale-if-error cache every worker shares.
 *
 * Entries are fixed-size, in FBX__CACHE_WAYS-way buckets chosen by the
 * key's keyed hash (the box's secret, as for limiter keys, so callers
 * cannot aim collisions).  Each entry keeps two copies of (put time,
 * lengths, check, key, value) and a version naming the copy in force:
 *
 *  - a writer takes the entry's turn (busy: its owner word, taken over
 *    from a process that is gone or stuck, as health checks do), fills the
 *    copy not in force, then switches the version: a writer killed midway
 *    leaves the copy in force whole (R5);
 *  - a reader copies the copy in force and keeps it only if the version
 *    did not move meanwhile and the copy's check holds: never a torn value
 *    (R10), whatever a writer or a scribble did.
 *
 * A new key takes an empty way, else the one put longest ago: its copy is
 * written under the new key and switched in before the tag changes, and
 * readers compare the key itself, so no reader takes one key's value for
 * another's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "keyhash.h"

#define TTL_MAX_MS (30ull * 24 * 3600 * 1000)
#define READ_TRIES 64
/* One copy's words at the largest value: the stack buffer a put or a get
 * works in (no allocation on these paths). */
#define COPY_MAX_WORDS FBX__CACHE_COPY_WORDS(FBX__CACHE_VALUE_MAX)

/* ---- registration --------------------------------------------------- */

static fbx_cache *handle_for(fbx_box *box, uint32_t i)
{
	struct fbx__cache_rec *r = &box->caches[i];
	uint64_t ttl = r->ttl_ms, stale = r->stale_ms;
	if (ttl == 0 || ttl > TTL_MAX_MS || stale > TTL_MAX_MS)
		return NULL; /* a damaged record: FBX_ECORRUPT for the caller */
	pthread_mutex_lock(&box->lock);
	fbx_cache *c = box->cache_list;
	while (c != NULL && c->rec != r)
		c = c->next;
	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		c->box = box;
		c->rec = r;
		c->index = i;
		c->ttl_ms = ttl;
		c->stale_ms = stale;
		c->hash_salt = ((uint64_t)i + 1) * 0xc2b2ae3d27d4eb4full;
		c->next = box->cache_list;
		box->cache_list = c;
	}
	pthread_mutex_unlock(&box->lock);
	return c;
}

int fbx_cache_register(fbx_box *box, const char *name, uint64_t ttl_ns, uint64_t stale_ns,
		       fbx_cache **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	uint64_t ttl = ttl_ns / 1000000u, stale = stale_ns / 1000000u;
	if (ttl == 0 || ttl > TTL_MAX_MS || (stale_ns != 0 && stale == 0) || stale > TTL_MAX_MS)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc == 0 && box->read_only)
		rc = FBX_ERDONLY;
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	int lock = fbx__registry_lock(box);
	if (lock < 0)
		return lock;
	struct fbx__records rs = fbx__cache_records(box);
	int i = fbx__record_find(&rs, name);
	if (i >= 0) {
		if (box->caches[i].ttl_ms != ttl || box->caches[i].stale_ms != stale)
			i = FBX_ECONFLICT;
	} else if ((i = fbx__record_claim(&rs, name)) >= 0) {
		struct fbx__cache_rec *r = &box->caches[i];
		r->ttl_ms = ttl;
		r->stale_ms = stale;
		atomic_store(&r->hits, 0);
		atomic_store(&r->stale_hits, 0);
		atomic_store(&r->misses, 0);
		atomic_store(&r->puts, 0);
		/* entries an earlier cache of this slot left hold nothing now */
		uint64_t words = (uint64_t)box->cap_cache_slots *
				 FBX__CACHE_ENTRY_WORDS(box->cap_cache_value_max);
		_Atomic uint64_t *e = box->cache_entries + (uint64_t)i * words;
		for (uint64_t k = 0; k < words; k++)
			atomic_store_explicit(&e[k], 0, memory_order_relaxed);
		fbx__record_publish(&rs, (uint32_t)i);
	}
	fbx__registry_unlock(lock);
	if (i < 0)
		return i;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT;
}

int fbx_cache_find(fbx_box *box, const char *name, fbx_cache **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	struct fbx__records rs = fbx__cache_records(box);
	int i = fbx__record_lookup(box, &rs, name);
	if (i < 0)
		return i;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT;
}

/* ---- entries ----------------------------------------------------------- */

static uint64_t entry_words(const fbx_box *box)
{
	return FBX__CACHE_ENTRY_WORDS(box->cap_cache_value_max);
}

static _Atomic uint64_t *entry_at(const fbx_cache *c, uint64_t slot)
{
	const fbx_box *box = c->box;
	uint64_t per = (uint64_t)box->cap_cache_slots * entry_words(box);
	return box->cache_entries + (uint64_t)c->index * per + slot * entry_words(box);
}

static _Atomic uint64_t *copy_at(const fbx_box *box, _Atomic uint64_t *e, uint64_t which)
{
	return e + FBX__CACHE_HEAD_WORDS + (which & 1) * FBX__CACHE_COPY_WORDS(box->cap_cache_value_max);
}

enum { E_TAG = 0, E_BUSY = 1, E_VERSION = 2 };
enum { C_PUT = 0, C_LENS = 1, C_CHECK = 2, C_KEY = 3 };

/* A copy's check: over its put time, lengths, the key's words in use and
 * the value's words, four multiply chains side by side (a serial one costs
 * a multiply's latency a word).  It tells a copy damaged by a scribble
 * from a whole one; writers never tear the copy in force (see above). */
static uint64_t copy_check(const uint64_t *w, uint64_t keylen, uint64_t vlen)
{
	const uint64_t m = 0x9e3779b97f4a7c15ull;
	uint64_t h[4] = {0x6361636865ull ^ w[C_PUT], w[C_LENS], 0x243f6a8885a308d3ull,
			 0x13198a2e03707344ull};
	uint64_t kw = (keylen + 7) / 8, vw = (vlen + 7) / 8;
	for (uint64_t i = 0; i < kw; i++)
		h[i & 3] = (h[i & 3] ^ w[C_KEY + i]) * m;
	const uint64_t *v = &w[C_KEY + FBX__CACHE_KEY_WORDS];
	for (uint64_t i = 0; i < vw; i++)
		h[(i + 2) & 3] = (h[(i + 2) & 3] ^ v[i]) * m;
	uint64_t x = h[0] ^ (h[1] >> 17) ^ (h[2] << 13) ^ (h[3] >> 29);
	x ^= x >> 31;
	x *= m;
	return (x ^ x >> 29) | 1;
}

/* Copies the words of a copy that hold something: its head, the key's
 * words in use, the value's words. */
static void copy_words(uint64_t *w, const _Atomic uint64_t *cp, uint64_t keylen, uint64_t vlen)
{
	for (uint64_t i = 0; i < C_KEY; i++)
		w[i] = atomic_load_explicit(&cp[i], memory_order_relaxed);
	for (uint64_t i = C_KEY; i < C_KEY + (keylen + 7) / 8; i++)
		w[i] = atomic_load_explicit(&cp[i], memory_order_relaxed);
	uint64_t v0 = C_KEY + FBX__CACHE_KEY_WORDS;
	for (uint64_t i = v0; i < v0 + (vlen + 7) / 8; i++)
		w[i] = atomic_load_explicit(&cp[i], memory_order_relaxed);
}

static uint64_t key_tag(const fbx_cache *c, const void *key, size_t keylen)
{
	const fbx_box *box = c->box;
	const uint64_t seed[2] = {box->secret[0] ^ c->hash_salt, box->secret[1]};
	return fbx__keyhash(seed, key, keylen) | 1;
}

static int key_ok(const fbx_cache *c, const void *key, size_t keylen)
{
	if (c == NULL || key == NULL || keylen == 0)
		return FBX_EINVAL;
	/* no fbx__box_whole() here: a system call per get would cost more
	 * than the get (hot paths leave truncation to readers, R4) */
	return keylen > FBX_CACHE_KEY_MAX ? FBX_ERANGE : 0;
}

/* Copies the copy in force of entry e into w (up to its value's words);
 * true when it is whole and its key is key. */
static bool read_entry(const fbx_cache *c, _Atomic uint64_t *e, const void *key, size_t keylen,
		       uint64_t *w)
{
	const fbx_box *box = c->box;
	for (int tries = 0; tries < READ_TRIES; tries++) {
		uint64_t v = atomic_load_explicit(&e[E_VERSION], memory_order_acquire);
		_Atomic uint64_t *cp = copy_at(box, e, v);
		uint64_t lens = atomic_load_explicit(&cp[C_LENS], memory_order_relaxed);
		uint64_t kl = lens & 0xffffffffu, vl = lens >> 32;
		if (kl != keylen || vl > box->cap_cache_value_max)
			return false; /* another key's, or damaged: not this one */
		copy_words(w, cp, kl, vl);
		/* the copy's loads complete before the version is looked at
		 * again (a seqlock read) */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e[E_VERSION], memory_order_relaxed) != v)
			continue; /* switched meanwhile: the copy may be half rewritten */
		if (w[C_LENS] != lens || w[C_CHECK] != copy_check(w, kl, vl))
			return false; /* torn by a scribble, not by a writer */
		return memcmp(&w[C_KEY], key, keylen) == 0;
	}
	return false; /* rewritten faster than it can be read: a miss */
}

/* The entry holding key (its way's index), or -1. */
static int64_t lookup(const fbx_cache *c, uint64_t tag, const void *key, size_t keylen,
		      uint64_t *w)
{
	uint64_t buckets = c->box->cap_cache_slots / FBX__CACHE_WAYS;
	uint64_t b = (uint64_t)(((unsigned __int128)tag * buckets) >> 64);
	for (uint64_t k = 0; k < FBX__CACHE_WAYS; k++) {
		_Atomic uint64_t *e = entry_at(c, b * FBX__CACHE_WAYS + k);
		if (atomic_load_explicit(&e[E_TAG], memory_order_acquire) == tag &&
		    read_entry(c, e, key, keylen, w))
			return (int64_t)(b * FBX__CACHE_WAYS + k);
	}
	return -1;
}

int fbx_cache_put(fbx_cache *c, const void *key, size_t keylen, const void *value, size_t len)
{
	int rc = key_ok(c, key, keylen);
	if (rc)
		return rc;
	fbx_box *box = c->box;
	if (box->read_only)
		return FBX_ERDONLY;
	if ((value == NULL && len != 0) || len > box->cap_cache_value_max)
		return value == NULL ? FBX_EINVAL : FBX_ERANGE;
	uint64_t tag = key_tag(c, key, keylen);
	uint64_t w[COPY_MAX_WORDS];
	/* the key's entry, else an empty way, else the one put longest ago */
	int64_t slot = lookup(c, tag, key, keylen, w);
	uint64_t buckets = box->cap_cache_slots / FBX__CACHE_WAYS;
	uint64_t b = (uint64_t)(((unsigned __int128)tag * buckets) >> 64);
	if (slot < 0) {
		uint64_t oldest = UINT64_MAX;
		for (uint64_t k = 0; k < FBX__CACHE_WAYS && oldest != 0; k++) {
			_Atomic uint64_t *e = entry_at(c, b * FBX__CACHE_WAYS + k);
			uint64_t t = atomic_load(&e[E_TAG]);
			uint64_t put = t == 0 ? 0 : atomic_load(&copy_at(box, e, atomic_load(&e[E_VERSION]))[C_PUT]) + 1;
			if (put < oldest) {
				oldest = put;
				slot = (int64_t)(b * FBX__CACHE_WAYS + k);
			}
		}
	}
	_Atomic uint64_t *e = entry_at(c, (uint64_t)slot);
	uint64_t me = fbx__identity(box);
	fbx__turn_take(&e[E_BUSY], me);
	uint64_t kw = (keylen + 7) / 8, vw = (len + 7) / 8, v0 = C_KEY + FBX__CACHE_KEY_WORDS;
	w[C_PUT] = fbx__ms_since(box, fbx__now_coarse());
	w[C_LENS] = (uint64_t)keylen | (uint64_t)len << 32;
	w[C_KEY + kw - 1] = 0; /* the last word's tail bytes are zeros */
	memcpy(&w[C_KEY], key, keylen);
	if (len) {
		w[v0 + vw - 1] = 0;
		memcpy(&w[v0], value, len);
	}
	w[C_CHECK] = copy_check(w, keylen, len);
	uint64_t v = atomic_load(&e[E_VERSION]);
	_Atomic uint64_t *cp = copy_at(box, e, v ^ 1);
	for (uint64_t i = 0; i < C_KEY + kw; i++)
		atomic_store_explicit(&cp[i], w[i], memory_order_relaxed);
	for (uint64_t i = v0; i < v0 + vw; i++)
		atomic_store_explicit(&cp[i], w[i], memory_order_relaxed);
	/* in force only once whole; then the tag names the key, which a
	 * reader checks against the copy anyway */
	atomic_store_explicit(&e[E_VERSION], ((v >> 1) + 1) << 1 | ((v & 1) ^ 1),
			      memory_order_release);
	atomic_store_explicit(&e[E_TAG], tag, memory_order_release);
	fbx__turn_give(&e[E_BUSY], me);
	atomic_fetch_add_explicit(&c->rec->puts, 1, memory_order_relaxed);
	return 0;
}

int fbx_cache_get(fbx_cache *c, const void *key, size_t keylen, void *buf, size_t cap,
		  fbx_cache_hit *hit)
{
	int rc = key_ok(c, key, keylen);
	if (rc)
		return rc;
	if (hit == NULL || (buf == NULL && cap != 0))
		return FBX_EINVAL;
	memset(hit, 0, sizeof(*hit));
	fbx_box *box = c->box;
	uint64_t w[COPY_MAX_WORDS];
	uint64_t tag = key_tag(c, key, keylen);
	int64_t slot = lookup(c, tag, key, keylen, w);
	uint64_t now = fbx__ms_since(box, fbx__now_coarse());
	uint64_t age = slot < 0 ? 0 : now > w[C_PUT] ? now - w[C_PUT] : 0;
	/* a read-only mapping cannot be counted in (its pages are PROT_READ) */
	bool count = !box->read_only;
	if (slot < 0 || age > c->ttl_ms + c->stale_ms) {
		if (count)
			atomic_fetch_add_explicit(&c->rec->misses, 1, memory_order_relaxed);
		return FBX_ENOENT;
	}
	hit->len = (size_t)(w[C_LENS] >> 32);
	hit->age_ns = age * 1000000u;
	hit->stale = age > c->ttl_ms;
	if (count)
		atomic_fetch_add_explicit(hit->stale ? &c->rec->stale_hits : &c->rec->hits, 1,
					  memory_order_relaxed);
	rc = hit->len > cap ? FBX_ERANGE : 0;
	if (rc == 0 && hit->len)
		memcpy(buf, &w[C_KEY + FBX__CACHE_KEY_WORDS], hit->len);
	return rc;
}

int fbx_cache_drop(fbx_cache *c, const void *key, size_t keylen)
{
	int rc = key_ok(c, key, keylen);
	if (rc)
		return rc;
	if (c->box->read_only)
		return FBX_ERDONLY;
	uint64_t w[COPY_MAX_WORDS];
	uint64_t tag = key_tag(c, key, keylen);
	int64_t slot = lookup(c, tag, key, keylen, w);
	if (slot < 0)
		return FBX_ENOENT;
	_Atomic uint64_t *e = entry_at(c, (uint64_t)slot);
	uint64_t t = tag;
	atomic_compare_exchange_strong(&e[E_TAG], &t, 0);
	return 0;
}

int fbx__cache_read(const fbx_box *box, uint32_t i, uint64_t now_ms, fbx_cache_info *out)
{
	const struct fbx__cache_rec *r = &box->caches[i];
	memset(out, 0, sizeof(*out));
	if (atomic_load_explicit(&r->head.live, memory_order_acquire) != FBX__REC_LIVE)
		return 0;
	memcpy(out->name, r->head.name, FBX_NAME_MAX);
	out->name[FBX_NAME_MAX - 1] = '\0';
	uint64_t ttl = r->ttl_ms, stale = r->stale_ms;
	if (fbx_name_check_record(out->name) != 0 || ttl == 0 || ttl > TTL_MAX_MS ||
	    stale > TTL_MAX_MS) {
		out->corrupt = 1;
		snprintf(out->name, sizeof(out->name), "(damaged cache %u)", i);
		return 1;
	}
	out->ttl_ns = ttl * 1000000u;
	out->stale_ns = stale * 1000000u;
	out->slots = box->cap_cache_slots;
	out->value_max = box->cap_cache_value_max;
	uint64_t per = (uint64_t)box->cap_cache_slots * FBX__CACHE_ENTRY_WORDS(box->cap_cache_value_max);
	const _Atomic uint64_t *base = box->cache_entries + (uint64_t)i * per;
	for (uint64_t k = 0; k < box->cap_cache_slots; k++) {
		const _Atomic uint64_t *e = base + k * FBX__CACHE_ENTRY_WORDS(box->cap_cache_value_max);
		if (atomic_load_explicit(&e[E_TAG], memory_order_relaxed) == 0)
			continue;
		uint64_t v = atomic_load_explicit(&e[E_VERSION], memory_order_relaxed);
		const _Atomic uint64_t *cp = e + FBX__CACHE_HEAD_WORDS +
					     (v & 1) * FBX__CACHE_COPY_WORDS(box->cap_cache_value_max);
		uint64_t put = atomic_load_explicit(&cp[C_PUT], memory_order_relaxed);
		/* held: put within ttl + stale (a put time ahead of now: held) */
		if (put >= now_ms || now_ms - put <= ttl + stale)
			out->entries++;
	}
	out->hits = atomic_load(&r->hits);
	out->stale_hits = atomic_load(&r->stale_hits);
	out->misses = atomic_load(&r->misses);
	out->puts = atomic_load(&r->puts);
	return 1;
}

/* ---- fallback ---------------------------------------------------------- */

int fbx_fallback(int (*primary)(void *arg), int (*backup)(void *arg), int (*fallback)(void *arg),
		 void *arg, fbx_fallback_source *which)
{
	if (primary == NULL || fallback == NULL || which == NULL)
		return FBX_EINVAL;
	*which = FBX_FALLBACK_PRIMARY;
	if (primary(arg) == 0)
		return 0;
	*which = FBX_FALLBACK_BACKUP;
	if (backup != NULL && backup(arg) == 0)
		return 0;
	*which = FBX_FALLBACK_DEFAULT;
	return fallback(arg) == 0 ? 0 : FBX_EFAILED;
}
