/* pane_events.c — the event ring, newest first. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

void tui_events_pane(const struct tui_sample *cur, const struct tui_view *v,
			struct tui_screen *s, int row)
{
	if (row >= s->rows)
		return;
	tui_title(s, row++, "EVENTS (newest first)", v->pane == TUI_PANE_EVENTS);
	if (cur == NULL || cur->snap == NULL)
		return;
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(cur->snap, &n, &dropped);
	for (size_t i = 0; i < n && row < s->rows; i++, row++) {
		const fbx_event *x = &e[n - 1 - i];
		struct pen p = tui_pen_at(s, row);
		tui_event_line(&p, cur, x, true);
	}
}

/* One event: when, (whose,) from -> to, why; an operator's reason before
 * who acted, so that the reason shows at 80 columns. */
void tui_event_line(struct pen *p, const struct tui_sample *cur, const fbx_event *x,
		    bool with_name)
{
	double ago = cur->time_ns > x->time_ns ? (double)(cur->time_ns - x->time_ns) / 1e9 : 0;
	if (x->corrupt) {
		tui_putf(p, -1, TUI_BAD, "  %7.1fs ago  (damaged event)", ago);
		return;
	}
	bool manual = x->kind == FBX_EV_MANUAL || x->kind == FBX_EV_CONFIG;
	tui_putf(p, 16, TUI_DIM, "  %7.1fs ago", ago);
	if (with_name)
		tui_putf(p, 19, TUI_NORMAL, "%-18.18s", x->name);
	if (x->from >= 0 || x->to >= 0) {
		tui_putf(p, -1, x->from >= 0 ? tui_state_attr(x->from) : TUI_DIM, "%s",
			 x->from >= 0 ? tui_state_word(x->from) : "-");
		tui_put(p, " -> ", -1, TUI_NORMAL);
		tui_putf(p, -1, x->to >= 0 ? tui_state_attr(x->to) : TUI_DIM, "%s",
			 x->to >= 0 ? tui_state_word(x->to) : "-");
	}
	tui_putf(p, -1, manual ? TUI_MANUAL : TUI_NORMAL, "  %s", fbx_event_cause_name(x->cause));
	if (manual)
		tui_putf(p, -1, TUI_MANUAL, "%s%s  (uid %u pid %d)", x->reason[0] ? ": " : "", x->reason,
			 (unsigned)x->uid, (int)x->pid);
}
