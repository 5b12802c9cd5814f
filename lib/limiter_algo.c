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
#include "limiter_algo.h"

#define CNT_MASK 0xfffffull
#define IDX_MASK 0xffffffull
#define FP 16 /* fixed-point bits of the window weight */

bool fbx__window_decide(uint64_t w, uint64_t now, uint64_t limit, uint64_t period,
			uint64_t cost, uint64_t *next, struct fbx__verdict *v)
{
	uint64_t idx = now / period, el = now - idx * period;
	uint64_t idx24 = idx & IDX_MASK, widx = w >> 40;
	uint64_t prev = (w >> 20) & CNT_MASK, cur = w & CNT_MASK;
	if (w == 0 || widx != idx24) {
		prev = ((widx + 1) & IDX_MASK) == idx24 && w != 0 ? cur : 0;
		cur = 0;
	}
	/* weight of the previous window, in 1/65536ths; period >= 1 s so the
	 * divisor is never 0 */
	uint64_t weight = (period - el) / (period >> FP);
	if (weight > (1u << FP))
		weight = 1u << FP;
	uint64_t est = prev * weight + (cur << FP);
	uint64_t need = est + (cost << FP);
	v->limit = limit;
	v->reset_ns = period - el;
	if (need <= limit << FP) {
		v->remaining = ((limit << FP) - need) >> FP;
		v->retry_ns = 0;
		*next = idx24 << 40 | prev << 20 | (cur + cost);
		return true;
	}
	v->remaining = est >= limit << FP ? 0 : ((limit << FP) - est) >> FP;
	/* When would estimate + cost fit?  Inside this window if prev decays
	 * enough, else in the next one, where cur becomes prev.  Only the deny
	 * path gets here, so floating point costs nothing that matters. */
	double p = (double)period;
	if (cur + cost <= limit && prev > 0) {
		double x = p * (1.0 - (double)(limit - cur - cost) / (double)prev);
		v->retry_ns = x > (double)el ? (uint64_t)(x - (double)el) + 1 : 1;
	} else {
		double y = cur > limit - cost ? p * (1.0 - (double)(limit - cost) / (double)cur) : 0;
		v->retry_ns = (period - el) + (uint64_t)y + 1;
	}
	return false;
}

bool fbx__gcra_decide(uint64_t tat, uint64_t now, uint64_t limit, uint64_t t,
		      uint64_t tau, uint64_t cost, uint64_t *next, struct fbx__verdict *v)
{
	uint64_t base = tat > now ? tat : now;
	uint64_t new_tat = base + cost * t;
	uint64_t allow_at = new_tat - (tau + t) ; /* new_tat >= t always */
	v->limit = limit;
	if (allow_at <= now) {
		*next = new_tat;
		v->remaining = (tau + t - (new_tat - now)) / t;
		v->reset_ns = new_tat - now;
		v->retry_ns = 0;
		return true;
	}
	uint64_t ahead = base - now;
	v->remaining = ahead >= tau + t ? 0 : (tau + t - ahead) / t;
	v->reset_ns = ahead;
	v->retry_ns = allow_at - now;
	return false;
}

uint64_t fbx__window_refund(uint64_t w, uint64_t now, uint64_t period, uint64_t cost)
{
	uint64_t mine = (now / period) & IDX_MASK, widx = w >> 40;
	uint64_t prev = (w >> 20) & CNT_MASK, cur = w & CNT_MASK;
	if (widx == mine)
		cur = cur >= cost ? cur - cost : 0;
	else if (widx == ((mine + 1) & IDX_MASK))
		prev = prev >= cost ? prev - cost : 0; /* rolled over since */
	else
		return w;
	return widx << 40 | prev << 20 | cur;
}
