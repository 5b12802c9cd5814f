/* suites.h — every test file contributes one check suite, and registers it
 * itself with FBX_TEST_SUITE, so a new file cannot be left out of the run
 * by a forgotten line in a central list:
 *
 *	FBX_TEST_SUITE(limiter_log)
 *	{
 *		Suite *s = suite_create("limiter_log");
 *		...
 *		return s;
 *	}
 *
 * The suite's name is what CK_RUN_SUITE selects and what
 * docs/HOSTILE-INPUTS.md cites ("suite/test"); keep it equal to the
 * argument, and to the file's name without "test_". */
#ifndef FBX_TEST_SUITES_H
#define FBX_TEST_SUITES_H

#include <check.h>

typedef Suite *(*fbx_test_suite_fn)(void);

/* Called before main by each file's constructor; run.c keeps the list. */
void fbx_test_register(const char *name, fbx_test_suite_fn make);

#define FBX_TEST_SUITE(name)                                                    \
	static Suite *fbx_test_##name##_suite(void);                            \
	__attribute__((constructor)) static void fbx_test_##name##_register(void) \
	{                                                                       \
		fbx_test_register(#name, fbx_test_##name##_suite);              \
	}                                                                       \
	static Suite *fbx_test_##name##_suite(void)

#endif
