/*
 * test_threads_breaker.c — breakers on one handle (FBX_OPEN_THREADS)
 * shared by threads: outcomes and windows counted exactly, half-open trial
 * permits never over-granted, operators racing the hot path.
 *
 * Threads sharing a handle also share its counter shard, its limiter
 * handles' local copies of the rule and its handle lists.  Every figure is
 * exact: the snapshot's totals must equal what the threads were told, and
 * on a frozen clock limits admit exactly what the rule allows.  Nothing
 * here depends on timing, so these run in plain `make test`; `make tsan`
 * runs them (tag "threads") under ThreadSanitizer, which also sees the
 * races that do not change a total.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"

#define MS 1000000ull
#define SEC 1000000000ull

#define B_ITER 20000

struct outcomes {
	int id;
	struct tsurprise s;
	fbx_breaker *b[2];
	uint64_t out[3], slow, rejected;
};

static fbx_outcome give(void *arg)
{
	return *(const fbx_outcome *)arg;
}

static void *mixed_outcomes(void *arg)
{
	struct outcomes *t = arg;
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < B_ITER; i++) {
		fbx_outcome o = (fbx_outcome)((i + t->id) % 3);
		fbx_permit p;
		int rc;
		if (i % 8 == 0) {
			fbx_outcome got = FBX_IGNORED;
			rc = fbx_breaker_call(t->b[0], give, &o, &got, &p);
			TNOTE(&t->s, rc == 0 && got == o, rc);
		} else {
			rc = fbx_breaker_allow(t->b[0], &p);
			TNOTE(&t->s, rc == 0, rc);
			rc = fbx_breaker_done(t->b[0], &p, o, 0);
			TNOTE(&t->s, rc == 0, rc);
		}
		t->out[o]++;
		rc = fbx_breaker_allow(t->b[1], &p);
		TNOTE(&t->s, rc == FBX_EOPEN && p.reason == FBX_REJECT_FORCED_OPEN, rc);
		t->rejected++;
	}
	return NULL;
}

/* Mixed outcomes from every thread: not one count lost or doubled, on a
 * breaker that admits everything and on one forced open. */
START_TEST(breaker_outcomes_exact)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 4000000000u; /* never trips: every call is admitted */
	struct outcomes t[TTHREADS_N] = {{0}};
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].b[0] = tbreaker_reg(tthreads_box, "mixed", &c);
		t[i].b[1] = tbreaker_reg(tthreads_box, "forced", &c);
	}
	ck_assert_ptr_eq(t[0].b[0], t[TTHREADS_N - 1].b[0]); /* one handle, shared */
	ck_assert_int_eq(fbx_breaker_trip(t[0].b[1], "test"), 0);
	tthreads_run(TTHREADS_N, mixed_outcomes, t, sizeof(t[0]));
	uint64_t out[3] = {0}, rejected = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		rejected += t[i].rejected;
	}
	ck_assert_uint_eq(out[0] + out[1] + out[2], (uint64_t)TTHREADS_N * B_ITER);
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_breaker_info *m = tneed_breaker(s, "mixed");
	ck_assert_uint_eq(m->successes, out[FBX_SUCCESS]);
	ck_assert_uint_eq(m->failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(m->ignored, out[FBX_IGNORED]);
	ck_assert_uint_eq(m->rejected, 0);
	ck_assert_uint_eq(m->trips, 0);
	ck_assert_int_eq(m->state, FBX_CLOSED);
	const fbx_breaker_info *f = tneed_breaker(s, "forced");
	ck_assert_uint_eq(f->rejected, rejected);
	ck_assert_uint_eq(f->rejected, (uint64_t)TTHREADS_N * B_ITER);
	ck_assert_uint_eq(f->successes + f->failures + f->ignored, 0);
	ck_assert_int_eq(f->state, FBX_FORCED_OPEN);
	fbx_snapshot_free(s);
}
END_TEST

#define W_ITER 12000
#define W_CALLS 64

static void *windowed_outcomes(void *arg)
{
	struct outcomes *t = arg;
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < W_ITER; i++) {
		/* Each thread starts with a quick success and never reports
		 * two failures or two slow calls in a row, so no window is
		 * ever all failures or all slow: neither 100% policy may trip. */
		fbx_outcome o = (fbx_outcome)(i % 3);
		uint64_t dur = i % 5 == 4 ? 2 * MS : 0;
		for (int k = 0; k < 2; k++) {
			fbx_permit p;
			int rc = fbx_breaker_allow(t->b[k], &p);
			TNOTE(&t->s, rc == 0, rc);
			rc = fbx_breaker_done(t->b[k], &p, o, dur);
			TNOTE(&t->s, rc == 0, rc);
		}
		t->out[o]++;
		t->slow += o != FBX_IGNORED && dur != 0;
	}
	return NULL;
}

/* Rate windows fed by every thread: a time window (per-shard buckets, all
 * threads in the same shard) and a count window (one ring for the host).
 * On the frozen clock every call lands in one bucket, so the time
 * window's figures are exact too. */
START_TEST(breaker_windows_exact)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 100;
	c.slow_rate_pct = 100;
	c.slow_call_ns = 1 * MS;
	c.min_calls = 16;
	c.window_ns = 10 * SEC;
	fbx_breaker *timed = tbreaker_reg(tthreads_box, "timed", &c);
	c.window_calls = W_CALLS;
	fbx_breaker *counted = tbreaker_reg(tthreads_box, "counted", &c);
	struct outcomes t[TTHREADS_N] = {{0}};
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].b[0] = timed;
		t[i].b[1] = counted;
	}
	tthreads_run(TTHREADS_N, windowed_outcomes, t, sizeof(t[0]));
	uint64_t out[3] = {0}, slow = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		slow += t[i].slow;
	}
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const char *names[2] = {"timed", "counted"};
	for (int k = 0; k < 2; k++) {
		const fbx_breaker_info *b = tneed_breaker(s, names[k]);
		ck_assert_uint_eq(b->successes, out[FBX_SUCCESS]);
		ck_assert_uint_eq(b->failures, out[FBX_FAILURE]);
		ck_assert_uint_eq(b->ignored, out[FBX_IGNORED]);
		ck_assert_uint_eq(b->slow, slow);
		ck_assert_uint_eq(b->rejected, 0);
		ck_assert_uint_eq(b->trips, 0);
		ck_assert_int_eq(b->state, FBX_CLOSED);
	}
	const fbx_breaker_info *tb = tneed_breaker(s, "timed");
	ck_assert_uint_eq(tb->window_calls, out[FBX_SUCCESS] + out[FBX_FAILURE]);
	ck_assert_uint_eq(tb->window_failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(tb->window_slow, slow);
	/* The ring keeps the last W_CALLS calls, less at most one per thread:
	 * a thread that took a sequence number one lap early and wrote it
	 * late hides one newer entry; each thread can do that only once in
	 * the final lap. */
	const fbx_breaker_info *cb = tneed_breaker(s, "counted");
	ck_assert_uint_le(cb->window_calls, W_CALLS);
	ck_assert_uint_ge(cb->window_calls, W_CALLS - TTHREADS_N);
	ck_assert_uint_lt(cb->window_failures, cb->window_calls);
	fbx_snapshot_free(s);
}
END_TEST

/* ---- half-open: trial permits are leases, never over-granted ------------ */

#define HO_MAX 4
#define HO_ROUNDS 150
#define HO_TRIES 3

struct trials {
	struct tsurprise s;
	fbx_breaker *b;
	uint64_t admitted[HO_ROUNDS], rejected;
};

static void *trial_taker(void *arg)
{
	struct trials *t = arg;
	pthread_barrier_wait(&tline_up);
	for (int r = 0; r < HO_ROUNDS; r++) {
		fbx_permit held[HO_TRIES];
		int n = 0;
		pthread_barrier_wait(&tline_up); /* open, and its period is over */
		for (int k = 0; k < HO_TRIES; k++) {
			fbx_permit p;
			int rc = fbx_breaker_allow(t->b, &p);
			if (rc == 0) {
				held[n++] = p;
				continue;
			}
			TNOTE(&t->s, rc == FBX_EOPEN && p.reason == FBX_REJECT_HALF_OPEN_FULL, rc);
			t->rejected++;
		}
		t->admitted[r] = (uint64_t)n;
		pthread_barrier_wait(&tline_up); /* everyone has asked */
		for (int k = 0; k < n; k++) {
			int rc = fbx_breaker_done(t->b, &held[k], FBX_SUCCESS, 0);
			TNOTE(&t->s, rc == 0, rc);
		}
		pthread_barrier_wait(&tline_up); /* every trial reported */
	}
	return NULL;
}

/* Round after round the breaker trips and its open period ends; every
 * thread then asks for trial permits at once.  Exactly half_open_max are
 * granted, exactly one thread moves it to half-open, and the trials'
 * successes close it exactly once. */
START_TEST(trial_permits_never_overgranted)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 1 * SEC;
	c.half_open_max = HO_MAX;
	c.success_threshold = HO_MAX;
	c.trial_lease_ns = 3600 * SEC;
	fbx_breaker *b = tbreaker_reg(tthreads_box, "trial", &c);
	struct trials t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < TTHREADS_N; i++)
		t[i].b = b;
	pthread_t th[TTHREADS_N];
	tthreads_start(th, TTHREADS_N, trial_taker, t, sizeof(t[0]), TTHREADS_N + 1);
	pthread_barrier_wait(&tline_up);
	for (int r = 0; r < HO_ROUNDS; r++) {
		fbx_permit p;
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
		ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
		tclock_advance_ms(1000);
		pthread_barrier_wait(&tline_up);
		pthread_barrier_wait(&tline_up);
		pthread_barrier_wait(&tline_up);
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0); /* closed again */
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_IGNORED, 0), 0);
	}
	tthreads_join(th, TTHREADS_N);
	uint64_t rejected = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		rejected += t[i].rejected;
	}
	for (int r = 0; r < HO_ROUNDS; r++) {
		uint64_t admitted = 0;
		for (int i = 0; i < TTHREADS_N; i++)
			admitted += t[i].admitted[r];
		ck_assert_msg(admitted == HO_MAX, "round %d: %llu trial permits granted", r,
			      (unsigned long long)admitted);
	}
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_breaker_info *bi = tneed_breaker(s, "trial");
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->half_open_in_flight, 0);
	ck_assert_uint_eq(bi->trips, HO_ROUNDS);
	ck_assert_uint_eq(bi->failures, HO_ROUNDS);
	ck_assert_uint_eq(bi->successes, (uint64_t)HO_ROUNDS * HO_MAX);
	ck_assert_uint_eq(bi->ignored, HO_ROUNDS);
	/* the main thread's own rejection each round, and the threads' */
	ck_assert_uint_eq(bi->rejected, HO_ROUNDS + rejected);
	ck_assert_uint_eq(rejected, (uint64_t)HO_ROUNDS * (TTHREADS_N * HO_TRIES - HO_MAX));
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = tevents_all(tthreads_box, &n);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_TRANSITION, FBX_CAUSE_FAIL_MAX, "trial"),
			  HO_ROUNDS);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_TRANSITION, FBX_CAUSE_TIMEOUT, "trial"),
			  HO_ROUNDS);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_TRANSITION, FBX_CAUSE_TRIALS_OK, "trial"),
			  HO_ROUNDS);
	free(ev);
}
END_TEST

/* ---- operators racing the hot path -------------------------------------- */

#define OPS 600

struct operated {
	int id;
	struct tsurprise s;
	fbx_breaker *b;
	_Atomic int *stop;
	uint64_t out[3], rejected;
};

static void *operator_thread(void *arg)
{
	struct operated *t = arg;
	int (*const act[])(fbx_breaker *, const char *) = {
		fbx_breaker_trip, fbx_breaker_release, fbx_breaker_hold, fbx_breaker_reset,
		fbx_breaker_trip, fbx_breaker_reset,   fbx_breaker_hold, fbx_breaker_release,
	};
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < OPS; i++) {
		char why[32];
		snprintf(why, sizeof(why), "op %d", i);
		int rc = act[i % ARRAY_LEN(act)](t->b, why);
		TNOTE(&t->s, rc == 0, rc);
		if (i % 16 == 0)
			sched_yield(); /* let the callers see each state for a while */
	}
	atomic_store(t->stop, 1);
	return NULL;
}

static void *operated_caller(void *arg)
{
	struct operated *t = arg;
	pthread_barrier_wait(&tline_up);
	/* a success, then three failures: enough to trip fail_max 3 on its own */
	for (int i = 0; i < 2000 || !atomic_load(t->stop); i++) {
		fbx_permit p;
		int rc = fbx_breaker_allow(t->b, &p);
		if (rc != 0) {
			TNOTE(&t->s, rc == FBX_EOPEN && (p.reason == FBX_REJECT_FORCED_OPEN ||
							p.reason == FBX_REJECT_OPEN), rc);
			t->rejected++;
			continue;
		}
		fbx_outcome o = i % 4 == 0 ? FBX_SUCCESS : i % 9 == 0 ? FBX_IGNORED : FBX_FAILURE;
		rc = fbx_breaker_done(t->b, &p, o, 0);
		TNOTE(&t->s, rc == 0, rc);
		t->out[o]++;
	}
	return NULL;
}

/* Trip, hold, release and reset from one thread while the others call
 * through: every call is counted once, every action recorded once with
 * its own reason, and each automatic trip once. */
START_TEST(manual_actions_race_calls)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 3;
	c.reset_timeout_ns = 3600 * SEC; /* the frozen clock never ends an open period */
	fbx_breaker *b = tbreaker_reg(tthreads_box, "ops", &c);
	_Atomic int stop = 0;
	struct operated t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].b = b;
		t[i].stop = &stop;
	}
	pthread_t th[TTHREADS_N];
	ck_assert_int_eq(pthread_barrier_init(&tline_up, NULL, TTHREADS_N), 0);
	ck_assert_int_eq(pthread_create(&th[0], NULL, operator_thread, &t[0]), 0);
	for (int i = 1; i < TTHREADS_N; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, operated_caller, &t[i]), 0);
	tthreads_join(th, TTHREADS_N);
	uint64_t out[3] = {0}, rejected = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		rejected += t[i].rejected;
	}
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_breaker_info *bi = tneed_breaker(s, "ops");
	ck_assert_uint_eq(bi->successes, out[FBX_SUCCESS]);
	ck_assert_uint_eq(bi->failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(bi->ignored, out[FBX_IGNORED]);
	ck_assert_uint_eq(bi->rejected, rejected);
	uint64_t trips = bi->trips;
	fbx_snapshot_free(s);

	size_t n;
	fbx_event *ev = tevents_all(tthreads_box, &n);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_MANUAL, -1, "ops"), OPS);
	size_t to_open = 0;
	bool seen[OPS] = {false};
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind == FBX_EV_TRANSITION) {
			ck_assert_int_eq(ev[i].cause, FBX_CAUSE_FAIL_MAX);
			ck_assert_int_eq(ev[i].from, FBX_CLOSED);
			ck_assert_int_eq(ev[i].to, FBX_OPEN);
			to_open++;
		}
		if (ev[i].kind != FBX_EV_MANUAL)
			continue;
		int op = -1;
		ck_assert_msg(sscanf(ev[i].reason, "op %d", &op) == 1 && op >= 0 && op < OPS,
			      "event %zu: reason '%s'", i, ev[i].reason);
		ck_assert_msg(!seen[op], "action %d recorded twice", op);
		seen[op] = true;
		ck_assert_int_eq(ev[i].pid, getpid());
		ck_assert_uint_eq(ev[i].uid, getuid());
	}
	ck_assert_uint_eq(to_open, trips);
	free(ev);
	/* nothing is left wedged */
	ck_assert_int_eq(fbx_breaker_reset(b, "end"), 0);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
}
END_TEST

FBX_TEST_SUITE(threads_breaker)
{
	Suite *s = suite_create("threads_breaker");
	TCase *tc = tcase_create("shared_handle");
	/* what make tsan selects: all the threads suites */
	tcase_set_tags(tc, "threads");
	/* ThreadSanitizer makes these several times slower; nothing waits on time */
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, tthreads_sweep);
	tcase_add_checked_fixture(tc, tthreads_setup, tthreads_teardown);
	tcase_add_test(tc, breaker_outcomes_exact);
	tcase_add_test(tc, breaker_windows_exact);
	tcase_add_test(tc, trial_permits_never_overgranted);
	tcase_add_test(tc, manual_actions_race_calls);
	suite_add_tcase(s, tc);
	return s;
}
