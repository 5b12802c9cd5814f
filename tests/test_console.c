/*
 * test_console.c — end-to-end tests of fusebox-top under tmux (issue 4):
 * the demo fleet (build/examples/fleet) runs on a box made from
 * examples/demo.ini, the console runs in a detached tmux session, keys are
 * sent with send-keys and the screen is read with capture-pane, polled in
 * a bounded loop (never a fixed long sleep).  What the console did is
 * checked against `fuseboxctl breaker show --json` and `fuseboxctl events`.
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
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "spawn.h"
#include "suites.h"

#define PREFIX "cs"
#define POLL_MS 10000 /* longest wait for anything on the screen */
#define STEP_MS 50

/* ======================================================================
 * Processes
 * ==================================================================== */

/* Runs argv (a name on PATH, or a path) to its end; stdout (up to cap - 1
 * bytes) into out when out is not NULL.  Returns the exit status, or -1. */
static int run(const char *const *argv, char *out, size_t cap)
{
	static const char *const env[] = {"TMUX", NULL}; /* the tests may run inside tmux */
	const struct spawn_opts o = {.env = env};
	struct spawn_result r;
	int rc = spawn_run(&o, argv, &r) == 0 && !r.signaled ? r.code : -1;
	if (out != NULL)
		snprintf(out, cap, "%s", r.out != NULL ? r.out : "");
	spawn_result_free(&r);
	return rc;
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

static char top[PATH_MAX], fleet[PATH_MAX], ini[PATH_MAX];
static char sock[64], sess[64];
static char screen[64 * 1024];

static void paths(void)
{
	built_tool("FUSEBOX_TOP", "build/fusebox-top", top);
	built_tool("FUSEBOX_FLEET", "build/examples/fleet", fleet);
	ck_assert_msg(realpath("examples/demo.ini", ini) != NULL, "examples/demo.ini not found");
	snprintf(sock, sizeof(sock), "fbx%s%d", PREFIX, (int)getppid());
	snprintf(sess, sizeof(sess), "%s%d", PREFIX, (int)getpid());
}

/* A box made from examples/demo.ini. */
static const char *demo_box(void)
{
	static char box[64];
	snprintf(box, sizeof(box), "%s", tname(PREFIX));
	OK(box, "create", "--config", ini);
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
		tsleep_ms(STEP_MS);
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

static bool forced(const char *state)
{
	return strncmp(state, "forced_", 7) == 0;
}

static const char *events(const char *box)
{
	OK(box, "events");
	return R.out;
}

/* A new box under the old name, with a breaker the old box did not have:
 * a console showing it has attached to the new box. */
static void recreate_with_newcomer(const char *box)
{
	OK(box, "create");
	OK(box, "breaker", "add", "newcomer");
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

/* Polls the screen until it no longer shows needle. */
static void wait_gone(const char *needle)
{
	for (int waited = 0; waited <= POLL_MS; waited += STEP_MS) {
		if (strstr(capture(), needle) == NULL)
			return;
		tsleep_ms(STEP_MS);
	}
	ck_abort_msg("the console kept showing \"%s\"; the screen was:\n%s", needle, screen);
}

/* What follows key on its line in text, blanks before it left out, into
 * out: a setting as the detail view or fuseboxctl breaker show prints it. */
static const char *value_after(const char *text, const char *key, char *out, size_t len)
{
	const char *k = strstr(text, key);
	ck_assert_msg(k != NULL, "no [%s] in:\n%s", key, text);
	k += strlen(key);
	k += strspn(k, " ");
	snprintf(out, len, "%.*s", (int)strcspn(k, "\n"), k);
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	return out;
}

/* A console on a new demo box, showing it, with the fleet running when
 * fleet_pid is not NULL; NULL, the test skipped, without tmux. */
static const char *demo_console(const char *extra, pid_t *fleet_pid)
{
	if (!have_tmux())
		return NULL;
	paths();
	const char *box = demo_box();
	if (fleet_pid != NULL)
		*fleet_pid = start_fleet(box);
	console(box, "", extra);
	wait_for("payments");
	return box;
}

/* ======================================================================
 * Tests
 * ==================================================================== */

/* t, n cancels; t, y, reason trips (screen, status, events); a, y,
 * Enter releases to automatic. */
START_TEST(test_trip_confirm_release)
{
	pid_t fl;
	const char *box = demo_console("", &fl);
	if (box == NULL)
		return;
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

	/* the detail view and fuseboxctl breaker show say a setting in the
	 * same words and figures */
	key("Enter");
	wait_for("BREAKER payments");
	wait_for("  open period");
	char mine[128], tools[128];
	value_after(screen, "  open period", mine, sizeof(mine));
	OK(box, "breaker", "show", "payments");
	ck_assert_str_eq(mine, value_after(R.out, "  open period", tools, sizeof(tools)));
	value_after(screen, "  half-open ", mine, sizeof(mine));
	value_after(R.out, "  half-open ", tools, sizeof(tools));
	/* "1 trial, 1 success to close, lease 30.000 s": the console says
	 * the trials in flight of the trials, then the same words */
	const char *same = strstr(tools, ", ");
	ck_assert_msg(same != NULL && strstr(same + 2, " to close, lease ") != NULL &&
			      strstr(mine, same) != NULL,
		      "console [%s], fuseboxctl [%s]", mine, tools);
	key("Enter");
	wait_for("BREAKERS 1");

	const char *st;
	st = breaker_state(box, "payments");
	ck_assert_msg(!forced(st), "payments starts %s", st);
	keys("t");
	wait_for("Trip payments? [y/N]");
	keys("n");
	wait_for("cancelled");
	st = breaker_state(box, "payments");
	ck_assert_msg(!forced(st), "n at the confirm left payments %s", st);

	/* Esc at the reason cancels the whole action, as the page says: an
	 * operator must never believe a breaker tripped that was not */
	keys("t");
	wait_for("Trip payments? [y/N]");
	keys("y");
	wait_for("Reason (Enter to skip, Esc cancels)");
	keys("cs never");
	key("Escape");
	wait_for("cancelled");
	st = breaker_state(box, "payments");
	ck_assert_msg(!forced(st), "Esc at the reason left payments %s", st);
	ck_assert_msg(strstr(events(box), "cs never") == NULL, "Esc recorded an event:\n%s", R.out);

	keys("t");
	wait_for("Trip payments? [y/N]");
	keys("y");
	wait_for("Reason");
	keys("cs drill 42");
	key("Enter");
	wait_for("forced-open");
	st = breaker_state(box, "payments");
	ck_assert_str_eq(st, "forced_open");
	ck_assert_msg(strstr(events(box), "cs drill 42") != NULL, "no reason in events:\n%s", R.out);

	keys("a");
	wait_for("payments? [y/N]");
	keys("y");
	wait_for("Reason");
	key("Enter");
	for (int waited = 0;; waited += STEP_MS) {
		st = breaker_state(box, "payments");
		if (!forced(st))
			break;
		ck_assert_msg(waited < POLL_MS, "payments still %s after release", st);
		tsleep_ms(STEP_MS);
	}
	keys("q");
	stop_fleet(fl);
}
END_TEST

/* 80x24, then 132x40: every pane title shows and no line is wider than
 * the window. */
START_TEST(test_resize)
{
	pid_t fl;
	const char *box = demo_console("", &fl);
	if (box == NULL)
		return;
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
		tsleep_ms(STEP_MS);
	}
	fits(132);
	keys("q");
	stop_fleet(fl);
}
END_TEST

/* --readonly says so, and t changes nothing. */
START_TEST(test_readonly)
{
	const char *box = demo_console("--readonly", NULL);
	if (box == NULL)
		return;
	wait_for("READ-ONLY");
	size_t before = count_char(events(box), '\n');
	keys("t");
	wait_for("read-only");
	const char *st;
	const char *names[] = {"catalog", "payments", "search"};
	for (int i = 0; i < 3; i++) {
		st = breaker_state(box, names[i]);
		ck_assert_msg(!forced(st), "%s is %s after t in --readonly", names[i], st);
	}
	/* no fleet runs: only an action could add an event */
	size_t after = count_char(events(box), '\n');
	ck_assert_msg(after == before, "t in --readonly added events:\n%s", R.out);
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
		tsleep_ms(STEP_MS);
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
	const char *box = demo_console("-d 0.2", NULL);
	if (box == NULL)
		return;
	OK(box, "destroy");
	wait_for("vanished");
	recreate_with_newcomer(box);
	wait_for("newcomer");
	ck_assert_ptr_null(strstr(capture(), "payments  ")); /* the old box is gone */
	keys("q");
}
END_TEST

/* The box truncated under the console (no SIGBUS): it says so, keeps
 * running, and attaches to the box recreated under the name. */
START_TEST(test_box_truncated_under_console)
{
	const char *box = demo_console("-d 0.2", NULL);
	if (box == NULL)
		return;
	char path[128];
	tshm_path(path, box);
	ck_assert_int_eq(truncate(path, 4096), 0);
	wait_for("truncated");
	OK(box, "destroy");
	recreate_with_newcomer(box);
	wait_for("newcomer");
	keys("q");
}
END_TEST

/* The limiters pane names each limiter's algorithm; the detail view says
 * what it promises (and for GCRA, what the burst allows); d asks for a
 * reason, which lands in the event. */
START_TEST(test_limiter_algorithm_and_reason)
{
	const char *box = demo_console("-d 0.2", NULL);
	if (box == NULL)
		return;
	OK(box, "limiter", "add", "zz_log", "--rate", "5/second", "--keyed");
	OK(box, "limiter", "add", "zz_gcra", "--rate", "10/second", "--algo", "gcra", "--burst", "5");
	wait_for("zz_gcra");
	/* demo.ini's api (600/minute) does not fit the default log: window */
	const char *api = strstr(capture(), "  api ");
	ck_assert_msg(api != NULL && strstr(api, "window") != NULL &&
			      strstr(api, "window") < strchr(api, '\n'),
		      "api's row does not say window:\n%s", screen);

	keys("/");
	wait_for("Filter:");
	keys("zz_log");
	key("Enter");
	wait_for("LIMITERS 1");
	const char *row = strstr(screen, "  zz_log ");
	ck_assert_msg(row != NULL && strstr(row, " log ") != NULL &&
			      strstr(row, " log ") < strchr(row, '\n'),
		      "zz_log's row does not say log:\n%s", screen);
	ck_assert_msg(strstr(row, "0/4096") != NULL && strstr(row, "0/4096") < strchr(row, '\n'),
		      "zz_log's keys are not out of the log's 4096:\n%s", screen);
	key("Tab");
	key("Enter");
	wait_for("LIMITER zz_log");
	wait_for("exact sliding log: at most count in any period");
	key("Enter");
	wait_for("LIMITERS 1");

	keys("d");
	wait_for("Dry-run ON for zz_log? [y/N]");
	keys("y");
	wait_for("Reason");
	keys("cs shadow 7");
	key("Enter");
	wait_for("zz_log: dry-run on");
	ck_assert(jbool(limiter_json(box, "zz_log"), "dry_run"));
	ck_assert_msg(strstr(events(box), "cs shadow 7") != NULL, "no reason in events:\n%s", R.out);

	keys("/");
	wait_for("Filter:");
	keys("zz_gcra");
	key("Enter");
	wait_for("LIMITERS 1");
	key("Enter");
	wait_for("LIMITER zz_gcra");
	wait_for("GCRA: count per period sustained");
	wait_for("5 of tolerance on the sustained 10/second");
	wait_for("14/second");
	fits(80);
	keys("q");
}
END_TEST

/* The fleet's workers and checks: Tab to WORKERS shows the master and
 * its workers alive; the header says the aggregate; D drains (loud in the
 * header, readiness fails) and D again ends it; x removes a stale check,
 * which fuseboxctl then no longer lists.  In 80 columns throughout. */
START_TEST(test_workers_health_drain)
{
	pid_t fl;
	const char *box = demo_console("-d 0.2", &fl);
	if (box == NULL)
		return;
	OK(box, "check", "set", "zz-stale", "pass", "--ttl", "1ms", "--message", "gone");
	key("Tab");
	key("Tab");
	wait_for("WORKERS 3");
	wait_for("master     o alive");
	wait_for("worker     o alive");
	wait_for(" 3 up ");
	fits(80);
	key("Tab");
	wait_for("HEALTH ");
	wait_for("follows breaker payments");
	wait_for("EXPIRED (set pass) gone");
	/* the few checks leave rows: the events take them, below */
	wait_for("EVENTS (newest first)");
	ck_assert_ptr_nonnull(strstr(strstr(screen, "HEALTH "), "EVENTS (newest first)"));
	fits(80);

	/* a filter that hides every check says so; Esc at the filter clears
	 * it (at once: the console sets a short escape delay) */
	keys("/");
	wait_for("Filter:");
	keys("nomatch");
	key("Enter");
	wait_for("(none match 'nomatch')");
	keys("/");
	wait_for("Filter:");
	keys("x");
	key("Escape");
	wait_gone("filter: ");
	wait_gone("none match");

	keys("D");
	wait_for("Start draining box");
	keys("n");
	wait_for("cancelled");
	EXPECT(0, box, "health", "--ready");
	/* Esc at the reason cancels the drain, as it does a trip */
	keys("D");
	wait_for("Start draining box");
	keys("y");
	wait_for("Reason (Enter to skip, Esc cancels)");
	keys("cs never");
	key("Escape");
	wait_for("cancelled");
	EXPECT(0, box, "health", "--ready");
	ck_assert_msg(strstr(events(box), "cs never") == NULL, "Esc recorded a drain:\n%s", R.out);
	keys("D");
	wait_for("Start draining box");
	keys("y");
	wait_for("Reason");
	keys("cs deploy 7");
	key("Enter");
	wait_for(" DRAINING ");
	wait_for("X NOT READY");
	/* who and why, under the probes, from the event the drain recorded */
	char who[96];
	snprintf(who, sizeof(who), "by uid %u pid ", (unsigned)getuid());
	wait_for(who);
	wait_for(": cs deploy 7");
	EXPECT(1, box, "health", "--ready");
	ck_assert_str_eq(R.out, "not ready: draining\n");
	ck_assert_msg(strstr(events(box), "drain began: cs deploy 7") != NULL, "no drain event:\n%s",
		      R.out);
	fits(80);
	keys("D");
	wait_for("Stop draining box");
	keys("y");
	wait_for("Reason");
	keys("cs done 7");
	key("Enter");
	wait_for("drain stopped");
	EXPECT(0, box, "health", "--ready");
	ck_assert_msg(strstr(events(box), "drain ended: cs done 7") != NULL, "no end event:\n%s",
		      R.out);

	keys("/");
	wait_for("Filter:");
	keys("zz-stale");
	key("Enter");
	wait_for("HEALTH DEGRADED  1 checks");
	keys("x");
	wait_for("Remove check zz-stale? [y/N]");
	keys("y");
	wait_for("Remove check zz-stale: done");
	const json_t *c = jarr(checks_json(box), "checks");
	for (size_t i = 0; i < json_array_size(c); i++)
		ck_assert_str_ne(jstr(json_array_get(c, i), "name"), "zz-stale");
	keys("q");
	stop_fleet(fl);
}
END_TEST

/* The fleet's retry budget, bulkhead and cache: Tab four times reaches the
 * resilience pane, which shows each under its heading, fed by the fleet's
 * calls, in 80 columns; fuseboxctl sees the same records. */
START_TEST(test_resilience_pane)
{
	pid_t fl;
	const char *box = demo_console("-d 0.2", &fl);
	if (box == NULL)
		return;
	for (int i = 0; i < 4; i++)
		key("Tab");
	wait_for("RESILIENCE  1 budget  1 bulkhead  1 cache");
	wait_for("  BUDGET  ");
	wait_for("  BULKHEAD  ");
	wait_for("  CACHE  ");
	wait_for("20%+5/s 10s");
	wait_for("/2     ");
	wait_for("/256 ");
	fits(80);
	ck_assert(json_array_size(resilience_listing_json(box, "caches")) == 1);
	key("Tab");
	wait_for("EVENTS");
	keys("q");
	stop_fleet(fl);
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
		char *help = line + 13; /* "%-12s " */
		char *mark = strstr(help, " (not read-only)");
		if (mark != NULL)
			*mark = '\0';
		ck_assert_msg(strstr(man, help) != NULL, "man page lacks: %s", help);
		lines++;
	}
	ck_assert_int_ge(lines, 15);
}
END_TEST


/* The page's generated parts (keys, header fields, every pane's columns,
 * the prompts) are exactly what fusebox-top --man prints from the tables
 * the console draws from. */
START_TEST(test_man_page_generated_parts)
{
	paths();
	static char parts[128 * 1024], man[256 * 1024];
	const char *argv[] = {top, "--man", NULL};
	ck_assert_int_eq(run(argv, parts, sizeof(parts)), 0);
	FILE *f = fopen("man/fusebox-top.1", "r");
	ck_assert_msg(f != NULL, "man/fusebox-top.1 not found (run from the repository root)");
	size_t n = fread(man, 1, sizeof(man) - 1, f);
	fclose(f);
	man[n] = '\0';
	int found = 0, in_page = 0;
	for (const char *p = man; (p = strstr(p, ".\\\" BEGIN GENERATED ")) != NULL; p++)
		in_page++;
	for (char *p = parts; (p = strstr(p, ".\\\" BEGIN GENERATED ")) != NULL;) {
		char name[64];
		ck_assert_int_eq(sscanf(p, ".\\\" BEGIN GENERATED %63s", name), 1);
		char end[96];
		snprintf(end, sizeof(end), ".\\\" END GENERATED %s\n", name);
		char *e = strstr(p, end);
		ck_assert_msg(e != NULL, "--man's part %s has no end", name);
		e += strlen(end);
		char keep = *e;
		*e = '\0';
		ck_assert_msg(strstr(man, p) != NULL,
			      "man/fusebox-top.1 does not hold what fusebox-top --man prints for %s: "
			      "regenerate it with `make man`", name);
		*e = keep;
		p = e;
		found++;
	}
	ck_assert_int_ge(found, 10); /* keys, header, 7 tables, prompts */
	ck_assert_msg(found == in_page, "the page has %d generated parts, --man prints %d", in_page,
		      found);
}
END_TEST

/* A message on the hint line goes by itself: a result read once must not
 * pass for the state of things later. */
START_TEST(test_message_expires)
{
	const char *box = demo_console("", NULL);
	if (box == NULL)
		return;
	key("Tab"); /* limiters: t has no breaker to act on there */
	wait_for("LIMITERS");
	keys("t");
	wait_for("select a breaker first (Tab)");
	for (int waited = 0; strstr(capture(), "select a breaker first") != NULL; waited += STEP_MS) {
		ck_assert_msg(waited < POLL_MS, "the message stayed:\n%s", screen);
		tsleep_ms(STEP_MS);
	}
	ck_assert_ptr_nonnull(strstr(screen, "? help  q quit"));
	keys("q");
}
END_TEST

/* -1 prints every row: 300 breakers and their 300 events, none dropped
 * at a screen's 256 lines. */
START_TEST(test_printout_every_row)
{
	paths();
	static char out[512 * 1024];
	const char *name = tname(PREFIX);
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.breakers = 300;
	bc.events = 1024;
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &bc, &b), 0);
	for (int i = 0; i < 300; i++) {
		char bn[32];
		snprintf(bn, sizeof(bn), "brk-%03d", i);
		fbx_breaker_config c;
		fbx_breaker_config_init(&c);
		fbx_breaker *br;
		ck_assert_int_eq(fbx_breaker_register(b, bn, &c, &br), 0);
	}
	fbx_box_close(b);
	const char *argv[] = {top, "-b", name, "-1", NULL};
	ck_assert_int_eq(run(argv, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, " brk-299 ") != NULL, "no brk-299 row");
	const char *ev = strstr(out, "EVENTS");
	ck_assert_ptr_nonnull(ev);
	const char *oldest = strstr(ev, "breaker brk-000 ");
	ck_assert_msg(oldest != NULL && strstr(oldest, "created") != NULL,
		      "the oldest event is missing");
	ck_assert_int_gt(count_char(out, '\n'), 600);
}
END_TEST

/* Runs script under sh in a mount namespace of its own, with an empty
 * /dev/shm: the host's boxes (other tests') are out of sight.  Returns
 * false (the test skipped) where namespaces are not allowed. */
static bool own_shm(const char *script, char *out, size_t cap)
{
	static char full[4 * PATH_MAX + 1024];
	snprintf(full, sizeof(full), "mount -t tmpfs tmpfs /dev/shm || exit 77; %s", script);
	const char *argv[] = {"unshare", "--mount", "sh", "-c", full, NULL};
	int rc = run(argv, out, cap);
	if (rc == 77 || rc < 0 || strstr(out, "unshare:") != NULL) {
		printf("test_console: skipped: no private /dev/shm (unshare --mount)\n");
		return false;
	}
	return true;
}

/* No -b and no FUSEBOX_BOX: none on the host, a printout says so and exits
 * 2; one, it is shown; several, they are listed with how to pick, exit 2;
 * FUSEBOX_BOX and -b still choose. */
START_TEST(test_box_found_without_b)
{
	paths();
	static char out[64 * 1024], script[3 * PATH_MAX + 512];
	char ctl[PATH_MAX];
	built_tool("FUSEBOX_CTL", "build/fuseboxctl", ctl);
	snprintf(script, sizeof(script),
		 "unset FUSEBOX_BOX; T='%s'; C='%s';"
		 "$T -1 2>&1; echo \"rc=$?\";"
		 "$C -b lonely create >/dev/null; $T -1 2>&1 | head -1; echo \"rc=$?\";"
		 "$C -b other create >/dev/null; $T -1 2>&1; echo \"rc=$?\";"
		 "FUSEBOX_BOX=other $T -1 2>&1 | head -1; $T -b lonely -1 2>&1 | head -1",
		 top, ctl);
	if (!own_shm(script, out, sizeof(out)))
		return;
	ck_assert_msg(strstr(out, "fusebox-top: no box on this host") != NULL, "%s", out);
	const char *one = strstr(out, "rc=2\nlonely ");
	ck_assert_msg(one != NULL, "the only box was not shown:\n%s", out);
	const char *several = strstr(one, "fusebox-top: no -b and 2 boxes on this host: lonely, other");
	ck_assert_msg(several != NULL && strstr(several, "pick one: -b NAME or FUSEBOX_BOX=NAME") != NULL,
		      "several boxes not listed:\n%s", out);
	ck_assert_msg(strstr(several, "rc=2\nother ") != NULL, "FUSEBOX_BOX did not choose:\n%s", out);
	ck_assert_msg(strstr(several, "\nlonely ") != NULL, "-b did not choose:\n%s", out);
}
END_TEST

/* The console with no box anywhere says so and waits; the first box to
 * appear is shown. */
START_TEST(test_console_waits_for_a_box)
{
	if (!have_tmux())
		return;
	paths();
	char ctl[PATH_MAX], go[64], check[128];
	built_tool("FUSEBOX_CTL", "build/fuseboxctl", ctl);
	snprintf(go, sizeof(go), "/tmp/fbx-cs-go-%d", (int)getpid());
	unlink(go);
	/* may namespaces be made here at all? */
	if (!own_shm("true", check, sizeof(check)))
		return;
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof(cmd),
		 "exec unshare --mount sh -c 'mount -t tmpfs tmpfs /dev/shm || exit 1; "
		 "(while [ ! -e %s ]; do sleep 0.05; done; %s -b appeared create >/dev/null 2>&1) & "
		 "exec env -u FUSEBOX_BOX %s'",
		 go, ctl, top);
	const char *argv[] = {"tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s",
			      sess, "-x", "80", "-y", "24", cmd, NULL};
	ck_assert_msg(run(argv, NULL, 0) == 0, "tmux new-session failed: %s", cmd);
	wait_for("no box on this host: waiting for one to appear");
	FILE *f = fopen(go, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	wait_for("appeared  0 open"); /* the box's name heads the screen */
	wait_for("BREAKERS 0");
	keys("q");
	unlink(go);
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
	tcase_add_test(tc, test_limiter_algorithm_and_reason);
	tcase_add_test(tc, test_man_page_lists_every_key);
	tcase_add_test(tc, test_workers_health_drain);
	tcase_add_test(tc, test_resilience_pane);
	tcase_add_test(tc, test_man_page_generated_parts);
	tcase_add_test(tc, test_message_expires);
	tcase_add_test(tc, test_printout_every_row);
	tcase_add_test(tc, test_box_found_without_b);
	tcase_add_test(tc, test_console_waits_for_a_box);
	suite_add_tcase(s, tc);
	return s;
}
