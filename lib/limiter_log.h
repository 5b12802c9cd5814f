/* limiter_log.h — the exact sliding log (see limiter_log.c for the protocol). */
#ifndef FBX_LIMITER_LOG_H
#define FBX_LIMITER_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "limiter_algo.h"

/*
 * A key's log is a head word and a ring of 2^shift slots.
 *
 * head = start:48 | pending:16.  Sequence numbers count admitted units
 * from 0; units [start, start + pending) belong to the latest admission and
 * may not be in the ring yet; every unit before start is.
 *
 * slot = tag:4 | time:60.  The unit with sequence number s lives in slot
 * s mod 2^shift with tag 8 | (lap & 7), lap = s >> shift: a tag is never
 * 0, so a cleared ring holds nothing, and a slot still holding the unit
 * of the lap before is told apart from one already filled.
 */
#define FBX__LOG_TIME_BITS 60
#define FBX__LOG_TIME_MASK ((1ull << FBX__LOG_TIME_BITS) - 1)
#define FBX__LOG_PENDING_BITS 16
#define FBX__LOG_PENDING_MAX ((1u << FBX__LOG_PENDING_BITS) - 1)
#define FBX__LOG_START(h) ((h) >> FBX__LOG_PENDING_BITS)
#define FBX__LOG_PENDING(h) ((h) & FBX__LOG_PENDING_MAX)
#define FBX__LOG_HEAD(start, pending) ((start) << FBX__LOG_PENDING_BITS | (pending))
#define FBX__LOG_SEQ_MAX ((1ull << (64 - FBX__LOG_PENDING_BITS)) - 1)

/* Readings of processes racing for a key differ by this much at most,
 * unless one of them stalled. */
#define FBX__LOG_SKEW_NS 1000000ull

/* A take's clock reading, whether GCRA must pad for the coarse clock, and
 * whether the reading was taken again after the state showed it stale. */
struct fbx__reading {
	uint64_t now;
	bool padded;
	bool fresh;
	bool coarse;
};
/* Reads the clock again (cold): the reading predates a stall. */
void fbx__reading_again(struct fbx__reading *at);

struct fbx__log {
	_Atomic uint64_t *head;
	_Atomic uint64_t *ring;
	uint32_t shift; /* 2^shift slots */
};

/* The log of the key whose state words are st, an entry of the log's key
 * table: its head is the entry's first word, its ring the entry's own. */
static inline struct fbx__log fbx__log_of_key(const fbx_box *box, _Atomic uint64_t *st)
{
	uintptr_t at = (uintptr_t)st - (uintptr_t)box->log_keys;
	uintptr_t bucket = at / sizeof(struct fbx__kbucket);
	uintptr_t way = (at % sizeof(struct fbx__kbucket) -
			 offsetof(struct fbx__kbucket, st)) / sizeof(box->log_keys->st[0]);
	uint64_t pos = (uint64_t)bucket * FBX__KB_WAYS + way;
	return (struct fbx__log){st, box->log_rings + (pos << box->log_shift), box->log_shift};
}

/* The log of global limiter i: its head is the record's first state word,
 * its ring one of those after the key table's. */
static inline struct fbx__log fbx__log_of_limiter(const fbx_box *box, uint32_t i)
{
	uint64_t pos = (uint64_t)box->log_key_buckets * FBX__KB_WAYS + i;
	return (struct fbx__log){box->limiters[i].global_state,
				 box->log_rings + (pos << box->log_shift), box->log_shift};
}

static inline uint64_t fbx__log_tag(uint64_t seq, uint32_t shift)
{
	return (8 | ((seq >> shift) & 7)) << FBX__LOG_TIME_BITS;
}

static inline _Atomic uint64_t *fbx__log_slot(const struct fbx__log *lg, uint64_t seq)
{
	return &lg->ring[seq & ((1ull << lg->shift) - 1)];
}

/* The time of unit seq, or false when its slot does not hold it (yet). */
static inline bool fbx__log_time(const struct fbx__log *lg, uint64_t seq, uint64_t *t)
{
	uint64_t v = atomic_load_explicit(fbx__log_slot(lg, seq), memory_order_acquire);
	*t = v & FBX__LOG_TIME_MASK;
	return (v & ~FBX__LOG_TIME_MASK) == fbx__log_tag(seq, lg->shift);
}

/*
 * The decision: for every limit (count c, period p), fewer than c - cost + 1
 * units in (now - p, now].  The ring is in time order, so that is one slot
 * per limit: the unit c - cost + 1 places back from the newest must be at
 * least p old.  HELP: a unit the decision needs is not in its slot yet (an
 * admission in flight, or one whose process died before writing it).
 */
enum { FBX__LOG_HELP = 3 };

/* The unit a decision needed and could not read. */
struct fbx__log_gap {
	uint64_t seq;
};

FBX__HOT int fbx__log_decide(const struct fbx__limiter_cfg *c, const struct fbx__log *lg,
			     uint64_t h, uint64_t now, uint64_t pad, bool fresh, uint64_t cost,
			     uint64_t *last, struct fbx__log_gap *gap, struct fbx__verdict *v)
{
	uint64_t top = FBX__LOG_START(h) + FBX__LOG_PENDING(h), t;
	*last = 0;
	if (FBX__UNLIKELY(FBX__LOG_PENDING(h) >> lg->shift)) {
		gap->seq = UINT64_MAX; /* more pending than the ring holds: damaged */
		return FBX__LOG_HELP;
	}
	if (top > 0) {
		if (!fbx__log_time(lg, top - 1, last)) {
			gap->seq = top - 1;
			return FBX__LOG_HELP;
		}
		/* The newest unit is well after this reading: the reading was
		 * taken before a stall.  A fresh one never is (a unit's time
		 * is an earlier reading, or the time of the unit before it);
		 * a reading just behind another process's, or a clock set
		 * back by a test, decides on its own reading, which only errs
		 * towards denial. */
		if (FBX__UNLIKELY(*last > now + pad + FBX__LOG_SKEW_NS) && !fresh)
			return FBX__STALE;
	}
	v->repair = false;
	v->retry_ns = 0;
	int verdict = FBX__ADMIT;
	for (uint32_t i = 0; i < c->parsed.n; i++) {
		const struct fbx__limit *k = &c->lim[i];
		uint64_t need = k->count - cost + 1; /* cost <= count: checked by the caller */
		if (top < need)
			continue;
		if (!fbx__log_time(lg, top - need, &t)) {
			gap->seq = top - need;
			return FBX__LOG_HELP;
		}
		if (now < t || now - t < k->period_ns) {
			uint64_t wait = t + k->period_ns - now;
			if (verdict == FBX__ADMIT || wait > v->retry_ns)
				v->retry_ns = wait;
			verdict = FBX__DENY;
		}
	}
	return verdict;
}

/* The figures of a decision taken on head top (units before the take):
 * remaining and reset of the tightest limit, or of the limit that denied
 * for longest.  own: the time the take's units were written at, 0 when
 * it was denied. */
void fbx__log_figures(const struct fbx__limiter_cfg *c, const struct fbx__log *lg, uint64_t top,
		      uint64_t now, uint64_t cost, uint64_t own, struct fbx__verdict *v);
/* Writes units [from, from + n), reserved by head h, at time t or later
 * (the ring stays in time order); stops as soon as the head has moved on,
 * since a head moves on only once they are all written. */
void fbx__log_fill(const struct fbx__log *lg, uint64_t h, uint64_t from, uint64_t n,
		   uint64_t t);
/* Settles a gap the decision found under head h: units of the latest
 * admission that are not written yet (in flight, or their process died)
 * are written at a fresh reading, which is no earlier than the admitting
 * process's own; a unit before them that does not read back is damage and
 * is rewritten as of the fresh reading (so it counts as long as it can,
 * never less).  Cold. */
void fbx__log_settle(const struct fbx__log *lg, uint64_t h, const struct fbx__log_gap *gap,
		     uint64_t fresh);
/* Every slot of the ring cleared (a new key's, or a new limiter's). */
void fbx__log_clear_ring(const struct fbx__log *lg);

/* One take: FBX__ADMIT or FBX__DENY with v filled, or a negative FBX_E
 * code (a log too damaged to settle).  at->now may be read again. */
int fbx__log_take(const struct fbx__limiter_cfg *c, const struct fbx__log *lg,
		  struct fbx__reading *at, uint64_t cost, struct fbx__verdict *v);

#endif
