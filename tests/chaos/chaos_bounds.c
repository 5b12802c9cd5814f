/*
 * chaos_bounds.c — no limiter admits more than its algorithm's bound.
 *
 * For every limiter, key and limit of its rule: the admissions whose whole
 * [before, after] interval lies inside one window of the limit's period
 * must cost at most the bound — the limit's count for the exact log;
 * count + burst - 1 for GCRA (the rule's rate sustained, the burst on
 * top); twice the count for the sliding-window counter (all of one
 * window's budget at its end, then the next window's at its start).  An admission happened somewhere
 * inside its interval, so the admissions counted really were all inside
 * that window: a violation is never a false alarm.  A take whose clock
 * stalled has an interval over a second long, so it counts in no window
 * of a second; what it did to the key shows in the others' admissions,
 * and the report lists such stale takes next to the window.
 *
 * A key pushed out of a full table starts over with a whole budget, by
 * design: a limiter whose key was evicted is not checked (the box is sized
 * so that none is).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"

struct adm {
	uint64_t t0, t1, reading;
	uint32_t key;
	uint16_t life;
	uint8_t wslot, cost;
	bool stalled, allowed;
};

static int cmp_adm(const void *a, const void *b)
{
	const struct adm *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

/* Admissions of limiter li, and stalled takes (admitted or not) kept for
 * the reports: they are the usual suspects. */
static struct adm *collect(const struct chaos_run *run, unsigned li, size_t *n_out)
{
	size_t n = 0, cap = 0;
	struct adm *a = NULL;
	for (unsigned s = 0; s < run->o.workers; s++) {
		const struct chaos_region *reg = chaos_log_region(run->log, s);
		uint64_t n_rec = chaos_log_count(reg);
		for (uint64_t i = 0; i < n_rec; i++) {
			const struct chaos_rec *r = &reg->rec[i];
			if (r->op != OP_TAKE || r->obj != li || atomic_load(&r->phase) != PH_COMPLETE)
				continue;
			bool allowed = r->rc == 0 && (r->flags & RF_ALLOWED);
			bool stalled = (r->flags & RF_STALLED) || r->t1 - r->t0 > CHAOS_STALE_NS;
			if (!allowed && !stalled)
				continue;
			if (n == cap) {
				size_t c = cap ? cap * 2 : 4096;
				struct adm *b = realloc(a, c * sizeof(*b));
				if (b == NULL) {
					free(a);
					return NULL;
				}
				a = b;
				cap = c;
			}
			a[n++] = (struct adm){r->t0, r->t1, r->val, r->arg32, r->life, (uint8_t)s,
					      r->arg, stalled, allowed};
		}
	}
	qsort(a, n, sizeof(*a), cmp_adm);
	*n_out = n;
	return a;
}

static void report(const struct chaos_run *run, unsigned li, unsigned limit, const struct adm *a,
		   size_t lo, size_t hi, uint64_t from, uint64_t to, uint64_t sum, uint64_t bound)
{
	static const char inv[] = "admission-bounds";
	const struct chaos_limiter_spec *s = &chaos_limiters[li];
	char key[32] = "(global)";
	if (s->keyed)
		chaos_key_text(a[lo].key, key, sizeof(key));
	uint64_t count = s->parsed.limit[limit].count, period = s->parsed.limit[limit].period_ns;
	unsigned in = 0, stalled = 0;
	for (size_t k = lo; k < hi; k++) {
		in += a[k].allowed && a[k].t0 >= from && a[k].t1 < to;
		stalled += a[k].stalled && a[k].t1 + 2 * period >= from && a[k].t0 <= to;
	}
	chaos_violation(inv, "limiter %s (%s %s, burst %u) key %s, limit %llu per %.0f s: %u "
			"admissions costing %llu lie wholly inside +%.6f..+%.6f s, bound %llu",
			s->name, fbx_algorithm_name(s->algo), s->rule, s->burst, key,
			(unsigned long long)count, (double)period / 1e9, in, (unsigned long long)sum,
			chaos_rel(run, from), chaos_rel(run, to), (unsigned long long)bound);
	if (stalled) {
		chaos_violation_after_stall(inv);
		chaos_detail(inv, "(%u take%s of this key near the window decided on an old clock "
			     "reading: stalled, or stopped inside the call)", stalled,
			     stalled == 1 ? "" : "s");
	}
	unsigned shown = 0;
	for (size_t k = lo; k < hi && shown < 40; k++) {
		const struct adm *x = &a[k];
		bool inside = x->allowed && x->t0 >= from && x->t1 < to;
		/* stalled takes near the window: how the key got its extra budget */
		bool near = x->stalled && x->t1 + 2 * period >= from && x->t0 <= to;
		if (!inside && !near)
			continue;
		const struct chaos_life *l = chaos_life_of(run, x->wslot, x->life);
		if (x->stalled)
			chaos_detail(inv, "%s, stale: +%.6f..+%.6f s cost %u pid %d (worker %u), "
				     "decided on its reading of +%.6f s, %.3f s before it returned",
				     x->allowed ? "admitted" : "denied", chaos_rel(run, x->t0),
				     chaos_rel(run, x->t1), x->cost, l ? (int)l->pid : 0, x->wslot,
				     chaos_rel(run, x->reading), (double)(x->t1 - x->reading) / 1e9);
		else
			chaos_detail(inv, "admitted +%.6f..+%.6f s cost %u pid %d (worker %u)",
				     chaos_rel(run, x->t0), chaos_rel(run, x->t1), x->cost,
				     l ? (int)l->pid : 0, x->wslot);
		shown++;
	}
}

/* The heaviest window of one key and one limit, anchored at each
 * admission's start; one violation per stretch of overlapping windows. */
static void check_key(const struct chaos_run *run, unsigned li, unsigned limit,
		      const struct adm *a, size_t lo, size_t hi)
{
	const struct chaos_limiter_spec *s = &chaos_limiters[li];
	uint64_t count = s->parsed.limit[limit].count, period = s->parsed.limit[limit].period_ns;
	uint64_t bound = s->algo == FBX_ALGO_GCRA  ? count + s->burst - 1
			 : s->algo == FBX_ALGO_LOG ? count
						   : 2 * count;
	uint64_t reported_until = 0;
	for (size_t i = lo; i < hi; i++) {
		if (!a[i].allowed || a[i].t0 < reported_until)
			continue;
		uint64_t from = a[i].t0, to = from + period, sum = 0;
		for (size_t j = i; j < hi && a[j].t0 < to; j++)
			if (a[j].allowed && a[j].t1 < to)
				sum += a[j].cost;
		chaos_checked("admission-bounds", 1);
		if (sum > bound) {
			report(run, li, limit, a, lo, hi, from, to, sum, bound);
			reported_until = to;
		}
	}
}

void chaos_check_bounds(struct chaos_run *run)
{
	fbx_snapshot *snap = NULL;
	if (fbx_snapshot_new(run->box, &snap) != 0 || fbx_snapshot_take(run->box, snap) != 0) {
		chaos_note("no snapshot: admission bounds not checked");
		fbx_snapshot_free(snap);
		return;
	}
	size_t nl, total = 0, keys = 0;
	const fbx_limiter_info *info = fbx_snapshot_limiters(snap, &nl);
	for (unsigned li = 0; li < CHAOS_LIMITERS; li++) {
		const struct chaos_limiter_spec *s = &chaos_limiters[li];
		if (s->storm)
			continue; /* a key each take: nothing to bound */
		for (size_t k = 0; k < nl; k++)
			if (strcmp(info[k].name, s->name) == 0 && info[k].evictions != 0)
				chaos_note("limiter %s evicted %llu live keys: not checked", s->name,
					   (unsigned long long)info[k].evictions);
		bool evicted = false;
		for (size_t k = 0; k < nl; k++)
			evicted |= strcmp(info[k].name, s->name) == 0 && info[k].evictions != 0;
		size_t n = 0;
		struct adm *a = evicted ? NULL : collect(run, li, &n);
		if (a == NULL)
			continue;
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && a[j].key == a[i].key; j++)
				;
			keys++;
			for (unsigned limit = 0; limit < s->parsed.n; limit++)
				check_key(run, li, limit, a, i, j);
		}
		for (size_t i = 0; i < n; i++)
			total += a[i].allowed;
		free(a);
	}
	fbx_snapshot_free(snap);
	chaos_result("admission-bounds", "%zu admissions on %zu keys of %d limiters: no window of "
		     "a limit's period holds more than its bound (log: the count; GCRA: count + burst - 1; window: 2 x "
		     "count)", total, keys, CHAOS_LIMITERS - 1);
}
