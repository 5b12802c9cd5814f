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
}

/* Oldest to newest: the height of each sample's calls, marked as bad
 * where most of them failed. */
void tui_sparkline(struct pen *p, const struct tui_history *h, size_t index)
{
	static const char levels[] = " _.-=+*#";
	if (h == NULL || index >= h->cap || h->len == 0)
		return;
	float top = 0;
	for (uint32_t k = 0; k < TUI_SPARK; k++)
		if (h->calls[index * TUI_SPARK + k] > top)
			top = h->calls[index * TUI_SPARK + k];
	tui_put(p, " ", 1, TUI_NORMAL);
	for (uint32_t k = 0; k < TUI_SPARK; k++) {
		uint32_t slot = (h->head + TUI_SPARK - h->len + k) % TUI_SPARK;
		if (k >= h->len)
			break;
		float c = h->calls[index * TUI_SPARK + slot], f = h->fails[index * TUI_SPARK + slot];
		int lv = top > 0 ? (int)(c / top * 7 + 0.5f) : 0;
		char ch[2] = {levels[lv < 0 ? 0 : lv > 7 ? 7 : lv], 0};
		tui_put(p, ch, 1, c > 0 && f * 2 > c ? TUI_BAD : TUI_DIM);
	}
}

