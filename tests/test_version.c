/* test_version.c — the library loaded is the one the header describes. */
#include <check.h>
#include <stdio.h>

#include "fusebox.h"
#include "suites.h"

START_TEST(version_of_library)
{
	ck_assert_str_eq(fbx_version(), FBX_VERSION_STRING);
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", FBX_VERSION_MAJOR, FBX_VERSION_MINOR,
		 FBX_VERSION_PATCH);
	ck_assert_str_eq(fbx_version(), want);
}
END_TEST

FBX_TEST_SUITE(version)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("version");
	tcase_add_test(tc, version_of_library);
	suite_add_tcase(s, tc);
	return s;
}
