/*
 * test_threads.c — one box handle, opened with FBX_OPEN_THREADS, shared by
 * several threads.
 *
 * The multiproc suite shows that processes lose nothing; threads sharing a
 * handle also share its counter shard, its limiter handles' local copies
 * of the rule and its handle lists, so they get a suite of their own.
 * Every figure is exact: the snapshot's totals must equal what the threads
 * were told, and on a frozen clock limits admit exactly what the rule
 * allows.  Nothing here depends on timing, so the suite runs in plain
 * `make test`; `make tsan` runs it under ThreadSanitizer, which also sees
 * the races that do not change a total.
 *
 * Threads never call check's assertions (a failing one ends the process
 * from whichever thread it is in): they note the first surprise, and the
 * test's own thread asserts after joining them.
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
#define PREFIX "th"
#define NTHREADS 4
#define EVENTS_CAP 8192
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static fbx_box *box;
static char name[40];

/* The clock is frozen before the box exists: breaker deadlines count from
 * its creation, and limits can only be exact on a clock that stands still. */
static void setup(void)
{
	tclock_install();
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 16;
	cfg.limiters = 8;
	cfg.keys = 1024;
	cfg.events = EVENTS_CAP; /* no test here wraps the ring: event counts are exact */
	cfg.workers = 4;
	snprintf(name, sizeof(name), "%s", tname(PREFIX));
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL | FBX_OPEN_THREADS, &cfg, &box);
	ck_assert_msg(rc == 0, "create %s: %s", name, fbx_strerror(rc));
}

static void teardown(void)
{
	fbx_box_unlink(name);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

/* Runs in the runner after each test: a test that crashed or timed out
 * never reached its teardown. */
static void sweep(void)
{
	tsweep(PREFIX);
}

/* ---- what the threads share ------------------------------------------- */

struct surprise {
	int line; /* 0: none */
	int value; /* a return code, or what was seen instead */
	const char *what;
};

#define NOTE(s, cond, r)                                                                 \
	do {                                                                             \
		if (!(cond) && (s)->line == 0) {                                         \
			(s)->line = __LINE__;                                            \
			(s)->value = (r);                                                \
			(s)->what = #cond;                                               \
		}                                                                        \
	} while (0)

static void no_surprise(const struct surprise *s, int thread)
{
	ck_assert_msg(s->line == 0, "thread %d: '%s' was false at line %d (value %d%s%s)", thread,
		      s->what, s->line, s->value, s->value < 0 ? ": " : "",
		      s->value < 0 ? fbx_strerror(s->value) : "");
}

/* Every thread of a test, and the test's thread when it takes part,
 * passes this before doing anything, so they all start together. */
static pthread_barrier_t line_up;

static void start_threads(pthread_t *th, int n, void *(*fn)(void *), void *args, size_t size,
			  unsigned barrier_parties)
{
	ck_assert_int_eq(pthread_barrier_init(&line_up, NULL, barrier_parties), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * size), 0);
}

static void join_threads(pthread_t *th, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&line_up);
}

/* n threads on fn(args[i]), all started at once; returns when all are done. */
static void run_threads(int n, void *(*fn)(void *), void *args, size_t size)
{
	pthread_t th[NTHREADS * 2];
	ck_assert_int_le(n, (int)ARRAY_LEN(th));
	start_threads(th, n, fn, args, size, (unsigned)n);
	join_threads(th, n);
}

/* ---- reading the box back ----------------------------------------------- */

static fbx_snapshot *snap_of(fbx_box *bx)
{
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(bx, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(bx, s), 0);
	return s;
}

static const fbx_breaker_info *snap_breaker(const fbx_snapshot *s, const char *bname)
{
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(bi[i].name, bname) == 0) {
			ck_assert_msg(!bi[i].corrupt, "breaker %s reads as corrupt", bname);
			return &bi[i];
		}
	ck_abort_msg("no breaker %s in the snapshot", bname);
	return NULL;
}

static const fbx_limiter_info *snap_limiter(const fbx_snapshot *s, const char *lname)
{
	size_t n;
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(li[i].name, lname) == 0) {
			ck_assert_msg(!li[i].corrupt, "limiter %s reads as corrupt", lname);
			return &li[i];
		}
	ck_abort_msg("no limiter %s in the snapshot", lname);
	return NULL;
}

/* Every event so far, oldest first; none may be corrupt once the writers
 * are done, and none may have been dropped (the ring is larger than any
 * test here needs). */
static fbx_event *events_of(fbx_box *bx, size_t *n)
{
	fbx_event *ev = calloc(EVENTS_CAP, sizeof(*ev));
	ck_assert_ptr_nonnull(ev);
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(bx, 0, ev, EVENTS_CAP, n, &next), 0);
	ck_assert_uint_eq(next, *n);
	for (size_t i = 0; i < *n; i++) {
		ck_assert_uint_eq(ev[i].seq, i);
		ck_assert_msg(!ev[i].corrupt, "event %zu is corrupt with no writer left", i);
	}
	return ev;
}

static size_t count_events(const fbx_event *ev, size_t n, fbx_event_kind kind, int cause,
			   const char *rec)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ev[i].kind == kind && (cause < 0 || (int)ev[i].cause == cause) &&
		     (rec == NULL || strcmp(ev[i].name, rec) == 0);
	return k;
}

static fbx_breaker *breaker(const char *bname, const fbx_breaker_config *cfg)
{
	fbx_breaker *b = NULL;
	int rc = fbx_breaker_register(box, bname, cfg, &b);
	ck_assert_msg(rc == 0, "register %s: %s", bname, fbx_strerror(rc));
	return b;
}

static fbx_limiter *limiter_in(fbx_box *bx, const char *lname, const char *rule,
			       fbx_algorithm algo, uint32_t burst, int keyed)
{
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = rule;
	c.algorithm = algo;
	c.burst = burst;
	c.keyed = keyed;
	fbx_limiter *l = NULL;
	int rc = fbx_limiter_register(bx, lname, &c, &l);
	ck_assert_msg(rc == 0, "register %s: %s", lname, fbx_strerror(rc));
	return l;
}

static fbx_limiter *limiter(const char *lname, const char *rule, fbx_algorithm algo,
			    uint32_t burst, int keyed)
{
	return limiter_in(box, lname, rule, algo, burst, keyed);
}

/* ======================================================================
 * Breakers
 * ==================================================================== */

#define B_ITER 20000

struct outcomes {
	int id;
	struct surprise s;
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
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < B_ITER; i++) {
		fbx_outcome o = (fbx_outcome)((i + t->id) % 3);
		fbx_permit p;
		int rc;
		if (i % 8 == 0) {
			fbx_outcome got = FBX_IGNORED;
			rc = fbx_breaker_call(t->b[0], give, &o, &got, &p);
			NOTE(&t->s, rc == 0 && got == o, rc);
		} else {
			rc = fbx_breaker_allow(t->b[0], &p);
			NOTE(&t->s, rc == 0, rc);
			rc = fbx_breaker_done(t->b[0], &p, o, 0);
			NOTE(&t->s, rc == 0, rc);
		}
		t->out[o]++;
		rc = fbx_breaker_allow(t->b[1], &p);
		NOTE(&t->s, rc == FBX_EOPEN && p.reason == FBX_REJECT_FORCED_OPEN, rc);
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
	struct outcomes t[NTHREADS] = {{0}};
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].b[0] = breaker("mixed", &c);
		t[i].b[1] = breaker("forced", &c);
	}
	ck_assert_ptr_eq(t[0].b[0], t[NTHREADS - 1].b[0]); /* one handle, shared */
	ck_assert_int_eq(fbx_breaker_trip(t[0].b[1], "test"), 0);
	run_threads(NTHREADS, mixed_outcomes, t, sizeof(t[0]));
	uint64_t out[3] = {0}, rejected = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		rejected += t[i].rejected;
	}
	ck_assert_uint_eq(out[0] + out[1] + out[2], (uint64_t)NTHREADS * B_ITER);
	fbx_snapshot *s = snap_of(box);
	const fbx_breaker_info *m = snap_breaker(s, "mixed");
	ck_assert_uint_eq(m->successes, out[FBX_SUCCESS]);
	ck_assert_uint_eq(m->failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(m->ignored, out[FBX_IGNORED]);
	ck_assert_uint_eq(m->rejected, 0);
	ck_assert_uint_eq(m->trips, 0);
	ck_assert_int_eq(m->state, FBX_CLOSED);
	const fbx_breaker_info *f = snap_breaker(s, "forced");
	ck_assert_uint_eq(f->rejected, rejected);
	ck_assert_uint_eq(f->rejected, (uint64_t)NTHREADS * B_ITER);
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
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < W_ITER; i++) {
		/* Each thread starts with a quick success and never reports
		 * two failures or two slow calls in a row, so no window is
		 * ever all failures or all slow: neither 100% policy may trip. */
		fbx_outcome o = (fbx_outcome)(i % 3);
		uint64_t dur = i % 5 == 4 ? 2 * MS : 0;
		for (int k = 0; k < 2; k++) {
			fbx_permit p;
			int rc = fbx_breaker_allow(t->b[k], &p);
			NOTE(&t->s, rc == 0, rc);
			rc = fbx_breaker_done(t->b[k], &p, o, dur);
			NOTE(&t->s, rc == 0, rc);
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
	fbx_breaker *timed = breaker("timed", &c);
	c.window_calls = W_CALLS;
	fbx_breaker *counted = breaker("counted", &c);
	struct outcomes t[NTHREADS] = {{0}};
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].b[0] = timed;
		t[i].b[1] = counted;
	}
	run_threads(NTHREADS, windowed_outcomes, t, sizeof(t[0]));
	uint64_t out[3] = {0}, slow = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		slow += t[i].slow;
	}
	fbx_snapshot *s = snap_of(box);
	const char *names[2] = {"timed", "counted"};
	for (int k = 0; k < 2; k++) {
		const fbx_breaker_info *b = snap_breaker(s, names[k]);
		ck_assert_uint_eq(b->successes, out[FBX_SUCCESS]);
		ck_assert_uint_eq(b->failures, out[FBX_FAILURE]);
		ck_assert_uint_eq(b->ignored, out[FBX_IGNORED]);
		ck_assert_uint_eq(b->slow, slow);
		ck_assert_uint_eq(b->rejected, 0);
		ck_assert_uint_eq(b->trips, 0);
		ck_assert_int_eq(b->state, FBX_CLOSED);
	}
	const fbx_breaker_info *tb = snap_breaker(s, "timed");
	ck_assert_uint_eq(tb->window_calls, out[FBX_SUCCESS] + out[FBX_FAILURE]);
	ck_assert_uint_eq(tb->window_failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(tb->window_slow, slow);
	/* The ring keeps the last W_CALLS calls, less at most one per thread:
	 * a thread that took a sequence number one lap early and wrote it
	 * late hides one newer entry; each thread can do that only once in
	 * the final lap. */
	const fbx_breaker_info *cb = snap_breaker(s, "counted");
	ck_assert_uint_le(cb->window_calls, W_CALLS);
	ck_assert_uint_ge(cb->window_calls, W_CALLS - NTHREADS);
	ck_assert_uint_lt(cb->window_failures, cb->window_calls);
	fbx_snapshot_free(s);
}
END_TEST

/* ---- half-open: trial permits are leases, never over-granted ------------ */

#define HO_MAX 4
#define HO_ROUNDS 150
#define HO_TRIES 3

struct trials {
	struct surprise s;
	fbx_breaker *b;
	uint64_t admitted[HO_ROUNDS], rejected;
};

static void *trial_taker(void *arg)
{
	struct trials *t = arg;
	pthread_barrier_wait(&line_up);
	for (int r = 0; r < HO_ROUNDS; r++) {
		fbx_permit held[HO_TRIES];
		int n = 0;
		pthread_barrier_wait(&line_up); /* open, and its period is over */
		for (int k = 0; k < HO_TRIES; k++) {
			fbx_permit p;
			int rc = fbx_breaker_allow(t->b, &p);
			if (rc == 0) {
				held[n++] = p;
				continue;
			}
			NOTE(&t->s, rc == FBX_EOPEN && p.reason == FBX_REJECT_HALF_OPEN_FULL, rc);
			t->rejected++;
		}
		t->admitted[r] = (uint64_t)n;
		pthread_barrier_wait(&line_up); /* everyone has asked */
		for (int k = 0; k < n; k++) {
			int rc = fbx_breaker_done(t->b, &held[k], FBX_SUCCESS, 0);
			NOTE(&t->s, rc == 0, rc);
		}
		pthread_barrier_wait(&line_up); /* every trial reported */
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
	fbx_breaker *b = breaker("trial", &c);
	struct trials t[NTHREADS];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < NTHREADS; i++)
		t[i].b = b;
	pthread_t th[NTHREADS];
	start_threads(th, NTHREADS, trial_taker, t, sizeof(t[0]), NTHREADS + 1);
	pthread_barrier_wait(&line_up);
	for (int r = 0; r < HO_ROUNDS; r++) {
		fbx_permit p;
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
		ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
		tclock_advance_ms(1000);
		pthread_barrier_wait(&line_up);
		pthread_barrier_wait(&line_up);
		pthread_barrier_wait(&line_up);
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0); /* closed again */
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_IGNORED, 0), 0);
	}
	join_threads(th, NTHREADS);
	uint64_t rejected = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		rejected += t[i].rejected;
	}
	for (int r = 0; r < HO_ROUNDS; r++) {
		uint64_t admitted = 0;
		for (int i = 0; i < NTHREADS; i++)
			admitted += t[i].admitted[r];
		ck_assert_msg(admitted == HO_MAX, "round %d: %llu trial permits granted", r,
			      (unsigned long long)admitted);
	}
	fbx_snapshot *s = snap_of(box);
	const fbx_breaker_info *bi = snap_breaker(s, "trial");
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	ck_assert_uint_eq(bi->half_open_in_flight, 0);
	ck_assert_uint_eq(bi->trips, HO_ROUNDS);
	ck_assert_uint_eq(bi->failures, HO_ROUNDS);
	ck_assert_uint_eq(bi->successes, (uint64_t)HO_ROUNDS * HO_MAX);
	ck_assert_uint_eq(bi->ignored, HO_ROUNDS);
	/* the main thread's own rejection each round, and the threads' */
	ck_assert_uint_eq(bi->rejected, HO_ROUNDS + rejected);
	ck_assert_uint_eq(rejected, (uint64_t)HO_ROUNDS * (NTHREADS * HO_TRIES - HO_MAX));
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = events_of(box, &n);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_TRANSITION, FBX_CAUSE_FAIL_MAX, "trial"),
			  HO_ROUNDS);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_TRANSITION, FBX_CAUSE_TIMEOUT, "trial"),
			  HO_ROUNDS);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_TRANSITION, FBX_CAUSE_TRIALS_OK, "trial"),
			  HO_ROUNDS);
	free(ev);
}
END_TEST

/* ---- operators racing the hot path -------------------------------------- */

#define OPS 600

struct operated {
	int id;
	struct surprise s;
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
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < OPS; i++) {
		char why[32];
		snprintf(why, sizeof(why), "op %d", i);
		int rc = act[i % ARRAY_LEN(act)](t->b, why);
		NOTE(&t->s, rc == 0, rc);
		if (i % 16 == 0)
			sched_yield(); /* let the callers see each state for a while */
	}
	atomic_store(t->stop, 1);
	return NULL;
}

static void *operated_caller(void *arg)
{
	struct operated *t = arg;
	pthread_barrier_wait(&line_up);
	/* a success, then three failures: enough to trip fail_max 3 on its own */
	for (int i = 0; i < 2000 || !atomic_load(t->stop); i++) {
		fbx_permit p;
		int rc = fbx_breaker_allow(t->b, &p);
		if (rc != 0) {
			NOTE(&t->s, rc == FBX_EOPEN && (p.reason == FBX_REJECT_FORCED_OPEN ||
							p.reason == FBX_REJECT_OPEN), rc);
			t->rejected++;
			continue;
		}
		fbx_outcome o = i % 4 == 0 ? FBX_SUCCESS : i % 9 == 0 ? FBX_IGNORED : FBX_FAILURE;
		rc = fbx_breaker_done(t->b, &p, o, 0);
		NOTE(&t->s, rc == 0, rc);
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
	fbx_breaker *b = breaker("ops", &c);
	_Atomic int stop = 0;
	struct operated t[NTHREADS];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].b = b;
		t[i].stop = &stop;
	}
	pthread_t th[NTHREADS];
	ck_assert_int_eq(pthread_barrier_init(&line_up, NULL, NTHREADS), 0);
	ck_assert_int_eq(pthread_create(&th[0], NULL, operator_thread, &t[0]), 0);
	for (int i = 1; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, operated_caller, &t[i]), 0);
	join_threads(th, NTHREADS);
	uint64_t out[3] = {0}, rejected = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		rejected += t[i].rejected;
	}
	fbx_snapshot *s = snap_of(box);
	const fbx_breaker_info *bi = snap_breaker(s, "ops");
	ck_assert_uint_eq(bi->successes, out[FBX_SUCCESS]);
	ck_assert_uint_eq(bi->failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(bi->ignored, out[FBX_IGNORED]);
	ck_assert_uint_eq(bi->rejected, rejected);
	uint64_t trips = bi->trips;
	fbx_snapshot_free(s);

	size_t n;
	fbx_event *ev = events_of(box, &n);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_MANUAL, -1, "ops"), OPS);
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

/* ======================================================================
 * Limiters
 * ==================================================================== */

struct lim_case {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
	uint64_t per_key;  /* admitted per key and phase, the clock frozen */
	uint64_t step_ms;  /* clock moved between phases: every budget whole again */
};

static const struct lim_case lim_cases[] = {
	{"100/minute", FBX_ALGO_WINDOW, 1, 0, 100, 120000},
	{"40/minute", FBX_ALGO_WINDOW, 1, 1, 40, 120000},
	{"20/second;30/minute", FBX_ALGO_WINDOW, 1, 1, 20, 120000},
	{"600/minute", FBX_ALGO_GCRA, 50, 0, 50, 120000},
	{"90/second", FBX_ALGO_GCRA, 30, 1, 30, 2000},
	{"10/second;100/minute", FBX_ALGO_GCRA, 10, 1, 10, 120000},
};

#define L_PHASES 6
#define L_TAKES 400
#define L_KEYS 8

struct takes {
	int id;
	struct surprise s;
	fbx_limiter *l;
	int keyed;
	uint64_t admitted[L_PHASES], denied;
};

static void *phase_taker(void *arg)
{
	struct takes *t = arg;
	for (int ph = 0; ph < L_PHASES; ph++) {
		pthread_barrier_wait(&line_up); /* the clock has moved on */
		for (int i = 0; i < L_TAKES; i++) {
			/* the same keys in the same order in every thread: they
			 * insert each new key into the table at the same moment */
			char key[8];
			int len = snprintf(key, sizeof(key), "k%d", i % L_KEYS);
			fbx_limit_result r;
			int rc = fbx_limiter_take(t->l, t->keyed ? key : NULL,
						  t->keyed ? (size_t)len : 0, 1, &r);
			if (rc == 0) {
				NOTE(&t->s, r.allowed && r.remaining < r.limit, rc);
				t->admitted[ph]++;
			} else {
				NOTE(&t->s, rc == FBX_ELIMITED && !r.allowed && r.retry_after_ns > 0, rc);
				t->denied++;
			}
		}
		pthread_barrier_wait(&line_up); /* phase over */
	}
	return NULL;
}

/* Phase after phase, every thread takes from the same keys on a frozen
 * clock: each key admits exactly its budget, no more and no less. */
START_TEST(limiter_frozen_clock_exact)
{
	const struct lim_case *lc = &lim_cases[_i];
	fbx_limiter *l = limiter("lim", lc->rule, lc->algo, lc->burst, lc->keyed);
	struct takes t[NTHREADS];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].keyed = lc->keyed;
	}
	pthread_t th[NTHREADS];
	start_threads(th, NTHREADS, phase_taker, t, sizeof(t[0]), NTHREADS + 1);
	for (int ph = 0; ph < L_PHASES; ph++) {
		pthread_barrier_wait(&line_up);
		pthread_barrier_wait(&line_up);
		tclock_advance_ms(lc->step_ms);
	}
	join_threads(th, NTHREADS);
	uint64_t keys = lc->keyed ? L_KEYS : 1, admitted = 0, denied = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		denied += t[i].denied;
	}
	for (int ph = 0; ph < L_PHASES; ph++) {
		uint64_t got = 0;
		for (int i = 0; i < NTHREADS; i++)
			got += t[i].admitted[ph];
		ck_assert_msg(got == lc->per_key * keys, "%s, phase %d: %llu admitted, expected %llu",
			      lc->rule, ph, (unsigned long long)got,
			      (unsigned long long)(lc->per_key * keys));
		admitted += got;
	}
	fbx_snapshot *s = snap_of(box);
	const fbx_limiter_info *li = snap_limiter(s, "lim");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	ck_assert_uint_eq(li->allowed + li->denied, (uint64_t)NTHREADS * L_PHASES * L_TAKES);
	ck_assert_uint_eq(li->dry_run_denied, 0);
	if (lc->keyed) {
		ck_assert_uint_eq(li->keys, L_KEYS); /* one entry per key, however raced */
		ck_assert_uint_eq(li->evictions, 0);
	}
	fbx_snapshot_free(s);
}
END_TEST

/* ---- live changes racing takes ------------------------------------------ */

#define SETS 800

struct changes {
	int id;
	struct surprise s;
	fbx_limiter *l;
	const char *const *rules;
	size_t nrules;
	_Atomic int *setters_left;
	int keys; /* 0: a global limiter */
	uint64_t admitted, denied, dry, sets;
};

static void *rule_setter(void *arg)
{
	struct changes *t = arg;
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < SETS; i++) {
		int rc = fbx_limiter_set_rule(t->l, t->rules[(size_t)(i + t->id) % t->nrules]);
		NOTE(&t->s, rc == 0, rc);
		t->sets++;
	}
	atomic_fetch_sub(t->setters_left, 1);
	return NULL;
}

static void *dry_run_toggler(void *arg)
{
	struct changes *t = arg;
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < SETS; i++) {
		int rc = fbx_limiter_set_dry_run(t->l, i % 2 == 0); /* ends off */
		NOTE(&t->s, rc == 0, rc);
		t->sets++;
	}
	atomic_fetch_sub(t->setters_left, 1);
	return NULL;
}

static void *change_taker(void *arg)
{
	struct changes *t = arg;
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < 1000 || atomic_load(t->setters_left) > 0; i++) {
		char key[16];
		int len = t->keys ? snprintf(key, sizeof(key), "e%d", (i * 7 + t->id) % t->keys) : 0;
		fbx_limit_result r;
		int rc = fbx_limiter_take(t->l, t->keys ? key : NULL, (size_t)len, 1, &r);
		if (rc == 0 && r.dry_run_denied) {
			t->dry++;
		} else if (rc == 0) {
			NOTE(&t->s, r.allowed, rc);
			t->admitted++;
		} else {
			NOTE(&t->s, rc == FBX_ELIMITED && !r.allowed, rc);
			t->denied++;
		}
	}
	return NULL;
}

struct rule_case {
	fbx_algorithm algo;
	uint32_t burst;
	const char *rules[3];
	const char *final;
	uint64_t total; /* admitted over the race plus the final drain */
};

/* Window: the same period, so the count carries over every change and
 * never passes the largest limit; the final drain at 20/minute fills it
 * to exactly 20.  GCRA: burst 5 and an emission interval of exactly 10 s
 * in every rule, so however the changes interleave, 5 are admitted. */
static const struct rule_case rule_cases[] = {
	{FBX_ALGO_WINDOW, 1, {"10/minute", "20/minute", "15/minute;1000/hour"}, "20/minute", 20},
	{FBX_ALGO_GCRA, 5, {"10/minute", "16/2 minutes", "364/hour"}, "10/minute", 5},
};

/* Two operators change the rule while two threads take: every take is
 * decided by one whole rule (never an error from a copy caught midway),
 * counted once, and the limit holds across the changes. */
START_TEST(rule_changes_race_takes)
{
	const struct rule_case *rc = &rule_cases[_i];
	fbx_limiter *l = limiter("live", rc->rules[0], rc->algo, rc->burst, 0);
	_Atomic int setters_left = 2;
	struct changes t[NTHREADS];
	memset(t, 0, sizeof(t));
	pthread_t th[NTHREADS];
	ck_assert_int_eq(pthread_barrier_init(&line_up, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].rules = rc->rules;
		t[i].nrules = ARRAY_LEN(rc->rules);
		t[i].setters_left = &setters_left;
		ck_assert_int_eq(pthread_create(&th[i], NULL, i < 2 ? rule_setter : change_taker,
						&t[i]), 0);
	}
	join_threads(th, NTHREADS);
	uint64_t admitted = 0, denied = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		admitted += t[i].admitted;
		denied += t[i].denied;
	}
	ck_assert_uint_le(admitted, rc->total);
	ck_assert_int_eq(fbx_limiter_set_rule(l, rc->final), 0);
	fbx_limit_result r;
	int got;
	while ((got = fbx_limiter_take(l, NULL, 0, 1, &r)) == 0)
		admitted++;
	ck_assert_int_eq(got, FBX_ELIMITED);
	denied++;
	ck_assert_uint_eq(admitted, rc->total);

	fbx_snapshot *s = snap_of(box);
	const fbx_limiter_info *li = snap_limiter(s, "live");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	fbx_rule want;
	ck_assert_int_eq(fbx_rule_parse(rc->final, &want, NULL), 0);
	ck_assert_uint_eq(li->parsed.n, want.n);
	ck_assert_uint_eq(li->parsed.limit[0].count, want.limit[0].count);
	ck_assert_uint_eq(li->parsed.limit[0].period_ns, want.limit[0].period_ns);
	ck_assert_uint_eq(li->burst, rc->burst);
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = events_of(box, &n);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_RULE, "live"), 2 * SETS + 1);
	free(ev);
}
END_TEST

/* A key table far smaller than the keys in use: entries are evicted and
 * reused under the takers while the rule changes (choosing a victim reads
 * its limiter's rule).  Every take is still decided and counted once, and
 * the table never holds more keys than it has entries. */
#define EVICT_KEYS 96

START_TEST(full_key_table_races_takes)
{
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 1;
	cfg.limiters = 2;
	cfg.keys = 16; /* 3 buckets of 8 entries */
	cfg.events = 1024;
	cfg.workers = 4;
	char tiny[40];
	snprintf(tiny, sizeof(tiny), "%s", tname(PREFIX));
	fbx_box *bx = NULL;
	int rc = fbx_box_open(tiny, FBX_OPEN_CREATE | FBX_OPEN_EXCL | FBX_OPEN_THREADS, &cfg, &bx);
	ck_assert_msg(rc == 0, "create %s: %s", tiny, fbx_strerror(rc));
	static const char *const rules[] = {"50/minute", "60/minute"};
	fbx_limiter *l = limiter_in(bx, "evict", rules[0], FBX_ALGO_WINDOW, 1, 1);
	_Atomic int setters_left = 1;
	struct changes t[NTHREADS];
	memset(t, 0, sizeof(t));
	pthread_t th[NTHREADS];
	ck_assert_int_eq(pthread_barrier_init(&line_up, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].rules = rules;
		t[i].nrules = ARRAY_LEN(rules);
		t[i].setters_left = &setters_left;
		t[i].keys = EVICT_KEYS;
		ck_assert_int_eq(pthread_create(&th[i], NULL, i == 0 ? rule_setter : change_taker,
						&t[i]), 0);
	}
	join_threads(th, NTHREADS);
	uint64_t admitted = 0, denied = 0, takes = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		admitted += t[i].admitted;
		denied += t[i].denied;
		takes += t[i].admitted + t[i].denied + t[i].dry;
	}
	ck_assert_uint_eq(admitted + denied, takes);
	fbx_snapshot *s = snap_of(bx);
	const fbx_limiter_info *li = snap_limiter(s, "evict");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	ck_assert_uint_le(li->keys, 3 * 8);
	ck_assert_uint_gt(li->evictions, 0);
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = events_of(bx, &n);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_RULE, "evict"), SETS);
	free(ev);
	fbx_box_unlink(tiny);
	fbx_box_close(bx);
}
END_TEST

/* Dry-run switched on and off while threads take: a would-be denial in
 * dry-run consumes nothing, so exactly the budget is admitted, and the
 * three counts match what the callers were told. */
START_TEST(dry_run_switch_races_takes)
{
	fbx_limiter *l = limiter("dry", "5/minute", FBX_ALGO_WINDOW, 1, 0);
	_Atomic int setters_left = 1;
	struct changes t[NTHREADS];
	memset(t, 0, sizeof(t));
	pthread_t th[NTHREADS];
	ck_assert_int_eq(pthread_barrier_init(&line_up, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].setters_left = &setters_left;
		ck_assert_int_eq(pthread_create(&th[i], NULL, i == 0 ? dry_run_toggler : change_taker,
						&t[i]), 0);
	}
	join_threads(th, NTHREADS);
	uint64_t admitted = 0, denied = 0, dry = 0;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		admitted += t[i].admitted;
		denied += t[i].denied;
		dry += t[i].dry;
	}
	ck_assert_uint_eq(admitted, 5);
	fbx_snapshot *s = snap_of(box);
	const fbx_limiter_info *li = snap_limiter(s, "dry");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	ck_assert_uint_eq(li->dry_run_denied, dry);
	ck_assert_int_eq(li->dry_run, 0);
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = events_of(box, &n);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_ON, "dry"), SETS / 2);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_OFF, "dry"), SETS / 2);
	free(ev);
}
END_TEST

/* ======================================================================
 * Readers racing writers
 * ==================================================================== */

#define RW_ITER 6000

struct rw {
	int id;
	struct surprise s;
	_Atomic int *stop;
	fbx_breaker *b;
	fbx_limiter *keyed, *global;
	/* writers */
	uint64_t out[3], rejected, allowed, denied, manual, config;
	/* readers */
	uint64_t snapshots, seen;
};

static void *rw_writer(void *arg)
{
	struct rw *t = arg;
	pthread_barrier_wait(&line_up);
	for (int i = 0; i < RW_ITER; i++) {
		fbx_permit p;
		int rc = fbx_breaker_allow(t->b, &p);
		if (rc == 0) {
			fbx_outcome o = (fbx_outcome)(i % 2);
			rc = fbx_breaker_done(t->b, &p, o, 0);
			NOTE(&t->s, rc == 0, rc);
			t->out[o]++;
		} else {
			NOTE(&t->s, rc == FBX_EOPEN, rc);
			t->rejected++;
		}
		char key[8];
		int len = snprintf(key, sizeof(key), "u%d", i % 16);
		fbx_limit_result r;
		fbx_limiter *both[2] = {t->keyed, t->global};
		for (int k = 0; k < 2; k++) {
			rc = fbx_limiter_take(both[k], k == 0 ? key : NULL, k == 0 ? (size_t)len : 0, 1,
					      &r);
			NOTE(&t->s, rc == 0 || rc == FBX_ELIMITED, rc);
			if (rc == 0 && !r.dry_run_denied)
				t->allowed++;
			else
				t->denied++; /* dry-run denials and denials alike */
		}
		if (i % 50 == t->id) {
			NOTE(&t->s, (rc = fbx_breaker_trip(t->b, "rw")) == 0, rc);
			NOTE(&t->s, (rc = fbx_breaker_release(t->b, "rw")) == 0, rc);
			t->manual += 2;
		}
		if (i % 100 == t->id) {
			NOTE(&t->s, (rc = fbx_limiter_set_dry_run(t->global, i % 200 < 100)) == 0, rc);
			NOTE(&t->s, (rc = fbx_limiter_set_rule(t->keyed, i % 300 < 100 ? "900/minute"
										       : "1000/minute")) == 0,
			     rc);
			t->config += 2;
		}
	}
	return NULL;
}

static bool known_name(const char *n)
{
	return strcmp(n, "rwb") == 0 || strcmp(n, "rwk") == 0 || strcmp(n, "rwg") == 0;
}

static void check_event(struct surprise *s, const fbx_event *e)
{
	if (e->corrupt)
		return;
	NOTE(s, e->kind >= FBX_EV_TRANSITION && e->kind <= FBX_EV_CONFIG, (int)e->kind);
	NOTE(s, e->cause < FBX_CAUSE_COUNT, (int)e->cause);
	NOTE(s, known_name(e->name), 0);
}

static void *snapshot_reader(void *arg)
{
	struct rw *t = arg;
	pthread_barrier_wait(&line_up);
	fbx_snapshot *snap;
	int rc = fbx_snapshot_new(box, &snap);
	NOTE(&t->s, rc == 0, rc);
	if (rc != 0)
		return NULL;
	uint64_t last[5] = {0};
	do {
		rc = fbx_snapshot_take(box, snap);
		NOTE(&t->s, rc == 0, rc);
		t->snapshots++;
		size_t nb, nl, ne;
		uint64_t dropped;
		const fbx_breaker_info *bi = fbx_snapshot_breakers(snap, &nb);
		const fbx_limiter_info *li = fbx_snapshot_limiters(snap, &nl);
		const fbx_event *ev = fbx_snapshot_events(snap, &ne, &dropped);
		NOTE(&t->s, nb == 1 && nl == 2 && dropped == 0, (int)(nb * 10 + nl));
		if (nb != 1 || nl != 2)
			break;
		NOTE(&t->s, !bi[0].corrupt && !li[0].corrupt && !li[1].corrupt, 0);
		/* counters never go back between two snapshots of one reader */
		uint64_t now[5] = {bi[0].successes, bi[0].failures, bi[0].rejected,
				   li[0].allowed + li[0].denied, li[1].allowed + li[1].denied};
		for (int k = 0; k < 5; k++) {
			NOTE(&t->s, now[k] >= last[k], k);
			last[k] = now[k];
		}
		const char *rule = strcmp(li[0].name, "rwk") == 0 ? li[0].rule : li[1].rule;
		NOTE(&t->s, strcmp(rule, "900/minute") == 0 || strcmp(rule, "1000/minute") == 0, 0);
		for (size_t i = 0; i < ne; i++) {
			NOTE(&t->s, ev[i].seq == i, (int)i);
			check_event(&t->s, &ev[i]);
		}
	} while (!atomic_load(t->stop));
	fbx_snapshot_free(snap);
	return NULL;
}

/* Reads on from where it stopped, as `fuseboxctl events --follow` does.
 * An event still being written is "not yet" to fbx_events_read, so with
 * no writer killed or stopped a follower is handed each event once, whole. */
static void *event_follower(void *arg)
{
	struct rw *t = arg;
	fbx_event batch[32];
	uint64_t next = 0;
	pthread_barrier_wait(&line_up);
	for (bool last_round = false;;) {
		size_t n;
		int rc = fbx_events_read(box, next, batch, ARRAY_LEN(batch), &n, &next);
		NOTE(&t->s, rc == 0, rc);
		if (rc != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			NOTE(&t->s, batch[i].seq == t->seen, (int)batch[i].seq);
			NOTE(&t->s, !batch[i].corrupt, (int)batch[i].seq);
			check_event(&t->s, &batch[i]);
			t->seen++;
		}
		NOTE(&t->s, next == t->seen, (int)next);
		if (n == ARRAY_LEN(batch))
			continue;
		if (last_round)
			break;
		last_round = atomic_load(t->stop); /* one more read after the writers are done */
	}
	return NULL;
}

/* Snapshots and an event follower run while writers call, take, trip,
 * release and change limiters: readers never see a damaged record, a
 * counter going back, or an event twice or out of order, and once the
 * writers are done the totals and the event count are exact. */
START_TEST(readers_race_writers)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 4000000000u;
	fbx_breaker *b = breaker("rwb", &c);
	fbx_limiter *keyed = limiter("rwk", "1000/minute", FBX_ALGO_WINDOW, 1, 1);
	fbx_limiter *global = limiter("rwg", "3000/minute", FBX_ALGO_GCRA, 100, 0);
	_Atomic int stop = 0;
	struct rw t[NTHREADS];
	memset(t, 0, sizeof(t));
	pthread_t th[NTHREADS];
	ck_assert_int_eq(pthread_barrier_init(&line_up, NULL, NTHREADS), 0);
	void *(*const roles[NTHREADS])(void *) = {rw_writer, rw_writer, snapshot_reader,
						   event_follower};
	for (int i = 0; i < NTHREADS; i++) {
		t[i].id = i;
		t[i].stop = &stop;
		t[i].b = b;
		t[i].keyed = keyed;
		t[i].global = global;
		ck_assert_int_eq(pthread_create(&th[i], NULL, roles[i], &t[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	atomic_store(&stop, 1);
	for (int i = 2; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&line_up);

	uint64_t out[3] = {0}, rejected = 0, allowed = 0, denied = 0, events = 3;
	for (int i = 0; i < NTHREADS; i++) {
		no_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		rejected += t[i].rejected;
		allowed += t[i].allowed;
		denied += t[i].denied;
		events += t[i].manual + t[i].config;
	}
	ck_assert_uint_gt(t[2].snapshots, 0);
	ck_assert_uint_eq(t[3].seen, events); /* each event handed over once */
	fbx_snapshot *s = snap_of(box);
	const fbx_breaker_info *bi = snap_breaker(s, "rwb");
	ck_assert_uint_eq(bi->successes, out[FBX_SUCCESS]);
	ck_assert_uint_eq(bi->failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(bi->rejected, rejected);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	const fbx_limiter_info *lk = snap_limiter(s, "rwk"), *lg = snap_limiter(s, "rwg");
	ck_assert_uint_eq(lk->allowed + lg->allowed, allowed);
	ck_assert_uint_eq(lk->denied + lk->dry_run_denied + lg->denied + lg->dry_run_denied, denied);
	ck_assert_uint_eq(lk->keys, 16);
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = events_of(box, &n);
	ck_assert_uint_eq(n, events);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_REGISTER, -1, NULL), 3);
	free(ev);
}
END_TEST

/* ======================================================================
 * Registering and finding the same names at once
 * ==================================================================== */

#define REG_NAMES 15 /* plus "dup": the box's 16 breaker records */
#define REG_LIMS 7   /* plus "ldup": its 8 limiter records */

struct reg {
	int id;
	struct surprise s;
	fbx_breaker *b[REG_NAMES], *found[REG_NAMES];
	fbx_limiter *l[REG_LIMS], *lfound[REG_LIMS];
	int dup_rc, ldup_rc;
};

static void *registrar(void *arg)
{
	struct reg *t = arg;
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "50/minute";
	pthread_barrier_wait(&line_up);
	for (int k = 0; k < REG_NAMES; k++) {
		/* each thread starts elsewhere in the list, and looks up the
		 * name it will register next, which may or may not exist yet */
		int i = (k + t->id * 4) % REG_NAMES, j = (i + 1) % REG_NAMES;
		char bn[16], next[16];
		snprintf(bn, sizeof(bn), "n%02d", i);
		snprintf(next, sizeof(next), "n%02d", j);
		fbx_breaker *f = NULL;
		int rc = fbx_breaker_find(box, next, &f);
		NOTE(&t->s, rc == 0 || rc == FBX_ENOENT, rc);
		if (rc == 0)
			t->found[j] = f;
		rc = fbx_breaker_register(box, bn, &c, &t->b[i]);
		NOTE(&t->s, rc == 0, rc);
		if (k < REG_LIMS) {
			i = (k + t->id * 2) % REG_LIMS;
			j = (i + 1) % REG_LIMS;
			snprintf(bn, sizeof(bn), "l%d", i);
			snprintf(next, sizeof(next), "l%d", j);
			fbx_limiter *lf = NULL;
			rc = fbx_limiter_find(box, next, &lf);
			NOTE(&t->s, rc == 0 || rc == FBX_ENOENT, rc);
			if (rc == 0)
				t->lfound[j] = lf;
			rc = fbx_limiter_register(box, bn, &lc, &t->l[i]);
			NOTE(&t->s, rc == 0, rc);
		}
	}
	/* Half the threads want one configuration, half another. */
	c.fail_max = t->id % 2 ? 6 : 5;
	fbx_breaker *d;
	t->dup_rc = fbx_breaker_register(box, "dup", &c, &d);
	lc.rule = t->id % 2 ? "6/minute" : "5/minute";
	fbx_limiter *ld;
	t->ldup_rc = fbx_limiter_register(box, "ldup", &lc, &ld);
	return NULL;
}

/* One record per name, however many threads register or look it up at
 * once; every thread gets the same handle for it; a name wanted with two
 * configurations goes to exactly one of them. */
START_TEST(same_names_at_once)
{
	struct reg t[NTHREADS];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < NTHREADS; i++)
		t[i].id = i;
	run_threads(NTHREADS, registrar, t, sizeof(t[0]));
	for (int i = 0; i < NTHREADS; i++)
		no_surprise(&t[i].s, i);
	for (int k = 0; k < REG_NAMES; k++) {
		char bn[16];
		snprintf(bn, sizeof(bn), "n%02d", k);
		ck_assert_ptr_nonnull(t[0].b[k]);
		ck_assert_str_eq(fbx_breaker_name(t[0].b[k]), bn);
		for (int i = 0; i < NTHREADS; i++) {
			ck_assert_ptr_eq(t[i].b[k], t[0].b[k]);
			if (t[i].found[k] != NULL)
				ck_assert_ptr_eq(t[i].found[k], t[0].b[k]);
		}
	}
	for (int k = 0; k < REG_LIMS; k++) {
		char ln[16];
		snprintf(ln, sizeof(ln), "l%d", k);
		ck_assert_ptr_nonnull(t[0].l[k]);
		ck_assert_str_eq(fbx_limiter_name(t[0].l[k]), ln);
		for (int i = 0; i < NTHREADS; i++) {
			ck_assert_ptr_eq(t[i].l[k], t[0].l[k]);
			if (t[i].lfound[k] != NULL)
				ck_assert_ptr_eq(t[i].lfound[k], t[0].l[k]);
		}
	}
	/* the first registrar of "dup" chose its configuration; the threads
	 * that wanted the same one share it, the others are refused */
	int winner = t[0].dup_rc == 0 ? 0 : 1, lwinner = t[0].ldup_rc == 0 ? 0 : 1;
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(t[i].dup_rc, i % 2 == winner ? 0 : FBX_ECONFLICT);
		ck_assert_int_eq(t[i].ldup_rc, i % 2 == lwinner ? 0 : FBX_ECONFLICT);
	}
	fbx_snapshot *s = snap_of(box);
	size_t nb, nl;
	fbx_snapshot_breakers(s, &nb);
	fbx_snapshot_limiters(s, &nl);
	ck_assert_uint_eq(nb, REG_NAMES + 1);
	ck_assert_uint_eq(nl, REG_LIMS + 1);
	ck_assert_uint_eq(snap_breaker(s, "dup")->config.fail_max, winner ? 6u : 5u);
	ck_assert_uint_eq(snap_limiter(s, "ldup")->parsed.limit[0].count, lwinner ? 6u : 5u);
	fbx_snapshot_free(s);
	/* every record is taken: one more name does not fit */
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *extra;
	ck_assert_int_eq(fbx_breaker_register(box, "extra", &c, &extra), FBX_EFULL);
	size_t n;
	fbx_event *ev = events_of(box, &n);
	ck_assert_uint_eq(n, REG_NAMES + 1 + REG_LIMS + 1);
	ck_assert_uint_eq(count_events(ev, n, FBX_EV_REGISTER, FBX_CAUSE_CREATED, NULL), n);
	free(ev);
}
END_TEST

FBX_TEST_SUITE(threads)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("shared_handle");
	/* ThreadSanitizer makes these several times slower; nothing waits on time */
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, breaker_outcomes_exact);
	tcase_add_test(tc, breaker_windows_exact);
	tcase_add_test(tc, trial_permits_never_overgranted);
	tcase_add_test(tc, manual_actions_race_calls);
	tcase_add_loop_test(tc, limiter_frozen_clock_exact, 0, (int)ARRAY_LEN(lim_cases));
	tcase_add_loop_test(tc, rule_changes_race_takes, 0, (int)ARRAY_LEN(rule_cases));
	tcase_add_test(tc, full_key_table_races_takes);
	tcase_add_test(tc, dry_run_switch_races_takes);
	tcase_add_test(tc, readers_race_writers);
	tcase_add_test(tc, same_names_at_once);
	suite_add_tcase(s, tc);
	return s;
}
