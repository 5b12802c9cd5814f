/* run.c — runs every suite in fork mode and prints check's summary plus
 * one closing "N passed, N failed" line, so a run that ran nothing shows. */
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

#ifdef FBX_TEST_SKIP_WRAP
#include <string.h>

/* check selects suites and test cases, never a single test.  A binary
 * linked with -Wl,--wrap=_tcase_add_test (tests/sanitize.mk) leaves out
 * the tests named in FBX_TEST_SKIP (space-separated) and says so on
 * stderr, so that a skip is never silent. */
void __real__tcase_add_test(TCase *tc, const TTest *tt, int sig, int exit_value, int start,
			    int end);

static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

void __wrap__tcase_add_test(TCase *tc, const TTest *tt, int sig, int exit_value, int start,
			    int end)
{
	const char *skip = getenv("FBX_TEST_SKIP");
	if (skip != NULL && listed(skip, tt->name)) {
		fprintf(stderr, "run: %s left out (FBX_TEST_SKIP)\n", tt->name);
		return;
	}
	__real__tcase_add_test(tc, tt, sig, exit_value, start, end);
}
#endif

int main(void)
{
	SRunner *sr = srunner_create(fbx_test_rule_suite());
	srunner_add_suite(sr, fbx_test_box_suite());
	srunner_add_suite(sr, fbx_test_breaker_suite());
	srunner_add_suite(sr, fbx_test_limiter_suite());
	srunner_add_suite(sr, fbx_test_multiproc_suite());
	srunner_add_suite(sr, fbx_test_snapshot_suite());
	srunner_add_suite(sr, fbx_test_ctl_suite());
	srunner_add_suite(sr, fbx_test_review_suite());
	srunner_add_suite(sr, fbx_test_faults_suite());
	srunner_add_suite(sr, fbx_test_security_suite());
	srunner_add_suite(sr, fbx_test_tui_suite());
	srunner_add_suite(sr, fbx_test_console_suite());
	srunner_add_suite(sr, fbx_test_threads_suite());
	srunner_add_suite(sr, fbx_test_catalogue_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%d passed, %d failed\n", run - failed, failed);
	return failed == 0 && run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
