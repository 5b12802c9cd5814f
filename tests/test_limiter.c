/* test_limiter.c — rate limiters: the sliding-window counter and GCRA, rules
 * of several limits, weighted and keyed takes, dry-run, live rule changes,
 * registration, the shared key table and its evictions.
 *
 * Every test substitutes the clock (tclock_install() before the box is
 * created) and moves it by hand: no sleeps, no timing thresholds.  Long
 * "random" arrival sequences come from a fixed-seed LCG, so every run is
 * the same run. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MIN(x) S((uint64_t)(x) * 60)
#define HOUR(x) S((uint64_t)(x) * 3600)
#define DAY(x) S((uint64_t)(x) * 86400)

/* A whole number of days: every window of every rule used here starts on
 * it, so positions "in the window" are known exactly. */
#define T0 DAY(100)

#define WINDOW FBX_ALGO_WINDOW
#define GCRA FBX_ALGO_GCRA

/* The key table holds a power of two of buckets with 25% headroom
 * (layout.c): a box made for 64 keys has 128 entries.  A key may live in
 * one of two 4-way buckets, so up to 8 live keys can never crowd a new key
 * out of both. */
#define KT_KEYS 64
#define KT_ENTRIES 128
#define KT_NEVER_CROWDED 8

typedef unsigned long long ull;

/* ---- helpers ----------------------------------------------------------- */

static fbx_box *new_box(uint32_t limiters, uint32_t keys)
{
	fbx_box_config c;

	fbx_box_config_init(&c);
	c.breakers = 4;
	c.limiters = limiters;
	c.keys = keys;
	c.events = 64;
	c.workers = 8;
	return tbox_create(&c);
}

static void lcfg(fbx_limiter_config *cfg, const char *rule, fbx_algorithm algo,
		 uint32_t burst, int keyed, int dry)
{
	fbx_limiter_config_init(cfg);
	cfg->rule = rule;
	cfg->algorithm = algo;
	cfg->burst = burst;
	cfg->keyed = keyed;
	cfg->dry_run = dry;
}

static fbx_limiter *reg(fbx_box *box, const char *name, const char *rule,
			fbx_algorithm algo, uint32_t burst, int keyed, int dry)
{
	fbx_limiter_config cfg;
	fbx_limiter *l = NULL;
	int rc;

	lcfg(&cfg, rule, algo, burst, keyed, dry);
	rc = fbx_limiter_register(box, name, &cfg, &l);
	ck_assert_msg(rc == 0, "register %s \"%s\" %s burst %u: %s", name, rule,
		      fbx_algorithm_name(algo), burst, fbx_strerror(rc));
	ck_assert_ptr_nonnull(l);
	return l;
}

/* One take; the result is prefilled with junk so that every field the
 * library must write is seen written. */
static int take(fbx_limiter *l, const char *key, uint32_t cost,
		fbx_limit_result *res)
{
	memset(res, 0xa5, sizeof(*res));
	return fbx_limiter_take(l, key, key ? strlen(key) : 0, cost, res);
}

/* What every decision must look like, whatever the figures. */
static void check_shape(int rc, const fbx_limit_result *r, const char *what)
{
	ck_assert_msg(rc == 0 || rc == FBX_ELIMITED, "%s: rc %d (%s)", what, rc,
		      fbx_strerror(rc));
	ck_assert_msg(r->now_ns == tclock_ns(), "%s: now_ns %llu, clock %llu", what,
		      (ull)r->now_ns, (ull)tclock_ns());
	if (rc == 0) {
		ck_assert_msg(r->allowed == 1, "%s: admitted, allowed %d", what, r->allowed);
		ck_assert_msg(r->remaining < r->limit, "%s: remaining %llu of %llu", what,
			      (ull)r->remaining, (ull)r->limit);
		if (!r->dry_run_denied)
			ck_assert_msg(r->retry_after_ns == 0, "%s: admitted, retry %llu",
				      what, (ull)r->retry_after_ns);
	} else {
		ck_assert_msg(r->allowed == 0 && r->dry_run_denied == 0,
			      "%s: denied, allowed %d dry %d", what, r->allowed,
			      r->dry_run_denied);
		ck_assert_msg(r->retry_after_ns > 0, "%s: denied without retry-after", what);
		ck_assert_msg(r->remaining <= r->limit, "%s: remaining %llu of %llu", what,
			      (ull)r->remaining, (ull)r->limit);
	}
}

static int same_figures(const fbx_limit_result *a, const fbx_limit_result *b)
{
	return a->allowed == b->allowed && a->dry_run_denied == b->dry_run_denied &&
	       a->limit == b->limit && a->remaining == b->remaining &&
	       a->reset_ns == b->reset_ns && a->retry_after_ns == b->retry_after_ns;
}

/* The snapshot's record of limiter NAME. */
static fbx_limiter_info linfo(fbx_box *box, const char *name)
{
	fbx_snapshot *s = NULL;
	fbx_limiter_info out;
	const fbx_limiter_info *li;
	size_t n = 0, i;
	int found = 0;

	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	li = fbx_snapshot_limiters(s, &n);
	for (i = 0; i < n; i++) {
		if (strcmp(li[i].name, name) == 0) {
			out = li[i];
			found++;
		}
	}
	fbx_snapshot_free(s);
	ck_assert_msg(found == 1, "limiter %s found %d times in the snapshot", name, found);
	ck_assert_msg(!out.corrupt, "limiter %s reads as corrupt", name);
	return out;
}

static void check_counts(fbx_box *box, const char *name, uint64_t allowed,
			 uint64_t denied, uint64_t dry_denied)
{
	fbx_limiter_info li = linfo(box, name);

	ck_assert_msg(li.allowed == allowed && li.denied == denied &&
			      li.dry_run_denied == dry_denied,
		      "%s: allowed/denied/dry %llu/%llu/%llu, want %llu/%llu/%llu", name,
		      (ull)li.allowed, (ull)li.denied, (ull)li.dry_run_denied,
		      (ull)allowed, (ull)denied, (ull)dry_denied);
}

/* A second handle on the same box, as another process would have. */
static fbx_box *reopen(fbx_box *box)
{
	fbx_box_info info;
	fbx_box *other = NULL;

	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_int_eq(fbx_box_open(info.name, 0, NULL, &other), 0);
	ck_assert_ptr_nonnull(other);
	ck_assert_ptr_ne(other, box);
	return other;
}

/* Fixed-seed LCG (Knuth's MMIX constants). */
static uint64_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static uint64_t rule_max_period(const char *text)
{
	fbx_rule r;
	uint64_t p = 0;
	uint32_t i;

	ck_assert_int_eq(fbx_rule_parse(text, &r, NULL), 0);
	for (i = 0; i < r.n; i++)
		if (r.limit[i].period_ns > p)
			p = r.limit[i].period_ns;
	return p;
}

/* Admitted takes of a simulated run, in time order. */
struct adm {
	uint64_t t;
	uint64_t cost;
};

/* Largest admitted cost in any half-open window [s, s + period).  The
 * largest is found with s at an admitted time, the first of its instant. */
static uint64_t max_sliding(const struct adm *a, size_t n, uint64_t period)
{
	uint64_t best = 0, sum = 0;
	size_t lo, hi = 0;

	for (lo = 0; lo < n; lo++) {
		while (hi < n && a[hi].t - a[lo].t < period)
			sum += a[hi++].cost;
		if ((lo == 0 || a[lo - 1].t != a[lo].t) && sum > best)
			best = sum;
		sum -= a[lo].cost;
	}
	return best;
}

/* Largest admitted cost in any window aligned to the clock. */
static uint64_t max_aligned(const struct adm *a, size_t n, uint64_t period)
{
	uint64_t best = 0, sum = 0, cur = UINT64_MAX;
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i].t / period != cur) {
			cur = a[i].t / period;
			sum = 0;
		}
		sum += a[i].cost;
		if (sum > best)
			best = sum;
	}
	return best;
}

/* ======================================================================
 * Sliding-window counter
 * ==================================================================== */

static const struct basic_row {
	const char *rule;
	uint64_t limit, period;
	uint64_t offset; /* where in the window the takes happen */
} basic_rows[] = {
	{ "5/second", 5, S(1), 0 },
	{ "5/second", 5, S(1), MS(250) },
	{ "5/second", 5, S(1), S(1) - 1 },
	{ "1/second", 1, S(1), MS(500) },
	{ "3/minute", 3, MIN(1), S(59) },
	{ "10/hour", 10, HOUR(1), MIN(17) },
	{ "7/2 minutes", 7, MIN(2), S(90) },
	{ "4/day", 4, DAY(1), HOUR(23) },
};

/* limit admitted, remaining counting down, the next denied with a
 * retry-after; a repeated denial changes nothing. */
START_TEST(window_basic)
{
	const struct basic_row *row = &basic_rows[_i];
	fbx_limit_result r, again;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t i;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "basic", row->rule, WINDOW, 1, 0, 0);
	ck_assert_str_eq(fbx_limiter_name(l), "basic");
	tclock_set_ns(T0 + row->offset);
	for (i = 0; i < row->limit; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: take %llu denied", row->rule, (ull)i + 1);
		ck_assert_uint_eq(r.limit, row->limit);
		ck_assert_uint_eq(r.remaining, row->limit - 1 - i);
		ck_assert_uint_eq(r.reset_ns, row->period - row->offset);
		ck_assert_int_eq(r.dry_run_denied, 0);
	}
	rc = take(l, NULL, 1, &r);
	check_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_uint_eq(r.limit, row->limit);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_uint_eq(r.reset_ns, row->period - row->offset);
	ck_assert_uint_gt(r.retry_after_ns, 0);
	/* never past the end of the next window: by then this one is gone */
	ck_assert_uint_le(r.retry_after_ns, 2 * row->period - row->offset + 1);

	rc = take(l, NULL, 1, &again);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_msg(same_figures(&r, &again), "%s: a denial changed the figures", row->rule);
	check_counts(box, "basic", row->limit, 2, 0);
	fbx_box_close(box);
}
END_TEST

/*
 * The estimate across the boundary: prev * (1 - elapsed/period) + cur, and
 * a take is admitted when estimate + cost <= limit.  prev takes fill one
 * window, then at elapsed = num/den of the next window the admissions are
 * counted.  Rows marked exact land the estimate on a whole number, where
 * "<= limit" must admit.
 */
static const struct weight_row {
	const char *rule;
	uint64_t limit, period;
	uint64_t prev, num, den;
} weight_rows[] = {
	{ "5/second", 5, S(1), 5, 1, 2 },     /* 2.5: 2 more */
	{ "5/second", 5, S(1), 5, 7, 8 },     /* 0.625: 4 more */
	{ "5/second", 5, S(1), 3, 0, 1 },     /* window start: prev counts whole */
	{ "5/second", 5, S(1), 0, 1, 2 },     /* nothing before: all 5 */
	{ "10/second", 10, S(1), 10, 3, 4 },  /* 2.5 */
	{ "100/minute", 100, MIN(1), 100, 1, 3 }, /* 66.67 */
	{ "100/minute", 100, MIN(1), 40, 1, 2 },  /* 20 (exact) */
	{ "2/day", 2, DAY(1), 2, 1, 2 },      /* 1 (exact) */
	{ "4/second", 4, S(1), 4, 1, 4 },     /* 3 (exact): 1 more */
	{ "10/second", 10, S(1), 10, 1, 10 }, /* 9 (exact): 1 more */
	{ "10/second", 10, S(1), 6, 1, 2 },   /* 3 (exact): 7 more */
	{ "6/minute", 6, MIN(1), 6, 1, 3 },   /* 4 (exact): 2 more */
};

START_TEST(window_weighted_estimate)
{
	const struct weight_row *row = &weight_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t i, at, room, k;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "weight", row->rule, WINDOW, 1, 0, 0);
	tclock_set_ns(T0 + row->period / 3);
	for (i = 0; i < row->prev; i++)
		ck_assert_int_eq(take(l, NULL, 1, &r), 0);

	at = row->period * row->num / row->den;
	ck_assert_uint_eq(at * row->den, row->period * row->num); /* exact ns */
	tclock_set_ns(T0 + row->period + at);
	/* in den-ths: limit - estimate */
	room = row->limit * row->den - row->prev * (row->den - row->num);
	k = room / row->den;
	for (i = 0; i < k; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0,
			      "%s: prev %llu at %llu/%llu: take %llu of %llu denied "
			      "(remaining %llu)",
			      row->rule, (ull)row->prev, (ull)row->num, (ull)row->den,
			      (ull)i + 1, (ull)k, (ull)r.remaining);
		ck_assert_msg(r.remaining == (room - (i + 1) * row->den) / row->den,
			      "%s: prev %llu at %llu/%llu: take %llu remaining %llu, want %llu",
			      row->rule, (ull)row->prev, (ull)row->num, (ull)row->den,
			      (ull)i + 1, (ull)r.remaining,
			      (ull)((room - (i + 1) * row->den) / row->den));
		ck_assert_uint_eq(r.reset_ns, row->period - at);
	}
	rc = take(l, NULL, 1, &r);
	check_shape(rc, &r, row->rule);
	ck_assert_msg(rc == FBX_ELIMITED, "%s: prev %llu at %llu/%llu: %llu admitted, want %llu",
		      row->rule, (ull)row->prev, (ull)row->num, (ull)row->den, (ull)k + 1,
		      (ull)k);
	fbx_box_close(box);
}
END_TEST

/* Whatever was used, wherever in its window, 2 periods of idleness give
 * the whole budget back. */
static const struct idle_row {
	const char *rule;
	uint64_t limit; /* of the tightest limit when fresh */
	uint64_t period;  /* the longest */
	uint64_t offset;
} idle_rows[] = {
	{ "5/second", 5, S(1), 0 },
	{ "5/second", 5, S(1), MS(999) },
	{ "5/second", 5, S(1), MS(400) + 7 },
	{ "20/minute", 20, MIN(1), S(59) + 999999999 },
	{ "3/hour", 3, HOUR(1), MIN(30) },
	{ "3/second;5/minute", 3, MIN(1), S(37) },
};

START_TEST(window_idle_refill)
{
	const struct idle_row *row = &idle_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t i, n;
	int rc;

	tclock_install();
	box = new_box(4, 256);
	l = reg(box, "idle", row->rule, WINDOW, 1, 1, 0);
	tclock_set_ns(T0 + row->offset);
	for (n = 0; take(l, "k", 1, &r) == 0; n++)
		ck_assert_uint_le(n, row->limit);
	ck_assert_uint_eq(n, row->limit);

	tclock_set_ns(T0 + row->offset + 2 * row->period);
	for (i = 0; i < row->limit; i++) {
		rc = take(l, "k", 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: take %llu after idling denied", row->rule,
			      (ull)i + 1);
		ck_assert_uint_eq(r.limit, row->limit);
		ck_assert_uint_eq(r.remaining, row->limit - 1 - i);
	}
	ck_assert_int_eq(take(l, "k", 1, &r), FBX_ELIMITED);
	fbx_box_close(box);
}
END_TEST

/*
 * Retry-After is a promise: after waiting retry_after_ns the same take is
 * admitted.  Each row is checked in many situations: window filled up to a
 * point at some position, the denial met later in the same window or in
 * the next one.  Every situation has its own key, so its own budget.
 */
static const struct retry_row {
	const char *rule;
	uint32_t cost;
} window_retry_rows[] = {
	{ "5/second", 1 },
	{ "5/second", 2 },
	{ "10/second", 3 },
	{ "1/second", 1 },
	{ "4/second", 4 },
	{ "7/minute", 1 },
	{ "100/minute", 7 },
	{ "30/5 minutes", 4 },
	{ "1000/hour", 13 },
	{ "2/day", 1 },
	{ "3/second;5/minute", 1 },
	{ "10/second;50/minute", 3 },
};

static const struct pos {
	uint64_t num, den;
	int64_t adj; /* ns added */
} positions[] = {
	{ 0, 1, 0 }, { 0, 1, 1 }, { 1, 8, 0 }, { 1, 3, 0 }, { 1, 2, 0 },
	{ 2, 3, 0 }, { 7, 8, 0 }, { 1, 1, -1 },
};

static uint64_t pos_ns(const struct pos *p, uint64_t period)
{
	return (uint64_t)((int64_t)(period / p->den * p->num) + p->adj);
}

START_TEST(window_retry_after_admits)
{
	const struct retry_row *row = &window_retry_rows[_i];
	uint64_t period = rule_max_period(row->rule);
	fbx_limit_result r, r2;
	fbx_box *box;
	fbx_limiter *l;
	unsigned situations = 0;
	size_t a, b, f, w;
	char key[32];
	int rc;

	tclock_install();
	box = new_box(4, 4096);
	l = reg(box, "retry", row->rule, WINDOW, 1, 1, 0);
	for (a = 0; a < ARRAY_LEN(positions); a++)
	for (f = 0; f < 3; f++)
	for (w = 0; w < 2; w++)
	for (b = 0; b < ARRAY_LEN(positions); b++) {
		uint64_t t1 = T0 + pos_ns(&positions[a], period);
		uint64_t t2 = T0 + w * period + pos_ns(&positions[b], period);
		uint64_t n, budget = 0, guard;

		if (t2 < t1)
			continue;
		snprintf(key, sizeof(key), "s%u", situations++);
		tclock_set_ns(t1);
		/* f: nothing, half the budget, or all of it */
		if (f > 0) {
			for (n = 0; take(l, key, row->cost, &r) == 0; n++)
				ck_assert_uint_lt(n, 2000);
			budget = n;
			/* start again from a half-used window for f == 1 */
			if (f == 1) {
				snprintf(key, sizeof(key), "s%u", situations++);
				for (n = 0; n < budget / 2; n++)
					ck_assert_int_eq(take(l, key, row->cost, &r), 0);
			}
		}
		tclock_set_ns(t2);
		for (guard = 0; (rc = take(l, key, row->cost, &r)) == 0; guard++)
			ck_assert_uint_lt(guard, 2000);
		check_shape(rc, &r, row->rule);
		ck_assert_int_eq(rc, FBX_ELIMITED);
		ck_assert_msg(r.retry_after_ns <= 2 * period + 1,
			      "%s cost %u: retry-after %llu is beyond two windows", row->rule,
			      row->cost, (ull)r.retry_after_ns);
		tclock_set_ns(t2 + r.retry_after_ns);
		rc = take(l, key, row->cost, &r2);
		ck_assert_msg(rc == 0,
			      "%s cost %u: filled %s at %llu ns into the window, denied %llu ns "
			      "into window %llu with retry-after %llu ns; the retry at +%llu ns "
			      "was denied again (retry-after %llu, remaining %llu)",
			      row->rule, row->cost, f == 0 ? "nothing" : f == 1 ? "half" : "all",
			      (ull)(t1 - T0), (ull)(t2 - T0 - w * period), (ull)w,
			      (ull)r.retry_after_ns, (ull)r.retry_after_ns,
			      (ull)r2.retry_after_ns, (ull)r2.remaining);
	}
	ck_assert_uint_gt(situations, 100);
	fbx_box_close(box);
}
END_TEST

/*
 * Over a long arrival sequence (random gaps, clients that retry exactly
 * when told, idle stretches), no window aligned to the clock ever admits
 * more than the limit: cur never passes it.
 */
static const struct seq_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	uint32_t max_cost;
} window_seq_rows[] = {
	{ "5/second", WINDOW, 1, 1 },
	{ "10/second", WINDOW, 1, 3 },
	{ "3/second", WINDOW, 1, 1 },
	{ "100/minute", WINDOW, 1, 5 },
	{ "7/hour", WINDOW, 1, 2 },
};

#define SEQ_STEPS 4000

/* Runs the arrival sequence; returns the admitted takes (caller frees). */
static struct adm *run_sequence(fbx_limiter *l, const struct seq_row *row,
				uint64_t period, uint64_t limit, uint64_t seed,
				size_t *n_adm, uint64_t *n_denied, int probe_retry)
{
	struct adm *adm = calloc(SEQ_STEPS * 2, sizeof(*adm));
	uint64_t t = T0 + 12345, gap = period / limit;
	uint64_t last_retry = 0;
	fbx_limit_result r, p;
	size_t n = 0;
	int step, rc, denied_last = 0;

	ck_assert_ptr_nonnull(adm);
	*n_denied = 0;
	for (step = 0; step < SEQ_STEPS; step++) {
		uint64_t x = rnd(&seed);
		uint32_t cost = 1 + (uint32_t)(rnd(&seed) % row->max_cost);

		if (denied_last && x % 4 != 0)
			t += last_retry; /* a client that honours Retry-After */
		else if (x % 29 == 0)
			t += rnd(&seed) % (2 * period + 1); /* idle */
		else
			t += rnd(&seed) % (2 * gap + 1);
		tclock_set_ns(t);
		rc = take(l, NULL, cost, &r);
		check_shape(rc, &r, row->rule);
		if (rc == 0) {
			adm[n].t = t;
			adm[n].cost = cost;
			n++;
			denied_last = 0;
			continue;
		}
		(*n_denied)++;
		denied_last = 1;
		last_retry = r.retry_after_ns;
		if (probe_retry) {
			/* exact: one ns earlier is still too early */
			tclock_set_ns(t + r.retry_after_ns - 1);
			rc = take(l, NULL, cost, &p);
			ck_assert_msg(rc == FBX_ELIMITED,
				      "%s burst %u cost %u: admitted 1 ns before retry-after %llu",
				      row->rule, row->burst, cost, (ull)r.retry_after_ns);
			ck_assert_msg(p.retry_after_ns == 1,
				      "%s burst %u cost %u: 1 ns before, retry-after %llu",
				      row->rule, row->burst, cost, (ull)p.retry_after_ns);
			t += r.retry_after_ns;
			tclock_set_ns(t);
			rc = take(l, NULL, cost, &p);
			ck_assert_msg(rc == 0,
				      "%s burst %u cost %u: denied at retry-after %llu",
				      row->rule, row->burst, cost, (ull)r.retry_after_ns);
			adm[n].t = t;
			adm[n].cost = cost;
			n++;
			denied_last = 0;
		}
	}
	*n_adm = n;
	return adm;
}

START_TEST(window_aligned_bound)
{
	const struct seq_row *row = &window_seq_rows[_i];
	fbx_rule rule;
	fbx_box *box;
	fbx_limiter *l;
	struct adm *adm;
	size_t n;
	uint64_t denied, best;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "seq", row->rule, row->algo, row->burst, 0, 0);
	ck_assert_int_eq(fbx_rule_parse(row->rule, &rule, NULL), 0);
	adm = run_sequence(l, row, rule.limit[0].period_ns, rule.limit[0].count,
			   0x5eed0000u + (uint64_t)_i, &n, &denied, 0);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_gt(denied, 0);
	best = max_aligned(adm, n, rule.limit[0].period_ns);
	ck_assert_msg(best <= rule.limit[0].count, "%s: %llu admitted in one window",
		      row->rule, (ull)best);
	/* and the limiter is not simply shy: some window was filled */
	ck_assert_msg(best + row->max_cost > rule.limit[0].count,
		      "%s: at most %llu admitted in any window", row->rule, (ull)best);
	check_counts(box, "seq", n, denied, 0);
	free(adm);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Rules of several limits
 * ==================================================================== */

START_TEST(multi_all_must_admit)
{
	fbx_limit_result r, first;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t allowed = 0, denied = 0;
	int i, rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "multi", "3/second;5/minute", WINDOW, 1, 0, 0);
	tclock_set_ns(T0);
	/* the second limit is the tighter one: its figures */
	for (i = 0; i < 3; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, "3/second;5/minute");
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(r.limit, 3);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
		ck_assert_uint_eq(r.reset_ns, S(1));
		allowed++;
	}
	ck_assert_int_eq(take(l, NULL, 1, &first), FBX_ELIMITED);
	ck_assert_uint_eq(first.limit, 3);
	ck_assert_uint_eq(first.remaining, 0);
	denied++;
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
		ck_assert_msg(same_figures(&first, &r), "denial %d changed the figures", i);
		denied++;
	}

	/* two seconds on the second limit is whole; the minute has 3 used
	 * (none by the denials): 2 more, and the minute is the tighter */
	tclock_set_ns(T0 + S(2));
	for (i = 0; i < 2; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, "3/second;5/minute");
		ck_assert_msg(rc == 0, "take %d at 2 s denied: the denials consumed", i);
		ck_assert_uint_eq(r.limit, 5);
		ck_assert_uint_eq(r.remaining, (uint64_t)(1 - i));
		ck_assert_uint_eq(r.reset_ns, S(58));
		allowed++;
	}
	/* The minute denies now.  The second limit admitted first, so it must
	 * get its cost back each time: if it did not, its 3rd would fill it and
	 * the denial would come from it (limit 3) instead. */
	ck_assert_int_eq(take(l, NULL, 1, &first), FBX_ELIMITED);
	ck_assert_uint_eq(first.limit, 5);
	ck_assert_uint_eq(first.remaining, 0);
	denied++;
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
		ck_assert_msg(r.limit == 5, "repeat %d denied by the %llu-limit: the second "
			      "limit kept the cost of denied takes", i, (ull)r.limit);
		ck_assert_msg(same_figures(&first, &r), "minute denial %d changed the figures", i);
		denied++;
	}
	/* the 5/minute cap bites across seconds, whatever the second says */
	static const uint64_t later[] = { S(3), S(10), S(30), S(59), S(60) - 1 };
	for (i = 0; i < (int)ARRAY_LEN(later); i++) {
		tclock_set_ns(T0 + later[i]);
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, "3/second;5/minute");
		ck_assert_msg(rc == FBX_ELIMITED, "admitted at %llu ns into the minute",
			      (ull)later[i]);
		ck_assert_uint_eq(r.limit, 5);
		denied++;
	}
	/* at 72 s the last minute's 5 weigh 5 * 48/60 = 4: one more */
	tclock_set_ns(T0 + S(72));
	ck_assert_int_eq(take(l, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.limit, 5);
	ck_assert_uint_eq(r.remaining, 0);
	allowed++;
	ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
	denied++;
	check_counts(box, "multi", allowed, denied, 0);
	fbx_box_close(box);
}
END_TEST

/*
 * Generic: random takes against several multi-limit rules, both
 * algorithms.  A denial repeated (more times than any limit holds) gives
 * the same figures each time, so it consumed nothing anywhere; every limit
 * is enforced on its own; the counters add up.
 */
static const struct multi_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
} multi_rows[] = {
	{ "3/second;5/minute", WINDOW, 1 },
	{ "5/minute;3/second", WINDOW, 1 },
	{ "2/second;4/minute;6/hour", WINDOW, 1 },
	{ "10/second;20/minute", WINDOW, 1 },
	{ "3/second;5/minute", GCRA, 1 },
	{ "4/second;10/minute", GCRA, 2 },
	{ "5/minute;2/second;8/hour", GCRA, 2 },
};

START_TEST(multi_denial_consumes_nothing)
{
	const struct multi_row *row = &multi_rows[_i];
	fbx_rule rule;
	fbx_limit_result r, again;
	fbx_box *box;
	fbx_limiter *l;
	struct adm *adm;
	uint64_t seed = 0xabcdef12u + (uint64_t)_i, t = T0 + 777;
	uint64_t allowed = 0, denied = 0, max_count = 0, step_ns;
	size_t n = 0;
	uint32_t i;
	int step, k, rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "mdc", row->rule, row->algo, row->burst, 0, 0);
	ck_assert_int_eq(fbx_rule_parse(row->rule, &rule, NULL), 0);
	for (i = 0; i < rule.n; i++)
		if (rule.limit[i].count > max_count)
			max_count = rule.limit[i].count;
	step_ns = S(1) / 2;
	adm = calloc(3000, sizeof(*adm));
	ck_assert_ptr_nonnull(adm);
	for (step = 0; step < 3000; step++) {
		uint64_t x = rnd(&seed);
		/* GCRA never admits more than the burst at once */
		uint32_t cost = 1 + (uint32_t)(rnd(&seed) % (row->algo == GCRA ? row->burst : 2));

		if (x % 37 == 0)
			t += rnd(&seed) % MIN(30);
		else
			t += rnd(&seed) % step_ns;
		tclock_set_ns(t);
		rc = take(l, NULL, cost, &r);
		check_shape(rc, &r, row->rule);
		if (rc == 0) {
			adm[n].t = t;
			adm[n].cost = cost;
			n++;
			allowed++;
			continue;
		}
		denied++;
		for (k = 0; k <= (int)max_count; k++) {
			rc = take(l, NULL, cost, &again);
			ck_assert_msg(rc == FBX_ELIMITED && same_figures(&r, &again),
				      "%s %s: repeat %d of a denial: rc %d, limit %llu->%llu, "
				      "remaining %llu->%llu, retry %llu->%llu",
				      row->rule, fbx_algorithm_name(row->algo), k, rc,
				      (ull)r.limit, (ull)again.limit, (ull)r.remaining,
				      (ull)again.remaining, (ull)r.retry_after_ns,
				      (ull)again.retry_after_ns);
			denied++;
		}
	}
	ck_assert_uint_gt(allowed, 0);
	for (i = 0; i < rule.n; i++) {
		uint64_t p = rule.limit[i].period_ns, best;

		best = row->algo == WINDOW ? max_aligned(adm, n, p) : max_sliding(adm, n, p);
		ck_assert_msg(best <= rule.limit[i].count,
			      "%s %s: limit %u (%llu) admitted %llu in a window", row->rule,
			      fbx_algorithm_name(row->algo), i, (ull)rule.limit[i].count,
			      (ull)best);
	}
	check_counts(box, "mdc", allowed, denied, 0);
	free(adm);
	fbx_box_close(box);
}
END_TEST

/*
 * Retry-After of a rule of several limits is the time until ALL of them
 * admit the take, not just the first one that denied it.  Each row uses
 * up more than one limit, then checks that waiting retry_after_ns admits.
 */
static const struct mretry_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	struct {
		uint64_t at; /* since T0 */
		int takes;
	} fill[2];
} mretry_rows[] = {
	/* the second is full and so is the minute */
	{ "2/second;4/minute", WINDOW, 1, { { 0, 2 }, { S(2), 2 } } },
	{ "4/minute;2/second", WINDOW, 1, { { 0, 2 }, { S(2), 2 } } },
	{ "3/second;5/minute;6/hour", WINDOW, 1, { { 0, 3 }, { S(120), 3 } } },
	/* GCRA burst 2: two at once use both limits' tolerance */
	{ "2/second;10/minute", GCRA, 2, { { 0, 2 }, { 0, 0 } } },
	{ "10/minute;2/second", GCRA, 2, { { 0, 2 }, { 0, 0 } } },
	{ "5/second;5/hour", GCRA, 2, { { 0, 2 }, { 0, 0 } } },
};

START_TEST(multi_retry_after_covers_all)
{
	const struct mretry_row *row = &mretry_rows[_i];
	fbx_limit_result r, r2;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t t;
	int f, k, rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "mretry", row->rule, row->algo, row->burst, 0, 0);
	for (f = 0; f < 2; f++) {
		tclock_set_ns(T0 + row->fill[f].at);
		for (k = 0; k < row->fill[f].takes; k++)
			ck_assert_msg(take(l, NULL, 1, &r) == 0, "%s: fill %d take %d denied",
				      row->rule, f, k);
	}
	rc = take(l, NULL, 1, &r);
	check_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	t = tclock_ns() + r.retry_after_ns;
	tclock_set_ns(t);
	rc = take(l, NULL, 1, &r2);
	ck_assert_msg(rc == 0,
		      "%s %s: denied by the %llu-limit with retry-after %llu ns; at that time "
		      "denied again by the %llu-limit (retry-after %llu ns more)",
		      row->rule, fbx_algorithm_name(row->algo), (ull)r.limit,
		      (ull)r.retry_after_ns, (ull)r2.limit, (ull)r2.retry_after_ns);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Weighted takes
 * ==================================================================== */

#define STEPS_MAX 6
static const struct weighted_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	struct {
		uint32_t cost;
		int rc;
		uint64_t remaining;
	} step[STEPS_MAX];
} weighted_rows[] = {
	{ "10/second", WINDOW, 1,
	  { { 4, 0, 6 }, { 4, 0, 2 }, { 4, FBX_ELIMITED, 2 }, { 3, FBX_ELIMITED, 2 },
	    { 2, 0, 0 }, { 1, FBX_ELIMITED, 0 } } },
	{ "5/second", WINDOW, 1, { { 5, 0, 0 }, { 1, FBX_ELIMITED, 0 } } },
	{ "7/minute", WINDOW, 1,
	  { { 1, 0, 6 }, { 6, 0, 0 }, { 7, FBX_ELIMITED, 0 } } },
	{ "3/second;10/minute", WINDOW, 1,
	  { { 2, 0, 1 }, { 2, FBX_ELIMITED, 1 }, { 1, 0, 0 } } },
	{ "10/second", GCRA, 5,
	  { { 3, 0, 2 }, { 3, FBX_ELIMITED, 2 }, { 2, 0, 0 }, { 1, FBX_ELIMITED, 0 } } },
	{ "10/second", GCRA, 10,
	  { { 10, 0, 0 }, { 1, FBX_ELIMITED, 0 } } },
};

START_TEST(weighted_takes)
{
	const struct weighted_row *row = &weighted_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t allowed = 0, denied = 0;
	int i, rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "weighted", row->rule, row->algo, row->burst, 0, 0);
	tclock_set_ns(T0);
	for (i = 0; i < STEPS_MAX && row->step[i].cost; i++) {
		rc = take(l, NULL, row->step[i].cost, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == row->step[i].rc, "%s step %d cost %u: rc %d, want %d",
			      row->rule, i, row->step[i].cost, rc, row->step[i].rc);
		ck_assert_msg(r.remaining == row->step[i].remaining,
			      "%s step %d cost %u: remaining %llu, want %llu", row->rule, i,
			      row->step[i].cost, (ull)r.remaining, (ull)row->step[i].remaining);
		if (rc == 0)
			allowed++;
		else
			denied++;
	}
	check_counts(box, "weighted", allowed, denied, 0);
	fbx_box_close(box);
}
END_TEST

/* cost 0 is invalid, a cost beyond a limit can never pass; neither is
 * counted or consumes anything. */
static const struct cost_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
	uint32_t cost;
	int rc;
} cost_rows[] = {
	{ "5/second", WINDOW, 1, 0, 0, FBX_EINVAL },
	{ "5/second", WINDOW, 1, 1, 0, FBX_EINVAL },
	{ "5/second", GCRA, 1, 0, 0, FBX_EINVAL },
	{ "5/second", WINDOW, 1, 0, 6, FBX_ERANGE },
	{ "5/second", WINDOW, 1, 1, 6, FBX_ERANGE },
	{ "5/second", GCRA, 5, 0, 6, FBX_ERANGE },
	{ "5/second", WINDOW, 1, 0, UINT32_MAX, FBX_ERANGE },
	{ "3/second;100/minute", WINDOW, 1, 0, 4, FBX_ERANGE },
	{ "100/minute;3/second", WINDOW, 1, 0, 4, FBX_ERANGE },
	{ "3/second;100/minute", GCRA, 1, 0, 4, FBX_ERANGE },
};

START_TEST(cost_invalid)
{
	const struct cost_row *row = &cost_rows[_i];
	const char *key = row->keyed ? "k" : NULL;
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "cost", row->rule, row->algo, row->burst, row->keyed, 0);
	tclock_set_ns(T0);
	rc = take(l, key, row->cost, &r);
	ck_assert_msg(rc == row->rc, "%s cost %u: rc %d, want %d", row->rule, row->cost, rc,
		      row->rc);
	check_counts(box, "cost", 0, 0, 0);
	/* the budget is untouched */
	ck_assert_int_eq(take(l, key, 1, &r), 0);
	ck_assert_uint_eq(r.remaining, row->algo == GCRA ? row->burst - 1 : r.limit - 1);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * GCRA
 * ==================================================================== */

/* Burst 1: one call per emission interval T = period/limit (rounded up
 * when it does not divide: rounded down, limit + 1 calls would fit in one
 * period).  Exactly at T admitted, 1 ns earlier denied. */
static const struct pace_row {
	const char *rule;
	uint64_t limit, t;
} pace_rows[] = {
	{ "10/second", 10, MS(100) },
	{ "4/second", 4, MS(250) },
	{ "1/second", 1, S(1) },
	{ "60/minute", 60, S(1) },
	{ "5/hour", 5, MIN(12) },
	{ "1000/second", 1000, MS(1) },
	{ "3/second", 3, 333333334 },
	{ "7/second", 7, 142857143 },
};

START_TEST(gcra_pacing)
{
	const struct pace_row *row = &pace_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t t = T0 + 4321;
	int i, rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "pace", row->rule, GCRA, 1, 0, 0);
	tclock_set_ns(t);
	rc = take(l, NULL, 1, &r);
	check_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(r.limit, row->limit);
	ck_assert_uint_eq(r.remaining, 0);
	rc = take(l, NULL, 1, &r);
	check_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_msg(r.retry_after_ns == row->t, "%s: retry-after %llu, want %llu",
		      row->rule, (ull)r.retry_after_ns, (ull)row->t);
	for (i = 0; i < 20; i++) {
		tclock_set_ns(t + row->t - 1);
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == FBX_ELIMITED, "%s: call %d admitted 1 ns early", row->rule,
			      i + 2);
		ck_assert_uint_eq(r.retry_after_ns, 1);
		t += row->t;
		tclock_set_ns(t);
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: call %d denied at the emission interval", row->rule,
			      i + 2);
		ck_assert_uint_eq(r.reset_ns, row->t);
		ck_assert_uint_eq(r.remaining, 0);
	}
	check_counts(box, "pace", 21, 21, 0);
	fbx_box_close(box);
}
END_TEST

/* Burst b: b calls at once (remaining b-1 .. 0, reset growing by one
 * interval each), then one denied whose retry-after is exact. */
static const struct burst_row {
	const char *rule;
	uint32_t burst;
} burst_rows[] = {
	{ "10/second", 1 },
	{ "10/second", 4 },
	{ "10/second", 10 },
	{ "100/minute", 20 },
	{ "7/second", 3 },
	{ "1000/hour", 999 },
};

START_TEST(gcra_burst)
{
	const struct burst_row *row = &burst_rows[_i];
	fbx_limit_result r, d;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t t = T0 + 99, interval;
	uint64_t resets[1000];
	uint32_t i;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "burst", row->rule, GCRA, row->burst, 0, 0);
	tclock_set_ns(t);
	for (i = 0; i < row->burst; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s burst %u: call %u denied", row->rule, row->burst, i + 1);
		ck_assert_uint_eq(r.remaining, row->burst - 1 - i);
		resets[i] = r.reset_ns;
	}
	rc = take(l, NULL, 1, &d);
	check_shape(rc, &d, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_uint_eq(d.remaining, 0);
	/* the budget is whole again one interval per call after the burst */
	interval = resets[0];
	for (i = 0; i < row->burst; i++)
		ck_assert_uint_eq(resets[i], (i + 1) * interval);
	ck_assert_uint_eq(d.reset_ns, row->burst * interval);

	tclock_set_ns(t + d.retry_after_ns - 1);
	ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_uint_eq(r.retry_after_ns, 1);
	tclock_set_ns(t + d.retry_after_ns);
	ck_assert_int_eq(take(l, NULL, 1, &r), 0);
	check_counts(box, "burst", row->burst + 1, 2, 0);
	fbx_box_close(box);
}
END_TEST

/*
 * The GCRA bound: whatever the arrivals, no window [s, s + period) ever
 * admits more than limit calls.  Clients that retry exactly at Retry-After
 * are part of the sequence: they are the ones that find rounding.
 */
static const struct seq_row gcra_seq_rows[] = {
	{ "10/second", GCRA, 1, 1 },
	{ "10/second", GCRA, 4, 1 },
	{ "10/second", GCRA, 10, 3 },
	{ "100/minute", GCRA, 10, 4 },
	{ "5/minute", GCRA, 5, 2 },
	{ "1000/hour", GCRA, 50, 5 },
	{ "3/second", GCRA, 1, 1 },
	{ "7/second", GCRA, 3, 1 },
	{ "6/second", GCRA, 2, 1 },
};

START_TEST(gcra_window_bound)
{
	const struct seq_row *row = &gcra_seq_rows[_i];
	fbx_rule rule;
	fbx_box *box;
	fbx_limiter *l;
	struct adm *adm;
	size_t n;
	uint64_t denied, best;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "gseq", row->rule, GCRA, row->burst, 0, 0);
	ck_assert_int_eq(fbx_rule_parse(row->rule, &rule, NULL), 0);
	adm = run_sequence(l, row, rule.limit[0].period_ns, rule.limit[0].count,
			   0xfeed0000u + (uint64_t)_i, &n, &denied, 0);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_gt(denied, 0);
	best = max_sliding(adm, n, rule.limit[0].period_ns);
	ck_assert_msg(best <= rule.limit[0].count,
		      "%s burst %u: %llu admitted within one period", row->rule, row->burst,
		      (ull)best);
	check_counts(box, "gseq", n, denied, 0);
	free(adm);
	fbx_box_close(box);
}
END_TEST

/* At every denial of a long sequence: 1 ns before retry-after is still
 * denied (with retry-after 1), at retry-after the take is admitted. */
START_TEST(gcra_retry_exact)
{
	const struct seq_row *row = &gcra_seq_rows[_i];
	fbx_rule rule;
	fbx_box *box;
	fbx_limiter *l;
	struct adm *adm;
	size_t n;
	uint64_t denied;

	if (row->max_cost > row->burst)
		return; /* such takes are the subject of gcra_cost_above_burst */
	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "gretry", row->rule, GCRA, row->burst, 0, 0);
	ck_assert_int_eq(fbx_rule_parse(row->rule, &rule, NULL), 0);
	adm = run_sequence(l, row, rule.limit[0].period_ns, rule.limit[0].count,
			   0xbeef0000u + (uint64_t)_i, &n, &denied, 1);
	ck_assert_uint_gt(denied, 10);
	free(adm);
	fbx_box_close(box);
}
END_TEST

/*
 * A GCRA take costing more than the burst can never be admitted (the
 * tolerance holds burst intervals).  Either it is refused as out of range,
 * or, if denied, its Retry-After must still come true.
 */
static const struct gcra_big_row {
	const char *rule;
	uint32_t burst, cost;
} gcra_big_rows[] = {
	{ "10/second", 2, 3 },
	{ "10/second", 1, 2 },
	{ "100/minute", 10, 11 },
};

START_TEST(gcra_cost_above_burst)
{
	const struct gcra_big_row *row = &gcra_big_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "big", row->rule, GCRA, row->burst, 0, 0);
	tclock_set_ns(T0);
	rc = take(l, NULL, row->cost, &r);
	if (rc == FBX_ERANGE) {
		fbx_box_close(box);
		return;
	}
	ck_assert_msg(rc == FBX_ELIMITED, "%s burst %u cost %u on a fresh budget: rc %d",
		      row->rule, row->burst, row->cost, rc);
	tclock_set_ns(T0 + r.retry_after_ns);
	rc = take(l, NULL, row->cost, &r);
	ck_assert_msg(rc == 0,
		      "%s burst %u cost %u: denied with a retry-after, denied again after "
		      "it (it can never pass); want FBX_ERANGE",
		      row->rule, row->burst, row->cost);
	fbx_box_close(box);
}
END_TEST

/* CLOCK_MONOTONIC counts from boot: a service started a few seconds after
 * boot gets its budget like any other. */
static const struct early_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	uint64_t now;
} early_rows[] = {
	{ "100/hour", GCRA, 10, S(5) },
	{ "10/second", GCRA, 5, MS(100) },
	{ "1000/day", GCRA, 100, MIN(10) },
	{ "10/second", GCRA, 1, MS(1) },
	{ "100/hour", WINDOW, 1, S(5) },
	{ "10/second", WINDOW, 1, MS(100) },
};

START_TEST(early_clock)
{
	const struct early_row *row = &early_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint32_t i, want;
	int rc;

	tclock_install();
	tclock_set_ns(row->now);
	box = new_box(4, 64);
	l = reg(box, "early", row->rule, row->algo, row->burst, 0, 0);
	want = row->algo == GCRA ? row->burst : 10;
	for (i = 0; i < want; i++) {
		rc = take(l, NULL, 1, &r);
		ck_assert_msg(rc == 0,
			      "%s %s burst %u at clock %llu ns: call %u denied, retry-after %llu",
			      row->rule, fbx_algorithm_name(row->algo), row->burst,
			      (ull)row->now, i + 1, (ull)r.retry_after_ns);
		check_shape(rc, &r, row->rule);
	}
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Keyed limiters
 * ==================================================================== */

static const struct key_pair {
	const char *a;
	size_t alen;
	const char *b;
	size_t blen;
} key_pairs[] = {
	{ "alice", 5, "bob", 3 },
	{ "ab", 1, "ab", 2 },             /* length is part of the key */
	{ "a\0x", 3, "a\0y", 3 },         /* bytes after a NUL count */
	{ "\0", 1, "\0\0", 2 },
	{ "10.0.0.1", 8, "10.0.0.10", 9 },
	{ "K", 1, "k", 1 },
};

START_TEST(keyed_separate_budgets)
{
	const struct key_pair *kp = &key_pairs[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	int i;

	tclock_install();
	box = new_box(4, 256);
	l = reg(box, "keyed", "3/second", WINDOW, 1, 1, 0);
	tclock_set_ns(T0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(fbx_limiter_take(l, kp->a, kp->alen, 1, &r), 0);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
	}
	ck_assert_int_eq(fbx_limiter_take(l, kp->a, kp->alen, 1, &r), FBX_ELIMITED);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(fbx_limiter_take(l, kp->b, kp->blen, 1, &r) == 0,
			      "pair %d: the second key shares the first's budget", _i);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
	}
	ck_assert_int_eq(fbx_limiter_take(l, kp->b, kp->blen, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_take(l, kp->a, kp->alen, 1, &r), FBX_ELIMITED);
	ck_assert_uint_eq(linfo(box, "keyed").keys, 2);
	fbx_box_close(box);
}
END_TEST

/* A long key (well past any inline buffer) differing in its last byte. */
START_TEST(keyed_long_keys)
{
	char a[300], b[300];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;

	tclock_install();
	box = new_box(4, 256);
	l = reg(box, "long", "1/minute", GCRA, 1, 1, 0);
	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 1] = 'y';
	ck_assert_int_eq(fbx_limiter_take(l, a, sizeof(a), 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, a, sizeof(a), 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_take(l, b, sizeof(b), 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, b, sizeof(b) - 1, 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, b, sizeof(b) - 1, 1, &r), FBX_ELIMITED);
	fbx_box_close(box);
}
END_TEST

/* One key, one budget, however many handles: a second handle in this
 * process (fbx_limiter_find on the same box and on a second mapping), and
 * a forked child with the inherited handle. */
START_TEST(keyed_shared_across_handles)
{
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *same, *other;
	pid_t pid;

	tclock_install();
	box = new_box(4, 256);
	l = reg(box, "shared", "6/minute", WINDOW, 1, 1, 0);
	tclock_set_ns(T0);
	ck_assert_int_eq(fbx_limiter_find(box, "shared", &same), 0);
	ck_assert_str_eq(fbx_limiter_name(same), "shared");
	box2 = reopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "shared", &other), 0);
	ck_assert_ptr_ne(other, l);

	ck_assert_int_eq(take(l, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 5);
	ck_assert_int_eq(take(same, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 4);
	ck_assert_int_eq(take(other, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 3);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fbx_limit_result cr;
		int bad = 0;

		bad |= take(l, "tok", 1, &cr) != 0 || cr.remaining != 2;
		bad |= take(l, "tok", 1, &cr) != 0 || cr.remaining != 1;
		_exit(bad ? 1 : 0);
	}
	ck_assert_int_eq(twait(pid), 0);
	ck_assert_int_eq(take(other, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_int_eq(take(l, "tok", 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(take(other, "tok", 1, &r), FBX_ELIMITED);
	/* another key is untouched */
	ck_assert_int_eq(take(other, "tok2", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 5);
	/* both processes' counts, through either mapping */
	check_counts(box, "shared", 7, 2, 0);
	check_counts(box2, "shared", 7, 2, 0);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

static const struct keyarg_row {
	int keyed;
	const char *key;
	size_t keylen;
	int rc;
} keyarg_rows[] = {
	{ 1, NULL, 0, FBX_EINVAL },
	{ 1, NULL, 3, FBX_EINVAL },
	{ 1, "abc", 0, FBX_EINVAL },
	{ 0, "abc", 3, FBX_EINVAL },
	{ 0, NULL, 1, FBX_EINVAL },
	{ 1, "abc", 3, 0 },
	{ 0, NULL, 0, 0 },
};

START_TEST(keyed_bad_args)
{
	const struct keyarg_row *row = &keyarg_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "args", "5/second", WINDOW, 1, row->keyed, 0);
	rc = fbx_limiter_take(l, row->key, row->keylen, 1, &r);
	ck_assert_msg(rc == row->rc, "keyed %d key %s len %zu: rc %d, want %d", row->keyed,
		      row->key ? "set" : "NULL", row->keylen, rc, row->rc);
	check_counts(box, "args", rc == 0, 0, 0);
	ck_assert_uint_eq(linfo(box, "args").keys, row->keyed && rc == 0 ? 1 : 0);
	/* NULL limiter or result */
	ck_assert_int_eq(fbx_limiter_take(NULL, row->key, row->keylen, 1, &r), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_take(l, row->key, row->keylen, 1, NULL), FBX_EINVAL);
	check_counts(box, "args", rc == 0, 0, 0);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Dry-run
 * ==================================================================== */

static const struct dry_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	uint64_t limit;
} dry_rows[] = {
	{ "5/second", WINDOW, 1, 5 },
	{ "5/second", GCRA, 5, 5 },
	{ "2/second;3/minute", WINDOW, 1, 2 },
};

START_TEST(dry_run_counts)
{
	const struct dry_row *row = &dry_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t i;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "dry", row->rule, row->algo, row->burst, 0, 1);
	ck_assert_int_eq(linfo(box, "dry").dry_run, 1);
	tclock_set_ns(T0);
	for (i = 0; i < row->limit; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(r.dry_run_denied, 0);
	}
	for (i = 0; i < 4; i++) {
		rc = take(l, NULL, 1, &r);
		check_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: dry-run denial returned %d", row->rule, rc);
		ck_assert_int_eq(r.allowed, 1);
		ck_assert_int_eq(r.dry_run_denied, 1);
		ck_assert_uint_eq(r.remaining, 0);
		ck_assert_uint_gt(r.retry_after_ns, 0);
	}
	check_counts(box, "dry", row->limit, 0, 4);

	/* live: the would-be denials consumed nothing, the real ones did */
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0), 0);
	ck_assert_int_eq(linfo(box, "dry").dry_run, 0);
	ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(r.dry_run_denied, 0);
	check_counts(box, "dry", row->limit, 1, 4);

	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 7), 0); /* any non-zero is on */
	ck_assert_int_eq(linfo(box, "dry").dry_run, 1);
	ck_assert_int_eq(take(l, NULL, 1, &r), 0);
	ck_assert_int_eq(r.dry_run_denied, 1);
	check_counts(box, "dry", row->limit, 1, 5);
	ck_assert_int_eq(fbx_limiter_set_dry_run(NULL, 1), FBX_EINVAL);
	fbx_box_close(box);
}
END_TEST

/* Switching dry-run through one mapping changes what another decides at
 * once. */
START_TEST(dry_run_switch_other_handle)
{
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *other;
	int i;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "drysw", "2/minute", WINDOW, 1, 0, 0);
	box2 = reopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "drysw", &other), 0);
	tclock_set_ns(T0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(take(other, NULL, 1, &r), 0);
	ck_assert_int_eq(take(other, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1), 0);
	ck_assert_int_eq(take(other, NULL, 1, &r), 0);
	ck_assert_int_eq(r.dry_run_denied, 1);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0), 0);
	ck_assert_int_eq(take(other, NULL, 1, &r), FBX_ELIMITED);
	check_counts(box2, "drysw", 2, 2, 1);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Live rule changes
 * ==================================================================== */

static const struct change_row {
	fbx_algorithm algo;
	uint32_t burst;
	const char *old_rule;
	uint64_t old_limit;
	const char *new_rule;
	const char *canon;
	uint64_t new_limit;
} change_rows[] = {
	{ WINDOW, 1, "2/second", 2, "5 per second", "5/second", 5 },
	{ WINDOW, 1, "5/second", 5, "2/second", "2/second", 2 },
	{ WINDOW, 1, "2/second", 2, "4/second;100/minute", "4/second;100/minute", 4 },
	{ GCRA, 1, "2/second", 2, "5/second", "5/second", 5 },
	{ GCRA, 2, "2/minute", 2, "10 per Minute", "10/minute", 10 },
};

START_TEST(set_rule_live)
{
	const struct change_row *row = &change_rows[_i];
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *other;
	fbx_limiter_info li;
	uint64_t used, i;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "live", row->old_rule, row->algo, row->burst, 0, 0);
	box2 = reopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "live", &other), 0);
	tclock_set_ns(T0);
	/* the other handle works under the old rule (and caches it) */
	for (used = 0; take(other, NULL, 1, &r) == 0; used++)
		ck_assert_uint_eq(r.limit, row->old_limit);
	ck_assert_uint_eq(r.limit, row->old_limit);
	ck_assert_uint_gt(used, 0);

	ck_assert_int_eq(fbx_limiter_set_rule(l, row->new_rule), 0);
	li = linfo(box2, "live");
	ck_assert_str_eq(li.rule, row->canon);
	ck_assert_int_eq(li.algorithm, row->algo);

	/* a rule change never refills: at the same instant, the other handle
	 * decides under the new limit with what was used so far */
	rc = take(other, NULL, 1, &r);
	ck_assert_uint_eq(r.limit, row->new_limit);
	if (row->new_limit <= row->old_limit)
		ck_assert_int_eq(rc, FBX_ELIMITED);
	/* and some time later, the new budget is whole: the limit at once
	 * for the window, the burst for GCRA */
	tclock_set_ns(T0 + DAY(3));
	for (i = 0; i < (row->algo == GCRA ? row->burst : row->new_limit); i++) {
		rc = take(other, NULL, 1, &r);
		ck_assert_msg(rc == 0, "%s -> %s: take %llu denied", row->old_rule, row->new_rule,
			      (ull)i + 1);
		ck_assert_uint_eq(r.limit, row->new_limit);
	}
	ck_assert_int_eq(take(other, NULL, 1, &r), FBX_ELIMITED);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

/* A rule that does not parse (or does not fit) is refused and the old one
 * stays in force for every handle. */
static const struct badrule_row {
	fbx_algorithm algo;
	const char *rule;
	int rc;
} badrule_rows[] = {
	{ WINDOW, NULL, FBX_EINVAL },
	{ WINDOW, "", FBX_ERULE },
	{ WINDOW, "abc", FBX_ERULE },
	{ WINDOW, "10/", FBX_ERULE },
	{ WINDOW, "0/minute", FBX_ERULE },
	{ WINDOW, "-5/second", FBX_ERULE },
	{ WINDOW, "100/fortnight", FBX_ERULE },
	{ WINDOW, "5/second;", FBX_ERULE },
	{ WINDOW, "16777216/second", FBX_ERANGE },
	{ GCRA, "", FBX_ERULE },
	{ GCRA, "100/fortnight", FBX_ERULE },
	{ GCRA, NULL, FBX_EINVAL },
	{ GCRA, "2000000000/second", FBX_ERANGE },
};

START_TEST(set_rule_bad_keeps_old)
{
	const struct badrule_row *row = &badrule_rows[_i];
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *other;
	int i;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "keep", "3 per second", row->algo, 3, 0, 0);
	box2 = reopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "keep", &other), 0);
	tclock_set_ns(T0);
	ck_assert_int_eq(take(other, NULL, 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_set_rule(l, row->rule), row->rc);
	ck_assert_int_eq(fbx_limiter_set_rule(other, row->rule), row->rc);
	ck_assert_int_eq(fbx_limiter_set_rule(NULL, "5/second"), FBX_EINVAL);
	ck_assert_str_eq(linfo(box, "keep").rule, "3/second");
	ck_assert_str_eq(linfo(box2, "keep").rule, "3/second");
	tclock_set_ns(T0 + DAY(1));
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(take(i % 2 ? l : other, NULL, 1, &r), 0);
		ck_assert_uint_eq(r.limit, 3);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
	}
	ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(take(other, NULL, 1, &r), FBX_ELIMITED);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

/* The snapshot shows the rule in canonical form, with its parsed figures
 * and the rest of the configuration. */
static const struct canon_row {
	const char *text;
	const char *canon;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
	int dry;
} canon_rows[] = {
	{ "10 per Second", "10/second", WINDOW, 1, 0, 0 },
	{ "5/second, 100/minute | 1000/day", "5/second;100/minute;1000/day", WINDOW, 1, 1, 0 },
	{ "  30 / 5 minutes ", "30/5 minutes", GCRA, 7, 0, 1 },
	{ "1/60 seconds", "1/minute", GCRA, 1, 1, 1 },
	{ "100/minutes;5/sec", "100/minute;5/second", WINDOW, 1, 0, 1 },
};

START_TEST(rule_canonical_in_snapshot)
{
	const struct canon_row *row = &canon_rows[_i];
	fbx_limiter_info li;
	fbx_rule want;
	fbx_box *box;
	fbx_limiter *l;
	uint32_t i;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "canon", row->text, row->algo, row->burst, row->keyed, row->dry);
	li = linfo(box, "canon");
	ck_assert_str_eq(li.rule, row->canon);
	ck_assert_int_eq(fbx_rule_parse(row->canon, &want, NULL), 0);
	ck_assert_uint_eq(li.parsed.n, want.n);
	for (i = 0; i < want.n; i++) {
		ck_assert_uint_eq(li.parsed.limit[i].count, want.limit[i].count);
		ck_assert_uint_eq(li.parsed.limit[i].period_ns, want.limit[i].period_ns);
	}
	ck_assert_int_eq(li.algorithm, row->algo);
	if (row->algo == GCRA)
		ck_assert_uint_eq(li.burst, row->burst);
	ck_assert_int_eq(li.keyed, row->keyed);
	ck_assert_int_eq(li.dry_run, row->dry);
	ck_assert_uint_eq(li.keys, 0);
	ck_assert_uint_eq(li.evictions, 0);

	/* a live change shows canonical too */
	ck_assert_int_eq(fbx_limiter_set_rule(l, "20 per 2 hours , 7/hr"), 0);
	ck_assert_str_eq(linfo(box, "canon").rule, "20/2 hours;7/hour");
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Registration
 * ==================================================================== */

START_TEST(register_same_config_keeps_state)
{
	fbx_limiter_config cfg;
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *again = NULL, *far = NULL;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "same", "2/second;10/minute", GCRA, 2, 1, 0);
	tclock_set_ns(T0);
	ck_assert_int_eq(take(l, "k", 1, &r), 0);
	ck_assert_int_eq(take(l, "k", 1, &r), 0);
	ck_assert_int_eq(take(l, "k", 1, &r), FBX_ELIMITED);

	/* the same rule written another way is the same configuration */
	lcfg(&cfg, "2 per second, 10 per minute", GCRA, 2, 1, 0);
	ck_assert_int_eq(fbx_limiter_register(box, "same", &cfg, &again), 0);
	ck_assert_ptr_nonnull(again);
	ck_assert_str_eq(fbx_limiter_name(again), "same");
	ck_assert_int_eq(take(again, "k", 1, &r), FBX_ELIMITED);
	box2 = reopen(box);
	ck_assert_int_eq(fbx_limiter_register(box2, "same", &cfg, &far), 0);
	ck_assert_int_eq(take(far, "k", 1, &r), FBX_ELIMITED);
	check_counts(box, "same", 2, 3, 0);
	ck_assert_uint_eq(linfo(box, "same").keys, 1);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

static const struct conflict_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
} conflict_rows[] = {
	{ "5/minute", WINDOW, 2, 0 },      /* rule */
	{ "10/minute;4/second", WINDOW, 2, 0 },
	{ "10/minute;3/second", GCRA, 2, 0 }, /* algorithm */
	{ "10/minute;3/second", WINDOW, 2, 1 }, /* keyed */
	{ "10/minute;3/second", GCRA, 3, 0 },  /* burst, against the GCRA one */
};

START_TEST(register_conflict)
{
	const struct conflict_row *row = &conflict_rows[_i];
	fbx_limiter_config cfg;
	fbx_limit_result r;
	fbx_limiter_info li;
	fbx_box *box;
	fbx_limiter *w, *g, *out;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	w = reg(box, "w", "10/minute;3/second", WINDOW, 2, 0, 0);
	g = reg(box, "g", "10/minute;3/second", GCRA, 2, 0, 0);
	tclock_set_ns(T0);
	ck_assert_int_eq(take(w, NULL, 1, &r), 0);
	ck_assert_int_eq(take(g, NULL, 1, &r), 0);

	lcfg(&cfg, row->rule, row->algo, row->burst, row->keyed, 0);
	out = (fbx_limiter *)&out;
	rc = fbx_limiter_register(box, row->algo == GCRA && row->burst != 2 ? "g" : "w", &cfg,
				  &out);
	ck_assert_msg(rc == FBX_ECONFLICT, "row %d: rc %d, want FBX_ECONFLICT", _i, rc);
	ck_assert_ptr_eq(out, (fbx_limiter *)&out);
	/* nothing changed */
	li = linfo(box, "w");
	ck_assert_str_eq(li.rule, "10/minute;3/second");
	ck_assert_int_eq(li.algorithm, WINDOW);
	ck_assert_int_eq(li.keyed, 0);
	li = linfo(box, "g");
	ck_assert_int_eq(li.algorithm, GCRA);
	ck_assert_uint_eq(li.burst, 2);
	ck_assert_int_eq(take(w, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 1); /* 3/second is the tighter, 2 used */
	fbx_box_close(box);
}
END_TEST

#define NAME63 "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define NAME64 NAME63 "x"

static const struct regbad_row {
	int null_box, null_cfg, null_out;
	const char *name;
	const char *rule;
	int algo;
	uint32_t burst;
	int rc;
} regbad_rows[] = {
	{ 1, 0, 0, "x", "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 1, 0, "x", "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 1, "x", "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 0, NULL, "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 0, "x", NULL, WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 0, "x", "", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "100/fortnight", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "0/minute", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "-5/second", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "abc", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "10/", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "100/fortnight", GCRA, 1, FBX_ERULE },
	{ 0, 0, 0, "", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, NAME64, "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, NAME64 "yz", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "api limit", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "api\x01", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "\tapi", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "api\x7f", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "x", "16777216/second", WINDOW, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second;16777216/hour", WINDOW, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second", GCRA, 0, FBX_EINVAL },
	{ 0, 0, 0, "x", "5/second", GCRA, 6, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second;3/minute", GCRA, 4, FBX_ERANGE },
	{ 0, 0, 0, "x", "2000000000/second", GCRA, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second", 2, 1, FBX_EINVAL },
	{ 0, 0, 0, "x", "5/second", -1, 1, FBX_EINVAL },
	/* the edges that are fine */
	{ 0, 0, 0, NAME63, "5/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "a", "5/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "api:v1/users~!", "5/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "x", "16777215/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "x", "16777216/second", GCRA, 1, 0 },
	{ 0, 0, 0, "x", "5/second", GCRA, 5, 0 },
	{ 0, 0, 0, "x", "1000000000/second", GCRA, 1, 0 },
};

START_TEST(register_bad_inputs)
{
	const struct regbad_row *row = &regbad_rows[_i];
	fbx_limiter_config cfg;
	fbx_box *box;
	fbx_limiter *out, *found;
	size_t n = 1;
	fbx_snapshot *s;
	int rc;

	tclock_install();
	box = new_box(4, 64);
	lcfg(&cfg, row->rule, (fbx_algorithm)row->algo, row->burst, 0, 0);
	out = (fbx_limiter *)&out;
	rc = fbx_limiter_register(row->null_box ? NULL : box, row->name,
				  row->null_cfg ? NULL : &cfg, row->null_out ? NULL : &out);
	ck_assert_msg(rc == row->rc, "row %d (name %s, rule %s, %s burst %u): rc %d (%s), want %d",
		      _i, row->name ? row->name : "NULL", row->rule ? row->rule : "NULL",
		      fbx_algorithm_name(row->algo), row->burst, rc, fbx_strerror(rc), row->rc);
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	fbx_snapshot_limiters(s, &n);
	fbx_snapshot_free(s);
	if (rc == 0) {
		ck_assert_ptr_ne(out, (fbx_limiter *)&out);
		ck_assert_str_eq(fbx_limiter_name(out), row->name);
		ck_assert_int_eq(fbx_limiter_find(box, row->name, &found), 0);
		ck_assert_uint_eq(n, 1);
	} else {
		ck_assert_ptr_eq(out, (fbx_limiter *)&out);
		ck_assert_uint_eq(n, 0);
	}
	fbx_box_close(box);
}
END_TEST

START_TEST(find_errors)
{
	fbx_box *box;
	fbx_limiter *l, *f = NULL;

	tclock_install();
	box = new_box(4, 64);
	l = reg(box, "here", "5/second", WINDOW, 1, 0, 0);
	ck_assert_int_eq(fbx_limiter_find(box, "here", &f), 0);
	ck_assert_ptr_eq(f, l);
	ck_assert_int_eq(fbx_limiter_find(box, "absent", &f), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_find(box, "her", &f), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_find(box, "here2", &f), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_find(box, "", &f), FBX_ENAME);
	ck_assert_int_eq(fbx_limiter_find(box, "a b", &f), FBX_ENAME);
	ck_assert_int_eq(fbx_limiter_find(box, NAME64, &f), FBX_ENAME);
	ck_assert_int_eq(fbx_limiter_find(box, NULL, &f), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_find(NULL, "here", &f), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_find(box, "here", NULL), FBX_EINVAL);
	ck_assert_ptr_null(fbx_limiter_name(NULL));
	fbx_box_close(box);
}
END_TEST

/* A box for N limiters takes N and refuses the next with FBX_EFULL; the
 * ones it has still register (attach) and work. */
static const uint32_t full_caps[] = { 1, 2, 5 };

START_TEST(register_full)
{
	uint32_t cap = full_caps[_i], i;
	fbx_limit_result r;
	fbx_limiter_config cfg;
	fbx_limiter *l[8], *out;
	fbx_box *box;
	char name[16];
	size_t n;
	fbx_snapshot *s;

	tclock_install();
	box = new_box(cap, 64);
	tclock_set_ns(T0);
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		l[i] = reg(box, name, "1/minute", WINDOW, 1, 0, 0);
		ck_assert_int_eq(take(l[i], NULL, 1, &r), 0);
	}
	lcfg(&cfg, "1/minute", WINDOW, 1, 0, 0);
	out = NULL;
	ck_assert_int_eq(fbx_limiter_register(box, "one-too-many", &cfg, &out), FBX_EFULL);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(fbx_limiter_find(box, "one-too-many", &out), FBX_ENOENT);
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		ck_assert_int_eq(fbx_limiter_register(box, name, &cfg, &out), 0);
		ck_assert_int_eq(take(out, NULL, 1, &r), FBX_ELIMITED);
	}
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	fbx_snapshot_limiters(s, &n);
	fbx_snapshot_free(s);
	ck_assert_uint_eq(n, cap);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * The key table
 * ==================================================================== */

/*
 * A table for 64 keys (128 entries) under 400 distinct live keys: the
 * keys figure never passes the table, every key past it evicts a live one
 * and is counted, and a new key always starts with a whole budget.  Two
 * periods later everything is expired: new keys reuse those entries and
 * nothing is counted as evicted.
 */
START_TEST(keytable_evictions)
{
	fbx_limit_result r;
	fbx_limiter_info li;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t keys1, ev1, k;
	char key[32];

	tclock_install();
	box = new_box(2, KT_KEYS);
	l = reg(box, "kt", "10/second", WINDOW, 1, 1, 0);
	tclock_set_ns(T0 + MS(300));
	for (k = 0; k < 400; k++) {
		snprintf(key, sizeof(key), "live-%llu", (ull)k);
		ck_assert_int_eq(take(l, key, 1, &r), 0);
		ck_assert_msg(r.remaining == 9, "key %llu starts with %llu left", (ull)k,
			      (ull)r.remaining);
		li = linfo(box, "kt");
		ck_assert_msg(li.keys <= KT_ENTRIES, "after %llu keys: keys %llu", (ull)k + 1,
			      (ull)li.keys);
		ck_assert_msg(li.keys + li.evictions == k + 1,
			      "after %llu keys: %llu held + %llu evicted", (ull)k + 1,
			      (ull)li.keys, (ull)li.evictions);
	}
	keys1 = li.keys;
	ev1 = li.evictions;
	ck_assert_uint_ge(keys1, KT_KEYS); /* at least what the box was made for */
	ck_assert_uint_eq(ev1, 400 - keys1);

	/* two periods on, every one of them has run out */
	tclock_set_ns(T0 + MS(300) + S(2));
	for (k = 0; k < KT_NEVER_CROWDED; k++) {
		snprintf(key, sizeof(key), "fresh-%llu", (ull)k);
		ck_assert_int_eq(take(l, key, 1, &r), 0);
		ck_assert_uint_eq(r.remaining, 9);
		li = linfo(box, "kt");
		ck_assert_msg(li.evictions == ev1,
			      "fresh key %llu: evictions %llu -> %llu, but every key it could "
			      "push out had expired",
			      (ull)k, (ull)ev1, (ull)li.evictions);
		ck_assert_uint_eq(li.keys, keys1);
	}
	/* 300 more now: at most the expired entries are free, the rest evict */
	for (k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "more-%llu", (ull)k);
		ck_assert_int_eq(take(l, key, 1, &r), 0);
		ck_assert_uint_eq(r.remaining, 9);
	}
	li = linfo(box, "kt");
	ck_assert_uint_eq(li.keys, keys1);
	ck_assert_uint_le(li.evictions - ev1, 300);
	ck_assert_uint_ge(li.evictions - ev1, 300 - (keys1 - KT_NEVER_CROWDED));
	fbx_box_close(box);
}
END_TEST

/* Limiters share the table; each counts its own keys, and one key string
 * in two limiters is two budgets. */
START_TEST(keytable_per_limiter)
{
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *a, *b;
	char key[16];
	int k;

	tclock_install();
	box = new_box(4, 1024);
	a = reg(box, "a", "1/minute", WINDOW, 1, 1, 0);
	b = reg(box, "b", "1/minute", GCRA, 1, 1, 0);
	tclock_set_ns(T0);
	for (k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "u%d", k);
		ck_assert_int_eq(take(a, key, 1, &r), 0);
		if (k < 4)
			ck_assert_int_eq(take(b, key, 1, &r), 0);
	}
	for (k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "u%d", k);
		ck_assert_int_eq(take(a, key, 1, &r), FBX_ELIMITED);
		ck_assert_int_eq(take(b, key, 1, &r), k < 4 ? FBX_ELIMITED : 0);
	}
	ck_assert_uint_eq(linfo(box, "a").keys, 10);
	ck_assert_uint_eq(linfo(box, "b").keys, 10);
	ck_assert_uint_eq(linfo(box, "a").evictions, 0);
	check_counts(box, "a", 10, 10, 0);
	check_counts(box, "b", 10, 4, 0);
	fbx_box_close(box);
}
END_TEST

/* ======================================================================
 * Error texts
 * ==================================================================== */

START_TEST(strerror_texts)
{
	const char *unknown = fbx_strerror(-9999);
	const char *t[19];
	int e, f;

	ck_assert_ptr_nonnull(unknown);
	ck_assert_uint_gt(strlen(unknown), 0);
	for (e = 0; e >= FBX_ERANGE; e--) {
		t[-e] = fbx_strerror(e);
		ck_assert_ptr_nonnull(t[-e]);
		ck_assert_msg(strlen(t[-e]) > 0, "fbx_strerror(%d) is empty", e);
		ck_assert_msg(strcmp(t[-e], unknown) != 0, "fbx_strerror(%d) is the unknown text",
			      e);
		for (f = 0; f > e; f--)
			ck_assert_msg(strcmp(t[-e], t[-f]) != 0, "codes %d and %d share a text", e, f);
	}
	ck_assert_uint_gt(strlen(fbx_strerror(1)), 0);
	ck_assert_uint_gt(strlen(fbx_strerror(FBX_ERANGE - 1)), 0);
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_WINDOW), "window");
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_GCRA), "gcra");
	ck_assert_str_eq(fbx_algorithm_name(2), "invalid");
	ck_assert_str_eq(fbx_algorithm_name(-1), "invalid");
}
END_TEST

/* The defaults the header promises. */
START_TEST(config_defaults)
{
	fbx_limiter_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	fbx_limiter_config_init(&cfg);
	ck_assert_ptr_null(cfg.rule);
	ck_assert_int_eq(cfg.algorithm, FBX_ALGO_WINDOW);
	ck_assert_uint_eq(cfg.burst, 1);
	ck_assert_int_eq(cfg.keyed, 0);
	ck_assert_int_eq(cfg.dry_run, 0);
	fbx_limiter_config_init(NULL); /* a no-op, not a crash */
}
END_TEST

/* On the real clock, a GCRA limit whose interval is long enough reads the
 * coarse clock, which lags by up to one tick; each interval is then padded
 * by a tick so that the limit holds in true time: with burst 1, a first
 * take's budget is whole again one padded interval later. */
START_TEST(gcra_coarse_clock_padded)
{
	struct timespec res;
	ck_assert_int_eq(clock_getres(CLOCK_MONOTONIC_COARSE, &res), 0);
	uint64_t tick = (uint64_t)res.tv_sec * 1000000000u + (uint64_t)res.tv_nsec;
	ck_assert_uint_le(tick, 500000000u / 64); /* else the precise clock is used */
	fbx_box *box = new_box(2, 16);
	fbx_limiter *l = reg(box, "pad", "2/second", FBX_ALGO_GCRA, 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(take(l, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.reset_ns, 500000000u + tick);
	ck_assert_int_eq(take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_uint_ge(r.retry_after_ns, 500000000u);
	fbx_box_close(box);
}
END_TEST

/* The keys a keyed limiter denies most, for `limiter show --top`: exact
 * while they fit, never undercounted once others push in. */
START_TEST(top_denied_keys)
{
	tclock_install();
	fbx_box *box = new_box(2, 64);
	fbx_limiter *l = reg(box, "top", "1/minute", FBX_ALGO_WINDOW, 1, 1, 0);
	fbx_limit_result r;
	const char *keys[] = {"alpha", "beta", "gamma"};
	const int denials[] = {5, 3, 1};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i <= denials[k]; i++)
			ck_assert_int_eq(take(l, keys[k], 1, &r), i == 0 ? 0 : FBX_ELIMITED);
	fbx_limiter_info li = linfo(box, "top");
	ck_assert_uint_eq(li.ntop, 3);
	for (int k = 0; k < 3; k++) {
		ck_assert_str_eq(li.top[k].key, keys[k]);
		ck_assert_uint_eq(li.top[k].denials, (uint64_t)denials[k]);
	}
	/* ten more keys, denied once each, push the least denied out */
	char name[32];
	for (int k = 0; k < 10; k++) {
		snprintf(name, sizeof(name), "other-%d", k);
		take(l, name, 1, &r);
		ck_assert_int_eq(take(l, name, 1, &r), FBX_ELIMITED);
	}
	li = linfo(box, "top");
	ck_assert_uint_eq(li.ntop, FBX_TOP_KEYS);
	ck_assert_str_eq(li.top[0].key, "alpha");
	ck_assert_uint_eq(li.top[0].denials, 5);
	for (uint32_t i = 1; i < li.ntop; i++)
		ck_assert_uint_ge(li.top[i - 1].denials, li.top[i].denials);
	/* what a key holds is shown printable, and cut visibly */
	fbx_limiter *b = reg(box, "bin", "1/minute", FBX_ALGO_WINDOW, 1, 1, 0);
	const char bin[] = {'k', 1, (char)0xff, 'z'};
	char longkey[80];
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (int i = 0; i < 2; i++) {
		fbx_limiter_take(b, bin, sizeof(bin), 1, &r);
		fbx_limiter_take(b, longkey, strlen(longkey), 1, &r);
	}
	li = linfo(box, "bin");
	ck_assert_uint_eq(li.ntop, 2);
	bool saw_bin = false, saw_long = false;
	for (uint32_t i = 0; i < li.ntop; i++) {
		saw_bin |= strcmp(li.top[i].key, "k??z") == 0;
		size_t n = strlen(li.top[i].key);
		saw_long |= n == FBX_TOP_KEY_TEXT - 1 + 3 &&
			    strcmp(li.top[i].key + n - 3, "...") == 0;
	}
	ck_assert(saw_bin);
	ck_assert(saw_long);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter)
{
	Suite *s = suite_create("limiter");
	TCase *tc;

	tc = tcase_create("window");
	tcase_add_loop_test(tc, window_basic, 0, (int)ARRAY_LEN(basic_rows));
	tcase_add_loop_test(tc, window_weighted_estimate, 0, (int)ARRAY_LEN(weight_rows));
	tcase_add_loop_test(tc, window_idle_refill, 0, (int)ARRAY_LEN(idle_rows));
	tcase_add_loop_test(tc, window_retry_after_admits, 0,
			    (int)ARRAY_LEN(window_retry_rows));
	tcase_add_loop_test(tc, window_aligned_bound, 0, (int)ARRAY_LEN(window_seq_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("multi");
	tcase_add_test(tc, multi_all_must_admit);
	tcase_add_loop_test(tc, multi_denial_consumes_nothing, 0, (int)ARRAY_LEN(multi_rows));
	tcase_add_loop_test(tc, multi_retry_after_covers_all, 0, (int)ARRAY_LEN(mretry_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("cost");
	tcase_add_loop_test(tc, weighted_takes, 0, (int)ARRAY_LEN(weighted_rows));
	tcase_add_loop_test(tc, cost_invalid, 0, (int)ARRAY_LEN(cost_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("gcra");
	tcase_add_loop_test(tc, gcra_pacing, 0, (int)ARRAY_LEN(pace_rows));
	tcase_add_loop_test(tc, gcra_burst, 0, (int)ARRAY_LEN(burst_rows));
	tcase_add_loop_test(tc, gcra_window_bound, 0, (int)ARRAY_LEN(gcra_seq_rows));
	tcase_add_loop_test(tc, gcra_retry_exact, 0, (int)ARRAY_LEN(gcra_seq_rows));
	tcase_add_loop_test(tc, gcra_cost_above_burst, 0, (int)ARRAY_LEN(gcra_big_rows));
	tcase_add_loop_test(tc, early_clock, 0, (int)ARRAY_LEN(early_rows));
	tcase_add_test(tc, gcra_coarse_clock_padded);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyed");
	tcase_add_loop_test(tc, keyed_separate_budgets, 0, (int)ARRAY_LEN(key_pairs));
	tcase_add_test(tc, keyed_long_keys);
	tcase_add_test(tc, top_denied_keys);
	tcase_add_test(tc, keyed_shared_across_handles);
	tcase_add_loop_test(tc, keyed_bad_args, 0, (int)ARRAY_LEN(keyarg_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("dry_run");
	tcase_add_loop_test(tc, dry_run_counts, 0, (int)ARRAY_LEN(dry_rows));
	tcase_add_test(tc, dry_run_switch_other_handle);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, set_rule_live, 0, (int)ARRAY_LEN(change_rows));
	tcase_add_loop_test(tc, set_rule_bad_keeps_old, 0, (int)ARRAY_LEN(badrule_rows));
	tcase_add_loop_test(tc, rule_canonical_in_snapshot, 0, (int)ARRAY_LEN(canon_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("register");
	tcase_add_test(tc, register_same_config_keeps_state);
	tcase_add_loop_test(tc, register_conflict, 0, (int)ARRAY_LEN(conflict_rows));
	tcase_add_loop_test(tc, register_bad_inputs, 0, (int)ARRAY_LEN(regbad_rows));
	tcase_add_test(tc, find_errors);
	tcase_add_loop_test(tc, register_full, 0, (int)ARRAY_LEN(full_caps));
	suite_add_tcase(s, tc);

	tc = tcase_create("keytable");
	tcase_add_test(tc, keytable_evictions);
	tcase_add_test(tc, keytable_per_limiter);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_test(tc, strerror_texts);
	tcase_add_test(tc, config_defaults);
	suite_add_tcase(s, tc);

	return s;
}
