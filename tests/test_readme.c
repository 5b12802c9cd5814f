/* test_readme.c — every C block of README.md compiles as a reader would
 * paste it, and the program among them runs (tests/readme/blocks.sh, which
 * also says how a block is marked as a fragment).  One check per block, so
 * a README edit that breaks a block fails with that block's README line. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "spawn.h"
#include "suites.h"

#define README "README.md"
#define PREFIX "rd"

/* The blocks, counted as blocks.sh counts them: fences open and close on
 * lines starting with ```, and a block is one opened by exactly ```c.
 * -1 when README.md cannot be read. */
static int count_blocks(void)
{
	FILE *f = fopen(README, "r");
	if (f == NULL)
		return -1;
	char line[4096];
	int n = 0, in = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "```", 3) != 0)
			continue;
		if (!in && strcmp(line, "```c\n") == 0)
			n++;
		in = !in;
	}
	fclose(f);
	return n;
}

static struct spawn_result run_blocks(const char *cmd, const char *n)
{
	const char *argv[] = {"sh", "tests/readme/blocks.sh", cmd, README, n, tname(PREFIX), NULL};
	if (n == NULL)
		argv[4] = NULL;
	struct spawn_result r;
	ck_assert_int_eq(spawn_run(NULL, argv, &r), 0);
	return r;
}

/* The script sees the blocks this suite loops over: none is left out. */
START_TEST(readme_blocks_counted)
{
	int n = count_blocks();
	ck_assert_msg(n > 0, "%s: no ```c block (%d)", README, n);
	struct spawn_result r = run_blocks("count", NULL);
	ck_assert_msg(r.code == 0, "%s: %s", r.cmd, r.err);
	int seen = -1;
	ck_assert_int_eq(sscanf(r.out, "%d", &seen), 1);
	ck_assert_msg(seen == n, "blocks.sh counts %d C blocks, the suite %d", seen, n);
	spawn_result_free(&r);
}
END_TEST

START_TEST(readme_block_builds)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", _i);
	struct spawn_result r = run_blocks("check", n);
	ck_assert_msg(!r.signaled && r.code == 0, "C block %d of %s:\n%s%s", _i, README, r.err,
		      r.out);
	spawn_result_free(&r);
}
END_TEST

static void sweep(void)
{
	tsweep(PREFIX);
}

FBX_TEST_SUITE(readme)
{
	Suite *s = suite_create("readme");
	TCase *tc = tcase_create("blocks");
	tcase_add_unchecked_fixture(tc, sweep, sweep);
	tcase_add_test(tc, readme_blocks_counted);
	int n = count_blocks();
	if (n > 0)
		tcase_add_loop_test(tc, readme_block_builds, 0, n);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
