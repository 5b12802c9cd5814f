/* test_limiter_peek.c — what a take would decide, without taking; a key
 * forgotten; a limiter reset; one breaker read without a snapshot. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define LOG FBX_ALGO_LOG
#define WINDOW FBX_ALGO_WINDOW
#define GCRA FBX_ALGO_GCRA

/* Peeks agree with the take that follows, and change nothing: for each
 * algorithm, keyed and global. */
START_TEST(peek_predicts_and_consumes_nothing)
{
	static const fbx_algorithm algos[] = {LOG, WINDOW, GCRA};
	tclock_install();
	fbx_box *box = tlim_box(8, 64);
	tclock_set_ns(T_DAY0);
	for (int a = 0; a < 3; a++) {
		for (int keyed = 0; keyed < 2; keyed++) {
			char name[32];
			snprintf(name, sizeof(name), "p%d%d", a, keyed);
			fbx_limiter *l = tlim_reg(box, name, "3/second;5/minute", algos[a], 1,
						  keyed, 0);
			const char *key = keyed ? "user" : NULL;
			size_t klen = keyed ? 4 : 0;
			fbx_limit_result p, r;
			for (int i = 0; i < 8; i++) {
				int pr = fbx_limiter_peek(l, key, klen, 1, &p);
				int pr2 = fbx_limiter_peek(l, key, klen, 1, &p);
				ck_assert_int_eq(pr, pr2);
				int tr = fbx_limiter_take(l, key, klen, 1, &r);
				ck_assert_msg(pr == tr, "%s take %d: peek %d, take %d", name, i, pr, tr);
				ck_assert_msg(p.remaining == r.remaining,
					      "%s take %d: peek remaining %llu limit %llu, take %llu %llu",
					      name, i, (unsigned long long)p.remaining,
					      (unsigned long long)p.limit,
					      (unsigned long long)r.remaining,
					      (unsigned long long)r.limit);
				ck_assert_uint_eq(p.limit, r.limit);
				if (tr != 0)
					ck_assert_uint_eq(p.retry_after_ns, r.retry_after_ns);
				tclock_advance_ms(100);
			}
			/* peeks are not counted */
			fbx_limiter_info li = tlimiter_now(box, name);
			ck_assert_uint_eq(li.allowed + li.denied, 8);
		}
	}
	fbx_box_close(box);
}
END_TEST

START_TEST(peek_unknown_key_has_a_whole_budget)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(box, "k", "10/minute", LOG, 1, 1, 0);
	fbx_limit_result p;
	ck_assert_int_eq(fbx_limiter_peek(l, "nobody", 6, 3, &p), 0);
	ck_assert_uint_eq(p.remaining, 7);
	fbx_limiter_info li = tlimiter_now(box, "k");
	ck_assert_uint_eq(li.keys, 0); /* a peek adds no key */
	ck_assert_int_eq(fbx_limiter_peek(l, "nobody", 6, 11, &p), FBX_ERANGE);
	ck_assert_int_eq(fbx_limiter_peek(l, NULL, 0, 1, &p), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_peek(NULL, "k", 1, 1, &p), FBX_EINVAL);
	fbx_box_close(box);
}
END_TEST

START_TEST(forget_and_reset)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	tclock_set_ns(T_DAY0);
	fbx_limiter *l = tlim_reg(box, "k", "2/minute", LOG, 1, 1, 0);
	fbx_limit_result r;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fbx_limiter_take(l, "a", 1, 1, &r), 0);
		ck_assert_int_eq(fbx_limiter_take(l, "b", 1, 1, &r), 0);
	}
	ck_assert_int_eq(fbx_limiter_take(l, "a", 1, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_forget(l, "a", 1), 0);
	ck_assert_int_eq(fbx_limiter_forget(l, "a", 1), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_take(l, "a", 1, 1, &r), 0); /* whole again */
	ck_assert_int_eq(fbx_limiter_take(l, "b", 1, 1, &r), FBX_ELIMITED); /* untouched */
	ck_assert_int_eq(fbx_limiter_reset(l, "new quota"), 0);
	ck_assert_int_eq(fbx_limiter_take(l, "b", 1, 1, &r), 0);
	ck_assert_uint_eq(tlimiter_now(box, "k").keys, 1);
	/* a global limiter's state */
	fbx_limiter *g = tlim_reg(box, "g", "1/minute", WINDOW, 1, 0, 0);
	ck_assert_int_eq(fbx_limiter_take(g, NULL, 0, 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(g, NULL, 0, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_forget(g, NULL, 0), 0);
	ck_assert_int_eq(fbx_limiter_take(g, NULL, 0, 1, &r), 0);
	/* the reset is an operator's action in the events */
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &n, &dropped);
	bool seen = false;
	for (size_t i = 0; i < n; i++)
		seen |= ev[i].kind == FBX_EV_MANUAL && ev[i].cause == FBX_CAUSE_RESET &&
			strcmp(ev[i].reason, "new quota") == 0;
	ck_assert(seen);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(breaker_info_without_a_snapshot)
{
	tclock_install();
	fbx_box *box = tlim_box(4, 64);
	fbx_breaker *b = tbreaker_reg(box, "up", NULL);
	tbreaker_outcomes(b, 2, 3, 0);
	fbx_breaker_info bi;
	ck_assert_int_eq(fbx_breaker_info_get(b, &bi), 0);
	ck_assert_str_eq(bi.name, "up");
	ck_assert_int_eq(bi.state, FBX_CLOSED);
	ck_assert_uint_eq(bi.consecutive_failures, 3);
	ck_assert_uint_eq(bi.successes, 2);
	ck_assert_int_eq(fbx_breaker_info_get(NULL, &bi), FBX_EINVAL);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_peek)
{
	Suite *s = suite_create("limiter_peek");
	TCase *tc = tcase_create("peek");
	tcase_add_test(tc, peek_predicts_and_consumes_nothing);
	tcase_add_test(tc, peek_unknown_key_has_a_whole_budget);
	tcase_add_test(tc, forget_and_reset);
	tcase_add_test(tc, breaker_info_without_a_snapshot);
	suite_add_tcase(s, tc);
	return s;
}
