/* test_outputs.c — what the out-structs of the breaker and limiter calls
 * hold after every kind of return, as fusebox.h promises: a permit is
 * written whole by every allow() (and done() refuses one that admitted no
 * call, counting nothing), a limit result is written whole by every take()
 * and peek() (zeros on an error), and a handle out-pointer is written on
 * success only.  Every out-struct starts filled with junk, so that a field the
 * library left alone shows. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "internal.h"
#include "suites.h"

#define JUNK 0xa5

static fbx_box *box;

static void setup(void)
{
	box = tbox_create(NULL);
}

static void teardown(void)
{
	tbox_unlink(box);
	fbx_box_close(box);
	box = NULL;
}

/* A read-only handle on the test's box. */
static fbx_box *open_rdonly(void)
{
	fbx_box_info info;
	fbx_box *ro = NULL;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_int_eq(fbx_box_open(info.name, FBX_OPEN_RDONLY, NULL, &ro), 0);
	return ro;
}

/* ---- permits ------------------------------------------------------------ */

static fbx_permit junk_permit(void)
{
	fbx_permit p;
	memset(&p, JUNK, sizeof(p));
	return p;
}

/* p is what an error of allow() leaves: no reason, no retry-after, and
 * reporting it changes no count of breaker NAME. */
static void assert_error_permit(fbx_breaker *b, const char *name, const fbx_permit *p,
				const char *what)
{
	ck_assert_msg(p->reason == FBX_REJECT_NONE, "%s: reason %d", what, (int)p->reason);
	ck_assert_msg(p->retry_after_ns == 0, "%s: retry_after_ns %llu", what,
		      (ull)p->retry_after_ns);
	fbx_breaker_info before = tbreaker_now(box, name);
	for (int o = FBX_SUCCESS; o <= FBX_IGNORED; o++)
		ck_assert_msg(fbx_breaker_done(b, p, (fbx_outcome)o, 1) == FBX_EINVAL,
			      "%s: done(outcome %d) took the permit", what, o);
	fbx_breaker_info after = tbreaker_now(box, name);
	ck_assert_msg(after.successes == before.successes && after.failures == before.failures &&
			      after.ignored == before.ignored && after.state == before.state,
		      "%s: done() on a refused permit counted", what);
}

START_TEST(allow_null_breaker_writes_permit)
{
	fbx_breaker *b = tbreaker_reg(box, "b", NULL);
	fbx_permit p = junk_permit();
	ck_assert_int_eq(fbx_breaker_allow(NULL, &p), FBX_EINVAL);
	assert_error_permit(b, "b", &p, "allow(NULL)");
	ck_assert_int_eq(fbx_breaker_allow(b, NULL), FBX_EINVAL);
}
END_TEST

START_TEST(allow_read_only_writes_permit)
{
	fbx_breaker *b = tbreaker_reg(box, "b", NULL);
	fbx_box *ro = open_rdonly();
	fbx_breaker *rb;
	ck_assert_int_eq(fbx_breaker_find(ro, "b", &rb), 0);
	fbx_permit p = junk_permit();
	ck_assert_int_eq(fbx_breaker_allow(rb, &p), FBX_ERDONLY);
	assert_error_permit(b, "b", &p, "allow(read-only)");
	ck_assert_int_eq(fbx_breaker_done(rb, &p, FBX_FAILURE, 0), FBX_EINVAL);
	fbx_box_close(ro);
}
END_TEST

START_TEST(allow_corrupt_state_writes_permit)
{
	fbx_breaker *b = tbreaker_reg(box, "b", NULL);
	/* a state no breaker can be in: only a damaged box holds it */
	atomic_store(&b->rec->state, FBX__ST_MAKE(9, 0, 1, 0));
	fbx_permit p = junk_permit();
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_ECORRUPT);
	ck_assert_int_eq(p.reason, FBX_REJECT_NONE);
	ck_assert_uint_eq(p.retry_after_ns, 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), FBX_EINVAL);
}
END_TEST

/* A rejection says why and for how long, and done() refuses its permit. */
START_TEST(allow_rejected_writes_permit)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	bc.fail_max = 1;
	fbx_breaker *b = tbreaker_reg(box, "b", &bc);
	tbreaker_call(b, FBX_FAILURE, 0);
	fbx_permit p = junk_permit();
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
	ck_assert_uint_gt(p.retry_after_ns, 0);
	ck_assert_uint_le(p.retry_after_ns, bc.reset_timeout_ns);
	fbx_breaker_info before = tbreaker_now(box, "b");
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), FBX_EINVAL);
	fbx_breaker_info after = tbreaker_now(box, "b");
	ck_assert_uint_eq(after.successes, before.successes);
	ck_assert_int_eq(after.state, FBX_OPEN);

	ck_assert_int_eq(fbx_breaker_trip(b, "test"), 0);
	p = junk_permit();
	ck_assert_int_eq(fbx_breaker_allow(b, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_FORCED_OPEN);
	ck_assert_uint_eq(p.retry_after_ns, 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_FAILURE, 0), FBX_EINVAL);
}
END_TEST

/* The control: an admitted permit says so and done() takes it. */
START_TEST(allow_admitted_writes_permit)
{
	fbx_breaker *b = tbreaker_reg(box, "b", NULL);
	fbx_permit p = junk_permit();
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
	ck_assert_int_eq(p.reason, FBX_REJECT_NONE);
	ck_assert_uint_eq(p.retry_after_ns, 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
	ck_assert_uint_eq(tbreaker_now(box, "b").successes, 1);
}
END_TEST

static int calls;
static fbx_outcome count_call(void *arg)
{
	(void)arg;
	calls++;
	return FBX_SUCCESS;
}

/* call(): the permit on every return, the outcome only when fn ran. */
START_TEST(call_writes_permit_and_outcome_when_run)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	bc.fail_max = 1;
	fbx_breaker *b = tbreaker_reg(box, "b", &bc);
	fbx_permit p = junk_permit();
	fbx_outcome o = (fbx_outcome)77;
	calls = 0;
	ck_assert_int_eq(fbx_breaker_call(NULL, count_call, NULL, &o, &p), FBX_EINVAL);
	ck_assert_int_eq(p.reason, FBX_REJECT_NONE);
	ck_assert_uint_eq(p.retry_after_ns, 0);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), FBX_EINVAL);
	p = junk_permit();
	ck_assert_int_eq(fbx_breaker_call(b, NULL, NULL, &o, &p), FBX_EINVAL);
	assert_error_permit(b, "b", &p, "call(fn NULL)");
	ck_assert_int_eq((int)o, 77);

	ck_assert_int_eq(fbx_breaker_call(b, count_call, NULL, &o, &p), 0);
	ck_assert_int_eq(o, FBX_SUCCESS);
	ck_assert_int_eq(p.reason, FBX_REJECT_NONE);

	tbreaker_call(b, FBX_FAILURE, 0);
	o = (fbx_outcome)77;
	p = junk_permit();
	ck_assert_int_eq(fbx_breaker_call(b, count_call, NULL, &o, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_OPEN);
	ck_assert_uint_gt(p.retry_after_ns, 0);
	ck_assert_int_eq((int)o, 77);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(config_get_error_zeroes_cfg)
{
	fbx_breaker_config cfg;
	memset(&cfg, JUNK, sizeof(cfg));
	ck_assert_int_eq(fbx_breaker_config_get(NULL, &cfg), FBX_EINVAL);
	fbx_breaker_config zero;
	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(memcmp(&cfg, &zero, sizeof(cfg)), 0);
	ck_assert_int_eq(fbx_breaker_config_check(&cfg, NULL), FBX_EINVAL);
}
END_TEST

/* ---- handles ------------------------------------------------------------- */

static void *junk_ptr(void)
{
	void *p;
	memset(&p, JUNK, sizeof(p));
	return p;
}

START_TEST(register_and_find_errors_leave_out)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b = junk_ptr();
	ck_assert_int_eq(fbx_breaker_register(NULL, "b", &bc, &b), FBX_EINVAL);
	ck_assert_ptr_eq(b, junk_ptr());
	b = junk_ptr();
	ck_assert_int_eq(fbx_breaker_register(box, "bad name", &bc, &b), FBX_ENAME);
	ck_assert_ptr_eq(b, junk_ptr());
	tbreaker_reg(box, "b", &bc);
	bc.fail_max = 9;
	b = junk_ptr();
	ck_assert_int_eq(fbx_breaker_register(box, "b", &bc, &b), FBX_ECONFLICT);
	ck_assert_ptr_eq(b, junk_ptr());
	b = junk_ptr();
	ck_assert_int_eq(fbx_breaker_find(box, "none", &b), FBX_ENOENT);
	ck_assert_ptr_eq(b, junk_ptr());

	fbx_limiter_config lc;
	tlim_config(&lc, "10/second", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_limiter *l = junk_ptr();
	ck_assert_int_eq(fbx_limiter_register(NULL, "l", &lc, &l), FBX_EINVAL);
	ck_assert_ptr_eq(l, junk_ptr());
	lc.rule = "10/fortnight";
	l = junk_ptr();
	ck_assert_int_eq(fbx_limiter_register(box, "l", &lc, &l), FBX_ERULE);
	ck_assert_ptr_eq(l, junk_ptr());
	l = junk_ptr();
	ck_assert_int_eq(fbx_limiter_find(box, "none", &l), FBX_ENOENT);
	ck_assert_ptr_eq(l, junk_ptr());
	fbx_box *ro = open_rdonly();
	b = junk_ptr();
	ck_assert_int_eq(fbx_breaker_register(ro, "new", &bc, &b), FBX_ERDONLY);
	ck_assert_ptr_eq(b, junk_ptr());
	fbx_box_close(ro);
}
END_TEST

/* ---- limit results ------------------------------------------------------- */

static fbx_limit_result junk_result(void)
{
	fbx_limit_result r;
	memset(&r, JUNK, sizeof(r));
	return r;
}

static void assert_zero_result(const fbx_limit_result *r, const char *what)
{
	fbx_limit_result zero;
	memset(&zero, 0, sizeof(zero));
	ck_assert_msg(memcmp(r, &zero, sizeof(zero)) == 0,
		      "%s: allowed %d dry %d limit %llu remaining %llu reset %llu retry %llu now %llu",
		      what, r->allowed, r->dry_run_denied, (ull)r->limit, (ull)r->remaining,
		      (ull)r->reset_ns, (ull)r->retry_after_ns, (ull)r->now_ns);
}

/* The take's errors and the peek's, for a limiter of each algorithm
 * (_i): every one zeroes the result, and consumes nothing. */
static const fbx_algorithm algos[] = {FBX_ALGO_WINDOW, FBX_ALGO_GCRA, FBX_ALGO_LOG};

START_TEST(take_and_peek_errors_zero_result)
{
	fbx_algorithm algo = algos[_i];
	fbx_limiter *g = tlim_reg(box, "g", "3/second", algo, algo == FBX_ALGO_GCRA ? 3 : 1, 0, 0);
	fbx_limiter *k = tlim_reg(box, "k", "3/second", algo, algo == FBX_ALGO_GCRA ? 3 : 1, 1, 0);
	int (*const op[2])(fbx_limiter *, const void *, size_t, uint32_t, fbx_limit_result *) = {
		fbx_limiter_take, fbx_limiter_peek};
	const char *const opname[2] = {"take", "peek"};
	for (int o = 0; o < 2; o++) {
		const struct {
			fbx_limiter *l;
			const char *key;
			size_t keylen;
			uint32_t cost;
			int want;
			const char *what;
		} row[] = {
			{NULL, NULL, 0, 1, FBX_EINVAL, "NULL limiter"},
			{g, NULL, 0, 0, FBX_EINVAL, "cost 0"},
			{g, "x", 1, 1, FBX_EINVAL, "a key on a global limiter"},
			{k, NULL, 0, 1, FBX_EINVAL, "no key on a keyed limiter"},
			{k, "x", 0, 1, FBX_EINVAL, "keylen 0"},
			{g, NULL, 0, 4, FBX_ERANGE, "cost above the count"},
			{k, "x", 1, 4, FBX_ERANGE, "keyed, cost above the count"},
		};
		for (size_t i = 0; i < ARRAY_LEN(row); i++) {
			char what[96];
			snprintf(what, sizeof(what), "%s %s: %s", fbx_algorithm_name(algo), opname[o],
				 row[i].what);
			fbx_limit_result r = junk_result();
			int rc = op[o](row[i].l, row[i].key, row[i].keylen, row[i].cost, &r);
			ck_assert_msg(rc == row[i].want, "%s: %d", what, rc);
			assert_zero_result(&r, what);
		}
		ck_assert_int_eq(op[o](g, NULL, 0, 1, NULL), FBX_EINVAL);
	}
	/* nothing was consumed: the whole budget is there */
	fbx_limit_result r = junk_result();
	ck_assert_int_eq(fbx_limiter_take(g, NULL, 0, 3, &r), 0);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_uint_eq(r.limit, 3);
	tlim_counts(box, "g", 1, 0, 0);
}
END_TEST

START_TEST(take_read_only_zeroes_result)
{
	tlim_reg(box, "g", "3/second", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_box *ro = open_rdonly();
	fbx_limiter *rl;
	ck_assert_int_eq(fbx_limiter_find(ro, "g", &rl), 0);
	fbx_limit_result r = junk_result();
	ck_assert_int_eq(fbx_limiter_take(rl, NULL, 0, 1, &r), FBX_ERDONLY);
	assert_zero_result(&r, "take on a read-only handle");
	/* a peek reads: the read-only handle answers it */
	r = junk_result();
	ck_assert_int_eq(fbx_limiter_peek(rl, NULL, 0, 1, &r), 0);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_uint_eq(r.remaining, 2);
	fbx_box_close(ro);
}
END_TEST

/* A damaged rule in the box: a handle that loads it fails with
 * FBX_ECORRUPT, and its result is zeros, not the last take's figures. */
START_TEST(take_corrupt_config_zeroes_result)
{
	fbx_limiter *l = tlim_reg(box, "g", "3/second", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), 0);
	struct fbx__limiter_rec *rec = l->rec;
	rec->cfg[atomic_load(&rec->cfg_active) & 1].min_count = 0;
	fbx_box *other = treopen(box);
	fbx_limiter *fresh;
	ck_assert_int_eq(fbx_limiter_find(other, "g", &fresh), 0);
	r = junk_result();
	ck_assert_int_eq(fbx_limiter_take(fresh, NULL, 0, 1, &r), FBX_ECORRUPT);
	assert_zero_result(&r, "take on a damaged rule");
	r = junk_result();
	ck_assert_int_eq(fbx_limiter_peek(fresh, NULL, 0, 1, &r), FBX_ECORRUPT);
	assert_zero_result(&r, "peek on a damaged rule");
	fbx_box_close(other);
}
END_TEST

/* The control: a denial carries the figures a 429 needs. */
START_TEST(take_denied_writes_figures)
{
	fbx_algorithm algo = algos[_i];
	fbx_limiter *l = tlim_reg(box, "g", "2/minute", algo, algo == FBX_ALGO_GCRA ? 2 : 1, 0, 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 2, &r), 0);
	r = junk_result();
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.dry_run_denied, 0);
	ck_assert_uint_eq(r.limit, 2);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_uint_gt(r.retry_after_ns, 0);
	/* the window's estimate may wait into the next window, and the log
	 * and GCRA pad a clock tick: within two periods in every case */
	ck_assert_uint_le(r.retry_after_ns, T_MIN(2));
	ck_assert_uint_le(r.reset_ns, T_MIN(2));
	ck_assert_uint_gt(r.now_ns, 0);
}
END_TEST

FBX_TEST_SUITE(outputs)
{
	Suite *s = suite_create("outputs");
	TCase *tc = tcase_create("permit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, allow_null_breaker_writes_permit);
	tcase_add_test(tc, allow_read_only_writes_permit);
	tcase_add_test(tc, allow_corrupt_state_writes_permit);
	tcase_add_test(tc, allow_rejected_writes_permit);
	tcase_add_test(tc, allow_admitted_writes_permit);
	tcase_add_test(tc, call_writes_permit_and_outcome_when_run);
	tcase_add_test(tc, config_get_error_zeroes_cfg);
	tcase_add_test(tc, register_and_find_errors_leave_out);
	suite_add_tcase(s, tc);
	tc = tcase_create("result");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, take_and_peek_errors_zero_result, 0, (int)ARRAY_LEN(algos));
	tcase_add_test(tc, take_read_only_zeroes_result);
	tcase_add_test(tc, take_corrupt_config_zeroes_result);
	tcase_add_loop_test(tc, take_denied_writes_figures, 0, (int)ARRAY_LEN(algos));
	suite_add_tcase(s, tc);
	return s;
}
