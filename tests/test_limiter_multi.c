/* test_limiter_multi.c — rules of several limits ("3/second;5/minute"):
 * every limit must admit a take, a denied take consumes nothing anywhere,
 * and Retry-After waits for all of them, under both algorithms.
 *
 * Every test substitutes the clock (tclock_install() before the box is
 * created) and moves it by hand: no sleeps, no timing thresholds. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define WINDOW FBX_ALGO_WINDOW
#define GCRA FBX_ALGO_GCRA

START_TEST(multi_all_must_admit)
{
	fbx_limit_result r, first;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t allowed = 0, denied = 0;
	int i, rc;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "multi", "3/second;5/minute", WINDOW, 1, 0, 0);
	tclock_set_ns(T_DAY0);
	/* the second limit is the tighter one: its figures */
	for (i = 0; i < 3; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, "3/second;5/minute");
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(r.limit, 3);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
		ck_assert_uint_eq(r.reset_ns, T_S(1));
		allowed++;
	}
	ck_assert_int_eq(tlim_take(l, NULL, 1, &first), FBX_ELIMITED);
	ck_assert_uint_eq(first.limit, 3);
	ck_assert_uint_eq(first.remaining, 0);
	denied++;
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
		ck_assert_msg(tlim_same(&first, &r), "denial %d changed the figures", i);
		denied++;
	}

	/* two seconds on the second limit is whole; the minute has 3 used
	 * (none by the denials): 2 more, and the minute is the tighter */
	tclock_set_ns(T_DAY0 + T_S(2));
	for (i = 0; i < 2; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, "3/second;5/minute");
		ck_assert_msg(rc == 0, "take %d at 2 s denied: the denials consumed", i);
		ck_assert_uint_eq(r.limit, 5);
		ck_assert_uint_eq(r.remaining, (uint64_t)(1 - i));
		ck_assert_uint_eq(r.reset_ns, T_S(58));
		allowed++;
	}
	/* The minute denies now.  The second limit admitted first, so it must
	 * get its cost back each time: if it did not, its 3rd would fill it and
	 * the denial would come from it (limit 3) instead. */
	ck_assert_int_eq(tlim_take(l, NULL, 1, &first), FBX_ELIMITED);
	ck_assert_uint_eq(first.limit, 5);
	ck_assert_uint_eq(first.remaining, 0);
	denied++;
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
		ck_assert_msg(r.limit == 5, "repeat %d denied by the %llu-limit: the second "
			      "limit kept the cost of denied takes", i, (ull)r.limit);
		ck_assert_msg(tlim_same(&first, &r), "minute denial %d changed the figures", i);
		denied++;
	}
	/* the 5/minute cap bites across seconds, whatever the second says */
	static const uint64_t later[] = { T_S(3), T_S(10), T_S(30), T_S(59), T_S(60) - 1 };
	for (i = 0; i < (int)ARRAY_LEN(later); i++) {
		tclock_set_ns(T_DAY0 + later[i]);
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, "3/second;5/minute");
		ck_assert_msg(rc == FBX_ELIMITED, "admitted at %llu ns into the minute",
			      (ull)later[i]);
		ck_assert_uint_eq(r.limit, 5);
		denied++;
	}
	/* at 72 s the last minute's 5 weigh 5 * 48/60 = 4: one more */
	tclock_set_ns(T_DAY0 + T_S(72));
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.limit, 5);
	ck_assert_uint_eq(r.remaining, 0);
	allowed++;
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
	denied++;
	tlim_counts(box, "multi", allowed, denied, 0);
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
	{ "3/second;5/minute", FBX_ALGO_LOG, 1 },
	{ "2/second;4/minute;6/hour", FBX_ALGO_LOG, 1 },
};

START_TEST(multi_denial_consumes_nothing)
{
	const struct multi_row *row = &multi_rows[_i];
	fbx_rule rule;
	fbx_limit_result r, again;
	fbx_box *box;
	fbx_limiter *l;
	struct tadm *adm;
	uint64_t seed = 0xabcdef12u + (uint64_t)_i, t = T_DAY0 + 777;
	uint64_t allowed = 0, denied = 0, max_count = 0, step_ns;
	size_t n = 0;
	uint32_t i;
	int step, k, rc;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "mdc", row->rule, row->algo, row->burst, 0, 0);
	ck_assert_int_eq(fbx_rule_parse(row->rule, &rule, NULL), 0);
	for (i = 0; i < rule.n; i++)
		if (rule.limit[i].count > max_count)
			max_count = rule.limit[i].count;
	step_ns = T_S(1) / 2;
	adm = calloc(3000, sizeof(*adm));
	ck_assert_ptr_nonnull(adm);
	for (step = 0; step < 3000; step++) {
		uint64_t x = trnd(&seed);
		/* GCRA never admits more than the burst at once */
		uint32_t cost = 1 + (uint32_t)(trnd(&seed) % (row->algo == GCRA ? row->burst : 2));

		if (x % 37 == 0)
			t += trnd(&seed) % T_MIN(30);
		else
			t += trnd(&seed) % step_ns;
		rc = tlim_take_at(l, t, cost, &r, row->rule);
		if (rc == 0) {
			adm[n].t = t;
			adm[n].cost = cost;
			n++;
			allowed++;
			continue;
		}
		denied++;
		for (k = 0; k <= (int)max_count; k++) {
			rc = tlim_take(l, NULL, cost, &again);
			ck_assert_msg(rc == FBX_ELIMITED && tlim_same(&r, &again),
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

		best = row->algo == WINDOW ? tmax_aligned(adm, n, p) : tmax_sliding(adm, n, p);
		/* GCRA: the rule's rate, the burst on top */
		ck_assert_msg(best <= rule.limit[i].count + (row->algo == GCRA ? row->burst - 1 : 0),
			      "%s %s: limit %u (%llu) admitted %llu in a window", row->rule,
			      fbx_algorithm_name(row->algo), i, (ull)rule.limit[i].count,
			      (ull)best);
	}
	tlim_counts(box, "mdc", allowed, denied, 0);
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
		uint64_t at; /* since T_DAY0 */
		int takes;
	} fill[2];
} mretry_rows[] = {
	/* the second is full and so is the minute */
	{ "2/second;4/minute", WINDOW, 1, { { 0, 2 }, { T_S(2), 2 } } },
	{ "4/minute;2/second", WINDOW, 1, { { 0, 2 }, { T_S(2), 2 } } },
	{ "3/second;5/minute;6/hour", WINDOW, 1, { { 0, 3 }, { T_S(120), 3 } } },
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "mretry", row->rule, row->algo, row->burst, 0, 0);
	for (f = 0; f < 2; f++) {
		tclock_set_ns(T_DAY0 + row->fill[f].at);
		for (k = 0; k < row->fill[f].takes; k++)
			ck_assert_msg(tlim_take(l, NULL, 1, &r) == 0, "%s: fill %d take %d denied",
				      row->rule, f, k);
	}
	rc = tlim_take(l, NULL, 1, &r);
	tlim_shape(rc, &r, row->rule);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	t = tclock_ns() + r.retry_after_ns;
	tclock_set_ns(t);
	rc = tlim_take(l, NULL, 1, &r2);
	ck_assert_msg(rc == 0,
		      "%s %s: denied by the %llu-limit with retry-after %llu ns; at that time "
		      "denied again by the %llu-limit (retry-after %llu ns more)",
		      row->rule, fbx_algorithm_name(row->algo), (ull)r.limit,
		      (ull)r.retry_after_ns, (ull)r2.limit, (ull)r2.retry_after_ns);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_multi)
{
	Suite *s = suite_create("limiter_multi");
	TCase *tc = tcase_create("multi");
	tcase_add_test(tc, multi_all_must_admit);
	tcase_add_loop_test(tc, multi_denial_consumes_nothing, 0, (int)ARRAY_LEN(multi_rows));
	tcase_add_loop_test(tc, multi_retry_after_covers_all, 0, (int)ARRAY_LEN(mretry_rows));
	suite_add_tcase(s, tc);
	return s;
}
