/* screen.c — the header, the panes and their rows (see screen.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen.h"

const char *tui_state_word(int state)
{
	static const char *const w[] = {"closed", "OPEN", "half-open", "FORCED-OPEN", "forced-closed"};
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? w[state] : "?";
}

const char *tui_state_glyph(int state)
{
	static const char *const g[] = {"o", "X", "~", "!", "="};
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? g[state] : "?";
}

enum tui_attr tui_state_attr(int state)
{
	switch (state) {
	case FBX_CLOSED: return TUI_GOOD;
	case FBX_HALF_OPEN: case FBX_FORCED_CLOSED: return TUI_WARN;
	default: return TUI_BAD;
	}
}

/* ---- writing a line ------------------------------------------------------ */

struct pen {
	struct tui_line *line;
	int col, cols;
};

/* Writes text left-aligned in width columns (clipped to the screen), with
 * attr as one span; width < 0 means the text's own length. */
static void put(struct pen *p, const char *text, int width, enum tui_attr attr)
{
	int n = (int)strlen(text);
	if (width < 0)
		width = n;
	int room = p->cols - p->col;
	if (width > room)
		width = room;
	if (width <= 0)
		return;
	/* the line is a string: keep it terminated, blanks before p->col */
	int len = (int)strlen(p->line->text);
	if (len < p->col)
		memset(p->line->text + len, ' ', (size_t)(p->col - len));
	char *dst = p->line->text + p->col;
	for (int i = 0; i < width; i++)
		dst[i] = i < n ? text[i] : ' ';
	if (attr != TUI_NORMAL && p->line->nspans < TUI_SPANS_MAX)
		p->line->span[p->line->nspans++] =
			(struct tui_span){(uint16_t)p->col, (uint16_t)width, (uint8_t)attr};
	p->col += width;
	if (p->col > len)
		p->line->text[p->col] = '\0';
}

static void putf(struct pen *p, int width, enum tui_attr attr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void putf(struct pen *p, int width, enum tui_attr attr, const char *fmt, ...)
{
	char buf[TUI_COLS_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(p, buf, width, attr);
}

static struct pen pen_at(struct tui_screen *s, int row)
{
	return (struct pen){&s->line[row], 0, s->cols};
}

/* The whole line in one attribute (a selected row, a title). */
static void mark_line(struct tui_screen *s, int row, enum tui_attr attr)
{
	struct tui_line *l = &s->line[row];
	size_t n = strlen(l->text);
	while ((int)n < s->cols)
		l->text[n++] = ' ';
	l->text[n] = '\0';
	l->nspans = 1;
	l->span[0] = (struct tui_span){0, (uint16_t)s->cols, (uint8_t)attr};
}

/* ---- figures --------------------------------------------------------------- */

static uint64_t calls_of(const fbx_breaker_info *b)
{
	return b->successes + b->failures + b->ignored;
}

static const fbx_breaker_info *prev_breaker(const struct tui_sample *prev, const char *name)
{
	if (prev == NULL || prev->snap == NULL)
		return NULL;
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(prev->snap, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return &b[i];
	return NULL;
}

static const fbx_limiter_info *prev_limiter(const struct tui_sample *prev, const char *name)
{
	if (prev == NULL || prev->snap == NULL)
		return NULL;
	size_t n;
	const fbx_limiter_info *l = fbx_snapshot_limiters(prev->snap, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

static double per_s(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 && now >= before ? (double)(now - before) / dt : 0;
}

static double seconds_between(const struct tui_sample *cur, const struct tui_sample *prev)
{
	if (prev == NULL || prev->snap == NULL || cur->time_ns <= prev->time_ns)
		return 0;
	return (double)(cur->time_ns - prev->time_ns) / 1e9;
}

/* Failure share: the breaker's own window when it keeps one, else the
 * calls since the previous sample.  -1: nothing to say. */
static double failure_pct(const fbx_breaker_info *b, const fbx_breaker_info *pb)
{
	if (b->window_calls > 0)
		return 100.0 * (double)b->window_failures / (double)b->window_calls;
	if (pb == NULL || calls_of(b) <= calls_of(pb))
		return -1;
	return 100.0 * (double)(b->failures - pb->failures) / (double)(calls_of(b) - calls_of(pb));
}

static double slow_pct(const fbx_breaker_info *b, const fbx_breaker_info *pb)
{
	if (b->window_calls > 0)
		return 100.0 * (double)b->window_slow / (double)b->window_calls;
	if (pb == NULL || calls_of(b) <= calls_of(pb) || b->slow < pb->slow)
		return -1;
	return 100.0 * (double)(b->slow - pb->slow) / (double)(calls_of(b) - calls_of(pb));
}

/* ---- sparklines -------------------------------------------------------------- */

int tui_history_init(struct tui_history *h, uint32_t breakers)
{
	memset(h, 0, sizeof(*h));
	h->calls = calloc((size_t)breakers * TUI_SPARK, sizeof(float));
	h->fails = calloc((size_t)breakers * TUI_SPARK, sizeof(float));
	if (h->calls == NULL || h->fails == NULL) {
		tui_history_free(h);
		return -1;
	}
	h->cap = breakers;
	return 0;
}

void tui_history_free(struct tui_history *h)
{
	free(h->calls);
	free(h->fails);
	memset(h, 0, sizeof(*h));
}

void tui_history_push(struct tui_history *h, const struct tui_sample *cur,
		      const struct tui_sample *prev)
{
	double dt = seconds_between(cur, prev);
	if (h->cap == 0 || dt <= 0)
		return;
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &n);
	for (size_t i = 0; i < n && i < h->cap; i++) {
		const fbx_breaker_info *pb = prev_breaker(prev, b[i].name);
		float *c = &h->calls[i * TUI_SPARK + h->head], *f = &h->fails[i * TUI_SPARK + h->head];
		*c = pb ? (float)per_s(calls_of(&b[i]), calls_of(pb), dt) : 0;
		*f = pb ? (float)per_s(b[i].failures, pb->failures, dt) : 0;
	}
	h->head = (h->head + 1) % TUI_SPARK;
	if (h->len < TUI_SPARK)
		h->len++;
}

/* Oldest to newest: the height of each sample's calls, marked as bad
 * where most of them failed. */
static void sparkline(struct pen *p, const struct tui_history *h, size_t index)
{
	static const char levels[] = " _.-=+*#";
	if (h == NULL || index >= h->cap || h->len == 0)
		return;
	float top = 0;
	for (uint32_t k = 0; k < TUI_SPARK; k++)
		if (h->calls[index * TUI_SPARK + k] > top)
			top = h->calls[index * TUI_SPARK + k];
	put(p, " ", 1, TUI_NORMAL);
	for (uint32_t k = 0; k < TUI_SPARK; k++) {
		uint32_t slot = (h->head + TUI_SPARK - h->len + k) % TUI_SPARK;
		if (k >= h->len)
			break;
		float c = h->calls[index * TUI_SPARK + slot], f = h->fails[index * TUI_SPARK + slot];
		int lv = top > 0 ? (int)(c / top * 7 + 0.5f) : 0;
		char ch[2] = {levels[lv < 0 ? 0 : lv > 7 ? 7 : lv], 0};
		put(p, ch, 1, c > 0 && f * 2 > c ? TUI_BAD : TUI_DIM);
	}
}

/* ---- order and filter ------------------------------------------------------- */

static int severity(int state)
{
	static const int rank[] = {4, 1, 2, 0, 3}; /* forced open, open, half, held, closed */
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? rank[state] : 5;
}

struct sort_ctx {
	const fbx_breaker_info *b;
	const fbx_limiter_info *l;
	enum tui_sort sort;
};
static struct sort_ctx sort_ctx; /* qsort has no context argument in C11 */

static int cmp_breaker(const void *x, const void *y)
{
	const fbx_breaker_info *a = &sort_ctx.b[*(const int *)x], *b = &sort_ctx.b[*(const int *)y];
	if (sort_ctx.sort == TUI_SORT_WORST && severity(a->state) != severity(b->state))
		return severity(a->state) - severity(b->state);
	if (sort_ctx.sort != TUI_SORT_NAME && calls_of(a) != calls_of(b))
		return calls_of(a) > calls_of(b) ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_limiter(const void *x, const void *y)
{
	const fbx_limiter_info *a = &sort_ctx.l[*(const int *)x], *b = &sort_ctx.l[*(const int *)y];
	if (sort_ctx.sort == TUI_SORT_WORST && a->denied != b->denied)
		return a->denied > b->denied ? -1 : 1;
	if (sort_ctx.sort == TUI_SORT_CALLS && a->allowed + a->denied != b->allowed + b->denied)
		return a->allowed + a->denied > b->allowed + b->denied ? -1 : 1;
	return strcmp(a->name, b->name);
}

static bool matches(const struct tui_view *v, const char *name)
{
	return v->filter[0] == '\0' || strstr(name, v->filter) != NULL;
}

/* Indices of the pane's records, sorted and filtered; returns how many. */
static int order(const struct tui_sample *cur, const struct tui_view *v, enum tui_pane p,
		 int *idx, int max)
{
	if (cur == NULL || cur->snap == NULL)
		return 0;
	size_t n;
	int k = 0;
	if (p == TUI_PANE_BREAKERS) {
		const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &n);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, b[i].name))
				idx[k++] = (int)i;
		sort_ctx = (struct sort_ctx){b, NULL, v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_breaker);
	} else if (p == TUI_PANE_LIMITERS) {
		const fbx_limiter_info *l = fbx_snapshot_limiters(cur->snap, &n);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, l[i].name))
				idx[k++] = (int)i;
		sort_ctx = (struct sort_ctx){NULL, l, v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_limiter);
	} else {
		uint64_t dropped;
		fbx_snapshot_events(cur->snap, &n, &dropped);
		for (size_t i = 0; i < n && k < max; i++)
			idx[k++] = (int)(n - 1 - i); /* newest first */
	}
	return k;
}

int tui_pane_rows(const struct tui_sample *cur, const struct tui_view *view, enum tui_pane p)
{
	static int idx[1 << 16];
	return order(cur, view, p, idx, (int)(sizeof(idx) / sizeof(idx[0])));
}

const char *tui_selected_name(const struct tui_sample *cur, const struct tui_view *view)
{
	static int idx[1 << 16];
	int n = order(cur, view, view->pane, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	if (view->selected < 0 || view->selected >= n || view->pane == TUI_PANE_EVENTS)
		return NULL;
	size_t cnt;
	if (view->pane == TUI_PANE_BREAKERS)
		return fbx_snapshot_breakers(cur->snap, &cnt)[idx[view->selected]].name;
	return fbx_snapshot_limiters(cur->snap, &cnt)[idx[view->selected]].name;
}

int tui_find_row(const struct tui_sample *cur, const struct tui_view *view, const char *name)
{
	static int idx[1 << 16];
	int n = order(cur, view, view->pane, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	size_t cnt;
	for (int k = 0; k < n && view->pane != TUI_PANE_EVENTS; k++) {
		const char *have = view->pane == TUI_PANE_BREAKERS
					   ? fbx_snapshot_breakers(cur->snap, &cnt)[idx[k]].name
					   : fbx_snapshot_limiters(cur->snap, &cnt)[idx[k]].name;
		if (strcmp(have, name) == 0)
			return k;
	}
	return -1;
}

/* ---- the parts of the screen ------------------------------------------------ */

static void header(const struct tui_sample *cur, const struct tui_sample *prev,
		   const struct tui_view *v, struct tui_screen *s)
{
	struct pen p = pen_at(s, 0);
	put(&p, "fusebox-top", -1, TUI_TITLE);
	putf(&p, -1, TUI_BOLD, "  box %s", v->box ? v->box : "?");
	if (cur == NULL || cur->snap == NULL) {
		put(&p, "  (no box: waiting for it to appear)", -1, TUI_WARN);
		return;
	}
	uint64_t up = cur->time_ns > cur->box_created_ns ? (cur->time_ns - cur->box_created_ns) / 1000000000u : 0;
	putf(&p, -1, TUI_NORMAL, "  up %lluh%02llum  v%u", (unsigned long long)(up / 3600),
	     (unsigned long long)(up / 60 % 60), cur->layout_version);
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(cur->snap, &nl);
	const fbx_event *e = fbx_snapshot_events(cur->snap, &ne, &dropped);
	int open = 0, half = 0, forced = 0, dry = 0;
	for (size_t i = 0; i < nb; i++) {
		open += b[i].state == FBX_OPEN;
		half += b[i].state == FBX_HALF_OPEN;
		forced += b[i].state == FBX_FORCED_OPEN || b[i].state == FBX_FORCED_CLOSED;
	}
	for (size_t i = 0; i < nl; i++)
		dry += l[i].dry_run;
	putf(&p, -1, open ? TUI_BAD : TUI_NORMAL, "  %d open", open);
	putf(&p, -1, half ? TUI_WARN : TUI_NORMAL, " %d half-open", half);
	putf(&p, -1, forced ? TUI_MANUAL : TUI_NORMAL, " %d forced", forced);
	putf(&p, -1, dry ? TUI_WARN : TUI_NORMAL, "  %d dry-run", dry);
	double dt = seconds_between(cur, prev);
	uint64_t first = ne ? e[0].seq : 0, pfirst = 0;
	size_t pne = 0;
	if (prev != NULL && prev->snap != NULL) {
		uint64_t pd;
		const fbx_event *pe = fbx_snapshot_events(prev->snap, &pne, &pd);
		pfirst = pne ? pe[0].seq : 0;
	}
	putf(&p, -1, TUI_NORMAL, "  %.1f ev/s", per_s(first + ne, pfirst + pne, dt));
	if (v->read_only)
		put(&p, "  READ-ONLY", -1, TUI_WARN);
	if (v->paused)
		put(&p, "  PAUSED", -1, TUI_WARN);
	putf(&p, -1, TUI_DIM, "  every %.1fs", v->interval_s);
}

static void hint(const struct tui_view *v, struct tui_screen *s)
{
	struct pen p = pen_at(s, 1);
	if (v->message != NULL && v->message[0] != '\0') {
		put(&p, v->message, -1, TUI_BOLD);
		return;
	}
	put(&p, v->read_only ? "Tab pane  j/k move  / filter  s sort  p pause  +/- interval  ? help  q quit"
			     : "Tab pane  j/k move  t trip  c hold  a release  r reset  d dry-run  / filter  "
			       "s sort  p pause  ? help  q quit",
	    -1, TUI_DIM);
}

static void title(struct tui_screen *s, int row, const char *text, bool active)
{
	struct pen p = pen_at(s, row);
	put(&p, text, -1, TUI_TITLE);
	mark_line(s, row, active ? TUI_TITLE : TUI_BOLD);
}

static int breakers_pane(const struct tui_sample *cur, const struct tui_sample *prev,
			 const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = order(cur, v, TUI_PANE_BREAKERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	char t[160];
	snprintf(t, sizeof(t), "BREAKERS %d%s%s", n, v->filter[0] ? "  filter: " : "", v->filter);
	title(s, row++, t, v->pane == TUI_PANE_BREAKERS);
	struct pen p = pen_at(s, row++);
	put(&p, "  STATE           NAME                    CALLS/S FAIL%  SLOW% CONSEC TRIAL-IN  HALF TRIPS RECENT", -1, TUI_BOLD);
	size_t cnt;
	const fbx_breaker_info *b = cur && cur->snap ? fbx_snapshot_breakers(cur->snap, &cnt) : NULL;
	double dt = seconds_between(cur, prev);
	int first = v->pane == TUI_PANE_BREAKERS && v->selected >= rows - 2 ? v->selected - (rows - 3) : 0;
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_breaker_info *x = &b[idx[k]];
		p = pen_at(s, row);
		if (x->corrupt) {
			putf(&p, -1, TUI_BAD, "  ? DAMAGED       %-22.22s (record damaged, not shown)", x->name);
			continue;
		}
		const fbx_breaker_info *px = prev_breaker(prev, x->name);
		putf(&p, 2, TUI_NORMAL, " ");
		putf(&p, 16, tui_state_attr(x->state), "%s %s", tui_state_glyph(x->state), tui_state_word(x->state));
		putf(&p, 23, TUI_NORMAL, "%-22.22s", x->name);
		putf(&p, 8, TUI_NORMAL, "%7.0f", px ? per_s(calls_of(x), calls_of(px), dt) : 0.0);
		double f = failure_pct(x, px), sl = slow_pct(x, px);
		if (f < 0)
			put(&p, "     -", 6, TUI_DIM);
		else
			putf(&p, 6, f >= 50 ? TUI_BAD : f > 0 ? TUI_WARN : TUI_NORMAL, "%5.1f%%", f);
		if (sl < 0)
			put(&p, "     -", 7, TUI_DIM);
		else
			putf(&p, 7, TUI_NORMAL, " %5.1f%%", sl);
		putf(&p, 7, x->consecutive_failures ? TUI_WARN : TUI_NORMAL, "%7llu",
		     (unsigned long long)x->consecutive_failures);
		if (x->state == FBX_OPEN)
			putf(&p, 9, TUI_BAD, " %7.1fs", (double)x->open_remaining_ns / 1e9);
		else
			put(&p, "        -", 9, TUI_DIM);
		putf(&p, 6, TUI_NORMAL, " %2u/%-2u", x->half_open_in_flight, x->config.half_open_max);
		putf(&p, 6, TUI_NORMAL, "%6llu", (unsigned long long)x->trips);
		sparkline(&p, v->history, (size_t)idx[k]);
		if (v->pane == TUI_PANE_BREAKERS && k == v->selected)
			mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0 && row < s->rows) {
		p = pen_at(s, row++);
		put(&p, cur && cur->snap ? "  (no breakers)" : "  (no box)", -1, TUI_DIM);
	}
	return row;
}

static int limiters_pane(const struct tui_sample *cur, const struct tui_sample *prev,
			 const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = order(cur, v, TUI_PANE_LIMITERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	char t[80];
	snprintf(t, sizeof(t), "LIMITERS %d", n);
	title(s, row++, t, v->pane == TUI_PANE_LIMITERS);
	struct pen p = pen_at(s, row++);
	put(&p, "  NAME                   RULE                 ALGO   ALLOWED/S DENIED/S     KEYS  EVICT", -1, TUI_BOLD);
	size_t cnt;
	const fbx_limiter_info *l = cur && cur->snap ? fbx_snapshot_limiters(cur->snap, &cnt) : NULL;
	double dt = seconds_between(cur, prev);
	int first = v->pane == TUI_PANE_LIMITERS && v->selected >= rows - 2 ? v->selected - (rows - 3) : 0;
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_limiter_info *x = &l[idx[k]];
		p = pen_at(s, row);
		if (x->corrupt) {
			putf(&p, -1, TUI_BAD, "  %-22.22s (record damaged, not shown)", x->name);
			continue;
		}
		const fbx_limiter_info *px = prev_limiter(prev, x->name);
		putf(&p, 25, TUI_NORMAL, "  %-22.22s", x->name);
		putf(&p, 21, TUI_NORMAL, "%-20.20s", x->rule);
		putf(&p, 7, TUI_NORMAL, "%-6s", fbx_algorithm_name(x->algorithm));
		putf(&p, 10, TUI_NORMAL, "%9.0f", px ? per_s(x->allowed, px->allowed, dt) : 0.0);
		double d = px ? per_s(x->denied + x->dry_run_denied, px->denied + px->dry_run_denied, dt) : 0;
		putf(&p, 9, d > 0 ? TUI_WARN : TUI_NORMAL, "%9.0f", d);
		putf(&p, 9, TUI_NORMAL, "%9llu", (unsigned long long)x->keys);
		putf(&p, 7, x->evictions ? TUI_WARN : TUI_NORMAL, "%7llu", (unsigned long long)x->evictions);
		if (x->dry_run)
			put(&p, "  DRY-RUN", -1, TUI_WARN);
		if (v->pane == TUI_PANE_LIMITERS && k == v->selected)
			mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0 && row < s->rows) {
		p = pen_at(s, row++);
		put(&p, "  (no limiters)", -1, TUI_DIM);
	}
	return row;
}

static void events_pane(const struct tui_sample *cur, const struct tui_view *v,
			struct tui_screen *s, int row)
{
	if (row >= s->rows)
		return;
	title(s, row++, "EVENTS (newest first)", v->pane == TUI_PANE_EVENTS);
	if (cur == NULL || cur->snap == NULL)
		return;
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(cur->snap, &n, &dropped);
	for (size_t i = 0; i < n && row < s->rows; i++, row++) {
		const fbx_event *x = &e[n - 1 - i];
		struct pen p = pen_at(s, row);
		double ago = cur->time_ns > x->time_ns ? (double)(cur->time_ns - x->time_ns) / 1e9 : 0;
		if (x->corrupt) {
			putf(&p, -1, TUI_BAD, "  %7.1fs ago  (damaged event)", ago);
			continue;
		}
		bool manual = x->kind == FBX_EV_MANUAL || x->kind == FBX_EV_CONFIG;
		putf(&p, 16, TUI_DIM, "  %7.1fs ago", ago);
		putf(&p, 24, TUI_NORMAL, "%-23.23s", x->name);
		if (x->from >= 0 || x->to >= 0) {
			putf(&p, -1, x->from >= 0 ? tui_state_attr(x->from) : TUI_DIM, "%s",
			     x->from >= 0 ? tui_state_word(x->from) : "-");
			put(&p, " -> ", -1, TUI_NORMAL);
			putf(&p, -1, x->to >= 0 ? tui_state_attr(x->to) : TUI_DIM, "%s",
			     x->to >= 0 ? tui_state_word(x->to) : "-");
		}
		putf(&p, -1, manual ? TUI_MANUAL : TUI_NORMAL, "  %s", fbx_event_cause_name(x->cause));
		if (manual)
			putf(&p, -1, TUI_MANUAL, "  by uid %u pid %d%s%s", (unsigned)x->uid, (int)x->pid,
			     x->reason[0] ? ": " : "", x->reason);
	}
}

/* ---- the detail of one record --------------------------------------------- */

static void kv(struct tui_screen *s, int *row, const char *key, enum tui_attr attr,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void kv(struct tui_screen *s, int *row, const char *key, enum tui_attr attr,
	       const char *fmt, ...)
{
	if (*row >= s->rows)
		return;
	char buf[TUI_COLS_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	struct pen p = pen_at(s, (*row)++);
	putf(&p, 24, TUI_BOLD, "  %s", key);
	put(&p, buf, -1, attr);
}

static void recent_events(const struct tui_sample *cur, const char *name, struct tui_screen *s,
			  int row)
{
	if (row >= s->rows)
		return;
	title(s, row++, "RECENT EVENTS", false);
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(cur->snap, &n, &dropped);
	for (size_t i = 0; i < n && row < s->rows; i++) {
		const fbx_event *x = &e[n - 1 - i];
		if (x->corrupt || strcmp(x->name, name) != 0)
			continue;
		struct pen p = pen_at(s, row++);
		bool manual = x->kind == FBX_EV_MANUAL || x->kind == FBX_EV_CONFIG;
		double ago = cur->time_ns > x->time_ns ? (double)(cur->time_ns - x->time_ns) / 1e9 : 0;
		putf(&p, 16, TUI_DIM, "  %7.1fs ago", ago);
		if (x->from >= 0 || x->to >= 0)
			putf(&p, 32, TUI_NORMAL, "%s -> %s", x->from >= 0 ? tui_state_word(x->from) : "-",
			     x->to >= 0 ? tui_state_word(x->to) : "-");
		putf(&p, -1, manual ? TUI_MANUAL : TUI_NORMAL, " %s", fbx_event_cause_name(x->cause));
		if (manual)
			putf(&p, -1, TUI_MANUAL, "  by uid %u pid %d%s%s", (unsigned)x->uid, (int)x->pid,
			     x->reason[0] ? ": " : "", x->reason);
	}
}

static void breaker_detail(const struct tui_sample *cur, const fbx_breaker_info *b,
			   struct tui_screen *s, int row)
{
	char t[96];
	snprintf(t, sizeof(t), "BREAKER %s", b->name);
	title(s, row++, t, true);
	if (b->corrupt) {
		kv(s, &row, "record", TUI_BAD, "damaged: not shown");
		return;
	}
	const fbx_breaker_config *c = &b->config;
	kv(s, &row, "state", tui_state_attr(b->state), "%s %s", tui_state_glyph(b->state),
	   tui_state_word(b->state));
	if (b->state == FBX_OPEN)
		kv(s, &row, "trial allowed in", TUI_BAD, "%.1f s", (double)b->open_remaining_ns / 1e9);
	kv(s, &row, "calls", TUI_NORMAL, "%llu ok, %llu failed, %llu ignored, %llu slow",
	   (unsigned long long)b->successes, (unsigned long long)b->failures,
	   (unsigned long long)b->ignored, (unsigned long long)b->slow);
	kv(s, &row, "rejected / trips", TUI_NORMAL, "%llu / %llu", (unsigned long long)b->rejected,
	   (unsigned long long)b->trips);
	kv(s, &row, "consecutive failures", TUI_NORMAL, "%llu of %u",
	   (unsigned long long)b->consecutive_failures, c->fail_max);
	if (c->failure_rate_pct || c->slow_rate_pct)
		kv(s, &row, "window", TUI_NORMAL, "%llu calls, %llu failed, %llu slow (trips at %u%% failed / %u%% slow, min %u)",
		   (unsigned long long)b->window_calls, (unsigned long long)b->window_failures,
		   (unsigned long long)b->window_slow, c->failure_rate_pct, c->slow_rate_pct, c->min_calls);
	kv(s, &row, "open period", TUI_NORMAL, "%.1f s%s", (double)c->reset_timeout_ns / 1e9,
	   c->reset_timeout_max_ns > c->reset_timeout_ns ? ", doubling" : "");
	kv(s, &row, "half-open", TUI_NORMAL, "%u/%u trials in flight, %u successes close, lease %.1f s",
	   b->half_open_in_flight, c->half_open_max, c->success_threshold,
	   (double)c->trial_lease_ns / 1e9);
	recent_events(cur, b->name, s, row + 1);
}

static void limiter_detail(const struct tui_sample *cur, const fbx_limiter_info *l,
			   struct tui_screen *s, int row)
{
	char t[96];
	snprintf(t, sizeof(t), "LIMITER %s", l->name);
	title(s, row++, t, true);
	if (l->corrupt) {
		kv(s, &row, "record", TUI_BAD, "damaged: not shown");
		return;
	}
	kv(s, &row, "rule", TUI_NORMAL, "%s (%s%s)", l->rule, fbx_algorithm_name(l->algorithm),
	   l->keyed ? ", keyed" : "");
	kv(s, &row, "mode", l->dry_run ? TUI_WARN : TUI_NORMAL, "%s", l->dry_run ? "DRY-RUN: denies nothing" : "enforcing");
	kv(s, &row, "decisions", TUI_NORMAL, "%llu allowed, %llu denied, %llu dry-run denied",
	   (unsigned long long)l->allowed, (unsigned long long)l->denied,
	   (unsigned long long)l->dry_run_denied);
	if (l->keyed) {
		kv(s, &row, "keys", TUI_NORMAL, "%llu held, %llu evicted", (unsigned long long)l->keys,
		   (unsigned long long)l->evictions);
		if (row < s->rows)
			title(s, row++, "MOST DENIED KEYS (estimates, never low)", false);
		for (uint32_t i = 0; i < l->ntop && row < s->rows; i++) {
			struct pen p = pen_at(s, row++);
			putf(&p, 52, TUI_NORMAL, "  %-48s", l->top[i].key);
			putf(&p, -1, TUI_WARN, "%10llu", (unsigned long long)l->top[i].denials);
		}
	}
	recent_events(cur, l->name, s, row + 1);
}

static void detail(const struct tui_sample *cur, const struct tui_view *v, struct tui_screen *s)
{
	const char *name = cur && cur->snap ? tui_selected_name(cur, v) : NULL;
	struct pen p = pen_at(s, 2);
	if (name == NULL) {
		put(&p, "  nothing selected (Enter to go back)", -1, TUI_DIM);
		return;
	}
	size_t n;
	if (v->pane == TUI_PANE_BREAKERS) {
		const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(b[i].name, name) == 0)
				breaker_detail(cur, &b[i], s, 2);
	} else {
		const fbx_limiter_info *l = fbx_snapshot_limiters(cur->snap, &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(l[i].name, name) == 0)
				limiter_detail(cur, &l[i], s, 2);
	}
}

void tui_render(const struct tui_sample *cur, const struct tui_sample *prev,
		const struct tui_view *view, int rows, int cols, struct tui_screen *out)
{
	out->rows = rows < 1 ? 1 : rows > TUI_ROWS_MAX ? TUI_ROWS_MAX : rows;
	out->cols = cols < 1 ? 1 : cols > TUI_COLS_MAX ? TUI_COLS_MAX : cols;
	for (int r = 0; r < out->rows; r++) {
		out->line[r].text[0] = '\0';
		out->line[r].nspans = 0;
	}
	header(cur, prev, view, out);
	if (out->rows > 1)
		hint(view, out);
	if (view->detail) {
		detail(cur, view, out);
		return;
	}
	/* what is left: breakers ~45%, limiters ~25%, events the rest */
	int left = out->rows - 2, row = 2;
	int nb = left * 45 / 100, nl = left * 25 / 100;
	if (nb < 4)
		nb = 4;
	if (nl < 3)
		nl = 3;
	row = breakers_pane(cur, prev, view, out, row, nb);
	if (row < 2 + nb)
		row = 2 + nb < out->rows ? 2 + nb : row;
	int lim_end = row + nl;
	row = limiters_pane(cur, prev, view, out, row, nl);
	if (row < lim_end && lim_end < out->rows)
		row = lim_end;
	events_pane(cur, view, out, row);
}
