/*
 * limiter_algo.c — one limit's decision on one 64-bit state word.
 *
 * Both algorithms are pure functions from (word, now, cost) to (new word,
 * verdict); limiter.c installs the new word with a CAS, so concurrent takes
 * never lose an update.
 *
 * Sliding-window counter (Cloudflare's): word = window index:24 | previous
 * window's count:20 | current count:20.  The estimate is
 *   prev * (time left in the current window / window) + cur
 * and a take is admitted when estimate + cost <= limit.  cur never exceeds
 * the limit, so in any window of the rule's length at most 2 * limit calls
 * are admitted (all of prev at the end of one window, then cur); for evenly
 * spread traffic the estimate is close to exact.
 *
 * GCRA: word = theoretical arrival time (TAT) in ns.  With burst b, the
 * emission interval is T = period / (limit - b + 1) and the tolerance
 * (b - 1) * T: up to b calls at once, and never more than limit calls in
 * any window of the period — the bound holds exactly, whatever b is.
 */
#include "internal.h"
#include "limiter_algo.h"

#define CNT_MASK FBX__CNT_MASK
#define IDX_MASK FBX__IDX_MASK

uint64_t fbx__window_refund(const struct fbx__limit *k, uint64_t w, uint64_t now,
			    uint64_t cost)
{
	uint64_t mine = fbx__div(now, k->period_ns, k->inv_period) & IDX_MASK, widx = w >> 40;
	uint64_t prev = (w >> 20) & CNT_MASK, cur = w & CNT_MASK;
	if (widx == mine)
		cur = cur >= cost ? cur - cost : 0;
	else if (widx == ((mine + 1) & IDX_MASK))
		prev = prev >= cost ? prev - cost : 0; /* rolled over since */
	else
		return w;
	return widx << 40 | prev << 20 | cur;
}

uint64_t fbx__gcra_refund(const struct fbx__limit *k, uint64_t tat, uint64_t now,
			  uint64_t cost)
{
	uint64_t back = cost * k->gcra_t;
	/* never move TAT below now: that would grant more than was taken */
	return tat > now + back ? tat - back : (tat > now ? now : tat);
}
