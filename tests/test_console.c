/*
 * test_console.c — end-to-end tests of fusebox-top under tmux (issue 4):
 * the demo fleet (build/examples/fleet) runs on a box made from
 * examples/demo.ini, the console runs in a detached tmux session, keys are
 * sent with send-keys and the screen is read with capture-pane, polled in
 * a bounded loop (never a fixed long sleep).  What the console did is
 * checked against `fuseboxctl status --json` and `fuseboxctl events`.
 *
 * Binaries: FUSEBOX_CTL (else build/fuseboxctl), FUSEBOX_TOP (else
 * build/fusebox-top), build/examples/fleet.  Without tmux every test
 * passes with a "skipped" line.
 *
 * Each test has its own box, cs<runner pid>_<test pid>_<n>, and its own
 * tmux server (-L fbxcs<runner pid>) and session (cs<test pid>); the
 * unchecked teardown, run in the runner, kills the tmux server and sweeps
 * the boxes.  The fleet is started with PR_SET_PDEATHSIG, so it stops
 * when the test process ends, however it ends.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define PREFIX "cs"
#define POLL_MS 10000 /* longest wait for anything on the screen */
#define STEP_MS 50

/* ======================================================================
 * Processes: fork/execvp, stdout through a pipe, no shell
 * ==================================================================== */

/* Runs argv to completion; stdout (up to cap - 1 bytes) into out when out
 * is not NULL; stderr to /dev/null.  Returns the exit status, or -1. */
static int run(const char *const *argv, char *out, size_t cap)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(fd[1], 1);
		dup2(devnull, 2);
		dup2(devnull, 0);
		close(fd[0]);
		close(fd[1]);
		unsetenv("TMUX"); /* the tests may themselves run inside tmux */
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	size_t n = 0;
	char sink[4096];
	for (;;) {
		ssize_t k;
		if (out != NULL && n + 1 < cap)
			k = read(fd[0], out + n, cap - 1 - n);
		else
			k = read(fd[0], sink, sizeof(sink));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (out != NULL && n + 1 < cap)
			n += (size_t)k;
	}
	close(fd[0]);
	if (out != NULL)
		out[n] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have_tmux(void)
{
	static int have = -1;
	if (have < 0) {
		const char *argv[] = {"tmux", "-V", NULL};
		have = run(argv, NULL, 0) == 0;
	}
	if (!have)
		printf("test_console: skipped: tmux is not installed (make deps installs it)\n");
	return have;
}

static const char *bin(const char *env, const char *fallback, char *path)
{
	const char *p = env ? getenv(env) : NULL;
	if (p == NULL || *p == '\0')
		p = fallback;
	ck_assert_msg(realpath(p, path) != NULL && access(path, X_OK) == 0,
		      "%s not found (build it with `make all`%s%s)", p, env ? ", or set " : "",
		      env ? env : "");
	return path;
}

static char ctl[PATH_MAX], top[PATH_MAX], fleet[PATH_MAX], ini[PATH_MAX];
static char sock[64], sess[64];
static char screen[64 * 1024], text[256 * 1024];

static void paths(void)
{
	bin("FUSEBOX_CTL", "build/fuseboxctl", ctl);
	bin("FUSEBOX_TOP", "build/fusebox-top", top);
	bin("FUSEBOX_FLEET", "build/examples/fleet", fleet);
	ck_assert_msg(realpath("examples/demo.ini", ini) != NULL, "examples/demo.ini not found");
	snprintf(sock, sizeof(sock), "fbx%s%d", PREFIX, (int)getppid());
	snprintf(sess, sizeof(sess), "%s%d", PREFIX, (int)getpid());
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A box made from examples/demo.ini. */
static const char *demo_box(void)
{
	static char box[64];
	snprintf(box, sizeof(box), "%s", tname(PREFIX));
	const char *argv[] = {ctl, "-b", box, "create", "--config", ini, NULL};
	ck_assert_msg(run(argv, NULL, 0) == 0, "fuseboxctl create --config %s failed", ini);
	return box;
}

/* The fleet, for 60 s at most; it also stops when this process ends. */
static pid_t start_fleet(const char *box)
{
	pid_t parent = getpid(), pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		execl(fleet, fleet, box, "--workers", "2", "--seconds", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_fleet(pid_t pid)
{
	kill(pid, SIGTERM);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fleet did not exit 0 on SIGTERM");
}

/* ======================================================================
 * tmux
 * ==================================================================== */

static int tmux(const char *a, const char *b, const char *c, const char *d, const char *e,
		const char *f, const char *g)
{
	const char *argv[] = {"tmux", "-L", sock, a, b, c, d, e, f, g, NULL};
	return run(argv, NULL, 0);
}

/* Opens the console on box in a WxH detached session; env_prefix is put
 * before it on the command line ("NO_COLOR=1"), extra after it. */
static void console(const char *box, const char *env_prefix, const char *extra)
{
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof(cmd), "exec env -u NO_COLOR %s '%s' -b '%s' %s", env_prefix, top, box,
		 extra);
	const char *argv[] = {"tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s",
			      sess, "-x", "80", "-y", "24", cmd, NULL};
	ck_assert_msg(run(argv, NULL, 0) == 0, "tmux new-session failed: %s", cmd);
}

static const char *capture(void)
{
	const char *argv[] = {"tmux", "-L", sock, "capture-pane", "-p", "-t", sess, NULL};
	if (run(argv, screen, sizeof(screen)) != 0)
		screen[0] = '\0';
	return screen;
}

/* Polls the screen until it shows needle; fails the test with the last
 * screen when it never does. */
static void wait_for(const char *needle)
{
	for (int waited = 0; waited <= POLL_MS; waited += STEP_MS) {
		if (strstr(capture(), needle) != NULL)
			return;
		sleep_ms(STEP_MS);
	}
	ck_abort_msg("the console never showed \"%s\"; the screen was:\n%s", needle, screen);
}

static void keys(const char *literal)
{
	ck_assert_int_eq(tmux("send-keys", "-t", sess, "-l", literal, NULL, NULL), 0);
}

static void key(const char *name) /* "Enter", "Escape" */
{
	ck_assert_int_eq(tmux("send-keys", "-t", sess, name, NULL, NULL, NULL), 0);
}

/* ======================================================================
 * fuseboxctl
 * ==================================================================== */

/* The "state" of breaker name in `status --json`, into state. */
static void breaker_state(const char *box, const char *name, char *state, size_t len)
{
	const char *argv[] = {ctl, "-b", box, "status", "--json", NULL};
	ck_assert_int_eq(run(argv, text, sizeof(text)), 0);
	char pat[96];
	snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
	const char *p = strstr(text, pat);
	ck_assert_msg(p != NULL, "no breaker %s in: %s", name, text);
	/* the object's end: its "config" object follows the state */
	const char *s = strstr(p, "\"state\":\"");
	const char *next = strstr(p + 1, "\"name\":\"");
	ck_assert_msg(s != NULL && (next == NULL || s < next), "no state for %s in: %s", name, text);
	s += strlen("\"state\":\"");
	size_t n = strcspn(s, "\"");
	ck_assert_uint_lt(n, len);
	memcpy(state, s, n);
	state[n] = '\0';
}

static bool forced(const char *state)
{
	return strncmp(state, "forced_", 7) == 0;
}

static const char *events(const char *box)
{
	const char *argv[] = {ctl, "-b", box, "events", NULL};
	ck_assert_int_eq(run(argv, text, sizeof(text)), 0);
	return text;
}

/* Every line of the screen fits in cols columns. */
static void fits(int cols)
{
	const char *p = capture();
	for (int row = 0; *p; row++) {
		size_t n = strcspn(p, "\n");
		ck_assert_msg((int)n <= cols, "line %d is %zu columns wide (window %d):\n%s", row, n,
			      cols, screen);
		p += n + (p[n] == '\n');
	}
}

/* ======================================================================
 * Tests
 * ==================================================================== */

/* t, n cancels; t, y, reason trips (screen, status, events); a, y,
 * Enter releases to automatic. */
START_TEST(test_trip_confirm_release)
{
	if (!have_tmux())
		return;
	paths();
	const char *box = demo_box();
	pid_t fl = start_fleet(box);
	console(box, "", "");
	wait_for("payments");
	/* filter so payments is the only row, and so selected */
	keys("/");
	wait_for("Filter:");
	keys("payments");
	key("Enter");
	wait_for("BREAKERS 1");
	const char *pane = strstr(screen, "BREAKERS 1"), *end = strstr(screen, "LIMITERS");
	const char *other = strstr(pane, "catalog");
	ck_assert_msg(other == NULL || (end != NULL && other > end),
		      "the filter left catalog in the breakers pane:\n%s", screen);

	char st[32];
	breaker_state(box, "payments", st, sizeof(st));
	ck_assert_msg(!forced(st), "payments starts %s", st);
	keys("t");
	wait_for("Trip payments? [y/N]");
	keys("n");
	wait_for("cancelled");
	breaker_state(box, "payments", st, sizeof(st));
	ck_assert_msg(!forced(st), "n at the confirm left payments %s", st);

	keys("t");
	wait_for("Trip payments? [y/N]");
	keys("y");
	wait_for("Reason");
	keys("cs drill 42");
	key("Enter");
	wait_for("FORCED-OPEN");
	breaker_state(box, "payments", st, sizeof(st));
	ck_assert_str_eq(st, "forced_open");
	ck_assert_msg(strstr(events(box), "cs drill 42") != NULL, "no reason in events:\n%s", text);

	keys("a");
	wait_for("payments? [y/N]");
	keys("y");
	wait_for("Reason");
	key("Enter");
	for (int waited = 0;; waited += STEP_MS) {
		breaker_state(box, "payments", st, sizeof(st));
		if (!forced(st))
			break;
		ck_assert_msg(waited < POLL_MS, "payments still %s after release", st);
		sleep_ms(STEP_MS);
	}
	keys("q");
	stop_fleet(fl);
}
END_TEST

/* 80x24, then 132x40: every pane title shows and no line is wider than
 * the window. */
START_TEST(test_resize)
{
	if (!have_tmux())
		return;
	paths();
	const char *box = demo_box();
	pid_t fl = start_fleet(box);
	console(box, "", "");
	wait_for("payments");
	wait_for("EVENTS");
	fits(80);
	ck_assert_int_eq(tmux("resize-window", "-t", sess, "-x", "132", "-y", "40"), 0);
	/* the header and the column headings grow with the window: wait until
	 * the screen has been redrawn at the new size */
	for (int waited = 0;; waited += STEP_MS) {
		capture();
		int rows = 0;
		for (const char *p = screen; *p; p++)
			rows += *p == '\n';
		/* RECENT (the sparkline column) only fits the wider window: a
		 * console still drawn at 80 columns cannot pass */
		if (rows >= 40 && strstr(screen, "BREAKERS") && strstr(screen, "LIMITERS") &&
		    strstr(screen, "EVENTS") && strstr(screen, "RECENT"))
			break;
		ck_assert_msg(waited < POLL_MS, "no 132x40 layout; the screen was:\n%s", screen);
		sleep_ms(STEP_MS);
	}
	fits(132);
	keys("q");
	stop_fleet(fl);
}
END_TEST

/* --readonly says so, and t changes nothing. */
START_TEST(test_readonly)
{
	if (!have_tmux())
		return;
	paths();
	const char *box = demo_box();
	console(box, "", "--readonly");
	wait_for("payments");
	wait_for("READ-ONLY");
	size_t before = 0;
	for (const char *p = events(box); *p; p++)
		before += *p == '\n';
	keys("t");
	wait_for("read-only");
	char st[32];
	const char *names[] = {"catalog", "payments", "search"};
	for (int i = 0; i < 3; i++) {
		breaker_state(box, names[i], st, sizeof(st));
		ck_assert_msg(!forced(st), "%s is %s after t in --readonly", names[i], st);
	}
	size_t after = 0; /* no fleet runs: only an action could add an event */
	for (const char *p = events(box); *p; p++)
		after += *p == '\n';
	ck_assert_msg(after == before, "t in --readonly added events:\n%s", text);
	keys("q");
}
END_TEST

/* NO_COLOR=1: states are still words. */
/* The screen with its escape sequences: how many foreground colours. */
static int colours_on_screen(void)
{
	const char *argv[] = {"tmux", "-L", sock, "capture-pane", "-e", "-p", "-t", sess, NULL};
	if (run(argv, screen, sizeof(screen)) != 0)
		return -1;
	int n = 0;
	for (const char *p = screen; (p = strstr(p, "\033[")) != NULL; p++) {
		const char *q = p + 2; /* "3N" anywhere in the parameters: a colour */
		for (; *q && *q != 'm'; q++)
			if (q[0] == '3' && q[1] >= '1' && q[1] <= '7' && (q[2] == 'm' || q[2] == ';') &&
			    (q[-1] == '[' || q[-1] == ';'))
				n++;
	}
	return n;
}

START_TEST(test_no_color)
{
	if (!have_tmux())
		return;
	paths();
	const char *box = demo_box();
	/* with colour: a closed breaker is drawn green */
	console(box, "TERM=xterm-256color", "");
	wait_for("closed");
	ck_assert_msg(colours_on_screen() > 0, "no colour on the screen:\n%s", screen);
	keys("q");
	for (int waited = 0; tmux("has-session", "-t", sess, NULL, NULL, NULL, NULL) == 0; waited += STEP_MS) {
		ck_assert_msg(waited < POLL_MS, "the console did not quit");
		sleep_ms(STEP_MS);
	}
	/* NO_COLOR: the words and glyphs, not a colour */
	console(box, "TERM=xterm-256color NO_COLOR=1", "");
	wait_for("payments");
	wait_for("o closed");
	ck_assert_int_eq(colours_on_screen(), 0);
	keys("q");
}
END_TEST

/* The box vanishing and coming back: the console says so and reattaches. */
START_TEST(test_box_vanishes_and_returns)
{
	if (!have_tmux())
		return;
	paths();
	const char *box = demo_box();
	console(box, "", "-d 0.2");
	wait_for("payments");
	const char *destroy[] = {ctl, "-b", box, "destroy", NULL};
	ck_assert_int_eq(run(destroy, NULL, 0), 0);
	wait_for("vanished");
	const char *create[] = {ctl, "-b", box, "create", NULL};
	ck_assert_int_eq(run(create, NULL, 0), 0);
	const char *add[] = {ctl, "-b", box, "breaker", "add", "newcomer", NULL};
	ck_assert_int_eq(run(add, NULL, 0), 0);
	wait_for("newcomer");
	ck_assert_ptr_null(strstr(capture(), "payments  ")); /* the old box is gone */
	keys("q");
}
END_TEST

/* The box truncated under the console (no SIGBUS): it says so, keeps
 * running, and attaches to the box recreated under the name. */
START_TEST(test_box_truncated_under_console)
{
	if (!have_tmux())
		return;
	paths();
	const char *box = demo_box();
	console(box, "", "-d 0.2");
	wait_for("payments");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", box);
	ck_assert_int_eq(truncate(path, 4096), 0);
	wait_for("truncated");
	const char *destroy[] = {ctl, "-b", box, "destroy", NULL};
	ck_assert_int_eq(run(destroy, NULL, 0), 0);
	const char *create[] = {ctl, "-b", box, "create", NULL};
	ck_assert_int_eq(run(create, NULL, 0), 0);
	const char *add[] = {ctl, "-b", box, "breaker", "add", "newcomer", NULL};
	ck_assert_int_eq(run(add, NULL, 0), 0);
	wait_for("newcomer");
	keys("q");
}
END_TEST

/* One table drives the keys: --keys prints it, and the man page lists
 * every key with the same words. */
START_TEST(test_man_page_lists_every_key)
{
	paths();
	static char keys_out[16384], man[256 * 1024];
	const char *argv[] = {top, "--keys", NULL};
	ck_assert_int_eq(run(argv, keys_out, sizeof(keys_out)), 0);
	FILE *f = fopen("man/fusebox-top.1", "r");
	ck_assert_msg(f != NULL, "man/fusebox-top.1 not found (run from the repository root)");
	size_t n = fread(man, 1, sizeof(man) - 1, f);
	fclose(f);
	man[n] = '\0';
	/* roff escapes a dash as \- : compare without backslashes */
	size_t w = 0;
	for (size_t r = 0; r < n; r++)
		if (man[r] != '\\')
			man[w++] = man[r];
	man[w] = '\0';
	int lines = 0;
	for (char *line = strtok(keys_out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *help = line + 10; /* "%-9s " */
		char *mark = strstr(help, " (not read-only)");
		if (mark != NULL)
			*mark = '\0';
		ck_assert_msg(strstr(man, help) != NULL, "man page lacks: %s", help);
		lines++;
	}
	ck_assert_int_ge(lines, 15);
}
END_TEST

/* Unchecked teardown, in the runner: the tmux server of this run (with
 * every console in it) and every box a test left. */
static void sweep(void)
{
	snprintf(sock, sizeof(sock), "fbx%s%d", PREFIX, (int)getpid());
	const char *argv[] = {"tmux", "-L", sock, "kill-server", NULL};
	run(argv, NULL, 0);
	tsweep(PREFIX);
}

FBX_TEST_SUITE(console)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("tmux");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_trip_confirm_release);
	tcase_add_test(tc, test_resize);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_no_color);
	tcase_add_test(tc, test_box_vanishes_and_returns);
	tcase_add_test(tc, test_box_truncated_under_console);
	tcase_add_test(tc, test_man_page_lists_every_key);
	suite_add_tcase(s, tc);
	return s;
}
