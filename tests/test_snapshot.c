/* test_snapshot.c — what a snapshot shows after known operations:
 * breaker and limiter figures, each transition's cause, state names,
 * operator states; and the arguments the snapshot calls refuse. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define MS 1000000ull
#define SEC 1000000000ull

static const fbx_breaker_info *only_breaker(fbx_box *box, fbx_snapshot *s)
{
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(bi->corrupt, 0);
	return bi;
}

START_TEST(breaker_figures)
{
	tclock_install();
	uint64_t t0 = tclock_ns();
	fbx_box *box = tsnap_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	cfg.fail_max = 3;
	cfg.reset_timeout_ns = 10 * SEC;
	cfg.half_open_max = 2;
	cfg.success_threshold = 2;
	cfg.slow_call_ns = 50 * MS;
	cfg.trial_lease_ns = 30 * SEC;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "api", &cfg, &b), 0);
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);

	const fbx_breaker_info *bi = only_breaker(box, s);
	ck_assert_str_eq(bi->name, "api");
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_str_eq(fbx_breaker_state_name(bi->state), "closed");
	ck_assert_ptr_null(fbx_breaker_config_diff(&bi->config, &cfg));
	ck_assert_uint_eq(bi->successes + bi->failures + bi->ignored + bi->slow + bi->rejected +
				  bi->trips + bi->consecutive_failures,
			  0);
	ck_assert_uint_eq(fbx_snapshot_time(s), t0);

	tbreaker_call(b, FBX_SUCCESS, 0);
	tbreaker_call(b, FBX_SUCCESS, 0);
	tbreaker_call(b, FBX_IGNORED, 0);
	tbreaker_call(b, FBX_SUCCESS, 60 * MS); /* slow */
	tbreaker_call(b, FBX_FAILURE, 0);
	tbreaker_call(b, FBX_FAILURE, 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->successes, 3);
	ck_assert_uint_eq(bi->failures, 2);
	ck_assert_uint_eq(bi->ignored, 1);
	ck_assert_uint_eq(bi->slow, 1);
	ck_assert_uint_eq(bi->rejected, 0);
	ck_assert_uint_eq(bi->trips, 0);
	ck_assert_uint_eq(bi->consecutive_failures, 2);
	ck_assert_uint_eq(bi->open_remaining_ns, 0);
	ck_assert_uint_eq(bi->generation, 0);

	/* the third failure in a row trips it */
	tbreaker_call(b, FBX_FAILURE, 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_OPEN);
	ck_assert_str_eq(fbx_breaker_state_name(bi->state), "open");
	ck_assert_uint_eq(bi->failures, 3);
	ck_assert_uint_eq(bi->trips, 1);
	ck_assert_uint_eq(bi->open_streak, 1);
	ck_assert_uint_eq(bi->generation, 1);
	ck_assert_uint_eq(bi->open_remaining_ns, 10 * SEC);

	fbx_permit p, p1, p2;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
		ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
		ck_assert_uint_eq(p.retry_after_ns, 10 * SEC);
	}
	tclock_advance_ms(4000);
	bi = only_breaker(box, s);
	ck_assert_uint_eq(bi->rejected, 2);
	ck_assert_uint_eq(bi->open_remaining_ns, 6 * SEC);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_uint_eq(p.retry_after_ns, 6 * SEC);

	/* open period over: two trials at most */
	tclock_advance_ms(6000);
	ck_assert_int_eq(fbx_breaker_allow(b, &p1), 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_HALF_OPEN);
	ck_assert_str_eq(fbx_breaker_state_name(bi->state), "half_open");
	ck_assert_uint_eq(bi->half_open_in_flight, 1);
	ck_assert_uint_eq(bi->open_remaining_ns, 0);
	ck_assert_int_eq(fbx_breaker_allow(b, &p2), 0);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_HALF_OPEN_FULL);
	bi = only_breaker(box, s);
	ck_assert_uint_eq(bi->half_open_in_flight, 2);
	ck_assert_uint_eq(bi->rejected, 4);

	ck_assert_int_eq(fbx_breaker_done(b, &p1, FBX_SUCCESS, 0), 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_HALF_OPEN);
	ck_assert_uint_eq(bi->half_open_in_flight, 1);
	ck_assert_int_eq(fbx_breaker_done(b, &p2, FBX_SUCCESS, 0), 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->half_open_in_flight, 0);
	ck_assert_uint_eq(bi->open_streak, 0);
	ck_assert_uint_eq(bi->generation, 3);
	ck_assert_uint_eq(bi->successes, 5);
	ck_assert_uint_eq(bi->failures, 3);
	ck_assert_uint_eq(bi->trips, 1);
	ck_assert_uint_eq(bi->consecutive_failures, 0);
	ck_assert_uint_eq(fbx_snapshot_time(s), t0 + 10 * SEC);

	/* the story, in events */
	static const struct {
		int kind, cause, from, to;
		uint64_t at;
	} want[] = {
		{ FBX_EV_REGISTER, FBX_CAUSE_CREATED, -1, FBX_CLOSED, 0 },
		{ FBX_EV_TRANSITION, FBX_CAUSE_FAIL_MAX, FBX_CLOSED, FBX_OPEN, 0 },
		{ FBX_EV_TRANSITION, FBX_CAUSE_TIMEOUT, FBX_OPEN, FBX_HALF_OPEN, 10 * SEC },
		{ FBX_EV_TRANSITION, FBX_CAUSE_TRIALS_OK, FBX_HALF_OPEN, FBX_CLOSED, 10 * SEC },
	};
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, ARRAY_LEN(want));
	ck_assert_uint_eq(dropped, 0);
	tevents_in_order(ev, ne, 0);
	for (size_t i = 0; i < ne; i++) {
		ck_assert_int_eq(ev[i].corrupt, 0);
		ck_assert_int_eq(ev[i].kind, want[i].kind);
		ck_assert_int_eq(ev[i].cause, want[i].cause);
		ck_assert_int_eq(ev[i].from, want[i].from);
		ck_assert_int_eq(ev[i].to, want[i].to);
		ck_assert_uint_eq(ev[i].time_ns, t0 + want[i].at);
		ck_assert_int_eq(ev[i].record_type, FBX_REC_BREAKER);
		ck_assert_uint_eq(ev[i].record, 0);
		ck_assert_str_eq(ev[i].name, "api");
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/*
 * Each automatic transition and its cause, driven by a tiny script:
 *   S success  F failure  W slow success (1 s)   — allow + done in CLOSED
 *   A allow and keep the permit (a rejection keeps nothing)
 *   d / x  done(SUCCESS / FAILURE) on the oldest kept permit
 *   z  advance past the open period   l  advance past the trial lease
 */
static const struct cause_case {
	const char *what;
	uint32_t fail_max, failure_rate_pct, slow_rate_pct, window_calls, min_calls;
	uint32_t success_threshold;
	const char *script;
	int cause, from, to, state;
	uint32_t streak;
} cause_cases[] = {
	{ "fail_max", 3, 0, 0, 0, 1, 1, "SFFF", FBX_CAUSE_FAIL_MAX, FBX_CLOSED, FBX_OPEN,
	  FBX_OPEN, 1 },
	{ "failure rate, count window", 0, 50, 0, 10, 4, 1, "SFSF", FBX_CAUSE_FAILURE_RATE,
	  FBX_CLOSED, FBX_OPEN, FBX_OPEN, 1 },
	{ "failure rate, time window", 0, 50, 0, 0, 4, 1, "SFSF", FBX_CAUSE_FAILURE_RATE,
	  FBX_CLOSED, FBX_OPEN, FBX_OPEN, 1 },
	{ "slow rate", 0, 0, 50, 4, 2, 1, "SW", FBX_CAUSE_SLOW_RATE, FBX_CLOSED, FBX_OPEN,
	  FBX_OPEN, 1 },
	{ "timeout", 3, 0, 0, 0, 1, 1, "FFFzA", FBX_CAUSE_TIMEOUT, FBX_OPEN, FBX_HALF_OPEN,
	  FBX_HALF_OPEN, 1 },
	{ "trial failed", 3, 0, 0, 0, 1, 1, "FFFzAx", FBX_CAUSE_TRIAL_FAILED, FBX_HALF_OPEN,
	  FBX_OPEN, FBX_OPEN, 2 },
	{ "trial failed after a success", 3, 0, 0, 0, 1, 2, "FFFzAAdx", FBX_CAUSE_TRIAL_FAILED,
	  FBX_HALF_OPEN, FBX_OPEN, FBX_OPEN, 2 },
	{ "trial lease expired", 3, 0, 0, 0, 1, 1, "FFFzAlA", FBX_CAUSE_TRIAL_LEASE,
	  FBX_HALF_OPEN, FBX_OPEN, FBX_OPEN, 2 },
	{ "trials succeeded", 3, 0, 0, 0, 1, 1, "FFFzAd", FBX_CAUSE_TRIALS_OK, FBX_HALF_OPEN,
	  FBX_CLOSED, FBX_CLOSED, 0 },
};

START_TEST(transition_causes)
{
	const struct cause_case *t = &cause_cases[_i];
	tclock_install();
	fbx_box *box = tsnap_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	cfg.fail_max = t->fail_max;
	cfg.failure_rate_pct = t->failure_rate_pct;
	cfg.slow_rate_pct = t->slow_rate_pct;
	cfg.slow_call_ns = t->slow_rate_pct ? 100 * MS : 0;
	cfg.window_calls = t->window_calls;
	cfg.window_ns = 10 * SEC;
	cfg.min_calls = t->min_calls;
	cfg.reset_timeout_ns = 10 * SEC;
	cfg.half_open_max = 2;
	cfg.success_threshold = t->success_threshold;
	cfg.trial_lease_ns = 30 * SEC;
	const char *why = NULL;
	ck_assert_msg(fbx_breaker_config_check(&cfg, &why) == 0, "%s: config %s", t->what, why);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "b", &cfg, &b), 0);

	fbx_permit kept[4];
	size_t nk = 0, first = 0;
	for (const char *op = t->script; *op; op++) {
		fbx_permit p;
		switch (*op) {
		case 'S': tbreaker_call(b, FBX_SUCCESS, 0); break;
		case 'F': tbreaker_call(b, FBX_FAILURE, 0); break;
		case 'W': tbreaker_call(b, FBX_SUCCESS, 1 * SEC); break;
		case 'A':
			if (fbx_breaker_allow(b, &p) == 0)
				kept[nk++] = p;
			break;
		case 'd':
		case 'x':
			ck_assert_uint_lt(first, nk);
			ck_assert_int_eq(fbx_breaker_done(b, &kept[first++],
							  *op == 'd' ? FBX_SUCCESS : FBX_FAILURE, 0),
					 0);
			break;
		case 'z': tclock_advance_ms(10001); break;
		case 'l': tclock_advance_ms(30001); break;
		}
	}
	fbx_snapshot *s = tsnap_of(box);
	size_t nb, ne;
	uint64_t dropped;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	ck_assert_uint_eq(nb, 1);
	ck_assert_msg(bi->state == (fbx_breaker_state)t->state, "%s: state %s, want %s", t->what,
		      fbx_breaker_state_name(bi->state), fbx_breaker_state_name(t->state));
	ck_assert_msg(bi->open_streak == t->streak, "%s: streak %u", t->what, bi->open_streak);
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_ge(ne, 2);
	tevents_in_order(ev, ne, 0);
	const fbx_event *last = &ev[ne - 1];
	ck_assert_int_eq(last->corrupt, 0);
	ck_assert_int_eq(last->kind, FBX_EV_TRANSITION);
	ck_assert_msg(last->cause == (fbx_event_cause)t->cause, "%s: cause %s, want %s", t->what,
		      fbx_event_cause_name(last->cause), fbx_event_cause_name(t->cause));
	ck_assert_int_eq(last->from, t->from);
	ck_assert_int_eq(last->to, t->to);
	ck_assert_str_eq(last->name, "b");
	ck_assert_uint_eq(last->time_ns, tclock_ns());
	/* every event of the run is a whole one, and transitions chain */
	for (size_t i = 1; i < ne; i++) {
		ck_assert_int_eq(ev[i].corrupt, 0);
		ck_assert_int_eq(ev[i].kind, FBX_EV_TRANSITION);
		ck_assert_int_eq(ev[i].from, ev[i - 1].to);
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

static const struct state_name {
	int state;
	const char *name;
} state_names[] = {
	{ FBX_CLOSED, "closed" },
	{ FBX_OPEN, "open" },
	{ FBX_HALF_OPEN, "half_open" },
	{ FBX_FORCED_OPEN, "forced_open" },
	{ FBX_FORCED_CLOSED, "forced_closed" },
	{ FBX_BREAKER_STATE_COUNT, "invalid" },
	{ 0xf, "invalid" },
	{ -1, "invalid" },
};

START_TEST(state_name)
{
	ck_assert_str_eq(fbx_breaker_state_name(state_names[_i].state), state_names[_i].name);
}
END_TEST

/* Operator overrides as the snapshot shows them; automation leaves them be. */
START_TEST(manual_states)
{
	tclock_install();
	fbx_box *box = tsnap_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	cfg.fail_max = 3;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "m", &cfg, &b), 0);
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);

	tbreaker_call(b, FBX_FAILURE, 0);
	tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(fbx_breaker_trip(b, "db failover"), 0);
	const fbx_breaker_info *bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_FORCED_OPEN);
	ck_assert_str_eq(fbx_breaker_state_name(bi->state), "forced_open");
	ck_assert_uint_eq(bi->open_remaining_ns, 0);
	ck_assert_uint_eq(bi->consecutive_failures, 0);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_FORCED_OPEN);
	ck_assert_uint_eq(p.retry_after_ns, 0);
	tclock_advance_ms(3600 * 1000); /* no open period ends a forced state */
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_FORCED_OPEN);
	ck_assert_uint_eq(bi->rejected, 2);

	ck_assert_int_eq(fbx_breaker_hold(b, NULL), 0);
	uint64_t trips = only_breaker(box, s)->trips;
	for (int i = 0; i < 5; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_FORCED_CLOSED);
	ck_assert_str_eq(fbx_breaker_state_name(bi->state), "forced_closed");
	ck_assert_uint_eq(bi->failures, 7);
	ck_assert_uint_eq(bi->trips, trips); /* failures did not trip it */

	ck_assert_int_eq(fbx_breaker_release(b, "done"), 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->consecutive_failures, 0);
	tbreaker_call(b, FBX_FAILURE, 0);
	tbreaker_call(b, FBX_FAILURE, 0);
	bi = only_breaker(box, s);
	ck_assert_uint_eq(bi->consecutive_failures, 2);
	ck_assert_int_eq(fbx_breaker_reset(b, NULL), 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->consecutive_failures, 0);
	ck_assert_uint_eq(bi->failures, 9); /* lifetime totals stay */
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(limiter_figures)
{
	tclock_install();
	fbx_box *box = tsnap_box(NULL);
	static const struct {
		const char *name, *rule, *canon;
		fbx_algorithm algo;
		uint32_t burst;
		int keyed, dry_run;
		uint64_t count, period;
	} lims[] = {
		{ "glob", "3 per minute", "3/minute", FBX_ALGO_WINDOW, 1, 0, 0, 3, 60 * SEC },
		{ "keyed", "2/minute", "2/minute", FBX_ALGO_WINDOW, 1, 1, 0, 2, 60 * SEC },
		{ "dry", "1/minute", "1/minute", FBX_ALGO_WINDOW, 1, 0, 1, 1, 60 * SEC },
		{ "gcra", "10/second", "10/second", FBX_ALGO_GCRA, 5, 0, 0, 10, SEC },
	};
	fbx_limiter *l[ARRAY_LEN(lims)];
	for (size_t i = 0; i < ARRAY_LEN(lims); i++) {
		fbx_limiter_config c;
		fbx_limiter_config_init(&c);
		c.rule = lims[i].rule;
		c.algorithm = lims[i].algo;
		c.burst = lims[i].burst;
		c.keyed = lims[i].keyed;
		c.dry_run = lims[i].dry_run;
		ck_assert_int_eq(fbx_limiter_register(box, lims[i].name, &c, &l[i]), 0);
	}
	fbx_limit_result r;
	int allowed = 0;
	for (int i = 0; i < 5; i++)
		allowed += fbx_limiter_take(l[0], NULL, 0, 1, &r) == 0;
	ck_assert_int_eq(allowed, 3);
	static const char *const keys[] = {"a", "a", "a", "b", "c"};
	allowed = 0;
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		allowed += fbx_limiter_take(l[1], keys[i], 1, 1, &r) == 0;
	ck_assert_int_eq(allowed, 4);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fbx_limiter_take(l[2], NULL, 0, 1, &r), 0);
		ck_assert_int_eq(r.dry_run_denied, i > 0);
	}
	allowed = 0;
	for (int i = 0; i < 6; i++)
		allowed += fbx_limiter_take(l[3], NULL, 0, 1, &r) == 0;
	ck_assert_int_eq(allowed, 5);

	static const struct {
		uint64_t allowed, denied, dry, keys;
	} want[] = { { 3, 2, 0, 0 }, { 4, 1, 0, 3 }, { 1, 0, 2, 0 }, { 5, 1, 0, 0 } };
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
	ck_assert_uint_eq(n, ARRAY_LEN(lims));
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(li[i].name, lims[i].name);
		ck_assert_int_eq(li[i].corrupt, 0);
		ck_assert_str_eq(li[i].rule, lims[i].canon);
		ck_assert_uint_eq(li[i].parsed.n, 1);
		ck_assert_uint_eq(li[i].parsed.limit[0].count, lims[i].count);
		ck_assert_uint_eq(li[i].parsed.limit[0].period_ns, lims[i].period);
		ck_assert_int_eq(li[i].algorithm, lims[i].algo);
		ck_assert_uint_eq(li[i].burst, lims[i].burst);
		ck_assert_int_eq(li[i].keyed, lims[i].keyed);
		ck_assert_int_eq(li[i].dry_run, lims[i].dry_run);
		ck_assert_msg(li[i].allowed == want[i].allowed, "%s: allowed %llu", lims[i].name,
			      (unsigned long long)li[i].allowed);
		ck_assert_msg(li[i].denied == want[i].denied, "%s: denied %llu", lims[i].name,
			      (unsigned long long)li[i].denied);
		ck_assert_uint_eq(li[i].dry_run_denied, want[i].dry);
		ck_assert_msg(li[i].keys == want[i].keys, "%s: keys %llu", lims[i].name,
			      (unsigned long long)li[i].keys);
		ck_assert_uint_eq(li[i].evictions, 0);
	}
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_WINDOW), "window");
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_GCRA), "gcra");
	ck_assert_str_eq(fbx_algorithm_name(7), "invalid");

	/* a live rule change and dry-run switch show in the next copy */
	ck_assert_int_eq(fbx_limiter_set_rule(l[0], "5/second;100/minute", NULL), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l[2], 0, NULL), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	li = fbx_snapshot_limiters(s, &n);
	ck_assert_str_eq(li[0].rule, "5/second;100/minute");
	ck_assert_uint_eq(li[0].parsed.n, 2);
	ck_assert_uint_eq(li[0].allowed, 3);
	ck_assert_int_eq(li[2].dry_run, 0);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/* A snapshot can be taken again and again; each copy is of its moment. */
START_TEST(repeated_take)
{
	tclock_install();
	fbx_box *box = tsnap_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "r", &cfg, &b), 0);
	fbx_snapshot *s = tsnap_of(box);
	for (uint64_t i = 1; i <= 5; i++) {
		tbreaker_call(b, FBX_SUCCESS, 0);
		tclock_advance_ms(250);
		const fbx_breaker_info *bi = only_breaker(box, s);
		ck_assert_uint_eq(bi->successes, i);
		ck_assert_uint_eq(fbx_snapshot_time(s), tclock_ns());
	}
	fbx_breaker *b2;
	ck_assert_int_eq(fbx_breaker_register(box, "r2", &cfg, &b2), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	size_t n;
	fbx_snapshot_breakers(s, &n);
	ck_assert_uint_eq(n, 2);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(snapshot_arguments)
{
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(NULL, &s), FBX_EINVAL);
	fbx_box *box = tsnap_box(NULL);
	ck_assert_int_eq(fbx_snapshot_new(box, NULL), FBX_EINVAL);
	s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(NULL, s), FBX_EINVAL);
	ck_assert_int_eq(fbx_snapshot_take(box, NULL), FBX_EINVAL);
	fbx_snapshot_free(NULL);

	/* a snapshot allocated for one box does not fit another */
	static const size_t offs[] = {
		offsetof(fbx_box_config, breakers),
		offsetof(fbx_box_config, limiters),
		offsetof(fbx_box_config, events),
	};
	for (size_t i = 0; i < ARRAY_LEN(offs); i++) {
		fbx_box_config cfg;
		tbox_config_snap(&cfg);
		uint32_t v;
		memcpy(&v, (char *)&cfg + offs[i], 4);
		v *= 2;
		memcpy((char *)&cfg + offs[i], &v, 4);
		fbx_box *other = tsnap_box(&cfg);
		ck_assert_int_eq(fbx_snapshot_take(other, s), FBX_EINVAL);
		fbx_snapshot *bigger = NULL;
		ck_assert_int_eq(fbx_snapshot_new(other, &bigger), 0);
		ck_assert_int_eq(fbx_snapshot_take(box, bigger), FBX_EINVAL);
		ck_assert_int_eq(fbx_snapshot_take(other, bigger), 0);
		fbx_snapshot_free(bigger);
		fbx_box_close(other);
	}
	/* still good for its own box */
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);

	/* accessors on NULL */
	size_t n = 7;
	uint64_t dropped = 7;
	ck_assert_ptr_null(fbx_snapshot_breakers(NULL, &n));
	ck_assert_uint_eq(n, 0);
	n = 7;
	ck_assert_ptr_null(fbx_snapshot_limiters(NULL, &n));
	ck_assert_uint_eq(n, 0);
	n = 7;
	ck_assert_ptr_null(fbx_snapshot_events(NULL, &n, &dropped));
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(fbx_snapshot_time(NULL), 0);
	/* the counts are optional */
	ck_assert_ptr_nonnull(fbx_snapshot_breakers(s, NULL));
	ck_assert_ptr_nonnull(fbx_snapshot_events(s, NULL, NULL));
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/* An empty box: zero of everything, no event. */
START_TEST(empty_box)
{
	fbx_box *box = tsnap_box(NULL);
	fbx_snapshot *s = tsnap_of(box);
	size_t nb = 9, nl = 9, ne = 9;
	uint64_t dropped = 9;
	fbx_snapshot_breakers(s, &nb);
	fbx_snapshot_limiters(s, &nl);
	fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(nb, 0);
	ck_assert_uint_eq(nl, 0);
	ck_assert_uint_eq(ne, 0);
	ck_assert_uint_eq(dropped, 0);
	fbx_event out[4];
	uint64_t next = 9;
	ck_assert_int_eq(fbx_events_read(box, 0, out, 4, &ne, &next), 0);
	ck_assert_uint_eq(ne, 0);
	ck_assert_uint_eq(next, 0);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(snapshot)
{
	Suite *s = suite_create("snapshot");
	TCase *tc;

	tc = tcase_create("figures");
	tcase_add_unchecked_fixture(tc, NULL, tsnap_sweep);
	tcase_add_test(tc, breaker_figures);
	tcase_add_loop_test(tc, transition_causes, 0, (int)ARRAY_LEN(cause_cases));
	tcase_add_loop_test(tc, state_name, 0, (int)ARRAY_LEN(state_names));
	tcase_add_test(tc, manual_states);
	tcase_add_test(tc, limiter_figures);
	tcase_add_test(tc, repeated_take);
	suite_add_tcase(s, tc);

	tc = tcase_create("arguments");
	tcase_add_unchecked_fixture(tc, NULL, tsnap_sweep);
	tcase_add_test(tc, snapshot_arguments);
	tcase_add_test(tc, empty_box);
	suite_add_tcase(s, tc);
	return s;
}
