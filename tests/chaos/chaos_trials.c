/*
 * chaos_trials.c — half-open trials, from the workers' log.
 *
 * trials-at-once: a trial is a call that allow() admitted with a lease
 * (permit._slot >= 0).  It certainly runs from the moment allow() returned
 * until the earliest of: the moment its done() began, the end of its
 * lease (decoded from permit._lease: the library reclaims it after that),
 * and the moment its process was sent SIGKILL.  Counting only those
 * certain intervals can under-count overlaps, never invent one, so every
 * overlap found is real: more trials were running at that instant than
 * half_open_max allows.  With half_open_max 1 no two trials may overlap at
 * all; with more, trials of one generation (one half-open period) are
 * counted, as a trial left from an earlier period is by design no longer
 * counted once its period has ended.
 *
 * failed-trial-dropped: a trial of generation g that reported FAILURE,
 * whose done() ended before its lease did, while the breaker was still
 * HALF_OPEN in generation g, must re-open it.  Generation g + 1 seen
 * CLOSED (a closed permit carries its generation) means g ended with a
 * close, which only success_threshold successes of generation g can do.
 * If fewer successes of g had begun their done() by the time the failure's
 * done() returned, the close came after the failure had been reported
 * inside g — the failure was dropped.  Again only what the intervals
 * prove is reported.
 *
 * trial-after-failure (half_open_max 1): no trial of generation g may
 * begin its allow() after a failed trial of g began its done() (its lease
 * valid throughout).  Whichever order the two calls took effect in, one
 * rule broke: the new trial was admitted while the failed one still held
 * the only permit, or after a failure of g had been reported, when g
 * should already have ended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "internal.h"

enum why { WHY_DONE, WHY_DONE_KILLED, WHY_LEASE, WHY_KILLED, WHY_EXITED };
static const char *why_names[] = {"done", "done, killed inside it", "lease end", "SIGKILL",
				  "its process exited"};

struct trial {
	uint64_t allow_t0, start, end, deadline, lease;
	uint64_t done_t0, done_t1; /* 0: no done() began */
	uint16_t gen, life;
	int8_t slot;
	uint8_t wslot, outcome, why;
	bool done_ok, stalled, done_stalled;
};

struct success {
	uint16_t gen;
	uint64_t t0;
};

struct bdata {
	struct trial *t;
	size_t n, cap;
	struct success *s;
	size_t ns, caps;
	uint64_t *closed_at; /* [generation]: first closed permit seen, 0 none */
};

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 1024;
	void *q = realloc(*p, c * size);
	if (q == NULL)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static uint64_t lease_end(const struct chaos_run *run, uint64_t lease)
{
	return run->created_ns + FBX__LEASE_DEADLINE(lease) * CHAOS_MS;
}

/* Trials of a life that never began their done(): certainly running
 * until the lease ended or the process was sent SIGKILL. */
static void close_life(const struct chaos_run *run, struct bdata *bd, long open[CHAOS_BREAKERS],
		       unsigned slot, int life, uint64_t last_t1)
{
	if (life < 0)
		return;
	const struct chaos_life *l = chaos_life_of(run, slot, (uint16_t)life);
	for (int b = 0; b < CHAOS_BREAKERS; b++) {
		if (open[b] < 0)
			continue;
		struct trial *t = &bd[b].t[open[b]];
		uint64_t death = l && l->t_kill ? l->t_kill : last_t1;
		t->why = l && l->t_kill ? WHY_KILLED : WHY_EXITED;
		t->end = death;
		if (t->deadline < t->end) {
			t->end = t->deadline;
			t->why = WHY_LEASE;
		}
		open[b] = -1;
	}
}

static void collect(const struct chaos_run *run, struct bdata *bd)
{
	for (unsigned s = 0; s < run->o.workers; s++) {
		const struct chaos_region *reg = chaos_log_region(run->log, s);
		uint64_t n = chaos_log_count(reg), last_t1 = 0;
		long open[CHAOS_BREAKERS];
		int life = -1;
		for (int b = 0; b < CHAOS_BREAKERS; b++)
			open[b] = -1;
		for (uint64_t i = 0; i < n; i++) {
			const struct chaos_rec *r = &reg->rec[i];
			int ph = atomic_load(&r->phase);
			if (r->life != life) {
				close_life(run, bd, open, s, life, last_t1);
				life = r->life;
			}
			if (ph == PH_COMPLETE)
				last_t1 = r->t1;
			if ((r->op != OP_ALLOW && r->op != OP_DONE) || r->obj >= CHAOS_BREAKERS)
				continue;
			struct bdata *d = &bd[r->obj];
			if (r->op == OP_ALLOW && ph == PH_COMPLETE && r->rc == 0 && r->slot < 0) {
				if (d->closed_at[r->gen] == 0 || r->t1 < d->closed_at[r->gen])
					d->closed_at[r->gen] = r->t1;
			} else if (r->op == OP_ALLOW && ph == PH_COMPLETE && r->rc == 0) {
				if (!grow((void **)&d->t, &d->cap, d->n, sizeof(*d->t)))
					continue;
				struct trial *t = &d->t[d->n];
				memset(t, 0, sizeof(*t));
				t->allow_t0 = r->t0;
				t->start = r->t1;
				t->lease = r->val;
				t->deadline = lease_end(run, r->val);
				t->gen = r->gen;
				t->life = r->life;
				t->slot = r->slot;
				t->wslot = (uint8_t)s;
				t->outcome = 0xff;
				t->stalled = (r->flags & RF_STALLED) || r->t1 - r->t0 > CHAOS_STALE_NS;
				open[r->obj] = (long)d->n++;
			} else if (r->op == OP_DONE && (ph == PH_COMPLETE || ph == PH_KILLED) &&
				   r->slot >= 0) {
				if (r->arg == FBX_SUCCESS &&
				    grow((void **)&d->s, &d->caps, d->ns, sizeof(*d->s)))
					d->s[d->ns++] = (struct success){r->gen, r->t0};
				long k = open[r->obj];
				if (k < 0 || d->t[k].lease != r->val)
					continue;
				struct trial *t = &d->t[k];
				t->done_t0 = r->t0;
				t->done_t1 = ph == PH_COMPLETE ? r->t1 : 0;
				t->done_ok = ph == PH_COMPLETE && r->rc == 0;
				t->done_stalled = (r->flags & RF_STALLED) ||
						  (t->done_t1 && r->t1 - r->t0 > CHAOS_STALE_NS);
				t->outcome = r->arg;
				t->why = ph == PH_COMPLETE ? WHY_DONE : WHY_DONE_KILLED;
				t->end = t->done_t0;
				if (t->deadline < t->end) {
					t->end = t->deadline;
					t->why = WHY_LEASE;
				}
				open[r->obj] = -1;
			}
		}
		close_life(run, bd, open, s, life, last_t1);
	}
}

static void print_trial(const struct chaos_run *run, const char *inv, const struct trial *t)
{
	const struct chaos_life *l = chaos_life_of(run, t->wslot, t->life);
	char outcome[40] = "";
	if (t->outcome <= FBX_IGNORED)
		snprintf(outcome, sizeof(outcome), ", reported %s", chaos_outcome_name(t->outcome));
	chaos_detail(inv, "pid %d (worker %u, life %u): generation %u, lease slot %d, allow "
		     "+%.6f..+%.6f s%s, lease until +%.6f, held until +%.6f (%s)%s",
		     l ? (int)l->pid : 0, t->wslot, t->life, t->gen, t->slot,
		     chaos_rel(run, t->allow_t0), chaos_rel(run, t->start),
		     t->stalled ? " (stale: its clock stalled, or it was stopped, inside allow)" : "",
		     chaos_rel(run, t->deadline), chaos_rel(run, t->end), why_names[t->why], outcome);
}

struct edge {
	uint64_t t;
	int delta;
	size_t i;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->delta - y->delta; /* ends before starts: touching is not overlapping */
}

/* The other trials of generations lo..hi admitted before `when`, stale ones
 * first: a caller that took a lease on an old view is usually among them. */
static bool print_others(const struct chaos_run *run, const char *inv, const struct trial *t,
			 size_t nt, const size_t *skip, size_t nskip, uint16_t lo, uint16_t hi,
			 uint64_t when)
{
	bool stale = false;
	unsigned shown = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < nt && shown < 6; k++) {
			bool skipped = false;
			for (size_t a = 0; a < nskip; a++)
				skipped |= skip[a] == k;
			uint16_t from_lo = (uint16_t)(t[k].gen - lo), span = (uint16_t)(hi - lo);
			bool stalled = t[k].stalled || t[k].done_stalled;
			if (skipped || from_lo > span || t[k].allow_t0 > when || (pass == 0) != stalled)
				continue;
			if (shown++ == 0)
				chaos_detail(inv, "other trials of generations %u..%u admitted by then:",
					     lo, hi);
			print_trial(run, inv, &t[k]);
			if (t[k].done_stalled)
				chaos_detail(inv, "  (its done() ran +%.6f..+%.6f s: stalled or stopped "
					     "inside)", chaos_rel(run, t[k].done_t0),
					     chaos_rel(run, t[k].done_t1));
			stale |= stalled;
		}
	}
	return stale;
}

/* Overlaps among trials idx[0..n) of breaker b; one violation per episode.
 * A trial whose lease was taken from under it keeps running while later
 * trials come and go: each overlap is counted, but one that involves a
 * trial already reported is printed as a continuation.  `seen` marks the
 * trials reported; `stalled_chain` is set when the first of such a chain
 * involved a stale call. */
static void sweep(const struct chaos_run *run, unsigned b, const struct trial *t, size_t nt,
		  const size_t *idx, size_t n, struct edge *e, size_t *active, bool *seen,
		  bool *stalled_chain)
{
	static const char inv[] = "trials-at-once";
	uint32_t max = chaos_breakers[b].cfg.half_open_max;
	size_t ne = 0, nact = 0;
	for (size_t k = 0; k < n; k++) {
		const struct trial *x = &t[idx[k]];
		if (x->end <= x->start)
			continue; /* no instant at which it certainly ran */
		e[ne++] = (struct edge){x->start, +1, idx[k]};
		e[ne++] = (struct edge){x->end, -1, idx[k]};
	}
	qsort(e, ne, sizeof(*e), cmp_edge);
	bool episode = false;
	for (size_t k = 0; k < ne; k++) {
		if (e[k].delta < 0) {
			for (size_t a = 0; a < nact; a++)
				if (active[a] == e[k].i) {
					active[a] = active[--nact];
					break;
				}
			if (nact <= max)
				episode = false;
			continue;
		}
		active[nact++] = e[k].i;
		if (nact <= max || episode)
			continue;
		episode = true;
		size_t again = SIZE_MAX;
		bool stalled = false;
		for (size_t a = 0; a < nact; a++) {
			if (seen[active[a]])
				again = active[a];
			stalled |= t[active[a]].stalled;
		}
		if (again != SIZE_MAX) {
			const struct chaos_life *l = chaos_life_of(run, t[again].wslot, t[again].life);
			chaos_violation(inv, "breaker %s (half_open_max %u): again %zu trials held at "
					"once at +%.6f s, among them the trial of pid %d (generation %u) "
					"reported above, still running", chaos_breakers[b].name, max, nact,
					chaos_rel(run, e[k].t), l ? (int)l->pid : 0, t[again].gen);
			stalled |= *stalled_chain;
		} else {
			chaos_violation(inv, "breaker %s (half_open_max %u): %zu trials held at once at "
					"+%.6f s", chaos_breakers[b].name, max, nact,
					chaos_rel(run, e[k].t));
		}
		uint16_t lo = t[active[0]].gen, hi = lo;
		for (size_t a = 0; a < nact && a < 8; a++) {
			const struct trial *x = &t[active[a]];
			if ((int16_t)(x->gen - lo) < 0)
				lo = x->gen;
			if ((int16_t)(x->gen - hi) > 0)
				hi = x->gen;
			if (again == SIZE_MAX || !seen[active[a]])
				print_trial(run, inv, x);
			seen[active[a]] = true;
		}
		if (again == SIZE_MAX) {
			stalled |= print_others(run, inv, t, nt, active, nact, lo, hi, e[k].t);
			*stalled_chain = stalled;
		}
		if (stalled)
			chaos_violation_after_stall(inv);
	}
}

static int cmp_gen_start(const void *a, const void *b, void *arg)
{
	const struct trial *t = arg;
	const struct trial *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];
	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void at_once(const struct chaos_run *run, unsigned b, struct bdata *d)
{
	if (d->n == 0)
		return;
	size_t *idx = malloc(d->n * sizeof(*idx)), *active = malloc(d->n * sizeof(*active));
	struct edge *e = malloc(2 * d->n * sizeof(*e));
	bool *seen = calloc(d->n, sizeof(*seen)), chain = false;
	if (idx == NULL || active == NULL || e == NULL || seen == NULL) {
		chaos_note("out of memory: trials of %s not checked", chaos_breakers[b].name);
		goto out;
	}
	for (size_t i = 0; i < d->n; i++)
		idx[i] = i;
	chaos_checked("trials-at-once", d->n);
	if (chaos_breakers[b].cfg.half_open_max == 1) {
		sweep(run, b, d->t, d->n, idx, d->n, e, active, seen, &chain);
		goto out;
	}
	qsort_r(idx, d->n, sizeof(*idx), cmp_gen_start, d->t);
	for (size_t i = 0, j; i < d->n; i = j) {
		for (j = i + 1; j < d->n && d->t[idx[j]].gen == d->t[idx[i]].gen; j++)
			;
		sweep(run, b, d->t, d->n, idx + i, j - i, e, active, seen, &chain);
	}
out:
	free(seen);
	free(idx);
	free(active);
	free(e);
}

static int cmp_success(const void *a, const void *b)
{
	const struct success *x = a, *y = b;
	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

/* For the report: the TRIALS_OK event of this breaker nearest to `when`
 * (the first closed permit of the next generation). */
static const fbx_event *close_event(const struct chaos_run *run, unsigned b, uint64_t when)
{
	size_t n;
	uint64_t gaps, best_d = UINT64_MAX;
	const fbx_event *ev = chaos_monitor_events(run->mon, &n, &gaps), *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const fbx_event *e = &ev[i];
		if (e->corrupt || e->cause != FBX_CAUSE_TRIALS_OK ||
		    strcmp(e->name, chaos_breakers[b].name) != 0)
			continue;
		uint64_t d = e->time_ns > when ? e->time_ns - when : when - e->time_ns;
		if (d < best_d) {
			best_d = d;
			best = e;
		}
	}
	return best;
}

static uint64_t dropped(const struct chaos_run *run, unsigned b, struct bdata *d)
{
	static const char inv[] = "failed-trial-dropped";
	uint32_t need = chaos_breakers[b].cfg.success_threshold;
	uint64_t examined = 0;
	qsort(d->s, d->ns, sizeof(*d->s), cmp_success);
	for (size_t i = 0; i < d->n; i++) {
		const struct trial *f = &d->t[i];
		if (!f->done_ok || f->outcome != FBX_FAILURE)
			continue;
		chaos_checked(inv, 1);
		uint16_t next = (uint16_t)(f->gen + 1);
		if (f->done_t1 >= f->deadline || d->closed_at[next] == 0)
			continue;
		examined++;
		/* successes of f's generation that could have closed it before */
		size_t lo = 0, hi = d->ns;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (d->s[mid].gen < f->gen)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint32_t early = 0, later = 0;
		uint64_t first_later = 0;
		for (size_t k = lo; k < d->ns && d->s[k].gen == f->gen; k++) {
			if (d->s[k].t0 <= f->done_t1) {
				early++;
			} else {
				if (later++ == 0)
					first_later = d->s[k].t0;
			}
		}
		if (early >= need)
			continue;
		chaos_violation(inv, "breaker %s (half_open_max %u, success_threshold %u): a trial of "
				"generation %u reported FAILURE with its lease valid, yet generation "
				"%u was CLOSED", chaos_breakers[b].name,
				chaos_breakers[b].cfg.half_open_max, need, f->gen, next);
		print_trial(run, inv, f);
		chaos_detail(inv, "its done() ran +%.6f..+%.6f s%s; %u success%s of generation %u "
			     "began before it returned, %u after (first at +%.6f s); a closed permit "
			     "of generation %u was handed out by +%.6f s",
			     chaos_rel(run, f->done_t0), chaos_rel(run, f->done_t1),
			     f->done_stalled ? " (stale: stalled or stopped inside)" : "", early,
			     early == 1 ? "" : "es", f->gen, later, chaos_rel(run, first_later), next,
			     chaos_rel(run, d->closed_at[next]));
		bool stalled = f->stalled || f->done_stalled;
		for (size_t k = 0; k < d->n; k++)
			stalled |= d->t[k].gen == f->gen && (d->t[k].stalled || d->t[k].done_stalled);
		if (stalled)
			chaos_violation_after_stall(inv);
		const fbx_event *ev = close_event(run, b, d->closed_at[next]);
		if (ev != NULL)
			chaos_detail(inv, "nearest close event: seq %llu at +%.6f s, %s -> %s (%s)",
				     (unsigned long long)ev->seq, chaos_rel(run, ev->time_ns),
				     fbx_breaker_state_name(ev->from), fbx_breaker_state_name(ev->to),
				     fbx_event_cause_name(ev->cause));
		/* the other trials of that generation: who held the breaker */
		unsigned shown = 0;
		for (size_t k = 0; k < d->n && shown < 6; k++)
			if (k != i && d->t[k].gen == f->gen) {
				print_trial(run, inv, &d->t[k]);
				shown++;
			}
	}
	return examined;
}

static uint64_t after_failure(const struct chaos_run *run, unsigned b, struct bdata *d)
{
	static const char inv[] = "trial-after-failure";
	if (chaos_breakers[b].cfg.half_open_max != 1 || d->n == 0)
		return 0;
	size_t *idx = malloc(d->n * sizeof(*idx));
	if (idx == NULL)
		return 0;
	for (size_t i = 0; i < d->n; i++)
		idx[i] = i;
	qsort_r(idx, d->n, sizeof(*idx), cmp_gen_start, d->t);
	uint64_t examined = 0;
	for (size_t i = 0, j; i < d->n; i = j) {
		for (j = i + 1; j < d->n && d->t[idx[j]].gen == d->t[idx[i]].gen; j++)
			;
		for (size_t f = i; f < j; f++) {
			const struct trial *x = &d->t[idx[f]];
			if (!x->done_ok || x->outcome != FBX_FAILURE || x->done_t1 >= x->deadline)
				continue;
			examined++;
			chaos_checked(inv, j - i - 1);
			for (size_t k = i; k < j; k++) {
				const struct trial *y = &d->t[idx[k]];
				if (k == f || y->allow_t0 <= x->done_t0)
					continue;
				chaos_violation(inv, "breaker %s (half_open_max 1): generation %u admitted a "
						"trial whose allow() began %.3f us after a failed trial of "
						"that generation began reporting", chaos_breakers[b].name,
						x->gen, (double)(y->allow_t0 - x->done_t0) / 1e3);
				print_trial(run, inv, x);
				chaos_detail(inv, "its done() ran +%.6f..+%.6f s%s", chaos_rel(run, x->done_t0),
					     chaos_rel(run, x->done_t1),
					     x->done_stalled ? " (stale: stalled or stopped inside)" : "");
				print_trial(run, inv, y);
				uint16_t next = (uint16_t)(x->gen + 1);
				if (d->closed_at[next])
					chaos_detail(inv, "and generation %u was CLOSED (a closed permit by "
						     "+%.6f s): the failure was lost", next,
						     chaos_rel(run, d->closed_at[next]));
				if (x->done_stalled || y->stalled)
					chaos_violation_after_stall(inv);
			}
		}
	}
	free(idx);
	return examined;
}

void chaos_check_trials(struct chaos_run *run)
{
	static struct bdata bd[CHAOS_BREAKERS];
	memset(bd, 0, sizeof(bd));
	for (int b = 0; b < CHAOS_BREAKERS; b++) {
		bd[b].closed_at = calloc(65536, sizeof(uint64_t));
		if (bd[b].closed_at == NULL) {
			chaos_note("out of memory: trials not checked");
			goto out;
		}
	}
	collect(run, bd);
	size_t trials = 0, stalled = 0;
	uint64_t examined = 0;
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++) {
		at_once(run, b, &bd[b]);
		trials += bd[b].n;
		for (size_t i = 0; i < bd[b].n; i++)
			stalled += bd[b].t[i].stalled;
	}
	chaos_result("trials-at-once", "%zu trials on %d breakers (%zu admitted by a stale "
		     "allow): never more held at once than half_open_max", trials, CHAOS_BREAKERS,
		     stalled);
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++)
		examined += dropped(run, b, &bd[b]);
	chaos_result("failed-trial-dropped", "no failed trial reported inside its lease is "
		     "followed by a close of its generation (%llu failures whose next generation "
		     "was CLOSED examined)", (unsigned long long)examined);
	examined = 0;
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++)
		examined += after_failure(run, b, &bd[b]);
	chaos_result("trial-after-failure", "half_open_max 1: no trial enters a half-open period "
		     "after a failure in it began reporting (%llu failed trials examined)",
		     (unsigned long long)examined);
out:
	for (int b = 0; b < CHAOS_BREAKERS; b++) {
		free(bd[b].t);
		free(bd[b].s);
		free(bd[b].closed_at);
	}
}
