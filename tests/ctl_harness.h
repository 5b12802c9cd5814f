/* ctl_harness.h — what the black-box tests of fuseboxctl share (the
 * test_ctl_*.c suites; the catalogue and the console use parts of it):
 * scratch names and files, running the built tool, the checks every error
 * must pass, and the boxes tests start from.
 *
 * Boxes are named ct<runner pid>_<test pid>_<n> and temporary files
 * /tmp/fbxct<runner pid>_..., so that ctl_sweep(), an unchecked fixture run
 * in the runner, removes whatever a failed or killed test left. */
#ifndef FBX_TEST_CTL_HARNESS_H
#define FBX_TEST_CTL_HARNESS_H

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fusebox.h"
#include "helpers.h"
#include "spawn.h"

#define CTL_PREFIX "ct"

/* ---- scratch names and files ---- */

/* A fresh box name (no box made); valid for the rest of the test. */
const char *new_box(void);
/* The box's permission bits, and its group into *gid when not NULL. */
mode_t shm_mode(const char *box, gid_t *gid);
/* /tmp/fbx<prefix><runner pid>_<test pid>_<n><suffix>, from a small ring. */
const char *scratch_path(const char *prefix, const char *suffix);
const char *tpath(const char *suffix); /* with CTL_PREFIX */
/* A new file under tpath(".ini") holding content. */
const char *tfile(const char *content);
bool file_exists(const char *path);
/* Removes path: a file, or a directory with the files in it. */
void remove_tree(const char *path);
/* What this runner's tests under prefix left in /dev/shm and /tmp. */
void sweep_scratch(const char *prefix);
void ctl_sweep(void);
/* A test case of a ctl suite: tagged "ctl" (CK_INCLUDE_TAGS=ctl runs every
 * fuseboxctl test, whatever its suite), swept after, with this time limit
 * (0: check's default). */
TCase *ctl_tcase(const char *name, int timeout);

/* ---- the built tools ---- */

/* The program $env names, else fallback (relative to the repository
 * root), as an absolute path into path; fails the test when it is not an
 * executable. */
void built_tool(const char *env, const char *fallback, char path[PATH_MAX]);
const char *ctl_path(void); /* FUSEBOX_CTL, else build/fuseboxctl */

/* ---- running fuseboxctl ---- */

/* The last run, for the assertions. */
extern struct spawn_result R;

/* fuseboxctl [-b box] args... (args NULL-terminated; no -b when box is
 * NULL), into R; returns the exit status. */
int run_args(const struct spawn_opts *o, const char *box, const char *const *args);
__attribute__((sentinel)) int ctl(const char *box, ...);
__attribute__((sentinel)) int ctl_as(const struct spawn_opts *o, const char *box, ...);
/* Options that run the tool with FUSEBOX_BOX=value (NULL: unset); the
 * same static object each call. */
const struct spawn_opts *box_env(const char *value);
/* fuseboxctl args... into r, with no assertion: for forked workers. */
int ctl_raw(const char *const *args, struct spawn_result *r);
/* fuseboxctl -b box args... (NULL-terminated), left running. */
__attribute__((sentinel)) void ctl_start(struct spawn_proc *p, const char *box, ...);

size_t count_char(const char *s, char c);
/* "uid 0 (root)": the test's user as fuseboxctl names an operator. */
const char *uid_text(void);
/* The lines of text, each into lines[] (cut at 255 bytes); how many. */
size_t split_lines(const char *text, char lines[][256], size_t max);
/* stderr of the last run is exactly one line "fuseboxctl: ...", mentioning
 * what (case-insensitively) when what is not NULL. */
void one_error_line(const char *what);
/* The line of the last run's `ls` output that lists box. */
const char *ls_line(const char *box);

#define EXPECT_AS(o, code, ...)                                                                \
	do {                                                                                   \
		int rc_ = ctl_as((o), __VA_ARGS__, (const char *)NULL);                       \
		ck_assert_msg(rc_ == (code), "%s: exit %d, expected %d; stderr: %s", R.cmd, rc_, \
			      (code), R.err);                                                  \
	} while (0)
#define EXPECT(code, ...) EXPECT_AS(NULL, code, __VA_ARGS__)
#define OK(...) EXPECT(0, __VA_ARGS__)
/* exit 2, nothing on stdout, one line on stderr naming what */
#define FAILS(what, ...)                                                                  \
	do {                                                                              \
		EXPECT(2, __VA_ARGS__);                                                   \
		one_error_line(what);                                                     \
		ck_assert_msg(R.out[0] == '\0', "%s: stdout on error: [%s]", R.cmd, R.out); \
	} while (0)

/* Gives this test process (and the tools it runs) a /dev/shm of its own,
 * empty: a private mount namespace with a tmpfs there, gone when the test
 * ends.  What box a command finds when none is named depends on every box
 * of the host, which other tests and people make and remove at any time.
 * false, with why in *why, where it cannot be done (not root, no mount
 * namespaces, or check not forking: the namespace would outlive the test). */
bool ctl_private_shm(const char **why);

/* ---- boxes to start from ---- */

/* The "ready" box, made through the library (fast): breaker b1 with the
 * defaults, limiters l1 and lk (100/minute, lk keyed), small capacities
 * (room for 2 health checks, none set). */
void ready_box_make(const char *name, uint32_t mode);
/* Fills a ready box's check table: c1 and c2, pass, not critical, TTL 1 h. */
void ready_box_fill_checks(const char *name);
/* NULL when the ready box name is as ready_box_make() left it, else what
 * changed: a command that failed must have changed nothing. */
const char *ready_box_change(const char *name);
const char *lib_box(void); /* a new ready box, mode 0600 */
/* What the library says of box name. */
fbx_box_info box_info(const char *name);
/* A box made by the tool itself. */
const char *ctl_box(void);
/* A box in a known state, for status and metrics; see the comments in
 * ctl_harness.c for the counts. */
const char *known_box(void);

#endif
