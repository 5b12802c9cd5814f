/*
 * keytable.c — the shared table of per-key limiter state.
 *
 * Fixed capacity, no pointers, no locks.  A key hashes (keyhash.h, keyed
 * with the box's secret so clients cannot aim collisions) to two 4-way
 * buckets of 128 bytes; an entry is a 64-bit tag and FBX_RULE_LIMITS_MAX
 * state words, 32 bytes.  Lookup reads at most two buckets: probing is
 * bounded.
 *
 * Insertion claims the first empty entry in a fixed scan order with one
 * CAS, so two processes adding the same new key meet on the same entry.
 * When both buckets are full, an entry whose state has run out (expired)
 * is reused first, else the least recently used of the 16 is evicted and
 * counted.  A reused entry's state is zeroed only if nobody wrote it since
 * we looked; if somebody did, the new key inherits a little budget use —
 * which can deny early but never admit more than the rule allows.
 */
#include "internal.h"
#include "keytable.h"
#include "limiter_algo.h"

#define WINDOW_IDX(w) ((w) >> 40)

/* When the entry was last used, as far as its state tells (0 = expired). */
static uint64_t entry_recency(const fbx_box *box, uint64_t tag, _Atomic uint64_t *st,
			      uint64_t now)
{
	uint32_t li = (uint32_t)(tag >> FBX__TAG_LIM_SHIFT) - 1;
	if (li >= box->cap_limiters)
		return 0;
	const struct fbx__limiter_rec *rec = &box->limiters[li];
	const struct fbx__limiter_cfg *cfg = &rec->cfg[atomic_load(&rec->cfg_active) & 1];
	uint32_t n = cfg->parsed.n < FBX_RULE_LIMITS_MAX ? cfg->parsed.n : FBX_RULE_LIMITS_MAX;
	uint64_t latest = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w = atomic_load_explicit(&st[i], memory_order_relaxed);
		uint64_t period = cfg->lim[i].period_ns, t;
		if (w == 0 || period == 0)
			continue;
		if (rec->algorithm == FBX_ALGO_GCRA) {
			t = w; /* TAT: in the past means the budget is whole */
			if (t <= now)
				continue;
		} else {
			uint64_t age = ((now / period) - WINDOW_IDX(w)) & 0xffffff;
			if (age > 1)
				continue; /* neither this window nor the last */
			t = now - age * period;
		}
		if (t > latest)
			latest = t;
	}
	return latest;
}
static void adjust_keys(fbx_box *box, uint64_t tag, int64_t by, bool evicted)
{
	uint32_t li = (uint32_t)(tag >> FBX__TAG_LIM_SHIFT) - 1;
	if (li >= box->cap_limiters)
		return;
	atomic_fetch_add(&box->limiters[li].keys, (uint64_t)by);
	if (evicted)
		atomic_fetch_add(&box->limiters[li].evictions, 1);
}

static _Atomic uint64_t *take_over(fbx_limiter *l, _Atomic uint64_t *tagw,
				   uint64_t old, uint64_t tag, _Atomic uint64_t *st,
				   bool evicted)
{
	uint64_t seen[FBX_RULE_LIMITS_MAX];
	for (int i = 0; i < FBX_RULE_LIMITS_MAX; i++)
		seen[i] = atomic_load(&st[i]);
	if (!atomic_compare_exchange_strong(tagw, &old, tag))
		return old == tag ? st : NULL;
	for (int i = 0; i < FBX_RULE_LIMITS_MAX; i++)
		atomic_compare_exchange_strong(&st[i], &seen[i], 0);
	adjust_keys(l->box, old, -1, evicted);
	adjust_keys(l->box, tag, 1, false);
	return st;
}

/* Slow path of fbx__key_state(): the key is not in the table yet. */
_Atomic uint64_t *fbx__key_insert(fbx_limiter *l, uint64_t tag, uint64_t h, uint64_t now)
{
	fbx_box *box = l->box;
	struct fbx__kbucket *bk[2];
	fbx__key_buckets(box, h, bk);
	/* New key: first empty entry in a fixed order. */
	for (int b = 0; b < 2; b++) {
		for (int i = 0; i < FBX__KB_WAYS; i++) {
			uint64_t cur = 0;
			if (atomic_compare_exchange_strong(&bk[b]->e[i].tag, &cur, tag)) {
				atomic_fetch_add(&l->rec->keys, 1);
				return bk[b]->e[i].st;
			}
			if (cur == tag)
				return bk[b]->e[i].st;
		}
	}
	/* Full: the entry used least recently, where expired counts as never. */
	struct fbx__kentry *victim = NULL;
	uint64_t oldest = UINT64_MAX, victim_tag = 0;
	for (int b = 0; b < 2; b++) {
		for (int i = 0; i < FBX__KB_WAYS; i++) {
			struct fbx__kentry *e = &bk[b]->e[i];
			uint64_t t = atomic_load(&e->tag);
			uint64_t r = entry_recency(box, t, e->st, now);
			if (r < oldest) {
				oldest = r;
				victim_tag = t;
				victim = e;
			}
		}
	}
	return take_over(l, &victim->tag, victim_tag, tag, victim->st, oldest != 0);
}
