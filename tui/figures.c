/* figures.c — rates and shares between two samples; sorting and filtering
 * the panes' rows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draw.h"

/* ---- figures --------------------------------------------------------------- */

uint64_t tui_calls_of(const fbx_breaker_info *b)
{
	return b->successes + b->failures + b->ignored;
}

/* The same record in the previous sample: records keep their places, so
 * the same position is tried first and the search is the rare case. */
const fbx_breaker_info *tui_prev_breaker(const struct tui_sample *prev, size_t at,
					 const char *name)
{
	if (prev == NULL || prev->snap == NULL)
		return NULL;
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(prev->snap, &n);
	if (at < n && strcmp(b[at].name, name) == 0)
		return &b[at];
	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return &b[i];
	return NULL;
}

const fbx_limiter_info *tui_prev_limiter(const struct tui_sample *prev, size_t at,
					 const char *name)
{
	if (prev == NULL || prev->snap == NULL)
		return NULL;
	size_t n;
	const fbx_limiter_info *l = fbx_snapshot_limiters(prev->snap, &n);
	if (at < n && strcmp(l[at].name, name) == 0)
		return &l[at];
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

const fbx_worker_info *tui_prev_worker(const struct tui_sample *prev, size_t at,
				       const fbx_worker_info *w)
{
	if (prev == NULL || prev->snap == NULL)
		return NULL;
	size_t n;
	const fbx_worker_info *p = fbx_snapshot_workers(prev->snap, &n);
	if (at < n && p[at].pid == w->pid && strcmp(p[at].role, w->role) == 0)
		return &p[at];
	for (size_t i = 0; i < n; i++)
		if (p[i].pid == w->pid && strcmp(p[i].role, w->role) == 0)
			return &p[i];
	return NULL;
}

double tui_per_s(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 && now >= before ? (double)(now - before) / dt : 0;
}

double tui_seconds_between(const struct tui_sample *cur, const struct tui_sample *prev)
{
	if (prev == NULL || prev->snap == NULL || cur->time_ns <= prev->time_ns)
		return 0;
	return (double)(cur->time_ns - prev->time_ns) / 1e9;
}

/* Failure share: the breaker's own window when it keeps one, else the
 * calls since the previous sample.  -1: nothing to say. */
double tui_failure_pct(const fbx_breaker_info *b, const fbx_breaker_info *pb)
{
	if (b->window_calls > 0)
		return 100.0 * (double)b->window_failures / (double)b->window_calls;
	if (pb == NULL || tui_calls_of(b) <= tui_calls_of(pb))
		return -1;
	return 100.0 * (double)(b->failures - pb->failures) / (double)(tui_calls_of(b) - tui_calls_of(pb));
}

double tui_slow_pct(const fbx_breaker_info *b, const fbx_breaker_info *pb)
{
	if (b->window_calls > 0)
		return 100.0 * (double)b->window_slow / (double)b->window_calls;
	if (pb == NULL || tui_calls_of(b) <= tui_calls_of(pb) || b->slow < pb->slow)
		return -1;
	return 100.0 * (double)(b->slow - pb->slow) / (double)(tui_calls_of(b) - tui_calls_of(pb));
}

/* ---- order and filter ------------------------------------------------------- */

static int severity(int state)
{
	static const int rank[] = {4, 1, 2, 0, 3}; /* forced open, open, half, held, closed */
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? rank[state] : 5;
}

/* By name as the filter reads names, letter case aside (Payments among
 * the p's), then by the exact bytes, so that two names differing only in
 * case keep one order from sample to sample. */
static int name_cmp(const char *a, const char *b)
{
	int r = strcasecmp(a, b);
	return r != 0 ? r : strcmp(a, b);
}

struct sort_ctx {
	const fbx_breaker_info *b;
	const fbx_limiter_info *l;
	const fbx_worker_info *w;
	const fbx_check_info *c;
	const fbx_budget_info *g;
	const fbx_bulkhead_info *h;
	const fbx_cache_info *k;
	enum tui_sort sort;
};
static struct sort_ctx sort_ctx; /* qsort has no context argument in C11 */

static int cmp_breaker(const void *x, const void *y)
{
	const fbx_breaker_info *a = &sort_ctx.b[*(const int *)x], *b = &sort_ctx.b[*(const int *)y];
	if (sort_ctx.sort == TUI_SORT_WORST && severity(a->state) != severity(b->state))
		return severity(a->state) - severity(b->state);
	if (sort_ctx.sort != TUI_SORT_NAME && tui_calls_of(a) != tui_calls_of(b))
		return tui_calls_of(a) > tui_calls_of(b) ? -1 : 1;
	return name_cmp(a->name, b->name);
}

static int cmp_limiter(const void *x, const void *y)
{
	const fbx_limiter_info *a = &sort_ctx.l[*(const int *)x], *b = &sort_ctx.l[*(const int *)y];
	if (sort_ctx.sort == TUI_SORT_WORST && a->denied != b->denied)
		return a->denied > b->denied ? -1 : 1;
	if (sort_ctx.sort == TUI_SORT_CALLS && a->allowed + a->denied != b->allowed + b->denied)
		return a->allowed + a->denied > b->allowed + b->denied ? -1 : 1;
	return name_cmp(a->name, b->name);
}

/* Worst first: damaged, dead, then the busiest; the master before its
 * workers otherwise. */
static int cmp_worker(const void *x, const void *y)
{
	const fbx_worker_info *a = &sort_ctx.w[*(const int *)x], *b = &sort_ctx.w[*(const int *)y];
	if (sort_ctx.sort == TUI_SORT_WORST) {
		int ra = a->corrupt ? 0 : a->alive ? 2 : 1, rb = b->corrupt ? 0 : b->alive ? 2 : 1;
		if (ra != rb)
			return ra - rb; /* not by in flight: rows would jump at every sample */
	}
	if (sort_ctx.sort == TUI_SORT_CALLS && a->served != b->served)
		return a->served > b->served ? -1 : 1;
	bool ma = strcmp(a->role, "master") == 0, mb = strcmp(b->role, "master") == 0;
	if (ma != mb)
		return ma ? -1 : 1;
	int r = name_cmp(a->role, b->role);
	if (r != 0 && sort_ctx.sort == TUI_SORT_NAME)
		return r;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Worst first: failing, warning, passing; critical before the others. */
static int cmp_check(const void *x, const void *y)
{
	const fbx_check_info *a = &sort_ctx.c[*(const int *)x], *b = &sort_ctx.c[*(const int *)y];
	if (sort_ctx.sort != TUI_SORT_NAME) {
		if (a->status != b->status)
			return (int)b->status - (int)a->status;
		if (a->critical != b->critical)
			return b->critical - a->critical;
	}
	return name_cmp(a->name, b->name);
}

/* Budgets, then bulkheads, then caches.  Worst first is by state, not by
 * counts, so that rows do not jump at every sample: a record damaged, a
 * budget with no retry left, a bulkhead full, a cache serving stale. */
static void res_rank(int x, const char **name, int *worst, uint64_t *busy)
{
	int i = TUI_RES_INDEX(x);
	switch (TUI_RES_KIND(x)) {
	case 0: {
		const fbx_budget_info *g = &sort_ctx.g[i];
		*name = g->name;
		*worst = g->corrupt ? 0 : g->balance == 0 ? 1 : 2;
		*busy = g->attempts;
		break;
	}
	case 1: {
		const fbx_bulkhead_info *h = &sort_ctx.h[i];
		*name = h->name;
		*worst = h->corrupt ? 0 : h->in_flight >= h->cap ? 1 : 2;
		*busy = h->peak;
		break;
	}
	default: {
		const fbx_cache_info *k = &sort_ctx.k[i];
		*name = k->name;
		*worst = k->corrupt ? 0 : k->stale_hits > 0 ? 1 : 2;
		*busy = k->hits + k->stale_hits + k->misses;
		break;
	}
	}
}

static int cmp_resilience(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	if (TUI_RES_KIND(a) != TUI_RES_KIND(b))
		return TUI_RES_KIND(a) - TUI_RES_KIND(b);
	const char *na, *nb;
	int wa, wb;
	uint64_t ba, bb;
	res_rank(a, &na, &wa, &ba);
	res_rank(b, &nb, &wb, &bb);
	if (sort_ctx.sort == TUI_SORT_WORST && wa != wb)
		return wa - wb;
	if (sort_ctx.sort == TUI_SORT_CALLS && ba != bb)
		return ba > bb ? -1 : 1;
	return name_cmp(na, nb);
}

/* Letter case aside: an operator typing "pay" in an incident means
 * Payments too. */
static bool matches(const struct tui_view *v, const char *name)
{
	return v->filter[0] == '\0' || strcasestr(name, v->filter) != NULL;
}

/* Indices of the pane's records, sorted and filtered; returns how many. */
int tui_order(const struct tui_sample *cur, const struct tui_view *v, enum tui_pane p,
		 int *idx, int max)
{
	if (cur == NULL || cur->snap == NULL)
		return 0;
	size_t n;
	int k = 0;
	if (p == TUI_PANE_BREAKERS) {
		const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &n);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, b[i].name))
				idx[k++] = (int)i;
		sort_ctx = (struct sort_ctx){.b = b, .sort = v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_breaker);
	} else if (p == TUI_PANE_LIMITERS) {
		const fbx_limiter_info *l = fbx_snapshot_limiters(cur->snap, &n);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, l[i].name))
				idx[k++] = (int)i;
		sort_ctx = (struct sort_ctx){.l = l, .sort = v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_limiter);
	} else if (p == TUI_PANE_WORKERS) {
		const fbx_worker_info *w = fbx_snapshot_workers(cur->snap, &n);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, w[i].role))
				idx[k++] = (int)i;
		sort_ctx = (struct sort_ctx){.w = w, .sort = v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_worker);
	} else if (p == TUI_PANE_HEALTH) {
		const fbx_check_info *c = fbx_snapshot_checks(cur->snap, &n);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, c[i].name))
				idx[k++] = (int)i;
		sort_ctx = (struct sort_ctx){.c = c, .sort = v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_check);
	} else if (p == TUI_PANE_RESILIENCE) {
		size_t nh, nk;
		const fbx_budget_info *g = fbx_snapshot_budgets(cur->snap, &n);
		const fbx_bulkhead_info *h = fbx_snapshot_bulkheads(cur->snap, &nh);
		const fbx_cache_info *c = fbx_snapshot_caches(cur->snap, &nk);
		for (size_t i = 0; i < n && k < max; i++)
			if (matches(v, g[i].name))
				idx[k++] = TUI_RES_ROW(0, i);
		for (size_t i = 0; i < nh && k < max; i++)
			if (matches(v, h[i].name))
				idx[k++] = TUI_RES_ROW(1, i);
		for (size_t i = 0; i < nk && k < max; i++)
			if (matches(v, c[i].name))
				idx[k++] = TUI_RES_ROW(2, i);
		sort_ctx = (struct sort_ctx){.g = g, .h = h, .k = c, .sort = v->sort};
		qsort(idx, (size_t)k, sizeof(int), cmp_resilience);
	} else {
		uint64_t dropped;
		fbx_snapshot_events(cur->snap, &n, &dropped);
		for (size_t i = 0; i < n && k < max; i++)
			idx[k++] = (int)(n - 1 - i); /* newest first */
	}
	return k;
}

int tui_pane_rows(const struct tui_sample *cur, const struct tui_view *view, enum tui_pane p)
{
	static int idx[1 << 16];
	return tui_order(cur, view, p, idx, (int)(sizeof(idx) / sizeof(idx[0])));
}

/* The name of the record at position i of the pane; NULL for a pane of
 * unnamed rows (workers: a pid is no name to act on; events) and for
 * the resilience pane, where a budget and a bulkhead may share a name
 * (the selection stays on its row there). */
static const char *name_at(const struct tui_sample *cur, enum tui_pane p, int i)
{
	size_t cnt;
	switch (p) {
	case TUI_PANE_BREAKERS: return fbx_snapshot_breakers(cur->snap, &cnt)[i].name;
	case TUI_PANE_LIMITERS: return fbx_snapshot_limiters(cur->snap, &cnt)[i].name;
	case TUI_PANE_HEALTH: return fbx_snapshot_checks(cur->snap, &cnt)[i].name;
	default: return NULL;
	}
}

const char *tui_selected_name(const struct tui_sample *cur, const struct tui_view *view)
{
	static int idx[1 << 16];
	int n = tui_order(cur, view, view->pane, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	if (view->selected < 0 || view->selected >= n)
		return NULL;
	return name_at(cur, view->pane, idx[view->selected]);
}

int tui_find_row(const struct tui_sample *cur, const struct tui_view *view, const char *name)
{
	static int idx[1 << 16];
	int n = tui_order(cur, view, view->pane, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	for (int k = 0; k < n; k++) {
		const char *have = name_at(cur, view->pane, idx[k]);
		if (have == NULL)
			return -1;
		if (strcmp(have, name) == 0)
			return k;
	}
	return -1;
}

