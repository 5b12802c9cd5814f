/* test_retry.c — backoff delays for each jitter, the host-wide retry
 * budget, the bulkhead (a holder SIGKILLed is taken back), and the retry
 * loop that respects breakers, budgets and the drain. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h"

static fbx_box *box;

static void setup(void)
{
	tclock_install();
	fbx_box_config c;
	tbox_config_small(&c);
	c.budgets = 4;
	c.bulkheads = 4;
	box = tbox_create(&c);
}

static void teardown(void)
{
	tbox_unlink(box);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

/* ---- backoff ------------------------------------------------------------ */

START_TEST(backoff_bounds_and_means)
{
	fbx_backoff b;
	fbx_backoff_init(&b);
	ck_assert_uint_eq(b.max_retries, 3);
	ck_assert_uint_eq(b.base_ns, T_MS(100));
	ck_assert_uint_eq(b.cap_ns, T_S(10));
	ck_assert_int_eq(b.jitter, FBX_JITTER_FULL);
	enum { DRAWS = 20000 };
	for (int j = FBX_JITTER_FULL; j <= FBX_JITTER_DECORRELATED; j++) {
		b.jitter = (fbx_jitter)j;
		fbx_backoff_seed(&b, 42 + (uint64_t)j);
		for (uint32_t n = 1; n <= 9; n++) {
			uint64_t e = T_MS(100) << (n - 1);
			e = e > T_S(10) ? T_S(10) : e;
			double sum = 0;
			for (int i = 0; i < DRAWS; i++) {
				uint64_t d = fbx_backoff_delay(&b, n);
				ck_assert_uint_le(d, T_S(10));
				if (j == FBX_JITTER_NONE)
					ck_assert_uint_eq(d, e);
				else if (j == FBX_JITTER_FULL)
					ck_assert_uint_le(d, e);
				else if (j == FBX_JITTER_EQUAL)
					ck_assert(d >= e / 2 && d <= e);
				else
					ck_assert_uint_ge(d, T_MS(100));
				sum += (double)d;
			}
			double mean = sum / DRAWS, want = j == FBX_JITTER_NONE    ? (double)e
							 : j == FBX_JITTER_FULL  ? (double)e / 2
							 : j == FBX_JITTER_EQUAL ? (double)e * 0.75
										 : 0;
			if (want > 0)
				ck_assert_msg(mean > want * 0.97 && mean < want * 1.03,
					      "jitter %d retry %u: mean %.0f, want about %.0f", j, n,
					      mean, want);
		}
	}
	/* the same seed, the same delays */
	fbx_backoff x, y;
	fbx_backoff_init(&x);
	y = x;
	fbx_backoff_seed(&x, 7);
	fbx_backoff_seed(&y, 7);
	for (uint32_t n = 1; n < 20; n++)
		ck_assert_uint_eq(fbx_backoff_delay(&x, n), fbx_backoff_delay(&y, n));
	/* bad policies */
	b.base_ns = 0;
	ck_assert_int_eq(fbx_backoff_check(&b), FBX_EINVAL);
	ck_assert_uint_eq(fbx_backoff_delay(&b, 1), 0);
	fbx_backoff_init(&b);
	b.cap_ns = b.base_ns - 1;
	ck_assert_int_eq(fbx_backoff_check(&b), FBX_EINVAL);
	fbx_backoff_init(&b);
	b.jitter = (fbx_jitter)9;
	ck_assert_int_eq(fbx_backoff_check(&b), FBX_EINVAL);
	ck_assert_int_eq(fbx_backoff_check(NULL), FBX_EINVAL);
}
END_TEST

/* ---- retry budget ------------------------------------------------------- */

START_TEST(budget_holds_the_share)
{
	fbx_budget_config c;
	fbx_budget_config_init(&c);
	ck_assert_uint_eq(c.percent, 20);
	c.min_per_sec = 1;
	c.ttl_ns = T_S(10);
	fbx_budget *g;
	ck_assert_int_eq(fbx_budget_register(box, "up", &c, &g), 0);
	/* quiet: the floor alone, 1 a second over 10 s */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(fbx_budget_withdraw(g), 0);
	ck_assert_int_eq(fbx_budget_withdraw(g), FBX_ELIMITED);
	/* 100 first attempts: 20 more retries */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(fbx_budget_deposit(g), 0);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(fbx_budget_withdraw(g), 0);
	ck_assert_int_eq(fbx_budget_withdraw(g), FBX_ELIMITED);
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	const fbx_budget_info *bi = fbx_snapshot_budgets(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(bi->deposits, 100);
	ck_assert_uint_eq(bi->withdrawals, 30);
	ck_assert_uint_eq(bi->balance, 0);
	ck_assert_uint_eq(bi->retries_allowed, 30);
	ck_assert_uint_eq(bi->retries_refused, 2);
	fbx_snapshot_free(s);
	/* a ttl later all of it has left the window */
	tclock_advance_ms(10001);
	ck_assert_int_eq(fbx_budget_withdraw(g), 0);
	/* same name, another configuration */
	c.percent = 50;
	fbx_budget *other;
	ck_assert_int_eq(fbx_budget_register(box, "up", &c, &other), FBX_ECONFLICT);
	c.percent = 101;
	ck_assert_int_eq(fbx_budget_register(box, "x", &c, &other), FBX_EINVAL);
	c.percent = 0;
	ck_assert_int_eq(fbx_budget_register(box, "x", &c, &other), FBX_EINVAL);
	fbx_budget_config_init(&c);
	c.ttl_ns = T_MS(999);
	ck_assert_int_eq(fbx_budget_register(box, "x", &c, &other), FBX_EINVAL);
	ck_assert_int_eq(fbx_budget_find(box, "up", &other), 0);
	ck_assert_ptr_eq(other, g);
	ck_assert_int_eq(fbx_budget_find(box, "nope", &other), FBX_ENOENT);
}
END_TEST

/* Processes racing for the last retries: never one too many. */
START_TEST(budget_exact_across_processes)
{
	fbx_budget_config c;
	fbx_budget_config_init(&c);
	c.percent = 10;
	c.min_per_sec = 0;
	c.ttl_ns = T_S(60);
	fbx_budget *g;
	ck_assert_int_eq(fbx_budget_register(box, "race", &c, &g), 0);
	for (int i = 0; i < 1000; i++)
		fbx_budget_deposit(g);
	_Atomic uint64_t *won = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				     -1, 0);
	ck_assert_ptr_ne(won, MAP_FAILED);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = tfork();
		if (kids[k] == 0) {
			for (int i = 0; i < 200; i++)
				if (fbx_budget_withdraw(g) == 0)
					atomic_fetch_add(won, 1);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(twait(kids[k]), 0);
	ck_assert_uint_le(atomic_load(won), 100);
	ck_assert_uint_ge(atomic_load(won), 90); /* an early refusal now and then, no more */
	munmap((void *)won, 4096);
}
END_TEST

/* ---- bulkhead ----------------------------------------------------------- */

START_TEST(bulkhead_caps_and_counts)
{
	fbx_bulkhead *h;
	ck_assert_int_eq(fbx_bulkhead_register(box, "slow", 3, &h), 0);
	fbx_bulkhead_permit p[4];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p[i]), 0);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p[3]), FBX_EFULL);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, T_MS(20), &p[3]), FBX_EFULL);
	ck_assert_int_eq(fbx_bulkhead_release(h, &p[1]), 0);
	ck_assert_int_eq(fbx_bulkhead_release(h, &p[1]), FBX_EINVAL); /* twice */
	fbx_bulkhead_permit forged = {0, 12345};
	ck_assert_int_eq(fbx_bulkhead_release(h, &forged), FBX_EINVAL); /* never ours */
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p[3]), 0);
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	const fbx_bulkhead_info *bi = fbx_snapshot_bulkheads(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(bi->cap, 3);
	ck_assert_uint_eq(bi->in_flight, 3);
	ck_assert_uint_eq(bi->peak, 3);
	ck_assert_uint_eq(bi->refused, 2);
	fbx_snapshot_free(s);
	fbx_bulkhead *other;
	ck_assert_int_eq(fbx_bulkhead_register(box, "slow", 4, &other), FBX_ECONFLICT);
	ck_assert_int_eq(fbx_bulkhead_register(box, "x", 0, &other), FBX_EINVAL);
	ck_assert_int_eq(fbx_bulkhead_register(box, "x", FBX_BULKHEAD_MAX + 1, &other), FBX_EINVAL);
	ck_assert_int_eq(fbx_bulkhead_release(h, NULL), FBX_EINVAL);
}
END_TEST

/* A holder killed with places held: the next acquire that finds the
 * bulkhead full takes them back — never a permanent leak. */
START_TEST(bulkhead_dead_holder_reclaimed)
{
	fbx_bulkhead *h;
	ck_assert_int_eq(fbx_bulkhead_register(box, "up", 2, &h), 0);
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t kid = tfork();
	if (kid == 0) {
		fbx_bulkhead_permit a, b;
		if (fbx_bulkhead_acquire(h, 0, &a) != 0 || fbx_bulkhead_acquire(h, 0, &b) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	fbx_bulkhead_permit p;
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p), FBX_EFULL); /* the holder lives */
	kill(kid, SIGKILL);
	twait(kid);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p), 0);
	fbx_bulkhead_permit q;
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &q), 0);
	fbx_snapshot *s = tsnap_of(box);
	const fbx_bulkhead_info *bi = fbx_snapshot_bulkheads(s, NULL);
	ck_assert_uint_eq(bi->in_flight, 2);
	ck_assert_uint_eq(bi->reclaimed, 2);
	fbx_snapshot_free(s);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

/* Processes hammering one bulkhead: never more than the cap at once. */
START_TEST(bulkhead_exact_across_processes)
{
	fbx_bulkhead *h;
	ck_assert_int_eq(fbx_bulkhead_register(box, "cap", 3, &h), 0);
	_Atomic int64_t *inside = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(inside, MAP_FAILED);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = tfork();
		if (kids[k] == 0) {
			for (int i = 0; i < 3000; i++) {
				fbx_bulkhead_permit p;
				if (fbx_bulkhead_acquire(h, 0, &p) != 0)
					continue;
				int64_t now = atomic_fetch_add(&inside[0], 1) + 1;
				int64_t max = atomic_load(&inside[1]);
				while (now > max && !atomic_compare_exchange_weak(&inside[1], &max, now))
					;
				atomic_fetch_sub(&inside[0], 1);
				if (fbx_bulkhead_release(h, &p) != 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(twait(kids[k]), 0);
	ck_assert_int_le(atomic_load(&inside[1]), 3);
	fbx_snapshot *s = tsnap_of(box);
	ck_assert_uint_eq(fbx_snapshot_bulkheads(s, NULL)->in_flight, 0);
	fbx_snapshot_free(s);
	munmap((void *)inside, 4096);
}
END_TEST

/* ---- the retry loop ----------------------------------------------------- */

struct script {
	int fail_first; /* calls that fail before one succeeds */
	int calls;
};

static int scripted(void *arg)
{
	struct script *s = arg;
	return s->calls++ < s->fail_first ? -1 : 0;
}

static fbx_backoff quick(void)
{
	fbx_backoff b;
	fbx_backoff_init(&b);
	b.base_ns = T_MS(1);
	b.cap_ns = T_MS(2);
	return b;
}

START_TEST(retry_until_success_or_exhausted)
{
	fbx_backoff b = quick();
	struct script sc = {2, 0};
	fbx_retry_result r;
	ck_assert_int_eq(fbx_retry(box, &b, NULL, NULL, scripted, &sc, &r), 0);
	ck_assert_uint_eq(r.attempts, 3);
	ck_assert_int_eq(r.stopped, FBX_RETRY_SUCCEEDED);
	sc = (struct script){10, 0};
	ck_assert_int_eq(fbx_retry(box, &b, NULL, NULL, scripted, &sc, &r), FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 4); /* the first and 3 retries */
	ck_assert_int_eq(r.stopped, FBX_RETRY_EXHAUSTED);
	ck_assert_int_eq(r.last, -1);
	ck_assert_str_eq(fbx_retry_stop_name(r.stopped), "exhausted");
	ck_assert_int_eq(fbx_retry(box, &b, NULL, NULL, NULL, &sc, &r), FBX_EINVAL);
}
END_TEST

/* Never into an open breaker: the failures trip it, the next retry is not
 * made, and the breaker's retry-after comes back. */
START_TEST(retry_stops_at_an_open_breaker)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	bc.fail_max = 2;
	bc.reset_timeout_ns = T_S(30);
	fbx_breaker *brk = tbreaker_reg(box, "up", &bc);
	fbx_backoff b = quick();
	struct script sc = {10, 0};
	fbx_retry_result r;
	ck_assert_int_eq(fbx_retry(box, &b, brk, NULL, scripted, &sc, &r), FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 2);
	ck_assert_int_eq(r.stopped, FBX_RETRY_BREAKER_OPEN);
	ck_assert_uint_eq(r.retry_after_ns, T_S(30));
	sc = (struct script){0, 0};
	ck_assert_int_eq(fbx_retry(box, &b, brk, NULL, scripted, &sc, &r), FBX_EOPEN);
	ck_assert_uint_eq(r.attempts, 0);
	ck_assert_int_eq(sc.calls, 0);
}
END_TEST

/* The attempt that trips the breaker is the last: no retry is taken from
 * the budget and no backoff slept only to be refused. */
START_TEST(retry_spends_nothing_once_open)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	bc.fail_max = 1;
	bc.reset_timeout_ns = T_S(30);
	fbx_breaker *brk = tbreaker_reg(box, "up", &bc);
	fbx_budget_config c;
	fbx_budget_config_init(&c);
	c.min_per_sec = 10;
	fbx_budget *g;
	ck_assert_int_eq(fbx_budget_register(box, "up", &c, &g), 0);
	fbx_backoff b = quick();
	struct script sc = {10, 0};
	fbx_retry_result r;
	ck_assert_int_eq(fbx_retry(box, &b, brk, g, scripted, &sc, &r), FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_int_eq(r.stopped, FBX_RETRY_BREAKER_OPEN);
	ck_assert_uint_eq(r.slept_ns, 0);
	ck_assert_uint_eq(r.retry_after_ns, T_S(30));
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	const fbx_budget_info *bi = fbx_snapshot_budgets(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(bi->retries_allowed + bi->retries_refused, 0);
	fbx_snapshot_free(s);
}
END_TEST

/* Opened elsewhere (an operator, another process's failures) between two
 * attempts: the retry is not made either. */
static fbx_breaker *tripped_meanwhile;
static int fails_and_trip(void *arg)
{
	(void)arg;
	fbx_breaker_trip(tripped_meanwhile, "maintenance");
	return -1;
}

START_TEST(retry_not_made_into_a_breaker_opened_meanwhile)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	bc.fail_max = 5;
	tripped_meanwhile = tbreaker_reg(box, "up", &bc);
	fbx_backoff b = quick();
	fbx_retry_result r;
	ck_assert_int_eq(fbx_retry(box, &b, tripped_meanwhile, NULL, fails_and_trip, NULL, &r),
			 FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_int_eq(r.stopped, FBX_RETRY_BREAKER_OPEN);
	ck_assert_uint_eq(r.slept_ns, 0);
	ck_assert_uint_eq(r.retry_after_ns, 0);
}
END_TEST

START_TEST(retry_within_budget_and_drain)
{
	fbx_budget_config c;
	fbx_budget_config_init(&c);
	c.percent = 50;
	c.min_per_sec = 0;
	fbx_budget *g;
	ck_assert_int_eq(fbx_budget_register(box, "up", &c, &g), 0);
	fbx_backoff b = quick();
	struct script sc = {10, 0};
	fbx_retry_result r;
	/* one deposit: half a retry is none */
	ck_assert_int_eq(fbx_retry(box, &b, NULL, g, scripted, &sc, &r), FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_int_eq(r.stopped, FBX_RETRY_BUDGET);
	/* the second call's deposit makes one retry */
	sc = (struct script){10, 0};
	ck_assert_int_eq(fbx_retry(box, &b, NULL, g, scripted, &sc, &r), FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 2);
	ck_assert_int_eq(r.stopped, FBX_RETRY_BUDGET);
	/* draining: no retry starts */
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	sc = (struct script){10, 0};
	ck_assert_int_eq(fbx_retry(box, &b, NULL, NULL, scripted, &sc, &r), FBX_EFAILED);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_int_eq(r.stopped, FBX_RETRY_DRAINING);
}
END_TEST

FBX_TEST_SUITE(retry)
{
	Suite *s = suite_create("retry");
	TCase *tc = tcase_create("retry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, backoff_bounds_and_means);
	tcase_add_test(tc, budget_holds_the_share);
	tcase_add_test(tc, budget_exact_across_processes);
	tcase_add_test(tc, bulkhead_caps_and_counts);
	tcase_add_test(tc, bulkhead_dead_holder_reclaimed);
	tcase_add_test(tc, bulkhead_exact_across_processes);
	tcase_add_test(tc, retry_until_success_or_exhausted);
	tcase_add_test(tc, retry_stops_at_an_open_breaker);
	tcase_add_test(tc, retry_spends_nothing_once_open);
	tcase_add_test(tc, retry_not_made_into_a_breaker_opened_meanwhile);
	tcase_add_test(tc, retry_within_budget_and_drain);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
