/* test_tui.c — fusebox-top's screen model: snapshot in, lines and
 * attributes out, no terminal needed. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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
	ck_assert_ptr_nonnull(strstr(scr.line[s].text, "X OPEN"));
	ck_assert_ptr_nonnull(strstr(scr.line[m].text, "! FORCED-OPEN"));
	ck_assert_int_eq(attr_at(s, (int)(strstr(scr.line[s].text, "X OPEN") - scr.line[s].text)), TUI_BAD);
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
	ck_assert_int_ge(row_of("BREAKERS 12"), 0);
	ck_assert_int_ge(row_of("LIMITERS 1"), 0);
	ck_assert_int_ge(row_of("EVENTS"), 0);
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
	ck_assert_ptr_nonnull(strstr(scr.line[r].text, "X OPEN    "));
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
	const char *word = strstr(line, "X OPEN,due");
	ck_assert_msg(word != NULL, "[%s]", line);
	ck_assert_int_eq(attr_at(r, (int)(word - line)), TUI_BAD);
	ck_assert_ptr_nonnull(strstr(line, "   32s idle"));
	const char *due = strstr(word + 4, "due");
	ck_assert_ptr_nonnull(due);
	ck_assert_int_lt((int)(due - line) + 3, 80); /* TRIAL-IN is inside 80 columns */
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
		ck_assert_ptr_nonnull(strstr(line, "X OPEN,due"));
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
	ck_assert_msg(strstr(scr.line[r].text, "X OPEN,due for 2s") != NULL, "[%s]", scr.line[r].text);
	ck_assert_int_ge(row_of("due: the next call is the trial"), 0);
	r = row_of("operator actions");
	ck_assert_int_ge(r, 0);
	ck_assert_ptr_nonnull(strstr(scr.line[r].text, "2 trip, 1 hold, 1 release, 1 reset"));
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
				     "0 trip, 0 hold, 0 release, 0 reset"));
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
	ck_assert_int_ge(row_of("closed -> OPEN"), 0); /* its recent transitions */
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
	ck_assert_int_lt(row_of("EVENTS"), 0); /* the workers take the events' place */
	ck_assert_int_ge(row_of("BREAKERS"), 0);
	ck_assert_int_ge(row_of("PID     ROLE       STATE"), 0);
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
	ck_assert_int_lt(row_of("EVENTS"), 0); /* it takes the events' place */
	ck_assert_int_ge(row_of("BREAKERS"), 0);
	int bh = row_of("  BUDGET  "), hh = row_of("  BULKHEAD  "), ch = row_of("  CACHE  ");
	ck_assert(t < bh && bh < hh && hh < ch);
	/* worst first: the budget with no retry left */
	int pay = bh + 1, cat = bh + 2;
	ck_assert_msg(strstr(scr.line[pay].text, "  payments                   0       2       10        2        1  20%+0/s 10s") != NULL,
		      "[%s]", scr.line[pay].text);
	ck_assert_ptr_nonnull(strstr(scr.line[cat].text, "  catalog "));
	int col = (int)(strstr(scr.line[pay].text, "       0") - scr.line[pay].text) + 7;
	ck_assert_int_eq(attr_at(pay, col), TUI_BAD);
	const char *hl = scr.line[hh + 1].text;
	ck_assert_msg(strstr(hl, "  payments                 2/2         2         1         0  [################]") != NULL,
		      "[%s]", hl);
	ck_assert_int_eq(attr_at(hh + 1, (int)(strstr(hl, "2/2") - hl)), TUI_BAD);
	const char *cl = scr.line[ch + 1].text;
	ck_assert_msg(strstr(cl, "  quotes                    2/256     66.7%        1        1        1        2") != NULL,
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
	ck_assert_int_ge(row_of("RESILIENCE  1 budget  1 bulkhead  0 caches  filter: pay"), 0);
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
	suite_add_tcase(s, tc);
	return s;
}
