/*
 * test_review.c — regressions for defects an independent review found:
 * each test pins one of them down.
 */
#include <check.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "keytable.h"
#include "suites.h"

#define SEC 1000000000ull
#define MS 1000000ull

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

static fbx_limiter *limiter(const char *name, const char *rule, fbx_algorithm algo,
			    uint32_t burst, int keyed)
{
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = rule;
	c.algorithm = algo;
	c.burst = burst;
	c.keyed = keyed;
	fbx_limiter *l = NULL;
	int rc = fbx_limiter_register(box, name, &c, &l);
	ck_assert_msg(rc == 0, "%s: %s", rule, fbx_strerror(rc));
	return l;
}

/* A day-long GCRA period with a burst in the hundreds of thousands made
 * tau + T wrap 64 bits, admitting twenty times the limit at once. */
START_TEST(gcra_span_that_would_wrap_is_refused)
{
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = "213505/day";
	c.algorithm = FBX_ALGO_GCRA;
	c.burst = 213505;
	fbx_limiter *l = NULL;
	ck_assert_int_eq(fbx_limiter_register(box, "wrap", &c, &l), FBX_ERANGE);
	c.burst = 1000; /* a day-long burst of 1000 is fine */
	ck_assert_int_eq(fbx_limiter_register(box, "wrap", &c, &l), 0);
}
END_TEST

/* A take whose clock reading is a hair stale, from just before a window
 * boundary that others have crossed, must not move the word back. */
START_TEST(stale_reading_never_moves_the_window_back)
{
	fbx_limiter *l = limiter("stale", "5/second", FBX_ALGO_WINDOW, 1, 0);
	uint64_t boundary = (tclock_ns() / SEC + 10) * SEC;
	tclock_set_ns(boundary + 1 * MS);
	fbx_limit_result r;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), 0);
	tclock_set_ns(boundary - 1 * MS); /* the preempted worker */
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), FBX_ELIMITED);
	tclock_set_ns(boundary + 2 * MS);
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), FBX_ELIMITED);
}
END_TEST

/* A write meant for an entry's previous key (another limiter's window
 * word) read as a GCRA TAT would lock the new key out for years; reset, it
 * would hand the key a fresh burst.  The key's budget counts as spent:
 * denied now, told to retry in one interval, admitted then. */
START_TEST(foreign_word_in_gcra_entry_does_not_lock_out)
{
	fbx_limiter *l = limiter("gk", "10/second", FBX_ALGO_GCRA, 2, 1);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, "victim", 6, 1, &r), 0);
	const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
	uint64_t h = fbx__keyhash(seed, "victim", 6);
	struct fbx__kbucket *bk[2];
	fbx__key_buckets(box, h, bk);
	uint64_t tag = fbx__key_tag(l, h);
	_Atomic uint64_t *st = NULL;
	for (int b = 0; b < 2 && st == NULL; b++)
		for (int i = 0; i < FBX__KB_WAYS; i++)
			if (atomic_load(&bk[b]->tag[i]) == tag)
				st = bk[b]->st[i];
	ck_assert_ptr_nonnull(st);
	atomic_store(&st[0], (uint64_t)65535 << 48 | 7); /* a window word */
	ck_assert_int_eq(fbx_limiter_take(l, "victim", 6, 1, &r), FBX_ELIMITED);
	ck_assert_uint_gt(r.retry_after_ns, 0);
	ck_assert_uint_le(r.retry_after_ns, 1 * SEC / 9 + 1);
	tclock_advance_ms(r.retry_after_ns / MS + 1);
	ck_assert_int_eq(fbx_limiter_take(l, "victim", 6, 1, &r), 0);
	ck_assert_uint_lt(r.reset_ns, 1 * SEC);
}
END_TEST

/* With "100/second;50/minute", a cost of 60 can never be admitted: that
 * is FBX_ERANGE, not a denial with a Retry-After that never comes true. */
START_TEST(cost_above_any_limit_is_erange_up_front)
{
	fbx_limiter *l = limiter("multi", "100/second;50/minute", FBX_ALGO_WINDOW, 1, 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 60, &r), FBX_ERANGE);
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 50, &r), 0);
	ck_assert_uint_eq(r.remaining, 0);
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
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "slowok", &c, &b), 0);
	fbx_permit p;
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
	}
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 500 * MS), 0);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0); /* 1 in a row, not 5 */
}
END_TEST

/* Buckets of a time window are recognised on any uptime: with 10 ms
 * buckets, 250 days is past 2^31 buckets. */
START_TEST(time_window_works_after_long_uptime)
{
	fbx_box_unlink(box->name);
	fbx_box_close(box);
	tclock_set_ns(250ull * 86400 * SEC);
	box = tbox_create(NULL);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.min_calls = 10;
	c.window_ns = 100 * MS;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "uptime", &c, &b), 0);
	fbx_permit p;
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), 0);
	}
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
}
END_TEST

/* A registrar killed after claiming a slot but before publishing leaves an
 * INIT record: the next registration repairs it and there is exactly one
 * record of the name. */
START_TEST(one_record_per_name_after_a_kill_in_publish)
{
	struct fbx__records rs = fbx__breaker_records(box);
	int lock = fbx__registry_lock(box);
	ck_assert_int_ge(lock, 0);
	int i = fbx__record_claim(&rs, "db");
	ck_assert_int_ge(i, 0);
	/* the registrar "dies": the kernel drops its lock, the record stays */
	fbx__registry_unlock(lock);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "db", &c, &b), 0);
	fbx_snapshot *s;
	fbx_snapshot_new(box, &s);
	fbx_snapshot_take(box, s);
	size_t n, named = 0;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	for (size_t k = 0; k < n; k++)
		named += strcmp(bi[k].name, "db") == 0;
	ck_assert_uint_eq(named, 1);
	fbx_snapshot_free(s);
}
END_TEST

FBX_TEST_SUITE(review)
{
	Suite *s = suite_create("review");
	TCase *tc = tcase_create("regressions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gcra_span_that_would_wrap_is_refused);
	tcase_add_test(tc, stale_reading_never_moves_the_window_back);
	tcase_add_test(tc, foreign_word_in_gcra_entry_does_not_lock_out);
	tcase_add_test(tc, cost_above_any_limit_is_erange_up_front);
	tcase_add_test(tc, slow_success_ends_failure_run);
	tcase_add_test(tc, time_window_works_after_long_uptime);
	tcase_add_test(tc, one_record_per_name_after_a_kill_in_publish);
	suite_add_tcase(s, tc);
	return s;
}
