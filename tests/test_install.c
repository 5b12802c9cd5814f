/* test_install.c — what `make install` gives a program built against it
 * (tests/install/check.sh): a static client through fusebox-static.pc that
 * needs no libfusebox.so, a shared one through fusebox.pc that loads the
 * installed libfusebox.so.0, and an uninstall that leaves nothing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "spawn.h"
#include "suites.h"

#define PREFIX "in"

static const char *const steps[] = {"static", "shared", "uninstall"};

START_TEST(install_step)
{
	const char *argv[] = {"sh", "tests/install/check.sh", steps[_i], tname(PREFIX), NULL};
	struct spawn_result r;
	ck_assert_int_eq(spawn_run(NULL, argv, &r), 0);
	ck_assert_msg(!r.signaled && r.code == 0, "%s: exit %d\n%s%s", r.cmd, r.code, r.out, r.err);
	spawn_result_free(&r);
}
END_TEST

static void sweep(void)
{
	tsweep(PREFIX);
}

FBX_TEST_SUITE(install)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");
	tcase_add_unchecked_fixture(tc, sweep, sweep);
	tcase_add_loop_test(tc, install_step, 0, (int)ARRAY_LEN(steps));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
