/* test_limiter_gcra.c — the generic cell rate algorithm: pacing at the
 * emission interval, bursts, the bound over any window of the period,
 * exact Retry-After, costs above the burst, a clock read soon after boot,
 * the coarse clock's padding, and spans that would wrap.
 *
 * Every test substitutes the clock (tclock_install() before the box is
 * created) and moves it by hand: no sleeps, no timing thresholds.  Long
 * "random" arrival sequences come from a fixed-seed LCG, so every run is
 * the same run (all but gcra_coarse_clock_padded, which is about the real
 * clock). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define WINDOW FBX_ALGO_WINDOW
#define GCRA FBX_ALGO_GCRA

/* Burst 1: one call per emission interval T = period/limit (rounded up
 * when it does not divide: rounded down, limit + 1 calls would fit in one
 * period).  Exactly at T admitted, 1 ns earlier denied. */
static const struct pace_row {
	const char *rule;
	uint64_t limit, t;
} pace_rows[] = {
	{ "10/second", 10, T_MS(100) },
	{ "4/second", 4, T_MS(250) },
	{ "1/second", 1, T_S(1) },
	{ "60/minute", 60, T_S(1) },
	{ "5/hour", 5, T_MIN(12) },
	{ "1000/second", 1000, T_MS(1) },
	{ "3/second", 3, 333333334 },
	{ "7/second", 7, 142857143 },
};

START_TEST(gcra_pacing)
{
	const struct pace_row *row = &pace_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t t = T_DAY0 + 4321;
	int i, rc;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "pace", row->rule, GCRA, 1, 0, 0);
	tclock_set_ns(t);
	rc = tlim_take(l, NULL, 1, &r);
	tlim_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(r.limit, row->limit);
	ck_assert_uint_eq(r.remaining, 0);
	rc = tlim_take(l, NULL, 1, &r);
	tlim_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_msg(r.retry_after_ns == row->t, "%s: retry-after %llu, want %llu",
		      row->rule, (ull)r.retry_after_ns, (ull)row->t);
	for (i = 0; i < 20; i++) {
		tclock_set_ns(t + row->t - 1);
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_msg(rc == FBX_ELIMITED, "%s: call %d admitted 1 ns early", row->rule,
			      i + 2);
		ck_assert_uint_eq(r.retry_after_ns, 1);
		t += row->t;
		tclock_set_ns(t);
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: call %d denied at the emission interval", row->rule,
			      i + 2);
		ck_assert_uint_eq(r.reset_ns, row->t);
		ck_assert_uint_eq(r.remaining, 0);
	}
	tlim_counts(box, "pace", 21, 21, 0);
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
	uint64_t t = T_DAY0 + 99, interval;
	uint64_t resets[1000];
	uint32_t i;
	int rc;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "burst", row->rule, GCRA, row->burst, 0, 0);
	tclock_set_ns(t);
	for (i = 0; i < row->burst; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s burst %u: call %u denied", row->rule, row->burst, i + 1);
		ck_assert_uint_eq(r.remaining, row->burst - 1 - i);
		resets[i] = r.reset_ns;
	}
	rc = tlim_take(l, NULL, 1, &d);
	tlim_shape(rc, &d, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_uint_eq(d.remaining, 0);
	/* the budget is whole again one interval per call after the burst */
	interval = resets[0];
	for (i = 0; i < row->burst; i++)
		ck_assert_uint_eq(resets[i], (i + 1) * interval);
	ck_assert_uint_eq(d.reset_ns, row->burst * interval);

	tclock_set_ns(t + d.retry_after_ns - 1);
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_uint_eq(r.retry_after_ns, 1);
	tclock_set_ns(t + d.retry_after_ns);
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), 0);
	tlim_counts(box, "burst", row->burst + 1, 2, 0);
	fbx_box_close(box);
}
END_TEST

/*
 * The GCRA bound: whatever the arrivals, no window [s, s + period) ever
 * admits more than limit calls.  Clients that retry exactly at Retry-After
 * are part of the sequence: they are the ones that find rounding.
 */
static const struct tlim_seq gcra_seq_rows[] = {
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
	const struct tlim_seq *row = &gcra_seq_rows[_i];
	fbx_rule rule;
	fbx_box *box;
	struct tadm *adm;
	size_t n;
	uint64_t denied, best;

	adm = tlim_sequence_run(&box, "gseq", row, 0xfeed0000u + (uint64_t)_i, 0, &rule, &n, &denied);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_gt(denied, 0);
	/* the rule's rate sustained, the burst on top: count + burst - 1 at
	 * most in any period */
	best = tmax_sliding(adm, n, rule.limit[0].period_ns);
	ck_assert_msg(best <= rule.limit[0].count + row->burst - 1,
		      "%s burst %u: %llu admitted within one period", row->rule, row->burst,
		      (ull)best);
	tlim_counts(box, "gseq", n, denied, 0);
	free(adm);
	fbx_box_close(box);
}
END_TEST

/* At every denial of a long sequence: 1 ns before retry-after is still
 * denied (with retry-after 1), at retry-after the take is admitted. */
START_TEST(gcra_retry_exact)
{
	const struct tlim_seq *row = &gcra_seq_rows[_i];
	fbx_rule rule;
	fbx_box *box;
	struct tadm *adm;
	size_t n;
	uint64_t denied;

	if (row->max_cost > row->burst)
		return; /* such takes are the subject of gcra_cost_above_burst */
	adm = tlim_sequence_run(&box, "gretry", row, 0xbeef0000u + (uint64_t)_i, 1, &rule, &n, &denied);
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "big", row->rule, GCRA, row->burst, 0, 0);
	tclock_set_ns(T_DAY0);
	rc = tlim_take(l, NULL, row->cost, &r);
	if (rc == FBX_ERANGE) {
		fbx_box_close(box);
		return;
	}
	ck_assert_msg(rc == FBX_ELIMITED, "%s burst %u cost %u on a fresh budget: rc %d",
		      row->rule, row->burst, row->cost, rc);
	tclock_set_ns(T_DAY0 + r.retry_after_ns);
	rc = tlim_take(l, NULL, row->cost, &r);
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
	{ "100/hour", GCRA, 10, T_S(5) },
	{ "10/second", GCRA, 5, T_MS(100) },
	{ "1000/day", GCRA, 100, T_MIN(10) },
	{ "10/second", GCRA, 1, T_MS(1) },
	{ "100/hour", WINDOW, 1, T_S(5) },
	{ "10/second", WINDOW, 1, T_MS(100) },
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "early", row->rule, row->algo, row->burst, 0, 0);
	want = row->algo == GCRA ? row->burst : 10;
	for (i = 0; i < want; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		ck_assert_msg(rc == 0,
			      "%s %s burst %u at clock %llu ns: call %u denied, retry-after %llu",
			      row->rule, fbx_algorithm_name(row->algo), row->burst,
			      (ull)row->now, i + 1, (ull)r.retry_after_ns);
		tlim_shape(rc, &r, row->rule);
	}
	fbx_box_close(box);
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
	fbx_box *box = tlim_box(2, 16);
	fbx_limiter *l = tlim_reg(box, "pad", "2/second", FBX_ALGO_GCRA, 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.reset_ns, 500000000u + tick);
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_uint_ge(r.retry_after_ns, 500000000u);
	fbx_box_close(box);
}
END_TEST

/* A day-long emission interval with a burst in the millions would make
 * tau + T wrap 64 bits, admitting far more than the burst at once. */
START_TEST(gcra_span_that_would_wrap_is_refused)
{
	tclock_install();
	fbx_box *box = tbox_create(NULL);
	fbx_limiter_config c;
	tlim_config(&c, "1/day", GCRA, 16000000, 0, 0);
	fbx_limiter *l = NULL;
	ck_assert_int_eq(fbx_limiter_register(box, "wrap", &c, &l), FBX_ERANGE);
	c.burst = 1000; /* a day-long burst of 1000 is fine */
	ck_assert_int_eq(fbx_limiter_register(box, "wrap", &c, &l), 0);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_gcra)
{
	Suite *s = suite_create("limiter_gcra");
	TCase *tc = tcase_create("gcra");
	tcase_add_loop_test(tc, gcra_pacing, 0, (int)ARRAY_LEN(pace_rows));
	tcase_add_loop_test(tc, gcra_burst, 0, (int)ARRAY_LEN(burst_rows));
	tcase_add_loop_test(tc, gcra_window_bound, 0, (int)ARRAY_LEN(gcra_seq_rows));
	tcase_add_loop_test(tc, gcra_retry_exact, 0, (int)ARRAY_LEN(gcra_seq_rows));
	tcase_add_loop_test(tc, gcra_cost_above_burst, 0, (int)ARRAY_LEN(gcra_big_rows));
	tcase_add_loop_test(tc, early_clock, 0, (int)ARRAY_LEN(early_rows));
	tcase_add_test(tc, gcra_coarse_clock_padded);
	tcase_add_test(tc, gcra_span_that_would_wrap_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
