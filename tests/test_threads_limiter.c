/*
 * test_threads_limiter.c — limiters on one handle (FBX_OPEN_THREADS)
 * shared by threads: exact admissions on a frozen clock, rule and dry-run
 * changes racing takes, and a full key table under racing inserts.
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
	struct tsurprise s;
	fbx_limiter *l;
	int keyed;
	uint64_t admitted[L_PHASES], denied;
};

static void *phase_taker(void *arg)
{
	struct takes *t = arg;
	for (int ph = 0; ph < L_PHASES; ph++) {
		pthread_barrier_wait(&tline_up); /* the clock has moved on */
		for (int i = 0; i < L_TAKES; i++) {
			/* the same keys in the same order in every thread: they
			 * insert each new key into the table at the same moment */
			char key[8];
			int len = snprintf(key, sizeof(key), "k%d", i % L_KEYS);
			fbx_limit_result r;
			int rc = fbx_limiter_take(t->l, t->keyed ? key : NULL,
						  t->keyed ? (size_t)len : 0, 1, &r);
			if (rc == 0) {
				TNOTE(&t->s, r.allowed && r.remaining < r.limit, rc);
				t->admitted[ph]++;
			} else {
				TNOTE(&t->s, rc == FBX_ELIMITED && !r.allowed && r.retry_after_ns > 0, rc);
				t->denied++;
			}
		}
		pthread_barrier_wait(&tline_up); /* phase over */
	}
	return NULL;
}

/* Phase after phase, every thread takes from the same keys on a frozen
 * clock: each key admits exactly its budget, no more and no less. */
START_TEST(limiter_frozen_clock_exact)
{
	const struct lim_case *lc = &lim_cases[_i];
	fbx_limiter *l = tlim_reg(tthreads_box, "lim", lc->rule, lc->algo, lc->burst, lc->keyed, 0);
	struct takes t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].keyed = lc->keyed;
	}
	pthread_t th[TTHREADS_N];
	tthreads_start(th, TTHREADS_N, phase_taker, t, sizeof(t[0]), TTHREADS_N + 1);
	for (int ph = 0; ph < L_PHASES; ph++) {
		pthread_barrier_wait(&tline_up);
		pthread_barrier_wait(&tline_up);
		tclock_advance_ms(lc->step_ms);
	}
	tthreads_join(th, TTHREADS_N);
	uint64_t keys = lc->keyed ? L_KEYS : 1, admitted = 0, denied = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		denied += t[i].denied;
	}
	for (int ph = 0; ph < L_PHASES; ph++) {
		uint64_t got = 0;
		for (int i = 0; i < TTHREADS_N; i++)
			got += t[i].admitted[ph];
		ck_assert_msg(got == lc->per_key * keys, "%s, phase %d: %llu admitted, expected %llu",
			      lc->rule, ph, (unsigned long long)got,
			      (unsigned long long)(lc->per_key * keys));
		admitted += got;
	}
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_limiter_info *li = tneed_limiter(s, "lim");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	ck_assert_uint_eq(li->allowed + li->denied, (uint64_t)TTHREADS_N * L_PHASES * L_TAKES);
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
	struct tsurprise s;
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
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < SETS; i++) {
		int rc = fbx_limiter_set_rule(t->l, t->rules[(size_t)(i + t->id) % t->nrules], NULL);
		TNOTE(&t->s, rc == 0, rc);
		t->sets++;
	}
	atomic_fetch_sub(t->setters_left, 1);
	return NULL;
}

static void *dry_run_toggler(void *arg)
{
	struct changes *t = arg;
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < SETS; i++) {
		int rc = fbx_limiter_set_dry_run(t->l, i % 2 == 0, NULL); /* ends off */
		TNOTE(&t->s, rc == 0, rc);
		t->sets++;
	}
	atomic_fetch_sub(t->setters_left, 1);
	return NULL;
}

static void *change_taker(void *arg)
{
	struct changes *t = arg;
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < 1000 || atomic_load(t->setters_left) > 0; i++) {
		char key[16];
		int len = t->keys ? snprintf(key, sizeof(key), "e%d", (i * 7 + t->id) % t->keys) : 0;
		fbx_limit_result r;
		int rc = fbx_limiter_take(t->l, t->keys ? key : NULL, (size_t)len, 1, &r);
		if (rc == 0 && r.dry_run_denied) {
			t->dry++;
		} else if (rc == 0) {
			TNOTE(&t->s, r.allowed, rc);
			t->admitted++;
		} else {
			TNOTE(&t->s, rc == FBX_ELIMITED && !r.allowed, rc);
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
	{FBX_ALGO_GCRA, 5, {"6/minute", "12/2 minutes", "360/hour"}, "6/minute", 5},
};

/* Two operators change the rule while two threads take: every take is
 * decided by one whole rule (never an error from a copy caught midway),
 * counted once, and the limit holds across the changes. */
START_TEST(rule_changes_race_takes)
{
	const struct rule_case *rc = &rule_cases[_i];
	fbx_limiter *l = tlim_reg(tthreads_box, "live", rc->rules[0], rc->algo, rc->burst, 0, 0);
	_Atomic int setters_left = 2;
	struct changes t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	pthread_t th[TTHREADS_N];
	ck_assert_int_eq(pthread_barrier_init(&tline_up, NULL, TTHREADS_N), 0);
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].rules = rc->rules;
		t[i].nrules = ARRAY_LEN(rc->rules);
		t[i].setters_left = &setters_left;
		ck_assert_int_eq(pthread_create(&th[i], NULL, i < 2 ? rule_setter : change_taker,
						&t[i]), 0);
	}
	tthreads_join(th, TTHREADS_N);
	uint64_t admitted = 0, denied = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		admitted += t[i].admitted;
		denied += t[i].denied;
	}
	ck_assert_uint_le(admitted, rc->total);
	ck_assert_int_eq(fbx_limiter_set_rule(l, rc->final, NULL), 0);
	fbx_limit_result r;
	int got;
	while ((got = fbx_limiter_take(l, NULL, 0, 1, &r)) == 0)
		admitted++;
	ck_assert_int_eq(got, FBX_ELIMITED);
	denied++;
	ck_assert_uint_eq(admitted, rc->total);

	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_limiter_info *li = tneed_limiter(s, "live");
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
	fbx_event *ev = tevents_all(tthreads_box, &n);
	/* a set of the rule in force records nothing, and which sets found
	 * their rule in force depends on how the two setters interleaved */
	uint64_t changes = tcount_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_RULE, "live");
	ck_assert_uint_ge(changes, 1);
	ck_assert_uint_le(changes, 2 * SETS + 1);
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
	snprintf(tiny, sizeof(tiny), "%s", tname(TTHREADS_PREFIX));
	fbx_box *bx = NULL;
	int rc = fbx_box_open(tiny, FBX_OPEN_CREATE | FBX_OPEN_EXCL | FBX_OPEN_THREADS, &cfg, &bx);
	ck_assert_msg(rc == 0, "create %s: %s", tiny, fbx_strerror(rc));
	static const char *const rules[] = {"50/minute", "60/minute"};
	fbx_limiter *l = tlim_reg(bx, "evict", rules[0], FBX_ALGO_WINDOW, 1, 1, 0);
	_Atomic int setters_left = 1;
	struct changes t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	pthread_t th[TTHREADS_N];
	ck_assert_int_eq(pthread_barrier_init(&tline_up, NULL, TTHREADS_N), 0);
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].rules = rules;
		t[i].nrules = ARRAY_LEN(rules);
		t[i].setters_left = &setters_left;
		t[i].keys = EVICT_KEYS;
		ck_assert_int_eq(pthread_create(&th[i], NULL, i == 0 ? rule_setter : change_taker,
						&t[i]), 0);
	}
	tthreads_join(th, TTHREADS_N);
	uint64_t admitted = 0, denied = 0, takes = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		admitted += t[i].admitted;
		denied += t[i].denied;
		takes += t[i].admitted + t[i].denied + t[i].dry;
	}
	ck_assert_uint_eq(admitted + denied, takes);
	fbx_snapshot *s = tsnap_of(bx);
	const fbx_limiter_info *li = tneed_limiter(s, "evict");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	ck_assert_uint_le(li->keys, 3 * 8);
	ck_assert_uint_gt(li->evictions, 0);
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = tevents_all(bx, &n);
	/* one setter: its first set is the rule registered, which records
	 * nothing; every later one alternates, a change each */
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_RULE, "evict"), SETS - 1);
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
	fbx_limiter *l = tlim_reg(tthreads_box, "dry", "5/minute", FBX_ALGO_WINDOW, 1, 0, 0);
	_Atomic int setters_left = 1;
	struct changes t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	pthread_t th[TTHREADS_N];
	ck_assert_int_eq(pthread_barrier_init(&tline_up, NULL, TTHREADS_N), 0);
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].l = l;
		t[i].setters_left = &setters_left;
		ck_assert_int_eq(pthread_create(&th[i], NULL, i == 0 ? dry_run_toggler : change_taker,
						&t[i]), 0);
	}
	tthreads_join(th, TTHREADS_N);
	uint64_t admitted = 0, denied = 0, dry = 0;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		admitted += t[i].admitted;
		denied += t[i].denied;
		dry += t[i].dry;
	}
	ck_assert_uint_eq(admitted, 5);
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_limiter_info *li = tneed_limiter(s, "dry");
	ck_assert_uint_eq(li->allowed, admitted);
	ck_assert_uint_eq(li->denied, denied);
	ck_assert_uint_eq(li->dry_run_denied, dry);
	ck_assert_int_eq(li->dry_run, 0);
	fbx_snapshot_free(s);
	size_t n;
	fbx_event *ev = tevents_all(tthreads_box, &n);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_ON, "dry"), SETS / 2);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_OFF, "dry"), SETS / 2);
	free(ev);
}
END_TEST

FBX_TEST_SUITE(threads_limiter)
{
	Suite *s = suite_create("threads_limiter");
	TCase *tc = tcase_create("shared_handle");
	/* what make tsan selects: all the threads suites */
	tcase_set_tags(tc, "threads");
	/* ThreadSanitizer makes these several times slower; nothing waits on time */
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, tthreads_sweep);
	tcase_add_checked_fixture(tc, tthreads_setup, tthreads_teardown);
	tcase_add_loop_test(tc, limiter_frozen_clock_exact, 0, (int)ARRAY_LEN(lim_cases));
	tcase_add_loop_test(tc, rule_changes_race_takes, 0, (int)ARRAY_LEN(rule_cases));
	tcase_add_test(tc, full_key_table_races_takes);
	tcase_add_test(tc, dry_run_switch_races_takes);
	suite_add_tcase(s, tc);
	return s;
}
