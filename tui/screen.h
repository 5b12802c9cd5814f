/*
 * screen.h — fusebox-top's screen model.
 *
 * Rendering is a pure function from two samples of the box (for rates) and
 * the operator's view settings to lines of text with attribute spans; the
 * curses front end only copies them to the terminal, and tests check them
 * without one.  Every state is shown as a word and a glyph as well as a
 * colour, so a monochrome terminal or NO_COLOR loses nothing.
 */
#ifndef FBX_TUI_SCREEN_H
#define FBX_TUI_SCREEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fusebox.h"

#define TUI_ROWS_MAX 256
#define TUI_COLS_MAX 256
#define TUI_SPANS_MAX 24

/* Each attribute also comes "on the selected row" (TUI_ON_SELECTED): the
 * row is shown in reverse video and each span keeps its own meaning (a red
 * state stays red), which a single TUI_SELECTED span over the row would
 * hide.  Every value is below TUI_ATTR_COUNT, as readers check. */
enum tui_attr {
	TUI_NORMAL, TUI_BOLD, TUI_DIM, TUI_GOOD, TUI_WARN, TUI_BAD,
	TUI_SELECTED, TUI_MANUAL, TUI_TITLE, TUI_PLAIN_COUNT,
	TUI_ATTR_COUNT = 2 * TUI_PLAIN_COUNT
};
#define TUI_ON_SELECTED(a) ((a) % TUI_PLAIN_COUNT + TUI_PLAIN_COUNT)
#define TUI_IS_ON_SELECTED(a) ((a) >= TUI_PLAIN_COUNT)
#define TUI_ATTR(a) ((a) % TUI_PLAIN_COUNT)

struct tui_span {
	uint16_t col, len;
	uint8_t attr;
};

struct tui_line {
	char text[TUI_COLS_MAX + 1];
	uint8_t nspans;
	struct tui_span span[TUI_SPANS_MAX];
};

/* A terminal's screen uses own[]; a printout (fusebox-top -1), which has
 * every row however many, points line at cap lines of its own. */
struct tui_screen {
	int rows, cols;
	int cap;                 /* lines at line; 0: own[] */
	struct tui_line *line;   /* NULL: own[] (tui_render sets it) */
	struct tui_line own[TUI_ROWS_MAX];
};

/* Tab's order.  Breakers and limiters are always drawn; the part below
 * them shows the workers, the health checks or the retry budgets,
 * bulkheads and caches (resilience) while one of those panes has the
 * selection, else the events. */
enum tui_pane {
	TUI_PANE_BREAKERS, TUI_PANE_LIMITERS, TUI_PANE_WORKERS, TUI_PANE_HEALTH,
	TUI_PANE_RESILIENCE, TUI_PANE_EVENTS, TUI_PANE_COUNT
};
enum tui_sort { TUI_SORT_WORST, TUI_SORT_NAME, TUI_SORT_CALLS, TUI_SORT_COUNT };

/* What the operator chose to see. */
struct tui_view {
	const char *box;
	enum tui_pane pane;   /* the pane with the selection */
	int selected;         /* row within that pane's sorted, filtered rows */
	enum tui_sort sort;
	char filter[64];      /* substring of names, letter case aside; "" = all */
	bool paused, read_only;
	bool detail;          /* the selected record's detail instead of the panes */
	bool all_panes;       /* every pane, one after the other (a printout) */
	double interval_s;
	const char *message;  /* one line for the operator (errors, results) */
	const char *no_box;   /* the header's words while there is no box (NULL:
				 "no box: waiting for it to appear") */
	char clock[16];       /* wall-clock time of the last sample, "12:03:04" */
	const struct tui_history *history; /* NULL: no sparklines */
};

struct tui_sample;

/* Recent calls and failures per breaker, one slot per sample, for the
 * sparkline; kept by the front end across samples. */
#define TUI_SPARK 12
struct tui_history {
	uint32_t cap;          /* breakers it can hold */
	uint32_t len, head;    /* samples kept, next slot */
	float *calls, *fails;  /* cap x TUI_SPARK, per second */
	/* events added to the ring (its next seq) at each sample's time, for
	 * ev/s over the last few seconds rather than one refresh */
	uint32_t ev_len, ev_head;
	uint64_t ev_time[TUI_SPARK], ev_total[TUI_SPARK];
};
int tui_history_init(struct tui_history *h, uint32_t breakers);
void tui_history_free(struct tui_history *h);
void tui_history_push(struct tui_history *h, const struct tui_sample *cur,
		      const struct tui_sample *prev);
/* Events a second over the samples of the last window_s seconds (at
 * least two samples); -1 when the history has fewer than two. */
double tui_history_event_rate(const struct tui_history *h, double window_s);

/* One reading of the box. */
struct tui_sample {
	const fbx_snapshot *snap;  /* NULL: no box to show */
	uint64_t time_ns;
	uint64_t box_created_ns;
	uint32_t layout_version;
	uint32_t key_capacity;     /* keys of the window and GCRA limiters' table */
	uint32_t log_key_capacity; /* keys of the log's table, which keyed log
				      limiters fill (0: not known) */
};

/* Fills out (rows x cols, clamped to the maxima) from cur, with rates
 * against prev when given (same box, earlier). */
void tui_render(const struct tui_sample *cur, const struct tui_sample *prev,
		const struct tui_view *view, int rows, int cols, struct tui_screen *out);

/* The state's word (fbx_breaker_state_label) and glyph, e.g. "open", "X". */
const char *tui_state_word(int state);
/* A breaker's word into buf: its state's, or "open, due" when its open
 * period is over and no call has come to be the trial; returns buf. */
const char *tui_breaker_word(const fbx_breaker_info *b, char *buf, size_t len);
/* A duration: compact, in at most 4 columns for a table ("0s", "12s",
 * "4m", "3h", "2d"), else to the second ("350ms", "2m13s", "3h05m",
 * "2d04h"). */
void tui_age(char *buf, size_t len, uint64_t ns, bool compact);
const char *tui_state_glyph(int state);
enum tui_attr tui_state_attr(int state);

/* A worker's state: "o alive", "X gone" (its process), "X stale" (its
 * heartbeat), "? damaged". */
const char *tui_worker_word(const fbx_worker_info *w);
/* The box's aggregate as the header says it: "ok", "DEGRADED", "UNHEALTHY". */
const char *tui_health_word(int status);
/* Whether the box's processes use workers, checks or the drain at all: a
 * box of breakers and limiters alone keeps its header as it was. */
bool tui_health_used(const fbx_snapshot *snap);

/* Rows of a pane after sorting and filtering, for navigation; names of
 * the selected breaker, limiter or check (NULL when none, and in the
 * workers and events panes). */
int tui_pane_rows(const struct tui_sample *cur, const struct tui_view *view, enum tui_pane p);
const char *tui_selected_name(const struct tui_sample *cur, const struct tui_view *view);
/* The row of name in the view's pane now, or -1: the selection follows a
 * record when sorting moves it. */
int tui_find_row(const struct tui_sample *cur, const struct tui_view *view, const char *name);
/* Rows of records the view's pane shows on a screen of rows lines (what
 * PgUp and PgDn move by); at least 1. */
int tui_page_rows(const struct tui_view *view, int rows);
/* Lines a printout (all_panes) of cur needs for every row of every pane. */
int tui_printout_rows(const struct tui_sample *cur);
/* A pane's name in lower case ("resilience"), in Tab's order, which a
 * printout follows. */
const char *tui_pane_name(enum tui_pane p);
/* The escape delay in ms the console sets: $ESCDELAY (env) when it is a
 * number of ms, else a short one (not ncurses' second). */
int tui_escape_delay(const char *env);
/* The sort's words, as the pane titles and the help say it. */
const char *tui_sort_word(enum tui_sort sort);

/* ---- the words the console shows, in one place (tables.c) -------------
 * The panes draw their column headings from these tables, main.c its
 * prompts, and fusebox-top --man prints the man page's parts from the
 * same, so the page cannot drift from the screen. */
struct tui_column {
	const char *head;
	int width;         /* of the values; headings are cut to it */
	bool right;        /* right-aligned (figures) */
	const char *help;  /* for the man page: plain text, one paragraph */
};
enum tui_table {
	TUI_COLS_BREAKERS, TUI_COLS_LIMITERS, TUI_COLS_WORKERS, TUI_COLS_HEALTH,
	TUI_COLS_BUDGETS, TUI_COLS_BULKHEADS, TUI_COLS_CACHES, TUI_TABLE_COUNT
};
const struct tui_column *tui_columns(enum tui_table t, int *n);
const char *tui_table_name(enum tui_table t);

/* The prompts on the bottom line: the text (a printf format taking the
 * record's or the box's name where it has %s), an example name for the
 * man page, and what y, Enter and Esc do there. */
enum tui_prompt {
	TUI_Q_TRIP, TUI_Q_HOLD, TUI_Q_RELEASE, TUI_Q_RESET, TUI_Q_DRY_ON, TUI_Q_DRY_OFF,
	TUI_Q_DRAIN_ON, TUI_Q_DRAIN_OFF, TUI_Q_REMOVE_CHECK, TUI_Q_REASON, TUI_Q_FILTER,
	TUI_Q_COUNT
};
struct tui_prompt_text {
	const char *format, *example, *answers;
};
const struct tui_prompt_text *tui_prompt(enum tui_prompt q);

/* The header's fields, left to right, as the man page explains them. */
struct tui_header_field {
	const char *shown, *help;
};
const struct tui_header_field *tui_header_fields(int *n);

/* The man page's generated parts (all but the keys, which main.c owns),
 * as troff between ".\" BEGIN GENERATED name" and ".\" END GENERATED
 * name" lines. */
void tui_man_columns(FILE *f);
void tui_man_printout(FILE *f);
void tui_man_prompts(FILE *f);
void tui_man_header(FILE *f);
/* Text as troff: a leading dot or quote guarded, backslashes and
 * hyphens escaped. */
void tui_man_text(FILE *f, const char *text);

#endif
