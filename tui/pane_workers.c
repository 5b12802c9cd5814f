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

/* Columns of 80: every one, the last ending at the 80th. */
#define ROW_FMT(p, a, b, c, d, e, f, g, h, i)                                                 \
	do {                                                                                  \
		tui_putf(p, 10, TUI_BOLD, "  %-7s", a);                                       \
		tui_putf(p, 11, TUI_BOLD, "%-10s", b);                                        \
		tui_putf(p, 10, TUI_BOLD, "%-9s", c);                                         \
		tui_putf(p, 7, TUI_BOLD, "%6s", d);                                           \
		tui_putf(p, 8, TUI_BOLD, "%8s", e);                                           \
		tui_putf(p, 9, TUI_BOLD, "%9s", f);                                           \
		tui_putf(p, 10, TUI_BOLD, "%10s", g);                                         \
		tui_putf(p, 8, TUI_BOLD, "%8s", h);                                           \
		tui_putf(p, 7, TUI_BOLD, "%7s", i);                                           \
	} while (0)

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
	char t[160];
	if (h != NULL)
		snprintf(t, sizeof(t), "WORKERS %d  %u alive  %u dead  %llu in flight  %.1f req/s%s%s", n,
			 h->workers_alive + h->masters_alive, h->workers_dead,
			 (unsigned long long)h->in_flight, total, v->filter[0] ? "  filter: " : "",
			 v->filter);
	else
		snprintf(t, sizeof(t), "WORKERS");
	tui_title(s, row++, t, v->pane == TUI_PANE_WORKERS);
	struct pen p = tui_pen_at(s, row++);
	ROW_FMT(&p, "PID", "ROLE", "STATE", "BEAT", "TIMEOUT", "INFLIGHT", "SERVED", "REQ/S", "UP");
	int first = v->pane == TUI_PANE_WORKERS && v->selected >= rows - 2 ? v->selected - (rows - 3) : 0;
	for (int k = first; k < n && row < s->rows && k - first < rows - 2; k++, row++) {
		const fbx_worker_info *x = &w[idx[k]];
		p = tui_pen_at(s, row);
		if (x->corrupt) {
			tui_putf(&p, -1, TUI_BAD, "  %-7d %-10.10s ? damaged  (slot damaged, not shown)",
				 (int)x->pid, x->role);
			continue;
		}
		const fbx_worker_info *px = tui_prev_worker(prev, (size_t)idx[k], x);
		char beat[16], tmo[16], up[16];
		tui_age(beat, sizeof(beat), x->heartbeat_age_ns, false);
		tui_age(tmo, sizeof(tmo), x->heartbeat_timeout_ns, false);
		tui_age(up, sizeof(up), x->registered_age_ns, true);
		tui_putf(&p, 10, TUI_NORMAL, "  %-7d", (int)x->pid);
		tui_putf(&p, 11, strcmp(x->role, "master") == 0 ? TUI_BOLD : TUI_NORMAL, "%-10.10s",
			 x->role);
		tui_putf(&p, 10, x->alive ? TUI_GOOD : TUI_BAD, "%-9s", tui_worker_word(x));
		/* a heartbeat past half its timeout is late: say so before it is dead */
		bool late = x->heartbeat_age_ns * 2 > x->heartbeat_timeout_ns;
		tui_putf(&p, 7, !x->alive && !x->process_gone ? TUI_BAD : late ? TUI_WARN : TUI_NORMAL,
			 "%6s", beat);
		tui_putf(&p, 8, TUI_DIM, "%8s", tmo);
		tui_putf(&p, 9, x->in_flight ? TUI_BOLD : TUI_NORMAL, "%9llu",
			 (unsigned long long)x->in_flight);
		tui_putf(&p, 10, TUI_NORMAL, "%10llu", (unsigned long long)x->served);
		if (px != NULL && !px->corrupt)
			tui_putf(&p, 8, TUI_NORMAL, "%8.1f", tui_per_s(x->served, px->served, dt));
		else
			tui_put(&p, "       -", 8, TUI_DIM);
		tui_putf(&p, 7, TUI_DIM, "%7s", up);
		if (v->pane == TUI_PANE_WORKERS && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0 && row < s->rows) {
		p = tui_pen_at(s, row++);
		tui_put(&p, cur && cur->snap ? "  (no worker has registered: fbx_worker_register)"
					     : "  (no box)", -1, TUI_DIM);
	}
	return row;
}
