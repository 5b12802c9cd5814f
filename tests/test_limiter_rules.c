/* test_limiter_rules.c — a limiter's rule: changed live (every handle
 * picks it up, nothing refilled), refused when bad (the old one stays),
 * and shown in canonical form.
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "live", row->old_rule, row->algo, row->burst, 0, 0);
	box2 = treopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "live", &other), 0);
	tclock_set_ns(T_DAY0);
	/* the other handle works under the old rule (and caches it) */
	for (used = 0; tlim_take(other, NULL, 1, &r) == 0; used++)
		ck_assert_uint_eq(r.limit, row->old_limit);
	ck_assert_uint_eq(r.limit, row->old_limit);
	ck_assert_uint_gt(used, 0);

	ck_assert_int_eq(fbx_limiter_set_rule(l, row->new_rule, NULL), 0);
	li = tlimiter_now(box2, "live");
	ck_assert_str_eq(li.rule, row->canon);
	ck_assert_int_eq(li.algorithm, row->algo);

	/* a rule change never refills: at the same instant, the other handle
	 * decides under the new limit with what was used so far */
	rc = tlim_take(other, NULL, 1, &r);
	ck_assert_uint_eq(r.limit, row->new_limit);
	if (row->new_limit <= row->old_limit)
		ck_assert_int_eq(rc, FBX_ELIMITED);
	/* and some time later, the new budget is whole: the limit at once
	 * for the window, the burst for GCRA */
	tclock_set_ns(T_DAY0 + T_DAY(3));
	for (i = 0; i < (row->algo == GCRA ? row->burst : row->new_limit); i++) {
		rc = tlim_take(other, NULL, 1, &r);
		ck_assert_msg(rc == 0, "%s -> %s: take %llu denied", row->old_rule, row->new_rule,
			      (ull)i + 1);
		ck_assert_uint_eq(r.limit, row->new_limit);
	}
	ck_assert_int_eq(tlim_take(other, NULL, 1, &r), FBX_ELIMITED);
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "keep", "3 per second", row->algo, 3, 0, 0);
	box2 = treopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "keep", &other), 0);
	tclock_set_ns(T_DAY0);
	ck_assert_int_eq(tlim_take(other, NULL, 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_set_rule(l, row->rule, NULL), row->rc);
	ck_assert_int_eq(fbx_limiter_set_rule(other, row->rule, NULL), row->rc);
	ck_assert_int_eq(fbx_limiter_set_rule(NULL, "5/second", NULL), FBX_EINVAL);
	ck_assert_str_eq(tlimiter_now(box, "keep").rule, "3/second");
	ck_assert_str_eq(tlimiter_now(box2, "keep").rule, "3/second");
	tclock_set_ns(T_DAY0 + T_DAY(1));
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(tlim_take(i % 2 ? l : other, NULL, 1, &r), 0);
		ck_assert_uint_eq(r.limit, 3);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
	}
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(tlim_take(other, NULL, 1, &r), FBX_ELIMITED);
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
	box = tlim_box(4, 64);
	l = tlim_reg(box, "canon", row->text, row->algo, row->burst, row->keyed, row->dry);
	li = tlimiter_now(box, "canon");
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
	ck_assert_int_eq(fbx_limiter_set_rule(l, "20 per 2 hours , 7/hr", NULL), 0);
	ck_assert_str_eq(tlimiter_now(box, "canon").rule, "20/2 hours;7/hour");
	fbx_box_close(box);
}
END_TEST

/* The events of box, counted: what a rule change recorded. */
static size_t event_count(fbx_box *box)
{
	fbx_event ev[32];
	size_t n = 0;
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, ev, 32, &n, &next), 0);
	return n;
}

/* Setting the rule in force, however it is spelled, changes nothing and
 * records nothing: "rule X -> X" in the audit trail hides the changes that
 * mattered.  A different rule is recorded. */
START_TEST(set_rule_same_records_nothing)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "same", "10/second;100/minute", WINDOW, 1, 0, 0);
	size_t n0 = event_count(box);
	ck_assert_int_eq(fbx_limiter_set_rule(l, "10/second;100/minute", "again"), 0);
	ck_assert_int_eq(fbx_limiter_set_rule(l, " 10 per second , 100/minutes", NULL), 0);
	ck_assert_uint_eq(event_count(box), n0);
	ck_assert_str_eq(tlimiter_now(box, "same").rule, "10/second;100/minute");
	ck_assert_int_eq(fbx_limiter_set_rule(l, "20/second", "more"), 0);
	ck_assert_uint_eq(event_count(box), n0 + 1);
	ck_assert_str_eq(tlimiter_now(box, "same").rule, "20/second");
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_rules)
{
	Suite *s = suite_create("limiter_rules");
	TCase *tc = tcase_create("rules");
	tcase_add_loop_test(tc, set_rule_live, 0, (int)ARRAY_LEN(change_rows));
	tcase_add_loop_test(tc, set_rule_bad_keeps_old, 0, (int)ARRAY_LEN(badrule_rows));
	tcase_add_loop_test(tc, rule_canonical_in_snapshot, 0, (int)ARRAY_LEN(canon_rows));
	tcase_add_test(tc, set_rule_same_records_nothing);
	suite_add_tcase(s, tc);
	return s;
}
