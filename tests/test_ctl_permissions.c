/* test_ctl_permissions.c — fuseboxctl as a user who may read a box but not
 * write it, or not even read it (nobody; run as root, else skipped). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "prom_check.h"
#include "suites.h"

static const char *const ro_reads[][8] = {
	{"status"},
	{"status", "--json"},
	{"breaker", "show", "ro"},
	{"breaker", "show", "ro", "--json"},
	{"limiter", "show", "rl"},
	{"limiter", "show", "rl", "--json"},
	{"events"},
	{"events", "--json"},
	{"metrics"},
};

static const char *const ro_writes[][8] = {
	{"breaker", "trip", "ro"},
	{"breaker", "hold", "ro", "--reason", "x"},
	{"breaker", "release", "ro"},
	{"breaker", "reset", "ro"},
	{"breaker", "record", "ro", "success"},
	{"breaker", "record", "ro", "failure"},
	{"breaker", "add", "new"},
	{"breaker", "add", "ro"},
	{"limiter", "take", "rl"},
	{"limiter", "add", "nl", "--rate", "1/minute"},
	{"limiter", "set", "rl", "--rate", "9/minute"},
	{"limiter", "dry-run", "rl", "on"},
	{"destroy"},
};

/* A box of this mode with breaker ro and limiter rl; NULL when the tests
 * do not run as root, and so cannot become nobody: the test is skipped. */
static const char *box_for_nobody(const char *mode, const char *test)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_ctl_permissions: %s needs root; skipped\n", test);
		return NULL;
	}
	const char *box = new_box();
	OK(box, "create", "--mode", mode, "--keys", "256");
	OK(box, "breaker", "add", "ro");
	OK(box, "limiter", "add", "rl", "--rate", "5/minute");
	return box;
}

START_TEST(read_only_user)
{
	const char *box = box_for_nobody("0644", "read_only_user");
	if (box == NULL)
		return;
	struct spawn_opts nob = {.nobody = true};
	for (size_t i = 0; i < ARRAY_LEN(ro_reads); i++) {
		int rc = run_args(&nob, box, ro_reads[i]);
		ck_assert_msg(rc == 0, "as nobody, %s: exit %d (%s)", R.cmd, rc, R.err);
		ck_assert_msg(R.out[0] != '\0', "as nobody, %s: no output", R.cmd);
		if (strcmp(ro_reads[i][0], "metrics") == 0)
			prom_must(R.out);
	}
	EXPECT_AS(&nob, 0, NULL, "ls");
	ck_assert_msg(strstr(R.out, box) != NULL, "ls as nobody: [%s]", R.out);
	EXPECT_AS(&nob, 0, box, "status", "--json");
	check_status_schema(json_must(R.out), box);
	for (size_t i = 0; i < ARRAY_LEN(ro_writes); i++) {
		int rc = run_args(&nob, box, ro_writes[i]);
		ck_assert_msg(rc == 2, "as nobody, %s: exit %d, expected 2", R.cmd, rc);
		one_error_line("permission");
	}
	const char *marker = tpath(".ran");
	EXPECT_AS(&nob, 2, box, "breaker", "call", "ro", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("permission");
	ck_assert(!file_exists(marker));
	/* nothing changed */
	ck_assert(tshm_exists(box));
	const json_t *s = status_json(box);
	ck_assert_uint_eq(json_array_size(jarr(s, "breakers")), 1);
	ck_assert_uint_eq(json_array_size(jarr(s, "limiters")), 1);
	const json_t *b = jfind_named(jarr(s, "breakers"), "ro");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert_uint_eq(juint(b, "successes") + juint(b, "failures"), 0);
	const json_t *l = jfind_named(jarr(s, "limiters"), "rl");
	ck_assert_uint_eq(juint(l, "allowed"), 0);
	ck_assert_str_eq(jstr(l, "rule"), "5/minute");
	ck_assert(!jbool(l, "dry_run"));
}
END_TEST

START_TEST(unreadable_box)
{
	const char *box = box_for_nobody("0600", "unreadable_box");
	if (box == NULL)
		return;
	struct spawn_opts nob = {.nobody = true};
	for (size_t i = 0; i < ARRAY_LEN(ro_reads); i++) {
		int rc = run_args(&nob, box, ro_reads[i]);
		ck_assert_msg(rc == 2, "as nobody, %s: exit %d, expected 2", R.cmd, rc);
		one_error_line("permission");
		ck_assert_msg(strstr(R.err, box) != NULL, "%s: the message does not name the box",
			      R.cmd);
		ck_assert_str_eq(R.out, "");
	}
	EXPECT_AS(&nob, 2, box, "breaker", "trip", "ro");
	one_error_line("permission");
	/* ls still works, and says why it cannot look inside */
	EXPECT_AS(&nob, 0, NULL, "ls");
	const char *line = ls_line(box);
	ck_assert_msg(strstr(line, "permission") != NULL, "ls: [%s]", line);
}
END_TEST

FBX_TEST_SUITE(ctl_permissions)
{
	Suite *s = suite_create("ctl_permissions");
	TCase *tc = ctl_tcase("permissions", 20);
	tcase_add_test(tc, read_only_user);
	tcase_add_test(tc, unreadable_box);
	suite_add_tcase(s, tc);
	return s;
}
