/*
 * limiter_log.c — the exact sliding log: a key's admitted calls, one time
 * stamp per unit of cost, in a ring.
 *
 * A take is admitted when, for every limit (count c, period p) of the rule,
 * fewer than c - cost + 1 units were admitted in (now - p, now].  The ring
 * holds the units in time order, so each limit reads one slot: the unit
 * c - cost + 1 places back from the newest.  A denied take writes nothing.
 * The ring needs at least max(c) + 1 slots: the slot a take writes must not
 * be one a concurrent decision still reads.
 *
 * Lock-free, in three steps, each safe to be killed after:
 *   1. decide on head h and the slots it names;
 *   2. reserve: CAS head h -> (top, cost), top = the units before; this is
 *      the moment the take is admitted;
 *   3. fill: write the reserved units' slots with CAS, at max(now, time of
 *      the unit before) so the ring stays in time order.
 * Before reserving, a take reads the newest unit (it needs its time for
 * step 3).  If that unit is not written yet, the take writes the whole
 * latest admission itself (fbx__log_settle) at a fresh clock reading —
 * no earlier than the admitting process's reading, which came before its
 * reservation.  So a head only moves on once the admission before it is
 * fully written, and every unit before the head's start is in the ring.
 *
 * A process killed after step 2 leaves its units unwritten; the next take
 * writes them as of its own reading: the dead process's admission counts,
 * for a little longer than it would have.  Its call may never have run —
 * the error is towards denial, by at most that take's cost, for at most
 * one period.  Killed before step 2, nothing of it is recorded.
 *
 * A slot being filled holds the unit of the lap before (tag one lap back)
 * or, in a fresh ring, 0: the fill replaces anything that is not its own
 * unit, but only while the head is still the one that reserved it — once
 * the head has moved on, the admission was written by someone else, and
 * the slot may already hold a later lap.
 */
#include "limiter_log.h"

/* The first unit of [lo, top) whose time is within p of now: binary search
 * in a ring in time order.  A unit not written yet counts as in the window
 * (its time is at least the last reading taken). */
static uint64_t first_in_window(const struct fbx__log *lg, uint64_t lo, uint64_t top,
				uint64_t now, uint64_t p)
{
	while (lo < top) {
		uint64_t mid = lo + (top - lo) / 2, t;
		if (!fbx__log_time(lg, mid, &t) || t > now || now - t < p)
			top = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void fbx__log_figures(const struct fbx__limiter_cfg *c, const struct fbx__log *lg, uint64_t top,
		      uint64_t now, uint64_t cost, uint64_t own, struct fbx__verdict *v)
{
	bool first = true;
	uint64_t retry = v->retry_ns;
	for (uint32_t i = 0; i < c->parsed.n; i++) {
		const struct fbx__limit *k = &c->lim[i];
		uint64_t need = k->count - cost + 1, t;
		/* The unit need places back decides the limit; the ring being in
		 * time order, the units in the window are found between it and
		 * the newest (admitted), or among the cost - 1 older ones
		 * (denied): a short search either way. */
		bool denies = top >= need && fbx__log_time(lg, top - need, &t) &&
			      (t > now || now - t < k->period_ns);
		if (!own && !denies)
			continue; /* a denial reports the limit that denies longest */
		uint64_t in;
		if (denies) {
			uint64_t lo = top > k->count ? top - k->count : 0;
			in = top - first_in_window(lg, lo, top - need, now, k->period_ns);
		} else {
			uint64_t lo = top >= need ? top - need + 1 : 0;
			in = top - first_in_window(lg, lo, top, now, k->period_ns);
		}
		uint64_t used = in + (own ? cost : 0);
		uint64_t remaining = used >= k->count ? 0 : k->count - used;
		uint64_t reset = 0, wait = 0, newest;
		if (own)
			reset = own + k->period_ns - now;
		else if (fbx__log_time(lg, top - 1, &newest))
			reset = newest + k->period_ns - now; /* in the window: it denies */
		if (denies)
			wait = t + k->period_ns - now;
		/* Admitted: the tightest limit.  Denied: the one that denies
		 * for longest, whose wait the decision put in retry. */
		bool pick = own ? (first || remaining < v->remaining) : (first || wait >= retry);
		if (pick) {
			v->limit = k->count;
			v->remaining = remaining;
			v->reset_ns = reset;
			first = false;
		}
	}
	if (first) { /* denied with no limit denying: the units moved meanwhile */
		v->limit = c->lim[0].count;
		v->remaining = 0;
		v->reset_ns = retry;
	}
	v->retry_ns = own ? 0 : retry;
}

void fbx__log_fill(const struct fbx__log *lg, uint64_t h, uint64_t from, uint64_t n,
		   uint64_t t)
{
	for (uint64_t seq = from; seq < from + n; seq++) {
		_Atomic uint64_t *slot = fbx__log_slot(lg, seq);
		uint64_t tag = fbx__log_tag(seq, lg->shift);
		/* R9: a written unit is never mistaken for a cleared slot */
		FBX_ASSERT(tag != 0);
		uint64_t v = atomic_load_explicit(slot, memory_order_acquire);
		for (;;) {
			if ((v & ~FBX__LOG_TIME_MASK) == tag) {
				uint64_t theirs = v & FBX__LOG_TIME_MASK;
				if (theirs > t)
					t = theirs; /* a helper's later reading: stay in order */
				break;
			}
			if (atomic_load_explicit(lg->head, memory_order_acquire) != h)
				return; /* written by others, and possibly reused since */
			if (atomic_compare_exchange_weak_explicit(slot, &v, tag | (t & FBX__LOG_TIME_MASK),
								  memory_order_release,
								  memory_order_acquire))
				break;
		}
	}
}

void fbx__log_settle(const struct fbx__log *lg, uint64_t h, const struct fbx__log_gap *gap,
		     uint64_t fresh)
{
	uint64_t start = FBX__LOG_START(h), pending = FBX__LOG_PENDING(h);
	if (pending >> lg->shift || start + pending > FBX__LOG_SEQ_MAX) {
		/* A damaged head: take its units as written (the slots that do
		 * not read back are rewritten when a decision needs them). */
		uint64_t top = (start + (pending >> lg->shift ? 0 : pending)) & FBX__LOG_SEQ_MAX;
		atomic_compare_exchange_strong(lg->head, &h, FBX__LOG_HEAD(top, 0));
		return;
	}
	if (gap->seq >= start) {
		uint64_t t = fresh, before;
		if (start > 0 && fbx__log_time(lg, start - 1, &before) && before > t)
			t = before;
		fbx__log_fill(lg, h, start, pending, t);
		return;
	}
	/* A unit before the head's start always reads back, unless the slot
	 * was damaged: confirm the head has not moved on since the slot was
	 * read (a head only grows), then rewrite the slot unless it changed. */
	_Atomic uint64_t *slot = fbx__log_slot(lg, gap->seq);
	uint64_t v = atomic_load_explicit(slot, memory_order_acquire);
	uint64_t tag = fbx__log_tag(gap->seq, lg->shift);
	if ((v & ~FBX__LOG_TIME_MASK) == tag || atomic_load(lg->head) != h)
		return;
	atomic_compare_exchange_strong(slot, &v, tag | (fresh & FBX__LOG_TIME_MASK));
}

void fbx__log_clear_ring(const struct fbx__log *lg)
{
	for (uint64_t i = 0; i < (1ull << lg->shift); i++)
		atomic_store_explicit(&lg->ring[i], 0, memory_order_release);
}

/* Rounds of settling gaps before a take gives up on a damaged log. */
#define SETTLE_ROUNDS 16

int fbx__log_take(const struct fbx__limiter_cfg *c, const struct fbx__log *lg,
		  struct fbx__reading *at, uint64_t cost, struct fbx__verdict *v)
{
	/* On the coarse clock, a reading lags the true time by less than a
	 * tick: stamped a tick later, a unit never leaves its window before it
	 * truly has, and the limit holds in every true window — a take may be
	 * denied up to a tick before an exact log would admit it. */
	uint64_t pad = at->padded ? c->log_tick_ns : 0;
	uint64_t h = atomic_load_explicit(lg->head, memory_order_acquire);
	for (int settled = 0;;) {
		uint64_t last;
		struct fbx__log_gap gap;
		int d = fbx__log_decide(c, lg, h, at->now, pad, at->fresh, cost, &last, &gap, v);
		if (FBX__UNLIKELY(d == FBX__STALE)) {
			fbx__reading_again(at);
			continue;
		}
		if (FBX__UNLIKELY(d == FBX__LOG_HELP)) {
			if (++settled > SETTLE_ROUNDS)
				return FBX_ECORRUPT;
			fbx__reading_again(at);
			fbx__log_settle(lg, h, &gap, at->now + pad);
			h = atomic_load_explicit(lg->head, memory_order_acquire);
			continue;
		}
		uint64_t top = FBX__LOG_START(h) + FBX__LOG_PENDING(h);
		if (d == FBX__DENY) {
			fbx__log_figures(c, lg, top, at->now, cost, 0, v);
			return FBX__DENY;
		}
		if (FBX__UNLIKELY(top + cost > FBX__LOG_SEQ_MAX))
			return FBX_ERANGE; /* 2^48 units: centuries at any rule's rate */
		uint64_t mine = FBX__LOG_HEAD(top, cost);
		/* R9: the reservation names exactly the units decided on (a
		 * cost is at most a count, and counts are below 2^16) */
		FBX_ASSERT(FBX__LOG_START(mine) == top && FBX__LOG_PENDING(mine) == cost);
		if (!atomic_compare_exchange_weak_explicit(lg->head, &h, mine, memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		uint64_t t = at->now + pad > last ? at->now + pad : last;
		fbx__log_fill(lg, mine, top, cost, t);
		fbx__log_figures(c, lg, top, at->now, cost, t, v);
		return FBX__ADMIT;
	}
}
