/* run.c — runs every suite in fork mode and prints check's summary plus
 * one closing "N passed, N failed" line, so a run that ran nothing shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#ifdef FBX_TEST_SKIP_WRAP

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

/* Filled before main by each file's FBX_TEST_SUITE constructor. */
static struct {
	const char *name;
	fbx_test_suite_fn make;
} registered[64];
static int nregistered;

void fbx_test_register(const char *name, fbx_test_suite_fn make)
{
	if (nregistered == (int)(sizeof(registered) / sizeof(registered[0]))) {
		fprintf(stderr, "run: more than %d suites; raise the limit in tests/run.c\n",
			nregistered);
		exit(EXIT_FAILURE);
	}
	registered[nregistered].name = name;
	registered[nregistered++].make = make;
}

/* By name, so the order of a run does not depend on the order of linking. */
static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void)
{
	if (nregistered == 0) {
		fprintf(stderr, "run: no suite registered\n");
		return EXIT_FAILURE;
	}
	qsort(registered, (size_t)nregistered, sizeof(registered[0]), by_name);
	SRunner *sr = srunner_create(registered[0].make());
	for (int i = 1; i < nregistered; i++)
		srunner_add_suite(sr, registered[i].make());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%d passed, %d failed\n", run - failed, failed);
	return failed == 0 && run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
