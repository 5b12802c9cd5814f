/* test_breaker.c — every breaker transition and policy, on a fake clock. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define MS 1000000ull
#define SEC 1000000000ull

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

static fbx_breaker *make(const char *name, const fbx_breaker_config *cfg)
{
	return tbreaker_reg(box, name, cfg);
}

static fbx_breaker_state state_of(const char *name)
{
	return tbreaker_now(box, name).state;
}

static void rejected(fbx_breaker *b, fbx_reject_reason why)
{
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, why);
}

START_TEST(defaults_follow_pybreaker)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	ck_assert_uint_eq(c.fail_max, 5);
	ck_assert_uint_eq(c.reset_timeout_ns, 60 * SEC);
	ck_assert_uint_eq(c.half_open_max, 1);
	ck_assert_uint_eq(c.success_threshold, 1);
	ck_assert_int_eq(fbx_breaker_config_check(&c, NULL), 0);
}
END_TEST

START_TEST(consecutive_failures_trip)
{
	fbx_breaker *b = make("up", NULL);
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("up"), FBX_CLOSED);
	tbreaker_call(b, FBX_SUCCESS, 0); /* a success breaks the run */
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("up"), FBX_CLOSED);
	tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("up"), FBX_OPEN);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
	ck_assert_uint_eq(p.retry_after_ns, 60 * SEC);
	tclock_advance_ms(20000);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_uint_eq(p.retry_after_ns, 40 * SEC);
}
END_TEST

START_TEST(ignored_counts_apart)
{
	fbx_breaker *b = make("ign", NULL);
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	for (int i = 0; i < 10; i++)
		tbreaker_call(b, FBX_IGNORED, 0); /* neither breaks nor extends the run */
	ck_assert_int_eq(state_of("ign"), FBX_CLOSED);
	tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("ign"), FBX_OPEN);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	const fbx_breaker_info *bi = tbreaker_info(box, snap, "ign");
	ck_assert_uint_eq(bi->ignored, 10);
	ck_assert_uint_eq(bi->failures, 5);
	ck_assert_uint_eq(bi->successes, 0);
	ck_assert_uint_eq(bi->trips, 1);
	fbx_snapshot_free(snap);
}
END_TEST

static fbx_breaker *tripped(const char *name, const fbx_breaker_config *cfg)
{
	fbx_breaker *b = make(name, cfg);
	fbx_breaker_config c;
	fbx_breaker_config_get(b, &c);
	for (uint32_t i = 0; i < c.fail_max; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of(name), FBX_OPEN);
	return b;
}

START_TEST(half_open_trial_success_closes)
{
	fbx_breaker *b = tripped("ho", NULL);
	tclock_advance_ms(60000);
	fbx_permit p, q;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(state_of("ho"), FBX_HALF_OPEN);
	/* one trial host-wide: the next caller is turned away */
	ck_assert_int_eq(fbx_breaker_allow(b, &q), FBX_EOPEN);
	ck_assert_int_eq(q.reason, FBX_REJECT_HALF_OPEN_FULL);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(state_of("ho"), FBX_CLOSED);
	/* the closed breaker starts a fresh run of failures */
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("ho"), FBX_CLOSED);
}
END_TEST

START_TEST(half_open_trial_failure_reopens_with_backoff)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.reset_timeout_ns = 10 * SEC;
	c.reset_timeout_max_ns = 35 * SEC;
	fbx_breaker *b = tripped("bo", &c);
	/* open periods: 10, 20, 35 (cap), 35 */
	const uint64_t periods[] = {10, 20, 35, 35};
	for (int i = 0; i < 4; i++) {
		fbx_permit p;
		tclock_advance_ms(periods[i] * 1000 - 1);
		ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
		ck_assert_uint_eq(p.retry_after_ns, 1 * MS);
		tclock_advance_ms(1);
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
		ck_assert_int_eq(state_of("bo"), FBX_OPEN);
	}
	/* a successful close starts the period over */
	tclock_advance_ms(35000);
	tbreaker_call(b, FBX_SUCCESS, 0);
	ck_assert_int_eq(state_of("bo"), FBX_CLOSED);
	for (int i = 0; i < 5; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_uint_eq(p.retry_after_ns, 10 * SEC);
}
END_TEST

START_TEST(half_open_k_trials_s_successes)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.half_open_max = 3;
	c.success_threshold = 4;
	fbx_breaker *b = tripped("ks", &c);
	tclock_advance_ms(60000);
	fbx_permit p[4];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_breaker_allow(b, &p[i]), 0);
	ck_assert_int_eq(fbx_breaker_allow(b, &p[3]), FBX_EOPEN);
	ck_assert_int_eq(p[3].reason, FBX_REJECT_HALF_OPEN_FULL);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_breaker_done(b, &p[i], FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(state_of("ks"), FBX_HALF_OPEN); /* 3 of 4 */
	/* an ignored trial frees its permit without counting */
	ck_assert_int_eq(fbx_breaker_allow(b, &p[0]), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p[0], FBX_IGNORED, 0), 0);
	ck_assert_int_eq(state_of("ks"), FBX_HALF_OPEN);
	tbreaker_call(b, FBX_SUCCESS, 0);
	ck_assert_int_eq(state_of("ks"), FBX_CLOSED);
}
END_TEST

START_TEST(any_trial_failure_reopens)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.half_open_max = 2;
	c.success_threshold = 2;
	fbx_breaker *b = tripped("anyf", &c);
	tclock_advance_ms(60000);
	fbx_permit a, d;
	ck_assert_int_eq(fbx_breaker_allow(b, &a), 0);
	ck_assert_int_eq(fbx_breaker_allow(b, &d), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &a, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &d, FBX_FAILURE, 0), 0);
	ck_assert_int_eq(state_of("anyf"), FBX_OPEN);
}
END_TEST

START_TEST(lease_expiry_counts_as_failure)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.trial_lease_ns = 5 * SEC;
	fbx_breaker *b = tripped("lease", &c);
	tclock_advance_ms(60000);
	fbx_permit held, p;
	ck_assert_int_eq(fbx_breaker_allow(b, &held), 0); /* never reported */
	tclock_advance_ms(4999);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_HALF_OPEN_FULL);
	ck_assert_uint_eq(p.retry_after_ns, 1 * MS);
	tclock_advance_ms(1);
	/* the lapsed lease re-opens the breaker */
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
	ck_assert_int_eq(state_of("lease"), FBX_OPEN);
	/* the late holder's success changes nothing */
	ck_assert_int_eq(fbx_breaker_done(b, &held, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(state_of("lease"), FBX_OPEN);
}
END_TEST

START_TEST(stale_generation_dropped)
{
	fbx_breaker *b = make("stale", NULL);
	fbx_permit old;
	ck_assert_int_eq(fbx_breaker_allow(b, &old), 0);
	for (int i = 0; i < 5; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	tclock_advance_ms(60000);
	tbreaker_call(b, FBX_SUCCESS, 0); /* half-open trial closes it: new generation */
	ck_assert_int_eq(state_of("stale"), FBX_CLOSED);
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	/* a failure from the first closed period must not be the fifth */
	ck_assert_int_eq(fbx_breaker_done(b, &old, FBX_FAILURE, 0), 0);
	ck_assert_int_eq(state_of("stale"), FBX_CLOSED);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	const fbx_breaker_info *bi = tbreaker_info(box, snap, "stale");
	ck_assert_uint_eq(bi->failures, 10); /* but it is counted */
	ck_assert_uint_eq(bi->consecutive_failures, 4);
	fbx_snapshot_free(snap);
}
END_TEST

/* Failure-rate policy over a time window and over a count window. */
struct rate_case {
	const char *name;
	uint32_t window_calls;   /* 0: 10 s time window */
	uint32_t rate, min_calls;
	int successes, failures; /* successes first, then failures */
	fbx_breaker_state expect;
};

static const struct rate_case rate_cases[] = {
	{"t-below", 0, 50, 10, 11, 9, FBX_CLOSED},
	{"t-at", 0, 50, 10, 10, 10, FBX_OPEN},
	{"t-mincalls", 0, 50, 30, 5, 9, FBX_CLOSED},
	{"c-below", 20, 50, 10, 11, 9, FBX_CLOSED},
	{"c-at", 20, 50, 10, 10, 10, FBX_OPEN},
	{"c-old-calls-drop", 10, 50, 10, 0, 0, FBX_CLOSED},
	{"c-mincalls", 100, 20, 50, 20, 10, FBX_CLOSED},
};

START_TEST(failure_rate_policy)
{
	const struct rate_case *rc = &rate_cases[_i];
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = rc->rate;
	c.min_calls = rc->min_calls;
	c.window_calls = rc->window_calls;
	c.window_ns = 10 * SEC;
	fbx_breaker *b = make(rc->name, &c);
	if (strcmp(rc->name, "c-old-calls-drop") == 0) {
		/* 4 failures, then successes: 40% at the tenth call (every
		 * call is evaluated), and the failures leave the window */
		for (int i = 0; i < 4; i++)
			tbreaker_call(b, FBX_FAILURE, 0);
		for (int i = 0; i < 16; i++)
			tbreaker_call(b, FBX_SUCCESS, 0);
		tbreaker_call(b, FBX_FAILURE, 0); /* 1 of the last 10 */
	} else {
		for (int i = 0; i < rc->successes + rc->failures; i++) {
			tbreaker_call(b, i < rc->successes ? FBX_SUCCESS : FBX_FAILURE, 0);
			tclock_advance_ms(100);
		}
	}
	ck_assert_int_eq(state_of(rc->name), rc->expect);
}
END_TEST

START_TEST(time_window_forgets)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.min_calls = 4;
	c.window_ns = 10 * SEC;
	fbx_breaker *b = make("forget", &c);
	for (int i = 0; i < 3; i++)
		tbreaker_call(b, FBX_FAILURE, 0); /* 3 calls: below min_calls */
	tclock_advance_ms(11000);      /* they leave the window */
	for (int i = 0; i < 3; i++)
		tbreaker_call(b, FBX_SUCCESS, 0);
	tbreaker_call(b, FBX_FAILURE, 0); /* 1 of 4: 25% */
	ck_assert_int_eq(state_of("forget"), FBX_CLOSED);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	const fbx_breaker_info *bi = tbreaker_info(box, snap, "forget");
	ck_assert_uint_eq(bi->window_calls, 4);
	ck_assert_uint_eq(bi->window_failures, 1);
	fbx_snapshot_free(snap);
	tbreaker_call(b, FBX_FAILURE, 0); /* 2 of 5: 40% */
	ck_assert_int_eq(state_of("forget"), FBX_CLOSED);
	tbreaker_call(b, FBX_FAILURE, 0); /* 3 of 6: 50% */
	ck_assert_int_eq(state_of("forget"), FBX_OPEN);
}
END_TEST

START_TEST(slow_call_rate_policy)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.slow_rate_pct = 60;
	c.slow_call_ns = 500 * MS;
	c.min_calls = 5;
	c.window_calls = 10;
	fbx_breaker *b = make("slow", &c);
	tbreaker_call(b, FBX_SUCCESS, 100 * MS);
	tbreaker_call(b, FBX_SUCCESS, 100 * MS);
	tbreaker_call(b, FBX_SUCCESS, 499 * MS);
	tbreaker_call(b, FBX_SUCCESS, 500 * MS); /* slow: >= threshold */
	tbreaker_call(b, FBX_SUCCESS, 900 * MS);
	tbreaker_call(b, FBX_FAILURE, 900 * MS); /* 3 of 6 = 50% */
	ck_assert_int_eq(state_of("slow"), FBX_CLOSED);
	tbreaker_call(b, FBX_SUCCESS, 2000 * MS); /* 4 of 7 = 57% */
	ck_assert_int_eq(state_of("slow"), FBX_CLOSED);
	tbreaker_call(b, FBX_SUCCESS, 2000 * MS); /* 5 of 8 = 62.5% */
	ck_assert_int_eq(state_of("slow"), FBX_OPEN);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	ck_assert_uint_eq(tbreaker_info(box, snap, "slow")->slow, 5);
	fbx_snapshot_free(snap);
	/* in half-open, a slow trial counts as a failed one */
	tclock_advance_ms(60000);
	tbreaker_call(b, FBX_SUCCESS, 2000 * MS);
	ck_assert_int_eq(state_of("slow"), FBX_OPEN);
	tclock_advance_ms(120000);
	tbreaker_call(b, FBX_SUCCESS, 1 * MS);
	ck_assert_int_eq(state_of("slow"), FBX_CLOSED);
}
END_TEST

START_TEST(manual_overrides_beat_automation)
{
	fbx_breaker *b = make("man", NULL);
	ck_assert_int_eq(fbx_breaker_trip(b, "failover"), 0);
	ck_assert_int_eq(state_of("man"), FBX_FORCED_OPEN);
	rejected(b, FBX_REJECT_FORCED_OPEN);
	tclock_advance_ms(3600 * 1000); /* no timeout ends a forced state */
	rejected(b, FBX_REJECT_FORCED_OPEN);

	ck_assert_int_eq(fbx_breaker_hold(b, NULL), 0);
	for (int i = 0; i < 50; i++)
		tbreaker_call(b, FBX_FAILURE, 0); /* counted, never trips */
	ck_assert_int_eq(state_of("man"), FBX_FORCED_CLOSED);

	ck_assert_int_eq(fbx_breaker_release(b, "done"), 0);
	ck_assert_int_eq(state_of("man"), FBX_CLOSED);
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("man"), FBX_CLOSED);
	tbreaker_call(b, FBX_FAILURE, 0);
	ck_assert_int_eq(state_of("man"), FBX_OPEN);
	/* release leaves an automatic state alone; reset closes it */
	ck_assert_int_eq(fbx_breaker_release(b, NULL), 0);
	ck_assert_int_eq(state_of("man"), FBX_OPEN);
	ck_assert_int_eq(fbx_breaker_reset(b, "fixed"), 0);
	ck_assert_int_eq(state_of("man"), FBX_CLOSED);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	const fbx_breaker_info *bi = tbreaker_info(box, snap, "man");
	ck_assert_uint_eq(bi->consecutive_failures, 0);
	ck_assert_uint_eq(bi->failures, 55); /* lifetime totals stay */
	fbx_snapshot_free(snap);
}
END_TEST

START_TEST(trial_in_flight_then_operator_trips)
{
	fbx_breaker *b = tripped("race", NULL);
	tclock_advance_ms(60000);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_trip(b, NULL), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(state_of("race"), FBX_FORCED_OPEN);
}
END_TEST

START_TEST(register_existing_keeps_state)
{
	fbx_breaker *b = tripped("keep", NULL);
	fbx_breaker *again = make("keep", NULL);
	ck_assert_ptr_eq(b, again);
	ck_assert_int_eq(state_of("keep"), FBX_OPEN);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 7;
	fbx_breaker *other = NULL;
	ck_assert_int_eq(fbx_breaker_register(box, "keep", &c, &other), FBX_ECONFLICT);
	ck_assert_ptr_null(other);
	fbx_breaker_config def;
	fbx_breaker_config_init(&def);
	ck_assert_str_eq(fbx_breaker_config_diff(&def, &c), "fail_max");
	ck_assert_ptr_null(fbx_breaker_config_diff(&def, &def));
	ck_assert_int_eq(fbx_breaker_find(box, "keep", &other), 0);
	ck_assert_ptr_eq(other, b);
	ck_assert_int_eq(fbx_breaker_find(box, "nope", &other), FBX_ENOENT);
	ck_assert_str_eq(fbx_breaker_name(b), "keep");
}
END_TEST

static fbx_outcome succeed(void *arg)
{
	(*(int *)arg)++;
	return FBX_SUCCESS;
}

static fbx_outcome failing(void *arg)
{
	(*(int *)arg)++;
	return FBX_FAILURE;
}

START_TEST(call_wrapper)
{
	fbx_breaker *b = make("wrap", NULL);
	int ran = 0;
	fbx_outcome o;
	ck_assert_int_eq(fbx_breaker_call(b, succeed, &ran, &o, NULL), 0);
	ck_assert_int_eq(o, FBX_SUCCESS);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fbx_breaker_call(b, failing, &ran, &o, NULL), 0);
	ck_assert_int_eq(ran, 6);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_call(b, failing, &ran, &o, &p), FBX_EOPEN);
	ck_assert_int_eq(ran, 6); /* rejected: not run */
	ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
	ck_assert_int_eq(fbx_breaker_call(NULL, failing, &ran, &o, &p), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_call(b, NULL, &ran, &o, &p), FBX_EINVAL);
}
END_TEST

/* Configurations that must be refused, each naming its field. */
struct bad_cfg {
	const char *field;
	void (*spoil)(fbx_breaker_config *c);
};
static void no_policy(fbx_breaker_config *c) { c->fail_max = 0; }
static void rate_over(fbx_breaker_config *c) { c->failure_rate_pct = 101; }
static void slow_no_dur(fbx_breaker_config *c) { c->slow_rate_pct = 50; }
static void window_big(fbx_breaker_config *c) { c->failure_rate_pct = 50; c->window_calls = FBX_WINDOW_CALLS_MAX + 1; }
static void window_short(fbx_breaker_config *c) { c->failure_rate_pct = 50; c->window_ns = 1000; }
static void min_zero(fbx_breaker_config *c) { c->failure_rate_pct = 50; c->min_calls = 0; }
static void min_over(fbx_breaker_config *c) { c->failure_rate_pct = 50; c->window_calls = 5; c->min_calls = 6; }
static void reset_zero(fbx_breaker_config *c) { c->reset_timeout_ns = 0; }
static void reset_max_low(fbx_breaker_config *c) { c->reset_timeout_max_ns = 1000 * MS; }
static void half_zero(fbx_breaker_config *c) { c->half_open_max = 0; }
static void half_big(fbx_breaker_config *c) { c->half_open_max = FBX_HALF_OPEN_MAX + 1; }
static void succ_zero(fbx_breaker_config *c) { c->success_threshold = 0; }
static void lease_zero(fbx_breaker_config *c) { c->trial_lease_ns = 0; }

static const struct bad_cfg bad_cfgs[] = {
	{"fail_max", no_policy}, {"failure_rate_pct", rate_over},
	{"slow_call_ns", slow_no_dur}, {"window_calls", window_big},
	{"window_ns", window_short}, {"min_calls", min_zero},
	{"min_calls", min_over}, {"reset_timeout_ns", reset_zero},
	{"reset_timeout_max_ns", reset_max_low}, {"half_open_max", half_zero},
	{"half_open_max", half_big}, {"success_threshold", succ_zero},
	{"trial_lease_ns", lease_zero},
};

START_TEST(bad_config_refused)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	bad_cfgs[_i].spoil(&c);
	const char *why = NULL;
	ck_assert_int_eq(fbx_breaker_config_check(&c, &why), FBX_EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strncmp(why, bad_cfgs[_i].field, strlen(bad_cfgs[_i].field)) == 0,
		      "expected %s, got %s", bad_cfgs[_i].field, why);
	fbx_breaker *b = NULL;
	ck_assert_int_eq(fbx_breaker_register(box, "bad", &c, &b), FBX_EINVAL);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(fbx_breaker_find(box, "bad", &b), FBX_ENOENT);
}
END_TEST

START_TEST(bad_arguments)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b = NULL;
	ck_assert_int_eq(fbx_breaker_register(NULL, "x", &c, &b), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_register(box, NULL, &c, &b), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_register(box, "x", NULL, &b), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_register(box, "x", &c, NULL), FBX_EINVAL);
	const char *names[] = {"", "has space", "ctl\x01", "tab\tx",
			       "0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_int_eq(fbx_breaker_register(box, names[i], &c, &b), FBX_ENAME);
	b = make("ok", NULL);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(NULL, &p), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_allow(b, NULL), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, (fbx_outcome)7, 0), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_done(b, NULL, FBX_SUCCESS, 0), FBX_EINVAL);
	ck_assert_int_eq(fbx_breaker_trip(NULL, NULL), FBX_EINVAL);
}
END_TEST

START_TEST(box_full)
{
	for (int i = 0; i < 16; i++) {
		char name[16];
		snprintf(name, sizeof(name), "b%d", i);
		make(name, NULL);
	}
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b = NULL;
	ck_assert_int_eq(fbx_breaker_register(box, "one-more", &c, &b), FBX_EFULL);
	ck_assert_int_eq(fbx_breaker_register(box, "b3", &c, &b), 0);
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(fbx_breaker_state_name(FBX_HALF_OPEN), "half_open");
	ck_assert_str_eq(fbx_breaker_state_name(FBX_FORCED_CLOSED), "forced_closed");
	ck_assert_str_eq(fbx_breaker_state_name(-1), "invalid");
	ck_assert_str_eq(fbx_breaker_state_name(99), "invalid");
	ck_assert_str_eq(fbx_strerror(FBX_EOPEN), "circuit breaker is open: call rejected");
	ck_assert_str_eq(fbx_strerror(12345), "unknown error");
}
END_TEST

/* A slow success still ends a run of consecutive failures. */
START_TEST(slow_success_ends_failure_run)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.slow_call_ns = 100 * MS;
	c.slow_rate_pct = 100;
	c.min_calls = 50;
	fbx_breaker *b = make("slowok", &c);
	for (int i = 0; i < 4; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	tbreaker_call(b, FBX_SUCCESS, 500 * MS);
	tbreaker_call(b, FBX_FAILURE, 0);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0); /* 1 in a row, not 5 */
}
END_TEST

/* Buckets of a time window are recognised on any uptime: with 10 ms
 * buckets, 250 days is past 2^31 buckets. */
START_TEST(time_window_works_after_long_uptime)
{
	tbox_unlink(box);
	fbx_box_close(box);
	tclock_set_ns(250ull * 86400 * SEC);
	box = tbox_create(NULL);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.min_calls = 10;
	c.window_ns = 100 * MS;
	fbx_breaker *b = make("uptime", &c);
	for (int i = 0; i < 10; i++)
		tbreaker_call(b, FBX_FAILURE, 0);
	rejected(b, FBX_REJECT_OPEN);
}
END_TEST

FBX_TEST_SUITE(breaker)
{
	Suite *s = suite_create("breaker");
	TCase *tc = tcase_create("transitions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_follow_pybreaker);
	tcase_add_test(tc, consecutive_failures_trip);
	tcase_add_test(tc, ignored_counts_apart);
	tcase_add_test(tc, half_open_trial_success_closes);
	tcase_add_test(tc, half_open_trial_failure_reopens_with_backoff);
	tcase_add_test(tc, half_open_k_trials_s_successes);
	tcase_add_test(tc, any_trial_failure_reopens);
	tcase_add_test(tc, lease_expiry_counts_as_failure);
	tcase_add_test(tc, stale_generation_dropped);
	tcase_add_loop_test(tc, failure_rate_policy, 0,
			    sizeof(rate_cases) / sizeof(rate_cases[0]));
	tcase_add_test(tc, time_window_forgets);
	tcase_add_test(tc, time_window_works_after_long_uptime);
	tcase_add_test(tc, slow_call_rate_policy);
	tcase_add_test(tc, slow_success_ends_failure_run);
	tcase_add_test(tc, manual_overrides_beat_automation);
	tcase_add_test(tc, trial_in_flight_then_operator_trips);
	tcase_add_test(tc, register_existing_keeps_state);
	tcase_add_test(tc, call_wrapper);
	tcase_add_loop_test(tc, bad_config_refused, 0, sizeof(bad_cfgs) / sizeof(bad_cfgs[0]));
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, box_full);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);
	return s;
}
