/* test_ctl_parallel.c — fuseboxctl run by many processes at once: the
 * totals are exact. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define WORKERS 8

/* Forks WORKERS processes, each running argv rounds times; counts[w][c]
 * is how often worker w saw exit status c (0, 1 or other = 2). */
static void parallel(const char *const *args, int rounds, int counts[WORKERS][3])
{
	ctl_path(); /* resolved before forking */
	int(*shared)[3] = mmap(NULL, sizeof(int[WORKERS][3]), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(shared != MAP_FAILED);
	memset(shared, 0, sizeof(int[WORKERS][3]));
	pid_t pids[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		fflush(NULL);
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			for (int i = 0; i < rounds; i++) {
				struct spawn_result r;
				int rc = ctl_raw(args, &r);
				shared[w][rc != 0 ? 2 : r.code == 0 ? 0 : r.code == 1 ? 1 : 2]++;
				spawn_result_free(&r);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WORKERS; w++)
		ck_assert_int_eq(twait(pids[w]), 0);
	memcpy(counts, shared, sizeof(int[WORKERS][3]));
	munmap(shared, sizeof(int[WORKERS][3]));
}

START_TEST(parallel_breaker_records)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "par");
	const char *args[] = {"-b", box, "breaker", "record", "par", "success", NULL};
	int counts[WORKERS][3];
	parallel(args, 25, counts);
	for (int w = 0; w < WORKERS; w++)
		ck_assert_msg(counts[w][0] == 25, "worker %d: %d ok, %d other", w, counts[w][0],
			      counts[w][1] + counts[w][2]);
	const json_t *b = breaker_json(box, "par");
	ck_assert_uint_eq(juint(b, "successes"), WORKERS * 25);
	ck_assert_uint_eq(juint(b, "failures"), 0);
	ck_assert_str_eq(jstr(b, "state"), "closed");
}
END_TEST

START_TEST(parallel_limiter_takes)
{
	const char *box = ctl_box();
	OK(box, "limiter", "add", "fifty", "--rate", "50/minute");
	const char *args[] = {"-b", box, "limiter", "take", "fifty", NULL};
	int counts[WORKERS][3];
	parallel(args, 10, counts);
	int yes = 0, no = 0, other = 0;
	for (int w = 0; w < WORKERS; w++) {
		yes += counts[w][0];
		no += counts[w][1];
		other += counts[w][2];
	}
	ck_assert_int_eq(other, 0);
	ck_assert_int_eq(yes, 50);
	ck_assert_int_eq(no, 30);
	const json_t *l = limiter_json(box, "fifty");
	ck_assert_uint_eq(juint(l, "allowed"), 50);
	ck_assert_uint_eq(juint(l, "denied"), 30);
}
END_TEST

FBX_TEST_SUITE(ctl_parallel)
{
	Suite *s = suite_create("ctl_parallel");
	TCase *tc = ctl_tcase("parallel", 60);
	tcase_add_test(tc, parallel_breaker_records);
	tcase_add_test(tc, parallel_limiter_takes);
	suite_add_tcase(s, tc);
	return s;
}
