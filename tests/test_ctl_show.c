/* test_ctl_show.c — fuseboxctl status and show: every field of --json
 * against a box in a known state, the same objects from show, the
 * version, the text forms, and a failed write of the output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

START_TEST(status_json_fields)
{
	const char *box = known_box();
	const json_t *s = status_json(box);
	ck_assert_uint_eq(juint(s, "events_dropped"), 0);
	const json_t *bs = jarr(s, "breakers"), *ls = jarr(s, "limiters");
	ck_assert_uint_eq(json_array_size(bs), 4);
	ck_assert_uint_eq(json_array_size(ls), 2);

	const json_t *web = jfind_named(bs, "web");
	ck_assert_str_eq(jstr(web, "state"), "open");
	ck_assert_uint_eq(juint(web, "successes"), 2);
	ck_assert_uint_eq(juint(web, "failures"), 2);
	ck_assert_uint_eq(juint(web, "ignored"), 1);
	ck_assert_uint_eq(juint(web, "slow"), 1);
	ck_assert_uint_eq(juint(web, "rejected"), 1);
	ck_assert_uint_eq(juint(web, "trips"), 1);
	ck_assert_uint_gt(juint(web, "open_remaining_ms"), 0);
	ck_assert_uint_le(juint(web, "open_remaining_ms"), 3600000);
	ck_assert_uint_eq(juint(web, "half_open_in_flight"), 0);
	ck_assert(json_is_null(jget(web, "failure_rate"))); /* no rate policy: below min calls */
	ck_assert_uint_eq(juint(jobj(web, "config"), "fail_max"), 2);
	ck_assert_uint_eq(juint(jobj(web, "config"), "slow_call_ms"), 1000);

	const json_t *rate = jfind_named(bs, "rate");
	ck_assert_str_eq(jstr(rate, "state"), "closed");
	ck_assert_uint_eq(juint(rate, "consecutive_failures"), 0);
	ck_assert(json_is_null(jget(rate, "failure_rate"))); /* 3 calls < min_calls 4 */
	OK(box, "breaker", "record", "rate", "failure");
	rate = jfind_named(jarr(status_json(box), "breakers"), "rate");
	const json_t *fr = jget(rate, "failure_rate");
	ck_assert_msg(json_is_number(fr) && json_number_value(fr) == 0.5, "failure_rate should be 0.5");
	ck_assert_uint_eq(juint(rate, "consecutive_failures"), 1);

	ck_assert_str_eq(jstr(jfind_named(bs, "q\"u\\o{t}e=,x"), "state"), "forced_open");
	ck_assert_str_eq(jstr(jfind_named(bs, "held"), "state"), "forced_closed");

	const json_t *api = jfind_named(ls, "api");
	ck_assert_str_eq(jstr(api, "rule"), "2/hour");
	ck_assert_str_eq(jstr(api, "algorithm"), "log"); /* auto, in a box with a log */
	ck_assert_str_eq(jstr(api, "accuracy"), fbx_algorithm_accuracy(FBX_ALGO_LOG));
	ck_assert(jbool(api, "keyed"));
	ck_assert(!jbool(api, "dry_run"));
	ck_assert_uint_eq(juint(api, "allowed"), 3);
	ck_assert_uint_eq(juint(api, "denied"), 1);
	ck_assert_uint_eq(juint(api, "keys"), 2);
	ck_assert_uint_eq(juint(api, "evictions"), 0);
	const json_t *shadow = jfind_named(ls, "shadow");
	ck_assert_str_eq(jstr(shadow, "algorithm"), "gcra");
	ck_assert_str_eq(jstr(shadow, "accuracy"), fbx_algorithm_accuracy(FBX_ALGO_GCRA));
	ck_assert_uint_eq(juint(shadow, "burst"), 1);
	ck_assert(jbool(shadow, "dry_run"));
	ck_assert(!jbool(shadow, "keyed"));
	ck_assert_uint_eq(juint(shadow, "denied"), 0);
	ck_assert_msg(strstr(R.out, "SeCrEt") == NULL, "a limiter key in status --json");

	/* show --json gives the same objects */
	const json_t *one = breaker_json(box, "web");
	static const char *const f[] = {"state", "successes", "failures", "ignored", "slow",
					"rejected", "trips"};
	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		const json_t *a = jget(one, f[i]), *b = jget(web, f[i]);
		ck_assert_msg(json_equal(a, b), "show and status differ in %s", f[i]);
	}
	const json_t *lone = limiter_json(box, "api");
	ck_assert_uint_eq(juint(lone, "allowed"), 3);
	ck_assert_uint_eq(juint(lone, "keys"), 2);

	/* the text forms */
	OK(box, "status");
	ck_assert_msg(strstr(R.out, "web") && strstr(R.out, "open") && strstr(R.out, "api") &&
			      strstr(R.out, "2/hour"),
		      "[%s]", R.out);
	char row[128];
	snprintf(row, sizeof(row), "%-24s %-24s %-6s %-5s ", "api", "2/hour", "log", "yes");
	ck_assert_msg(strstr(R.out, row) != NULL, "no [%s] in [%s]", row, R.out);
	snprintf(row, sizeof(row), "%-24s %-24s %-6s %-5s ", "shadow", "1/hour", "gcra", "no");
	ck_assert_msg(strstr(R.out, row) != NULL, "no [%s] in [%s]", row, R.out);
	ck_assert_msg(strstr(R.out, "  keys 256 (32 B each), log keys 4096 x 128 slots (1056 B "
				    "each, counts up to 127)\n") != NULL,
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "SeCrEt") == NULL, "a limiter key in status");
}
END_TEST

/* An idle open breaker whose open period is over stays open until a call
 * comes: status and show say "open, trial due" (JSON: trial_due), how
 * long it has been in its state, the operator's actions by kind and the
 * last one, with who, when and why. */
START_TEST(breaker_trial_due_and_operator)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "idle", "--fail-max", "1", "--reset", "50ms");
	OK(box, "breaker", "add", "calm");
	OK(box, "breaker", "add", "cooling", "--fail-max", "1", "--reset", "1h");
	OK(box, "breaker", "trip", "idle", "--reason", "drill 1");
	OK(box, "breaker", "hold", "idle");
	OK(box, "breaker", "release", "idle", "--reason", "drill 2");
	OK(box, "breaker", "reset", "idle", "--reason", "INC-7: \"db\" back");
	pid_t resetter = R.pid;
	OK(box, "breaker", "record", "idle", "failure");
	OK(box, "breaker", "record", "cooling", "failure");

	const json_t *b = breaker_wait_due(box, "idle");
	ck_assert_str_eq(jstr(b, "state"), "open");
	ck_assert_uint_eq(juint(b, "open_remaining_ms"), 0);
	ck_assert_uint_ge(juint(b, "state_age_ms"), 50);
	ck_assert_uint_eq(juint(b, "trips"), 1); /* the automatic one only */
	const json_t *manual = jobj(b, "manual_actions");
	for (size_t k = 0; k < ARRAY_LEN(manual_actions); k++)
		ck_assert_uint_eq(juint(manual, manual_actions[k]), 1);
	const json_t *op = jobj(b, "last_operator_action");
	ck_assert_str_eq(jstr(op, "action"), "reset");
	ck_assert_uint_eq(juint(op, "uid"), getuid());
	ck_assert_uint_eq(juint(op, "pid"), (unsigned long long)resetter);
	ck_assert_str_eq(jstr(op, "reason"), "INC-7: \"db\" back");
	ck_assert_uint_ge(juint(op, "age_ms"), juint(b, "state_age_ms"));

	/* still cooling down: open, not due; untouched: no operator */
	const json_t *cooling = breaker_json(box, "cooling");
	ck_assert_str_eq(jstr(cooling, "state"), "open");
	ck_assert(!jbool(cooling, "trial_due"));
	ck_assert_uint_gt(juint(cooling, "open_remaining_ms"), 0);
	ck_assert(json_is_null(jget(cooling, "last_operator_action")));
	ck_assert_uint_eq(juint(jobj(cooling, "manual_actions"), "trip"), 0);

	/* status --json holds the same objects */
	const json_t *bs = jarr(status_json(box), "breakers");
	const json_t *in_status = jfind_named(bs, "idle");
	static const char *const same[] = {"state", "trial_due", "manual_actions", "trips"};
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		ck_assert_msg(json_equal(jget(in_status, same[i]), jget(b, same[i])),
			      "show and status differ in %s", same[i]);
	ck_assert_str_eq(jstr(jobj(in_status, "last_operator_action"), "action"), "reset");
	ck_assert(!jbool(jfind_named(bs, "calm"), "trial_due"));
	ck_assert(json_is_null(jget(jfind_named(bs, "calm"), "last_operator_action")));

	/* the text of status: a state no one can take for plain "open", the
	 * operator's actions counted, and the last one under the table */
	OK(box, "status");
	char want[160];
	snprintf(want, sizeof(want), "\n%-24s %-15s ", "idle", "open, trial due");
	ck_assert_msg(strstr(R.out, want) != NULL, "no [%s] in [%s]", want, R.out);
	snprintf(want, sizeof(want), "\n%-24s %-15s ", "cooling", "open");
	ck_assert_msg(strstr(R.out, want) != NULL, "no [%s] in [%s]", want, R.out);
	ck_assert_msg(strstr(R.out, "STATE            SINCE ") && strstr(R.out, " MANUAL "),
		      "[%s]", R.out);
	const char *row = strstr(R.out, "\nidle ");
	ck_assert_ptr_nonnull(row);
	unsigned long long ok, failed, slow, rejected, trips, manual_n, consec;
	char since[16];
	ck_assert_int_eq(sscanf(row + 1 + 24 + 1 + 15, " %15s %llu %llu %llu %llu %llu %llu %llu",
				since, &ok, &failed, &slow, &rejected, &trips, &manual_n, &consec),
			 8);
	ck_assert_uint_eq(failed, 1);
	ck_assert_uint_eq(trips, 1);
	ck_assert_uint_eq(manual_n, 4);
	ck_assert_msg(strchr("0123456789", since[0]) && strstr(since, "s"), "SINCE [%s]", since);
	ck_assert_ptr_nonnull(strstr(R.out, "LAST OPERATOR ACTION"));
	snprintf(want, sizeof(want), " ago by %s pid %d: INC-7: \"db\" back\n", uid_text(),
		 (int)resetter);
	const char *last = strstr(R.out, "\nidle                     reset ");
	ck_assert_msg(last != NULL && strstr(last, want) != NULL, "no [%s] in [%s]", want, R.out);
	ck_assert_ptr_null(strstr(R.out, "\ncalm                     reset "));

	/* the text of show */
	OK(box, "breaker", "show", "idle");
	ck_assert_msg(strstr(R.out, "\n  state                open, trial due (open for ") != NULL,
		      "[%s]", R.out);
	ck_assert_ptr_null(strstr(R.out, "trial allowed in"));
	ck_assert_msg(strstr(R.out, "\n  operator actions     1 trip, 1 hold, 1 release, 1 reset\n"),
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "\n  last operator action reset ") && strstr(R.out, want),
		      "[%s]", R.out);
	OK(box, "breaker", "show", "cooling");
	ck_assert_msg(strstr(R.out, "\n  state                open for ") != NULL, "[%s]", R.out);
	ck_assert_ptr_nonnull(strstr(R.out, "\n  trial allowed in     "));
	ck_assert_ptr_null(strstr(R.out, "last operator action"));
	ck_assert_ptr_null(strstr(R.out, "trial due"));

	/* a call is the trial: half-open is no longer due */
	OK(box, "breaker", "record", "idle", "success");
	b = breaker_json(box, "idle");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert(!jbool(b, "trial_due"));
}
END_TEST

/* Any process that can write the box (or call the library with an
 * unchecked string) may have put control bytes in the last operator's
 * reason: the library hands readers printable ASCII only, as it does an
 * event's reason, so neither the text forms nor JSON carry them. */
START_TEST(operator_reason_shown_printable)
{
	const char *box = lib_box();
	fbx_box *b;
	fbx_breaker *br;
	ck_assert_int_eq(fbx_box_open(box, 0, NULL, &b), 0);
	ck_assert_int_eq(fbx_breaker_find(b, "b1", &br), 0);
	ck_assert_int_eq(fbx_breaker_trip(br, "\x1b[2J\x1b]0;owned\x07 caf\xc3\xa9"), 0);
	fbx_box_close(b);
	static const char *const text[][4] = {{"status"}, {"breaker", "show", "b1"}};
	for (size_t i = 0; i < ARRAY_LEN(text); i++) {
		ck_assert_int_eq(run_args(NULL, box, text[i]), 0);
		ck_assert_msg(strstr(R.out, ": ?[2J?]0;owned? caf??\n") != NULL, "%s: [%s]", R.cmd,
			      R.out);
		for (const char *p = R.out; *p; p++)
			ck_assert_msg(*p == '\n' || (*p >= 0x20 && *p < 0x7f), "%s: byte 0x%02x", R.cmd,
				      (unsigned char)*p);
	}
	const json_t *op = jobj(breaker_json(box, "b1"), "last_operator_action");
	ck_assert_str_eq(jstr(op, "action"), "trip");
	ck_assert_uint_eq(juint(op, "pid"), (unsigned long long)getpid());
	ck_assert_str_eq(jstr(op, "reason"), "?[2J?]0;owned? caf??");
	ck_assert_ptr_null(strchr(R.out, 0x1b));
}
END_TEST

/* "--json is one versioned object" for status and both show commands. */
START_TEST(show_json_is_versioned)
{
	const char *box = lib_box();
	ck_assert_uint_eq(juint(status_json(box), "version"), 1);
	const json_t *b = breaker_json(box, "b1");
	ck_assert_msg(jget(b, "version") != NULL, "breaker show --json has no version: %s", R.out);
	ck_assert_uint_eq(juint(b, "version"), 1);
	const json_t *l = limiter_json(box, "l1");
	ck_assert_msg(jget(l, "version") != NULL, "limiter show --json has no version: %s", R.out);
	ck_assert_uint_eq(juint(l, "version"), 1);
}
END_TEST

/* A failed write of the output is an error, not a silent success. */
START_TEST(output_write_error)
{
	const char *box = lib_box();
	struct spawn_opts full = {.stdout_path = "/dev/full"};
	static const char *const cmds[][6] = {
		{"status"}, {"status", "--json"}, {"breaker", "show", "b1", "--json"},
		{"limiter", "show", "l1"}, {"events", "--json"}, {"metrics"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
		int rc = run_args(&full, box, cmds[i]);
		ck_assert_msg(rc == 2, "%s > /dev/full: exit %d", R.cmd, rc);
		one_error_line("writ");
	}
}
END_TEST


/* A forced breaker says under its state who forced it, when and why;
 * a torn-free last action that did not force it stays "last operator
 * action"; a policy that is off reads "off"; counts take their noun's
 * number. */
START_TEST(show_who_forced_it)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "p");
	OK(box, "breaker", "trip", "p", "--reason", "db failover");
	pid_t tripper = R.pid;
	OK(box, "breaker", "show", "p");
	char want[256];
	snprintf(want, sizeof(want), "\n  state                forced-open for ");
	ck_assert_msg(strstr(R.out, want) != NULL, "[%s]", R.out);
	snprintf(want, sizeof(want), "\n  tripped by           %s pid %d, ", uid_text(), (int)tripper);
	const char *line = strstr(R.out, want);
	ck_assert_msg(line != NULL, "no [%s] in [%s]", want, R.out);
	const char *eol = strchr(line + 1, '\n');
	ck_assert_msg(eol != NULL && eol - line > 17 &&
			      strncmp(eol - 17, " ago: db failover", 17) == 0,
		      "[%s]", R.out);
	/* said once: not again as the last operator action */
	ck_assert_ptr_null(strstr(R.out, "last operator action"));

	OK(box, "breaker", "hold", "p");
	pid_t holder = R.pid;
	OK(box, "breaker", "show", "p");
	snprintf(want, sizeof(want), "\n  held closed by       %s pid %d, ", uid_text(), (int)holder);
	ck_assert_msg(strstr(R.out, want) != NULL, "no [%s] in [%s]", want, R.out);
	ck_assert_msg(strstr(R.out, " ago: (no reason given)\n") != NULL, "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "\n  state                forced-closed for ") != NULL, "[%s]",
		      R.out);

	OK(box, "breaker", "reset", "p", "--reason", "all clear");
	pid_t resetter = R.pid;
	OK(box, "breaker", "show", "p");
	ck_assert_ptr_null(strstr(R.out, "tripped by"));
	ck_assert_ptr_null(strstr(R.out, "held closed by"));
	snprintf(want, sizeof(want), " ago by %s pid %d: all clear\n", uid_text(), (int)resetter);
	line = strstr(R.out, "\n  last operator action reset ");
	ck_assert_msg(line != NULL && strstr(line, want) != NULL, "no [%s] in [%s]", want, R.out);
	ck_assert_msg(strstr(R.out, "\n  operator actions     1 trip, 1 hold, 0 releases, 1 reset\n"),
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "\n  consecutive failures 0 of 5\n"), "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "\n  half-open            1 trial, 1 success to close, "), "[%s]",
		      R.out);

	/* fail_max 0: the count is off, not "0 of 0" */
	OK(box, "breaker", "add", "rated", "--fail-max", "0", "--failure-rate", "50", "--window",
	   "10", "--min-calls", "5", "--half-open", "2", "--success-threshold", "2");
	OK(box, "breaker", "show", "rated");
	ck_assert_msg(strstr(R.out, "\n  consecutive failures off\n"), "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "\n  half-open            2 trials, 2 successes to close, "),
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "\n  window               0 calls, 0 failed, 0 slow\n"), "[%s]",
		      R.out);
	/* the policies beside the window's figures: what trips it, over what */
	ck_assert_msg(strstr(R.out, "\n  failure rate         50% of the last 10 calls, at least 5 "
				    "calls\n  slow-call rate       off\n"),
		      "[%s]", R.out);
	OK(box, "breaker", "add", "slowish", "--slow-rate", "80", "--slow-call", "2s", "--window",
	   "30s", "--min-calls", "1");
	OK(box, "breaker", "show", "slowish");
	ck_assert_msg(strstr(R.out, "\n  failure rate         off\n  slow-call rate       80% of the "
				    "calls of the last 30.000 s, at least 1 call; slow: 2.000 s "
				    "or more\n"),
		      "[%s]", R.out);
}
END_TEST

/* status in text: the states as every text spells them, OPEN_LEFT only
 * for a breaker counting down, and counts with their noun's number. */
START_TEST(status_text_words)
{
	const char *box = known_box();
	OK(box, "status");
	ck_assert_msg(strstr(R.out, "forced-open") && strstr(R.out, "forced-closed"), "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "forced_") == NULL && strstr(R.out, "half_open") == NULL,
		      "an identifier in text: [%s]", R.out);
	char lines[64][256];
	size_t n = split_lines(R.out, lines, 64);
	size_t rows = 0, first = 0;
	while (first < n && strncmp(lines[first], "BREAKER ", 8) != 0)
		first++;
	for (size_t i = first + 1; i < n && lines[i][0] != '\0'; i++) {
		const char *name = NULL;
		if (strncmp(lines[i], "held ", 5) == 0 || strncmp(lines[i], "rate ", 5) == 0)
			name = "closed or forced";
		else if (strncmp(lines[i], "web ", 4) == 0)
			name = "open";
		if (name == NULL)
			continue;
		rows++;
		size_t len = strlen(lines[i]);
		if (strcmp(name, "open") == 0)
			ck_assert_msg(len > 0 && lines[i][len - 1] == 's', "OPEN_LEFT: [%s]", lines[i]);
		else
			ck_assert_msg(len > 2 && strcmp(lines[i] + len - 2, " -") == 0,
				      "OPEN_LEFT of a breaker not counting down: [%s]", lines[i]);
	}
	ck_assert_uint_eq(rows, 3);

	const char *one = lib_box();
	OK(one, "status");
	char want[96];
	snprintf(want, sizeof(want), "box %s: 1 breaker, 2 limiters, 3 events (0 dropped)\n", one);
	ck_assert_msg(strncmp(R.out, want, strlen(want)) == 0, "[%s]", R.out);
}
END_TEST

FBX_TEST_SUITE(ctl_show)
{
	Suite *s = suite_create("ctl_show");
	TCase *tc = ctl_tcase("output", 20);
	tcase_add_test(tc, status_json_fields);
	tcase_add_test(tc, show_json_is_versioned);
	tcase_add_test(tc, breaker_trial_due_and_operator);
	tcase_add_test(tc, operator_reason_shown_printable);
	tcase_add_test(tc, output_write_error);
	tcase_add_test(tc, show_who_forced_it);
	tcase_add_test(tc, status_text_words);
	suite_add_tcase(s, tc);
	return s;
}
