/* test_limiter_keyed.c — keyed limiters: one budget per key (the whole
 * key counts), shared by every handle and process, the arguments a keyed
 * take needs, the keys denied most, and the key table all limiters share:
 * its evictions and an entry holding another limiter's word.
 *
 * Every test substitutes the clock (tclock_install() before the box is
 * created) and moves it by hand: no sleeps, no timing thresholds. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/types.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "internal.h"
#include "keytable.h"
#include "suites.h"

#define WINDOW FBX_ALGO_WINDOW
#define GCRA FBX_ALGO_GCRA

/* The key table holds a power of two of buckets with 25% headroom
 * (layout.c): a box made for 64 keys has 128 entries.  A key may live in
 * one of two 4-way buckets, so up to 8 live keys can never crowd a new key
 * out of both. */
#define KT_KEYS 64
#define KT_ENTRIES 128
#define KT_NEVER_CROWDED 8

static const struct key_pair {
	const char *a;
	size_t alen;
	const char *b;
	size_t blen;
} key_pairs[] = {
	{ "alice", 5, "bob", 3 },
	{ "ab", 1, "ab", 2 },             /* length is part of the key */
	{ "a\0x", 3, "a\0y", 3 },         /* bytes after a NUL count */
	{ "\0", 1, "\0\0", 2 },
	{ "10.0.0.1", 8, "10.0.0.10", 9 },
	{ "K", 1, "k", 1 },
};

START_TEST(keyed_separate_budgets)
{
	const struct key_pair *kp = &key_pairs[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	int i;

	tclock_install();
	box = tlim_box(4, 256);
	l = tlim_reg(box, "keyed", "3/second", WINDOW, 1, 1, 0);
	tclock_set_ns(T_DAY0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(fbx_limiter_take(l, kp->a, kp->alen, 1, &r), 0);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
	}
	ck_assert_int_eq(fbx_limiter_take(l, kp->a, kp->alen, 1, &r), FBX_ELIMITED);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(fbx_limiter_take(l, kp->b, kp->blen, 1, &r) == 0,
			      "pair %d: the second key shares the first's budget", _i);
		ck_assert_uint_eq(r.remaining, (uint64_t)(2 - i));
	}
	ck_assert_int_eq(fbx_limiter_take(l, kp->b, kp->blen, 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_take(l, kp->a, kp->alen, 1, &r), FBX_ELIMITED);
	ck_assert_uint_eq(tlimiter_now(box, "keyed").keys, 2);
	fbx_box_close(box);
}
END_TEST

/* A long key (well past any inline buffer) differing in its last byte. */
START_TEST(keyed_long_keys)
{
	char a[300], b[300];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;

	tclock_install();
	box = tlim_box(4, 256);
	l = tlim_reg(box, "long", "1/minute", GCRA, 1, 1, 0);
	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 1] = 'y';
	ck_assert_int_eq(fbx_limiter_take(l, a, sizeof(a), 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, a, sizeof(a), 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(fbx_limiter_take(l, b, sizeof(b), 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, b, sizeof(b) - 1, 1, &r), 0);
	ck_assert_int_eq(fbx_limiter_take(l, b, sizeof(b) - 1, 1, &r), FBX_ELIMITED);
	fbx_box_close(box);
}
END_TEST

/* One key, one budget, however many handles: a second handle in this
 * process (fbx_limiter_find on the same box and on a second mapping), and
 * a forked child with the inherited handle. */
START_TEST(keyed_shared_across_handles)
{
	fbx_limit_result r;
	fbx_box *box, *box2;
	fbx_limiter *l, *same, *other;
	pid_t pid;

	tclock_install();
	box = tlim_box(4, 256);
	l = tlim_reg(box, "shared", "6/minute", WINDOW, 1, 1, 0);
	tclock_set_ns(T_DAY0);
	ck_assert_int_eq(fbx_limiter_find(box, "shared", &same), 0);
	ck_assert_str_eq(fbx_limiter_name(same), "shared");
	box2 = treopen(box);
	ck_assert_int_eq(fbx_limiter_find(box2, "shared", &other), 0);
	ck_assert_ptr_ne(other, l);

	ck_assert_int_eq(tlim_take(l, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 5);
	ck_assert_int_eq(tlim_take(same, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 4);
	ck_assert_int_eq(tlim_take(other, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 3);

	pid = tfork();
	if (pid == 0) {
		fbx_limit_result cr;
		int bad = 0;

		bad |= tlim_take(l, "tok", 1, &cr) != 0 || cr.remaining != 2;
		bad |= tlim_take(l, "tok", 1, &cr) != 0 || cr.remaining != 1;
		_exit(bad ? 1 : 0);
	}
	ck_assert_int_eq(twait(pid), 0);
	ck_assert_int_eq(tlim_take(other, "tok", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 0);
	ck_assert_int_eq(tlim_take(l, "tok", 1, &r), FBX_ELIMITED);
	ck_assert_int_eq(tlim_take(other, "tok", 1, &r), FBX_ELIMITED);
	/* another key is untouched */
	ck_assert_int_eq(tlim_take(other, "tok2", 1, &r), 0);
	ck_assert_uint_eq(r.remaining, 5);
	/* both processes' counts, through either mapping */
	tlim_counts(box, "shared", 7, 2, 0);
	tlim_counts(box2, "shared", 7, 2, 0);
	fbx_box_close(box2);
	fbx_box_close(box);
}
END_TEST

static const struct keyarg_row {
	int keyed;
	const char *key;
	size_t keylen;
	int rc;
} keyarg_rows[] = {
	{ 1, NULL, 0, FBX_EINVAL },
	{ 1, NULL, 3, FBX_EINVAL },
	{ 1, "abc", 0, FBX_EINVAL },
	{ 0, "abc", 3, FBX_EINVAL },
	{ 0, NULL, 1, FBX_EINVAL },
	{ 1, "abc", 3, 0 },
	{ 0, NULL, 0, 0 },
};

START_TEST(keyed_bad_args)
{
	const struct keyarg_row *row = &keyarg_rows[_i];
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *l;
	int rc;

	tclock_install();
	box = tlim_box(4, 64);
	l = tlim_reg(box, "args", "5/second", WINDOW, 1, row->keyed, 0);
	rc = fbx_limiter_take(l, row->key, row->keylen, 1, &r);
	ck_assert_msg(rc == row->rc, "keyed %d key %s len %zu: rc %d, want %d", row->keyed,
		      row->key ? "set" : "NULL", row->keylen, rc, row->rc);
	tlim_counts(box, "args", rc == 0, 0, 0);
	ck_assert_uint_eq(tlimiter_now(box, "args").keys, row->keyed && rc == 0 ? 1 : 0);
	/* NULL limiter or result */
	ck_assert_int_eq(fbx_limiter_take(NULL, row->key, row->keylen, 1, &r), FBX_EINVAL);
	ck_assert_int_eq(fbx_limiter_take(l, row->key, row->keylen, 1, NULL), FBX_EINVAL);
	tlim_counts(box, "args", rc == 0, 0, 0);
	fbx_box_close(box);
}
END_TEST

/* The keys a keyed limiter denies most, for `limiter show --top`: exact
 * while they fit, never undercounted once others push in. */
START_TEST(top_denied_keys)
{
	tclock_install();
	fbx_box *box = tlim_box(2, 64);
	fbx_limiter *l = tlim_reg(box, "top", "1/minute", FBX_ALGO_WINDOW, 1, 1, 0);
	fbx_limit_result r;
	const char *keys[] = {"alpha", "beta", "gamma"};
	const int denials[] = {5, 3, 1};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i <= denials[k]; i++)
			ck_assert_int_eq(tlim_take(l, keys[k], 1, &r), i == 0 ? 0 : FBX_ELIMITED);
	fbx_limiter_info li = tlimiter_now(box, "top");
	ck_assert_uint_eq(li.ntop, 3);
	for (int k = 0; k < 3; k++) {
		ck_assert_str_eq(li.top[k].key, keys[k]);
		ck_assert_uint_eq(li.top[k].denials, (uint64_t)denials[k]);
	}
	/* ten more keys, denied once each, push the least denied out */
	char name[32];
	for (int k = 0; k < 10; k++) {
		snprintf(name, sizeof(name), "other-%d", k);
		tlim_take(l, name, 1, &r);
		ck_assert_int_eq(tlim_take(l, name, 1, &r), FBX_ELIMITED);
	}
	li = tlimiter_now(box, "top");
	ck_assert_uint_eq(li.ntop, FBX_TOP_KEYS);
	ck_assert_str_eq(li.top[0].key, "alpha");
	ck_assert_uint_eq(li.top[0].denials, 5);
	for (uint32_t i = 1; i < li.ntop; i++)
		ck_assert_uint_ge(li.top[i - 1].denials, li.top[i].denials);
	/* what a key holds is shown printable, and cut visibly */
	fbx_limiter *b = tlim_reg(box, "bin", "1/minute", FBX_ALGO_WINDOW, 1, 1, 0);
	const char bin[] = {'k', 1, (char)0xff, 'z'};
	char longkey[80];
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (int i = 0; i < 2; i++) {
		fbx_limiter_take(b, bin, sizeof(bin), 1, &r);
		fbx_limiter_take(b, longkey, strlen(longkey), 1, &r);
	}
	li = tlimiter_now(box, "bin");
	ck_assert_uint_eq(li.ntop, 2);
	bool saw_bin = false, saw_long = false;
	for (uint32_t i = 0; i < li.ntop; i++) {
		saw_bin |= strcmp(li.top[i].key, "k??z") == 0;
		size_t n = strlen(li.top[i].key);
		saw_long |= n == FBX_TOP_KEY_TEXT - 1 + 3 &&
			    strcmp(li.top[i].key + n - 3, "...") == 0;
	}
	ck_assert(saw_bin);
	ck_assert(saw_long);
	fbx_box_close(box);
}
END_TEST

/*
 * A table for 64 keys (128 entries) under 400 distinct live keys: the
 * keys figure never passes the table, every key past it evicts a live one
 * and is counted, and a new key always starts with a whole budget.  Two
 * periods later everything is expired: new keys reuse those entries and
 * nothing is counted as evicted.
 */
START_TEST(keytable_evictions)
{
	fbx_limit_result r;
	fbx_limiter_info li;
	fbx_box *box;
	fbx_limiter *l;
	uint64_t keys1, ev1, k;
	char key[32];

	tclock_install();
	box = tlim_box(2, KT_KEYS);
	l = tlim_reg(box, "kt", "10/second", WINDOW, 1, 1, 0);
	tclock_set_ns(T_DAY0 + T_MS(300));
	for (k = 0; k < 400; k++) {
		snprintf(key, sizeof(key), "live-%llu", (ull)k);
		ck_assert_int_eq(tlim_take(l, key, 1, &r), 0);
		ck_assert_msg(r.remaining == 9, "key %llu starts with %llu left", (ull)k,
			      (ull)r.remaining);
		li = tlimiter_now(box, "kt");
		ck_assert_msg(li.keys <= KT_ENTRIES, "after %llu keys: keys %llu", (ull)k + 1,
			      (ull)li.keys);
		ck_assert_msg(li.keys + li.evictions == k + 1,
			      "after %llu keys: %llu held + %llu evicted", (ull)k + 1,
			      (ull)li.keys, (ull)li.evictions);
	}
	keys1 = li.keys;
	ev1 = li.evictions;
	ck_assert_uint_ge(keys1, KT_KEYS); /* at least what the box was made for */
	ck_assert_uint_eq(ev1, 400 - keys1);

	/* two periods on, every one of them has run out */
	tclock_set_ns(T_DAY0 + T_MS(300) + T_S(2));
	for (k = 0; k < KT_NEVER_CROWDED; k++) {
		snprintf(key, sizeof(key), "fresh-%llu", (ull)k);
		ck_assert_int_eq(tlim_take(l, key, 1, &r), 0);
		ck_assert_uint_eq(r.remaining, 9);
		li = tlimiter_now(box, "kt");
		ck_assert_msg(li.evictions == ev1,
			      "fresh key %llu: evictions %llu -> %llu, but every key it could "
			      "push out had expired",
			      (ull)k, (ull)ev1, (ull)li.evictions);
		ck_assert_uint_eq(li.keys, keys1);
	}
	/* 300 more now: at most the expired entries are free, the rest evict */
	for (k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "more-%llu", (ull)k);
		ck_assert_int_eq(tlim_take(l, key, 1, &r), 0);
		ck_assert_uint_eq(r.remaining, 9);
	}
	li = tlimiter_now(box, "kt");
	ck_assert_uint_eq(li.keys, keys1);
	ck_assert_uint_le(li.evictions - ev1, 300);
	ck_assert_uint_ge(li.evictions - ev1, 300 - (keys1 - KT_NEVER_CROWDED));
	fbx_box_close(box);
}
END_TEST

/* Limiters share the table; each counts its own keys, and one key string
 * in two limiters is two budgets. */
START_TEST(keytable_per_limiter)
{
	fbx_limit_result r;
	fbx_box *box;
	fbx_limiter *a, *b;
	char key[16];
	int k;

	tclock_install();
	box = tlim_box(4, 1024);
	a = tlim_reg(box, "a", "1/minute", WINDOW, 1, 1, 0);
	b = tlim_reg(box, "b", "1/minute", GCRA, 1, 1, 0);
	tclock_set_ns(T_DAY0);
	for (k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "u%d", k);
		ck_assert_int_eq(tlim_take(a, key, 1, &r), 0);
		if (k < 4)
			ck_assert_int_eq(tlim_take(b, key, 1, &r), 0);
	}
	for (k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "u%d", k);
		ck_assert_int_eq(tlim_take(a, key, 1, &r), FBX_ELIMITED);
		ck_assert_int_eq(tlim_take(b, key, 1, &r), k < 4 ? FBX_ELIMITED : 0);
	}
	ck_assert_uint_eq(tlimiter_now(box, "a").keys, 10);
	ck_assert_uint_eq(tlimiter_now(box, "b").keys, 10);
	ck_assert_uint_eq(tlimiter_now(box, "a").evictions, 0);
	tlim_counts(box, "a", 10, 10, 0);
	tlim_counts(box, "b", 10, 4, 0);
	fbx_box_close(box);
}
END_TEST

/* A write meant for an entry's previous key (another limiter's window
 * word) read as a GCRA TAT would lock the new key out for years; reset, it
 * would hand the key a fresh burst.  The key's budget counts as spent:
 * denied now, told to retry in one interval, admitted then. */
START_TEST(foreign_word_in_gcra_entry_does_not_lock_out)
{
	tclock_install();
	fbx_box *box = tbox_create(NULL);
	fbx_limiter *l = tlim_reg(box, "gk", "10/second", GCRA, 2, 1, 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, "victim", 6, 1, &r), 0);
	const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
	uint64_t h = fbx__keyhash(seed, "victim", 6);
	struct fbx__kbucket *bk[2];
	fbx__key_buckets(l, h, bk);
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
	ck_assert_uint_le(r.retry_after_ns, T_S(1) / 9 + 1);
	tclock_advance_ms(r.retry_after_ns / T_MS(1) + 1);
	ck_assert_int_eq(fbx_limiter_take(l, "victim", 6, 1, &r), 0);
	ck_assert_uint_lt(r.reset_ns, T_S(1));
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(limiter_keyed)
{
	Suite *s = suite_create("limiter_keyed");
	TCase *tc;

	tc = tcase_create("keyed");
	tcase_add_loop_test(tc, keyed_separate_budgets, 0, (int)ARRAY_LEN(key_pairs));
	tcase_add_test(tc, keyed_long_keys);
	tcase_add_test(tc, top_denied_keys);
	tcase_add_test(tc, keyed_shared_across_handles);
	tcase_add_loop_test(tc, keyed_bad_args, 0, (int)ARRAY_LEN(keyarg_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("keytable");
	tcase_add_test(tc, keytable_evictions);
	tcase_add_test(tc, keytable_per_limiter);
	tcase_add_test(tc, foreign_word_in_gcra_entry_does_not_lock_out);
	suite_add_tcase(s, tc);
	return s;
}
