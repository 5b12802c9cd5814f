/* limiter_algo.h — the per-limit decision functions (see limiter_algo.c). */
#ifndef FBX_LIMITER_ALGO_H
#define FBX_LIMITER_ALGO_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

struct fbx__verdict {
	uint64_t limit, remaining, reset_ns, retry_ns;
	uint64_t idx; /* window: the window index the decision counted in */
	bool repair;  /* denied, yet *next holds a word to install (GCRA) */
};

/*
 * A decision on (word, now).  STALE: the word is further ahead of `now`
 * than a current reading could ever see, so `now` was most likely read
 * before a stall (preemption, SIGSTOP, cgroup throttling).  The caller
 * reads the clock again and decides with fresh = true; a word still too
 * far ahead of a fresh reading is then foreign (a rule tightened live, a
 * wrapped window index, a write meant for an entry's previous key) and
 * each algorithm settles it without moving anything backwards in time
 * (docs/DESIGN.md R9).
 */
enum fbx__decision { FBX__DENY = 0, FBX__ADMIT = 1, FBX__STALE = 2 };

/* n / d for a d whose floor((2^64 - 1) / d) is inv: a multiply and one
 * rare correction instead of a 64-bit division.  The estimate never
 * exceeds n / d and falls short by at most 2; the correction divides, so
 * even an inv that does not belong to d (a damaged config that slipped
 * past the checks) costs a wrong quotient, never an unbounded loop.  d is
 * never 0: every divisor is checked where the config is loaded. */
static inline uint64_t fbx__div(uint64_t n, uint64_t d, uint64_t inv)
{
	uint64_t q = (uint64_t)(((unsigned __int128)n * inv) >> 64);
	uint64_t r = n - q * d;
	if (__builtin_expect(r >= d, 0))
		q += r / d;
	return q;
}

/* The window word's layout (FBX__W_*) is in segment.h. */
#define FBX__FP 16 /* fixed-point bits of the window weight */

uint64_t fbx__window_retry(const struct fbx__limit *k, uint64_t prev, uint64_t cur,
			   uint64_t el, uint64_t cost) __attribute__((cold));

/* Inline: they are most of the limiter's hot path (see limiter_algo.c). */
#define FBX__HOT static inline __attribute__((always_inline))
#define FBX__GCRA_SKEW_NS 1000000000ull

FBX__HOT enum fbx__decision fbx__window_decide(const struct fbx__limit *k, uint64_t w,
					       uint64_t now, bool fresh, uint64_t cost,
					       uint64_t *next, struct fbx__verdict *v)
{
	uint64_t limit = k->count, period = k->period_ns;
	uint64_t idx = fbx__div(now, period, k->inv_period), el = now - idx * period;
	uint64_t mine = idx & FBX__IDX_MASK, widx = FBX__W_IDX(w);
	uint64_t prev = FBX__W_PREV(w), cur = FBX__W_CUR(w);
	uint64_t ahead = (widx - mine) & FBX__IDX_MASK;
	/* A word in the next window: this reading was taken just before the
	 * boundary (a process preempted across it).  Count in the word's
	 * window from its start; never move the index back.  (A wrapped old
	 * index may also look like it: an early denial at worst, as
	 * documented above.)  Two or more windows ahead, on half the index
	 * range: a reading from before a stall, to be taken again; with a
	 * fresh reading, an index wrapped while the key was idle — old. */
	if (w != 0 && ahead == 1) {
		mine = widx;
		el = 0;
	} else if (FBX__UNLIKELY(w != 0 && ahead != 0 && ahead < 0x8000 && !fresh)) {
		v->repair = false;
		return FBX__STALE;
	}
	v->idx = mine;
	v->repair = false;
	if (w == 0 || widx != mine) {
		prev = ((widx + 1) & FBX__IDX_MASK) == mine && w != 0 ? cur : 0;
		cur = 0;
	}
	/* weight of the previous window in 1/65536ths: (period - el) / period */
	uint64_t weight =
		(uint64_t)(((unsigned __int128)(period - el) * (k->inv_period << FBX__FP)) >> 64);
	if (weight > (1u << FBX__FP))
		weight = 1u << FBX__FP;
	uint64_t est = prev * weight + (cur << FBX__FP);
	uint64_t need = est + (cost << FBX__FP);
	v->limit = limit;
	v->reset_ns = period - el;
	if (need <= limit << FBX__FP) {
		v->remaining = ((limit << FBX__FP) - need) >> FBX__FP;
		v->retry_ns = 0;
		*next = FBX__W_MAKE(mine, prev, cur + cost);
		/* the admitted word holds the counts decided on: cur + cost is
		 * within the limit, at most FBX_WINDOW_COUNT_MAX for a checked
		 * config, so nothing carries into prev or the index */
		FBX_ASSERT(FBX__W_IDX(*next) == mine && FBX__W_PREV(*next) == prev &&
			   FBX__W_CUR(*next) == cur + cost);
		return FBX__ADMIT;
	}
	v->remaining = est >= limit << FBX__FP ? 0 : ((limit << FBX__FP) - est) >> FBX__FP;
	v->retry_ns = fbx__window_retry(k, prev, cur, el, cost);
	return FBX__DENY;
}

FBX__HOT enum fbx__decision fbx__gcra_decide(const struct fbx__limit *k, bool padded,
					     uint64_t tat, uint64_t now, bool fresh,
					     uint64_t cost, uint64_t *next,
					     struct fbx__verdict *v)
{
	uint64_t t = padded ? k->pad_t : k->gcra_t;
	uint64_t span = (padded ? k->pad_tau : k->gcra_tau) + t;
	uint64_t inv_t = padded ? k->pad_inv_t : k->inv_t;
	v->repair = false;
	/* A current TAT is never more than span ahead (plus the skew of
	 * readings taken at slightly different moments).  Further ahead: a
	 * reading from before a stall, to be taken again.  Further ahead of a
	 * fresh reading too: a rule tightened live, or a write meant for an
	 * entry's previous key.  Resetting it would grant a fresh burst;
	 * keeping it could lock the key out for the old rule's horizon.  The
	 * key's budget is spent: it restarts at the limit (installed even if
	 * this take is denied) and refills at the rule's rate. */
	bool clamped = false;
	if (FBX__UNLIKELY(tat > now && tat - now > span + FBX__GCRA_SKEW_NS)) {
		if (!fresh)
			return FBX__STALE;
		tat = now + span;
		clamped = true;
	}
	uint64_t base = tat > now ? tat : now;
	uint64_t new_tat = base + cost * t;
	v->limit = k->count;
	if (new_tat - now <= span) {
		*next = new_tat;
		v->remaining = fbx__div(span - (new_tat - now), t, inv_t);
		v->reset_ns = new_tat - now;
		v->retry_ns = 0;
		return FBX__ADMIT;
	}
	uint64_t ahead = base - now;
	v->remaining = ahead >= span ? 0 : fbx__div(span - ahead, t, inv_t);
	v->reset_ns = ahead;
	v->retry_ns = new_tat - span - now;
	if (clamped) {
		*next = tat;
		v->repair = true;
	}
	return FBX__DENY;
}

/* One limit's decision on word w, for either word algorithm (limiter.c). */
struct fbx__reading;
enum fbx__decision fbx__limit_decide(const fbx_limiter *l, const struct fbx__limit *k,
				     uint64_t w, const struct fbx__reading *at, uint64_t cost,
				     uint64_t *next, struct fbx__verdict *v);

/* Gives back cost taken by a take that a later limit of the rule denied. */
void fbx__window_unadd(_Atomic uint64_t *word, uint64_t idx, uint64_t cost);
uint64_t fbx__gcra_refund(const struct fbx__limit *k, bool padded, uint64_t tat, uint64_t now,
			  uint64_t cost);

/* Zeroes the result of a failed take or peek (limiter.c): an error leaves
 * no figures a caller could send as headers. */
int fbx__limit_failed(fbx_limit_result *res, int err);

#endif
