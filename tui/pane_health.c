/* pane_health.c — the health checks, worst first, under a line that says
 * what each probe answers now. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

const char *tui_health_word(int status)
{
	static const char *const w[] = {"ok", "DEGRADED", "UNHEALTHY"};
	return status >= FBX_HEALTH_OK && status <= FBX_HEALTH_UNHEALTHY ? w[status] : "?";
}

bool tui_health_used(const fbx_snapshot *snap)
{
	size_t nw, nc;
	const fbx_health *h = fbx_snapshot_health(snap);
	fbx_snapshot_workers(snap, &nw);
	fbx_snapshot_checks(snap, &nc);
	return h != NULL && (nw > 0 || nc > 0 || h->started || h->draining);
}

enum { STATUS, CHECK, CRIT, AGE, TTL, MESSAGE };

static enum tui_attr check_attr(int status)
{
	return status == FBX_CHECK_PASS ? TUI_GOOD : status == FBX_CHECK_WARN ? TUI_WARN : TUI_BAD;
}

static const char *check_word(int status)
{
	static const char *const w[] = {"o pass", "~ warn", "X FAIL"};
	return status >= FBX_CHECK_PASS && status <= FBX_CHECK_FAIL ? w[status] : "? ----";
}

/* live, ready, started and the drain, each a word whose case and colour
 * say yes or no. */
static void probes_line(struct pen *p, const fbx_health *h)
{
	tui_put(p, "  ", -1, TUI_NORMAL);
	tui_put(p, h->live ? "o live" : "X NOT LIVE", -1, h->live ? TUI_GOOD : TUI_BAD);
	tui_put(p, "  ", -1, TUI_NORMAL);
	tui_put(p, h->ready ? "o ready" : "X NOT READY", -1, h->ready ? TUI_GOOD : TUI_BAD);
	tui_put(p, "  ", -1, TUI_NORMAL);
	tui_put(p, h->started ? "o started" : "~ not started", -1, h->started ? TUI_GOOD : TUI_WARN);
	if (h->draining) {
		char age[16];
		tui_age(age, sizeof(age), h->drain_age_ns, false);
		tui_putf(p, -1, TUI_BAD, "  ! DRAINING %s", age);
	}
	if (h->reason[0] != '\0')
		tui_putf(p, -1, TUI_DIM, "  %s", h->reason);
}

/* Who drained the box and why, under the probes: "DRAINING" in the
 * header says since when, and the next question on call is whether it
 * was a deploy or a mistake, and whom to ask. */
static void drain_line(struct pen *p, const struct tui_sample *cur, const fbx_health *h)
{
	const fbx_event *x = fbx_snapshot_drain_event(cur->snap);
	char age[16];
	tui_age(age, sizeof(age), h->drain_age_ns, false);
	if (x == NULL) {
		tui_putf(p, -1, TUI_DIM, "  drain started %s ago; by whom and why: no longer in the event ring",
			 age);
		return;
	}
	char why[FBX_REASON_MAX];
	tui_printable(why, sizeof(why), x->reason);
	tui_putf(p, -1, TUI_MANUAL, "  drain started %s ago by uid %u pid %d: %s", age,
		 (unsigned)x->uid, (int)x->pid, why[0] ? why : "(no reason given)");
}

int tui_health_pane(const struct tui_sample *cur, const struct tui_view *v,
		    struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_HEALTH, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	const fbx_health *h = cur && cur->snap ? fbx_snapshot_health(cur->snap) : NULL;
	/* title, probes, the drain's author while it drains, headings */
	int top = h != NULL && h->draining ? 4 : 3;
	int first = tui_first_row(v, TUI_PANE_HEALTH, n, rows - top);
	char t[256], count[48];
	snprintf(t, sizeof(t), "HEALTH %s  %s checks  by %s%s%s", h ? tui_health_word(h->status) : "?",
		 tui_count(count, sizeof(count), first,
			   tui_rows_shown(s, row + top, rows - top, first, n), n),
		 tui_sort_word(v->sort), v->filter[0] ? "  filter: " : "", v->filter);
	tui_title(s, row++, t, v->pane == TUI_PANE_HEALTH);
	if (h == NULL)
		return row;
	struct pen p = tui_pen_at(s, row++);
	probes_line(&p, h);
	if (h->draining) {
		p = tui_pen_at(s, row++);
		drain_line(&p, cur, h);
	}
	p = tui_pen_at(s, row++);
	tui_heading(&p, TUI_COLS_HEALTH);
	int nc;
	const struct tui_column *col = tui_columns(TUI_COLS_HEALTH, &nc);
	(void)nc;
	size_t cnt;
	const fbx_check_info *c = fbx_snapshot_checks(cur->snap, &cnt);
	for (int k = first; k < n && row < s->rows && k - first < rows - top; k++, row++) {
		const fbx_check_info *x = &c[idx[k]];
		p = tui_pen_at(s, row);
		tui_cell(&p, col, STATUS, check_attr(x->status), "%s", check_word(x->status));
		tui_cell(&p, col, CHECK, TUI_NORMAL, "%s", x->name);
		if (x->corrupt) {
			tui_put(&p, " (damaged: counts as failed until set again)", -1, TUI_BAD);
		} else {
			tui_cell(&p, col, CRIT, x->critical ? TUI_BOLD : TUI_DIM, "%s", x->critical ? "yes" : "no");
			char age[16] = "-", ttl[16] = "-";
			if (x->ttl_ns > 0) {
				tui_age(age, sizeof(age), x->age_ns, true);
				tui_age(ttl, sizeof(ttl), x->ttl_ns, true);
			}
			tui_cell(&p, col, AGE, x->expired ? TUI_BAD : TUI_NORMAL, "%s", age);
			tui_cell(&p, col, TTL, TUI_DIM, "%s", ttl);
			if (x->breaker[0] != '\0')
				tui_cell(&p, col, MESSAGE, TUI_NORMAL, "follows breaker %s", x->breaker);
			else if (x->expired && x->ttl_ns > 0)
				tui_cell(&p, col, MESSAGE, TUI_BAD, "EXPIRED (set %s) %s",
					 fbx_check_status_name(x->set_status), x->message);
			else
				tui_cell(&p, col, MESSAGE, TUI_NORMAL, "%s", x->message);
		}
		if (v->pane == TUI_PANE_HEALTH && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0)
		tui_empty(s, &row, v, cnt, "  (no checks: fuseboxctl check set, or fbx_check_set)");
	return row;
}
