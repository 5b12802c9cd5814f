/* pane_resilience.c — what the workers share to call upstreams gently:
 * retry budgets (retries still allowed, retries allowed and refused),
 * bulkheads (calls in flight out of the cap, the peak, refusals) and
 * caches (entries, the share of gets answered, stale answers), one table
 * of each under one title.  Rows are selectable; nothing here is acted on. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* Gets answered from the cache, fresh or stale, in percent; -1 before any. */
static double answered_pct(const fbx_cache_info *c)
{
	uint64_t yes = c->hits + c->stale_hits, all = yes + c->misses;
	return all == 0 ? -1 : 100.0 * (double)yes / (double)all;
}

enum { B_NAME, B_BALANCE, B_RETRIES, B_REQUESTS, B_ALLOWED, B_REFUSED, B_POLICY };
enum { H_NAME, H_INFLIGHT, H_PEAK, H_REFUSED, H_RECLAIMED, H_LOAD };
enum { C_NAME, C_ENTRIES, C_HIT, C_HITS, C_STALE, C_MISSES, C_PUTS };

static const struct tui_column *cols(int kind)
{
	int n;
	return tui_columns(kind == 0 ? TUI_COLS_BUDGETS : kind == 1 ? TUI_COLS_BULKHEADS
								    : TUI_COLS_CACHES, &n);
}

static void budget_row(struct pen *p, const fbx_budget_info *b)
{
	const struct tui_column *c = cols(0);
	tui_cell(p, c, B_NAME, TUI_NORMAL, "%s", b->name);
	/* none left: the next retry anywhere on the host is refused */
	tui_cell(p, c, B_BALANCE, b->balance == 0 ? TUI_BAD : TUI_GOOD, "%llu",
		 (unsigned long long)b->balance);
	tui_cell(p, c, B_RETRIES, TUI_NORMAL, "%llu", (unsigned long long)b->withdrawals);
	tui_cell(p, c, B_REQUESTS, TUI_NORMAL, "%llu", (unsigned long long)b->deposits);
	tui_cell(p, c, B_ALLOWED, TUI_NORMAL, "%llu", (unsigned long long)b->retries_allowed);
	tui_cell(p, c, B_REFUSED, b->retries_refused ? TUI_WARN : TUI_NORMAL, "%llu",
		 (unsigned long long)b->retries_refused);
	char ttl[16];
	tui_age(ttl, sizeof(ttl), b->config.ttl_ns, true);
	tui_cell(p, c, B_POLICY, TUI_DIM, "%u%%+%u/s %s", b->config.percent, b->config.min_per_sec, ttl);
}

static void bulkhead_row(struct pen *p, const fbx_bulkhead_info *h)
{
	const struct tui_column *c = cols(1);
	tui_cell(p, c, H_NAME, TUI_NORMAL, "%s", h->name);
	bool full = h->in_flight >= h->cap;
	enum tui_attr load = full ? TUI_BAD : h->in_flight * 4 >= (uint64_t)h->cap * 3 ? TUI_WARN
										   : TUI_GOOD;
	tui_cell(p, c, H_INFLIGHT, load, "%5llu/%-5u", (unsigned long long)h->in_flight, h->cap);
	tui_cell(p, c, H_PEAK, TUI_NORMAL, "%llu", (unsigned long long)h->peak);
	tui_cell(p, c, H_REFUSED, h->refused ? TUI_WARN : TUI_NORMAL, "%llu",
		 (unsigned long long)h->refused);
	tui_cell(p, c, H_RECLAIMED, h->reclaimed ? TUI_WARN : TUI_NORMAL, "%llu",
		 (unsigned long long)h->reclaimed);
	/* the share held, in 16 cells: '#' held, '.' free */
	char bar[24] = "[";
	uint64_t cells = h->cap ? (h->in_flight * 16 + h->cap - 1) / h->cap : 0;
	for (int i = 0; i < 16; i++)
		bar[1 + i] = (uint64_t)i < cells ? '#' : '.';
	bar[17] = ']';
	bar[18] = '\0';
	tui_cell(p, c, H_LOAD, load, "%s", bar);
}

static void cache_row(struct pen *p, const fbx_cache_info *k)
{
	const struct tui_column *c = cols(2);
	tui_cell(p, c, C_NAME, TUI_NORMAL, "%s", k->name);
	tui_cell(p, c, C_ENTRIES, TUI_NORMAL, "%6llu/%-6u", (unsigned long long)k->entries, k->slots);
	double r = answered_pct(k);
	if (r < 0)
		tui_cell(p, c, C_HIT, TUI_DIM, "-");
	else
		tui_cell(p, c, C_HIT, TUI_NORMAL, "%.1f%%", r);
	tui_cell(p, c, C_HITS, TUI_NORMAL, "%llu", (unsigned long long)k->hits);
	/* stale answers mean the upstream is failing and the cache covers it */
	tui_cell(p, c, C_STALE, k->stale_hits ? TUI_WARN : TUI_NORMAL, "%llu",
		 (unsigned long long)k->stale_hits);
	tui_cell(p, c, C_MISSES, TUI_NORMAL, "%llu", (unsigned long long)k->misses);
	tui_cell(p, c, C_PUTS, TUI_NORMAL, "%llu", (unsigned long long)k->puts);
}

int tui_resilience_pane(const struct tui_sample *cur, const struct tui_view *v,
			struct tui_screen *s, int row, int rows)
{
	static int idx[1 << 16];
	int n = tui_order(cur, v, TUI_PANE_RESILIENCE, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	size_t ng = 0, nh = 0, nk = 0;
	const fbx_budget_info *g = NULL;
	const fbx_bulkhead_info *h = NULL;
	const fbx_cache_info *c = NULL;
	if (cur != NULL && cur->snap != NULL) {
		g = fbx_snapshot_budgets(cur->snap, &ng);
		h = fbx_snapshot_bulkheads(cur->snap, &nh);
		c = fbx_snapshot_caches(cur->snap, &nk);
	}
	int per[3] = {0, 0, 0};
	for (int k = 0; k < n; k++)
		per[TUI_RES_KIND(idx[k])]++;
	/* the lines: a heading before the first record of each kind; the
	 * window over them keeps the selection in sight */
	static int line[(1 << 16) + 3];
	int nlines = 0, sel_line = 0;
	for (int k = 0; k < n; k++) {
		if (k == 0 || TUI_RES_KIND(idx[k]) != TUI_RES_KIND(idx[k - 1]))
			line[nlines++] = -1 - TUI_RES_KIND(idx[k]);
		if (k == v->selected)
			sel_line = nlines;
		line[nlines++] = k;
	}
	int room = rows - 1;
	int first = v->pane == TUI_PANE_RESILIENCE && sel_line >= room ? sel_line - room + 1 : 0;
	/* which records the window holds, headings aside, for the title */
	int k_first = -1, k_shown = 0;
	int in_sight = tui_rows_shown(s, row + 1, room, first, nlines);
	for (int l = first; l < first + in_sight; l++)
		if (line[l] >= 0) {
			k_first = k_first < 0 ? line[l] : k_first;
			k_shown++;
		}
	char t[200], count[48], pos[56] = "";
	if (k_shown > 0 && k_shown < n)
		snprintf(pos, sizeof(pos), "  %s", tui_count(count, sizeof(count), k_first, k_shown, n));
	snprintf(t, sizeof(t), "RESILIENCE  %d budget%s  %d bulkhead%s  %d cache%s%s  by %s%s%s", per[0],
		 per[0] == 1 ? "" : "s", per[1], per[1] == 1 ? "" : "s", per[2], per[2] == 1 ? "" : "s",
		 pos, tui_sort_word(v->sort), v->filter[0] ? "  filter: " : "", v->filter);
	tui_title(s, row++, t, v->pane == TUI_PANE_RESILIENCE);
	for (int l = first; l < nlines && row < s->rows && l - first < room; l++, row++) {
		struct pen p = tui_pen_at(s, row);
		if (line[l] < 0) {
			int kind = -1 - line[l];
			tui_heading(&p, kind == 0 ? TUI_COLS_BUDGETS : kind == 1 ? TUI_COLS_BULKHEADS
										 : TUI_COLS_CACHES);
			continue;
		}
		int k = line[l], kind = TUI_RES_KIND(idx[k]), i = TUI_RES_INDEX(idx[k]);
		const char *name = kind == 0 ? g[i].name : kind == 1 ? h[i].name : c[i].name;
		int corrupt = kind == 0 ? g[i].corrupt : kind == 1 ? h[i].corrupt : c[i].corrupt;
		if (corrupt)
			tui_putf(&p, -1, TUI_BAD, "  %-19.19s ? damaged (record damaged, not shown)", name);
		else if (kind == 0)
			budget_row(&p, &g[i]);
		else if (kind == 1)
			bulkhead_row(&p, &h[i]);
		else
			cache_row(&p, &c[i]);
		if (v->pane == TUI_PANE_RESILIENCE && k == v->selected)
			tui_mark_line(s, row, TUI_SELECTED);
	}
	if (n == 0)
		tui_empty(s, &row, v, ng + nh + nk,
			  cur && cur->snap ? "  (no retry budgets, bulkheads or caches in this box)"
					   : "  (no box)");
	return row;
}
