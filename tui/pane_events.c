/* pane_events.c — the event ring, newest first. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

void tui_events_pane(const struct tui_sample *cur, const struct tui_view *v,
		     struct tui_screen *s, int row, int rows)
{
	if (row >= s->rows)
		return;
	if (cur == NULL || cur->snap == NULL) {
		tui_title(s, row, "EVENTS (newest first)", v->pane == TUI_PANE_EVENTS);
		return;
	}
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(cur->snap, &n, &dropped);
	int shown = (int)(n < (size_t)INT32_MAX ? n : INT32_MAX);
	int first = tui_first_row(v, TUI_PANE_EVENTS, shown, rows - 1);
	char t[96], count[48];
	int in_sight = tui_rows_shown(s, row + 1, rows - 1, first, shown);
	snprintf(t, sizeof(t), "EVENTS (newest first)%s%s", in_sight > 0 && in_sight < shown ? "  " : "",
		 in_sight > 0 && in_sight < shown
			 ? tui_count(count, sizeof(count), first, in_sight, shown)
			 : "");
	tui_title(s, row++, t, v->pane == TUI_PANE_EVENTS);
	for (int k = first; k < shown && row < s->rows && k - first < rows - 1; k++, row++) {
		struct pen p = tui_pen_at(s, row);
		tui_gap(&p, 0);
		tui_event_line(&p, cur, &e[n - 1 - (size_t)k]);
		if (v->pane == TUI_PANE_EVENTS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
}

/* The library's line (fusebox-top, fuseboxctl and the documents print
 * the same), coloured as a whole: an operator's action or a change of
 * configuration stands out, a transition takes the colour of the state
 * it led to. */
void tui_event_line(struct pen *p, const struct tui_sample *cur, const fbx_event *x)
{
	char line[TUI_COLS_MAX + 1];
	fbx_event_format(x, cur->time_ns, line, sizeof(line));
	bool manual = x->kind == FBX_EV_MANUAL || x->kind == FBX_EV_CONFIG;
	enum tui_attr a = x->corrupt ? TUI_BAD
			  : manual ? TUI_MANUAL
			  : x->to >= 0 && x->to != x->from ? tui_state_attr(x->to)
			  : TUI_NORMAL;
	tui_put(p, line, -1, a);
}
