/* history.c — recent calls and failures per breaker, for sparklines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* ---- sparklines -------------------------------------------------------------- */

int tui_history_init(struct tui_history *h, uint32_t breakers)
{
	memset(h, 0, sizeof(*h));
	h->calls = calloc((size_t)breakers * TUI_SPARK, sizeof(float));
	h->fails = calloc((size_t)breakers * TUI_SPARK, sizeof(float));
	if (h->calls == NULL || h->fails == NULL) {
		tui_history_free(h);
		return -1;
	}
	h->cap = breakers;
	return 0;
}

void tui_history_free(struct tui_history *h)
{
	free(h->calls);
	free(h->fails);
	memset(h, 0, sizeof(*h));
}

void tui_history_push(struct tui_history *h, const struct tui_sample *cur,
		      const struct tui_sample *prev)
{
	double dt = tui_seconds_between(cur, prev);
	if (h->cap == 0 || dt <= 0)
		return;
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &n);
	for (size_t i = 0; i < n && i < h->cap; i++) {
		const fbx_breaker_info *pb = tui_prev_breaker(prev, i, b[i].name);
		float *c = &h->calls[i * TUI_SPARK + h->head], *f = &h->fails[i * TUI_SPARK + h->head];
		*c = pb ? (float)tui_per_s(tui_calls_of(&b[i]), tui_calls_of(pb), dt) : 0;
		*f = pb ? (float)tui_per_s(b[i].failures, pb->failures, dt) : 0;
	}
	h->head = (h->head + 1) % TUI_SPARK;
	if (h->len < TUI_SPARK)
		h->len++;
	/* the ring's next seq: where it starts plus what it holds */
	const struct tui_sample *at[2] = {prev, cur};
	for (int i = h->ev_len == 0 ? 0 : 1; i < 2; i++) {
		size_t ne;
		uint64_t dropped;
		const fbx_event *e = fbx_snapshot_events(at[i]->snap, &ne, &dropped);
		h->ev_time[h->ev_head] = at[i]->time_ns;
		h->ev_total[h->ev_head] = (ne ? e[0].seq : 0) + ne;
		h->ev_head = (h->ev_head + 1) % TUI_SPARK;
		if (h->ev_len < TUI_SPARK)
			h->ev_len++;
	}
}

double tui_history_event_rate(const struct tui_history *h, double window_s)
{
	if (h == NULL || h->ev_len < 2)
		return -1;
	uint32_t last = (h->ev_head + TUI_SPARK - 1) % TUI_SPARK, from = last;
	for (uint32_t k = 1; k < h->ev_len; k++) {
		uint32_t slot = (h->ev_head + TUI_SPARK - 1 - k) % TUI_SPARK;
		if (h->ev_time[slot] > h->ev_time[last] ||
		    (double)(h->ev_time[last] - h->ev_time[slot]) / 1e9 > window_s + 1e-3)
			break;
		from = slot;
	}
	if (from == last || h->ev_time[last] <= h->ev_time[from])
		return h->ev_time[last] > h->ev_time[from] ? 0 : -1;
	return tui_per_s(h->ev_total[last], h->ev_total[from],
			 (double)(h->ev_time[last] - h->ev_time[from]) / 1e9);
}

/* Oldest to newest: the height of each sample's calls against the most
 * in the window, not against the last sample's noise: a sample within 15%
 * of the most draws full height, so a steady rate draws a flat line, and
 * the most is at least 5 calls a second, so a trickle stays low.  A
 * sample in which most calls failed is marked as bad. */
void tui_sparkline(struct pen *p, const struct tui_history *h, size_t index)
{
	static const char levels[] = " _.-=+*#";
	if (h == NULL || index >= h->cap || h->len == 0)
		return;
	float top = 5.0f;
	for (uint32_t k = 0; k < TUI_SPARK; k++)
		if (h->calls[index * TUI_SPARK + k] > top)
			top = h->calls[index * TUI_SPARK + k];
	for (uint32_t k = 0; k < h->len; k++) {
		uint32_t slot = (h->head + TUI_SPARK - h->len + k) % TUI_SPARK;
		float c = h->calls[index * TUI_SPARK + slot], f = h->fails[index * TUI_SPARK + slot];
		int lv = c >= top * 0.85f ? 7 : (int)(c / top * 7 + 0.5f);
		if (c > 0 && lv == 0)
			lv = 1; /* some calls are not none */
		char ch[2] = {levels[lv < 0 ? 0 : lv > 7 ? 7 : lv], 0};
		tui_put(p, ch, 1, c > 0 && f * 2 > c ? TUI_BAD : TUI_DIM);
	}
}
