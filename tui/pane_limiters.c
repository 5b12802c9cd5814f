/* pane_limiters.c — the limiters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

int tui_limiters_pane(const struct tui_sample *cur, const struct tui_sample *prev,
			 const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_LIMITERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	char t[80];
	snprintf(t, sizeof(t), "LIMITERS %d", n);
	tui_title(s, row++, t, v->pane == TUI_PANE_LIMITERS);
	struct pen p = tui_pen_at(s, row++);
	/* 80 columns hold every column; the rule gives way to the dry-run badge */
	tui_put(&p, "  NAME               RULE              ALGO    ALLOW/S  DENY/S    KEYS/CAP EVICT", -1, TUI_BOLD);
	size_t cnt;
	const fbx_limiter_info *l = cur && cur->snap ? fbx_snapshot_limiters(cur->snap, &cnt) : NULL;
	double dt = tui_seconds_between(cur, prev);
	int first = v->pane == TUI_PANE_LIMITERS && v->selected >= rows - 2 ? v->selected - (rows - 3) : 0;
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_limiter_info *x = &l[idx[k]];
		p = tui_pen_at(s, row);
		if (x->corrupt) {
			tui_putf(&p, -1, TUI_BAD, "  %-22.22s (record damaged, not shown)", x->name);
			continue;
		}
		const fbx_limiter_info *px = tui_prev_limiter(prev, (size_t)idx[k], x->name);
		tui_putf(&p, 21, TUI_NORMAL, "  %-18.18s", x->name);
		if (x->dry_run) {
			tui_putf(&p, 13, TUI_NORMAL, "%-12.12s", x->rule);
			tui_put(&p, "DRY ", 5, TUI_WARN);
		} else {
			tui_putf(&p, 18, TUI_NORMAL, "%-17.17s", x->rule);
		}
		tui_putf(&p, 7, TUI_NORMAL, "%-6s", fbx_algorithm_name(x->algorithm));
		tui_putf(&p, 8, TUI_NORMAL, "%8.0f", px ? tui_per_s(x->allowed, px->allowed, dt) : 0.0);
		double d = px ? tui_per_s(x->denied + x->dry_run_denied, px->denied + px->dry_run_denied, dt) : 0;
		tui_putf(&p, 8, d > 0 ? TUI_WARN : TUI_NORMAL, "%8.0f", d);
		char keys[32];
		/* a log limiter's keys live in the log's own table */
		uint32_t cap = x->algorithm == FBX_ALGO_LOG ? cur->log_key_capacity : cur->key_capacity;
		if (x->keyed && cap > 0)
			snprintf(keys, sizeof(keys), "%llu/%u", (unsigned long long)x->keys, cap);
		else if (x->keyed)
			snprintf(keys, sizeof(keys), "%llu", (unsigned long long)x->keys);
		else
			snprintf(keys, sizeof(keys), "-");
		tui_putf(&p, 12, TUI_NORMAL, "%12s", keys);
		tui_putf(&p, 6, x->evictions ? TUI_WARN : TUI_NORMAL, "%6llu", (unsigned long long)x->evictions);
		if (v->pane == TUI_PANE_LIMITERS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0 && row < s->rows) {
		p = tui_pen_at(s, row++);
		tui_put(&p, "  (no limiters)", -1, TUI_DIM);
	}
	return row;
}

