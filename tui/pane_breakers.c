/* pane_breakers.c — the breakers, worst first by default. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

int tui_breakers_pane(const struct tui_sample *cur, const struct tui_sample *prev,
			 const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_BREAKERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	char t[160];
	snprintf(t, sizeof(t), "BREAKERS %d%s%s", n, v->filter[0] ? "  filter: " : "", v->filter);
	tui_title(s, row++, t, v->pane == TUI_PANE_BREAKERS);
	struct pen p = tui_pen_at(s, row++);
	/* up to TRIAL-IN in 80 columns, how long each has been in its state
	 * next to the state; trials in flight, trips and the sparkline come
	 * after (the detail view has them all) */
	tui_put(&p, "  STATE           SINCE NAME                CALLS/S FAIL%  SLOW% CONSEC TRIAL-IN  HALF TRIPS RECENT", -1, TUI_BOLD);
	size_t cnt;
	const fbx_breaker_info *b = cur && cur->snap ? fbx_snapshot_breakers(cur->snap, &cnt) : NULL;
	double dt = tui_seconds_between(cur, prev);
	int first = v->pane == TUI_PANE_BREAKERS && v->selected >= rows - 2 ? v->selected - (rows - 3) : 0;
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_breaker_info *x = &b[idx[k]];
		p = tui_pen_at(s, row);
		if (x->corrupt) {
			tui_putf(&p, -1, TUI_BAD, "  ? DAMAGED             %-22.22s (record damaged, not shown)", x->name);
			continue;
		}
		const fbx_breaker_info *px = tui_prev_breaker(prev, (size_t)idx[k], x->name);
		tui_putf(&p, 2, TUI_NORMAL, " ");
		tui_putf(&p, 16, tui_state_attr(x->state), "%s %s", tui_state_glyph(x->state), tui_breaker_word(x));
		char age[16];
		tui_age(age, sizeof(age), x->state_age_ns, true);
		tui_putf(&p, 6, TUI_NORMAL, "%5s ", age);
		tui_putf(&p, 19, TUI_NORMAL, "%-18.18s", x->name);
		tui_putf(&p, 8, TUI_NORMAL, "%7.0f", px ? tui_per_s(tui_calls_of(x), tui_calls_of(px), dt) : 0.0);
		double f = tui_failure_pct(x, px), sl = tui_slow_pct(x, px);
		if (f < 0)
			tui_put(&p, "     -", 6, TUI_DIM);
		else
			tui_putf(&p, 6, f >= 50 ? TUI_BAD : f > 0 ? TUI_WARN : TUI_NORMAL, "%5.1f%%", f);
		if (sl < 0)
			tui_put(&p, "     -", 7, TUI_DIM);
		else
			tui_putf(&p, 7, TUI_NORMAL, " %5.1f%%", sl);
		tui_putf(&p, 7, x->consecutive_failures ? TUI_WARN : TUI_NORMAL, "%7llu",
		     (unsigned long long)x->consecutive_failures);
		if (x->trial_due)
			tui_put(&p, "      due", 9, TUI_BAD);
		else if (x->state == FBX_OPEN)
			tui_putf(&p, 9, TUI_BAD, " %7.1fs", (double)x->open_remaining_ns / 1e9);
		else
			tui_put(&p, "        -", 9, TUI_DIM);
		tui_putf(&p, 6, TUI_NORMAL, " %2u/%-2u", x->half_open_in_flight, x->config.half_open_max);
		tui_putf(&p, 6, TUI_NORMAL, "%6llu", (unsigned long long)x->trips);
		tui_sparkline(&p, v->history, (size_t)idx[k]);
		if (v->pane == TUI_PANE_BREAKERS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0 && row < s->rows) {
		p = tui_pen_at(s, row++);
		tui_put(&p, cur && cur->snap ? "  (no breakers)" : "  (no box)", -1, TUI_DIM);
	}
	return row;
}

