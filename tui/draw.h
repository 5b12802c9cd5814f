/* draw.h — what the parts of the screen model share (not for main.c). */
#ifndef FBX_TUI_DRAW_H
#define FBX_TUI_DRAW_H

#include "screen.h"

/* A writing position on one line of the screen. */
struct pen {
	struct tui_line *line;
	int col, cols;
};

struct pen tui_pen_at(struct tui_screen *s, int row);
/* Text left-aligned in width columns (width < 0: its own length), clipped
 * to the screen, as one span of attr. */
void tui_put(struct pen *p, const char *text, int width, enum tui_attr attr);
void tui_putf(struct pen *p, int width, enum tui_attr attr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The whole line in one attribute (a selected row). */
void tui_mark_line(struct tui_screen *s, int row, enum tui_attr attr);
void tui_title(struct tui_screen *s, int row, const char *text, bool active);
/* Column i of a table row: the blank before it ("  " before the first),
 * then the text in the column's width and alignment, cut to it. */
void tui_gap(struct pen *p, int i);
void tui_cell(struct pen *p, const struct tui_column *c, int i, enum tui_attr attr,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A table's headings, in bold, from tables.c. */
void tui_heading(struct pen *p, enum tui_table t);
/* A pane's count for its title: "302" when all n rows are in sight, else
 * which of them are, "295-302 of 302" (first is 0-based, shown how many
 * are drawn); returns buf. */
const char *tui_count(char *buf, size_t len, int first, int shown, int n);
/* The rows a pane can draw from row on, room at most: the screen may
 * end first. */
int tui_rows_shown(const struct tui_screen *s, int row, int room, int first, int n);
/* The line of an empty pane: "(none match 'PAYM')" when the filter hid
 * the total records there are, else none ("(no limiters)"). */
void tui_empty(struct tui_screen *s, int *row, const struct tui_view *v, size_t total,
	       const char *none);
/* Text from the box (any writer may have scribbled on it) with every byte
 * that is not printable ASCII as '?', into buf; returns buf. */
const char *tui_printable(char *buf, size_t len, const char *text);

/* figures.c */
uint64_t tui_calls_of(const fbx_breaker_info *b);
/* The record called name in prev, looked for at position at first. */
const fbx_breaker_info *tui_prev_breaker(const struct tui_sample *prev, size_t at,
					 const char *name);
const fbx_limiter_info *tui_prev_limiter(const struct tui_sample *prev, size_t at,
					 const char *name);
double tui_per_s(uint64_t now, uint64_t before, double dt);
double tui_seconds_between(const struct tui_sample *cur, const struct tui_sample *prev);
double tui_failure_pct(const fbx_breaker_info *b, const fbx_breaker_info *pb); /* -1: none */
double tui_slow_pct(const fbx_breaker_info *b, const fbx_breaker_info *pb);
/* Indices of the pane's records, sorted and filtered; returns how many. */
int tui_order(const struct tui_sample *cur, const struct tui_view *v, enum tui_pane p, int *idx,
	      int max);

/* A rate's colour by its distance to the threshold that trips on it
 * (0: that policy is off, never coloured). */
enum tui_attr tui_rate_attr(double value, uint32_t threshold);

/* history.c */
void tui_sparkline(struct pen *p, const struct tui_history *h, size_t index);

/* The parts: each fills its rows and returns the row after them. */
void tui_header(const struct tui_sample *cur, const struct tui_sample *prev,
		const struct tui_view *v, struct tui_screen *s);
void tui_hint(const struct tui_view *v, struct tui_screen *s);
int tui_breakers_pane(const struct tui_sample *cur, const struct tui_sample *prev,
		      const struct tui_view *v, struct tui_screen *s, int row, int rows);
int tui_limiters_pane(const struct tui_sample *cur, const struct tui_sample *prev,
		      const struct tui_view *v, struct tui_screen *s, int row, int rows);
int tui_workers_pane(const struct tui_sample *cur, const struct tui_sample *prev,
		     const struct tui_view *v, struct tui_screen *s, int row, int rows);
int tui_health_pane(const struct tui_sample *cur, const struct tui_view *v,
		    struct tui_screen *s, int row, int rows);
int tui_resilience_pane(const struct tui_sample *cur, const struct tui_view *v,
			struct tui_screen *s, int row, int rows);
/* A row of the resilience pane in tui_order()'s indices: its kind (0
 * budget, 1 bulkhead, 2 cache) and its index among the snapshot's
 * records of that kind. */
#define TUI_RES_ROW(kind, i) ((int)(kind) << 20 | (int)(i))
#define TUI_RES_KIND(x) ((x) >> 20)
#define TUI_RES_INDEX(x) ((x) & 0xfffff)
/* The same worker in prev (pid and role), or NULL. */
const fbx_worker_info *tui_prev_worker(const struct tui_sample *prev, size_t at,
				       const fbx_worker_info *w);
void tui_events_pane(const struct tui_sample *cur, const struct tui_view *v,
		     struct tui_screen *s, int row, int rows);
/* One event on one line (pane_events.c): fbx_event_format's words, in the
 * colour of the state it led to, or the operator's. */
void tui_event_line(struct pen *p, const struct tui_sample *cur, const fbx_event *x);
/* The first of n rows to draw in a window of room rows so that the
 * selected one (when this pane has the selection) is in sight. */
int tui_first_row(const struct tui_view *v, enum tui_pane pane, int n, int room);
void tui_detail(const struct tui_sample *cur, const struct tui_view *v, struct tui_screen *s);

#endif
