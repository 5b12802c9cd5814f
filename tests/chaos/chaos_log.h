/*
 * chaos_log.h — what workers observed, in memory the master owns.
 *
 * One MAP_SHARED anonymous mapping, made before the first fork, holds a
 * small control block and one append-only region per worker slot.  Only
 * the slot's current worker writes its region, so a killed worker can lose
 * at most its own last record; respawned workers of the slot go on where
 * the dead one stopped.
 *
 * Every library call is written as the record at the region's count, in
 * two phases around the call: parameters and t0 first, then phase STARTED;
 * after the call t1 and the results.  Then the worker either publishes it
 * (phase COMPLETE, then count + 1) or, for the bulk of calls that only
 * matter as totals (closed-state calls, denials, rejections), adds it to
 * the region's counters and marks it AGGREGATED, leaving the place for
 * the next call.  When the master reaps a dead worker it settles the
 * record at count: COMPLETE is kept, STARTED becomes KILLED — a call in
 * flight when its process died, whose effects the box may or may not
 * show.  That is what lets the validator check exact totals under SIGKILL
 * while the log holds only the calls worth a record.
 */
#ifndef CHAOS_LOG_H
#define CHAOS_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum chaos_op {
	OP_ALLOW = 1,   /* obj = breaker */
	OP_DONE,        /* obj = breaker, arg = outcome, arg32 = duration in us */
	OP_TAKE,        /* obj = limiter, arg = cost, arg32 = key id */
	OP_SNAPSHOT,    /* arg32 = corrupt breakers and limiters seen */
	OP_EVENTS,      /* arg32 = events read */
	OP_REGISTER,    /* register or find; val = the return code expected */
	OP_OPEN,        /* a worker's own read-write handle */
	OP_OPEN_RO,     /* a read-only handle and a snapshot through it */
	OP_N
};

enum chaos_phase { PH_EMPTY = 0, PH_STARTED = 1, PH_COMPLETE = 2, PH_KILLED = 3, PH_AGGREGATED = 4 };

enum {
	RF_STALLED = 1,   /* the stalled clock slept inside this call */
	RF_ALLOWED = 2,   /* take: admitted */
	RF_LIMITER = 4,   /* register/find: of a limiter */
	RF_EXTRA = 8,     /* register: one of the records made during the run */
	RF_FIND = 16,     /* register/find: find */
	RF_BAD = 32,      /* events: the sequence numbers read were out of order */
};

struct chaos_rec {
	uint64_t t0, t1;  /* CLOCK_MONOTONIC right before and right after the call */
	/* allow/done: the permit's lease word; take: the reading the library
	 * decided on (fbx_limit_result.now_ns); register: expected code */
	uint64_t val;
	uint32_t arg32;
	uint16_t life;    /* which life of the slot wrote it */
	uint16_t gen;     /* allow/done: the permit's generation */
	int16_t rc;
	uint8_t op, obj;
	uint8_t arg;      /* done: outcome; take: cost; allow: reject reason */
	int8_t slot;      /* allow/done: the permit's trial slot, -1 when none */
	uint8_t flags;
	_Atomic uint8_t phase;
};
_Static_assert(sizeof(struct chaos_rec) == 40, "records stay small: the log holds millions");

/* Calls folded into counts, per slot; written only by the slot's worker.
 * A worker killed between its call and the count leaves the call STARTED,
 * so the validator counts it as in flight. */
#define CHAOS_LOG_BREAKERS 8
#define CHAOS_LOG_LIMITERS 12
struct chaos_agg {
	_Atomic uint64_t calls; /* every call, published or not: the pacing */
	_Atomic uint64_t done[CHAOS_LOG_BREAKERS][3], slow[CHAOS_LOG_BREAKERS];
	_Atomic uint64_t closed[CHAOS_LOG_BREAKERS], rejected[CHAOS_LOG_BREAKERS];
	_Atomic uint64_t allowed[CHAOS_LOG_LIMITERS], denied[CHAOS_LOG_LIMITERS];
};

struct chaos_region {
	_Atomic uint64_t count;
	struct chaos_agg agg;
	struct chaos_rec rec[];
};

struct chaos_ctl {
	_Atomic int stop;          /* the master asks workers to finish */
	_Atomic uint64_t stalls;   /* stalls that fired, all workers */
	uint64_t t0, t_end;        /* run start and planned end */
};

struct chaos_log {
	struct chaos_ctl *ctl;
	unsigned nregions;
	uint64_t cap;              /* records per region */
	uint64_t region_bytes;
	uint8_t *base;
	size_t size;
};

/* NULL when the mapping cannot be made. */
struct chaos_log *chaos_log_create(unsigned nregions, uint64_t cap);
void chaos_log_destroy(struct chaos_log *log);
struct chaos_region *chaos_log_region(const struct chaos_log *log, unsigned i);
uint64_t chaos_log_count(const struct chaos_region *r);

/* Worker side: the next record, or NULL when the region is full. */
struct chaos_rec *chaos_rec_open(const struct chaos_log *log, struct chaos_region *r,
				 uint8_t op, uint8_t obj, uint16_t life);
void chaos_rec_start(struct chaos_rec *rec);        /* t0, then STARTED */
void chaos_rec_finish(struct chaos_rec *rec, int rc); /* t1 and rc */
void chaos_rec_publish(struct chaos_region *r, struct chaos_rec *rec);
/* After the caller added the call to r->agg. */
void chaos_rec_aggregated(struct chaos_rec *rec);
/* Plain add: one writer per region. */
void chaos_agg_add(_Atomic uint64_t *c);

/* Master side, after reaping the worker of life `life`: returns the phase
 * the record in flight ended in (PH_EMPTY when there was none). */
int chaos_log_settle(const struct chaos_log *log, struct chaos_region *r, uint16_t life);

#endif
