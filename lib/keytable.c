/*
 * keytable.c — adding keys to the shared limiter table.
 *
 * Fixed capacity, no pointers, no locks.  A key hashes (keyhash.h, keyed
 * with the box's secret so clients cannot aim collisions) to two 8-way
 * buckets; lookup (keytable.h) compares at most 16 tags.
 *
 * A new key goes into the emptier of its two buckets.  Two processes may
 * add the same new key at once and choose different entries, so an entry
 * is first *reserved* (a tag lookups do not match), then each inserter
 * looks for the other: an earlier entry (bucket 0 before bucket 1, lower
 * way first) wins, a later one is cancelled.  Both reserve before they
 * look, so at least one sees the other; the one that does not is stopped
 * by its publishing CAS failing.  Exactly one entry per key gets published,
 * and a reservation left by a killed process is cancelled by the next
 * process that wants that key or that entry (docs/DESIGN.md R5).
 *
 * The exact log's keys have a table of their own, whose entries carry a
 * ring each (limiter_log.h); the same code places them.
 *
 * When both buckets are full, an entry whose budget has run out (expired)
 * is reused first, else the least recently used of the 16 is evicted and
 * counted.  A reused entry's state is zeroed only if nobody wrote it since
 * we looked; if a late writer of the old key did, the new key inherits a
 * little budget use: an early denial at worst, never an extra admission.
 *
 * How many keys a limiter holds is not kept as a counter: the table change
 * and a counter update would be two steps, and a process killed between
 * them would leave the count wrong for good.  Readers count the published
 * tags instead (fbx__keys_count), so the figure is true by construction.
 *
 * Reservations of one key are bitwise identical, whoever made them: a
 * stalled inserter's publish or cancel may land on a racer's reservation
 * of the same key in the same entry.  That is harmless: a publish there
 * publishes the very entry the racer would have published (its own
 * publish then fails and it finds the key), a cancel only makes the racer
 * start over, and the state words are zeroed by CAS against what was seen
 * before the reservation, so no take that landed since is undone.
 */
#include <sched.h>

#include "internal.h"
#include "keytable.h"
#include "limiter_algo.h"
#include "limiter_log.h"

#define ATTEMPTS 32
#define WAIT_ROUNDS 256 /* yields before a stalled reservation is cancelled */
#define POS(b, i) ((b) * FBX__KB_WAYS + (i))

/* A log key's newest unit, if it is still in its longest window; a unit
 * that does not read back (being written) counts as in use now. */
static uint64_t log_recency(const fbx_box *box, _Atomic uint64_t *st, uint64_t longest,
			    uint64_t now)
{
	struct fbx__log lg = fbx__log_of_key(box, st);
	uint64_t h = atomic_load_explicit(lg.head, memory_order_relaxed), t;
	uint64_t top = FBX__LOG_START(h) + FBX__LOG_PENDING(h);
	if (top == 0)
		return 0;
	if (!fbx__log_time(&lg, top - 1, &t) || t >= now)
		return now;
	return now - t < longest ? t : 0;
}

/* When the entry was last used, as far as its state tells (0 = expired). */
static uint64_t entry_recency(const fbx_box *box, bool log, uint64_t tag, _Atomic uint64_t *st,
			      uint64_t now)
{
	uint32_t li = (uint32_t)(tag >> FBX__TAG_LIM_SHIFT) - 1;
	if (li >= box->cap_limiters || (tag & FBX__TAG_RESERVED))
		return 0; /* damaged, or a reservation that outlived its inserter */
	const struct fbx__limiter_rec *rec = &box->limiters[li];
	/* Another limiter's rule, which a rule change may be rewriting: read
	 * word by word, atomically (limiter.c); a mixed reading can only make
	 * a worse choice of entry to evict. */
	const struct fbx__limiter_cfg *cfg = &rec->cfg[atomic_load(&rec->cfg_active) & 1];
	uint32_t n = __atomic_load_n(&cfg->parsed.n, __ATOMIC_RELAXED);
	if (n > FBX_RULE_LIMITS_MAX)
		n = FBX_RULE_LIMITS_MAX;
	uint64_t latest = 0;
	if (log) { /* the table decides the state's shape, whatever the tag says */
		uint64_t longest = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t p = __atomic_load_n(&cfg->lim[i].period_ns, __ATOMIC_RELAXED);
			if (p > longest)
				longest = p;
		}
		return log_recency(box, st, longest, now);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w = atomic_load_explicit(&st[i], memory_order_relaxed);
		uint64_t period = __atomic_load_n(&cfg->lim[i].period_ns, __ATOMIC_RELAXED), t;
		if (w == 0 || period == 0)
			continue;
		if (rec->algorithm == FBX_ALGO_GCRA) {
			/* TAT in the past: the budget is whole.  In the future:
			 * in use now, ranked as a window key used in this window
			 * is, not above it (a TAT is not a time of use). */
			if (w <= now)
				continue;
			t = now;
		} else {
			uint64_t age = ((now / period) - FBX__W_IDX(w)) & FBX__IDX_MASK;
			/* A word ahead of `now` (a reading from before a stall)
			 * is as recent as can be, never expired: evicting it
			 * would hand its key a fresh budget. */
			if (age >= 0x8000)
				t = now;
			else if (age > 1)
				continue; /* neither this window nor the last */
			else
				t = now - age * period;
		}
		if (t > latest)
			latest = t;
	}
	return latest;
}

static void count_eviction(fbx_box *box, uint64_t tag)
{
	uint32_t li = (uint32_t)(tag >> FBX__TAG_LIM_SHIFT) - 1;
	if (li < box->cap_limiters && !(tag & FBX__TAG_RESERVED))
		atomic_fetch_add(&box->limiters[li].evictions, 1);
}

static void count_table(const struct fbx__kbucket *table, uint64_t buckets,
			uint64_t *per_limiter, uint32_t n)
{
	for (uint64_t b = 0; b < buckets; b++) {
		const struct fbx__kbucket *bk = &table[b];
		for (int i = 0; i < FBX__KB_WAYS; i++) {
			uint64_t t = atomic_load_explicit(&bk->tag[i], memory_order_relaxed);
			uint32_t li = (uint32_t)(t >> FBX__TAG_LIM_SHIFT) - 1;
			if (t != 0 && !(t & FBX__TAG_RESERVED) && li < n)
				per_limiter[li]++;
		}
	}
}

void fbx__keys_count(const fbx_box *box, uint64_t *per_limiter, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		per_limiter[i] = 0;
	count_table(box->keys, box->key_buckets, per_limiter, n);
	count_table(box->log_keys, box->log_key_buckets, per_limiter, n);
}

static _Atomic uint64_t *tag_at(struct fbx__kbucket *bk[2], int pos)
{
	return &bk[pos / FBX__KB_WAYS]->tag[pos % FBX__KB_WAYS];
}

static _Atomic uint64_t *state_at(struct fbx__kbucket *bk[2], int pos)
{
	return bk[pos / FBX__KB_WAYS]->st[pos % FBX__KB_WAYS];
}

/* The first entry (other than skip) holding tag or its reservation. */
static int find(struct fbx__kbucket *bk[2], uint64_t tag, int skip, bool *reserved)
{
	for (int pos = 0; pos < 2 * FBX__KB_WAYS; pos++) {
		uint64_t t = atomic_load(tag_at(bk, pos));
		if (pos != skip && (t | FBX__TAG_RESERVED) == (tag | FBX__TAG_RESERVED)) {
			*reserved = t & FBX__TAG_RESERVED;
			return pos;
		}
	}
	return -1;
}

/* An empty entry in the emptier bucket, else the least recently used. */
static int choose(fbx_box *box, bool log, struct fbx__kbucket *bk[2], uint64_t now,
		  uint64_t *seen)
{
	int first_empty[2] = {-1, -1}, empties[2] = {0, 0};
	for (int b = 0; b < 2; b++) {
		for (int i = 0; i < FBX__KB_WAYS; i++) {
			if (atomic_load(&bk[b]->tag[i]) == 0) {
				if (empties[b]++ == 0)
					first_empty[b] = POS(b, i);
			}
		}
	}
	if (empties[0] + empties[1] > 0) {
		*seen = 0;
		return empties[1] > empties[0] ? first_empty[1] : first_empty[0];
	}
	int victim = 0;
	uint64_t oldest = UINT64_MAX;
	for (int pos = 0; pos < 2 * FBX__KB_WAYS; pos++) {
		uint64_t t = atomic_load(tag_at(bk, pos));
		uint64_t r = entry_recency(box, log, t, state_at(bk, pos), now);
		if (r < oldest) {
			oldest = r;
			victim = pos;
			*seen = t;
		}
	}
	return victim;
}

_Atomic uint64_t *fbx__key_insert(fbx_limiter *l, uint64_t tag, struct fbx__kbucket *bk[2],
				  uint64_t now)
{
	fbx_box *box = l->box;
	const uint64_t mine = tag | FBX__TAG_RESERVED;
	const bool log = l->algorithm == FBX_ALGO_LOG;
	int waited = 0;
	for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
		bool reserved;
		int other = find(bk, tag, -1, &reserved);
		if (other >= 0 && !reserved)
			return state_at(bk, other);
		if (other >= 0) {
			/* Someone is adding this key: wait for it, or cancel a
			 * reservation whose inserter seems to have died. */
			if (++waited < WAIT_ROUNDS) {
				sched_yield();
				attempt--;
				continue;
			}
			uint64_t stale = mine;
			atomic_compare_exchange_strong(tag_at(bk, other), &stale, 0);
			waited = 0;
			continue;
		}

		uint64_t seen = 0;
		int pos = choose(box, log, bk, now, &seen);
		_Atomic uint64_t *st = state_at(bk, pos);
		uint64_t old[FBX_RULE_LIMITS_MAX];
		for (int i = 0; i < FBX_RULE_LIMITS_MAX; i++)
			old[i] = atomic_load(&st[i]);
		if (!atomic_compare_exchange_strong(tag_at(bk, pos), &seen, mine))
			continue;
		if (seen != 0 && !(seen & FBX__TAG_RESERVED) &&
		    entry_recency(box, log, seen, st, now) != 0)
			count_eviction(box, seen);
		for (int i = 0; i < FBX_RULE_LIMITS_MAX; i++)
			atomic_compare_exchange_strong(&st[i], &old[i], 0);
		/* A log entry's ring is cleared too, with plain stores: one
		 * that lands late, on a racer's published entry of the same key,
		 * leaves slots that do not read back, which takes rewrite as
		 * recent units — an early denial at worst (limiter_log.c). */
		if (log) {
			struct fbx__log lg = fbx__log_of_key(box, st);
			fbx__log_clear_ring(&lg);
		}

		/* Did a racer reserve or publish the same key meanwhile? */
		bool yield = false;
		for (int round = 0; round < 2 * FBX__KB_WAYS; round++) {
			other = find(bk, tag, pos, &reserved);
			if (other < 0)
				break;
			if (!reserved || other < pos) {
				yield = true; /* use theirs: published, or earlier */
				break;
			}
			uint64_t theirs = mine;
			atomic_compare_exchange_strong(tag_at(bk, other), &theirs, 0);
		}
		uint64_t expect = mine;
		if (yield) {
			atomic_compare_exchange_strong(tag_at(bk, pos), &expect, 0);
			continue;
		}
		if (!atomic_compare_exchange_strong(tag_at(bk, pos), &expect, tag))
			continue; /* cancelled by a racer, or evicted: start over */
		return st;
	}
	return NULL;
}
