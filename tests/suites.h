/* suites.h — every test file contributes one check suite. */
#ifndef FBX_TEST_SUITES_H
#define FBX_TEST_SUITES_H

#include <check.h>

Suite *fbx_test_rule_suite(void);
Suite *fbx_test_box_suite(void);
Suite *fbx_test_breaker_suite(void);
Suite *fbx_test_limiter_suite(void);
Suite *fbx_test_multiproc_suite(void);
Suite *fbx_test_snapshot_suite(void);
Suite *fbx_test_ctl_suite(void);
Suite *fbx_test_review_suite(void);
Suite *fbx_test_faults_suite(void);
Suite *fbx_test_security_suite(void);
Suite *fbx_test_tui_suite(void);
Suite *fbx_test_console_suite(void);
Suite *fbx_test_threads_suite(void);
Suite *fbx_test_catalogue_suite(void);

#endif
