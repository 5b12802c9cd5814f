/* test_ctl_show.c — fuseboxctl status and show: every field of --json
 * against a box in a known state, the same objects from show, the
 * version, the text forms, and a failed write of the output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

FBX_TEST_SUITE(ctl_show)
{
	Suite *s = suite_create("ctl_show");
	TCase *tc = ctl_tcase("output", 20);
	tcase_add_test(tc, status_json_fields);
	tcase_add_test(tc, show_json_is_versioned);
	tcase_add_test(tc, output_write_error);
	suite_add_tcase(s, tc);
	return s;
}
