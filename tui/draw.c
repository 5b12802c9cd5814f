/* draw.c — writing text with attributes into the screen model's lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* Writes text left-aligned in width columns (clipped to the screen), with
 * attr as one span; width < 0 means the text's own length. */
void tui_put(struct pen *p, const char *text, int width, enum tui_attr attr)
{
	int n = (int)strlen(text);
	if (width < 0)
		width = n;
	/* a pen moved back past the line's start (a caller's arithmetic on a
	 * screen narrower than its columns) writes nothing rather than before
	 * the line */
	if (p->line == NULL || p->col < 0)
		return;
	int room = p->cols - p->col;
	if (width > room)
		width = room;
	if (width <= 0)
		return;
	/* the line is a string: keep it terminated, blanks before p->col */
	int len = (int)strlen(p->line->text);
	if (len < p->col)
		memset(p->line->text + len, ' ', (size_t)(p->col - len));
	char *dst = p->line->text + p->col;
	for (int i = 0; i < width; i++)
		dst[i] = i < n ? text[i] : ' ';
	if (attr != TUI_NORMAL && p->line->nspans < TUI_SPANS_MAX)
		p->line->span[p->line->nspans++] =
			(struct tui_span){(uint16_t)p->col, (uint16_t)width, (uint8_t)attr};
	p->col += width;
	if (p->col > len)
		p->line->text[p->col] = '\0';
}

void tui_putf(struct pen *p, int width, enum tui_attr attr, const char *fmt, ...)
{
	char buf[TUI_COLS_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tui_put(p, buf, width, attr);
}

/* A row beyond the screen gives a pen that writes nothing: parts need not
 * check how many rows they were left. */
struct pen tui_pen_at(struct tui_screen *s, int row)
{
	if (row < 0 || row >= s->rows)
		return (struct pen){NULL, 0, 0};
	return (struct pen){&s->line[row], 0, s->cols};
}

/* The whole line in one attribute (a title), or marked as selected: then
 * every span keeps its attribute, as TUI_ON_SELECTED, over a reverse
 * video background, so that a state's colour still shows on the row the
 * operator is about to act on. */
void tui_mark_line(struct tui_screen *s, int row, enum tui_attr attr)
{
	if (row < 0 || row >= s->rows)
		return;
	struct tui_line *l = &s->line[row];
	size_t n = strlen(l->text);
	while ((int)n < s->cols)
		l->text[n++] = ' ';
	l->text[n] = '\0';
	struct tui_span all = {0, (uint16_t)s->cols, (uint8_t)attr};
	if (attr != TUI_SELECTED) {
		l->nspans = 1;
		l->span[0] = all;
		return;
	}
	int keep = l->nspans < TUI_SPANS_MAX ? l->nspans : TUI_SPANS_MAX - 1;
	memmove(&l->span[1], &l->span[0], (size_t)keep * sizeof(l->span[0]));
	l->span[0] = all;
	l->nspans = (uint8_t)(keep + 1);
	for (int k = 1; k < l->nspans; k++)
		l->span[k].attr = (uint8_t)TUI_ON_SELECTED(l->span[k].attr);
}

int tui_first_row(const struct tui_view *v, enum tui_pane pane, int n, int room)
{
	if (v->pane != pane || room < 1 || v->selected < room)
		return 0;
	int first = v->selected - room + 1;
	return first > n - 1 ? (n > 0 ? n - 1 : 0) : first;
}

void tui_title(struct tui_screen *s, int row, const char *text, bool active)
{
	struct pen p = tui_pen_at(s, row);
	tui_put(&p, text, -1, TUI_TITLE);
	tui_mark_line(s, row, active ? TUI_TITLE : TUI_BOLD);
}


void tui_gap(struct pen *p, int i)
{
	tui_put(p, i == 0 ? "  " : " ", -1, TUI_NORMAL);
}

void tui_cell(struct pen *p, const struct tui_column *c, int i, enum tui_attr attr,
	      const char *fmt, ...)
{
	char buf[TUI_COLS_MAX + 1], cell[TUI_COLS_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	const struct tui_column *col = &c[i];
	int w = col->width > 0 && col->width < TUI_COLS_MAX ? col->width : (int)strlen(buf);
	snprintf(cell, sizeof(cell), col->right ? "%*.*s" : "%-*.*s", w, w, buf);
	tui_gap(p, i);
	tui_put(p, cell, -1, attr);
}

void tui_heading(struct pen *p, enum tui_table t)
{
	int n;
	const struct tui_column *c = tui_columns(t, &n);
	for (int i = 0; i < n; i++)
		tui_cell(p, c, i, TUI_BOLD, "%s", c[i].head);
}

/* The count with the position when the pane is longer than its window:
 * an operator paging through 300 breakers needs to know where they are
 * and how far the end is.  ASCII '-', not an en dash: the model counts a
 * byte as a column, and the console sets no locale. */
const char *tui_count(char *buf, size_t len, int first, int shown, int n)
{
	if (shown > 0 && shown < n)
		snprintf(buf, len, "%d-%d of %d", first + 1, first + shown, n);
	else
		snprintf(buf, len, "%d", n);
	return buf;
}

int tui_rows_shown(const struct tui_screen *s, int row, int room, int first, int n)
{
	int k = n - first;
	if (k > room)
		k = room;
	if (k > s->rows - row)
		k = s->rows - row;
	return k > 0 ? k : 0;
}

/* "(no limiters)" under a filter that hides every one would say the box
 * has none: during an incident that is a wrong answer, not an empty one. */
void tui_empty(struct tui_screen *s, int *row, const struct tui_view *v, size_t total,
	       const char *none)
{
	if (*row >= s->rows)
		return;
	struct pen p = tui_pen_at(s, (*row)++);
	if (v->filter[0] != '\0' && total > 0) {
		char f[sizeof(v->filter)];
		tui_putf(&p, -1, TUI_DIM, "  (none match '%s')", tui_printable(f, sizeof(f), v->filter));
	} else {
		tui_put(&p, none, -1, TUI_DIM);
	}
}

const char *tui_printable(char *buf, size_t len, const char *text)
{
	size_t n = 0;
	for (; len > 0 && text[n] != '\0' && n + 1 < len; n++)
		buf[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
	if (len > 0)
		buf[n] = '\0';
	return buf;
}
