/* test_limiter_register.c — registering and finding limiters: the
 * configuration's defaults, the same name again (same state, or
 * FBX_ECONFLICT), bad names, rules and arguments, and a full box.
 *
 * Every test substitutes the clock (tclock_install() before the box is
 * created) and moves it by hand: no sleeps, no timing thresholds. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define WINDOW FBX_ALGO_WINDOW
#define GCRA FBX_ALGO_GCRA

/* The defaults the header promises. */
START_TEST(config_defaults)
{
	fbx_limiter_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	fbx_limiter_config_init(&cfg);
	ck_assert_ptr_null(cfg.rule);
	ck_assert_int_eq(cfg.algorithm, FBX_ALGO_AUTO);
	ck_assert_uint_eq(cfg.burst, 1);
	ck_assert_int_eq(cfg.keyed, 0);
	ck_assert_int_eq(cfg.dry_run, 0);
	fbx_limiter_config_init(NULL); /* a no-op, not a crash */
}
END_TEST

START_TEST(register_same_config_keeps_state)
{
	fbx_limiter_config cfg;
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *again = NULL, *far = NULL;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "same", "2/second;10/minute", GCRA, 2, 1, 0);
	tclock_set_ns(T_DAY0);
	ck_assert_int_eq(tlim_take(l, "k", 1, &r), 0);
	ck_assert_int_eq(tlim_take(l, "k", 1, &r), 0);
	ck_assert_int_eq(tlim_take(l, "k", 1, &r), FBX_ELIMITED);

	/* the same rule written another way is the same configuration */
	tlim_config(&cfg, "2 per second, 10 per minute", GCRA, 2, 1, 0);
	ck_assert_int_eq(fbx_limiter_register(box, "same", &cfg, &again), 0);
	ck_assert_ptr_nonnull(again);
	ck_assert_str_eq(fbx_limiter_name(again), "same");
	ck_assert_int_eq(tlim_take(again, "k", 1, &r), FBX_ELIMITED);
	box2 = treopen(box);
	ck_assert_int_eq(fbx_limiter_register(box2, "same", &cfg, &far), 0);
	ck_assert_int_eq(tlim_take(far, "k", 1, &r), FBX_ELIMITED);
	tlim_counts(box, "same", 2, 3, 0);
	ck_assert_uint_eq(tlimiter_now(box, "same").keys, 1);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

static const struct conflict_row {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
} conflict_rows[] = {
	{ "5/minute", WINDOW, 2, 0 },      /* rule */
	{ "10/minute;4/second", WINDOW, 2, 0 },
	{ "10/minute;3/second", GCRA, 2, 0 }, /* algorithm */
	{ "10/minute;3/second", WINDOW, 2, 1 }, /* keyed */
	{ "10/minute;3/second", GCRA, 3, 0 },  /* burst, against the GCRA one */
};

START_TEST(register_conflict)
{
	const struct conflict_row *row = &conflict_rows[_i];
	fbx_limiter_config cfg;
	fbx_limit_result r;
	fbx_limiter_info li;
	fbx_box *box;
	fbx_limiter *w, *g, *out;
	int rc;

	tclock_install();
	box = tlim_box(4, 64);
	w = tlim_reg(box, "w", "10/minute;3/second", WINDOW, 2, 0, 0);
	g = tlim_reg(box, "g", "10/minute;3/second", GCRA, 2, 0, 0);
	tclock_set_ns(T_DAY0);
	ck_assert_int_eq(tlim_take(w, NULL, 1, &r), 0);
	ck_assert_int_eq(tlim_take(g, NULL, 1, &r), 0);

	tlim_config(&cfg, row->rule, row->algo, row->burst, row->keyed, 0);
	out = (fbx_limiter *)&out;
	rc = fbx_limiter_register(box, row->algo == GCRA && row->burst != 2 ? "g" : "w", &cfg,
				  &out);
	ck_assert_msg(rc == FBX_ECONFLICT, "row %d: rc %d, want FBX_ECONFLICT", _i, rc);
	ck_assert_ptr_eq(out, (fbx_limiter *)&out);
	/* nothing changed */
	li = tlimiter_now(box, "w");
	ck_assert_str_eq(li.rule, "10/minute;3/second");
	ck_assert_int_eq(li.algorithm, WINDOW);
	ck_assert_int_eq(li.keyed, 0);
	li = tlimiter_now(box, "g");
	ck_assert_int_eq(li.algorithm, GCRA);
	ck_assert_uint_eq(li.burst, 2);
	ck_assert_int_eq(tlim_take(w, NULL, 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 1); /* 3/second is the tighter, 2 used */
	fbx_box_close(box);
}
END_TEST

#define NAME63 "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define NAME64 NAME63 "x"

static const struct regbad_row {
	int null_box, null_cfg, null_out;
	const char *name;
	const char *rule;
	int algo;
	uint32_t burst;
	int rc;
} regbad_rows[] = {
	{ 1, 0, 0, "x", "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 1, 0, "x", "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 1, "x", "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 0, NULL, "5/second", WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 0, "x", NULL, WINDOW, 1, FBX_EINVAL },
	{ 0, 0, 0, "x", "", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "100/fortnight", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "0/minute", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "-5/second", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "abc", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "10/", WINDOW, 1, FBX_ERULE },
	{ 0, 0, 0, "x", "100/fortnight", GCRA, 1, FBX_ERULE },
	{ 0, 0, 0, "", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, NAME64, "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, NAME64 "yz", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "api limit", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "api\x01", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "\tapi", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "api\x7f", "5/second", WINDOW, 1, FBX_ENAME },
	{ 0, 0, 0, "x", "16777216/second", WINDOW, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second;16777216/hour", WINDOW, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second", GCRA, 0, FBX_EINVAL },
	{ 0, 0, 0, "x", "5/second", GCRA, FBX_GCRA_BURST_MAX + 1, FBX_EINVAL },
	{ 0, 0, 0, "x", "128/second", FBX_ALGO_LOG, 1, FBX_ERANGE }, /* the log holds 127 */
	{ 0, 0, 0, "x", "5/second;65536/hour", FBX_ALGO_LOG, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "2000000000/second", GCRA, 1, FBX_ERANGE },
	{ 0, 0, 0, "x", "5/second", 4, 1, FBX_EINVAL },
	{ 0, 0, 0, "x", "5/second", -1, 1, FBX_EINVAL },
	/* the edges that are fine */
	{ 0, 0, 0, NAME63, "5/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "a", "5/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "api:v1/users~!", "5/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "x", "16777215/second", WINDOW, 1, 0 },
	{ 0, 0, 0, "x", "16777216/second", GCRA, 1, 0 },
	{ 0, 0, 0, "x", "5/second", GCRA, 5, 0 },
	{ 0, 0, 0, "x", "5/second", GCRA, 6, 0 }, /* a burst above the count is tolerance */
	{ 0, 0, 0, "x", "127/second", FBX_ALGO_LOG, 1, 0 },
	{ 0, 0, 0, "x", "5/second", FBX_ALGO_AUTO, 1, 0 },
	{ 0, 0, 0, "x", "1000000000/second", GCRA, 1, 0 },
};

START_TEST(register_bad_inputs)
{
	const struct regbad_row *row = &regbad_rows[_i];
	fbx_limiter_config cfg;
	fbx_box *box;
	fbx_limiter *out, *found;
	size_t n = 1;
	fbx_snapshot *s;
	int rc;

	tclock_install();
	box = tlim_box(4, 64);
	tlim_config(&cfg, row->rule, (fbx_algorithm)row->algo, row->burst, 0, 0);
	out = (fbx_limiter *)&out;
	rc = fbx_limiter_register(row->null_box ? NULL : box, row->name,
				  row->null_cfg ? NULL : &cfg, row->null_out ? NULL : &out);
	ck_assert_msg(rc == row->rc, "row %d (name %s, rule %s, %s burst %u): rc %d (%s), want %d",
		      _i, row->name ? row->name : "NULL", row->rule ? row->rule : "NULL",
		      fbx_algorithm_name(row->algo), row->burst, rc, fbx_strerror(rc), row->rc);
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	fbx_snapshot_limiters(s, &n);
	fbx_snapshot_free(s);
	if (rc == 0) {
		ck_assert_ptr_ne(out, (fbx_limiter *)&out);
		ck_assert_str_eq(fbx_limiter_name(out), row->name);
		ck_assert_int_eq(fbx_limiter_find(box, row->name, &found), 0);
		ck_assert_uint_eq(n, 1);
	} else {
		ck_assert_ptr_eq(out, (fbx_limiter *)&out);
		ck_assert_uint_eq(n, 0);
	}
	fbx_box_close(box);
}
END_TEST

START_TEST(find_errors)
{
	fbx_box *box;
	fbx_limiter *l, *f = NULL;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "here", "5/second", WINDOW, 1, 0, 0);
	ck_assert_int_eq(fbx_limiter_find(box, "here", &f), 0);
	ck_assert_ptr_eq(f, l);
	ck_assert_int_eq(fbx_limiter_find(box, "absent", &f), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_find(box, "her", &f), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_find(box, "here2", &f), FBX_ENOENT);
	ck_assert_int_eq(fbx_limiter_find(box, "", &f), FBX_ENAME);
	ck_assert_int_eq(fbx_limiter_find(box, "a b", &f), FBX_ENAME);
	ck_assert_int_eq(fbx_limiter_find(box, NAME64, &f), FBX_ENAME);
	ck_assert_int_eq(fbx_limiter_find(box, NULL, &f), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_find(NULL, "here", &f), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_find(box, "here", NULL), FBX_EINVAL);
	ck_assert_ptr_null(fbx_limiter_name(NULL));
	fbx_box_close(box);
}
END_TEST

/* A box for N limiters takes N and refuses the next with FBX_EFULL; the
 * ones it has still register (attach) and work. */
static const uint32_t full_caps[] = { 1, 2, 5 };

START_TEST(register_full)
{
	uint32_t cap = full_caps[_i], i;
	fbx_limit_result r;
	fbx_limiter_config cfg;
	fbx_limiter *l[8], *out;
	fbx_box *box;
	char name[16];
	size_t n;
	fbx_snapshot *s;

	tclock_install();
	box = tlim_box(cap, 64);
	tclock_set_ns(T_DAY0);
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		l[i] = tlim_reg(box, name, "1/minute", WINDOW, 1, 0, 0);
		ck_assert_int_eq(tlim_take(l[i], NULL, 1, &r), 0);
	}
	tlim_config(&cfg, "1/minute", WINDOW, 1, 0, 0);
	out = NULL;
	ck_assert_int_eq(fbx_limiter_register(box, "one-too-many", &cfg, &out), FBX_EFULL);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(fbx_limiter_find(box, "one-too-many", &out), FBX_ENOENT);
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		ck_assert_int_eq(fbx_limiter_register(box, name, &cfg, &out), 0);
		ck_assert_int_eq(tlim_take(out, NULL, 1, &r), FBX_ELIMITED);
	}
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	fbx_snapshot_limiters(s, &n);
	fbx_snapshot_free(s);
	ck_assert_uint_eq(n, cap);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_register)
{
	Suite *s = suite_create("limiter_register");
	TCase *tc = tcase_create("register");
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, register_same_config_keeps_state);
	tcase_add_loop_test(tc, register_conflict, 0, (int)ARRAY_LEN(conflict_rows));
	tcase_add_loop_test(tc, register_bad_inputs, 0, (int)ARRAY_LEN(regbad_rows));
	tcase_add_test(tc, find_errors);
	tcase_add_loop_test(tc, register_full, 0, (int)ARRAY_LEN(full_caps));
	suite_add_tcase(s, tc);
	return s;
}
