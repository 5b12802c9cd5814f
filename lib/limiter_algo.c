/*
 * limiter_algo.c — one limit's decision on one 64-bit state word.
 *
 * Both algorithms are pure functions from (word, now, cost) to (new word,
 * verdict); limiter.c installs the new word with a CAS, so concurrent takes
 * never lose an update.
 *
 * The decisions themselves are inline in limiter_algo.h (they are most of
 * the hot path); the refunds and the deny path's arithmetic live here.
 *
 * Sliding-window counter (Cloudflare's): word = window index:16 | previous
 * window's count:24 | current count:24.  The estimate is
 *   prev * (time left in the current window / window) + cur
 * and a take is admitted when estimate + cost <= limit.  cur never exceeds
 * the limit, so in any window of the rule's length at most 2 * limit calls
 * are admitted (all of prev at the end of one window, then cur); for evenly
 * spread traffic the estimate is close to exact.
 *
 * GCRA: word = theoretical arrival time (TAT) in ns.  The emission interval
 * is T = period / count, rounded up: the rule's rate is sustained whatever
 * the burst (as in redis-cell and token buckets).  With burst b the
 * tolerance is (b - 1) * T: up to b calls at once, then one per T, so any
 * window of the period admits at most count + b - 1 — exactly count when
 * b is 1.  GCRA is its own policy, exact for itself, not an estimate of
 * the sliding log.
 */
#include "internal.h"
#include "limiter_algo.h"

/* When would estimate + cost fit?  Inside this window if prev decays
 * enough, else in the next one, where cur becomes prev.  Only the deny path
 * gets here, so floating point costs nothing that matters. */
uint64_t fbx__window_retry(const struct fbx__limit *k, uint64_t prev, uint64_t cur,
			   uint64_t el, uint64_t cost)
{
	uint64_t limit = k->count, period = k->period_ns;
	double p = (double)period;
	if (cur + cost <= limit && prev > 0) {
		double x = p * (1.0 - (double)(limit - cur - cost) / (double)prev);
		return x > (double)el ? (uint64_t)(x - (double)el) + 1 : 1;
	}
	double y = cur > limit - cost ? p * (1.0 - (double)(limit - cost) / (double)cur) : 0;
	return (period - el) + (uint64_t)y + 1;
}

/* Takes back cost counted in window idx: from cur while the word is still
 * in that window, from prev once it has rolled over to the next. */
void fbx__window_unadd(_Atomic uint64_t *word, uint64_t idx, uint64_t cost)
{
	uint64_t w = atomic_load(word), next;
	do {
		uint64_t widx = FBX__W_IDX(w), prev = FBX__W_PREV(w), cur = FBX__W_CUR(w);
		if (widx == idx)
			cur -= cur >= cost ? cost : cur;
		else if (widx == ((idx + 1) & FBX__IDX_MASK))
			prev -= prev >= cost ? cost : prev;
		else
			return; /* older than that: the cost no longer counts */
		next = FBX__W_MAKE(widx, prev, cur);
		/* a refund gives back within the word's own window, never
		 * moving its index */
		FBX_ASSERT(FBX__W_IDX(next) == widx && FBX__W_PREV(next) == prev &&
			   FBX__W_CUR(next) == cur);
	} while (!atomic_compare_exchange_weak(word, &w, next));
}

uint64_t fbx__gcra_refund(const struct fbx__limit *k, bool padded, uint64_t tat, uint64_t now,
			  uint64_t cost)
{
	uint64_t back = cost * (padded ? k->pad_t : k->gcra_t);
	/* never move TAT below now: that would grant more than was taken */
	uint64_t to = tat > now + back ? tat - back : (tat > now ? now : tat);
	/* R9: a refund only gives back: the TAT never moves later */
	FBX_ASSERT(to <= tat);
	return to;
}
