/*
 * fusebox-top — the live operator console.
 *
 * fusebox-top [-b BOX] [-d SECONDS] [--readonly] [--no-color] [-1]
 *
 * Samples the box every interval, renders the screen model (screen.c) and
 * copies it to the terminal; -1 prints one plain snapshot and exits.  The
 * box vanishing or being recreated is shown, and it is reattached to.
 * With no box named (-b, FUSEBOX_BOX), the only box on the host is shown;
 * with several, the console lists them and exits 2; with none, it waits
 * for one to appear (a printout exits 2 instead).
 */
#include <curses.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>

#include "boxfind.h"
#include "busguard.h"
#include "screen.h"
#include "term.h"

/* One line on stderr, "fusebox-top: " first, control characters shown. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("fusebox-top: ", stderr);
	term_put(stderr, msg);
	fputc('\n', stderr);
	return 2;
}

/* A message on the hint line goes after this long: a result read once
 * must not pass for the state of things minutes later. */
#define MESSAGE_NS (5ull * 1000000000u)

struct top {
	const char *name;
	char found[48];       /* the box box_find chose, which name points at */
	bool finding;         /* none named and none on the host yet: looking */
	char no_box[256];     /* why there is no box, for the header */
	fbx_box *box;         /* read-only: what is shown */
	fbx_box *rw;          /* for operator actions; NULL when not allowed */
	ino_t ino;
	fbx_snapshot *snap[2];
	struct tui_sample sample[2];
	int cur;              /* which of the two is the newest */
	struct tui_view view;
	bool color;
	char message[160];
	uint64_t message_at;  /* when it was said (fbx_clock_now) */
	char selected[FBX_NAME_MAX]; /* the selection follows this record */
	struct tui_history history;
};

static void say(struct top *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct top *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof(t->message), fmt, ap);
	va_end(ap);
	t->message_at = fbx_clock_now();
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void detach(struct top *t)
{
	for (int i = 0; i < 2; i++) {
		fbx_snapshot_free(t->snap[i]);
		t->snap[i] = NULL;
		t->sample[i].snap = NULL;
	}
	fbx_box_close(t->rw);
	fbx_box_close(t->box);
	t->rw = t->box = NULL;
	tui_history_free(&t->history);
	t->view.history = NULL;
}

static ino_t object_ino(const char *name)
{
	char path[80];
	struct stat st;
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", name);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* (Re)attaches when needed: the first time, after the box vanished, or
 * when its name now names another object (it was recreated). */
static void attach(struct top *t, bool want_write)
{
	if (t->finding) {
		/* none was named: the first box to appear, if it is the only one;
		 * several appearing at once are listed, and which one is the
		 * operator's call (q, then -b NAME) */
		enum box_found r = box_find(NULL, t->found, sizeof(t->found), t->no_box,
					    sizeof(t->no_box));
		if (r != BOX_ONLY && r != BOX_NAMED) {
			if (r == BOX_NONE)
				snprintf(t->no_box, sizeof(t->no_box),
					 "no box on this host: waiting for one to appear");
			return;
		}
		t->finding = false;
		t->name = t->view.box = t->found;
		t->view.no_box = NULL;
		/* not "box ...": the attach below would say over it */
		say(t, "showing box %s, the only one on this host", t->name);
	}
	ino_t ino = object_ino(t->name);
	if (t->box != NULL && ino == t->ino)
		return;
	if (t->box != NULL) {
		detach(t);
		say(t, ino ? "box %s was recreated: reattached" : "box %s vanished: waiting for it",
		    t->name);
	}
	if (ino == 0)
		return;
	fbx_box_config quick;
	fbx_box_config_init(&quick);
	quick.timeout_ms = 200;
	int rc = fbx_box_open(t->name, FBX_OPEN_RDONLY, &quick, &t->box);
	t->view.read_only = true; /* until a writable handle is had */
	if (rc != 0) {
		say(t, "box %s cannot be read: %s", t->name, fbx_strerror(rc));
		return;
	}
	if (strncmp(t->message, "box ", 4) == 0)
		say(t, "attached to box %s", t->name);
	t->ino = ino;
	if (fbx_snapshot_new(t->box, &t->snap[0]) != 0 || fbx_snapshot_new(t->box, &t->snap[1]) != 0) {
		detach(t);
		return;
	}
	fbx_box_info info;
	if (want_write && fbx_box_open(t->name, 0, &quick, &t->rw) == 0 &&
	    (fbx_box_info_get(t->rw, &info) != 0 || info.read_only)) {
		fbx_box_close(t->rw);
		t->rw = NULL;
	}
	t->view.read_only = t->rw == NULL;
	fbx_box_info_get(t->box, &info);
	if (tui_history_init(&t->history, info.capacity.breakers) == 0)
		t->view.history = &t->history;
	for (int i = 0; i < 2; i++) {
		t->sample[i].box_created_ns = info.created_ns;
		t->sample[i].layout_version = info.layout_version;
		t->sample[i].key_capacity = info.capacity.keys;
		t->sample[i].log_key_capacity = info.capacity.log_keys;
	}
}

struct take {
	fbx_box *box;
	fbx_snapshot *snap;
};

static int take(void *arg)
{
	struct take *k = arg;
	return fbx_snapshot_take(k->box, k->snap);
}

static void sample(struct top *t)
{
	if (t->box == NULL)
		return;
	int next = t->cur ^ 1;
	int rc = bus_guard(take, &(struct take){t->box, t->snap[next]});
	if (rc == FBX_ETRUNC) {
		/* the same object, cut short: open it afresh when it is whole */
		detach(t);
		t->ino = 0;
		say(t, "box %s was truncated: waiting for it", t->name);
		return;
	}
	if (rc != 0)
		return;
	t->sample[next].snap = t->snap[next];
	t->sample[next].time_ns = fbx_snapshot_time(t->snap[next]);
	t->cur = next;
	time_t wall = time(NULL);
	struct tm tm;
	if (localtime_r(&wall, &tm) != NULL)
		strftime(t->view.clock, sizeof(t->view.clock), "%H:%M:%S", &tm);
	if (t->view.history != NULL && t->sample[next ^ 1].snap != NULL)
		tui_history_push(&t->history, &t->sample[next], &t->sample[next ^ 1]);
	if (t->selected[0] != '\0') {
		int row = tui_find_row(&t->sample[next], &t->view, t->selected);
		if (row >= 0)
			t->view.selected = row;
	}
}

/* Remembers which record is selected, so that re-sorting keeps it. */
static void remember_selection(struct top *t)
{
	const struct tui_sample *cur = t->box ? &t->sample[t->cur] : NULL;
	const char *name = cur && cur->snap ? tui_selected_name(cur, &t->view) : NULL;
	snprintf(t->selected, sizeof(t->selected), "%s", name ? name : "");
}

static void render(struct top *t, int rows, int cols, struct tui_screen *s)
{
	const struct tui_sample *cur = t->box ? &t->sample[t->cur] : NULL;
	const struct tui_sample *prev = t->box && t->sample[t->cur ^ 1].snap ? &t->sample[t->cur ^ 1] : NULL;
	t->view.message = t->message;
	tui_render(cur && cur->snap ? cur : NULL, prev, &t->view, rows, cols, s);
}

static int one_shot(struct top *t)
{
	attach(t, false);
	t->view.read_only = false; /* a printout, not a session: no badge */
	if (t->box == NULL) {
		if (object_ino(t->name) == 0)
			return fail("box '%s' does not exist", t->name);
		return fail("%s", t->message); /* "box NAME cannot be read: why" */
	}
	sample(t);
	struct timespec ts = {0, 500000000L}; /* two samples, for rates */
	nanosleep(&ts, NULL);
	sample(t);
	static struct tui_screen s;
	t->view.all_panes = true; /* no Tab on paper: every pane */
	/* every row of every pane, however many: a printout cut short
	 * without a word would be believed whole */
	int rows = tui_printout_rows(&t->sample[t->cur]);
	s.line = calloc((size_t)rows, sizeof(*s.line));
	if (s.line == NULL) {
		detach(t);
		return fail("no memory for a printout of %d lines", rows);
	}
	s.cap = rows;
	render(t, rows, 132, &s);
	/* plain text for scripts: no key hints, no room kept for a terminal */
	for (int r = 0; r < s.rows; r++) {
		size_t n = strlen(s.line[r].text);
		while (n > 0 && s.line[r].text[n - 1] == ' ')
			n--;
		if (r != 1 && n > 0)
			printf("%.*s\n", (int)n, s.line[r].text);
	}
	free(s.line);
	detach(t);
	return 0;
}

/* ---- the terminal --------------------------------------------------------- */

static chtype attr_of(const struct top *t, int a)
{
	if (TUI_IS_ON_SELECTED(a))
		return attr_of(t, TUI_ATTR(a)) | A_REVERSE;
	switch (a) {
	case TUI_BOLD: return A_BOLD;
	case TUI_DIM: return A_DIM;
	case TUI_GOOD: return t->color ? COLOR_PAIR(1) : A_NORMAL;
	case TUI_WARN: return t->color ? COLOR_PAIR(2) | A_BOLD : A_BOLD;
	case TUI_BAD: return t->color ? COLOR_PAIR(3) | A_BOLD : A_BOLD | A_UNDERLINE;
	case TUI_SELECTED: return A_REVERSE;
	case TUI_MANUAL: return t->color ? COLOR_PAIR(4) | A_BOLD : A_BOLD;
	case TUI_TITLE: return A_BOLD | A_UNDERLINE;
	default: return A_NORMAL;
	}
}

static void draw(struct top *t, const struct tui_screen *s)
{
	erase(); /* erase+refresh repaints only what changed: no flicker */
	for (int r = 0; r < s->rows && r < LINES; r++) {
		const struct tui_line *l = &s->line[r];
		mvaddnstr(r, 0, l->text, COLS);
		for (int k = 0; k < l->nspans; k++)
		{
			/* chgat takes the colour pair apart from the attributes:
			 * folded into them it would be reset to pair 0 */
			chtype a = attr_of(t, l->span[k].attr);
			mvchgat(r, l->span[k].col, l->span[k].len, a & ~A_COLOR,
				(short)PAIR_NUMBER(a), NULL);
		}
	}
	refresh();
}

/* One line of input at the bottom; false when cancelled with Esc. */
static bool prompt(const char *question, char *out, size_t len)
{
	move(LINES - 1, 0);
	clrtoeol();
	attron(A_BOLD);
	addstr(question);
	attroff(A_BOLD);
	refresh();
	size_t n = 0;
	out[0] = '\0';
	timeout(-1);
	for (;;) {
		int ch = getch();
		if (ch == 27 || ch == ERR || stop) /* Esc, a signal, a lost terminal */
			return false;
		if (ch == '\n' || ch == KEY_ENTER)
			return true;
		if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0) {
			out[--n] = '\0';
			addstr("\b \b");
		} else if (ch >= 0x20 && ch < 0x7f && n + 1 < len) {
			out[n++] = (char)ch;
			out[n] = '\0';
			addch((chtype)ch);
		}
		refresh();
	}
}

/* "Trip payments? [y/N]": only y confirms. */
static bool confirm(const char *question)
{
	move(LINES - 1, 0);
	clrtoeol();
	attron(A_BOLD | A_REVERSE);
	addstr(question);
	attroff(A_BOLD | A_REVERSE);
	refresh();
	timeout(-1);
	int ch = getch();
	return ch == 'y' && !stop; /* only y: Enter, Esc, Y, ^C, anything else cancel */
}

static void act(struct top *t, int key)
{
	const struct tui_sample *cur = t->box ? &t->sample[t->cur] : NULL;
	const char *name = cur && cur->snap ? tui_selected_name(cur, &t->view) : NULL;
	if (t->rw == NULL) {
		say(t, "read-only: actions are off");
		return;
	}
	if (name == NULL) {
		say(t, "select a %s first",
			 key == 'd' ? "limiter" : "breaker");
		return;
	}
	char q[160], reason[FBX_REASON_MAX];
	if (key == 'd') {
		fbx_limiter *l;
		size_t n;
		bool on = false;
		const fbx_limiter_info *li = fbx_snapshot_limiters(cur->snap, &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(li[i].name, name) == 0)
				on = !li[i].dry_run;
		snprintf(q, sizeof(q), tui_prompt(on ? TUI_Q_DRY_ON : TUI_Q_DRY_OFF)->format, name);
		if (!confirm(q)) {
			say(t, "cancelled");
			return;
		}
		if (!prompt(tui_prompt(TUI_Q_REASON)->format, reason, sizeof(reason))) {
			say(t, "cancelled");
			return;
		}
		int rc = fbx_limiter_find(t->rw, name, &l);
		if (rc == 0)
			rc = fbx_limiter_set_dry_run(l, on, reason[0] ? reason : NULL);
		say(t, "%s: dry-run %s%s%s", name, on ? "on" : "off",
			 rc ? ": " : "", rc ? fbx_strerror(rc) : "");
		return;
	}
	static const struct {
		int key;
		enum tui_prompt q;
		const char *verb;
		int (*fn)(fbx_breaker *, const char *);
	} acts[] = {{'t', TUI_Q_TRIP, "Trip", fbx_breaker_trip},
		    {'c', TUI_Q_HOLD, "Hold closed", fbx_breaker_hold},
		    {'a', TUI_Q_RELEASE, "Release to automatic", fbx_breaker_release},
		    {'r', TUI_Q_RESET, "Reset", fbx_breaker_reset}};
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (acts[i].key != key)
			continue;
		snprintf(q, sizeof(q), tui_prompt(acts[i].q)->format, name);
		if (!confirm(q)) {
			say(t, "cancelled");
			return;
		}
		if (!prompt(tui_prompt(TUI_Q_REASON)->format, reason, sizeof(reason))) {
			say(t, "cancelled");
			return;
		}
		fbx_breaker *b;
		int rc = fbx_breaker_find(t->rw, name, &b);
		if (rc == 0)
			rc = acts[i].fn(b, reason[0] ? reason : NULL);
		say(t, "%s %s: %s", acts[i].verb, name,
			 rc ? fbx_strerror(rc) : "done");
	}
}


/* A drain takes a host out of rotation: like a trip it asks [y/N], then
 * an optional reason, which the library records with the uid and pid in
 * the event ring (the health pane shows it), so that whoever finds the
 * box draining knows whom to ask.  Esc at the reason cancels. */
static void drain_toggle(struct top *t)
{
	const struct tui_sample *cur = t->box ? &t->sample[t->cur] : NULL;
	if (t->rw == NULL) {
		say(t, "read-only: actions are off");
		return;
	}
	if (cur == NULL || cur->snap == NULL) {
		say(t, "no box to drain");
		return;
	}
	bool on = !fbx_snapshot_health(cur->snap)->draining;
	char q[160], reason[FBX_REASON_MAX];
	snprintf(q, sizeof(q), tui_prompt(on ? TUI_Q_DRAIN_ON : TUI_Q_DRAIN_OFF)->format, t->name);
	if (!confirm(q)) {
		say(t, "cancelled");
		return;
	}
	if (!prompt(tui_prompt(TUI_Q_REASON)->format, reason, sizeof(reason))) {
		say(t, "cancelled");
		return;
	}
	int rc = fbx_drain_reason(t->rw, on, reason[0] ? reason : NULL);
	say(t, "box %s: %s%s%s", t->name,
		 on ? "draining" : "drain stopped", rc ? ": " : "", rc ? fbx_strerror(rc) : "");
}

static void remove_check(struct top *t)
{
	const struct tui_sample *cur = t->box ? &t->sample[t->cur] : NULL;
	const char *name = cur && cur->snap ? tui_selected_name(cur, &t->view) : NULL;
	if (t->rw == NULL) {
		say(t, "read-only: actions are off");
		return;
	}
	if (name == NULL) {
		say(t, "select a check first");
		return;
	}
	char q[160], keep[FBX_NAME_MAX];
	snprintf(keep, sizeof(keep), "%s", name); /* the snapshot may move under the prompt */
	snprintf(q, sizeof(q), tui_prompt(TUI_Q_REMOVE_CHECK)->format, keep);
	if (!confirm(q)) {
		say(t, "cancelled");
		return;
	}
	int rc = fbx_check_remove(t->rw, keep);
	say(t, "Remove check %s: %s", keep,
		 rc ? fbx_strerror(rc) : "done");
}

/* ---- keys: one table drives dispatch, the help screen and --keys ------- */

struct loop {
	struct top *t;
	uint64_t next_sample;
};

static int pane_rows(struct top *t)
{
	const struct tui_sample *cur = t->box ? &t->sample[t->cur] : NULL;
	return cur && cur->snap ? tui_pane_rows(cur, &t->view, t->view.pane) : 0;
}

static void k_quit(struct loop *l) { (void)l; stop = 1; }
static void k_pane(struct loop *l)
{
	l->t->view.pane = (l->t->view.pane + 1) % TUI_PANE_COUNT;
	l->t->view.selected = 0;
}
static void k_down(struct loop *l)
{
	if (l->t->view.selected + 1 < pane_rows(l->t))
		l->t->view.selected++;
}
static void k_up(struct loop *l)
{
	if (l->t->view.selected > 0)
		l->t->view.selected--;
}
/* A page is the rows the selected pane shows now, so that PgDn brings
 * the next screenful into sight. */
static void k_page(struct loop *l, int dir)
{
	int n = pane_rows(l->t), page = tui_page_rows(&l->t->view, LINES);
	int sel = l->t->view.selected + dir * page;
	l->t->view.selected = sel >= n ? n - 1 : sel;
	if (l->t->view.selected < 0)
		l->t->view.selected = 0;
}
static void k_pgdn(struct loop *l) { k_page(l, 1); }
static void k_pgup(struct loop *l) { k_page(l, -1); }
static void k_home(struct loop *l) { l->t->view.selected = 0; }
static void k_end(struct loop *l)
{
	int n = pane_rows(l->t);
	l->t->view.selected = n > 0 ? n - 1 : 0;
}
static void k_sort(struct loop *l) { l->t->view.sort = (l->t->view.sort + 1) % TUI_SORT_COUNT; }
static void k_pause(struct loop *l) { l->t->view.paused = !l->t->view.paused; }
static void k_slower(struct loop *l)
{
	if (l->t->view.interval_s < 60)
		l->t->view.interval_s *= 2;
}
static void k_faster(struct loop *l)
{
	if (l->t->view.interval_s > 0.25)
		l->t->view.interval_s /= 2;
}
static void k_filter(struct loop *l)
{
	if (!prompt(tui_prompt(TUI_Q_FILTER)->format, l->t->view.filter, sizeof(l->t->view.filter)))
		l->t->view.filter[0] = '\0';
	l->t->view.selected = 0;
}
static void k_breaker(struct loop *l, int key)
{
	if (l->t->view.pane == TUI_PANE_BREAKERS)
		act(l->t, key);
	else
		say(l->t, "select a breaker first (Tab)");
	l->next_sample = 0;
}
static void k_trip(struct loop *l) { k_breaker(l, 't'); }
static void k_hold(struct loop *l) { k_breaker(l, 'c'); }
static void k_release(struct loop *l) { k_breaker(l, 'a'); }
static void k_reset(struct loop *l) { k_breaker(l, 'r'); }
static void k_dry(struct loop *l)
{
	if (l->t->view.pane == TUI_PANE_LIMITERS)
		act(l->t, 'd');
	else
		say(l->t, "select a limiter first (Tab)");
	l->next_sample = 0;
}
static void k_drain(struct loop *l)
{
	drain_toggle(l->t);
	l->next_sample = 0;
}
static void k_remove(struct loop *l)
{
	if (l->t->view.pane == TUI_PANE_HEALTH)
		remove_check(l->t);
	else
		say(l->t, "select a check first (Tab to HEALTH)");
	l->next_sample = 0;
}
static void k_help(struct loop *l);
static void k_detail(struct loop *l)
{
	enum tui_pane p = l->t->view.pane;
	if (p != TUI_PANE_BREAKERS && p != TUI_PANE_LIMITERS && !l->t->view.detail)
		say(l->t, "select a breaker or limiter first (Tab)");
	else
		l->t->view.detail = !l->t->view.detail;
}

static const struct key {
	int code, alt;           /* alt: a second key for the same action, or 0 */
	const char *name;        /* as shown */
	bool changes;            /* changes the box: not offered read-only */
	const char *help;
	void (*run)(struct loop *l);
} keys[] = {
	{'\t', 0, "Tab", false,
	 "next pane: breakers, limiters, workers, health, resilience, events", k_pane},
	{'\n', KEY_ENTER, "Enter", false, "details of the selected breaker or limiter (again: back)",
	 k_detail},
	{'j', KEY_DOWN, "j, Down", false, "move the selection down", k_down},
	{'k', KEY_UP, "k, Up", false, "move the selection up", k_up},
	{KEY_NPAGE, ' ', "PgDn, Space", false, "move the selection down a page", k_pgdn},
	{KEY_PPAGE, 'b', "PgUp, b", false, "move the selection up a page", k_pgup},
	{KEY_HOME, 'g', "Home, g", false, "move the selection to the first row", k_home},
	{KEY_END, 'G', "End, G", false, "move the selection to the last row", k_end},
	{'t', 0, "t", true, "trip the selected breaker (forced-open)", k_trip},
	{'c', 0, "c", true, "hold the selected breaker closed (forced-closed)", k_hold},
	{'a', 0, "a", true, "release the selected breaker to automatic", k_release},
	{'r', 0, "r", true, "reset the selected breaker (closed, counts cleared)", k_reset},
	{'d', 0, "d", true, "toggle dry-run on the selected limiter", k_dry},
	{'D', 0, "D", true, "start or stop draining the box (readiness fails while it drains)",
	 k_drain},
	{'x', 0, "x", true, "remove the selected health check (a stale one)", k_remove},
	{'/', 0, "/", false, "filter by name (empty to clear)", k_filter},
	{'s', 0, "s", false, "cycle the sort: worst first, name, busiest", k_sort},
	{'p', 0, "p", false, "pause or resume sampling", k_pause},
	{'+', 0, "+", false, "sample less often", k_slower},
	{'-', 0, "-", false, "sample more often", k_faster},
	{'?', 0, "?", false, "this help", k_help},
	{'q', 0, "q", false, "quit", k_quit},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Page by page when the keys outnumber the lines: at 80x24 they do. */
static void k_help(struct loop *l)
{
	size_t shown[NKEYS], n = 0;
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].changes || !l->t->view.read_only)
			shown[n++] = i;
	int per = LINES - 4 > 1 ? LINES - 4 : 1;
	for (size_t at = 0; at < n || at == 0;) {
		erase();
		int r = 0;
		mvaddstr(r++, 0, "fusebox-top keys");
		r++;
		for (; at < n && r < 2 + per; at++) {
			char line[256];
			snprintf(line, sizeof(line), "  %-11s %s", keys[shown[at]].name,
				 keys[shown[at]].help);
			mvaddnstr(r++, 0, line, COLS); /* cut, not wrapped onto the next key */
		}
		if (at >= n && !l->t->view.read_only && r + 2 < LINES - 1) {
			mvaddstr(++r, 0, "  Each action asks [y/N] (only y confirms); all but x then take an");
			mvaddstr(++r, 0, "  optional reason (Esc there cancels the action).");
		}
		mvaddstr(LINES - 1, 0, at < n ? "press any key for more" : "press any key");
		refresh();
		timeout(-1);
		if (getch() == 'q' || at >= n)
			break;
	}
}

/* fusebox-top --keys: the same table, for the man page and scripts. */
static void print_keys(void)
{
	for (size_t i = 0; i < NKEYS; i++)
		printf("%-12s %s%s\n", keys[i].name, keys[i].help, keys[i].changes ? " (not read-only)" : "");
}

/* fusebox-top --man: the man page's parts that the code owns, as troff
 * between marker comments; tui/man.mk splices them into
 * man/fusebox-top.1, and tests/test_console.c checks the committed page
 * holds exactly them. */
static void print_man(void)
{
	puts(".\\\" BEGIN GENERATED keys");
	puts(".TP 14");
	for (size_t i = 0; i < NKEYS; i++) {
		if (i > 0)
			puts(".TP");
		printf(strchr(keys[i].name, ' ') ? ".B \"" : ".B ");
		tui_man_text(stdout, keys[i].name);
		puts(strchr(keys[i].name, ' ') ? "\"" : "");
		tui_man_text(stdout, keys[i].help);
		puts(keys[i].changes ? " (not in read-only mode)" : "");
	}
	puts(".\\\" END GENERATED keys");
	tui_man_header(stdout);
	tui_man_printout(stdout);
	tui_man_columns(stdout);
	tui_man_prompts(stdout);
}

static int console(struct top *t, bool write)
{
	initscr();
	/* after initscr, which reads $ESCDELAY itself: Esc at the filter or
	 * the reason must act at once, not after ncurses' second */
	set_escdelay(tui_escape_delay(getenv("ESCDELAY")));
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (t->color && has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_GREEN, -1);
		init_pair(2, COLOR_YELLOW, -1);
		init_pair(3, COLOR_RED, -1);
		init_pair(4, COLOR_MAGENTA, -1);
	} else {
		t->color = false;
	}
	static struct tui_screen s;
	uint64_t next_sample = 0, next_attach = 0;
	struct loop lp = {t, 0};
	bool dirty = true;
	while (!stop) {
		lp.next_sample = UINT64_MAX;
		uint64_t now = fbx_clock_now();
		if (now >= next_attach) { /* a missing box is looked for twice a second */
			bool had = t->box != NULL;
			attach(t, write);
			dirty |= had != (t->box != NULL);
			next_attach = now + 500000000u;
		}
		if (!t->view.paused && now >= next_sample) {
			sample(t);
			remember_selection(t);
			next_sample = now + (uint64_t)(t->view.interval_s * 1e9);
			dirty = true;
		}
		/* (said after now was read: not yet old) */
		if (t->message[0] != '\0' && now > t->message_at && now - t->message_at > MESSAGE_NS) {
			t->message[0] = '\0';
			dirty = true;
		}
		/* draw only when something changed: a sample, a key, a resize */
		if (dirty) {
			render(t, LINES, COLS, &s);
			draw(t, &s);
			dirty = false;
		}
		timeout(100);
		int ch = getch();
		if (ch == ERR && !isatty(STDIN_FILENO))
			break; /* the terminal went away: do not spin */
		if (ch == ERR)
			continue;
		dirty = true;
		if (ch == KEY_RESIZE)
			continue;
		t->message[0] = '\0';
		for (size_t i = 0; i < NKEYS; i++) {
			if (ch != keys[i].code && (keys[i].alt == 0 || ch != keys[i].alt))
				continue;
			if (keys[i].changes && t->view.read_only)
				say(t, "read-only: %s is not available",
					 keys[i].name);
			else
				keys[i].run(&lp);
			remember_selection(t);
			next_sample = lp.next_sample < next_sample ? lp.next_sample : next_sample;
			break;
		}
	}
	endwin();
	detach(t);
	return 0;
}

int main(int argc, char **argv)
{
	struct top t = {.name = NULL};
	t.view.interval_s = 1.0;
	t.color = getenv("NO_COLOR") == NULL || *getenv("NO_COLOR") == '\0';
	bool once = false, write = true;
	const char *given = NULL;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-b") == 0 || strcmp(argv[i], "-d") == 0) && i + 1 == argc) {
			return fail("%s needs a value (%s)", argv[i],
				    argv[i][1] == 'b' ? "a box name" : "a number of seconds");
		} else if (strcmp(argv[i], "-b") == 0) {
			given = argv[++i];
			if (fbx_name_check_box(given) != 0)
				return fail("bad box name '%s'", given);
		} else if (strcmp(argv[i], "-d") == 0) {
			char *end;
			t.view.interval_s = strtod(argv[++i], &end);
			if (*end != '\0' || !(t.view.interval_s >= 0.1 && t.view.interval_s <= 3600))
				return fail("-d: '%s' is not a number of seconds from 0.1 to 3600",
					    argv[i]);
		} else if (strcmp(argv[i], "--readonly") == 0) {
			write = false;
		} else if (strcmp(argv[i], "--no-color") == 0) {
			t.color = false;
		} else if (strcmp(argv[i], "-1") == 0) {
			once = true;
		} else if (strcmp(argv[i], "--keys") == 0) {
			print_keys();
			return 0;
		} else if (strcmp(argv[i], "--man") == 0) {
			print_man();
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: fusebox-top [-b BOX] [-d SECONDS] [--readonly] [--no-color] [-1] [--keys] [--man]\n");
			return 0;
		} else {
			return fail("unknown option '%s' (see fusebox-top --help)", argv[i]);
		}
	}
	once = once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO);
	char msg[256];
	switch (box_find(given, t.found, sizeof(t.found), msg, sizeof(msg))) {
	case BOX_NAMED:
	case BOX_ONLY:
		t.name = t.found;
		break;
	case BOX_NONE:
		/* a printout has nothing to print; a console waits for the
		 * service to start and create its box */
		if (once)
			return fail("%s", msg);
		t.finding = true;
		t.name = "";
		snprintf(t.no_box, sizeof(t.no_box), "no box on this host: waiting for one to appear");
		t.view.no_box = t.no_box;
		break;
	default:
		/* several: which one is the operator's call, never a guess */
		return fail("%s", msg);
	}
	if (!t.finding && fbx_name_check_box(t.name) != 0)
		return fail("bad box name '%s'", t.name);
	t.view.box = t.finding ? "fusebox-top" : t.name;
	t.view.read_only = !write;
	if (once)
		return one_shot(&t);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return console(&t, write);
}
