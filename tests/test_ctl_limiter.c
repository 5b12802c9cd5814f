/* test_ctl_limiter.c — fuseboxctl limiter: add and show, take (text and
 * JSON, keys and costs), set changing the rule live, dry-run, and the top
 * keys by denials. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

START_TEST(limiter_add_and_show)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "plain", "--rate", "100/minute");
	ck_assert_str_eq(R.err, "");
	const json_t *l = limiter_json(box, "plain");
	ck_assert_str_eq(jstr(l, "rule"), "100/minute");
	ck_assert_str_eq(jstr(l, "algorithm"), "window");
	ck_assert(!jbool(l, "keyed"));
	ck_assert(!jbool(l, "dry_run"));
	ck_assert_uint_eq(juint(l, "allowed"), 0);
	OK(box, "limiter", "add", "fancy", "--rate", "10 per second", "--algo", "gcra", "--burst",
	   "5", "--keyed", "--dry-run");
	l = limiter_json(box, "fancy");
	ck_assert_str_eq(jstr(l, "rule"), "10/second");
	ck_assert_str_eq(jstr(l, "algorithm"), "gcra");
	ck_assert_uint_eq(juint(l, "burst"), 5);
	ck_assert(jbool(l, "keyed"));
	ck_assert(jbool(l, "dry_run"));
	OK(box, "limiter", "add", "multi", "--rate", "5/second;100/minute");
	ck_assert_str_eq(jstr(limiter_json(box, "multi"), "rule"), "5/second;100/minute");
	/* again: the same is fine, another rule is not */
	OK(box, "limiter", "add", "plain", "--rate", "100 per minute");
	FAILS("different", box, "limiter", "add", "plain", "--rate", "50/minute");
	FAILS("different", box, "limiter", "add", "plain", "--rate", "100/minute", "--keyed");
	ck_assert_str_eq(jstr(limiter_json(box, "plain"), "rule"), "100/minute");
	OK(box, "limiter", "show", "fancy");
	ck_assert_msg(strncmp(R.out, "limiter fancy\n", 14) == 0, "[%s]", R.out);
}
END_TEST

START_TEST(limiter_take_json)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "g", "--rate", "3/minute", "--algo", "gcra", "--burst", "3");
	for (unsigned i = 0; i < 3; i++) {
		OK(box, "limiter", "take", "g", "--json");
		const json_t *t = json_must(R.out);
		ck_assert(jbool(t, "allowed"));
		ck_assert_uint_eq(juint(t, "limit"), 3);
		ck_assert_uint_eq(juint(t, "remaining"), 2 - i);
		ck_assert_uint_gt(juint(t, "reset_ms"), 0);
		ck_assert_uint_eq(juint(t, "retry_after_ms"), 0);
	}
	EXPECT(1, box, "limiter", "take", "g", "--json");
	ck_assert_str_eq(R.err, "");
	const json_t *t = json_must(R.out);
	ck_assert(!jbool(t, "allowed"));
	ck_assert_uint_eq(juint(t, "limit"), 3);
	ck_assert_uint_eq(juint(t, "remaining"), 0);
	juint(t, "reset_ms");
	ck_assert_uint_gt(juint(t, "retry_after_ms"), 0);
	ck_assert_uint_le(juint(t, "retry_after_ms"), 60000 + 100); /* one interval (+ a tick) */
	/* the text form */
	EXPECT(1, box, "limiter", "take", "g");
	ck_assert_msg(strncmp(R.out, "denied", 6) == 0 && strstr(R.out, "retry_after=") &&
			      strstr(R.out, "remaining=0") && count_char(R.out, '\n') == 1,
		      "[%s]", R.out);
	const json_t *l = limiter_json(box, "g");
	ck_assert_uint_eq(juint(l, "allowed"), 3);
	ck_assert_uint_eq(juint(l, "denied"), 2);
	/* and an allowed take in text */
	OK(box, "limiter", "add", "w", "--rate", "5/hour");
	OK(box, "limiter", "take", "w");
	ck_assert_msg(strncmp(R.out, "allowed limit=5 remaining=4 ", 28) == 0, "[%s]", R.out);
}
END_TEST

START_TEST(limiter_take_key_and_cost)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "k", "--rate", "2/hour", "--keyed");
	OK(box, "limiter", "take", "k", "--key", "alice");
	EXPECT(1, box, "limiter", "take", "k", "--key", "alice", "--cost", "2");
	OK(box, "limiter", "take", "k", "--key", "alice");
	EXPECT(1, box, "limiter", "take", "k", "--key", "alice");
	OK(box, "limiter", "take", "k", "--key", "bob", "--cost", "2", "--json");
	ck_assert_uint_eq(juint(json_must(R.out), "remaining"), 0);
	FAILS("--key", box, "limiter", "take", "k");
	const json_t *l = limiter_json(box, "k");
	ck_assert_uint_eq(juint(l, "keys"), 2);
	ck_assert_uint_eq(juint(l, "allowed"), 3); /* decisions, not cost */
	ck_assert_uint_eq(juint(l, "denied"), 2);
	ck_assert_uint_eq(juint(l, "evictions"), 0);
	/* a cost no window could ever admit: an error, and nothing taken or kept */
	FAILS("k", box, "limiter", "take", "k", "--key", "carol", "--cost", "3");
	l = limiter_json(box, "k");
	ck_assert_uint_eq(juint(l, "allowed") + juint(l, "denied"), 5);
	ck_assert_msg(juint(l, "keys") == 2,
		      "a take refused with 'out of range' (cost 3 > limit 2) left its key in the "
		      "shared table: keys = %llu", juint(l, "keys"));
}
END_TEST

START_TEST(limiter_set_changes_rule_live)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "s", "--rate", "1/hour");
	OK(box, "limiter", "take", "s");
	EXPECT(1, box, "limiter", "take", "s");
	OK(box, "limiter", "set", "s", "--rate", "3 per hour");
	ck_assert_str_eq(R.err, "");
	ck_assert_str_eq(jstr(limiter_json(box, "s"), "rule"), "3/hour");
	OK(box, "limiter", "take", "s", "--json");
	ck_assert_uint_eq(juint(json_must(R.out), "limit"), 3);
	OK(box, "limiter", "take", "s");
	EXPECT(1, box, "limiter", "take", "s");
	const json_t *ev = events_json(box);
	const json_t *last = jlast(ev);
	ck_assert_str_eq(jstr(last, "kind"), "config");
	ck_assert_str_eq(jstr(last, "cause"), "rule");
	ck_assert_str_eq(jstr(last, "name"), "s");
	/* a rule the library refuses leaves the old one */
	FAILS("abc", box, "limiter", "set", "s", "--rate", "abc");
	ck_assert_str_eq(jstr(limiter_json(box, "s"), "rule"), "3/hour");
}
END_TEST

START_TEST(limiter_dry_run)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "d", "--rate", "1/hour");
	OK(box, "limiter", "take", "d");
	OK(box, "limiter", "dry-run", "d", "on");
	ck_assert(jbool(limiter_json(box, "d"), "dry_run"));
	/* would be denied: exit 0, and says so */
	OK(box, "limiter", "take", "d", "--json");
	const json_t *t = json_must(R.out);
	ck_assert(jbool(t, "allowed"));
	ck_assert(jbool(t, "dry_run_denied"));
	OK(box, "limiter", "take", "d");
	ck_assert_msg(strstr(R.out, "dry-run") != NULL, "[%s]", R.out);
	const json_t *l = limiter_json(box, "d");
	ck_assert_uint_eq(juint(l, "denied"), 0);
	ck_assert_uint_eq(juint(l, "dry_run_denied"), 2);
	OK(box, "limiter", "dry-run", "d", "off");
	EXPECT(1, box, "limiter", "take", "d");
	l = limiter_json(box, "d");
	ck_assert(!jbool(l, "dry_run"));
	ck_assert_uint_eq(juint(l, "denied"), 1);
	const json_t *ev = events_json(box);
	ck_assert_str_eq(jstr(jlast(ev), "cause"), "dry_run_off");
	ck_assert_str_eq(jstr(json_array_get(ev, json_array_size(ev) - 2), "cause"), "dry_run_on");
}
END_TEST

/* An empty key for a keyed limiter: the message must not say it is not keyed. */
START_TEST(limiter_take_empty_key)
{
	const char *box = lib_box();
	FAILS("key", box, "limiter", "take", "lk", "--key", "");
	ck_assert_msg(strstr(R.err, "not keyed") == NULL, "lk is keyed, but: %s", R.err);
	FAILS("not keyed", box, "limiter", "take", "l1", "--key", "k");
}
END_TEST

/* The contract: limiter show NAME [--json] [--top N] (top keys by denials). */
START_TEST(limiter_show_top)
{
	const char *box = lib_box();
	OK(box, "limiter", "take", "lk", "--key", "somebody");
	OK(box, "limiter", "show", "lk", "--top", "3");
	ck_assert_msg(strstr(R.out, "none denied") != NULL, "[%s]", R.out);
	/* tk admits 2 a minute per key: the third take and on are denied */
	OK(box, "limiter", "add", "tk", "--rate", "2/minute", "--keyed");
	for (int i = 0; i < 6; i++)
		EXPECT(i < 2 ? 0 : 1, box, "limiter", "take", "tk", "--key", "greedy");
	for (int i = 0; i < 3; i++)
		EXPECT(i < 2 ? 0 : 1, box, "limiter", "take", "tk", "--key", "modest");
	OK(box, "limiter", "show", "tk", "--top", "3");
	ck_assert_msg(strstr(R.out, "greedy") != NULL && strstr(R.out, "modest") != NULL,
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "greedy") < strstr(R.out, "modest"), "order: [%s]", R.out);
	OK(box, "limiter", "show", "tk", "--json", "--top", "1");
	const json_t *l = json_must(R.out);
	check_limiter_schema(l);
	const json_t *top = jget(l, "top");
	ck_assert_ptr_nonnull(top);
	ck_assert_uint_eq(json_array_size(top), 1);
	ck_assert_str_eq(jstr(json_array_get(top, 0), "key"), "greedy");
	ck_assert_uint_eq(juint(json_array_get(top, 0), "denials"), 4);
	FAILS("--top", box, "limiter", "show", "lk", "--top", "0");
	FAILS("--top", box, "limiter", "show", "lk", "--top", "9");
}
END_TEST

FBX_TEST_SUITE(ctl_limiter)
{
	Suite *s = suite_create("ctl_limiter");
	TCase *tc = ctl_tcase("limiter", 20);
	tcase_add_test(tc, limiter_add_and_show);
	tcase_add_test(tc, limiter_take_json);
	tcase_add_test(tc, limiter_take_key_and_cost);
	tcase_add_test(tc, limiter_set_changes_rule_live);
	tcase_add_test(tc, limiter_dry_run);
	tcase_add_test(tc, limiter_take_empty_key);
	tcase_add_test(tc, limiter_show_top);
	suite_add_tcase(s, tc);
	return s;
}
