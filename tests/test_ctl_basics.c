/* test_ctl_basics.c — fuseboxctl's --help and --version, the box from
 * the environment, and the strict JSON reading every other ctl suite
 * relies on. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

/* What the other ctl suites rely on of the JSON reading: escapes decoded,
 * whole numbers told from the others (a count written 1.0 is not a
 * count), and anything but one well-formed value refused, duplicate keys
 * and trailing text included. */
START_TEST(json_strict_reading)
{
	json_error_t err;
	json_t *v = json_strict(" {\"a\" : [1, -2.5e3, 0, true, false, null, "
				"\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", 1.0], \"b\":{}} \n",
				&err);
	ck_assert_msg(v != NULL, "%s", err.text);
	const json_t *a = jarr(v, "a");
	ck_assert_uint_eq(json_array_size(a), 8);
	ck_assert(json_is_integer(json_array_get(a, 0)) &&
		  json_integer_value(json_array_get(a, 0)) == 1);
	ck_assert(json_is_real(json_array_get(a, 1)) && json_real_value(json_array_get(a, 1)) == -2500);
	ck_assert(json_is_true(json_array_get(a, 3)) && json_is_false(json_array_get(a, 4)));
	ck_assert(json_is_null(json_array_get(a, 5)));
	ck_assert_str_eq(json_string_value(json_array_get(a, 6)),
			 "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert(!json_is_integer(json_array_get(a, 7)));
	jobj(v, "b");
	json_decref(v);
	static const char *const bad[] = {
		"",          "{",           "{\"a\":1,}",     "[1,]",         "[01]",
		"[1 2]",     "{\"a\" 1}",   "{a:1}",          "tru",          "\"\\q\"",
		"\"a\x01\"", "{\"a\":1}{",  "{\"a\":1,\"a\":2}", "1.",        "-",
		".5",        "\"\\ud800\"", "\"\\udc00\"",    "\"abc",        "[\"\\u12\"]",
		"+1",        "NaN",         "[1e]",           "{\"a\":1}x",
		"[18446744073709551616]",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		json_t *got = json_strict(bad[i], &err);
		ck_assert_msg(got == NULL, "accepted bad JSON [%s]", bad[i]);
	}
}
END_TEST

START_TEST(help_and_version)
{
	OK(NULL, "--help");
	ck_assert_msg(strstr(R.out, "usage: fuseboxctl") != NULL, "help: [%s]", R.out);
	ck_assert_str_eq(R.err, "");
	OK(NULL, "--version");
	char want[64];
	snprintf(want, sizeof(want), "fuseboxctl %s\n", FBX_VERSION_STRING);
	ck_assert_str_eq(R.out, want);
}
END_TEST

START_TEST(box_from_environment)
{
	const char *box = lib_box(), *other = lib_box();
	EXPECT_AS(box_env(box), 0, NULL, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), box);
	/* -b wins over the environment */
	EXPECT_AS(box_env(box), 0, other, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), other);
	/* without -b or FUSEBOX_BOX (or with it empty): the box "default" */
	if (!tshm_exists("default")) {
		EXPECT_AS(box_env(NULL), 2, NULL, "status");
		one_error_line("'default'");
		EXPECT_AS(box_env(""), 2, NULL, "status");
		one_error_line("'default'");
	}
}
END_TEST

FBX_TEST_SUITE(ctl_basics)
{
	Suite *s = suite_create("ctl_basics");
	TCase *tc = ctl_tcase("basics", 0);
	tcase_add_test(tc, json_strict_reading);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, box_from_environment);
	suite_add_tcase(s, tc);
	return s;
}
