/* screen.c — the screen: the states' words and glyphs, and the layout that
 * gives each part its rows (parts: header.c, pane_*.c, detail.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

const char *tui_state_word(int state)
{
	static const char *const w[] = {"closed", "OPEN", "half-open", "FORCED-OPEN", "forced-closed"};
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? w[state] : "?";
}

const char *tui_state_glyph(int state)
{
	static const char *const g[] = {"o", "X", "~", "!", "="};
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? g[state] : "?";
}

enum tui_attr tui_state_attr(int state)
{
	switch (state) {
	case FBX_CLOSED: return TUI_GOOD;
	case FBX_HALF_OPEN: case FBX_FORCED_CLOSED: return TUI_WARN;
	default: return TUI_BAD;
	}
}

void tui_render(const struct tui_sample *cur, const struct tui_sample *prev,
		const struct tui_view *view, int rows, int cols, struct tui_screen *out)
{
	out->rows = rows < 1 ? 1 : rows > TUI_ROWS_MAX ? TUI_ROWS_MAX : rows;
	out->cols = cols < 1 ? 1 : cols > TUI_COLS_MAX ? TUI_COLS_MAX : cols;
	for (int r = 0; r < out->rows; r++) {
		out->line[r].text[0] = '\0';
		out->line[r].nspans = 0;
	}
	tui_header(cur, prev, view, out);
	if (out->rows > 1)
		tui_hint(view, out);
	if (view->detail) {
		tui_detail(cur, view, out);
		return;
	}
	/* what is left: breakers ~45%, limiters ~25%, events the rest */
	int left = out->rows - 2, row = 2;
	int nb = left * 45 / 100, nl = left * 25 / 100;
	if (nb < 4)
		nb = 4;
	if (nl < 3)
		nl = 3;
	row = tui_breakers_pane(cur, prev, view, out, row, nb);
	if (row < 2 + nb)
		row = 2 + nb < out->rows ? 2 + nb : row;
	int lim_end = row + nl;
	row = tui_limiters_pane(cur, prev, view, out, row, nl);
	if (row < lim_end && lim_end < out->rows)
		row = lim_end;
	tui_events_pane(cur, view, out, row);
}
