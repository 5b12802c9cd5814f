/*
 * breaker.c — registering breakers, and the allow/done hot path.
 *
 * CLOSED costs one load in allow() and one shard increment in done(); all
 * state changes are single CAS transitions of the state word (segment.h),
 * so a process killed anywhere leaves either the old state or the new one
 * (docs/DESIGN.md R5).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool rates_on(const fbx_breaker_config *c)
{
	return c->failure_rate_pct != 0 || c->slow_rate_pct != 0;
}

static fbx_breaker *handle_for(fbx_box *box, uint32_t index)
{
	pthread_mutex_lock(&box->lock);
	fbx_breaker *b = box->breaker_list;
	while (b != NULL && b->index != index)
		b = b->next;
	/* R1: an index found or claimed below the validated capacity: the
	 * record and its ring lie inside their regions */
	FBX_ASSERT(index < box->cap_breakers);
	if (b == NULL && (b = calloc(1, sizeof(*b))) != NULL) {
		struct fbx__breaker_rec *rec = &box->breakers[index];
		b->box = box;
		b->rec = rec;
		b->index = index;
		b->ring = box->rings + (uint64_t)index * FBX_WINDOW_CALLS_MAX;
		b->cfg = rec->cfg;
		/* the copy the hot path will trust is the one checked */
		if (fbx_breaker_config_check(&b->cfg, NULL) != 0) {
			free(b);
			b = NULL;
			goto out;
		}
		b->bucket_ns = b->cfg.window_ns / FBX_WINDOW_BUCKETS;
		b->plain = !rates_on(&b->cfg) && b->cfg.slow_call_ns == 0;
		b->read_only = box->read_only;
		b->next = box->breaker_list;
		box->breaker_list = b;
	}
out:
	pthread_mutex_unlock(&box->lock);
	return b;
}

int fbx_breaker_find(fbx_box *box, const char *name, fbx_breaker **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	struct fbx__records rs = fbx__breaker_records(box);
	int i = fbx__record_find(&rs, name);
	if (i < 0)
		return FBX_ENOENT;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT; /* or out of memory */
}

static int create_record(fbx_box *box, const char *name, const fbx_breaker_config *cfg)
{
	struct fbx__records rs = fbx__breaker_records(box);
	int i = fbx__record_claim(&rs, name);
	if (i < 0)
		return i;
	struct fbx__breaker_rec *r = &box->breakers[i];
	r->cfg = *cfg;
	atomic_store(&r->state, FBX__ST_MAKE(FBX_CLOSED, 0, 0, 0));
	uint64_t bucket_ns = cfg->window_ns / FBX_WINDOW_BUCKETS;
	atomic_store(&r->win_floor, cfg->window_calls || !bucket_ns ? 0
				    : fbx__now_coarse() / bucket_ns - 1);
	/* closed since now, not since the box was made: a breaker added to a
	 * box of a week ago is not "closed for 7d" */
	atomic_store(&r->since_ms, fbx__ms_since(box, fbx__now_coarse()));
	fbx__record_publish(&rs, (uint32_t)i);
	return i;
}

int fbx_breaker_register(fbx_box *box, const char *name,
			 const fbx_breaker_config *cfg, fbx_breaker **out)
{
	if (box == NULL || out == NULL || cfg == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc)
		return rc;
	rc = fbx_breaker_config_check(cfg, NULL);
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	if (box->read_only)
		return FBX_ERDONLY;
	/* Records are never removed: one found without the lock stays.  Every
	 * worker registering at start-up takes the lock only for a new name. */
	struct fbx__records rs = fbx__breaker_records(box);
	int i = fbx__record_find(&rs, name);
	bool fresh = false;
	if (i < 0) {
		int lock = fbx__registry_lock(box);
		if (lock < 0)
			return lock;
		i = fbx__record_find(&rs, name);
		if (i < 0) {
			i = create_record(box, name, cfg);
			fresh = i >= 0;
		}
		fbx__registry_unlock(lock);
	}
	if (i >= 0 && !fresh && fbx_breaker_config_diff(&box->breakers[i].cfg, cfg) != NULL)
		i = FBX_ECONFLICT;
	if (i < 0)
		return i;
	if (fresh)
		fbx__event_emit(box, FBX_EV_REGISTER, FBX_CAUSE_CREATED, FBX_REC_BREAKER,
				(uint32_t)i, -1, FBX_CLOSED, NULL);
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ENOMEM;
}

const char *fbx_breaker_name(const fbx_breaker *b)
{
	return b ? b->rec->head.name : NULL;
}

int fbx_breaker_config_get(const fbx_breaker *b, fbx_breaker_config *cfg)
{
	if (cfg != NULL && b == NULL)
		memset(cfg, 0, sizeof(*cfg)); /* all policies off: fails config_check */
	if (b == NULL || cfg == NULL)
		return FBX_EINVAL;
	*cfg = b->cfg;
	return 0;
}

/* ---- transitions -------------------------------------------------------- */

/* A gen-tagged counter takes the new generation at once, with a count of
 * 0, unless a caller of that generation got there first.  This is what
 * keeps a count from 65,536 generations ago (the same 16-bit tag) from
 * being added to; a transition winner killed before it is harmless but
 * for that wrap. */
void fbx__gen_retag(_Atomic uint64_t *c, uint32_t gen)
{
	uint64_t w = atomic_load(c);
	while (FBX__GC_GEN(w) != (gen & 0xffff) &&
	       !atomic_compare_exchange_weak(c, &w, FBX__GC_MAKE(gen, 0)))
		;
}

/* CAS `from` -> `to`; the winner alone does the bookkeeping and the event. */
void fbx__breaker_since(struct fbx__breaker_rec *rec, uint64_t ms)
{
	uint64_t have = atomic_load_explicit(&rec->since_ms, memory_order_relaxed);
	while (have < ms && !atomic_compare_exchange_weak(&rec->since_ms, &have, ms))
		;
}

bool fbx__breaker_transition(fbx_breaker *b, uint64_t from, uint32_t to,
			     uint64_t now, fbx_event_cause cause)
{
	/* The caller's reading may predate a stall: an open period or a
	 * half-open start computed from it would be short, and a window floor
	 * would move back.  Transitions are rare; read the clock again. */
	uint64_t fresh = fbx__now_coarse();
	if (fresh > now)
		now = fresh;
	uint32_t streak = FBX__ST_STREAK(from);
	uint64_t deadline = 0, now_ms = fbx__ms_since(b->box, now);
	if (to == FBX_OPEN) {
		streak = FBX__ST_STATE(from) == FBX_HALF_OPEN ? streak + 1 : 1;
		if (streak > 15)
			streak = 15;
		deadline = now_ms + fbx__open_period_ns(&b->cfg, streak) / 1000000u;
	} else if (to == FBX_HALF_OPEN) {
		deadline = now_ms; /* when the period began: see lease_of() */
	} else if (to == FBX_CLOSED) {
		streak = 0;
	}
	if (deadline > FBX__DEADLINE_MAX)
		deadline = FBX__DEADLINE_MAX;
	uint32_t gen = (FBX__ST_GEN(from) + 1) & 0xffff;
	uint64_t next = FBX__ST_MAKE(to, streak, gen, deadline);
	/* R9: every transition moves the generation forward, so no permit or
	 * count of the state it leaves can act on the new one */
	FBX_ASSERT(fbx__gen_newer(gen, FBX__ST_GEN(from)));
	/* the state word installed holds exactly the fields decided on */
	FBX_ASSERT(FBX__ST_STATE(next) == to && FBX__ST_STREAK(next) == streak &&
		   FBX__ST_GEN(next) == gen && FBX__ST_DEADLINE(next) == deadline);
	/* The window restarts before the breaker closes: a kill between the
	 * two must not leave the window that tripped it in force.  Moving it
	 * early is harmless, as OPEN and HALF_OPEN record no window data; a
	 * caller that has already lost the race leaves it alone, and the
	 * floor only ever moves forward (breaker_window.c). */
	if (to == FBX_CLOSED) {
		if (atomic_load(&b->rec->state) != from)
			return false;
		fbx__window_floor_raise(b, now);
	}
	if (!atomic_compare_exchange_strong(&b->rec->state, &from, next))
		return false;
	fbx__gen_retag(&b->rec->consec, gen);
	fbx__gen_retag(&b->rec->ho_succ, gen);
	fbx__breaker_since(b->rec, now_ms);
	if (to == FBX_OPEN)
		atomic_fetch_add(&b->rec->trips, 1);
	fbx__event_emit(b->box, FBX_EV_TRANSITION, cause, FBX_REC_BREAKER, b->index,
			(int)FBX__ST_STATE(from), (int)to, NULL);
	return true;
}

/* ---- allow ------------------------------------------------------------- */

/* The _slot of a permit that admitted no call (a rejection or an error):
 * done() refuses it, so a caller that reports it anyway changes nothing.
 * -1 is an admitted call in CLOSED, 0.. a trial lease. */
#define PERMIT_NONE (-2)

/* Every return of allow() writes the whole permit: an error leaves one
 * that done() refuses, never the caller's garbage, which done() could
 * take for a trial lease. */
static __attribute__((cold, noinline)) int refuse(fbx_permit *p, int err)
{
	p->reason = FBX_REJECT_NONE;
	p->retry_after_ns = 0;
	p->_slot = PERMIT_NONE;
	p->_gen = 0;
	p->_lease = 0;
	return err;
}

static void admit(fbx_permit *p, uint64_t w, int32_t slot, uint64_t lease)
{
	p->reason = FBX_REJECT_NONE;
	p->retry_after_ns = 0;
	p->_gen = FBX__ST_GEN(w);
	p->_slot = slot;
	p->_lease = lease;
}

static int reject(fbx_breaker *b, fbx_permit *p, fbx_reject_reason why, uint64_t retry_ns)
{
	uint8_t *shard = fbx__shard(b->box);
	if (shard != NULL)
		fbx__count(b->box, &fbx__bshard(shard, b->index)->ctr[FBX__C_REJ]);
	p->reason = why;
	p->retry_after_ns = retry_ns;
	p->_slot = PERMIT_NONE;
	p->_gen = 0;
	p->_lease = 0;
	return FBX_EOPEN;
}

enum trial { TRIAL_ADMITTED, TRIAL_FULL, TRIAL_MOVED };

static uint64_t lease_make(uint32_t gen, uint64_t deadline_ms)
{
	uint64_t l = FBX__LEASE_MAKE(gen, deadline_ms);
	/* R5: a taken lease is never 0, which means free, and reads back as
	 * the generation and deadline lease_of() judges it by */
	FBX_ASSERT(l != 0 && FBX__LEASE_GEN(l) == (gen & 0xffff) &&
		   FBX__LEASE_DEADLINE(l) == deadline_ms);
	return l;
}

/* Whether lease word l is a trial of the half-open period w: its
 * generation, and not older than the period's start (a lease is never
 * granted before its period begins, so an older one is a leftover from
 * 65,536 generations ago). */
static bool lease_of(uint64_t l, uint64_t w)
{
	return l != 0 && FBX__LEASE_GEN(l) == FBX__ST_GEN(w) &&
	       FBX__LEASE_DEADLINE(l) >= FBX__ST_DEADLINE(w);
}

/*
 * HALF_OPEN: take one of the trial leases of period w.
 *
 * A caller may have read w long ago (preempted, stopped): its view can be
 * older than the state.  Such a caller must never take over a lease that
 * is not plainly free, since to it a newer period's live lease looks like
 * a leftover; only a caller that has just seen w still current may.  And a
 * lease granted on an old clock reading would expire early, so the trial
 * would be counted as failed: the lease runs from a fresh reading
 * (docs/DESIGN.md R9).
 */
static enum trial take_trial(fbx_breaker *b, uint64_t w, uint64_t *now,
			     fbx_permit *p, uint64_t *soonest_ms)
{
	uint32_t gen = FBX__ST_GEN(w);
	uint64_t now_ms = fbx__ms_since(b->box, *now);
	uint64_t lease_ms = b->cfg.trial_lease_ns / 1000000u;
	*soonest_ms = UINT64_MAX;
	for (uint32_t i = 0; i < b->cfg.half_open_max; i++) {
		_Atomic uint64_t *slot = &b->rec->lease[i];
		uint64_t l = atomic_load(slot);
		if (lease_of(l, w)) {
			/* a stale reading only makes a lease look younger */
			if (FBX__LEASE_DEADLINE(l) > now_ms) {
				if (FBX__LEASE_DEADLINE(l) < *soonest_ms)
					*soonest_ms = FBX__LEASE_DEADLINE(l);
				continue;
			}
			/* Its holder died or never reported: that trial failed. */
			if (atomic_compare_exchange_strong(slot, &l, 0))
				fbx__breaker_transition(b, w, FBX_OPEN, *now,
							FBX_CAUSE_TRIAL_LEASE);
			return TRIAL_MOVED;
		}
		if (l != 0 && atomic_load(&b->rec->state) != w)
			return TRIAL_MOVED; /* our view is old: look again */
		uint64_t mine = lease_make(gen, now_ms + lease_ms);
		if (!atomic_compare_exchange_strong(slot, &l, mine))
			continue;
		/* The state may have moved on while we claimed: give it back. */
		if (atomic_load(&b->rec->state) != w) {
			atomic_compare_exchange_strong(slot, &mine, 0);
			return TRIAL_MOVED;
		}
		uint64_t fresh = fbx__now_coarse(), fresh_ms = fbx__ms_since(b->box, fresh);
		if (fresh_ms > now_ms) {
			uint64_t later = lease_make(gen, fresh_ms + lease_ms);
			*now = fresh; /* a retry must not claim on the old reading */
			/* lost: a current caller took it as not of this period */
			if (!atomic_compare_exchange_strong(slot, &mine, later))
				return TRIAL_MOVED;
			mine = later;
		}
		admit(p, w, (int32_t)i, mine);
		return TRIAL_ADMITTED;
	}
	return TRIAL_FULL;
}

static int allow_slow(fbx_breaker *b, fbx_permit *p, uint64_t w)
{
	if (b->box->read_only)
		return refuse(p, FBX_ERDONLY);
	uint64_t now = fbx__now_coarse();
	for (int tries = 0; tries < 64; tries++) {
		uint64_t now_ms = fbx__ms_since(b->box, now), soonest;
		switch (FBX__ST_STATE(w)) {
		case FBX_CLOSED:
		case FBX_FORCED_CLOSED:
			admit(p, w, -1, 0);
			return 0;
		case FBX_FORCED_OPEN:
			return reject(b, p, FBX_REJECT_FORCED_OPEN, 0);
		case FBX_OPEN:
			if (now_ms < FBX__ST_DEADLINE(w))
				return reject(b, p, FBX_REJECT_OPEN,
					      (FBX__ST_DEADLINE(w) - now_ms) * 1000000u);
			fbx__breaker_transition(b, w, FBX_HALF_OPEN, now, FBX_CAUSE_TIMEOUT);
			break;
		case FBX_HALF_OPEN:
			switch (take_trial(b, w, &now, p, &soonest)) {
			case TRIAL_ADMITTED:
				return 0;
			case TRIAL_FULL:
				return reject(b, p, FBX_REJECT_HALF_OPEN_FULL,
					      soonest > now_ms ? (soonest - now_ms) * 1000000u : 0);
			case TRIAL_MOVED:
				break;
			}
			break;
		default:
			return refuse(p, FBX_ECORRUPT);
		}
		w = atomic_load_explicit(&b->rec->state, memory_order_acquire);
	}
	/* The state kept changing under us: fail safe, as if open. */
	return reject(b, p, FBX_REJECT_OPEN, 0);
}

int fbx_breaker_allow(fbx_breaker *b, fbx_permit *p)
{
	if (FBX__UNLIKELY(b == NULL || p == NULL))
		return p != NULL ? refuse(p, FBX_EINVAL) : FBX_EINVAL;
	uint64_t w = atomic_load_explicit(&b->rec->state, memory_order_acquire);
	uint32_t st = FBX__ST_STATE(w);
	/* A read-only handle admits nothing: it could not report the outcome,
	 * and a caller testing only for FBX_EOPEN must not call through. */
	if (FBX__LIKELY((st == FBX_CLOSED || st == FBX_FORCED_CLOSED) && !b->read_only)) {
		admit(p, w, -1, 0);
		return 0;
	}
	return allow_slow(b, p, w);
}

/* ---- done -------------------------------------------------------------- */

/* Counter tagged with a generation: counts from an older one start over;
 * a caller of an older generation than the count's is late and adds
 * nothing (it would wipe the newer generation's count).  Returns the
 * count after the add, 0 for a late caller. */
uint64_t fbx__gen_count_add(_Atomic uint64_t *c, uint32_t gen)
{
	gen &= 0xffff;
	uint64_t w = atomic_load(c), next;
	do {
		uint32_t have = FBX__GC_GEN(w);
		if (have == gen)
			next = w + 1;
		else if (fbx__gen_newer(gen, have))
			next = FBX__GC_MAKE(gen, 1);
		else
			return 0;
	} while (!atomic_compare_exchange_weak(c, &w, next));
	return FBX__GC_COUNT(next);
}

static int trial_done(fbx_breaker *b, const fbx_permit *p, fbx_outcome outcome,
		      bool slow)
{
	if ((uint32_t)p->_slot >= b->cfg.half_open_max)
		return FBX_EINVAL;
	_Atomic uint64_t *slot = &b->rec->lease[p->_slot];
	uint64_t lease = p->_lease;
	/* No longer ours: the lease was reclaimed, the result is late. */
	if (atomic_load(slot) != lease)
		return 0;
	uint64_t w = atomic_load(&b->rec->state);
	if (FBX__ST_STATE(w) == FBX_HALF_OPEN && FBX__ST_GEN(w) == (p->_gen & 0xffff) &&
	    lease_of(lease, w) && outcome != FBX_IGNORED) {
		uint64_t now = fbx__now_coarse();
		if (outcome == FBX_FAILURE || (slow && b->cfg.slow_rate_pct != 0))
			fbx__breaker_transition(b, w, FBX_OPEN, now, FBX_CAUSE_TRIAL_FAILED);
		else if (fbx__gen_count_add(&b->rec->ho_succ, FBX__ST_GEN(w)) >=
			 b->cfg.success_threshold)
			fbx__breaker_transition(b, w, FBX_CLOSED, now, FBX_CAUSE_TRIALS_OK);
	}
	/* Released last: until the outcome has moved the state, the slot
	 * stays taken, so no other trial of this period starts on the heels
	 * of a failure (found by make chaos).  A kill here leaves the lease to
	 * expire: ignored if the state has moved on, else counted as a failed
	 * trial, which errs the safe way. */
	atomic_compare_exchange_strong(slot, &lease, 0);
	return 0;
}

/* Where the window stands, for last_bad: its sequence number when it
 * counts calls, else the time in ms. */
static uint64_t window_mark(const fbx_breaker *b, uint64_t now)
{
	return b->cfg.window_calls ? atomic_load_explicit(&b->rec->ring_seq, memory_order_relaxed)
				   : fbx__ms_since(b->box, now);
}

/* Whether a failure or slow call recorded since mark may still be in the
 * window: only then can a success leave the rates at or over a threshold
 * (a success alone lowers them; it raises calls to min_calls, or older
 * successes leave the window, only while a failure is in it). */
static bool bad_in_window(const fbx_breaker *b, uint64_t now)
{
	uint64_t last = atomic_load_explicit(&b->rec->last_bad, memory_order_relaxed);
	if (last == 0)
		return false;
	uint64_t mark = window_mark(b, now), span = b->cfg.window_calls
							  ? b->cfg.window_calls
							  : b->cfg.window_ns / 1000000u + 1;
	return mark < last || mark - last <= span;
}

/*
 * Whether a success must evaluate the rates.  A success alone lowers
 * them; they can be at or over a threshold after it only while a failure
 * or slow call is in the window and either the success brings the window
 * to min_calls, or older calls have left it.  So, without summing the
 * window on every success:
 *  - a window of calls: only the call that brings it to min_calls (once
 *    full, a call that enters pushes one out, and a success cannot raise
 *    the share of failures);
 *  - a window of time: the first success of each bucket (calls leave only
 *    when a bucket does), and the success that makes up what the last
 *    evaluation found the window short of min_calls.
 */
static bool success_matters(fbx_breaker *b, uint64_t seq, uint64_t now)
{
	if (!bad_in_window(b, now))
		return false;
	if (b->cfg.window_calls != 0) {
		uint64_t floor = atomic_load_explicit(&b->rec->win_floor, memory_order_relaxed);
		return seq >= floor && seq + 1 - floor == b->cfg.min_calls;
	}
	uint64_t bucket = now / b->bucket_ns + 1; /* 0: none yet */
	uint64_t seen = atomic_load_explicit(&b->rec->eval_bucket, memory_order_relaxed);
	if (seen < bucket && atomic_compare_exchange_strong(&b->rec->eval_bucket, &seen, bucket))
		return true;
	uint64_t s = atomic_load_explicit(&b->rec->short_by, memory_order_relaxed);
	while ((uint32_t)(s >> 32) == (uint32_t)bucket && (uint32_t)s != 0)
		if (atomic_compare_exchange_weak(&b->rec->short_by, &s, s - 1))
			return (uint32_t)s == 1;
	return false;
}

/* The rates, evaluated after every call the window records that can move
 * them over a threshold, as resilience4j evaluates after every call: three
 * failures then two successes trip a breaker of failure_rate 50 and
 * min_calls 5 on the fifth call. */
static void closed_evaluate(fbx_breaker *b, uint64_t w, bool failure, bool slow, uint64_t seq,
			    uint64_t now)
{
	uint32_t gen = FBX__ST_GEN(w);
	if (failure && b->cfg.fail_max != 0 &&
	    fbx__gen_count_add(&b->rec->consec, gen) >= b->cfg.fail_max) {
		fbx__breaker_transition(b, w, FBX_OPEN, now, FBX_CAUSE_FAIL_MAX);
		return;
	}
	if (!rates_on(&b->cfg))
		return;
	if (failure || slow) {
		/* +1: 0 means none; a mark only moves forward */
		uint64_t mark = window_mark(b, now) + 1,
			 have = atomic_load_explicit(&b->rec->last_bad, memory_order_relaxed);
		while (have < mark && !atomic_compare_exchange_weak(&b->rec->last_bad, &have, mark))
			;
	} else if (!success_matters(b, seq, now)) {
		return;
	}
	uint64_t calls, fails, slows;
	fbx__window_figures(b->box, b->rec, &b->cfg, now, &calls, &fails, &slows);
	if (calls < b->cfg.min_calls) {
		if (b->cfg.window_calls == 0 && (fails != 0 || slows != 0))
			atomic_store_explicit(&b->rec->short_by,
					      (now / b->bucket_ns + 1) << 32 |
						      (uint32_t)(b->cfg.min_calls - calls),
					      memory_order_relaxed);
		return;
	}
	if (b->cfg.failure_rate_pct != 0 && fails * 100 >= calls * b->cfg.failure_rate_pct)
		fbx__breaker_transition(b, w, FBX_OPEN, now, FBX_CAUSE_FAILURE_RATE);
	else if (b->cfg.slow_rate_pct != 0 && slows * 100 >= calls * b->cfg.slow_rate_pct)
		fbx__breaker_transition(b, w, FBX_OPEN, now, FBX_CAUSE_SLOW_RATE);
}

static_assert((int)FBX__C_SUCC == (int)FBX_SUCCESS && (int)FBX__C_FAIL == (int)FBX_FAILURE &&
		      (int)FBX__C_IGN == (int)FBX_IGNORED, "outcomes index the counters");

/* A success in CLOSED ends any run of consecutive failures. */
static __attribute__((noinline)) void end_failure_run(fbx_breaker *b, uint64_t c,
						      const fbx_permit *p)
{
	uint64_t w = atomic_load(&b->rec->state);
	if (FBX__ST_STATE(w) == FBX_CLOSED && FBX__ST_GEN(w) == (p->_gen & 0xffff) &&
	    FBX__GC_GEN(c) == FBX__ST_GEN(w))
		atomic_compare_exchange_strong(&b->rec->consec, &c, FBX__GC_MAKE(FBX__GC_GEN(c), 0));
}

static __attribute__((noinline)) int done_slow(fbx_breaker *b, const fbx_permit *p,
					       fbx_outcome outcome, uint64_t duration_ns,
					       uint8_t *shard)
{
	bool slow = outcome != FBX_IGNORED && b->cfg.slow_call_ns != 0 &&
		    duration_ns >= b->cfg.slow_call_ns;
	if (slow)
		fbx__count(b->box, &fbx__bshard(shard, b->index)->ctr[FBX__C_SLOW]);
	if (p->_slot >= 0)
		return trial_done(b, p, outcome, slow);
	if (outcome == FBX_IGNORED)
		return 0;
	uint64_t w = atomic_load_explicit(&b->rec->state, memory_order_acquire);
	/* A result from an older generation, or from a forced state, is
	 * counted but must not move the state it did not see. */
	if (FBX__ST_STATE(w) != FBX_CLOSED || FBX__ST_GEN(w) != (p->_gen & 0xffff))
		return 0;
	bool failure = outcome == FBX_FAILURE;
	uint64_t now = fbx__now_coarse();
	uint64_t seq = rates_on(&b->cfg) ? fbx__window_record(b, shard, failure, slow, now) : 0;
	if (!failure && b->cfg.fail_max != 0) {
		/* a success ends a run of failures, slow or not */
		uint64_t c = atomic_load_explicit(&b->rec->consec, memory_order_relaxed);
		if (FBX__GC_COUNT(c) != 0)
			end_failure_run(b, c, p);
	}
	if (failure || slow || rates_on(&b->cfg))
		closed_evaluate(b, w, failure, slow, seq, now);
	return 0;
}

int fbx_breaker_done(fbx_breaker *b, const fbx_permit *p, fbx_outcome outcome,
		     uint64_t duration_ns)
{
	if (FBX__UNLIKELY(b == NULL || p == NULL || (unsigned)outcome > FBX_IGNORED ||
			  p->reason != FBX_REJECT_NONE || p->_slot < -1))
		return FBX_EINVAL; /* a rejected or failed allow() admitted no call */
	uint8_t *shard = fbx__shard(b->box);
	if (FBX__UNLIKELY(shard == NULL))
		return FBX_ERDONLY;
	fbx__count(b->box, &fbx__bshard(shard, b->index)->ctr[outcome]);
	/* The common case, kept short: a success in CLOSED with neither a
	 * rate window nor a slow-call threshold to feed. */
	if (FBX__LIKELY(outcome == FBX_SUCCESS && b->plain && p->_slot < 0)) {
		if (b->cfg.fail_max != 0) {
			uint64_t c = atomic_load_explicit(&b->rec->consec, memory_order_relaxed);
			if (FBX__UNLIKELY(FBX__GC_COUNT(c) != 0))
				end_failure_run(b, c, p);
		}
		return 0;
	}
	return done_slow(b, p, outcome, duration_ns, shard);
}

int fbx_breaker_call(fbx_breaker *b, fbx_outcome (*fn)(void *arg), void *arg,
		     fbx_outcome *outcome, fbx_permit *permit)
{
	fbx_permit local;
	if (permit == NULL)
		permit = &local;
	if (b == NULL || fn == NULL)
		return refuse(permit, FBX_EINVAL);
	int rc = fbx_breaker_allow(b, permit);
	if (rc)
		return rc;
	uint64_t t0 = b->cfg.slow_call_ns ? fbx__now() : 0;
	fbx_outcome o = fn(arg);
	uint64_t took = t0 ? fbx__now() - t0 : 0;
	if ((unsigned)o > FBX_IGNORED)
		o = FBX_FAILURE;
	if (outcome != NULL)
		*outcome = o;
	return fbx_breaker_done(b, permit, o, took);
}
