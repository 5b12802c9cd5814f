/* test_limiter_log.c — the exact sliding log: every decision equal to a
 * plain reference log's on the bench's traces, exact figures, the default
 * wherever a rule's counts fit the box's log, and what a process killed
 * mid-take leaves behind.
 *
 * Every test substitutes the clock and moves it by hand. */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"
#include "trace.h"
#include "../lib/internal.h"
#include "../lib/limiter_log.h"

#define LOG FBX_ALGO_LOG

/* ---- the reference: every admitted unit's time, per key --------------- */

struct ref_key {
	uint64_t *t; /* admitted units, oldest first */
	size_t n, cap;
};

/* Units of k in (now - period, now]. */
static uint64_t ref_in_window(const struct ref_key *k, uint64_t now, uint64_t period)
{
	uint64_t in = 0;
	for (size_t i = k->n; i > 0 && now - k->t[i - 1] < period; i--)
		in++;
	return in;
}

/* The reference decision, and what it must report: admitted when every
 * limit has fewer than count - cost + 1 units in its window. */
struct ref_verdict {
	int admitted;
	uint64_t limit, remaining, retry;
};

static struct ref_verdict ref_take(struct ref_key *k, const fbx_rule *r, uint64_t now,
				   uint64_t cost)
{
	struct ref_verdict v = {1, 0, UINT64_MAX, 0};
	for (uint32_t i = 0; i < r->n; i++) {
		uint64_t in = ref_in_window(k, now, r->limit[i].period_ns);
		if (in + cost > r->limit[i].count) {
			/* the unit whose leaving lets this take in */
			uint64_t t = k->t[k->n - (r->limit[i].count - cost + 1)];
			uint64_t wait = t + r->limit[i].period_ns - now;
			if (v.admitted || wait >= v.retry) {
				v.retry = wait;
				v.limit = r->limit[i].count;
				v.remaining = r->limit[i].count - in;
			}
			v.admitted = 0;
		}
	}
	if (!v.admitted)
		return v;
	for (uint32_t i = 0; i < r->n; i++) {
		uint64_t in = ref_in_window(k, now, r->limit[i].period_ns);
		uint64_t left = r->limit[i].count - in - cost;
		if (i == 0 || left < v.remaining) {
			v.remaining = left;
			v.limit = r->limit[i].count;
		}
	}
	if (k->n + cost > k->cap) {
		k->cap = (k->n + cost) * 2;
		k->t = realloc(k->t, k->cap * sizeof(*k->t));
		ck_assert_ptr_nonnull(k->t);
	}
	for (uint64_t i = 0; i < cost; i++)
		k->t[k->n++] = now;
	return v;
}

/* ---- replaying the bench's traces ------------------------------------- */

struct replay_row {
	const char *rule;
	enum trace_pattern pattern;
	int costs;
};

static const struct replay_row replay_rows[] = {
	{"10/second", TRACE_POISSON, 0},
	{"10/second", TRACE_BURSTY, 0},
	{"10/second", TRACE_POISSON, 1},
	{"3/second;5/minute", TRACE_POISSON, 0},
	{"3/second;5/minute", TRACE_BURSTY, 1},
	{"5/second;20/minute;100/hour", TRACE_BURSTY, 0},
	{"100/minute", TRACE_POISSON, 1},
	{"1000/hour", TRACE_BURSTY, 0},
};

#define REPLAY_KEYS 40
#define REPLAY_CALLS 20000

/* Every decision, the figures of every decision, and Retry-After: equal to
 * the reference's, on each trace of the bench. */
START_TEST(log_replays_traces_exactly)
{
	const struct replay_row *row = &replay_rows[_i];
	fbx_rule rule;
	ck_assert_int_eq(fbx_rule_parse(row->rule, &rule, NULL), 0);
	tclock_install();
	fbx_box_config c;
	tbox_config_small(&c);
	c.log_keys = 2 * REPLAY_KEYS;
	c.log_slots = 1024;
	fbx_box *box = tbox_create(&c);
	fbx_limiter *l = tlim_reg(box, "replay", row->rule, LOG, 1, 1, 0);

	struct trace_spec spec = {rule.limit[0].count, rule.limit[0].period_ns, REPLAY_KEYS,
				  REPLAY_CALLS, row->pattern, row->costs,
				  0x7e57ull + (uint64_t)_i, T_DAY0};
	struct trace_call *calls = malloc(REPLAY_CALLS * sizeof(*calls));
	struct ref_key *keys = calloc(REPLAY_KEYS, sizeof(*keys));
	ck_assert_ptr_nonnull(calls);
	ck_assert_ptr_nonnull(keys);
	ck_assert_int_eq(trace_make(&spec, calls), 0);

	uint64_t admitted = 0, denied = 0;
	for (uint32_t n = 0; n < REPLAY_CALLS; n++) {
		const struct trace_call *tc = &calls[n];
		char key[16];
		snprintf(key, sizeof(key), "k%u", tc->key);
		tclock_set_ns(tc->t);
		fbx_limit_result r;
		int rc = tlim_take(l, key, tc->cost, &r);
		struct ref_verdict want = ref_take(&keys[tc->key], &rule, tc->t, tc->cost);
		ck_assert_msg(rc == (want.admitted ? 0 : FBX_ELIMITED),
			      "%s call %u (key %u, cost %u, t %llu): %s, the reference %s", row->rule,
			      n, tc->key, tc->cost, (unsigned long long)tc->t, fbx_strerror(rc),
			      want.admitted ? "admits" : "denies");
		ck_assert_msg(r.limit == want.limit && r.remaining == want.remaining,
			      "%s call %u: limit %llu remaining %llu, the reference %llu %llu",
			      row->rule, n, (unsigned long long)r.limit,
			      (unsigned long long)r.remaining, (unsigned long long)want.limit,
			      (unsigned long long)want.remaining);
		if (!want.admitted)
			ck_assert_uint_eq(r.retry_after_ns, want.retry);
		admitted += want.admitted;
		denied += !want.admitted;
	}
	/* the trace must exercise both answers, or it proves little */
	ck_assert_uint_gt(admitted, REPLAY_CALLS / 50);
	ck_assert_uint_gt(denied, REPLAY_CALLS / 50);
	for (uint32_t i = 0; i < REPLAY_KEYS; i++)
		free(keys[i].t);
	free(keys);
	free(calls);
	fbx_box_close(box);
}
END_TEST

/* ---- what a user sees with a stopwatch -------------------------------- */

/* 3/second;5/minute: three calls, 1.1 s, then the two calls left in the
 * minute — an estimate admits one. */
START_TEST(log_user_stopwatch)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "sw", "3/second;5/minute", LOG, 1, 0, 0);
	fbx_limit_result r;
	uint64_t t0 = T_DAY0;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(tlim_take_at(l, t0 + T_MS(i), 1, &r, "first three"), 0);
	ck_assert_int_eq(tlim_take_at(l, t0 + T_MS(3), 1, &r, "fourth"), FBX_ELIMITED);
	ck_assert_uint_eq(r.retry_after_ns, T_S(1) - T_MS(3));
	ck_assert_int_eq(tlim_take_at(l, t0 + T_MS(1100), 1, &r, "after 1.1 s"), 0);
	ck_assert_uint_eq(r.limit, 5);
	ck_assert_uint_eq(r.remaining, 1);
	ck_assert_int_eq(tlim_take_at(l, t0 + T_MS(1101), 1, &r, "fifth"), 0);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_int_eq(tlim_take_at(l, t0 + T_MS(1102), 1, &r, "sixth"), FBX_ELIMITED);
	/* the first call leaves the minute at t0 + 60 s */
	ck_assert_uint_eq(r.retry_after_ns, T_S(60) - T_MS(1102));
	ck_assert_int_eq(tlim_take_at(l, t0 + T_S(60) - 1, 1, &r, "1 ns early"), FBX_ELIMITED);
	ck_assert_int_eq(tlim_take_at(l, t0 + T_S(60), 1, &r, "on time"), 0);
	fbx_box_close(box);
}
END_TEST

/* A denied take writes nothing: a thousand denials later, the budget is
 * back exactly when the admitted calls leave the window. */
START_TEST(log_denial_consumes_nothing)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "deny", "4/second", LOG, 1, 0, 0);
	fbx_limit_result r;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(tlim_take_at(l, T_DAY0, 1, &r, "fill"), 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_MS(i % 999), 1, &r, "denied"),
				 FBX_ELIMITED);
	ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_S(1), 4, &r, "whole budget"), 0);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_uint_eq(r.reset_ns, T_S(1));
	tlim_counts(box, "deny", 5, 1000, 0);
	fbx_box_close(box);
}
END_TEST

/* The long arrival sequences the other algorithms run: never more than the
 * count in any window, and every Retry-After exact to the nanosecond. */
START_TEST(log_sequences_hold_and_retry_exactly)
{
	static const struct tlim_seq rows[] = {
		{"7/second", LOG, 1, 1},
		{"20/minute", LOG, 1, 3},
		{"3/second;10/minute", LOG, 1, 2},
	};
	fbx_box *box;
	fbx_rule rule;
	size_t n_adm;
	uint64_t n_denied;
	tclock_install();
	struct tadm *a = tlim_sequence_run(&box, "seq", &rows[_i], 0x51ull + (uint64_t)_i, 1, &rule,
					   &n_adm, &n_denied);
	for (uint32_t i = 0; i < rule.n; i++)
		ck_assert_uint_le(tmax_sliding(a, n_adm, rule.limit[i].period_ns),
				  rule.limit[i].count);
	ck_assert_uint_gt(n_denied, 0);
	free(a);
	fbx_box_close(box);
}
END_TEST

/* On the real clock, a log whose periods are long enough reads the coarse
 * clock, which lags by up to a tick; each unit is stamped a tick late so
 * that the limit holds in true time: an admitted take's budget is whole
 * again one period and one tick after its reading. */
START_TEST(log_coarse_clock_padded)
{
	struct timespec res;
	ck_assert_int_eq(clock_getres(CLOCK_MONOTONIC_COARSE, &res), 0);
	uint64_t tick = (uint64_t)res.tv_sec * 1000000000u + (uint64_t)res.tv_nsec;
	ck_assert_uint_le(tick, T_S(1) / 64); /* else the precise clock is used */
	fbx_box *box = tlim_box(2, 16);
	fbx_limiter *l = tlim_reg(box, "pad", "3/second", LOG, 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(tlim_take(l, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.reset_ns, T_S(1) + tick);
	fbx_box_close(box);
}
END_TEST

/* ---- the default, and the box's log ----------------------------------- */

static fbx_limiter *reg_default(fbx_box *box, const char *name, const char *rule)
{
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	ck_assert_int_eq(lc.algorithm, FBX_ALGO_AUTO);
	lc.rule = rule;
	lc.keyed = 1;
	fbx_limiter *l = NULL;
	int rc = fbx_limiter_register(box, name, &lc, &l);
	ck_assert_msg(rc == 0, "%s: %s", rule, fbx_strerror(rc));
	return l;
}

/* Counts that fit the box's log get the exact log; larger ones the window
 * estimate; registering again with "auto" matches either. */
START_TEST(log_is_the_default_where_counts_fit)
{
	tclock_install();
	fbx_box_config c;
	tbox_config_small(&c);
	c.log_slots = 64;
	fbx_box *box = tbox_create(&c);
	fbx_limiter *fits = reg_default(box, "fits", "63/second;10/minute");
	ck_assert_ptr_nonnull(reg_default(box, "big", "64/second"));
	fbx_limiter_info li = tlimiter_now(box, "fits");
	ck_assert_int_eq(li.algorithm, FBX_ALGO_LOG);
	ck_assert_str_eq(fbx_algorithm_name(li.algorithm), "log");
	li = tlimiter_now(box, "big");
	ck_assert_int_eq(li.algorithm, FBX_ALGO_WINDOW);
	ck_assert_ptr_nonnull(reg_default(box, "fits", "63/second;10/minute"));
	/* named explicitly, a log that does not fit is refused */
	fbx_limiter_config lc;
	tlim_config(&lc, "64/second", LOG, 1, 1, 0);
	fbx_limiter *l = NULL;
	ck_assert_int_eq(fbx_limiter_register(box, "toobig", &lc, &l), FBX_ERANGE);
	/* and so is a live rule change that would not fit */
	ck_assert_int_eq(fbx_limiter_set_rule(fits, "64/second", "grow"), FBX_ERANGE);
	ck_assert_int_eq(fbx_limiter_set_rule(fits, "50/second", "shrink"), 0);
	fbx_box_close(box);
}
END_TEST

/* Counts of a thousand per period, with a log of 1024 slots. */
START_TEST(log_counts_up_to_a_thousand)
{
	tclock_install();
	fbx_box_config c;
	tbox_config_small(&c);
	c.log_slots = 1024;
	fbx_box *box = tbox_create(&c);
	fbx_limiter *l = tlim_reg(box, "k", "1000/minute", LOG, 1, 1, 0);
	fbx_limit_result r;
	uint64_t t = T_DAY0;
	for (int i = 0; i < 1000; i++) {
		tclock_set_ns(t + T_MS(i));
		ck_assert_int_eq(tlim_take(l, "user", 1, &r), 0);
		ck_assert_uint_eq(r.remaining, (uint64_t)(999 - i));
	}
	tclock_set_ns(t + T_MS(1000));
	ck_assert_int_eq(tlim_take(l, "user", 1, &r), FBX_ELIMITED);
	ck_assert_uint_eq(r.retry_after_ns, T_S(60) - T_MS(1000));
	/* one minute after the first call, exactly one more */
	tclock_set_ns(t + T_S(60));
	ck_assert_int_eq(tlim_take(l, "user", 1, &r), 0);
	ck_assert_int_eq(tlim_take(l, "user", 1, &r), FBX_ELIMITED);
	fbx_box_close(box);
}
END_TEST

/* What a key costs is what the box's figures say. */
START_TEST(log_key_cost_is_reported)
{
	fbx_box_config c;
	tbox_config_small(&c);
	c.log_keys = 100;
	c.log_slots = 128;
	fbx_box *box = tbox_create(&c);
	fbx_box_info bi;
	ck_assert_int_eq(fbx_box_info_get(box, &bi), 0);
	ck_assert_uint_eq(bi.capacity.log_slots, 128);
	ck_assert_uint_eq(bi.capacity.log_keys, 100);
	ck_assert_uint_eq(bi.key_bytes, 32);
	ck_assert_uint_eq(bi.log_key_bytes, 32 + 8 * 128);
	ck_assert_uint_eq(bi.log_count_max, 127);
	fbx_box_close(box);
	/* slots must be a power of two that holds at least one count */
	c.log_slots = 100;
	fbx_box *bad = NULL;
	ck_assert_int_eq(fbx_box_open(tname("lg"), FBX_OPEN_CREATE, &c, &bad), FBX_EINVAL);
	c.log_slots = 1;
	ck_assert_int_eq(fbx_box_open(tname("lg"), FBX_OPEN_CREATE, &c, &bad), FBX_EINVAL);
}
END_TEST

/* ---- killed mid-take -------------------------------------------------- */

/* A process killed between admitting its take (the head's CAS) and
 * writing its units leaves them unwritten.  The next take writes them as
 * of its own reading: the dead take counts — for a little longer than it
 * would have — so the error is towards denial, and nothing hangs. */
START_TEST(log_killed_after_admission_errs_towards_denial)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "dead", "3/second", LOG, 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(tlim_take_at(l, T_DAY0, 1, &r, "first"), 0);
	/* what the killed process did: the reservation, no unit written */
	_Atomic uint64_t *head = &box->limiters[0].global_state[0];
	uint64_t h = atomic_load(head);
	ck_assert_uint_eq(h, (0ull << 16) | 1); /* start 0, one unit pending */
	atomic_store(head, (1ull << 16) | 1);    /* start 1, one unit pending */
	/* 400 ms later: the dead unit is written as of now */
	ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_MS(400), 1, &r, "after"), 0);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_MS(401), 1, &r, "full"), FBX_ELIMITED);
	/* the first unit leaves at 1 s; the dead one at 1.4 s */
	ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_S(1), 1, &r, "one left"), 0);
	ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_S(1), 1, &r, "dead still counts"),
			 FBX_ELIMITED);
	ck_assert_uint_eq(r.retry_after_ns, T_MS(400));
	ck_assert_int_eq(tlim_take_at(l, T_DAY0 + T_MS(1400), 1, &r, "dead gone"), 0);
	fbx_box_close(box);
}
END_TEST

/* Real processes killed at random moments while four hammer one key on a
 * frozen clock: never more admitted than the count, whoever died where. */
START_TEST(log_kills_never_over_admit)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "kill", "100/minute", LOG, 1, 1, 0);
	tclock_set_ns(T_DAY0);
	uint64_t seed = 0x4b1ll;
	for (int round = 0; round < 6; round++) {
		pid_t pid[4];
		for (int p = 0; p < 4; p++) {
			pid[p] = tfork();
			if (pid[p] == 0) {
				fbx_limit_result r;
				for (;;)
					fbx_limiter_take(l, "shared", 6, 1, &r);
			}
		}
		usleep((useconds_t)(200 + trnd(&seed) % 3000));
		for (int p = 0; p < 4; p++)
			kill(pid[p], SIGKILL);
		for (int p = 0; p < 4; p++)
			twait(pid[p]);
	}
	/* whatever the kills left, a survivor's takes settle it */
	fbx_limit_result r;
	int rc = tlim_take(l, "shared", 1, &r);
	ck_assert(rc == 0 || rc == FBX_ELIMITED);
	fbx_limiter_info li = tlimiter_now(box, "kill");
	ck_assert_uint_le(li.allowed, 100);
	/* and once the clock moves a minute on, the key is whole again */
	tclock_set_ns(T_DAY0 + T_MIN(1) + T_MS(1));
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(tlim_take(l, "shared", 1, &r), 0);
	ck_assert_int_eq(tlim_take(l, "shared", 1, &r), FBX_ELIMITED);
	fbx_box_close(box);
}
END_TEST

/* Scribbled slots and heads: takes answer (admit, deny or ECORRUPT),
 * never hang or fault, and a rewritten unit counts as recent. */
START_TEST(log_scribbles_settle)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "scr", "5/second", LOG, 1, 0, 0);
	fbx_limit_result r;
	uint64_t seed = 0x5c21ull;
	_Atomic uint64_t *head = &box->limiters[0].global_state[0];
	struct fbx__log lg = fbx__log_of_limiter(box, 0);
	_Atomic uint64_t *ring = lg.ring;
	uint32_t slots = box->cap_log_slots;
	for (int i = 0; i < 2000; i++) {
		uint64_t t = T_DAY0 + (uint64_t)i * T_MS(50);
		if (i % 7 == 0)
			atomic_store(&ring[trnd(&seed) % slots], trnd(&seed));
		if (i % 97 == 0)
			atomic_store(head, trnd(&seed));
		int rc = tlim_take_at(l, t, 1, &r, "scribbled");
		ck_assert_msg(rc == 0 || rc == FBX_ELIMITED || rc == FBX_ECORRUPT, "%s",
			      fbx_strerror(rc));
	}
	/* Left alone, it settles: each slot that does not read back is
	 * rewritten as of the take that needs it, and counts for one period
	 * from then.  Rounds two periods apart: within a count's worth of
	 * them, a round admits exactly the count again. */
	int exact_round = -1;
	for (int round = 0; round < 8 && exact_round < 0; round++) {
		uint64_t t = T_DAY0 + T_S(200) + (uint64_t)round * T_S(2);
		int admitted = 0, rc;
		while ((rc = tlim_take_at(l, t, 1, &r, "settling")) == 0 && admitted < 10)
			admitted++;
		ck_assert_msg(rc == FBX_ELIMITED || rc == FBX_ECORRUPT, "%s", fbx_strerror(rc));
		if (admitted == 5 && rc == FBX_ELIMITED)
			exact_round = round;
	}
	ck_assert_msg(exact_round >= 0, "the scribbled log never settled");
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_log)
{
	Suite *s = suite_create("limiter_log");
	TCase *tc = tcase_create("exact");
	tcase_add_loop_test(tc, log_replays_traces_exactly, 0,
			    (int)(sizeof(replay_rows) / sizeof(replay_rows[0])));
	tcase_add_test(tc, log_user_stopwatch);
	tcase_add_test(tc, log_denial_consumes_nothing);
	tcase_add_loop_test(tc, log_sequences_hold_and_retry_exactly, 0, 3);
	tcase_add_test(tc, log_coarse_clock_padded);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("box");
	tcase_add_test(tc, log_is_the_default_where_counts_fit);
	tcase_add_test(tc, log_counts_up_to_a_thousand);
	tcase_add_test(tc, log_key_cost_is_reported);
	suite_add_tcase(s, tc);
	tc = tcase_create("faults");
	tcase_add_test(tc, log_killed_after_admission_errs_towards_denial);
	tcase_add_test(tc, log_kills_never_over_admit);
	tcase_add_test(tc, log_scribbles_settle);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
