/* screen.c — the screen: the states' words and glyphs, and the layout that
 * gives each part its rows (parts: header.c, pane_*.c, detail.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* The library's word, so that the console, fuseboxctl and the documents
 * spell a state one way; what needs attention stands out by its glyph
 * and colour (and bold or underline without colour), not by capitals. */
const char *tui_state_word(int state)
{
	return fbx_breaker_state_label(state);
}

/* Not plain "open": the move to half-open waits for a call, so an idle
 * breaker stays open past its period, and an operator must tell that
 * from one still counting down. */
const char *tui_breaker_word(const fbx_breaker_info *b, char *buf, size_t len)
{
	if (b->trial_due)
		snprintf(buf, len, "%s, due", tui_state_word(FBX_OPEN));
	else
		snprintf(buf, len, "%s", tui_state_word(b->state));
	return buf;
}

const char *tui_sort_word(enum tui_sort sort)
{
	static const char *const w[TUI_SORT_COUNT] = {"worst first", "name", "busiest"};
	return sort >= 0 && sort < TUI_SORT_COUNT ? w[sort] : "?";
}

void tui_age(char *buf, size_t len, uint64_t ns, bool compact)
{
	unsigned long long s = (unsigned long long)(ns / 1000000000u);
	if (compact) {
		/* the largest unit only: a column, read at a glance */
		char unit = 's';
		unsigned long long v = s;
		if (s >= 86400)
			v = s / 86400, unit = 'd';
		else if (s >= 3600)
			v = s / 3600, unit = 'h';
		else if (s >= 60)
			v = s / 60, unit = 'm';
		snprintf(buf, len, "%llu%c", v, unit);
	} else if (s == 0)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000u));
	else if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%llud%02lluh", s / 86400, s / 3600 % 24);
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

/* Lines of the breakers' and the limiters' panes (titles and headings
 * included) on a screen of rows lines: breakers ~45%, limiters ~25%,
 * events the rest; with the workers, health or resilience below, they get
 * more of it. */
static void layout(const struct tui_view *view, int rows, int *nb, int *nl)
{
	bool lower = view->pane == TUI_PANE_WORKERS || view->pane == TUI_PANE_HEALTH ||
		     view->pane == TUI_PANE_RESILIENCE;
	int left = rows - 2;
	*nb = left * (lower ? 30 : 45) / 100, *nl = left * (lower ? 20 : 25) / 100;
	if (*nb < 4)
		*nb = 4;
	if (*nl < 3)
		*nl = 3;
}

int tui_page_rows(const struct tui_view *view, int rows)
{
	int nb, nl, n;
	layout(view, rows, &nb, &nl);
	switch (view->pane) {
	case TUI_PANE_BREAKERS: n = nb - 2; break;
	case TUI_PANE_LIMITERS: n = nl - 2; break;
	case TUI_PANE_HEALTH: n = rows - 2 - nb - nl - 3; break;
	/* the headings of the resilience pane's kinds take a few lines */
	case TUI_PANE_RESILIENCE: n = rows - 2 - nb - nl - 4; break;
	case TUI_PANE_EVENTS: n = rows - 2 - nb - nl - 1; break;
	default: n = rows - 2 - nb - nl - 2; break;
	}
	return n < 1 ? 1 : n;
}

int tui_printout_rows(const struct tui_sample *cur)
{
	if (cur == NULL || cur->snap == NULL)
		return 8;
	size_t nb, nl, nw, nc, ng, nh, nk, ne;
	uint64_t dropped;
	fbx_snapshot_breakers(cur->snap, &nb);
	fbx_snapshot_limiters(cur->snap, &nl);
	fbx_snapshot_workers(cur->snap, &nw);
	fbx_snapshot_checks(cur->snap, &nc);
	fbx_snapshot_budgets(cur->snap, &ng);
	fbx_snapshot_bulkheads(cur->snap, &nh);
	fbx_snapshot_caches(cur->snap, &nk);
	fbx_snapshot_events(cur->snap, &ne, &dropped);
	/* titles, headings and "(none)" lines: a few per pane */
	size_t n = 2 + nb + nl + nw + nc + ng + nh + nk + ne + 6 * 6;
	return n > 1u << 22 ? 1 << 22 : (int)n;
}

void tui_render(const struct tui_sample *cur, const struct tui_sample *prev,
		const struct tui_view *view, int rows, int cols, struct tui_screen *out)
{
	if (out->line == NULL || out->cap <= 0) {
		out->line = out->own;
		out->cap = TUI_ROWS_MAX;
	}
	out->rows = rows < 1 ? 1 : rows > out->cap ? out->cap : rows;
	out->cols = cols < 1 ? 1 : cols > TUI_COLS_MAX ? TUI_COLS_MAX : cols;
	for (int r = 0; r < out->rows; r++) {
		out->line[r].text[0] = '\0';
		out->line[r].nspans = 0;
	}
	tui_header(cur, prev, view, out);
	if (out->rows > 1)
		tui_hint(view, out);
	if (view->detail) {
		tui_detail(cur, view, out);
		return;
	}
	if (view->all_panes) {
		/* a printout: every pane whole, one after the other */
		int row = tui_breakers_pane(cur, prev, view, out, 2, out->rows);
		row = tui_limiters_pane(cur, prev, view, out, row, out->rows);
		row = tui_workers_pane(cur, prev, view, out, row, out->rows);
		row = tui_health_pane(cur, view, out, row, out->rows);
		row = tui_resilience_pane(cur, view, out, row, out->rows);
		tui_events_pane(cur, view, out, row, out->rows - row);
		return;
	}
	int nb, nl, row = 2;
	layout(view, out->rows, &nb, &nl);
	row = tui_breakers_pane(cur, prev, view, out, row, nb);
	if (row < 2 + nb)
		row = 2 + nb < out->rows ? 2 + nb : row;
	int lim_end = row + nl;
	row = tui_limiters_pane(cur, prev, view, out, row, nl);
	if (row < lim_end && lim_end < out->rows)
		row = lim_end;
	int end = out->rows;
	if (view->pane == TUI_PANE_WORKERS)
		end = tui_workers_pane(cur, prev, view, out, row, out->rows - row);
	else if (view->pane == TUI_PANE_HEALTH)
		end = tui_health_pane(cur, view, out, row, out->rows - row);
	else if (view->pane == TUI_PANE_RESILIENCE)
		end = tui_resilience_pane(cur, view, out, row, out->rows - row);
	else
		tui_events_pane(cur, view, out, row, out->rows - row);
	/* a box has a few checks or workers, and the pane that shows them
	 * would leave the rest of the screen blank: the newest events go
	 * there, which is what an operator looks at next (a title and at
	 * least two of them, or nothing) */
	if (end + 3 <= out->rows)
		tui_events_pane(cur, view, out, end, out->rows - end);
}
