/*
 * test_multiproc.c — real processes, real fork(), real SIGKILL.
 *
 * Totals must be exact (no lost update), limiters must never admit more
 * than their bound, and a process killed anywhere must not wedge anything.
 */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "keytable.h"
#include "suites.h"

#define SEC 1000000000ull
#define NPROC 4

static fbx_box *box;
static char name[40];

static void setup(void)
{
	box = tbox_create(NULL);
	fbx_box_info info;
	fbx_box_info_get(box, &info);
	snprintf(name, sizeof(name), "%s", info.name);
}

/* Deadlines count from the box's creation, so a test that substitutes
 * the clock must do so before the box exists: start over with a new box. */
static void fake_clock(void)
{
	fbx_box_unlink(name);
	fbx_box_close(box);
	tclock_install();
	setup();
}

static void teardown(void)
{
	fbx_box_unlink(name);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

/* A flag in shared memory so that children start together. */
static _Atomic int *go;

static void start_line(void)
{
	if (go == NULL) {
		go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ck_assert(go != MAP_FAILED);
	}
	atomic_store(go, 0);
}

static void wait_go(void)
{
	while (!atomic_load(go))
		;
}

/* ---- breakers: N processes x M outcomes ----------------------------------- */

#define OUTCOMES 30000

static void outcome_worker(int own_box)
{
	fbx_box *mine = box;
	if (own_box && fbx_box_open(name, 0, NULL, &mine) != 0)
		_exit(10);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 4000000000u;
	fbx_breaker *b;
	if (fbx_breaker_register(mine, "shared", &c, &b) != 0)
		_exit(11);
	wait_go();
	for (int i = 0; i < OUTCOMES; i++) {
		fbx_permit p;
		if (fbx_breaker_allow(b, &p) != 0)
			_exit(12);
		if (fbx_breaker_done(b, &p, (fbx_outcome)(i % 3), 0) != 0)
			_exit(13);
	}
	if (own_box)
		fbx_box_close(mine);
	_exit(0);
}

START_TEST(breaker_totals_exact)
{
	start_line();
	pid_t kids[NPROC];
	for (int k = 0; k < NPROC; k++) {
		kids[k] = tfork();
		if (kids[k] == 0)
			outcome_worker(k % 2); /* half inherit the box, half open it */
	}
	atomic_store(go, 1);
	for (int k = 0; k < NPROC; k++)
		ck_assert_int_eq(twait(kids[k]), 0);
	fbx_snapshot *snap;
	ck_assert_int_eq(fbx_snapshot_new(box, &snap), 0);
	const fbx_breaker_info *bi = tbreaker_info(box, snap, "shared");
	ck_assert_uint_eq(bi->successes, NPROC * OUTCOMES / 3);
	ck_assert_uint_eq(bi->failures, NPROC * OUTCOMES / 3);
	ck_assert_uint_eq(bi->ignored, NPROC * OUTCOMES / 3);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	fbx_snapshot_free(snap);
}
END_TEST

/* fail_max failures spread over processes trip the breaker once, host-wide. */
START_TEST(breaker_trips_host_wide)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 8;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "hw", &c, &b), 0);
	for (int k = 0; k < NPROC; k++) {
		pid_t pid = tfork();
		if (pid == 0) {
			for (int i = 0; i < 2; i++) { /* 2 each: 8 host-wide */
				fbx_permit p;
				if (fbx_breaker_allow(b, &p) != 0 ||
				    fbx_breaker_done(b, &p, FBX_FAILURE, 0) != 0)
					_exit(1);
			}
			_exit(0);
		}
		ck_assert_int_eq(twait(pid), 0);
	}
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	const fbx_breaker_info *bi = tbreaker_info(box, snap, "hw");
	ck_assert_int_eq(bi->state, FBX_OPEN);
	ck_assert_uint_eq(bi->trips, 1);
	fbx_snapshot_free(snap);
}
END_TEST

/* ---- limiters: never more than the bound ---------------------------------- */

struct lim_case {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
	uint64_t expect_per_key; /* admitted per key with the clock frozen */
};

static const struct lim_case lim_cases[] = {
	{"1000/second", FBX_ALGO_WINDOW, 1, 0, 1000},
	{"777/minute", FBX_ALGO_WINDOW, 1, 1, 777},
	{"50/second;400/minute", FBX_ALGO_WINDOW, 1, 0, 50},
	{"600/minute", FBX_ALGO_GCRA, 250, 0, 250},
	{"90/second", FBX_ALGO_GCRA, 90, 1, 90},
	{"100/second", FBX_ALGO_LOG, 1, 0, 100},
	{"90/minute;120/hour", FBX_ALGO_LOG, 1, 1, 90},
};
#define KEYS 6
#define TAKES 3000

START_TEST(limiter_frozen_clock_exact)
{
	const struct lim_case *lc = &lim_cases[_i];
	fake_clock();
	start_line();
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = lc->rule;
	c.algorithm = lc->algo;
	c.burst = lc->burst;
	c.keyed = lc->keyed;
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "lim", &c, &l), 0);
	pid_t kids[NPROC];
	for (int k = 0; k < NPROC; k++) {
		kids[k] = tfork();
		if (kids[k] == 0) {
			wait_go();
			for (int i = 0; i < TAKES; i++) {
				char key[8];
				snprintf(key, sizeof(key), "k%d", i % KEYS);
				fbx_limit_result r;
				int rc = fbx_limiter_take(l, lc->keyed ? key : NULL,
							  lc->keyed ? strlen(key) : 0, 1, &r);
				if (rc != 0 && rc != FBX_ELIMITED)
					_exit(1);
			}
			_exit(0);
		}
	}
	atomic_store(go, 1);
	for (int k = 0; k < NPROC; k++)
		ck_assert_int_eq(twait(kids[k]), 0);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	const fbx_limiter_info *li = tlimiter_info(box, snap, "lim");
	uint64_t keys = lc->keyed ? KEYS : 1;
	ck_assert_uint_eq(li->allowed, lc->expect_per_key * keys);
	ck_assert_uint_eq(li->allowed + li->denied, (uint64_t)NPROC * TAKES);
	if (lc->keyed)
		ck_assert_uint_eq(li->keys, KEYS);
	fbx_snapshot_free(snap);
}
END_TEST

/* With time moving, admitted calls in any window stay within the bound:
 * the limit for the log, limit + burst - 1 for GCRA, 2 x limit for the
 * sliding-window counter. */
START_TEST(limiter_moving_clock_bound)
{
	const struct lim_case *lc = &lim_cases[_i];
	fake_clock();
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = lc->rule;
	c.algorithm = lc->algo;
	c.burst = lc->burst;
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "mv", &c, &l), 0);
	fbx_rule rule;
	ck_assert_int_eq(fbx_rule_parse(lc->rule, &rule, NULL), 0);
	uint64_t period = rule.limit[0].period_ns, limit = rule.limit[0].count;
	/* 40 steps of period/8: children hammer, the parent moves the clock. */
	const int steps = 40;
	uint64_t *admitted = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(admitted != MAP_FAILED);
	for (int s = 0; s < steps; s++) {
		start_line();
		pid_t kids[2];
		for (int k = 0; k < 2; k++) {
			kids[k] = tfork();
			if (kids[k] == 0) {
				wait_go();
				uint64_t got = 0;
				for (int i = 0; i < 600; i++) {
					fbx_limit_result r;
					got += fbx_limiter_take(l, NULL, 0, 1, &r) == 0;
				}
				__atomic_add_fetch(&admitted[s], got, __ATOMIC_SEQ_CST);
				_exit(0);
			}
		}
		atomic_store(go, 1);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(twait(kids[k]), 0);
		tclock_advance_ms(period / 8 / 1000000);
	}
	uint64_t bound = lc->algo == FBX_ALGO_GCRA  ? limit + lc->burst - 1
			 : lc->algo == FBX_ALGO_LOG ? limit
						    : 2 * limit;
	for (int s = 0; s + 8 <= steps; s++) {
		uint64_t in_window = 0;
		for (int k = s; k < s + 8; k++)
			in_window += admitted[k];
		ck_assert_msg(in_window <= bound, "window at step %d admitted %llu > %llu", s,
			      (unsigned long long)in_window, (unsigned long long)bound);
	}
	munmap(admitted, 4096);
}
END_TEST

/* ---- SIGKILL -------------------------------------------------------------- */

START_TEST(killed_trial_holder_recovers_after_lease)
{
	fake_clock();
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 10 * SEC;
	c.trial_lease_ns = 20 * SEC;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "lease", &c, &b), 0);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
	tclock_advance_ms(10000);
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = tfork();
	if (pid == 0) {
		fbx_permit mine;
		char ok = fbx_breaker_allow(b, &mine) == 0 ? 'y' : 'n';
		if (write(pipefd[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause(); /* holds the only trial until killed */
	}
	char ok = 0;
	ck_assert_int_eq(read(pipefd[0], &ok, 1), 1);
	ck_assert_int_eq(ok, 'y');
	kill(pid, SIGKILL);
	ck_assert_int_eq(twait(pid), -1);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_HALF_OPEN_FULL);
	tclock_advance_ms(20000); /* the lease runs out: a failed trial */
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
	tclock_advance_ms(10000);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	ck_assert_int_eq(tbreaker_info(box, snap, "lease")->state, FBX_CLOSED);
	fbx_snapshot_free(snap);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* Workers killed at arbitrary instructions while the breaker flaps: it
 * must still be usable, and end CLOSED once calls succeed again. */
START_TEST(random_kills_leave_nothing_wedged)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 3;
	c.reset_timeout_ns = 20000000;  /* 20 ms */
	c.trial_lease_ns = 50000000;    /* 50 ms */
	c.half_open_max = 2;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "flap", &c, &b), 0);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "1000/second";
	lc.keyed = 1;
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "flapl", &lc, &l), 0);
	srand(42);
	for (int round = 0; round < 20; round++) {
		pid_t kids[3];
		for (int k = 0; k < 3; k++) {
			kids[k] = tfork();
			if (kids[k] == 0) {
				for (unsigned i = 0;; i++) {
					fbx_permit p;
					char key[8];
					fbx_limit_result r;
					snprintf(key, sizeof(key), "%u", i % 50);
					fbx_limiter_take(l, key, strlen(key), 1, &r);
					if (fbx_breaker_allow(b, &p) == 0)
						fbx_breaker_done(b, &p, i % 4 ? FBX_SUCCESS : FBX_FAILURE, 0);
				}
			}
		}
		tsleep_ms(rand() % 20 + 1);
		for (int k = 0; k < 3; k++) {
			kill(kids[k], SIGKILL);
			twait(kids[k]);
		}
	}
	/* Now only successes: poll until it has closed (bounded). */
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	int closed = 0;
	for (int i = 0; i < 5000 && !closed; i++) {
		fbx_permit p;
		if (fbx_breaker_allow(b, &p) == 0)
			ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
		closed = tbreaker_info(box, snap, "flap")->state == FBX_CLOSED;
		tsleep_ms(1);
	}
	ck_assert_msg(closed, "breaker never closed again");
	const fbx_limiter_info *li = tlimiter_info(box, snap, "flapl");
	ck_assert_int_eq(li->corrupt, 0);
	ck_assert_uint_le(li->keys, 50);
	fbx_limit_result r;
	int rc = fbx_limiter_take(l, "fresh", 5, 1, &r);
	ck_assert_int_eq(rc, 0);
	fbx_snapshot_free(snap);
}
END_TEST

/* A dead worker's slot is taken over with its counts intact. */
START_TEST(dead_worker_slot_reclaimed_counts_kept)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.breakers = 4;
	bc.limiters = 2;
	bc.keys = 64;
	bc.events = 32;
	bc.workers = 2;
	fbx_box_close(box); /* the fixture's box: this test uses its own */
	box = NULL;
	fbx_box *small = tbox_create(&bc);
	fbx_box_info info;
	fbx_box_info_get(small, &info);
	fbx_box_close(small); /* frees the slot this process had */
	for (int k = 0; k < 6; k++) {
		pid_t pid = tfork();
		if (pid == 0) {
			fbx_box *mine;
			fbx_breaker_config c;
			fbx_breaker_config_init(&c);
			fbx_breaker *b;
			if (fbx_box_open(info.name, 0, NULL, &mine) != 0 ||
			    fbx_breaker_register(mine, "w", &c, &b) != 0)
				_exit(1);
			for (int i = 0; i < 100; i++) {
				fbx_permit p;
				fbx_breaker_allow(b, &p);
				fbx_breaker_done(b, &p, FBX_SUCCESS, 0);
			}
			if (k % 2)
				raise(SIGKILL); /* dies holding its slot */
			fbx_box_close(mine);
			_exit(0);
		}
		twait(pid);
	}
	ck_assert_int_eq(fbx_box_open(info.name, 0, NULL, &small), 0);
	box = small; /* tbreaker_info(box, ) reads the global */
	fbx_snapshot *snap;
	fbx_snapshot_new(small, &snap);
	ck_assert_uint_eq(tbreaker_info(box, snap, "w")->successes, 600);
	/* and every worker had a slot of its own: the dead ones' slots were
	 * taken over, nothing went to the shared overflow shard */
	ck_assert_uint_eq(atomic_load(&fbx__bshard(small->shards, 0)->ctr[FBX__C_SUCC]), 0);
	fbx_snapshot_free(snap);
	fbx_box_unlink(info.name);
}
END_TEST

/* Processes adding the same new keys at once, into a crowded table: each
 * key must end up in exactly one entry, or its budget would be split. */
START_TEST(racing_inserts_one_entry_per_key)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.keys = 2048;
	fbx_box_close(box);
	box = NULL;
	tclock_install(); /* frozen: every take lands in one window */
	fbx_box *small = tbox_create(&bc);
	box = small;
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = "1/minute";
	c.keyed = 1;
	c.algorithm = FBX_ALGO_WINDOW; /* the shared key table, counted below */
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(small, "race", &c, &l), 0);
	enum { NKEYS = 1500, ROUNDS = 2 };
	start_line();
	pid_t kids[NPROC];
	for (int k = 0; k < NPROC; k++) {
		kids[k] = tfork();
		if (kids[k] == 0) {
			wait_go();
			for (int r = 0; r < ROUNDS; r++) {
				for (int i = 0; i < NKEYS; i++) {
					/* all in the same order: every new key is raced */
					char key[24];
					snprintf(key, sizeof(key), "client-%d", i);
					fbx_limit_result res;
					int rc = fbx_limiter_take(l, key, strlen(key), 1, &res);
					if (rc != 0 && rc != FBX_ELIMITED)
						_exit(1);
				}
			}
			_exit(0);
		}
	}
	atomic_store(go, 1);
	for (int k = 0; k < NPROC; k++)
		ck_assert_int_eq(twait(kids[k]), 0);
	fbx_snapshot *snap;
	fbx_snapshot_new(small, &snap);
	const fbx_limiter_info *li = tlimiter_info(box, snap, "race");
	ck_assert_uint_eq(li->evictions, 0);
	ck_assert_uint_eq(li->keys, NKEYS);
	ck_assert_uint_eq(li->allowed, NKEYS);
	ck_assert_uint_eq(li->allowed + li->denied, (uint64_t)NPROC * ROUNDS * NKEYS);
	fbx_snapshot_free(snap);
	/* and no tag appears twice, published or reserved */
	size_t live = 0;
	for (uint32_t b = 0; b < small->key_buckets; b++) {
		for (int i = 0; i < FBX__KB_WAYS; i++) {
			uint64_t t = atomic_load(&small->keys[b].tag[i]);
			ck_assert_uint_eq(t & FBX__TAG_RESERVED, 0);
			live += t != 0;
		}
	}
	ck_assert_uint_eq(live, NKEYS);
}
END_TEST

/* A reservation left by an inserter that died is cancelled by the next
 * process that wants the key; the key then works normally. */
START_TEST(dead_inserters_reservation_is_cancelled)
{
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = "3/minute";
	c.keyed = 1;
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "resv", &c, &l), 0);
	const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
	uint64_t h = fbx__keyhash(seed, "orphan", 6);
	struct fbx__kbucket *bk[2];
	fbx__key_buckets(l, h, bk);
	atomic_store(&bk[1]->tag[3], fbx__key_tag(l, h) | FBX__TAG_RESERVED);
	fbx_limit_result r;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_limiter_take(l, "orphan", 6, 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, "orphan", 6, 1, &r), FBX_ELIMITED);
	ck_assert_uint_eq(atomic_load(&bk[1]->tag[3]), 0);
	fbx_snapshot *snap;
	fbx_snapshot_new(box, &snap);
	ck_assert_uint_eq(tlimiter_info(box, snap, "resv")->keys, 1);
	fbx_snapshot_free(snap);
}
END_TEST

FBX_TEST_SUITE(multiproc)
{
	Suite *s = suite_create("multiproc");
	TCase *tc = tcase_create("processes");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, breaker_totals_exact);
	tcase_add_test(tc, breaker_trips_host_wide);
	tcase_add_loop_test(tc, limiter_frozen_clock_exact, 0, sizeof(lim_cases) / sizeof(lim_cases[0]));
	tcase_add_loop_test(tc, limiter_moving_clock_bound, 0, sizeof(lim_cases) / sizeof(lim_cases[0]));
	tcase_add_test(tc, killed_trial_holder_recovers_after_lease);
	tcase_add_test(tc, random_kills_leave_nothing_wedged);
	tcase_add_test(tc, dead_worker_slot_reclaimed_counts_kept);
	tcase_add_test(tc, racing_inserts_one_entry_per_key);
	tcase_add_test(tc, dead_inserters_reservation_is_cancelled);
	suite_add_tcase(s, tc);
	return s;
}
