/* test_snapshot.c — what a snapshot shows after known operations, the
 * event ring (order, causes, operator actions, overflow, incremental
 * reads), and snapshots of a segment somebody scribbled on. */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h" /* the segment layout, for hostile tests */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MS 1000000ull
#define SEC 1000000000ull

/* ---- names and clean-up (see test_box.c) ------------------------------ */

#define NAME_PREFIX "sn"

static const char *sn_name(void)
{
	return tname(NAME_PREFIX);
}

/* Unchecked teardown: runs in the runner after each test case. */
static void sweep(void)
{
	tsweep(NAME_PREFIX);
}

static void small_cfg(fbx_box_config *c)
{
	fbx_box_config_init(c);
	c->breakers = 8;
	c->limiters = 8;
	c->keys = 256;
	c->events = 64;
	c->workers = 8;
	c->checks = 4;
}

/* A fresh box; the name is unlinked at once (the mapping stays), so
 * nothing is left behind whatever happens to the test. */
static fbx_box *mk_box(const fbx_box_config *cfg)
{
	fbx_box_config c;
	if (cfg == NULL) {
		small_cfg(&c);
		cfg = &c;
	}
	const char *name = sn_name();
	fbx_box *box = NULL;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	ck_assert_msg(rc == 0, "create box: %s", fbx_strerror(rc));
	ck_assert_int_eq(fbx_box_unlink(name), 0);
	return box;
}

static fbx_snapshot *snap_of(fbx_box *box)
{
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	return s;
}

static const fbx_breaker_info *only_breaker(fbx_box *box, fbx_snapshot *s)
{
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(bi->corrupt, 0);
	return bi;
}

static void run_outcome(fbx_breaker *b, fbx_outcome o, uint64_t dur)
{
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, o, dur), 0);
}

/* A string that ends within max bytes and holds only bytes lo..0x7e. */
static int safe_text(const char *s, size_t max, unsigned char lo)
{
	size_t n = strnlen(s, max);
	if (n == max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static void check_seq_order(const fbx_event *ev, size_t n, uint64_t first)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(ev[i].seq, first + i);
		if (i > 0)
			ck_assert_uint_ge(ev[i].time_ns, ev[i - 1].time_ns);
	}
}

/* ===================================================================== */
/* figures                                                               */
/* ===================================================================== */

START_TEST(breaker_figures)
{
	tclock_install();
	uint64_t t0 = tclock_ns();
	fbx_box *box = mk_box(NULL);
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

	run_outcome(b, FBX_SUCCESS, 0);
	run_outcome(b, FBX_SUCCESS, 0);
	run_outcome(b, FBX_IGNORED, 0);
	run_outcome(b, FBX_SUCCESS, 60 * MS); /* slow */
	run_outcome(b, FBX_FAILURE, 0);
	run_outcome(b, FBX_FAILURE, 0);
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
	run_outcome(b, FBX_FAILURE, 0);
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
	check_seq_order(ev, ne, 0);
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
	fbx_box *box = mk_box(NULL);
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
		case 'S': run_outcome(b, FBX_SUCCESS, 0); break;
		case 'F': run_outcome(b, FBX_FAILURE, 0); break;
		case 'W': run_outcome(b, FBX_SUCCESS, 1 * SEC); break;
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
	fbx_snapshot *s = snap_of(box);
	size_t nb, ne;
	uint64_t dropped;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	ck_assert_uint_eq(nb, 1);
	ck_assert_msg(bi->state == (fbx_breaker_state)t->state, "%s: state %s, want %s", t->what,
		      fbx_breaker_state_name(bi->state), fbx_breaker_state_name(t->state));
	ck_assert_msg(bi->open_streak == t->streak, "%s: streak %u", t->what, bi->open_streak);
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_ge(ne, 2);
	check_seq_order(ev, ne, 0);
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
	fbx_box *box = mk_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	cfg.fail_max = 3;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "m", &cfg, &b), 0);
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);

	run_outcome(b, FBX_FAILURE, 0);
	run_outcome(b, FBX_FAILURE, 0);
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
		run_outcome(b, FBX_FAILURE, 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_FORCED_CLOSED);
	ck_assert_str_eq(fbx_breaker_state_name(bi->state), "forced_closed");
	ck_assert_uint_eq(bi->failures, 7);
	ck_assert_uint_eq(bi->trips, trips); /* failures did not trip it */

	ck_assert_int_eq(fbx_breaker_release(b, "done"), 0);
	bi = only_breaker(box, s);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->consecutive_failures, 0);
	run_outcome(b, FBX_FAILURE, 0);
	run_outcome(b, FBX_FAILURE, 0);
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
	fbx_box *box = mk_box(NULL);
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
	fbx_snapshot *s = snap_of(box);
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
	ck_assert_int_eq(fbx_limiter_set_rule(l[0], "5/second;100/minute"), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l[2], 0), 0);
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
	fbx_box *box = mk_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "r", &cfg, &b), 0);
	fbx_snapshot *s = snap_of(box);
	for (uint64_t i = 1; i <= 5; i++) {
		run_outcome(b, FBX_SUCCESS, 0);
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

/* ===================================================================== */
/* events                                                                */
/* ===================================================================== */

START_TEST(manual_events)
{
	tclock_install();
	uint64_t t0 = tclock_ns();
	fbx_box *box = mk_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "db", &cfg, &b), 0);
	char longr[120];
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_trip(b, "db failover"), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_hold(b, NULL), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_release(b, "back"), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_reset(b, longr), 0);

	static const struct {
		int kind, cause, from, to;
		const char *reason;
	} want[] = {
		{ FBX_EV_REGISTER, FBX_CAUSE_CREATED, -1, FBX_CLOSED, "" },
		{ FBX_EV_MANUAL, FBX_CAUSE_TRIP, FBX_CLOSED, FBX_FORCED_OPEN, "db failover" },
		{ FBX_EV_MANUAL, FBX_CAUSE_HOLD, FBX_FORCED_OPEN, FBX_FORCED_CLOSED, "" },
		{ FBX_EV_MANUAL, FBX_CAUSE_RELEASE, FBX_FORCED_CLOSED, FBX_CLOSED, "back" },
		{ FBX_EV_MANUAL, FBX_CAUSE_RESET, FBX_CLOSED, FBX_CLOSED, NULL /* long */ },
	};
	fbx_snapshot *s = snap_of(box);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, ARRAY_LEN(want));
	ck_assert_uint_eq(dropped, 0);
	check_seq_order(ev, ne, 0);
	for (size_t i = 0; i < ne; i++) {
		ck_assert_int_eq(ev[i].corrupt, 0);
		ck_assert_int_eq(ev[i].kind, want[i].kind);
		ck_assert_int_eq(ev[i].cause, want[i].cause);
		ck_assert_int_eq(ev[i].from, want[i].from);
		ck_assert_int_eq(ev[i].to, want[i].to);
		ck_assert_int_eq(ev[i].record_type, FBX_REC_BREAKER);
		ck_assert_str_eq(ev[i].name, "db");
		ck_assert_uint_eq(ev[i].time_ns, t0 + i * SEC);
		if (want[i].kind == FBX_EV_MANUAL) {
			ck_assert_int_eq(ev[i].uid, getuid());
			ck_assert_int_eq(ev[i].pid, getpid());
		}
		if (want[i].reason != NULL) {
			ck_assert_str_eq(ev[i].reason, want[i].reason);
		} else {
			ck_assert_uint_eq(strlen(ev[i].reason), FBX_REASON_MAX - 1);
			ck_assert_int_eq(strncmp(ev[i].reason, longr, FBX_REASON_MAX - 1), 0);
		}
	}
	ck_assert_str_eq(fbx_event_kind_name(FBX_EV_MANUAL), "manual");
	ck_assert_str_eq(fbx_event_cause_name(FBX_CAUSE_TRIP), "trip");
	ck_assert_str_eq(fbx_event_kind_name(99), "invalid");
	ck_assert_str_eq(fbx_event_cause_name(FBX_CAUSE_COUNT), "invalid");
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(limiter_events)
{
	tclock_install();
	fbx_box *box = mk_box(NULL);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "first", &bc, &b), 0);
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = "100 per minute";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "api-rate", &c, &l), 0);
	/* attaching again registers nothing */
	ck_assert_int_eq(fbx_limiter_register(box, "api-rate", &c, &l), 0);
	ck_assert_int_eq(fbx_limiter_set_rule(l, "5/second"), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0), 0);

	static const struct {
		int kind, cause;
		const char *reason;
		int manual;
	} want[] = {
		{ FBX_EV_REGISTER, FBX_CAUSE_CREATED, "100/minute", 0 },
		{ FBX_EV_CONFIG, FBX_CAUSE_RULE, "5/second", 1 },
		{ FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_ON, "", 1 },
		{ FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_OFF, "", 1 },
	};
	fbx_snapshot *s = snap_of(box);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, 1 + ARRAY_LEN(want));
	check_seq_order(ev, ne, 0);
	ck_assert_int_eq(ev[0].record_type, FBX_REC_BREAKER);
	ck_assert_str_eq(ev[0].name, "first");
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		const fbx_event *e = &ev[i + 1];
		ck_assert_int_eq(e->corrupt, 0);
		ck_assert_int_eq(e->kind, want[i].kind);
		ck_assert_int_eq(e->cause, want[i].cause);
		ck_assert_int_eq(e->record_type, FBX_REC_LIMITER);
		ck_assert_uint_eq(e->record, 0);
		ck_assert_str_eq(e->name, "api-rate");
		ck_assert_str_eq(e->reason, want[i].reason);
		ck_assert_int_eq(e->from, -1);
		ck_assert_int_eq(e->to, -1);
		if (want[i].manual) {
			ck_assert_int_eq(e->pid, getpid());
			ck_assert_int_eq(e->uid, getuid());
		}
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

#define RING 16
#define EMITTED 40

/* 40 events in a ring of 16: the newest 16 stay, 24 were dropped. */
static fbx_box *overflowed_box(void)
{
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.events = RING;
	fbx_box *box = mk_box(&cfg);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "ov", &bc, &b), 0); /* seq 0 */
	for (int i = 1; i < EMITTED; i++) {
		char reason[16];
		snprintf(reason, sizeof(reason), "r%d", i);
		if (i % 2)
			ck_assert_int_eq(fbx_breaker_trip(b, reason), 0);
		else
			ck_assert_int_eq(fbx_breaker_hold(b, reason), 0);
	}
	return box;
}

static void check_overflow_event(const fbx_event *e, uint64_t seq)
{
	char reason[16];
	snprintf(reason, sizeof(reason), "r%llu", (unsigned long long)seq);
	ck_assert_uint_eq(e->seq, seq);
	ck_assert_int_eq(e->corrupt, 0);
	ck_assert_int_eq(e->kind, FBX_EV_MANUAL);
	ck_assert_int_eq(e->cause, seq % 2 ? FBX_CAUSE_TRIP : FBX_CAUSE_HOLD);
	ck_assert_int_eq(e->to, seq % 2 ? FBX_FORCED_OPEN : FBX_FORCED_CLOSED);
	ck_assert_int_eq(e->from, seq % 2 ? FBX_FORCED_CLOSED : FBX_FORCED_OPEN);
	ck_assert_str_eq(e->reason, reason);
	ck_assert_str_eq(e->name, "ov");
}

START_TEST(ring_overflow)
{
	fbx_box *box = overflowed_box();
	fbx_snapshot *s = snap_of(box);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, RING);
	ck_assert_uint_eq(dropped, EMITTED - RING);
	check_seq_order(ev, ne, EMITTED - RING);
	for (size_t i = 0; i < ne; i++)
		check_overflow_event(&ev[i], EMITTED - RING + i);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(events_read)
{
	fbx_box *box = overflowed_box();
	fbx_event out[64];
	size_t n = 999;
	uint64_t next = 999;

	/* from the middle of what is kept: the rest */
	ck_assert_int_eq(fbx_events_read(box, 30, out, 64, &n, &next), 0);
	ck_assert_uint_eq(n, EMITTED - 30);
	ck_assert_uint_eq(next, EMITTED);
	for (size_t i = 0; i < n; i++)
		check_overflow_event(&out[i], 30 + i);

	/* from before the oldest kept: starts at the oldest */
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, &n, &next), 0);
	ck_assert_uint_eq(n, RING);
	ck_assert_uint_eq(out[0].seq, EMITTED - RING);
	ck_assert_uint_eq(next, EMITTED);

	/* from now or the future: nothing */
	static const uint64_t futures[] = {EMITTED, EMITTED + 1, 1000, UINT64_MAX};
	for (size_t i = 0; i < ARRAY_LEN(futures); i++) {
		n = 999;
		ck_assert_int_eq(fbx_events_read(box, futures[i], out, 64, &n, &next), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_uint_le(next, futures[i]);
		ck_assert_uint_ge(next, EMITTED);
	}

	/* in chunks of 5: every kept event once, in order, no gap */
	uint64_t from = 0, expect = EMITTED - RING;
	size_t total = 0;
	for (int round = 0; round < 10; round++) {
		ck_assert_int_eq(fbx_events_read(box, from, out, 5, &n, &next), 0);
		ck_assert_uint_le(n, 5);
		for (size_t i = 0; i < n; i++)
			check_overflow_event(&out[i], expect++);
		total += n;
		from = next;
		if (n == 0)
			break;
	}
	ck_assert_uint_eq(total, RING);
	ck_assert_uint_eq(from, EMITTED);

	/* a new event is there for whoever reads from `next` */
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_find(box, "ov", &b), 0);
	ck_assert_int_eq(fbx_breaker_release(b, "r40"), 0);
	ck_assert_int_eq(fbx_events_read(box, from, out, 64, &n, &next), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].seq, EMITTED);
	ck_assert_int_eq(out[0].cause, FBX_CAUSE_RELEASE);
	ck_assert_str_eq(out[0].reason, "r40");
	ck_assert_uint_eq(next, EMITTED + 1);

	/* cap 0 copies nothing */
	ck_assert_int_eq(fbx_events_read(box, EMITTED - 3, NULL, 0, &n, &next), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(next, EMITTED - 3);

	/* arguments */
	ck_assert_int_eq(fbx_events_read(NULL, 0, out, 64, &n, &next), FBX_EINVAL);
	ck_assert_int_eq(fbx_events_read(box, 0, NULL, 64, &n, &next), FBX_EINVAL);
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, NULL, &next), FBX_EINVAL);
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, &n, NULL), FBX_EINVAL);
	fbx_box_close(box);
}
END_TEST

/* ===================================================================== */
/* a hostile segment                                                     */
/* ===================================================================== */

#define NB 3
#define NL 3
#define NEV 7

static const struct expect_b {
	const char *name;
	int succ, fail;
	int state;
} exp_b[NB] = {
	{ "alpha", 3, 1, FBX_CLOSED },
	{ "beta", 5, 0, FBX_CLOSED },
	{ "gamma", 1, 2, FBX_FORCED_OPEN },
};

static const struct expect_l {
	const char *name, *rule;
	int takes;
} exp_l[NL] = {
	{ "lim-a", "10/minute", 4 },
	{ "lim-b", "20/minute", 2 },
	{ "lim-c", "30/hour", 1 },
};

/* Events: 0..2 breakers registered, 3..5 limiters, 6 gamma tripped. */
static const struct expect_ev {
	int kind, rtype;
	uint32_t record;
} exp_ev[NEV] = {
	{ FBX_EV_REGISTER, FBX_REC_BREAKER, 0 }, { FBX_EV_REGISTER, FBX_REC_BREAKER, 1 },
	{ FBX_EV_REGISTER, FBX_REC_BREAKER, 2 }, { FBX_EV_REGISTER, FBX_REC_LIMITER, 0 },
	{ FBX_EV_REGISTER, FBX_REC_LIMITER, 1 }, { FBX_EV_REGISTER, FBX_REC_LIMITER, 2 },
	{ FBX_EV_MANUAL, FBX_REC_BREAKER, 2 },
};

static fbx_box *hostile_world(void)
{
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.events = 32;
	fbx_box *box = mk_box(&cfg);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	for (int i = 0; i < NB; i++) {
		fbx_breaker *b;
		ck_assert_int_eq(fbx_breaker_register(box, exp_b[i].name, &bc, &b), 0);
		for (int k = 0; k < exp_b[i].succ; k++)
			run_outcome(b, FBX_SUCCESS, 0);
		for (int k = 0; k < exp_b[i].fail; k++)
			run_outcome(b, FBX_FAILURE, 0);
	}
	for (int i = 0; i < NL; i++) {
		fbx_limiter_config lc;
		fbx_limiter_config_init(&lc);
		lc.rule = exp_l[i].rule;
		fbx_limiter *l;
		ck_assert_int_eq(fbx_limiter_register(box, exp_l[i].name, &lc, &l), 0);
		fbx_limit_result r;
		for (int k = 0; k < exp_l[i].takes; k++)
			ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), 0);
	}
	fbx_breaker *g;
	ck_assert_int_eq(fbx_breaker_find(box, "gamma", &g), 0);
	ck_assert_int_eq(fbx_breaker_trip(g, "keep"), 0);
	return box;
}

enum damage {
	D_NONE,
	D_BNAME_CONTROL,    /* breaker name: control bytes, no NUL */
	D_BNAME_HIGH,       /* breaker name: bytes >= 0x80, NUL inside */
	D_BNAME_NO_NUL,     /* breaker name: 64 printable bytes, no NUL */
	D_BNAME_EMPTY,      /* breaker name: "" */
	D_BSTATE_F,         /* state value 0xf */
	D_BSTATE_ONES,      /* the whole state word all ones */
	D_BCFG_HOM0,        /* half_open_max 0 */
	D_BCFG_HOM_BIG,     /* half_open_max beyond the lease array */
	D_BCFG_WINDOW,      /* window_calls beyond the ring */
	D_LRULE_GARBAGE,    /* limiter rule: 0xfe bytes, no NUL */
	D_LRULE_NO_NUL,     /* limiter rule: a valid rule then 'x' to the end */
	D_LRULE_BLANKS,     /* limiter rule: a valid rule then blanks, no NUL */
	D_LALGO_7,          /* algorithm 7 */
	D_LNAME,            /* limiter name: control bytes */
	D_LCFG_SPARE,       /* cfg_active points at the never-written copy */
	D_LKEYS_FOREIGN,    /* key tags naming no limiter, or a reservation */
	D_EV_TORN,          /* a writer killed midway, long ago */
	D_EV_UNCHECKED,     /* event words changed, hash not recomputed */
	D_EV_KIND,          /* kind 99 */
	D_EV_RECORD,        /* record index 0xffffffff */
	D_EV_RTYPE,         /* record type 9 */
	D_EV_CAUSE,         /* cause 200 */
	D_EV_FROM,          /* from state 12 */
	D_EV_REASON,        /* reason bytes 0x01..0xff, no NUL */
	D_HDR_NBREAKERS,    /* n_breakers huge */
	D_HDR_NLIMITERS,    /* n_limiters huge */
	D_HDR_SHARDS,       /* shards_hwm huge */
	D_HDR_EVHEAD,       /* event_head far ahead of what was written */
	D_HDR_EVHEAD_MAX,   /* event_head UINT64_MAX */
};

static const struct hostile {
	const char *what;
	enum damage d;
	int bad_b, bad_l;   /* record marked corrupt, or -1 */
	int keeps_name;     /* the corrupt record's name was not touched */
	int bad_ev;         /* event seq marked corrupt, or -1 */
	int all_ev_bad;     /* every event is garbage */
} hostiles[] = {
	{ "nothing", D_NONE, -1, -1, 0, -1, 0 },
	{ "breaker name, control bytes", D_BNAME_CONTROL, 1, -1, 0, -1, 0 },
	{ "breaker name, high bytes", D_BNAME_HIGH, 1, -1, 0, -1, 0 },
	{ "breaker name, no NUL", D_BNAME_NO_NUL, 1, -1, 0, -1, 0 },
	{ "breaker name, empty", D_BNAME_EMPTY, 1, -1, 0, -1, 0 },
	{ "breaker state 0xf", D_BSTATE_F, 1, -1, 1, -1, 0 },
	{ "breaker state word ~0", D_BSTATE_ONES, 1, -1, 1, -1, 0 },
	{ "breaker half_open_max 0", D_BCFG_HOM0, 1, -1, 1, -1, 0 },
	{ "breaker half_open_max 1000", D_BCFG_HOM_BIG, 1, -1, 1, -1, 0 },
	{ "breaker window_calls 100000", D_BCFG_WINDOW, 1, -1, 1, -1, 0 },
	{ "limiter rule garbage", D_LRULE_GARBAGE, -1, 1, 1, -1, 0 },
	{ "limiter rule, no NUL", D_LRULE_NO_NUL, -1, 1, 1, -1, 0 },
	{ "limiter rule, blanks and no NUL", D_LRULE_BLANKS, -1, 1, 1, -1, 0 },
	{ "limiter algorithm 7", D_LALGO_7, -1, 1, 1, -1, 0 },
	{ "limiter name", D_LNAME, -1, 1, 0, -1, 0 },
	{ "limiter spare config", D_LCFG_SPARE, -1, 1, 1, -1, 0 },
	{ "limiter key tags foreign", D_LKEYS_FOREIGN, -1, -1, 0, -1, 0 },
	{ "event torn", D_EV_TORN, -1, -1, 0, 3, 0 },
	{ "event words without their hash", D_EV_UNCHECKED, -1, -1, 0, 5, 0 },
	{ "event kind 99", D_EV_KIND, -1, -1, 0, 3, 0 },
	{ "event record ~0", D_EV_RECORD, -1, -1, 0, 1, 0 },
	{ "event record type 9", D_EV_RTYPE, -1, -1, 0, 1, 0 },
	{ "event cause 200", D_EV_CAUSE, -1, -1, 0, 6, 0 },
	{ "event from 12", D_EV_FROM, -1, -1, 0, 6, 0 },
	{ "event reason", D_EV_REASON, -1, -1, 0, -1, 0 },
	{ "n_breakers huge", D_HDR_NBREAKERS, -1, -1, 0, -1, 0 },
	{ "n_limiters huge", D_HDR_NLIMITERS, -1, -1, 0, -1, 0 },
	{ "shards_hwm huge", D_HDR_SHARDS, -1, -1, 0, -1, 0 },
	{ "event_head far ahead", D_HDR_EVHEAD, -1, -1, 0, -1, 1 },
	{ "event_head max", D_HDR_EVHEAD_MAX, -1, -1, 0, -1, 1 },
};

static struct fbx__event_slot *slot_of(fbx_box *box, uint64_t seq)
{
	return &box->events[seq % box->cap_events];
}

/* A writer that scribbles an event on purpose can recompute its hash: the
 * readers' field checks must hold on their own. */
static void rehash(fbx_box *box, uint64_t seq)
{
	struct fbx__event_slot *s = slot_of(box, seq);
	uint64_t w[FBX__EV_WORDS];
	for (int i = 0; i < FBX__EV_WORDS; i++)
		w[i] = atomic_load(&s->w[i]);
	atomic_store(&s->check, fbx__event_check(seq, w));
}

static void set_w1_byte(fbx_box *box, uint64_t seq, int shift, uint64_t mask, uint64_t v)
{
	_Atomic uint64_t *w = &slot_of(box, seq)->w[1];
	atomic_store(w, (atomic_load(w) & ~(mask << shift)) | (v << shift));
	rehash(box, seq);
}

static void apply_damage(fbx_box *box, enum damage d)
{
	struct fbx__breaker_rec *br = &box->breakers[1];
	struct fbx__limiter_rec *lr = &box->limiters[1];
	struct fbx__limiter_cfg *lc = &lr->cfg[atomic_load(&lr->cfg_active) & 1];
	switch (d) {
	case D_NONE:
		break;
	case D_BNAME_CONTROL:
		for (int i = 0; i < FBX_NAME_MAX; i++)
			br->head.name[i] = (char)(1 + i % 31);
		break;
	case D_BNAME_HIGH:
		memset(br->head.name, 0xc3, FBX_NAME_MAX);
		br->head.name[10] = '\0';
		break;
	case D_BNAME_NO_NUL:
		memset(br->head.name, 'B', FBX_NAME_MAX);
		break;
	case D_BNAME_EMPTY:
		memset(br->head.name, 0, FBX_NAME_MAX);
		break;
	case D_BSTATE_F:
		atomic_store(&br->state, (atomic_load(&br->state) & ~0xfull) | 0xf);
		break;
	case D_BSTATE_ONES:
		atomic_store(&br->state, UINT64_MAX);
		break;
	case D_BCFG_HOM0:
		br->cfg.half_open_max = 0;
		break;
	case D_BCFG_HOM_BIG:
		br->cfg.half_open_max = 1000;
		break;
	case D_BCFG_WINDOW:
		br->cfg.failure_rate_pct = 50;
		br->cfg.window_calls = 100000;
		break;
	case D_LRULE_GARBAGE:
		memset(lc->rule, 0xfe, FBX_RULE_TEXT_MAX);
		break;
	case D_LRULE_NO_NUL:
		memset(lc->rule, 'x', FBX_RULE_TEXT_MAX);
		memcpy(lc->rule, "20/minute", 9);
		break;
	case D_LRULE_BLANKS:
		memset(lc->rule, ' ', FBX_RULE_TEXT_MAX);
		memcpy(lc->rule, "20/minute", 9);
		break;
	case D_LALGO_7:
		lr->algorithm = 7;
		break;
	case D_LNAME:
		for (int i = 0; i < FBX_NAME_MAX; i++)
			lr->head.name[i] = (char)(0x7f + i);
		break;
	case D_LCFG_SPARE:
		atomic_store(&lr->cfg_active, atomic_load(&lr->cfg_active) ^ 1);
		break;
	case D_LKEYS_FOREIGN:
		for (uint64_t b = 0; b < box->key_buckets; b++) {
			atomic_store(&box->keys[b].tag[0], (1000ull << FBX__TAG_LIM_SHIFT) | b);
			atomic_store(&box->keys[b].tag[1], (2ull << FBX__TAG_LIM_SHIFT) |
								   FBX__TAG_RESERVED | b);
		}
		break;
	case D_EV_TORN:
		atomic_store(&slot_of(box, 3)->seq1, 4 | FBX__EV_BUSY);
		atomic_store(&slot_of(box, 3)->started, fbx__real_now() - 3000000000ull);
		break;
	case D_EV_UNCHECKED:
		atomic_store(&slot_of(box, 5)->w[2], atomic_load(&slot_of(box, 5)->w[2]) ^ 1);
		break;
	case D_EV_KIND:
		set_w1_byte(box, 3, 0, 0xff, 99);
		break;
	case D_EV_RECORD:
		set_w1_byte(box, 1, 32, 0xffffffffull, 0xffffffffull);
		break;
	case D_EV_RTYPE:
		set_w1_byte(box, 1, 16, 0xff, 9);
		break;
	case D_EV_CAUSE:
		set_w1_byte(box, 6, 8, 0xff, 200);
		break;
	case D_EV_FROM: {
		_Atomic uint64_t *w = &slot_of(box, 6)->w[2];
		atomic_store(w, (atomic_load(w) & ~0xffffffffull) | 12);
		rehash(box, 6);
		break;
	}
	case D_EV_REASON:
		for (int i = 0; i < 8; i++) {
			uint64_t v = 0;
			for (int k = 0; k < 8; k++)
				v |= (uint64_t)(uint8_t)(1 + (i * 8 + k) * 4) << (8 * k);
			atomic_store(&slot_of(box, 6)->w[4 + i], v);
		}
		rehash(box, 6);
		break;
	case D_HDR_NBREAKERS:
		atomic_store(&box->hdr->n_breakers, UINT32_MAX);
		break;
	case D_HDR_NLIMITERS:
		atomic_store(&box->hdr->n_limiters, UINT32_MAX);
		break;
	case D_HDR_SHARDS:
		atomic_store(&box->hdr->shards_hwm, UINT32_MAX);
		break;
	case D_HDR_EVHEAD:
		atomic_store(&box->hdr->event_head, 1ull << 62);
		break;
	case D_HDR_EVHEAD_MAX:
		atomic_store(&box->hdr->event_head, UINT64_MAX);
		break;
	}
}

static void check_breakers(const struct hostile *t, const fbx_snapshot *s)
{
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	ck_assert_msg(n == NB, "%s: %zu breakers", t->what, n);
	for (int i = 0; i < NB; i++) {
		ck_assert_msg(safe_text(bi[i].name, FBX_NAME_MAX, 0x21) && bi[i].name[0] != '\0',
			      "%s: breaker %d has an unsafe name", t->what, i);
		if (i == t->bad_b) {
			ck_assert_msg(bi[i].corrupt == 1, "%s: breaker %d not marked corrupt",
				      t->what, i);
			if (t->keeps_name)
				ck_assert_str_eq(bi[i].name, exp_b[i].name);
			continue;
		}
		ck_assert_msg(bi[i].corrupt == 0, "%s: breaker %d marked corrupt", t->what, i);
		ck_assert_str_eq(bi[i].name, exp_b[i].name);
		ck_assert_msg(bi[i].successes == (uint64_t)exp_b[i].succ &&
				      bi[i].failures == (uint64_t)exp_b[i].fail,
			      "%s: breaker %d counts %llu/%llu", t->what, i,
			      (unsigned long long)bi[i].successes,
			      (unsigned long long)bi[i].failures);
		ck_assert_int_eq(bi[i].state, exp_b[i].state);
		ck_assert_uint_eq(bi[i].consecutive_failures,
				  exp_b[i].state == FBX_CLOSED ? (uint64_t)exp_b[i].fail : 0);
	}
}

static void check_limiters(const struct hostile *t, const fbx_snapshot *s, uint32_t cap_keys)
{
	size_t n;
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
	ck_assert_msg(n == NL, "%s: %zu limiters", t->what, n);
	for (int i = 0; i < NL; i++) {
		ck_assert_msg(safe_text(li[i].name, FBX_NAME_MAX, 0x21) && li[i].name[0] != '\0',
			      "%s: limiter %d has an unsafe name", t->what, i);
		ck_assert_msg(safe_text(li[i].rule, FBX_RULE_TEXT_MAX, 0x20),
			      "%s: limiter %d has an unsafe rule", t->what, i);
		ck_assert_msg(li[i].keys <= 2ull * cap_keys, "%s: limiter %d keys %llu", t->what,
			      i, (unsigned long long)li[i].keys);
		if (i == t->bad_l) {
			ck_assert_msg(li[i].corrupt == 1, "%s: limiter %d not marked corrupt",
				      t->what, i);
			if (t->keeps_name)
				ck_assert_str_eq(li[i].name, exp_l[i].name);
			continue;
		}
		ck_assert_msg(li[i].corrupt == 0, "%s: limiter %d marked corrupt", t->what, i);
		ck_assert_str_eq(li[i].name, exp_l[i].name);
		ck_assert_str_eq(li[i].rule, exp_l[i].rule);
		ck_assert_uint_eq(li[i].allowed, (uint64_t)exp_l[i].takes);
		ck_assert_uint_eq(li[i].denied, 0);
		ck_assert_int_eq(li[i].algorithm, FBX_ALGO_WINDOW);
	}
}

static void check_events(const struct hostile *t, const fbx_snapshot *s, uint32_t cap)
{
	size_t n;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &n, &dropped);
	ck_assert_msg(n <= cap, "%s: %zu events", t->what, n);
	for (size_t i = 0; i < n; i++) {
		const fbx_event *e = &ev[i];
		ck_assert_msg(safe_text(e->name, FBX_NAME_MAX, 0x21), "%s: event %zu name",
			      t->what, i);
		ck_assert_msg(safe_text(e->reason, FBX_REASON_MAX, 0x20), "%s: event %zu reason",
			      t->what, i);
		ck_assert_msg(e->from >= -1 && e->from < FBX_BREAKER_STATE_COUNT && e->to >= -1 &&
				      e->to < FBX_BREAKER_STATE_COUNT,
			      "%s: event %zu from %d to %d", t->what, i, e->from, e->to);
		if (i > 0)
			ck_assert_uint_gt(e->seq, ev[i - 1].seq);
	}
	if (t->all_ev_bad) {
		ck_assert_uint_eq(n, cap);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(ev[i].corrupt == 1, "%s: event %zu not corrupt", t->what, i);
		return;
	}
	ck_assert_msg(n == NEV, "%s: %zu events", t->what, n);
	ck_assert_uint_eq(dropped, 0);
	for (size_t i = 0; i < n; i++) {
		const fbx_event *e = &ev[i];
		const struct expect_ev *x = &exp_ev[i];
		ck_assert_uint_eq(e->seq, i);
		if ((int)i == t->bad_ev) {
			ck_assert_msg(e->corrupt == 1, "%s: event %zu not corrupt", t->what, i);
			continue;
		}
		/* an event about a damaged record may be marked corrupt */
		int about_bad = (x->rtype == FBX_REC_BREAKER && (int)x->record == t->bad_b) ||
				(x->rtype == FBX_REC_LIMITER && (int)x->record == t->bad_l);
		if (about_bad && e->corrupt)
			continue;
		if (t->d == D_EV_REASON && i == 6) {
			ck_assert_uint_eq(strlen(e->reason), FBX_REASON_MAX - 1);
			continue;
		}
		ck_assert_msg(e->corrupt == 0, "%s: event %zu marked corrupt", t->what, i);
		ck_assert_int_eq(e->kind, x->kind);
		ck_assert_int_eq(e->record_type, x->rtype);
		ck_assert_uint_eq(e->record, x->record);
		ck_assert_str_eq(e->name, x->rtype == FBX_REC_BREAKER ? exp_b[x->record].name
								      : exp_l[x->record].name);
		if (i == 6)
			ck_assert_str_eq(e->reason, "keep");
	}
}

START_TEST(hostile_segment)
{
	const struct hostile *t = &hostiles[_i];
	fbx_box *box = hostile_world();
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	apply_damage(box, t->d);
	/* twice: a second take into the same snapshot must be as good */
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
		check_breakers(t, s);
		check_limiters(t, s, box->cap_keys);
		check_events(t, s, box->cap_events);
	}
	/* and the same through fbx_events_read */
	fbx_event out[64];
	size_t n;
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, &n, &next), 0);
	ck_assert_uint_le(n, box->cap_events);
	for (size_t i = 0; i < n; i++) {
		ck_assert(safe_text(out[i].name, FBX_NAME_MAX, 0x21));
		ck_assert(safe_text(out[i].reason, FBX_REASON_MAX, 0x20));
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/* ===================================================================== */
/* arguments                                                             */
/* ===================================================================== */

START_TEST(snapshot_arguments)
{
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(NULL, &s), FBX_EINVAL);
	fbx_box *box = mk_box(NULL);
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
		small_cfg(&cfg);
		uint32_t v;
		memcpy(&v, (char *)&cfg + offs[i], 4);
		v *= 2;
		memcpy((char *)&cfg + offs[i], &v, 4);
		fbx_box *other = mk_box(&cfg);
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
	fbx_box *box = mk_box(NULL);
	fbx_snapshot *s = snap_of(box);
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
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, breaker_figures);
	tcase_add_loop_test(tc, transition_causes, 0, (int)ARRAY_LEN(cause_cases));
	tcase_add_loop_test(tc, state_name, 0, (int)ARRAY_LEN(state_names));
	tcase_add_test(tc, manual_states);
	tcase_add_test(tc, limiter_figures);
	tcase_add_test(tc, repeated_take);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, manual_events);
	tcase_add_test(tc, limiter_events);
	tcase_add_test(tc, ring_overflow);
	tcase_add_test(tc, events_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_loop_test(tc, hostile_segment, 0, (int)ARRAY_LEN(hostiles));
	suite_add_tcase(s, tc);

	tc = tcase_create("arguments");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, snapshot_arguments);
	tcase_add_test(tc, empty_box);
	suite_add_tcase(s, tc);

	return s;
}
