/* test_breaker_state.c — what a breaker tells about its state: rates
 * evaluated after every call, time in state, an open breaker whose trial
 * is due, and the operator's actions counted and remembered. */
#include <check.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h"

static fbx_box *box;

static void setup(void)
{
	tclock_install();
	box = tbox_create(NULL);
}

static void teardown(void)
{
	tbox_unlink(box);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

static fbx_breaker *rated(const char *name, uint32_t window_calls)
{
	fbx_breaker_config c;
	tbreaker_config_no_trip(&c);
	c.failure_rate_pct = 50;
	c.min_calls = 5;
	c.window_calls = window_calls;
	if (window_calls == 0)
		c.window_ns = T_S(10);
	return tbreaker_reg(box, name, &c);
}

/* resilience4j's order: three failures, then two successes; the fifth call
 * makes min_calls, the rate is 60% >= 50%, and it trips there — a success
 * is evaluated too.  Both window kinds. */
START_TEST(rates_evaluated_after_every_call)
{
	fbx_breaker *b = rated(_i ? "by-count" : "by-time", _i ? 10 : 0);
	const char *name = _i ? "by-count" : "by-time";
	tbreaker_outcomes(b, 0, 3, 0);
	ck_assert_int_eq(tbreaker_now(box, name).state, FBX_CLOSED);
	tbreaker_call(b, FBX_SUCCESS, 0);
	ck_assert_int_eq(tbreaker_now(box, name).state, FBX_CLOSED); /* 4 calls < 5 */
	tbreaker_call(b, FBX_SUCCESS, 0);
	fbx_breaker_info bi = tbreaker_now(box, name);
	ck_assert_int_eq(bi.state, FBX_OPEN);
	ck_assert_uint_eq(bi.trips, 1);
}
END_TEST

/* Successes alone never trip, whatever the window held before it closed. */
START_TEST(successes_below_the_rate_keep_it_closed)
{
	fbx_breaker *b = rated("fine", 0);
	tbreaker_outcomes(b, 3, 2, 0); /* 2 of 5: 40% */
	for (int i = 0; i < 50; i++) {
		tbreaker_call(b, FBX_SUCCESS, 0);
		tclock_advance_ms(100);
	}
	ck_assert_int_eq(tbreaker_now(box, "fine").state, FBX_CLOSED);
	/* Older successes leave the window while the failures stay: the rate
	 * rises with no new failure, and a success finds it over. */
	fbx_breaker *c = rated("aging", 0);
	tbreaker_outcomes(c, 4, 0, 0);
	tclock_advance_ms(6000);
	tbreaker_outcomes(c, 0, 3, 0); /* 3 of 7: 43% */
	ck_assert_int_eq(tbreaker_now(box, "aging").state, FBX_CLOSED);
	tclock_advance_ms(4500); /* the four successes have left */
	tbreaker_call(c, FBX_SUCCESS, 0); /* 3 of 4, under min_calls */
	ck_assert_int_eq(tbreaker_now(box, "aging").state, FBX_CLOSED);
	tbreaker_call(c, FBX_SUCCESS, 0); /* 3 of 5: 60% */
	ck_assert_int_eq(tbreaker_now(box, "aging").state, FBX_OPEN);
}
END_TEST

/* Time in state: from the last change, automatic or manual. */
START_TEST(time_in_state)
{
	/* a breaker added to a box made earlier is closed since it was added */
	tclock_advance_ms(7000);
	fbx_breaker *b = tbreaker_reg(box, "t", NULL);
	ck_assert_uint_eq(tbreaker_now(box, "t").state_age_ns, 0);
	tclock_advance_ms(2500);
	fbx_breaker_info bi = tbreaker_now(box, "t");
	ck_assert_uint_eq(bi.state_age_ns, T_MS(2500));
	tbreaker_outcomes(b, 0, 5, 0); /* trips */
	ck_assert_uint_eq(tbreaker_now(box, "t").state_age_ns, 0);
	tclock_advance_ms(1200);
	bi = tbreaker_now(box, "t");
	ck_assert_int_eq(bi.state, FBX_OPEN);
	ck_assert_uint_eq(bi.state_age_ns, T_MS(1200));
	ck_assert_int_eq(fbx_breaker_hold(b, "by hand"), 0);
	tclock_advance_ms(300);
	bi = tbreaker_now(box, "t");
	ck_assert_int_eq(bi.state, FBX_FORCED_CLOSED);
	ck_assert_uint_eq(bi.state_age_ns, T_MS(300));
}
END_TEST

/* An idle OPEN breaker whose period has passed says a trial is due; the
 * next call moves it to HALF_OPEN. */
START_TEST(idle_open_breaker_has_a_trial_due)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = T_S(5);
	fbx_breaker *b = tbreaker_reg(box, "idle", &c);
	tbreaker_call(b, FBX_FAILURE, 0);
	fbx_breaker_info bi = tbreaker_now(box, "idle");
	ck_assert_int_eq(bi.state, FBX_OPEN);
	ck_assert_int_eq(bi.trial_due, 0);
	ck_assert_uint_eq(bi.open_remaining_ns, T_S(5));
	tclock_advance_ms(5000);
	bi = tbreaker_now(box, "idle");
	ck_assert_int_eq(bi.state, FBX_OPEN);
	ck_assert_int_eq(bi.trial_due, 1);
	ck_assert_uint_eq(bi.open_remaining_ns, 0);
	tclock_advance_ms(60000); /* still, with no traffic */
	ck_assert_int_eq(tbreaker_now(box, "idle").trial_due, 1);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	bi = tbreaker_now(box, "idle");
	ck_assert_int_eq(bi.state, FBX_HALF_OPEN);
	ck_assert_int_eq(bi.trial_due, 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "idle").state, FBX_CLOSED);
}
END_TEST

/* Operator actions are counted by kind, and the last one is remembered:
 * who, when, what and why. */
START_TEST(manual_actions_counted_and_remembered)
{
	fbx_breaker *b = tbreaker_reg(box, "ops", NULL);
	fbx_breaker_info bi = tbreaker_now(box, "ops");
	ck_assert_int_eq(bi.operator_known, 0);
	ck_assert_int_eq(fbx_breaker_trip(b, "db failover"), 0);
	ck_assert_int_eq(fbx_breaker_trip(b, NULL), 0); /* forced-open already: not counted */
	ck_assert_int_eq(fbx_breaker_hold(b, "vendor says ok"), 0);
	ck_assert_int_eq(fbx_breaker_release(b, NULL), 0);
	tclock_advance_ms(700);
	ck_assert_int_eq(fbx_breaker_reset(b, "after the incident"), 0);
	tclock_advance_ms(250);
	bi = tbreaker_now(box, "ops");
	ck_assert_uint_eq(bi.manual_actions[0], 1);
	ck_assert_uint_eq(bi.manual_actions[1], 1);
	ck_assert_uint_eq(bi.manual_actions[2], 1);
	ck_assert_uint_eq(bi.manual_actions[3], 1);
	ck_assert_uint_eq(bi.trips, 0); /* automatic trips only */
	ck_assert_int_eq(bi.operator_known, 1);
	ck_assert_int_eq(bi.operator_cause, FBX_CAUSE_RESET);
	ck_assert_str_eq(bi.operator_reason, "after the incident");
	ck_assert_uint_eq(bi.operator_uid, (uint32_t)geteuid());
	ck_assert_int_eq(bi.operator_pid, (int32_t)getpid());
	ck_assert_uint_eq(bi.operator_age_ns, T_MS(250));
}
END_TEST

/* The events the ring holds, for counting what an action recorded. */
static size_t events_now(fbx_event *out, size_t cap)
{
	size_t n = 0;
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, out, cap, &n, &next), 0);
	return n;
}

/* An action that finds the breaker where it would put it changes nothing
 * (docs/DESIGN.md R12): a second trip without a reason must not erase the
 * incident's who, when and why, restart the time in state, or add
 * "forced-open -> forced-open" to the ring. */
START_TEST(an_action_that_changes_nothing_records_nothing)
{
	fbx_breaker *b = tbreaker_reg(box, "inc", NULL);
	fbx_event ev[16];
	ck_assert_int_eq(fbx_breaker_trip(b, "INC-1"), 0);
	size_t n0 = events_now(ev, 16);
	tclock_advance_ms(163000);
	ck_assert_int_eq(fbx_breaker_trip(b, NULL), 0);
	ck_assert_int_eq(fbx_breaker_trip(b, "another"), 0);
	fbx_breaker_info bi = tbreaker_now(box, "inc");
	ck_assert_int_eq(bi.state, FBX_FORCED_OPEN);
	ck_assert_uint_eq(bi.state_age_ns, T_S(163));
	ck_assert_int_eq(bi.operator_known, 1);
	ck_assert_int_eq(bi.operator_cause, FBX_CAUSE_TRIP);
	ck_assert_str_eq(bi.operator_reason, "INC-1");
	ck_assert_uint_eq(bi.operator_age_ns, T_S(163));
	ck_assert_uint_eq(bi.manual_actions[0], 1);
	ck_assert_uint_eq(events_now(ev, 16), n0);

	/* hold twice: the first hold's record stays */
	ck_assert_int_eq(fbx_breaker_hold(b, "vendor ok"), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_hold(b, NULL), 0);
	bi = tbreaker_now(box, "inc");
	ck_assert_int_eq(bi.state, FBX_FORCED_CLOSED);
	ck_assert_uint_eq(bi.state_age_ns, T_S(1));
	ck_assert_str_eq(bi.operator_reason, "vendor ok");
	ck_assert_uint_eq(bi.manual_actions[1], 1);
	ck_assert_uint_eq(events_now(ev, 16), n0 + 1);

	/* release of a breaker that is not forced: closed, then open */
	ck_assert_int_eq(fbx_breaker_release(b, "done"), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_release(b, "again"), 0);
	tbreaker_outcomes(b, 0, 5, 0); /* trips: open, automatically */
	ck_assert_int_eq(tbreaker_now(box, "inc").state, FBX_OPEN);
	size_t n1 = events_now(ev, 16);
	ck_assert_int_eq(fbx_breaker_release(b, "not forced"), 0);
	bi = tbreaker_now(box, "inc");
	ck_assert_int_eq(bi.state, FBX_OPEN);
	ck_assert_uint_eq(bi.manual_actions[2], 1);
	ck_assert_str_eq(bi.operator_reason, "done");
	ck_assert_uint_eq(events_now(ev, 16), n1);
}
END_TEST

/* Reset always acts: on a closed breaker it clears the consecutive
 * failures and the window and is recorded, but the state did not change,
 * so its age goes on. */
START_TEST(reset_of_a_closed_breaker_clears_and_is_recorded)
{
	fbx_breaker *b = rated("rc", 10);
	fbx_event ev[16];
	tbreaker_outcomes(b, 2, 1, 0);
	tclock_advance_ms(4000);
	fbx_breaker_info bi = tbreaker_now(box, "rc");
	ck_assert_int_eq(bi.state, FBX_CLOSED);
	ck_assert_uint_eq(bi.window_calls, 3);
	size_t n0 = events_now(ev, 16);
	ck_assert_int_eq(fbx_breaker_reset(b, "clean slate"), 0);
	bi = tbreaker_now(box, "rc");
	ck_assert_int_eq(bi.state, FBX_CLOSED);
	ck_assert_uint_eq(bi.window_calls, 0);
	ck_assert_uint_eq(bi.consecutive_failures, 0);
	ck_assert_uint_ge(bi.state_age_ns, T_S(4));
	ck_assert_uint_eq(bi.manual_actions[3], 1);
	ck_assert_int_eq(bi.operator_cause, FBX_CAUSE_RESET);
	ck_assert_str_eq(bi.operator_reason, "clean slate");
	ck_assert_uint_eq(events_now(ev, 16), n0 + 1);
	ck_assert_int_eq(ev[n0].cause, FBX_CAUSE_RESET);
	ck_assert_int_eq(ev[n0].from, FBX_CLOSED);
	ck_assert_int_eq(ev[n0].to, FBX_CLOSED);
}
END_TEST

/* Damage: a state start ahead of any reading is flagged; a torn operator
 * record reads as unknown, the breaker itself whole. */
START_TEST(scribbled_state_words)
{
	fbx_breaker *b = tbreaker_reg(box, "scr", NULL);
	ck_assert_int_eq(fbx_breaker_trip(b, "x"), 0);
	struct fbx__breaker_rec *r = &box->breakers[0];
	atomic_store(&r->op_reason[2], 0x4141414141414141ull);
	fbx_breaker_info bi = tbreaker_now(box, "scr");
	ck_assert_int_eq(bi.operator_known, 0);
	ck_assert_int_eq(bi.state, FBX_FORCED_OPEN);
	atomic_store(&r->since_ms, UINT64_MAX / 2);
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	const fbx_breaker_info *all = fbx_snapshot_breakers(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(all[0].corrupt, 1);
	fbx_snapshot_free(s);
}
END_TEST

FBX_TEST_SUITE(breaker_state)
{
	Suite *s = suite_create("breaker_state");
	TCase *tc = tcase_create("state");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, rates_evaluated_after_every_call, 0, 2);
	tcase_add_test(tc, successes_below_the_rate_keep_it_closed);
	tcase_add_test(tc, time_in_state);
	tcase_add_test(tc, idle_open_breaker_has_a_trial_due);
	tcase_add_test(tc, manual_actions_counted_and_remembered);
	tcase_add_test(tc, an_action_that_changes_nothing_records_nothing);
	tcase_add_test(tc, reset_of_a_closed_breaker_clears_and_is_recorded);
	tcase_add_test(tc, scribbled_state_words);
	suite_add_tcase(s, tc);
	return s;
}
