/* pane_workers.c — the processes that registered, as uwsgitop shows a
 * server's workers: who, alive or why not, heartbeat, work in flight,
 * requests served and served per second since the previous sample. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

const char *tui_worker_word(const fbx_worker_info *w)
{
	if (w->corrupt)
		return "? damaged";
	if (w->alive)
		return "o alive";
	return w->process_gone ? "X gone" : "X stale";
}

enum { PID, ROLE, STATE, BEAT, TIMEOUT, INFLIGHT, SERVED, REQS, UP };

int tui_workers_pane(const struct tui_sample *cur, const struct tui_sample *prev,
		     const struct tui_view *v, struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_WORKERS, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	size_t cnt = 0;
	const fbx_worker_info *w = cur && cur->snap ? fbx_snapshot_workers(cur->snap, &cnt) : NULL;
	const fbx_health *h = cur && cur->snap ? fbx_snapshot_health(cur->snap) : NULL;
	double dt = tui_seconds_between(cur, prev);
	/* requests a second over the workers seen in both samples */
	double total = 0;
	for (int k = 0; k < n; k++) {
		const fbx_worker_info *pw = tui_prev_worker(prev, (size_t)idx[k], &w[idx[k]]);
		if (pw != NULL && !w[idx[k]].corrupt && !pw->corrupt)
			total += tui_per_s(w[idx[k]].served, pw->served, dt);
	}
	int first = tui_first_row(v, TUI_PANE_WORKERS, n, rows - 2);
	char t[256], count[48];
	tui_count(count, sizeof(count), first, tui_rows_shown(s, row + 2, rows - 2, first, n), n);
	if (h != NULL)
		snprintf(t, sizeof(t), "WORKERS %s  %u alive  %u dead  %llu in flight  %.1f req/s  by %s%s%s",
			 count, h->workers_alive + h->masters_alive, h->workers_dead,
			 (unsigned long long)h->in_flight, total, tui_sort_word(v->sort),
			 v->filter[0] ? "  filter: " : "", v->filter);
	else
		snprintf(t, sizeof(t), "WORKERS");
	tui_title(s, row++, t, v->pane == TUI_PANE_WORKERS);
	struct pen p = tui_pen_at(s, row++);
	tui_heading(&p, TUI_COLS_WORKERS);
	int nc;
	const struct tui_column *col = tui_columns(TUI_COLS_WORKERS, &nc);
	(void)nc;
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_worker_info *x = &w[idx[k]];
		p = tui_pen_at(s, row);
		if (x->corrupt) {
			tui_putf(&p, -1, TUI_BAD, "  %-7d %-10.10s ? damaged  (slot damaged, not shown)",
				 (int)x->pid, x->role);
			if (v->pane == TUI_PANE_WORKERS && k == v->selected)
				tui_mark_line(s, row, TUI_SELECTED);
			continue;
		}
		const fbx_worker_info *px = tui_prev_worker(prev, (size_t)idx[k], x);
		char beat[16], tmo[16], up[16];
		tui_age(beat, sizeof(beat), x->heartbeat_age_ns, false);
		tui_age(tmo, sizeof(tmo), x->heartbeat_timeout_ns, false);
		tui_age(up, sizeof(up), x->registered_age_ns, true);
		tui_cell(&p, col, PID, TUI_NORMAL, "%d", (int)x->pid);
		tui_cell(&p, col, ROLE, strcmp(x->role, "master") == 0 ? TUI_BOLD : TUI_NORMAL, "%s",
			 x->role);
		tui_cell(&p, col, STATE, x->alive ? TUI_GOOD : TUI_BAD, "%s", tui_worker_word(x));
		/* a heartbeat past half its timeout is late: say so before it is dead */
		bool late = x->heartbeat_age_ns * 2 > x->heartbeat_timeout_ns;
		tui_cell(&p, col, BEAT, !x->alive && !x->process_gone ? TUI_BAD : late ? TUI_WARN : TUI_NORMAL,
			 "%s", beat);
		tui_cell(&p, col, TIMEOUT, TUI_DIM, "%s", tmo);
		tui_cell(&p, col, INFLIGHT, x->in_flight ? TUI_BOLD : TUI_NORMAL, "%llu",
			 (unsigned long long)x->in_flight);
		tui_cell(&p, col, SERVED, TUI_NORMAL, "%llu", (unsigned long long)x->served);
		if (px != NULL && !px->corrupt)
			tui_cell(&p, col, REQS, TUI_NORMAL, "%.1f", tui_per_s(x->served, px->served, dt));
		else
			tui_cell(&p, col, REQS, TUI_DIM, "-");
		tui_cell(&p, col, UP, TUI_DIM, "%s", up);
		if (v->pane == TUI_PANE_WORKERS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0)
		tui_empty(s, &row, v, cnt,
			  cur && cur->snap ? "  (no worker has registered: fbx_worker_register)"
					   : "  (no box)");
	return row;
}
