/* test_limiter_cost.c — takes that cost more than 1: weighted takes count
 * their whole cost, and a cost of 0 or one no window can ever admit is an
 * error at once, never a denial.
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "weighted", row->rule, row->algo, row->burst, 0, 0);
	tclock_set_ns(T_DAY0);
	for (i = 0; i < STEPS_MAX && row->step[i].cost; i++) {
		rc = tlim_take(l, NULL, row->step[i].cost, &r);
		tlim_shape(rc, &r, row->rule);
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
	tlim_counts(box, "weighted", allowed, denied, 0);
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "cost", row->rule, row->algo, row->burst, row->keyed, 0);
	tclock_set_ns(T_DAY0);
	rc = tlim_take(l, key, row->cost, &r);
	ck_assert_msg(rc == row->rc, "%s cost %u: rc %d, want %d", row->rule, row->cost, rc,
		      row->rc);
	tlim_counts(box, "cost", 0, 0, 0);
	/* the budget is untouched */
	ck_assert_int_eq(tlim_take(l, key, 1, &r), 0);
	ck_assert_uint_eq(r.remaining, row->algo == GCRA ? row->burst - 1 : r.limit - 1);
	fbx_box_close(box);
}
END_TEST

/* With "100/second;50/minute", a cost of 60 can never be admitted: that
 * is FBX_ERANGE, not a denial with a Retry-After that never comes true. */
START_TEST(cost_above_any_limit_is_erange_up_front)
{
	tclock_install();
	fbx_box *box = tbox_create(NULL);
	fbx_limiter *l = tlim_reg(box, "multi", "100/second;50/minute", WINDOW, 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 60, &r), FBX_ERANGE);
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 50, &r), 0);
	ck_assert_uint_eq(r.remaining, 0);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_cost)
{
	Suite *s = suite_create("limiter_cost");
	TCase *tc = tcase_create("cost");
	tcase_add_loop_test(tc, weighted_takes, 0, (int)ARRAY_LEN(weighted_rows));
	tcase_add_loop_test(tc, cost_invalid, 0, (int)ARRAY_LEN(cost_rows));
	tcase_add_test(tc, cost_above_any_limit_is_erange_up_front);
	suite_add_tcase(s, tc);
	return s;
}
