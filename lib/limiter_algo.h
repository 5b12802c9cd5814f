/* limiter_algo.h — the per-limit decision functions (see limiter_algo.c). */
#ifndef FBX_LIMITER_ALGO_H
#define FBX_LIMITER_ALGO_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

struct fbx__verdict {
	uint64_t limit, remaining, reset_ns, retry_ns;
};

/* n / d for a d whose floor((2^64 - 1) / d) is inv: a multiply and at most
 * two corrections instead of a 64-bit division. */
static inline uint64_t fbx__div(uint64_t n, uint64_t d, uint64_t inv)
{
	uint64_t q = (uint64_t)(((unsigned __int128)n * inv) >> 64);
	uint64_t r = n - q * d;
	while (r >= d) {
		q++;
		r -= d;
	}
	return q;
}

#define FBX__CNT_MASK 0xfffffull
#define FBX__IDX_MASK 0xffffffull
#define FBX__FP 16 /* fixed-point bits of the window weight */

/* Inline: they are most of the limiter's hot path (see limiter_algo.c). */
static inline bool fbx__window_decide(const struct fbx__limit *k, uint64_t w, uint64_t now,
			uint64_t cost, uint64_t *next, struct fbx__verdict *v)
{
	uint64_t limit = k->count, period = k->period_ns;
	uint64_t idx = fbx__div(now, period, k->inv_period), el = now - idx * period;
	uint64_t idx24 = idx & FBX__IDX_MASK, widx = w >> 40;
	uint64_t prev = (w >> 20) & FBX__CNT_MASK, cur = w & FBX__CNT_MASK;
	if (w == 0 || widx != idx24) {
		prev = ((widx + 1) & FBX__IDX_MASK) == idx24 && w != 0 ? cur : 0;
		cur = 0;
	}
	/* weight of the previous window in 1/65536ths: (period - el) / period */
	uint64_t weight = (uint64_t)(((unsigned __int128)(period - el) * (k->inv_period << FBX__FP)) >> 64);
	if (weight > (1u << FBX__FP))
		weight = 1u << FBX__FP;
	uint64_t est = prev * weight + (cur << FBX__FP);
	uint64_t need = est + (cost << FBX__FP);
	v->limit = limit;
	v->reset_ns = period - el;
	if (need <= limit << FBX__FP) {
		v->remaining = ((limit << FBX__FP) - need) >> FBX__FP;
		v->retry_ns = 0;
		*next = idx24 << 40 | prev << 20 | (cur + cost);
		return true;
	}
	v->remaining = est >= limit << FBX__FP ? 0 : ((limit << FBX__FP) - est) >> FBX__FP;
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

static inline bool fbx__gcra_decide(const struct fbx__limit *k, uint64_t tat, uint64_t now,
		      uint64_t cost, uint64_t *next, struct fbx__verdict *v)
{
	uint64_t t = k->gcra_t, span = k->gcra_tau + t;
	uint64_t base = tat > now ? tat : now;
	uint64_t new_tat = base + cost * t;
	v->limit = k->count;
	if (new_tat - now <= span) {
		*next = new_tat;
		v->remaining = fbx__div(span - (new_tat - now), t, k->inv_t);
		v->reset_ns = new_tat - now;
		v->retry_ns = 0;
		return true;
	}
	uint64_t ahead = base - now;
	v->remaining = ahead >= span ? 0 : fbx__div(span - ahead, t, k->inv_t);
	v->reset_ns = ahead;
	v->retry_ns = new_tat - span - now;
	return false;
}

/* Gives back cost taken by a take that a later limit of the rule denied. */
uint64_t fbx__window_refund(const struct fbx__limit *k, uint64_t w, uint64_t now,
			    uint64_t cost);
uint64_t fbx__gcra_refund(const struct fbx__limit *k, uint64_t tat, uint64_t now,
			  uint64_t cost);

#endif
