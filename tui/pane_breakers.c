/* pane_breakers.c — the breakers, worst first by default. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

enum { STATE, SINCE, NAME, CALLS, FAIL, SLOW, CONSEC, TRIAL, HALF, TRIPS, RECENT };

/* A rate against the breaker's own threshold for it: a healthy 0.7% of
 * failures is nothing to look at on a breaker that trips at 50%, while
 * 20% of slow calls on one that trips at 25% is; a policy that is off
 * has nothing to be near. */
enum tui_attr tui_rate_attr(double value, uint32_t threshold)
{
	if (threshold == 0 || value < 0)
		return TUI_NORMAL;
	if (value >= threshold)
		return TUI_BAD;
	return value * 2 >= threshold ? TUI_WARN : TUI_NORMAL;
}

int tui_breakers_pane(const struct tui_sample *cur, const struct tui_sample *prev,
			 const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_BREAKERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	size_t cnt = 0;
	const fbx_breaker_info *b = cur && cur->snap ? fbx_snapshot_breakers(cur->snap, &cnt) : NULL;
	int first = tui_first_row(v, TUI_PANE_BREAKERS, n, rows - 2);
	char t[256], count[48];
	snprintf(t, sizeof(t), "BREAKERS %s  by %s%s%s",
		 tui_count(count, sizeof(count), first,
			   tui_rows_shown(s, row + 2, rows - 2, first, n), n),
		 tui_sort_word(v->sort), v->filter[0] ? "  filter: " : "", v->filter);
	tui_title(s, row++, t, v->pane == TUI_PANE_BREAKERS);
	struct pen p = tui_pen_at(s, row++);
	/* up to TRIAL-IN in 80 columns, how long each has been in its state
	 * next to the state; trials in flight, trips and the sparkline come
	 * after (the detail view has them all) */
	tui_heading(&p, TUI_COLS_BREAKERS);
	int nc;
	const struct tui_column *col = tui_columns(TUI_COLS_BREAKERS, &nc);
	double dt = tui_seconds_between(cur, prev);
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_breaker_info *x = &b[idx[k]];
		p = tui_pen_at(s, row);
		if (x->corrupt) {
			tui_putf(&p, -1, TUI_BAD, "  ? DAMAGED             %-22.22s (record damaged, not shown)", x->name);
			if (v->pane == TUI_PANE_BREAKERS && k == v->selected)
				tui_mark_line(s, row, TUI_SELECTED);
			continue;
		}
		const fbx_breaker_info *px = tui_prev_breaker(prev, (size_t)idx[k], x->name);
		const fbx_breaker_config *c = &x->config;
		char word[32];
		tui_cell(&p, col, STATE, tui_state_attr(x->state), "%s %s", tui_state_glyph(x->state),
			 tui_breaker_word(x, word, sizeof(word)));
		char age[16];
		tui_age(age, sizeof(age), x->state_age_ns, true);
		tui_cell(&p, col, SINCE, TUI_NORMAL, "%s", age);
		tui_cell(&p, col, NAME, TUI_NORMAL, "%s", x->name);
		tui_cell(&p, col, CALLS, TUI_NORMAL, "%.0f",
			 px ? tui_per_s(tui_calls_of(x), tui_calls_of(px), dt) : 0.0);
		double f = tui_failure_pct(x, px), sl = tui_slow_pct(x, px);
		if (f < 0)
			tui_cell(&p, col, FAIL, TUI_DIM, "-");
		else
			tui_cell(&p, col, FAIL, tui_rate_attr(f, c->failure_rate_pct), "%.1f%%", f);
		if (sl < 0)
			tui_cell(&p, col, SLOW, TUI_DIM, "-");
		else
			tui_cell(&p, col, SLOW, tui_rate_attr(sl, c->slow_rate_pct), "%.1f%%", sl);
		tui_cell(&p, col, CONSEC, tui_rate_attr((double)x->consecutive_failures, c->fail_max),
			 "%llu", (unsigned long long)x->consecutive_failures);
		if (x->trial_due)
			tui_cell(&p, col, TRIAL, TUI_BAD, "due");
		else if (x->state == FBX_OPEN)
			tui_cell(&p, col, TRIAL, TUI_BAD, "%.1fs", (double)x->open_remaining_ns / 1e9);
		else
			tui_cell(&p, col, TRIAL, TUI_DIM, "-");
		tui_cell(&p, col, HALF, TUI_NORMAL, "%u/%-2u", x->half_open_in_flight, c->half_open_max);
		tui_cell(&p, col, TRIPS, TUI_NORMAL, "%llu", (unsigned long long)x->trips);
		if (v->history != NULL) {
			tui_gap(&p, RECENT);
			tui_sparkline(&p, v->history, (size_t)idx[k]);
		}
		if (v->pane == TUI_PANE_BREAKERS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	(void)nc;
	if (n == 0)
		tui_empty(s, &row, v, cnt, cur && cur->snap ? "  (no breakers)" : "  (no box)");
	return row;
}
