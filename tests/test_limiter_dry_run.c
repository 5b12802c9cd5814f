/* test_limiter_dry_run.c — dry-run mode: it counts the denials it would
 * make and denies nothing, and switching it, through any handle, changes
 * what every handle decides at once.
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "dry", row->rule, row->algo, row->burst, 0, 1);
	ck_assert_int_eq(tlimiter_now(box, "dry").dry_run, 1);
	tclock_set_ns(T_DAY0);
	for (i = 0; i < row->limit; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(r.dry_run_denied, 0);
	}
	for (i = 0; i < 4; i++) {
		rc = tlim_take(l, NULL, 1, &r);
		tlim_shape(rc, &r, row->rule);
		ck_assert_msg(rc == 0, "%s: dry-run denial returned %d", row->rule, rc);
		ck_assert_int_eq(r.allowed, 1);
		ck_assert_int_eq(r.dry_run_denied, 1);
		ck_assert_uint_eq(r.remaining, 0);
		ck_assert_uint_gt(r.retry_after_ns, 0);
	}
	tlim_counts(box, "dry", row->limit, 0, 4);

	/* live: the would-be denials consumed nothing, the real ones did */
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0, NULL), 0);
	ck_assert_int_eq(tlimiter_now(box, "dry").dry_run, 0);
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(r.dry_run_denied, 0);
	tlim_counts(box, "dry", row->limit, 1, 4);

	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 7, NULL), 0); /* any non-zero is on */
	ck_assert_int_eq(tlimiter_now(box, "dry").dry_run, 1);
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), 0);
	ck_assert_int_eq(r.dry_run_denied, 1);
	tlim_counts(box, "dry", row->limit, 1, 5);
	ck_assert_int_eq(fbx_limiter_set_dry_run(NULL, 1, NULL), FBX_EINVAL);
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "drysw", "2/minute", WINDOW, 1, 0, 0);
	box2 = treopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "drysw", &other), 0);
	tclock_set_ns(T_DAY0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(tlim_take(other, NULL, 1, &r), 0);
	ck_assert_int_eq(tlim_take(other, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1, NULL), 0);
	ck_assert_int_eq(tlim_take(other, NULL, 1, &r), 0);
	ck_assert_int_eq(r.dry_run_denied, 1);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0, NULL), 0);
	ck_assert_int_eq(tlim_take(other, NULL, 1, &r), FBX_ELIMITED);
	tlim_counts(box2, "drysw", 2, 2, 1);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

/* Dry run switched to what it is already records nothing: the ring keeps
 * the switch that mattered, and whoever reads it sees when it began. */
START_TEST(dry_run_same_records_nothing)
{
	fbx_event ev[32];
	size_t n0, n;
	uint64_t next;

	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "drysame", "2/minute", WINDOW, 1, 0, 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0, "off already"), 0);
	ck_assert_int_eq(fbx_events_read(box, 0, ev, 32, &n0, &next), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1, "INC-7"), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1, NULL), 0);
	ck_assert_int_eq(fbx_events_read(box, 0, ev, 32, &n, &next), 0);
	ck_assert_uint_eq(n, n0 + 1);
	ck_assert_int_eq(ev[n - 1].cause, FBX_CAUSE_DRY_RUN_ON);
	ck_assert_str_eq(ev[n - 1].reason, "INC-7");
	ck_assert_int_eq(tlimiter_now(box, "drysame").dry_run, 1);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_dry_run)
{
	Suite *s = suite_create("limiter_dry_run");
	TCase *tc = tcase_create("dry_run");
	tcase_add_loop_test(tc, dry_run_counts, 0, (int)ARRAY_LEN(dry_rows));
	tcase_add_test(tc, dry_run_switch_other_handle);
	tcase_add_test(tc, dry_run_same_records_nothing);
	suite_add_tcase(s, tc);
	return s;
}
