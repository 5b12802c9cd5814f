/* test_limiter_window.c — the sliding-window counter: the budget of one
 * window, the estimate across a boundary, refills after idleness, a
 * Retry-After that comes true, and the bound of a window aligned to the
 * clock.
 *
 * Every test substitutes the clock (tclock_install() before the box is
 * created) and moves it by hand: no sleeps, no timing thresholds. Long
 * "random" arrival sequences come from a fixed-seed LCG, so every run is
 * the same run. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define WINDOW FBX_ALGO_WINDOW

static const struct basic_row {
	const char *rule;
	uint64_t limit, period;
	uint64_t offset; /* where in the window the takes happen */
} basic_rows[] = {
	{ "5/second", 5, T_S(1), 0 },
	{ "5/second", 5, T_S(1), T_MS(250) },
	{ "5/second", 5, T_S(1), T_S(1) - 1 },
	{ "1/second", 1, T_S(1), T_MS(500) },
	{ "3/minute", 3, T_MIN(1), T_S(59) },
	{ "10/hour", 10, T_HOUR(1), T_MIN(17) },
	{ "7/2 minutes", 7, T_MIN(2), T_S(90) },
	{ "4/day", 4, T_DAY(1), T_HOUR(23) },
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "basic", row->rule, WINDOW, 1, 0, 0);
	ck_assert_str_eq(fbx_limiter_name(l), "basic");
	tclock_set_ns(T_DAY0 + row->offset);
	for (i = 0; i < row->limit; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: take %llu denied", row->rule, (ull)i + 1);
		ck_assert_uint_eq(r.limit, row->limit);
		ck_assert_uint_eq(r.remaining, row->limit - 1 - i);
		ck_assert_uint_eq(r.reset_ns, row->period - row->offset);
		ck_assert_int_eq(r.dry_run_denied, 0);
	}
	rc = tlim_take(l, NULL, 1, &r);
	tlim_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_uint_eq(r.limit, row->limit);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_uint_eq(r.reset_ns, row->period - row->offset);
	ck_assert_uint_gt(r.retry_after_ns, 0);
	/* never past the end of the next window: by then this one is gone */
	ck_assert_uint_le(r.retry_after_ns, 2 * row->period - row->offset + 1);

	rc = tlim_take(l, NULL, 1, &again);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_msg(tlim_same(&r, &again), "%s: a denial changed the figures", row->rule);
	tlim_counts(box, "basic", row->limit, 2, 0);
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
	{ "5/second", 5, T_S(1), 5, 1, 2 },     /* 2.5: 2 more */
	{ "5/second", 5, T_S(1), 5, 7, 8 },     /* 0.625: 4 more */
	{ "5/second", 5, T_S(1), 3, 0, 1 },     /* window start: prev counts whole */
	{ "5/second", 5, T_S(1), 0, 1, 2 },     /* nothing before: all 5 */
	{ "10/second", 10, T_S(1), 10, 3, 4 },  /* 2.5 */
	{ "100/minute", 100, T_MIN(1), 100, 1, 3 }, /* 66.67 */
	{ "100/minute", 100, T_MIN(1), 40, 1, 2 },  /* 20 (exact) */
	{ "2/day", 2, T_DAY(1), 2, 1, 2 },      /* 1 (exact) */
	{ "4/second", 4, T_S(1), 4, 1, 4 },     /* 3 (exact): 1 more */
	{ "10/second", 10, T_S(1), 10, 1, 10 }, /* 9 (exact): 1 more */
	{ "10/second", 10, T_S(1), 6, 1, 2 },   /* 3 (exact): 7 more */
	{ "6/minute", 6, T_MIN(1), 6, 1, 3 },   /* 4 (exact): 2 more */
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "weight", row->rule, WINDOW, 1, 0, 0);
	tclock_set_ns(T_DAY0 + row->period / 3);
	for (i = 0; i < row->prev; i++)
		ck_assert_int_eq(tlim_take(l, NULL, 1, &r), 0);

	at = row->period * row->num / row->den;
	ck_assert_uint_eq(at * row->den, row->period * row->num); /* exact ns */
	tclock_set_ns(T_DAY0 + row->period + at);
	/* in den-ths: limit - estimate */
	room = row->limit * row->den - row->prev * (row->den - row->num);
	k = room / row->den;
	for (i = 0; i < k; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
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
	rc = tlim_take(l, NULL, 1, &r);
	tlim_shape(rc, &r, row->rule);
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
	{ "5/second", 5, T_S(1), 0 },
	{ "5/second", 5, T_S(1), T_MS(999) },
	{ "5/second", 5, T_S(1), T_MS(400) + 7 },
	{ "20/minute", 20, T_MIN(1), T_S(59) + 999999999 },
	{ "3/hour", 3, T_HOUR(1), T_MIN(30) },
	{ "3/second;5/minute", 3, T_MIN(1), T_S(37) },
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
	box = tlim_box(4, 256);
	l = tlim_reg(box, "idle", row->rule, WINDOW, 1, 1, 0);
	tclock_set_ns(T_DAY0 + row->offset);
	for (n = 0; tlim_take(l, "k", 1, &r) == 0; n++)
		ck_assert_uint_le(n, row->limit);
	ck_assert_uint_eq(n, row->limit);

	tclock_set_ns(T_DAY0 + row->offset + 2 * row->period);
	for (i = 0; i < row->limit; i++) {
		rc = tlim_take(l, "k", 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: take %llu after idling denied", row->rule,
			      (ull)i + 1);
		ck_assert_uint_eq(r.limit, row->limit);
		ck_assert_uint_eq(r.remaining, row->limit - 1 - i);
	}
	ck_assert_int_eq(tlim_take(l, "k", 1, &r), FBX_ELIMITED);
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
	uint64_t period = trule_max_period(row->rule);
	fbx_limit_result r, r2;
	fbx_box *box;
	fbx_limiter *l;
	unsigned situations = 0;
	size_t a, b, f, w;
	char key[32];
	int rc;

	tclock_install();
	box = tlim_box(4, 4096);
	l = tlim_reg(box, "retry", row->rule, WINDOW, 1, 1, 0);
	for (a = 0; a < ARRAY_LEN(positions); a++)
	for (f = 0; f < 3; f++)
	for (w = 0; w < 2; w++)
	for (b = 0; b < ARRAY_LEN(positions); b++) {
		uint64_t t1 = T_DAY0 + pos_ns(&positions[a], period);
		uint64_t t2 = T_DAY0 + w * period + pos_ns(&positions[b], period);
		uint64_t n, budget = 0, guard;

		if (t2 < t1)
			continue;
		snprintf(key, sizeof(key), "s%u", situations++);
		tclock_set_ns(t1);
		/* f: nothing, half the budget, or all of it */
		if (f > 0) {
			for (n = 0; tlim_take(l, key, row->cost, &r) == 0; n++)
				ck_assert_uint_lt(n, 2000);
			budget = n;
			/* start again from a half-used window for f == 1 */
			if (f == 1) {
				snprintf(key, sizeof(key), "s%u", situations++);
				for (n = 0; n < budget / 2; n++)
					ck_assert_int_eq(tlim_take(l, key, row->cost, &r), 0);
			}
		}
		tclock_set_ns(t2);
		for (guard = 0; (rc = tlim_take(l, key, row->cost, &r)) == 0; guard++)
			ck_assert_uint_lt(guard, 2000);
		tlim_shape(rc, &r, row->rule);
		ck_assert_int_eq(rc, FBX_ELIMITED);
		ck_assert_msg(r.retry_after_ns <= 2 * period + 1,
			      "%s cost %u: retry-after %llu is beyond two windows", row->rule,
			      row->cost, (ull)r.retry_after_ns);
		tclock_set_ns(t2 + r.retry_after_ns);
		rc = tlim_take(l, key, row->cost, &r2);
		ck_assert_msg(rc == 0,
			      "%s cost %u: filled %s at %llu ns into the window, denied %llu ns "
			      "into window %llu with retry-after %llu ns; the retry at +%llu ns "
			      "was denied again (retry-after %llu, remaining %llu)",
			      row->rule, row->cost, f == 0 ? "nothing" : f == 1 ? "half" : "all",
			      (ull)(t1 - T_DAY0), (ull)(t2 - T_DAY0 - w * period), (ull)w,
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
static const struct tlim_seq window_seq_rows[] = {
	{ "5/second", WINDOW, 1, 1 },
	{ "10/second", WINDOW, 1, 3 },
	{ "3/second", WINDOW, 1, 1 },
	{ "100/minute", WINDOW, 1, 5 },
	{ "7/hour", WINDOW, 1, 2 },
};

START_TEST(window_aligned_bound)
{
	const struct tlim_seq *row = &window_seq_rows[_i];
	fbx_rule rule;
	fbx_box *box;
	struct tadm *adm;
	size_t n;
	uint64_t denied, best;

	adm = tlim_sequence_run(&box, "seq", row, 0x5eed0000u + (uint64_t)_i, 0, &rule, &n, &denied);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_gt(denied, 0);
	best = tmax_aligned(adm, n, rule.limit[0].period_ns);
	ck_assert_msg(best <= rule.limit[0].count, "%s: %llu admitted in one window",
		      row->rule, (ull)best);
	/* and the limiter is not simply shy: some window was filled */
	ck_assert_msg(best + row->max_cost > rule.limit[0].count,
		      "%s: at most %llu admitted in any window", row->rule, (ull)best);
	tlim_counts(box, "seq", n, denied, 0);
	free(adm);
	fbx_box_close(box);
}
END_TEST

/* A take whose clock reading is a hair stale, from just before a window
 * boundary that others have crossed, must not move the word back. */
START_TEST(stale_reading_never_moves_the_window_back)
{
	tclock_install();
	fbx_box *box = tbox_create(NULL);
	fbx_limiter *l = tlim_reg(box, "stale", "5/second", WINDOW, 1, 0, 0);
	uint64_t boundary = (tclock_ns() / T_S(1) + 10) * T_S(1);
	tclock_set_ns(boundary + T_MS(1));
	fbx_limit_result r;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), 0);
	tclock_set_ns(boundary - T_MS(1)); /* the preempted worker */
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), FBX_ELIMITED);
	tclock_set_ns(boundary + T_MS(2));
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), FBX_ELIMITED);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_window)
{
	Suite *s = suite_create("limiter_window");
	TCase *tc = tcase_create("window");
	tcase_add_loop_test(tc, window_basic, 0, (int)ARRAY_LEN(basic_rows));
	tcase_add_loop_test(tc, window_weighted_estimate, 0, (int)ARRAY_LEN(weight_rows));
	tcase_add_loop_test(tc, window_idle_refill, 0, (int)ARRAY_LEN(idle_rows));
	tcase_add_loop_test(tc, window_retry_after_admits, 0,
			    (int)ARRAY_LEN(window_retry_rows));
	tcase_add_loop_test(tc, window_aligned_bound, 0, (int)ARRAY_LEN(window_seq_rows));
	tcase_add_test(tc, stale_reading_never_moves_the_window_back);
	suite_add_tcase(s, tc);
	return s;
}
