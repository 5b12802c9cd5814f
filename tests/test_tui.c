/* test_tui.c — fusebox-top's screen model: snapshot in, lines and
 * attributes out, no terminal needed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "draw.h"
#include "helpers.h"
#include "internal.h"
#include "screen.h"
#include "suites.h"

static fbx_box *box;
static fbx_snapshot *snap;
static struct tui_screen scr;

static void setup(void)
{
	tclock_install();
	box = tbox_create(NULL);
	ck_assert_int_eq(fbx_snapshot_new(box, &snap), 0);
}

static void teardown(void)
{
	fbx_snapshot_free(snap);
	tbox_unlink(box);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

static fbx_breaker *breaker(const char *name)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	return tbreaker_reg(box, name, &c);
}

static void fail_once(fbx_breaker *b)
{
	tbreaker_call(b, FBX_FAILURE, 0);
}

static void render(struct tui_view *v, int rows, int cols)
{
	ck_assert_int_eq(fbx_snapshot_take(box, snap), 0);
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	tui_render(&cur, NULL, v, rows, cols, &scr);
}

/* The row that mentions text, or -1. */
static int row_of(const char *text)
{
	for (int r = 0; r < scr.rows; r++)
		if (strstr(scr.line[r].text, text) != NULL)
			return r;
	return -1;
}

/* The attribute at a column of a row (the last span covering it). */
static int attr_at(int row, int col)
{
	int a = TUI_NORMAL;
	for (int k = 0; k < scr.line[row].nspans; k++) {
		const struct tui_span *s = &scr.line[row].span[k];
		if (col >= s->col && col < s->col + s->len)
			a = s->attr;
	}
	return a;
}

static const char *dump(void); /* the whole screen, for failure messages */

static struct tui_view view(void)
{
	return (struct tui_view){.box = "t", .interval_s = 1.0};
}

START_TEST(states_as_word_glyph_and_colour)
{
	breaker("quiet");
	fail_once(breaker("sick"));
	ck_assert_int_eq(fbx_breaker_trip(breaker("manual"), "maintenance"), 0);
	struct tui_view v = view();
	render(&v, 40, 120);
	int q = row_of("quiet"), s = row_of("sick"), m = row_of("manual  ");
	ck_assert_int_ge(q, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_ge(m, 0);
	ck_assert_ptr_nonnull(strstr(scr.line[q].text, "o closed"));
	ck_assert_ptr_nonnull(strstr(scr.line[s].text, "X open"));
	ck_assert_ptr_nonnull(strstr(scr.line[m].text, "! forced-open"));
	ck_assert_int_eq(attr_at(s, (int)(strstr(scr.line[s].text, "X open") - scr.line[s].text)), TUI_BAD);
	ck_assert_int_eq(attr_at(q, (int)(strstr(scr.line[q].text, "o closed") - scr.line[q].text)), TUI_GOOD);
	/* worst first: forced open, then open, then closed */
	ck_assert_int_lt(m, s);
	ck_assert_int_lt(s, q);
	/* the header counts them */
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "1 open"));
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "1 forced"));
}
END_TEST

START_TEST(selection_filter_and_sort)
{
	breaker("alpha");
	breaker("beta");
	breaker("gamma");
	struct tui_view v = view();
	v.sort = TUI_SORT_NAME;
	v.selected = 1;
	render(&v, 40, 120);
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	ck_assert_str_eq(tui_selected_name(&cur, &v), "beta");
	int b = row_of("beta");
	ck_assert_int_eq(attr_at(b, 0), TUI_SELECTED);
	ck_assert_int_ne(attr_at(row_of("alpha"), 0), TUI_SELECTED);
	snprintf(v.filter, sizeof(v.filter), "mm");
	v.selected = 0;
	render(&v, 40, 120);
	int lim = row_of("LIMITERS"); /* the events pane below still names alpha */
	ck_assert(row_of("alpha") < 0 || row_of("alpha") > lim);
	ck_assert_int_lt(row_of("gamma"), lim);
	ck_assert_int_eq(tui_pane_rows(&cur, &v, TUI_PANE_BREAKERS), 1);
}
END_TEST

/* 80x24: nothing wider than the terminal, every pane still there. */
START_TEST(fits_80_by_24)
{
	char name[48];
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "upstream-with-a-long-name-%02d", i);
		breaker(name);
	}
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "10/second;1000/hour";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "api", &lc, &l), 0);
	struct tui_view v = view();
	render(&v, 24, 80);
	ck_assert_int_eq(scr.rows, 24);
	for (int r = 0; r < scr.rows; r++) {
		ck_assert_uint_le(strlen(scr.line[r].text), 80);
		for (int k = 0; k < scr.line[r].nspans; k++)
			ck_assert_int_le(scr.line[r].span[k].col + scr.line[r].span[k].len, 80);
	}
	/* 12 breakers do not fit: the title says which are in sight */
	char want[64];
	snprintf(want, sizeof(want), "BREAKERS 1-%d of 12  by worst first", tui_page_rows(&v, 24));
	ck_assert_msg(row_of(want) >= 0, "no [%s] in [%s]", want, scr.line[2].text);
	ck_assert_int_ge(row_of("LIMITERS 1  by"), 0);
	ck_assert_int_ge(row_of("EVENTS"), 0);
}
END_TEST

/* A terminal a few columns wide, a dry-run limiter: the badge steps back
 * over the rule, and must never step back before the line. */
START_TEST(narrow_screen_never_writes_before_a_line)
{
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "10/second";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "api", &lc, &l), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1, NULL), 0);
	struct tui_view v = view();
	for (int cols = 1; cols <= 12; cols++) {
		render(&v, 24, cols);
		for (int r = 0; r < scr.rows; r++) {
			ck_assert_uint_le(strlen(scr.line[r].text), (size_t)cols);
			ck_assert_uint_le(scr.line[r].nspans, TUI_SPANS_MAX);
			for (int k = 0; k < scr.line[r].nspans; k++)
				ck_assert_int_le(scr.line[r].span[k].col + scr.line[r].span[k].len, cols);
		}
	}
	/* the guard itself: a pen left of the line writes nothing */
	struct tui_line line;
	memset(&line, 0, sizeof(line));
	struct pen p = {&line, -3, 80};
	tui_put(&p, " DRY", 4, TUI_WARN);
	ck_assert_str_eq(line.text, "");
	ck_assert_uint_eq(line.nspans, 0);
}
END_TEST

START_TEST(manual_events_highlighted_with_who_and_why)
{
	ck_assert_int_eq(fbx_breaker_trip(breaker("pay"), "db failover"), 0);
	struct tui_view v = view();
	render(&v, 40, 132);
	int r = row_of("db failover");
	ck_assert_int_ge(r, 0);
	ck_assert_ptr_nonnull(strstr(scr.line[r].text, "uid"));
	int col = (int)(strstr(scr.line[r].text, "db failover") - scr.line[r].text);
	ck_assert_int_eq(attr_at(r, col), TUI_MANUAL);
}
END_TEST

START_TEST(read_only_offers_no_actions)
{
	breaker("x");
	struct tui_view v = view();
	v.read_only = true;
	render(&v, 30, 132);
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "READ-ONLY"));
	ck_assert_ptr_null(strstr(scr.line[1].text, "trip"));
	v.read_only = false;
	render(&v, 30, 132);
	ck_assert_ptr_nonnull(strstr(scr.line[1].text, "t trip"));
}
END_TEST

START_TEST(no_box_and_damaged_records)
{
	struct tui_view v = view();
	tui_render(NULL, NULL, &v, 24, 80, &scr);
	ck_assert_int_ge(row_of("no box"), 0);
	breaker("fine");
	breaker("bad");
	memset(box->breakers[1].head.name, 0x01, FBX_NAME_MAX); /* scribbled */
	atomic_store(&box->breakers[1].state, UINT64_MAX);
	render(&v, 30, 132);
	ck_assert_int_ge(row_of("fine"), 0);
	int r = row_of("damaged");
	ck_assert_int_ge(r, 0);
	for (int i = 0; scr.line[r].text[i]; i++)
		ck_assert(scr.line[r].text[i] >= 0x20 && scr.line[r].text[i] < 0x7f);
}
END_TEST

/* The row of the breakers pane that names name (the events pane below
 * names it too). */
static int breaker_row(const char *name)
{
	char cell[32];
	snprintf(cell, sizeof(cell), " %s ", name);
	int lim = row_of("LIMITERS");
	for (int r = 0; r < lim; r++)
		if (strstr(scr.line[r].text, cell) != NULL)
			return r;
	return -1;
}

/* SINCE says how long each breaker has been in its state, in the largest
 * unit; an open breaker whose period is over and which no call has come
 * to try reads OPEN,due, not OPEN, with "due" for its trial, in 80
 * columns. */
START_TEST(since_column_and_trial_due)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 30ull * 1000000000u;
	fail_once(tbreaker_reg(box, "idle", &c));
	fail_once(tbreaker_reg(box, "cooling", &c));
	breaker("calm");
	tclock_advance_ms(12000);
	struct tui_view v = view();
	v.pane = TUI_PANE_EVENTS; /* no breaker row selected: its own colours show */
	render(&v, 24, 80);
	ck_assert_int_ge(row_of("STATE           SINCE NAME"), 0);
	int r = breaker_row("idle");
	ck_assert_int_ge(r, 0);
	ck_assert_ptr_nonnull(strstr(scr.line[r].text, "X open    "));
	ck_assert_ptr_nonnull(strstr(scr.line[r].text, "   12s idle"));
	ck_assert_ptr_null(strstr(scr.line[r].text, "due"));
	ck_assert_ptr_nonnull(strstr(scr.line[breaker_row("calm")].text, "   12s calm"));
	ck_assert_ptr_null(strstr(scr.line[0].text, "due"));

	/* idle's period is over and no call came: due.  cooling is called,
	 * and that call is its trial: half-open, and no longer due */
	tclock_advance_ms(20000);
	fbx_permit p;
	fbx_breaker *cooling;
	ck_assert_int_eq(fbx_breaker_find(box, "cooling", &cooling), 0);
	ck_assert_int_eq(fbx_breaker_allow(cooling, &p), 0);
	render(&v, 24, 80);
	r = breaker_row("idle");
	const char *line = scr.line[r].text;
	const char *word = strstr(line, "X open, due");
	ck_assert_msg(word != NULL, "[%s]", line);
	ck_assert_int_eq(attr_at(r, (int)(word - line)), TUI_BAD);
	ck_assert_ptr_nonnull(strstr(line, "   32s idle"));
	const char *due = strstr(word + 11, "due");
	ck_assert_ptr_nonnull(due);
	ck_assert_int_le((int)(due - line) + 3, 80); /* TRIAL-IN is inside 80 columns */
	ck_assert_int_eq(attr_at(r, (int)(due - line)), TUI_BAD);
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "1 open (1 due)"));
	int h = breaker_row("cooling");
	ck_assert_ptr_nonnull(strstr(scr.line[h].text, "~ half-open"));
	ck_assert_ptr_nonnull(strstr(scr.line[h].text, "    0s cooling"));
	ck_assert_ptr_null(strstr(scr.line[h].text, "due"));
	ck_assert_int_eq(fbx_breaker_done(cooling, &p, FBX_SUCCESS, 0), 0);

	/* minutes, hours, days: one unit, never wider than the column */
	static const struct {
		uint64_t ms;
		const char *since;
	} steps[] = {{4 * 60000, "    4m idle"}, {3 * 3600000, "    3h idle"},
		     {2 * 86400000ull, "    2d idle"}};
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		tclock_advance_ms(steps[i].ms);
		render(&v, 24, 80);
		line = scr.line[breaker_row("idle")].text;
		ck_assert_msg(strstr(line, steps[i].since) != NULL, "no [%s] in [%s]",
			      steps[i].since, line);
		ck_assert_ptr_nonnull(strstr(line, "X open, due"));
	}
}
END_TEST

/* The detail view: how long in the state, the operator's actions by kind
 * and the last one, with who and why. */
START_TEST(detail_operator_actions)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 1000000000u;
	fbx_breaker *b = tbreaker_reg(box, "pay", &c);
	ck_assert_int_eq(fbx_breaker_trip(b, "db failover"), 0);
	ck_assert_int_eq(fbx_breaker_hold(b, NULL), 0);
	ck_assert_int_eq(fbx_breaker_release(b, NULL), 0);
	ck_assert_int_eq(fbx_breaker_trip(b, NULL), 0);
	tclock_advance_ms(5000);
	ck_assert_int_eq(fbx_breaker_reset(b, "INC-9: \x1b[2Jfixed"), 0);
	tclock_advance_ms(133000);
	fail_once(b);
	tclock_advance_ms(2000);
	struct tui_view v = view();
	v.detail = true;
	render(&v, 30, 120);
	int r = row_of("  state");
	ck_assert_int_ge(r, 0);
	ck_assert_msg(strstr(scr.line[r].text, "X open, due for 2s") != NULL, "[%s]", scr.line[r].text);
	ck_assert_int_ge(row_of("due: the next call is the trial"), 0);
	r = row_of("operator actions");
	ck_assert_int_ge(r, 0);
	ck_assert_ptr_nonnull(strstr(scr.line[r].text, "2 trips, 1 hold, 1 release, 1 reset"));
	r = row_of("last operator action");
	ck_assert_int_ge(r, 0);
	char who[96];
	snprintf(who, sizeof(who), "reset 2m15s ago by uid %u pid %d: INC-9: ?[2Jfixed",
		 (unsigned)getuid(), (int)getpid());
	ck_assert_msg(strstr(scr.line[r].text, who) != NULL, "no [%s] in [%s]", who,
		      scr.line[r].text);
	int col = (int)(strstr(scr.line[r].text, "reset") - scr.line[r].text);
	ck_assert_int_eq(attr_at(r, col), TUI_MANUAL);
	for (int k = 0; k < scr.rows; k++)
		for (int i = 0; scr.line[k].text[i]; i++)
			ck_assert(scr.line[k].text[i] >= 0x20 && scr.line[k].text[i] < 0x7f);
	/* nobody acted on a new breaker: no line for it */
	breaker("fresh");
	v.sort = TUI_SORT_NAME;
	render(&v, 30, 120);
	ck_assert_int_ge(row_of("BREAKER fresh"), 0);
	ck_assert_ptr_nonnull(strstr(scr.line[row_of("operator actions")].text,
				     "0 trips, 0 holds, 0 releases, 0 resets"));
	ck_assert_int_lt(row_of("last operator action"), 0);
}
END_TEST

/* A keyed log limiter's keys are counted against the log's table, whose
 * size the sample carries (0: not known, no capacity shown). */
START_TEST(log_keys_out_of_the_log_table)
{
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "5/second";
	lc.keyed = 1;
	lc.algorithm = FBX_ALGO_LOG;
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "exact", &lc, &l), 0);
	lc.rule = "500/second";
	lc.algorithm = FBX_ALGO_WINDOW;
	ck_assert_int_eq(fbx_limiter_register(box, "rough", &lc, &l), 0);
	struct tui_view v = view();
	render(&v, 30, 100);
	ck_assert_ptr_nonnull(strstr(scr.line[row_of("  exact ")].text, " 0/4096 "));
	ck_assert_ptr_nonnull(strstr(scr.line[row_of("  rough ")].text, " 0/65536 "));
	ck_assert_int_eq(fbx_snapshot_take(box, snap), 0);
	struct tui_sample unknown = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 0};
	tui_render(&unknown, NULL, &v, 30, 100, &scr);
	const char *row = scr.line[row_of("  exact ")].text;
	ck_assert_msg(strstr(row, " 0/") == NULL, "[%s]", row);
}
END_TEST

START_TEST(detail_views)
{
	fbx_breaker *b = breaker("pay");
	fail_once(b);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "1/minute";
	lc.keyed = 1;
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "api", &lc, &l), 0);
	fbx_limit_result r;
	for (int i = 0; i < 3; i++)
		fbx_limiter_take(l, "mallory", 7, 1, &r);
	struct tui_view v = view();
	v.detail = true;
	render(&v, 30, 120);
	ck_assert_int_ge(row_of("BREAKER pay"), 0);
	ck_assert_int_ge(row_of("trial allowed in"), 0);
	ck_assert_int_ge(row_of("closed -> open"), 0); /* its recent transitions */
	v.pane = TUI_PANE_LIMITERS;
	render(&v, 30, 120);
	ck_assert_int_ge(row_of("LIMITER api"), 0);
	int k = row_of("mallory");
	ck_assert_int_ge(k, 0);
	ck_assert_ptr_nonnull(strstr(scr.line[k].text, "2"));
	ck_assert_int_lt(row_of("BREAKERS"), 0); /* the panes are not drawn */
}
END_TEST

/* Every line within cols, spans included. */
static void fits(int cols)
{
	for (int r = 0; r < scr.rows; r++) {
		ck_assert_msg(strlen(scr.line[r].text) <= (size_t)cols, "row %d: [%s]", r,
			      scr.line[r].text);
		for (int k = 0; k < scr.line[r].nspans; k++)
			ck_assert_int_le(scr.line[r].span[k].col + scr.line[r].span[k].len, cols);
	}
}

/* A child registered as role with in_flight requests begun, which exits
 * (and is reaped: gone) or stays blocked on the pipe until the test ends
 * (*hold gets the pipe's write end). */
static pid_t child_worker(const char *role, uint64_t timeout_ms, int in_flight, int *hold)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = tfork();
	if (pid == 0) {
		close(fds[1]);
		if (fbx_worker_register(box, role, timeout_ms * 1000000u) != 0)
			_exit(3);
		for (int i = 0; i < in_flight; i++)
			fbx_request_begin(box);
		if (hold == NULL)
			_exit(0);
		char c;
		_exit(read(fds[0], &c, 1) < 0); /* until the parent closes its end */
	}
	close(fds[0]);
	if (hold == NULL) {
		close(fds[1]);
		ck_assert_int_eq(twait(pid), 0);
	} else {
		*hold = fds[1];
		tsleep_ms(50); /* registered by now: it does nothing else first */
	}
	return pid;
}

/* The workers pane: who, alive or why not, in flight, served, requests a
 * second from the previous sample, in 80 columns. */
START_TEST(workers_pane)
{
	ck_assert_int_eq(fbx_worker_register(box, "master", 10000ull * 1000000u), 0);
	int hold;
	pid_t stuck = child_worker("slowpoke", 500, 1, &hold);
	pid_t gone = child_worker("worker", 60000, 3, NULL);
	fbx_snapshot *before;
	ck_assert_int_eq(fbx_snapshot_new(box, &before), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, before), 0);
	tclock_advance_ms(1000);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(fbx_request_begin(box), 0);
		ck_assert_int_eq(fbx_request_end(box), 0);
	}
	ck_assert_int_eq(fbx_request_begin(box), 0); /* one in flight */
	ck_assert_int_eq(fbx_snapshot_take(box, snap), 0);
	struct tui_sample prev = {before, fbx_snapshot_time(before), 0, 1, 65536, 4096};
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	struct tui_view v = view();
	v.pane = TUI_PANE_WORKERS;
	v.selected = 2; /* the master, after the dead */
	tui_render(&cur, &prev, &v, 24, 80, &scr);
	fits(80);
	int t = row_of("WORKERS 3");
	ck_assert_msg(t >= 0, "no workers title");
	ck_assert_ptr_nonnull(strstr(scr.line[t].text, "1 alive  2 dead  1 in flight"));
	/* the workers take the events' place, which get the rows they leave */
	ck_assert_int_ge(row_of("BREAKERS"), 0);
	ck_assert_int_ge(row_of("PID     ROLE       STATE"), 0);
	ck_assert_int_gt(row_of("EVENTS"), row_of("PID     ROLE       STATE") + 3);
	char pid[16];
	snprintf(pid, sizeof(pid), "  %-7d", (int)getpid());
	int m = row_of(pid);
	ck_assert_int_ge(m, 0);
	const char *line = scr.line[m].text;
	ck_assert_msg(strstr(line, "master     o alive") != NULL, "[%s]", line);
	ck_assert_msg(strstr(line, "   20    20.0") != NULL, "[%s]", line); /* served, req/s */
	int col;
	snprintf(pid, sizeof(pid), "  %-7d", (int)gone);
	int g = row_of(pid);
	ck_assert_int_ge(g, 0);
	ck_assert_msg(strstr(scr.line[g].text, "X gone") != NULL, "[%s]", scr.line[g].text);
	snprintf(pid, sizeof(pid), "  %-7d", (int)stuck);
	int k = row_of(pid);
	ck_assert_int_ge(k, 0);
	ck_assert_msg(strstr(scr.line[k].text, "X stale") != NULL, "[%s]", scr.line[k].text);
	col = (int)(strstr(scr.line[k].text, "X stale") - scr.line[k].text);
	ck_assert_int_eq(attr_at(k, col), TUI_BAD);
	ck_assert_int_lt(k, m); /* dead first */
	ck_assert_ptr_null(tui_selected_name(&cur, &v)); /* a pid is nothing to act on */
	/* the header: everyone counted, the dead in red */
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, " 1 up 2 dead"));
	close(hold);
	twait(stuck);
	fbx_snapshot_free(before);
}
END_TEST

/* The header in each state of the aggregate, DRAINING loud and first,
 * all inside 80 columns; a box that uses none of it keeps its header. */
START_TEST(header_health_states)
{
	breaker("pay");
	struct tui_view v = view();
	v.box = "a-box-with-a-rather-long-name-32";
	render(&v, 24, 80);
	ck_assert_ptr_null(strstr(scr.line[0].text, " ok "));
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "  0 open"));
	static const struct {
		fbx_check_status st;
		int critical;
		const char *word;
		int attr;
	} states[] = {{FBX_CHECK_PASS, 1, "  ok ", TUI_GOOD},
		      {FBX_CHECK_WARN, 0, "  DEGRADED ", TUI_WARN},
		      {FBX_CHECK_FAIL, 1, "  UNHEALTHY ", TUI_BAD}};
	for (size_t i = 0; i < ARRAY_LEN(states); i++) {
		ck_assert_int_eq(fbx_check_set(box, "db", states[i].st, states[i].critical,
					       60000ull * 1000000u, "x"), 0);
		render(&v, 24, 80);
		fits(80);
		const char *w = strstr(scr.line[0].text, states[i].word);
		ck_assert_msg(w != NULL, "no [%s] in [%s]", states[i].word, scr.line[0].text);
		ck_assert_int_eq(attr_at(0, (int)(w - scr.line[0].text) + 2), states[i].attr);
	}
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	tclock_advance_ms(12000);
	render(&v, 24, 80);
	fits(80);
	const char *d = strstr(scr.line[0].text, " DRAINING 12s");
	ck_assert_msg(d != NULL, "[%s]", scr.line[0].text);
	ck_assert_int_lt((int)(d - scr.line[0].text), 48); /* right after the box's name */
	ck_assert_int_eq(attr_at(0, (int)(d - scr.line[0].text) + 1), TUI_BAD);
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "UNHEALTHY"));
	ck_assert_int_eq(fbx_drain(box, 0), 0);
	render(&v, 24, 80);
	ck_assert_ptr_null(strstr(scr.line[0].text, "DRAINING"));
}
END_TEST

/* The health pane: what each probe says, the checks worst first, an
 * expired one, one that follows a breaker; x acts on the selected name. */
START_TEST(health_pane)
{
	fbx_breaker *b = breaker("payments");
	ck_assert_int_eq(fbx_check_bind_breaker(box, "payments-up", "payments", 0), 0);
	ck_assert_int_eq(fbx_check_set(box, "cron", FBX_CHECK_PASS, 0, 5000ull * 1000000u, "nightly ok"), 0);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, 60000ull * 1000000u,
				       "a message long enough to run past the eightieth column of "
				       "the terminal"), 0);
	ck_assert_int_eq(fbx_started(box), 0);
	tclock_advance_ms(6000); /* cron expires */
	fail_once(b);            /* payments opens */
	struct tui_view v = view();
	v.pane = TUI_PANE_HEALTH;
	render(&v, 24, 80);
	fits(80);
	int t = row_of("HEALTH DEGRADED  3 checks");
	static char all[TUI_ROWS_MAX * (TUI_COLS_MAX + 2)];
	for (int r = 0, n = 0; r < scr.rows; r++)
		n += snprintf(all + n, sizeof(all) - (size_t)n, "%s\n", scr.line[r].text);
	ck_assert_msg(t >= 0, "no health title:\n%s", all);
	ck_assert_ptr_nonnull(strstr(scr.line[t + 1].text, "X NOT LIVE  o ready  o started"));
	int c = row_of(" cron ");
	ck_assert_int_ge(c, 0);
	ck_assert_msg(strstr(scr.line[c].text, "  X FAIL cron") != NULL, "[%s]", scr.line[c].text);
	ck_assert_ptr_nonnull(strstr(scr.line[c].text, "EXPIRED (set pass) nightly ok"));
	int p = row_of(" payments-up ");
	ck_assert_ptr_nonnull(strstr(scr.line[p].text, "follows breaker payments"));
	int d = row_of(" db ");
	ck_assert_ptr_nonnull(strstr(scr.line[d].text, "o pass db"));
	ck_assert_ptr_nonnull(strstr(scr.line[d].text, " yes "));
	ck_assert_int_lt(c, d); /* failing before passing */
	ck_assert_int_lt(p, d);
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	v.sort = TUI_SORT_NAME;
	v.selected = 0;
	ck_assert_str_eq(tui_selected_name(&cur, &v), "cron");
	ck_assert_int_eq(tui_find_row(&cur, &v, "payments-up"), 2);
	/* the hint offers the health actions */
	ck_assert_ptr_nonnull(strstr(scr.line[1].text, "x remove check"));
	ck_assert_ptr_nonnull(strstr(scr.line[1].text, "D drain"));
	ck_assert_int_eq(fbx_check_remove(box, "cron"), 0);
	render(&v, 24, 80);
	ck_assert_int_lt(row_of(" cron "), 0);
	ck_assert_int_ge(row_of("HEALTH DEGRADED  2 checks"), 0);
}
END_TEST

/* The resilience pane: each budget's balance and retries allowed and
 * refused, each bulkhead's calls in flight out of its cap, its peak and
 * refusals, each cache's entries, share answered and stale answers; the
 * worrying figures coloured, all inside 80 columns, the selection kept in
 * sight when the rows outnumber the pane. */
START_TEST(resilience_pane)
{
	fbx_budget_config bc;
	fbx_budget_config_init(&bc);
	bc.min_per_sec = 0; /* 20% of 10 deposits: 2 retries */
	fbx_budget *tight, *loose;
	ck_assert_int_eq(fbx_budget_register(box, "payments", &bc, &tight), 0);
	bc.min_per_sec = 10;
	ck_assert_int_eq(fbx_budget_register(box, "catalog", &bc, &loose), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(fbx_budget_deposit(tight), 0);
	ck_assert_int_eq(fbx_budget_withdraw(tight), 0);
	ck_assert_int_eq(fbx_budget_withdraw(tight), 0);
	ck_assert_int_eq(fbx_budget_withdraw(tight), FBX_ELIMITED);
	fbx_bulkhead *h;
	fbx_bulkhead_permit p[3];
	ck_assert_int_eq(fbx_bulkhead_register(box, "payments", 2, &h), 0); /* a name shared */
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p[0]), 0);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p[1]), 0);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p[2]), FBX_EFULL);
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_register(box, "quotes", 1000 * 1000000ull, 60000 * 1000000ull, &c), 0);
	char buf[8];
	fbx_cache_hit hit;
	ck_assert_int_eq(fbx_cache_put(c, "a", 1, "1", 1), 0);
	ck_assert_int_eq(fbx_cache_put(c, "b", 1, "2", 1), 0);
	ck_assert_int_eq(fbx_cache_get(c, "a", 1, buf, sizeof(buf), &hit), 0);
	tclock_advance_ms(2000); /* a is stale now */
	ck_assert_int_eq(fbx_cache_get(c, "a", 1, buf, sizeof(buf), &hit), 0);
	ck_assert(hit.stale);
	ck_assert_int_eq(fbx_cache_get(c, "z", 1, buf, sizeof(buf), &hit), FBX_ENOENT);

	struct tui_view v = view();
	v.pane = TUI_PANE_RESILIENCE;
	v.selected = 3; /* the cache: the others show their own colours */
	render(&v, 24, 80);
	fits(80);
	int t = row_of("RESILIENCE  2 budgets  1 bulkhead  1 cache");
	ck_assert_msg(t >= 0, "no resilience title");
	ck_assert_int_ge(row_of("BREAKERS"), 0);
	int bh = row_of("  BUDGET  "), hh = row_of("  BULKHEAD  "), ch = row_of("  CACHE  ");
	ck_assert(t < bh && bh < hh && hh < ch);
	/* it takes the events' place; they get the rows it leaves */
	ck_assert_int_gt(row_of("EVENTS"), ch + 1);
	/* worst first: the budget with no retry left */
	int pay = bh + 1, cat = bh + 2;
	ck_assert_msg(strstr(scr.line[pay].text, "  payments                  0       2       10        2        1 20%+0/s 10s") != NULL,
		      "[%s]", scr.line[pay].text);
	ck_assert_ptr_nonnull(strstr(scr.line[cat].text, "  catalog "));
	int col = (int)(strstr(scr.line[pay].text, "       0") - scr.line[pay].text) + 7;
	ck_assert_int_eq(attr_at(pay, col), TUI_BAD);
	const char *hl = scr.line[hh + 1].text;
	ck_assert_msg(strstr(hl, "  payments                2/2          2         1         0 [################]") != NULL,
		      "[%s]", hl);
	ck_assert_int_eq(attr_at(hh + 1, (int)(strstr(hl, "2/2") - hl)), TUI_BAD);
	const char *cl = scr.line[ch + 1].text;
	ck_assert_msg(strstr(cl, "  quotes                   2/256     66.7%        1        1        1        2") != NULL,
		      "[%s]", cl);
	/* the rows are selectable, but hold no name to act on: a budget and
	 * a bulkhead may share one */
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	ck_assert_int_eq(tui_pane_rows(&cur, &v, TUI_PANE_RESILIENCE), 4);
	ck_assert_ptr_null(tui_selected_name(&cur, &v));
	ck_assert_int_eq(attr_at(ch + 1, 0), TUI_SELECTED);
	v.selected = 0;
	render(&v, 24, 80);
	ck_assert_int_eq(attr_at(pay, 0), TUI_SELECTED);
	ck_assert_ptr_nonnull(strstr(scr.line[1].text, "D drain"));
	/* a filter keeps the kinds apart, sorting by name within each */
	snprintf(v.filter, sizeof(v.filter), "pay");
	v.sort = TUI_SORT_NAME;
	v.selected = 0;
	render(&v, 24, 80);
	ck_assert_int_ge(row_of("RESILIENCE  1 budget  1 bulkhead  0 caches  by name  filter: pay"), 0);
	ck_assert_int_lt(row_of("  CACHE  "), 0);
	/* many budgets in a short pane: the selected one is still shown */
	v.filter[0] = '\0';
	char name[32];
	for (int i = 0; i < 12; i++) {
		fbx_budget *g;
		snprintf(name, sizeof(name), "budget-%02d", i);
		ck_assert_int_eq(fbx_budget_register(box, name, &bc, &g), 0);
	}
	v.selected = 13; /* the last budget, by name: budget-11 ... payments */
	render(&v, 24, 80);
	fits(80);
	int sel = -1;
	for (int r = 2; r < scr.rows; r++)
		if (attr_at(r, 0) == TUI_SELECTED)
			sel = r;
	ck_assert_msg(sel >= 0 && strstr(scr.line[sel].text, "  payments ") != NULL,
		      "selected row not shown");
	/* the title says which of the 16 records are in sight, ending at it */
	t = row_of("RESILIENCE  14 budgets  1 bulkhead  1 cache  ");
	ck_assert_msg(t >= 0 && strstr(scr.line[t].text, "-14 of 16  by name") != NULL, "%s", dump());
	fbx_bulkhead_release(h, &p[0]);
	fbx_bulkhead_release(h, &p[1]);
}
END_TEST

/* A printout (fusebox-top -1) has no Tab: every pane, one after another. */
START_TEST(printout_has_every_pane)
{
	breaker("pay");
	ck_assert_int_eq(fbx_worker_register(box, "master", 10000ull * 1000000u), 0);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, 60000ull * 1000000u, NULL), 0);
	struct tui_view v = view();
	v.all_panes = true;
	render(&v, TUI_ROWS_MAX, 132);
	int rows[6] = {row_of("BREAKERS 1"), row_of("LIMITERS 0"), row_of("WORKERS 1"),
		       row_of("HEALTH ok  1 checks"), row_of("RESILIENCE  0 budgets"),
		       row_of("EVENTS")};
	for (int i = 0; i < 6; i++) {
		ck_assert_msg(rows[i] >= 0, "pane %d missing", i);
		if (i > 0)
			ck_assert_int_lt(rows[i - 1], rows[i]);
	}
	ck_assert_int_ge(row_of("master     o alive"), 0);
	/* the man page's list of what a printout holds is printed from
	 * tui_pane_name (fusebox-top --man): it names these titles, in
	 * this order, and leaves none out */
	ck_assert_int_eq(ARRAY_LEN(rows), TUI_PANE_COUNT);
	for (int i = 0; i < TUI_PANE_COUNT; i++) {
		char title[32];
		size_t k = 0;
		for (const char *c = tui_pane_name((enum tui_pane)i); *c && k + 1 < sizeof(title); c++)
			title[k++] = (char)(*c - 'a' + 'A');
		title[k] = '\0';
		ck_assert_msg(rows[i] >= 0 && strncmp(scr.line[rows[i]].text, title, k) == 0,
			      "pane %d is [%s] in the man page's list", i, title);
	}
	static char man[1024];
	FILE *f = fmemopen(man, sizeof(man), "w");
	ck_assert_ptr_nonnull(f);
	tui_man_printout(f);
	fclose(f);
	ck_assert_msg(strstr(man, "(breakers, limiters, workers, health, resilience and events, "
				  "one after the other)") != NULL, "%s", man);
}
END_TEST


/* The whole screen as text, for failure messages. */
static const char *dump(void)
{
	static char all[TUI_ROWS_MAX * (TUI_COLS_MAX + 2)];
	size_t n = 0;
	all[0] = '\0';
	for (int r = 0; r < scr.rows && r < TUI_ROWS_MAX && n < sizeof(all); r++)
		n += (size_t)snprintf(all + n, sizeof(all) - n, "%s\n", scr.line[r].text);
	return all;
}

/* At 80 columns the hints keep "? help  q quit" at their end, in every
 * pane, read-only or not, and under a message too long for the line; the
 * header keeps the clock however long the box's name. */
START_TEST(hint_keeps_help_quit_and_clock)
{
	breaker("pay");
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_FAIL, 1, 60000ull * 1000000u, "x"), 0);
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	struct tui_view v = view();
	v.box = "a-box-with-a-rather-long-name-32";
	snprintf(v.clock, sizeof(v.clock), "12:34:56");
	for (int ro = 0; ro < 2; ro++)
		for (int pane = 0; pane < TUI_PANE_COUNT; pane++) {
			v.read_only = ro;
			v.pane = (enum tui_pane)pane;
			render(&v, 24, 80);
			fits(80);
			const char *hint = scr.line[1].text;
			size_t n = strlen(hint);
			ck_assert_msg(n >= 14 && strcmp(hint + n - 14, "? help  q quit") == 0,
				      "pane %d ro %d: [%s]", pane, ro, hint);
			ck_assert_msg(strstr(scr.line[0].text, " 12:34:56") != NULL, "[%s]",
				      scr.line[0].text);
			ck_assert_ptr_nonnull(strstr(scr.line[0].text, "DRAINING"));
			/* the pane's own actions are among the hints that fit */
			if (!ro && pane == TUI_PANE_BREAKERS)
				ck_assert_ptr_nonnull(strstr(hint, "t trip  c hold  a release  r reset"));
			if (!ro && pane == TUI_PANE_LIMITERS)
				ck_assert_ptr_nonnull(strstr(hint, "d dry-run"));
		}
	v.message = "Trip a-breaker-with-a-name-long-enough-to-fill-the-line-of-the-terminal: "
		    "operation not permitted";
	render(&v, 24, 80);
	fits(80);
	ck_assert_msg(strstr(scr.line[1].text, "Trip a-breaker") == scr.line[1].text, "[%s]",
		      scr.line[1].text);
	size_t n = strlen(scr.line[1].text);
	ck_assert_str_eq(scr.line[1].text + n - 14, "? help  q quit");
	/* wide enough: everything, the clock last */
	v.message = NULL;
	render(&v, 24, 200);
	ck_assert_msg(strstr(scr.line[0].text, "m v1  1.0s 12:34:56") != NULL &&
			      strstr(scr.line[0].text, "  up ") != NULL,
		      "[%s]", scr.line[0].text);
}
END_TEST

/* Each pane's title names its order; the filter ignores letter case. */
START_TEST(sort_in_title_and_filter_ignores_case)
{
	breaker("Payments");
	breaker("search");
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "10/second";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "PAYMENT-API", &lc, &l), 0);
	struct tui_view v = view();
	render(&v, 40, 120);
	ck_assert_int_ge(row_of("BREAKERS 2  by worst first"), 0);
	ck_assert_int_ge(row_of("LIMITERS 1  by worst first"), 0);
	v.sort = TUI_SORT_NAME;
	render(&v, 40, 120);
	ck_assert_int_ge(row_of("BREAKERS 2  by name"), 0);
	v.sort = TUI_SORT_CALLS;
	render(&v, 40, 120);
	ck_assert_int_ge(row_of("BREAKERS 2  by busiest"), 0);
	v.pane = TUI_PANE_HEALTH;
	render(&v, 40, 120);
	ck_assert_int_ge(row_of("checks  by busiest"), 0);
	v.pane = TUI_PANE_BREAKERS;
	snprintf(v.filter, sizeof(v.filter), "pAY");
	render(&v, 40, 120);
	ck_assert_msg(row_of("BREAKERS 1  by busiest  filter: pAY") >= 0, "%s", dump());
	ck_assert_int_ge(row_of("LIMITERS 1  by busiest  filter: pAY"), 0);
	ck_assert_int_ge(breaker_row("Payments"), 0);
	ck_assert_int_lt(breaker_row("search"), 0);
}
END_TEST

/* FAIL%, SLOW% and CONSEC by their distance to the breaker's own
 * thresholds: a small share of failures is plain, slow calls near the
 * slow-rate threshold warn, over it are bad; a policy that is off is
 * never coloured. */
START_TEST(rates_coloured_by_their_threshold)
{
	ck_assert_int_eq(tui_rate_attr(0.7, 50), TUI_NORMAL);
	ck_assert_int_eq(tui_rate_attr(25, 50), TUI_WARN);
	ck_assert_int_eq(tui_rate_attr(50, 50), TUI_BAD);
	ck_assert_int_eq(tui_rate_attr(100, 0), TUI_NORMAL);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.slow_rate_pct = 25;
	c.slow_call_ns = 100000000u;
	c.window_calls = 100;
	c.min_calls = 100;
	fbx_breaker *b = tbreaker_reg(box, "slowish", &c);
	/* 1 failure and 20 slow calls in 100: FAIL% 1.0 plain, SLOW% 20.0 warn */
	for (int i = 0; i < 99; i++)
		tbreaker_call(b, FBX_SUCCESS, i < 20 ? 200000000u : 1000u);
	tbreaker_call(b, FBX_FAILURE, 1000u);
	fbx_breaker_config f;
	fbx_breaker_config_init(&f);
	f.fail_max = 100; /* no failure-rate policy: a share of failures has no threshold */
	fbx_breaker *plain = tbreaker_reg(box, "nopolicy", &f);
	fbx_breaker_config k;
	fbx_breaker_config_init(&k);
	k.fail_max = 4;
	fbx_breaker *consec = tbreaker_reg(box, "consec", &k);
	tbreaker_call(consec, FBX_FAILURE, 0);
	tbreaker_call(consec, FBX_FAILURE, 0);
	struct tui_view v = view();
	v.pane = TUI_PANE_EVENTS;
	render(&v, 40, 120);
	int r = breaker_row("slowish");
	ck_assert_int_ge(r, 0);
	const char *line = scr.line[r].text;
	const char *fail = strstr(line, " 1.0%"), *slow = strstr(line, " 20.0%");
	ck_assert_msg(fail != NULL && slow != NULL, "[%s]", line);
	ck_assert_int_eq(attr_at(r, (int)(fail - line) + 1), TUI_NORMAL);
	ck_assert_int_eq(attr_at(r, (int)(slow - line) + 1), TUI_WARN);
	/* the same share on a breaker that trips at 15% (and is not judged
	 * before 1000 calls, so that it stays closed to be seen): bad */
	c.slow_rate_pct = 15;
	c.window_calls = 0;
	c.window_ns = 60ull * 1000000000u;
	c.min_calls = 1000;
	fbx_breaker *held = tbreaker_reg(box, "held", &c);
	for (int i = 0; i < 100; i++)
		tbreaker_call(held, FBX_SUCCESS, i < 20 ? 200000000u : 1000u);
	render(&v, 40, 120);
	r = breaker_row("held");
	line = scr.line[r].text;
	slow = strstr(line, " 20.0%");
	ck_assert_msg(slow != NULL, "[%s]", line);
	ck_assert_int_eq(attr_at(r, (int)(slow - line) + 1), TUI_BAD);
	/* half of fail_max in a row: a warning */
	r = breaker_row("consec");
	line = scr.line[r].text;
	const char *two = strstr(line, "      2 ");
	ck_assert_msg(two != NULL, "[%s]", line);
	ck_assert_int_eq(attr_at(r, (int)(two - line) + 6), TUI_WARN);
	/* with no rate policy, failures between two samples are shown plain */
	fbx_snapshot *before;
	ck_assert_int_eq(fbx_snapshot_new(box, &before), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, before), 0);
	tclock_advance_ms(1000);
	tbreaker_call(plain, FBX_FAILURE, 0);
	tbreaker_call(plain, FBX_SUCCESS, 0);
	ck_assert_int_eq(fbx_snapshot_take(box, snap), 0);
	struct tui_sample prev = {before, fbx_snapshot_time(before), 0, 1, 65536, 4096};
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	tui_render(&cur, &prev, &v, 40, 120, &scr);
	r = breaker_row("nopolicy");
	line = scr.line[r].text;
	const char *half = strstr(line, " 50.0%");
	ck_assert_msg(half != NULL, "[%s]", line);
	ck_assert_int_eq(attr_at(r, (int)(half - line) + 1), TUI_NORMAL);
	fbx_snapshot_free(before);
}
END_TEST

/* The selected row is reverse video, and its spans keep their meaning:
 * an open breaker's state is still bad when it is the one selected. */
START_TEST(selection_keeps_state_colour)
{
	fail_once(breaker("sick"));
	breaker("well");
	struct tui_view v = view();
	v.selected = 0; /* worst first: sick */
	render(&v, 30, 100);
	int r = breaker_row("sick");
	const char *line = scr.line[r].text;
	int col = (int)(strstr(line, "X open") - line);
	ck_assert_int_eq(attr_at(r, 0), TUI_SELECTED);
	ck_assert_int_eq(attr_at(r, col), TUI_ON_SELECTED(TUI_BAD));
	ck_assert_int_eq(TUI_ATTR(attr_at(r, col)), TUI_BAD);
	int w = breaker_row("well");
	col = (int)(strstr(scr.line[w].text, "o closed") - scr.line[w].text);
	ck_assert_int_eq(attr_at(w, col), TUI_GOOD); /* not selected: plain */
}
END_TEST

/* Sparklines against the most in the window: a steady rate with noise
 * draws a flat line; a trickle stays low; a burst stands out. */
START_TEST(sparkline_steady_is_flat)
{
	struct tui_history h;
	ck_assert_int_eq(tui_history_init(&h, 3), 0);
	static const float steady[TUI_SPARK] = {100, 96, 104, 99, 101, 97, 103, 100, 98, 102, 100, 95};
	for (int k = 0; k < TUI_SPARK; k++) {
		h.calls[0 * TUI_SPARK + k] = steady[k];
		h.calls[1 * TUI_SPARK + k] = k % 2 ? 0.5f : 0.2f;
		h.calls[2 * TUI_SPARK + k] = k == 6 ? 400 : 100;
	}
	h.len = TUI_SPARK;
	h.head = 0;
	char out[3][TUI_SPARK + 1];
	for (int i = 0; i < 3; i++) {
		scr.rows = 1, scr.cols = 80, scr.line = scr.own, scr.cap = TUI_ROWS_MAX;
		scr.line[0].text[0] = '\0';
		scr.line[0].nspans = 0;
		struct pen p = tui_pen_at(&scr, 0);
		tui_sparkline(&p, &h, (size_t)i);
		snprintf(out[i], sizeof(out[i]), "%.12s", scr.line[0].text);
	}
	ck_assert_str_eq(out[0], "############");
	ck_assert_str_eq(out[1], "____________");
	ck_assert_str_eq(out[2], "......#.....");
	tui_history_free(&h);
}
END_TEST

/* ev/s over the last seconds: the header says the same rate however the
 * events fall between two refreshes. */
START_TEST(event_rate_over_seconds)
{
	struct tui_history h;
	ck_assert_int_eq(tui_history_init(&h, 1), 0);
	ck_assert(tui_history_event_rate(&h, 5) < 0); /* nothing to say yet */
	/* 10 events a second, all landing in every other sample */
	static const uint64_t total[] = {0, 20, 20, 40, 40, 60, 60, 80};
	for (int k = 0; k < 8; k++) {
		h.ev_time[k] = (uint64_t)(k + 1) * 1000000000u;
		h.ev_total[k] = total[k];
	}
	h.ev_len = 8;
	h.ev_head = 8;
	/* one refresh says 0 or 20; five seconds say about 10 */
	double r = tui_history_event_rate(&h, 5);
	ck_assert_msg(r >= 8 && r <= 12, "%f", r);
	h.ev_len = 7;
	h.ev_head = 7;
	r = tui_history_event_rate(&h, 5);
	ck_assert_msg(r >= 8 && r <= 12, "%f", r);
	tui_history_free(&h);
}
END_TEST

/* One vocabulary: the states are the library's words (no capitals), and
 * every event line, in the events pane and in the detail view, is
 * fbx_event_format's, coloured as a whole. */
START_TEST(words_are_the_librarys)
{
	fbx_breaker *pay = breaker("pay");
	fail_once(pay);
	ck_assert_int_eq(fbx_breaker_trip(breaker("manual"), "db failover"), 0);
	struct tui_view v = view();
	v.pane = TUI_PANE_EVENTS;
	render(&v, 40, 200);
	ck_assert_msg(row_of("OPEN") < 0, "%s", dump());
	ck_assert_int_ge(row_of("X open"), 0);
	ck_assert_int_ge(row_of("! forced-open"), 0);
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(snap, &n, &dropped);
	ck_assert_uint_ge(n, 3);
	for (size_t i = 0; i < n; i++) {
		char want[256];
		fbx_event_format(&e[i], fbx_snapshot_time(snap), want, sizeof(want));
		int r = row_of(want);
		ck_assert_msg(r >= 0, "no [%s] in\n%s", want, dump());
		int col = (int)(strstr(scr.line[r].text, want) - scr.line[r].text);
		int a = TUI_ATTR(attr_at(r, col)); /* the newest is the selected row */
		if (e[i].kind == FBX_EV_MANUAL)
			ck_assert_int_eq(a, TUI_MANUAL);
		else if (e[i].to == FBX_OPEN)
			ck_assert_int_eq(a, TUI_BAD);
	}
	/* the detail view's recent events are the same lines */
	v.pane = TUI_PANE_BREAKERS;
	v.sort = TUI_SORT_NAME;
	v.selected = 1; /* manual, pay */
	v.detail = true;
	render(&v, 40, 200);
	ck_assert_int_ge(row_of("BREAKER pay"), 0);
	char want[256];
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, "pay") == 0 && e[i].to == FBX_OPEN)
			fbx_event_format(&e[i], fbx_snapshot_time(snap), want, sizeof(want));
	ck_assert_msg(row_of(want) > row_of("RECENT EVENTS"), "no [%s] in\n%s", want, dump());
	ck_assert_int_ge(row_of("X open for"), 0);
}
END_TEST

/* The detail view in sentences: one success closes, one trial in flight,
 * a policy that is off says off rather than "0 of 0". */
START_TEST(detail_plurals_and_off)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.window_calls = 10;
	c.min_calls = 1;
	c.half_open_max = 1;
	c.success_threshold = 1;
	fbx_breaker *b = tbreaker_reg(box, "rated", &c);
	tbreaker_call(b, FBX_SUCCESS, 0);
	struct tui_view v = view();
	v.detail = true;
	render(&v, 40, 120);
	int r = row_of("consecutive failures");
	ck_assert_msg(r >= 0 && strstr(scr.line[r].text, "off") != NULL &&
			      strstr(scr.line[r].text, " of 0") == NULL,
		      "%s", dump());
	r = row_of("  half-open");
	ck_assert_msg(strstr(scr.line[r].text, "0/1 trial in flight, 1 success to close, lease 30.000 s") != NULL,
		      "[%s]", scr.line[r].text);
	/* fuseboxctl breaker show's words and figures for the same settings */
	r = row_of("  open period");
	ck_assert_msg(strstr(scr.line[r].text, "  60.000 s") != NULL, "[%s]", scr.line[r].text);
	r = row_of("  window");
	ck_assert_msg(strstr(scr.line[r].text, "1 call, 0 failed") != NULL, "[%s]", scr.line[r].text);
	ck_assert_msg(strstr(scr.line[r].text, "50% failed / off slow, min 1 call") != NULL, "[%s]",
		      scr.line[r].text);
}
END_TEST

/* Long lists: PgUp/PgDn move by the rows the pane shows, and every pane
 * with a selection scrolls to keep it in sight, the events pane too. */
START_TEST(pages_and_scrolling)
{
	char name[32];
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "b%02d", i);
		breaker(name);
	}
	struct tui_view v = view();
	v.sort = TUI_SORT_NAME;
	int page = tui_page_rows(&v, 24);
	ck_assert_int_gt(page, 1);
	v.selected = 15;
	render(&v, 24, 80);
	ck_assert_int_eq(attr_at(breaker_row("b15"), 0), TUI_SELECTED);
	/* the rows between the title and the limiters are the page */
	int shown = 0;
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "b%02d", i);
		shown += breaker_row(name) >= 0;
	}
	ck_assert_int_eq(shown, page);
	v.pane = TUI_PANE_EVENTS;
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	int n = tui_pane_rows(&cur, &v, TUI_PANE_EVENTS);
	ck_assert_int_eq(n, 16);
	v.selected = n - 1; /* the oldest event: b00 created */
	render(&v, 24, 80);
	int sel = -1;
	for (int r = row_of("EVENTS"); r >= 0 && r < scr.rows; r++)
		if (attr_at(r, 0) == TUI_SELECTED)
			sel = r;
	ck_assert_msg(sel >= 0 && strstr(scr.line[sel].text, "breaker b00 ") != NULL, "%s", dump());
	/* the titles say which rows are in sight of how many: the events
	 * pane ends at the oldest, the breakers pane (away from its
	 * selection) starts at the first */
	char want[64];
	int ev = row_of("EVENTS (newest first)"), room = scr.rows - ev - 1;
	snprintf(want, sizeof(want), "EVENTS (newest first)  %d-16 of 16", 16 - room + 1);
	ck_assert_msg(strstr(scr.line[ev].text, want) != NULL, "no [%s]:\n%s", want, dump());
	snprintf(want, sizeof(want), "BREAKERS 1-%d of 16  by name", page);
	ck_assert_msg(row_of(want) >= 0, "no [%s]:\n%s", want, dump());
	/* selected at the end, the breakers' window shows the last page */
	v.pane = TUI_PANE_BREAKERS;
	v.selected = 15;
	render(&v, 24, 80);
	snprintf(want, sizeof(want), "BREAKERS %d-16 of 16  by name", 16 - page + 1);
	ck_assert_msg(row_of(want) >= 0, "no [%s]:\n%s", want, dump());
	/* all in sight: the count alone, as before */
	render(&v, 60, 80);
	ck_assert_msg(row_of("BREAKERS 16  by name") >= 0, "%s", dump());
	ck_assert_msg(row_of(" of 16") < 0, "%s", dump());
}
END_TEST

/* Esc acts at once: the console sets a short escape delay, not ncurses'
 * second, unless the operator set ESCDELAY (a number of ms) themselves. */
START_TEST(escape_delay_short_unless_set)
{
	ck_assert_int_eq(tui_escape_delay(NULL), 25);
	ck_assert_int_eq(tui_escape_delay(""), 25);
	ck_assert_int_eq(tui_escape_delay("100"), 100);
	ck_assert_int_eq(tui_escape_delay("0"), 0);
	/* what ncurses would not take as a number is no setting of theirs */
	ck_assert_int_eq(tui_escape_delay("fast"), 25);
	ck_assert_int_eq(tui_escape_delay("-5"), 25);
	ck_assert_int_eq(tui_escape_delay("10ms"), 25);
	ck_assert_int_eq(tui_escape_delay("99999999999999999999"), 25);
}
END_TEST

/* A drain says since when in the header, and by whom and why in the
 * health pane, from the event that began it; a reason from the box
 * reaches the screen with its control bytes shown as '?'. */
START_TEST(drain_who_and_why)
{
	breaker("pay");
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, 60000ull * 1000000u, "x"), 0);
	ck_assert_int_eq(fbx_drain_reason(box, 1, "INC-9 deploy\x1b[2J"), 0);
	tclock_advance_ms(12000);
	struct tui_view v = view();
	v.pane = TUI_PANE_HEALTH;
	render(&v, 24, 80);
	fits(80);
	ck_assert_msg(strstr(scr.line[0].text, " DRAINING 12s") != NULL, "[%s]", scr.line[0].text);
	char want[128];
	snprintf(want, sizeof(want), "  drain started 12s ago by uid %u pid %d: INC-9 deploy?[2J",
		 (unsigned)getuid(), (int)getpid());
	int d = row_of(want);
	ck_assert_msg(d > row_of("HEALTH "), "no [%s]:\n%s", want, dump());
	ck_assert_int_eq(attr_at(d, 4), TUI_MANUAL);
	ck_assert_msg(strstr(scr.line[d - 1].text, "! DRAINING 12s") != NULL, "%s", dump());
	ck_assert_int_gt(row_of("  STATUS CHECK"), d); /* the headings after it */
	for (int r = 0; r < scr.rows; r++)
		ck_assert_ptr_null(strchr(scr.line[r].text, 0x1b));
	/* ended and begun again with no reason: this drain's event, not the
	 * first one's */
	ck_assert_int_eq(fbx_drain_reason(box, 0, "done"), 0);
	render(&v, 24, 80);
	ck_assert_int_lt(row_of("drain started"), 0);
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	render(&v, 24, 80);
	d = row_of("drain started");
	ck_assert_msg(d >= 0 && strstr(scr.line[d].text, "(no reason given)") != NULL, "%s", dump());
	ck_assert_ptr_null(strstr(scr.line[d].text, "INC-9"));
	/* its event pushed out of the ring (64 events): nobody is named */
	fbx_breaker *b = breaker("churn");
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(fbx_breaker_trip(b, NULL), 0);
		ck_assert_int_eq(fbx_breaker_reset(b, NULL), 0);
	}
	render(&v, 24, 80);
	d = row_of("drain started");
	ck_assert_msg(d >= 0 && strstr(scr.line[d].text, "no longer in the event ring") != NULL, "%s",
		      dump());
	ck_assert_ptr_null(strstr(scr.line[d].text, " by uid "));
}
END_TEST

/* A filter that hides every row says so, with what was typed; a pane
 * with no records at all still says there are none. */
START_TEST(filter_hiding_all_says_so)
{
	breaker("payments");
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "10/second";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "api", &lc, &l), 0);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, 60000ull * 1000000u, "x"), 0);
	struct tui_view v = view();
	snprintf(v.filter, sizeof(v.filter), "PAYM");
	render(&v, 24, 80);
	ck_assert_int_ge(breaker_row("payments"), 0); /* letter case aside */
	int lim = row_of("LIMITERS 0");
	ck_assert_msg(lim >= 0 && strstr(scr.line[lim + 2].text, "  (none match 'PAYM')") != NULL,
		      "%s", dump());
	ck_assert_int_lt(row_of("(no limiters)"), 0);
	v.pane = TUI_PANE_HEALTH;
	render(&v, 24, 80);
	int h = row_of("HEALTH ");
	ck_assert_msg(h >= 0 && strstr(scr.line[h + 3].text, "  (none match 'PAYM')") != NULL, "%s",
		      dump());
	ck_assert_int_lt(row_of("(no checks"), 0);
	v.pane = TUI_PANE_RESILIENCE; /* none at all: not a filter's doing */
	render(&v, 24, 80);
	ck_assert_msg(row_of("(no retry budgets, bulkheads or caches in this box)") >= 0, "%s", dump());
	v.pane = TUI_PANE_WORKERS;
	render(&v, 24, 80);
	ck_assert_msg(row_of("(no worker has registered") >= 0, "%s", dump());
}
END_TEST

/* By name is the filter's order of names: letter case aside, then the
 * exact bytes, so two names differing in case alone keep one order. */
START_TEST(name_sort_ignores_case)
{
	static const char *const made[] = {"beta", "alpha", "Gamma", "Alpha", "delta"};
	static const char *const want[] = {"Alpha", "alpha", "beta", "delta", "Gamma"};
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "10/second";
	for (size_t i = 0; i < ARRAY_LEN(made); i++) {
		breaker(made[i]);
		fbx_limiter *l;
		ck_assert_int_eq(fbx_limiter_register(box, made[i], &lc, &l), 0);
	}
	struct tui_view v = view();
	v.sort = TUI_SORT_NAME;
	render(&v, 40, 120);
	struct tui_sample cur = {snap, fbx_snapshot_time(snap), 0, 1, 65536, 4096};
	for (int p = TUI_PANE_BREAKERS; p <= TUI_PANE_LIMITERS; p++) {
		v.pane = (enum tui_pane)p;
		for (size_t i = 0; i < ARRAY_LEN(want); i++) {
			v.selected = (int)i;
			ck_assert_str_eq(tui_selected_name(&cur, &v), want[i]);
		}
	}
	int prev = -1;
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		int r = breaker_row(want[i]);
		ck_assert_msg(r > prev, "%s out of order:\n%s", want[i], dump());
		prev = r;
	}
}
END_TEST

/* At 80x24 the health pane of a box with a check or two leaves most of
 * its rows: the newest events take them rather than blanks. */
START_TEST(health_leaves_rows_to_events)
{
	breaker("pay");
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, 60000ull * 1000000u, "x"), 0);
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "b%d", i);
		breaker(name);
	}
	struct tui_view v = view();
	v.pane = TUI_PANE_HEALTH;
	render(&v, 24, 80);
	fits(80);
	int h = row_of("HEALTH ok  1 checks"), db = row_of(" db "), ev = row_of("EVENTS");
	ck_assert_msg(h >= 0 && db > h && ev == db + 1, "%s", dump());
	ck_assert_int_ne(attr_at(ev, 0), TUI_TITLE); /* not the pane with the selection */
	for (int r = ev + 1; r < 24; r++)
		ck_assert_msg(strstr(scr.line[r].text, " ago  ") != NULL, "row %d:\n%s", r, dump());
	/* the selection stays in the health pane */
	ck_assert_int_eq(attr_at(db, 0), TUI_SELECTED);
}
END_TEST

/* A printout has every row, however many: none is dropped at 256. */
START_TEST(printout_has_every_row)
{
	fbx_box_config bc;
	tbox_config_small(&bc);
	bc.breakers = 300;
	bc.events = 512;
	fbx_box *big = tbox_create(&bc);
	fbx_snapshot *bs;
	ck_assert_int_eq(fbx_snapshot_new(big, &bs), 0);
	char name[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "brk-%03d", i);
		fbx_breaker_config c;
		fbx_breaker_config_init(&c);
		tbreaker_reg(big, name, &c);
	}
	ck_assert_int_eq(fbx_snapshot_take(big, bs), 0);
	struct tui_sample cur = {bs, fbx_snapshot_time(bs), 0, 1, 65536, 4096};
	int rows = tui_printout_rows(&cur);
	ck_assert_int_gt(rows, 600); /* 300 breakers, 300 events */
	static struct tui_screen big_scr;
	big_scr.line = calloc((size_t)rows, sizeof(*big_scr.line));
	ck_assert_ptr_nonnull(big_scr.line);
	big_scr.cap = rows;
	struct tui_view v = view();
	v.all_panes = true;
	tui_render(&cur, NULL, &v, rows, 132, &big_scr);
	ck_assert_int_eq(big_scr.rows, rows);
	int last_breaker = -1, first_event = -1, oldest_event = -1;
	for (int r = 0; r < big_scr.rows; r++) {
		if (strstr(big_scr.line[r].text, " brk-299 ") && last_breaker < 0)
			last_breaker = r;
		if (strstr(big_scr.line[r].text, "EVENTS"))
			first_event = r;
		if (strstr(big_scr.line[r].text, "breaker brk-000 ") &&
		    strstr(big_scr.line[r].text, "created"))
			oldest_event = r;
	}
	ck_assert_int_gt(last_breaker, 256);
	ck_assert_int_gt(first_event, last_breaker);
	ck_assert_int_gt(oldest_event, first_event);
	free(big_scr.line);
	fbx_snapshot_free(bs);
	tbox_unlink(big);
	fbx_box_close(big);
}
END_TEST

/* With no box yet, the header says why (the caller's words). */
START_TEST(no_box_says_why)
{
	struct tui_view v = view();
	v.no_box = "no box on this host: waiting for one to appear";
	tui_render(NULL, NULL, &v, 24, 80, &scr);
	ck_assert_ptr_nonnull(strstr(scr.line[0].text, "(no box on this host: waiting for one to appear)"));
}
END_TEST

/* The header's fields as the man page lists them (tables.c): every word
 * of each that is not a placeholder is in the header of a box that has
 * them all. */
START_TEST(header_fields_as_documented)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 1000000000u;
	fail_once(tbreaker_reg(box, "due", &c));
	tclock_advance_ms(2000);
	ck_assert_int_eq(fbx_breaker_trip(breaker("manual"), NULL), 0);
	child_worker("worker", 60000, 0, NULL); /* gone: dead */
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	struct tui_view v = view();
	v.read_only = v.paused = true;
	snprintf(v.clock, sizeof(v.clock), "12:34:56");
	render(&v, 24, 250);
	const char *h = scr.line[0].text;
	static const char *const placeholder[] = {"N", "AGE", "BOX", "HhMMm", "vN", "Ns", "HH:MM:SS"};
	int n;
	const struct tui_header_field *f = tui_header_fields(&n);
	ck_assert_int_ge(n, 10);
	for (int i = 0; i < n; i++) {
		char words[128];
		snprintf(words, sizeof(words), "%s", f[i].shown);
		bool any = strchr(words, '|') != NULL, seen = false;
		for (char *w = strtok(words, " ()|"); w != NULL; w = strtok(NULL, " ()|")) {
			bool ph = false;
			for (size_t k = 0; k < ARRAY_LEN(placeholder); k++)
				ph |= strcmp(w, placeholder[k]) == 0;
			if (ph)
				continue;
			if (any)
				seen |= strstr(h, w) != NULL;
			else
				ck_assert_msg(strstr(h, w) != NULL, "field [%s]: no [%s] in [%s]",
					      f[i].shown, w, h);
		}
		ck_assert_msg(!any || seen, "field [%s]: none in [%s]", f[i].shown, h);
	}
	ck_assert_ptr_nonnull(strstr(h, " 12:34:56"));
}
END_TEST

FBX_TEST_SUITE(tui)
{
	Suite *s = suite_create("tui");
	TCase *tc = tcase_create("screen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, states_as_word_glyph_and_colour);
	tcase_add_test(tc, selection_filter_and_sort);
	tcase_add_test(tc, fits_80_by_24);
	tcase_add_test(tc, narrow_screen_never_writes_before_a_line);
	tcase_add_test(tc, manual_events_highlighted_with_who_and_why);
	tcase_add_test(tc, read_only_offers_no_actions);
	tcase_add_test(tc, no_box_and_damaged_records);
	tcase_add_test(tc, detail_views);
	tcase_add_test(tc, since_column_and_trial_due);
	tcase_add_test(tc, detail_operator_actions);
	tcase_add_test(tc, log_keys_out_of_the_log_table);
	tcase_add_test(tc, workers_pane);
	tcase_add_test(tc, header_health_states);
	tcase_add_test(tc, health_pane);
	tcase_add_test(tc, printout_has_every_pane);
	tcase_add_test(tc, resilience_pane);
	tcase_add_test(tc, hint_keeps_help_quit_and_clock);
	tcase_add_test(tc, sort_in_title_and_filter_ignores_case);
	tcase_add_test(tc, rates_coloured_by_their_threshold);
	tcase_add_test(tc, selection_keeps_state_colour);
	tcase_add_test(tc, sparkline_steady_is_flat);
	tcase_add_test(tc, event_rate_over_seconds);
	tcase_add_test(tc, words_are_the_librarys);
	tcase_add_test(tc, detail_plurals_and_off);
	tcase_add_test(tc, pages_and_scrolling);
	tcase_add_test(tc, printout_has_every_row);
	tcase_add_test(tc, no_box_says_why);
	tcase_add_test(tc, header_fields_as_documented);
	tcase_add_test(tc, escape_delay_short_unless_set);
	tcase_add_test(tc, drain_who_and_why);
	tcase_add_test(tc, filter_hiding_all_says_so);
	tcase_add_test(tc, name_sort_ignores_case);
	tcase_add_test(tc, health_leaves_rows_to_events);
	suite_add_tcase(s, tc);
	return s;
}
