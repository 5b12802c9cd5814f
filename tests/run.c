/* run.c — runs every suite in fork mode and prints check's summary plus
 * one closing "N passed, N failed" line, so a run that ran nothing shows. */
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

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
	srunner_add_suite(sr, fbx_test_catalogue_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%d passed, %d failed\n", run - failed, failed);
	return failed == 0 && run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
