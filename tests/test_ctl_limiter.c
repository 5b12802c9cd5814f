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
	/* auto: 100 fits the default log of 128 slots */
	ck_assert_str_eq(jstr(l, "algorithm"), "log");
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
	/* auto: a count the log cannot hold goes to the window */
	OK(box, "limiter", "add", "big", "--rate", "1000/minute");
	ck_assert_str_eq(jstr(limiter_json(box, "big"), "algorithm"), "window");
	/* again: the same is fine, another rule is not; auto matches what
	 * it resolved to, and so does naming that */
	OK(box, "limiter", "add", "plain", "--rate", "100 per minute");
	OK(box, "limiter", "add", "plain", "--rate", "100/minute", "--algo", "log");
	FAILS("different", box, "limiter", "add", "plain", "--rate", "100/minute", "--algo",
	      "window");
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
	/* s is a log limiter (auto, in a box of 128 slots): a count the log
	 * cannot hold is refused with the figures, and the old rule stays */
	ck_assert_str_eq(jstr(limiter_json(box, "s"), "algorithm"), "log");
	FAILS("holds counts up to 127 (log_slots 128), not 500", box, "limiter", "set", "s",
	      "--rate", "500/hour");
	ck_assert_str_eq(jstr(limiter_json(box, "s"), "rule"), "3/hour");
}
END_TEST

/* limiter set and dry-run take a reason, kept in the event with who. */
START_TEST(limiter_set_and_dry_run_reason)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "r", "--rate", "10/minute");
	OK(box, "limiter", "set", "r", "--rate", "20/minute", "--reason", "INC-77 more headroom");
	ck_assert_str_eq(R.err, "");
	/* each change says what it changed */
	ck_assert_str_eq(R.out, "r: rule 10/minute -> 20/minute (reason: INC-77 more headroom)\n");
	const json_t *last = jlast(events_json(box));
	ck_assert_str_eq(jstr(last, "cause"), "rule");
	ck_assert_str_eq(jstr(last, "name"), "r");
	ck_assert_msg(strstr(R.out, "20/minute: INC-77 more headroom") != NULL,
		      "the rule and the reason are not in events --json: %s", R.out);
	OK(box, "limiter", "dry-run", "r", "on", "--reason", "shadow the new rule");
	ck_assert_str_eq(R.out, "r: dry run off -> on (reason: shadow the new rule)\n");
	OK(box, "limiter", "dry-run", "r", "on");
	ck_assert_str_eq(R.out, "r: still dry run on, unchanged\n");
	last = jlast(events_json(box));
	ck_assert_str_eq(jstr(last, "cause"), "dry_run_on");
	ck_assert_msg(strstr(R.out, "shadow the new rule") != NULL, "no reason: %s", R.out);
	/* the reason goes before or after the words */
	OK(box, "limiter", "dry-run", "--reason", "done", "r", "off");
	ck_assert_str_eq(jstr(jlast(events_json(box)), "cause"), "dry_run_off");
	OK(box, "events");
	ck_assert_msg(strstr(R.out, "done") != NULL && strstr(R.out, "INC-77") != NULL,
		      "events (text) lacks the reasons: %s", R.out);
	/* without one, as before */
	OK(box, "limiter", "set", "r", "--rate", "30/minute");
	ck_assert_str_eq(R.out, "r: rule 20/minute -> 30/minute\n");
	/* the rule in force, however spelled: nothing changes, nothing is
	 * recorded, and the line says so in the one form */
	size_t before = json_array_size(events_json(box));
	OK(box, "limiter", "set", "r", "--rate", "30 per minute", "--reason", "again");
	ck_assert_str_eq(R.out, "r: still rule 30/minute, unchanged\n");
	OK(box, "limiter", "dry-run", "r", "off");
	ck_assert_str_eq(R.out, "r: still dry run off, unchanged\n");
	ck_assert_uint_eq(json_array_size(events_json(box)), before);
	/* a reason is checked as a breaker's is, and a refused one changes nothing */
	FAILS("control character", box, "limiter", "set", "r", "--rate", "40/minute", "--reason",
	      "a\033[2Jb");
	FAILS("at most 63", box, "limiter", "dry-run", "r", "on", "--reason",
	      "0123456789012345678901234567890123456789012345678901234567890123");
	const json_t *l = limiter_json(box, "r");
	ck_assert_str_eq(jstr(l, "rule"), "30/minute");
	ck_assert(!jbool(l, "dry_run"));
}
END_TEST

/* Each algorithm as show and status name it, with what it promises. */
START_TEST(limiter_algorithm_and_accuracy)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "lg", "--rate", "10/second");
	OK(box, "limiter", "add", "wn", "--rate", "10/second", "--algo", "window");
	OK(box, "limiter", "add", "gc", "--rate", "10/second", "--algo", "gcra", "--burst", "5");
	/* a burst above the count: now tolerance on top of the rate */
	OK(box, "limiter", "add", "gb", "--rate", "10/minute", "--algo", "gcra", "--burst", "11");
	static const struct {
		const char *name, *algo;
		fbx_algorithm a;
	} want[] = {{"lg", "log", FBX_ALGO_LOG},
		    {"wn", "window", FBX_ALGO_WINDOW},
		    {"gc", "gcra", FBX_ALGO_GCRA}};
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		OK(box, "limiter", "show", want[i].name);
		char line[200];
		snprintf(line, sizeof(line), "  rule       10/second (%s", want[i].algo);
		ck_assert_msg(strstr(R.out, line) != NULL, "no [%s] in [%s]", line, R.out);
		snprintf(line, sizeof(line), "  accuracy   %s\n", fbx_algorithm_accuracy(want[i].a));
		ck_assert_msg(strstr(R.out, line) != NULL, "no [%s] in [%s]", line, R.out);
		const json_t *l = limiter_json(box, want[i].name);
		ck_assert_str_eq(jstr(l, "algorithm"), want[i].algo);
		ck_assert_str_eq(jstr(l, "accuracy"), fbx_algorithm_accuracy(want[i].a));
	}
	OK(box, "limiter", "show", "gc");
	ck_assert_msg(strstr(R.out, "  burst      5 of tolerance on the sustained 10/second: at "
				    "most 14/second\n") != NULL,
		      "[%s]", R.out);
	OK(box, "limiter", "show", "gb");
	ck_assert_msg(strstr(R.out, "at most 20/minute") != NULL, "[%s]", R.out);
	ck_assert_uint_eq(juint(limiter_json(box, "gb"), "burst"), 11);
	/* only GCRA has a burst to show */
	OK(box, "limiter", "show", "lg");
	ck_assert_msg(strstr(R.out, "burst") == NULL, "[%s]", R.out);
	/* status: the algorithm in its column, and in --json */
	OK(box, "status");
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		char row[128];
		snprintf(row, sizeof(row), "%-24s %-24s %-6s ", want[i].name, "10/second",
			 want[i].algo);
		ck_assert_msg(strstr(R.out, row) != NULL, "no [%s] in [%s]", row, R.out);
	}
	const json_t *ls = jarr(status_json(box), "limiters");
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		ck_assert_str_eq(jstr(jfind_named(ls, want[i].name), "algorithm"), want[i].algo);
	FAILS("16777215", box, "limiter", "add", "x", "--rate", "10/minute", "--algo", "gcra",
	      "--burst", "16777216");
}
END_TEST

/* --algo log on a box whose log is too small: the figures and the way out. */
START_TEST(limiter_log_too_small)
{
	const char *box = ctl_box(); /* the default log: 128 slots */
	EXPECT(2, box, "limiter", "add", "x", "--rate", "1000/minute", "--algo", "log");
	ck_assert_str_eq(R.err, "fuseboxctl: limiter 'x': the box's log holds counts up to 127 "
				"(log_slots 128), not 1000; use --algo window, or a box created with "
				"a larger --log-slots\n");
	OK(box, "limiter", "add", "x", "--rate", "127/minute", "--algo", "log");
	/* a box without a log, and one whose log has no keys */
	const char *nolog = new_box();
	OK(nolog, "create", "--keys", "256", "--log-slots", "0");
	FAILS("no log (log_slots 0)", nolog, "limiter", "add", "x", "--rate", "5/second", "--algo",
	      "log");
	OK(nolog, "limiter", "add", "y", "--rate", "5/second");
	ck_assert_str_eq(jstr(limiter_json(nolog, "y"), "algorithm"), "window");
	const char *nokeys = new_box();
	OK(nokeys, "create", "--keys", "256", "--log-keys", "0", "--log-slots", "16");
	EXPECT(2, nokeys, "limiter", "add", "k", "--rate", "5/second", "--algo", "log", "--keyed");
	ck_assert_str_eq(R.err, "fuseboxctl: limiter 'k': this box's log has no keys (log_keys 0), "
				"and the limiter is keyed; use --algo window, or a box created with a "
				"larger --log-keys\n");
	OK(nokeys, "limiter", "add", "g", "--rate", "5/second", "--algo", "log");
	OK(nokeys, "limiter", "add", "k", "--rate", "5/second", "--keyed");
	ck_assert_str_eq(jstr(limiter_json(nokeys, "k"), "algorithm"), "window");
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
	tcase_add_test(tc, limiter_set_and_dry_run_reason);
	tcase_add_test(tc, limiter_algorithm_and_accuracy);
	tcase_add_test(tc, limiter_log_too_small);
	tcase_add_test(tc, limiter_dry_run);
	tcase_add_test(tc, limiter_take_empty_key);
	tcase_add_test(tc, limiter_show_top);
	suite_add_tcase(s, tc);
	return s;
}
