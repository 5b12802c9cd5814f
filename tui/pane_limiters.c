/* pane_limiters.c — the limiters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

enum { NAME, RULE, ALGO, ALLOW, DENY, KEYS, EVICT };

int tui_limiters_pane(const struct tui_sample *cur, const struct tui_sample *prev,
			 const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_LIMITERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	size_t cnt = 0;
	const fbx_limiter_info *l = cur && cur->snap ? fbx_snapshot_limiters(cur->snap, &cnt) : NULL;
	int first = tui_first_row(v, TUI_PANE_LIMITERS, n, rows - 2);
	char t[256], count[48];
	snprintf(t, sizeof(t), "LIMITERS %s  by %s%s%s",
		 tui_count(count, sizeof(count), first,
			   tui_rows_shown(s, row + 2, rows - 2, first, n), n),
		 tui_sort_word(v->sort), v->filter[0] ? "  filter: " : "", v->filter);
	tui_title(s, row++, t, v->pane == TUI_PANE_LIMITERS);
	struct pen p = tui_pen_at(s, row++);
	/* 80 columns hold every column; the rule gives way to the dry-run badge */
	tui_heading(&p, TUI_COLS_LIMITERS);
	int nc;
	const struct tui_column *col = tui_columns(TUI_COLS_LIMITERS, &nc);
	(void)nc;
	double dt = tui_seconds_between(cur, prev);
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_limiter_info *x = &l[idx[k]];
		p = tui_pen_at(s, row);
		if (x->corrupt) {
			tui_putf(&p, -1, TUI_BAD, "  %-22.22s (record damaged, not shown)", x->name);
			if (v->pane == TUI_PANE_LIMITERS && k == v->selected)
				tui_mark_line(s, row, TUI_SELECTED);
			continue;
		}
		const fbx_limiter_info *px = tui_prev_limiter(prev, (size_t)idx[k], x->name);
		tui_cell(&p, col, NAME, TUI_NORMAL, "%s", x->name);
		if (x->dry_run) {
			/* the rule gives way to the badge */
			int start = p.col;
			tui_cell(&p, col, RULE, TUI_NORMAL, "%-12.12s", x->rule);
			/* on a screen too narrow for the cell, the pen stopped at
			 * its edge: never step back before where the cell began */
			p.col = p.col - 4 < start ? start : p.col - 4;
			tui_put(&p, " DRY", 4, TUI_WARN);
		} else {
			tui_cell(&p, col, RULE, TUI_NORMAL, "%s", x->rule);
		}
		tui_cell(&p, col, ALGO, TUI_NORMAL, "%s", fbx_algorithm_name(x->algorithm));
		tui_cell(&p, col, ALLOW, TUI_NORMAL, "%.0f", px ? tui_per_s(x->allowed, px->allowed, dt) : 0.0);
		double d = px ? tui_per_s(x->denied + x->dry_run_denied, px->denied + px->dry_run_denied, dt) : 0;
		tui_cell(&p, col, DENY, d > 0 ? TUI_WARN : TUI_NORMAL, "%.0f", d);
		char keys[32];
		/* a log limiter's keys live in the log's own table */
		uint32_t cap = x->algorithm == FBX_ALGO_LOG ? cur->log_key_capacity : cur->key_capacity;
		if (x->keyed && cap > 0)
			snprintf(keys, sizeof(keys), "%llu/%u", (unsigned long long)x->keys, cap);
		else if (x->keyed)
			snprintf(keys, sizeof(keys), "%llu", (unsigned long long)x->keys);
		else
			snprintf(keys, sizeof(keys), "-");
		tui_cell(&p, col, KEYS, TUI_NORMAL, "%s", keys);
		tui_cell(&p, col, EVICT, x->evictions ? TUI_WARN : TUI_NORMAL, "%llu",
			 (unsigned long long)x->evictions);
		if (v->pane == TUI_PANE_LIMITERS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0)
		tui_empty(s, &row, v, cnt, "  (no limiters)");
	return row;
}

