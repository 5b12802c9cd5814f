/* test_errors.c — what the library says in words: a distinct sentence for
 * every error code, one for codes it does not know, and the names of the
 * algorithms. */
#include <check.h>
#include <string.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

START_TEST(strerror_texts)
{
	const char *unknown = fbx_strerror(-9999);
	const char *t[22];
	int e, f;

	ck_assert_ptr_nonnull(unknown);
	ck_assert_uint_gt(strlen(unknown), 0);
	for (e = 0; e >= FBX_EFAILED; e--) {
		t[-e] = fbx_strerror(e);
		ck_assert_ptr_nonnull(t[-e]);
		ck_assert_msg(strlen(t[-e]) > 0, "fbx_strerror(%d) is empty", e);
		ck_assert_msg(strcmp(t[-e], unknown) != 0, "fbx_strerror(%d) is the unknown text",
			      e);
		for (f = 0; f > e; f--)
			ck_assert_msg(strcmp(t[-e], t[-f]) != 0, "codes %d and %d share a text", e, f);
	}
	ck_assert_uint_gt(strlen(fbx_strerror(1)), 0);
	ck_assert_uint_gt(strlen(fbx_strerror(FBX_EFAILED - 1)), 0);
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_WINDOW), "window");
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_GCRA), "gcra");
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_LOG), "log");
	ck_assert_str_eq(fbx_algorithm_name(FBX_ALGO_AUTO), "auto");
	ck_assert_str_eq(fbx_algorithm_name(4), "invalid");
	for (int a = FBX_ALGO_WINDOW; a <= FBX_ALGO_AUTO; a++) {
		ck_assert_int_eq(fbx_algorithm_parse(fbx_algorithm_name(a)), a);
		ck_assert_str_ne(fbx_algorithm_accuracy(a), "invalid");
	}
	ck_assert_int_eq(fbx_algorithm_parse("GCRA"), FBX_EINVAL);
	ck_assert_int_eq(fbx_algorithm_parse(NULL), FBX_EINVAL);
	ck_assert_str_eq(fbx_algorithm_accuracy(4), "invalid");
	ck_assert_str_eq(fbx_algorithm_name(-1), "invalid");
}
END_TEST

FBX_TEST_SUITE(errors)
{
	Suite *s = suite_create("errors");
	TCase *tc = tcase_create("texts");
	tcase_add_test(tc, strerror_texts);
	suite_add_tcase(s, tc);
	return s;
}
