/*
 * chaos_reader.c — the box's readers, on a box being scribbled on.
 *
 * In a loop, as the console and the tool would: take a snapshot through a
 * read-only handle of its own and check every record and event in it
 * (chaos_ranges.c: whole and in range, or flagged), follow the event ring
 * like `events --follow`, render the console's screen model at 80x24 and
 * 132x40 (the panes, a record's detail, filters and sorts) and check the
 * screen, open a fresh handle now and then (a damaged header must be a
 * refusal, not a fault), and every ~100 ms run one of fuseboxctl's
 * readers on the box and check what it printed.  Every step goes through
 * the beat, so the master's watchdog sees a step that does not return.
 *
 * What it finds goes into the shared report (chaos_shared.c); the master
 * replays it after the run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_scribble.h"
#include "internal.h"
#include "screen.h"

#define PAUSE_NS (5 * CHAOS_MS)
#define TOOL_EVERY_NS (100 * CHAOS_MS)
#define REOPEN_EVERY_NS (2 * CHAOS_SEC)
#define TOOL_KILL_NS (30 * CHAOS_SEC) /* far past the watchdog: it acts first */
#define EVENT_BATCH 64

struct reader {
	struct chaos_run *run;
	struct chaos_reader_report *rep;
	struct chaos_beat *beat;
	fbx_box *box;          /* its own read-only handle, else the master's */
	bool own;
	fbx_box_info info;
	uint64_t key_slots;
	fbx_snapshot *snap[2]; /* current and previous: the console's rates */
	unsigned cur;
	bool have_prev;
	uint64_t next_seq;     /* following the events */
	struct tui_history hist;
	uint64_t rng, iter;
	unsigned tool;
};

/* ---- which record a finding is about ------------------------------------ */

/* The index of the live record called name (the first, as finders do);
 * the box is being scribbled on, so this is a good guess, no more. */
static uint32_t record_of(const struct reader *r, bool breaker, const char *name)
{
	const fbx_box *box = r->box;
	uint32_t cap = breaker ? box->cap_breakers : box->cap_limiters;
	for (uint32_t i = 0; i < cap; i++) {
		const char *have = breaker ? box->breakers[i].head.name : box->limiters[i].head.name;
		if (strncmp(have, name, FBX_NAME_MAX) == 0)
			return i;
	}
	return UINT32_MAX;
}

/* A damaged record stays damaged: every later snapshot would show it
 * again.  One violation per record (and per name that finds no record);
 * the later sightings are only counted. */
static void damage(struct reader *r, bool breaker, const char *name, const char *why)
{
	static bool said[2][FBX__LIMITERS_MAX + 2];
	uint32_t i = record_of(r, breaker, name);
	uint32_t slot = i < FBX__LIMITERS_MAX ? i : FBX__LIMITERS_MAX + 1;
	r->rep->damage_sightings++;
	if (said[breaker][slot])
		return;
	said[breaker][slot] = true;
	chaos_rviolation(r->rep, RI_DAMAGE, i == UINT32_MAX ? RG_N : breaker ? RG_BREAKER : RG_LIMITER,
			 i, "in a snapshot at +%.3f s, %s record %d: %s", chaos_rel(r->run, chaos_now()),
			 breaker ? "breaker" : "limiter", i == UINT32_MAX ? -1 : (int)i, why);
}

/* ---- checking a snapshot ------------------------------------------------- */

static void check_events(struct reader *r, const fbx_event *e, size_t n, uint64_t from,
			 const char *where)
{
	char buf[400];
	for (size_t i = 0; i < n; i++) {
		r->rep->checked[RI_EVENTS]++;
		r->rep->events++;
		r->rep->events_corrupt += e[i].corrupt != 0;
		const char *why = chaos_event_problem(&e[i], buf, sizeof(buf));
		uint64_t want = i ? e[i - 1].seq + 1 : from;
		if (why == NULL && e[i].seq < want) {
			snprintf(buf, sizeof(buf), "event %llu came after %llu (asked from %llu)",
				 (unsigned long long)e[i].seq, (unsigned long long)(want - 1),
				 (unsigned long long)from);
			why = buf;
		}
		if (why != NULL)
			chaos_rviolation(r->rep, RI_EVENTS, RG_EVENTS,
					 (uint32_t)(e[i].seq % r->box->cap_events), "%s at +%.3f s: %s",
					 where, chaos_rel(r->run, chaos_now()), why);
	}
}

static void check_snapshot(struct reader *r, const fbx_snapshot *s)
{
	char buf[400];
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	const fbx_event *e = fbx_snapshot_events(s, &ne, &dropped);
	for (size_t i = 0; i < nb; i++) {
		r->rep->checked[RI_DAMAGE]++;
		r->rep->corrupt_breakers += b[i].corrupt != 0;
		const char *why = chaos_breaker_problem(&b[i], buf, sizeof(buf));
		if (why != NULL)
			damage(r, true, b[i].name, why);
	}
	for (size_t i = 0; i < nl; i++) {
		r->rep->checked[RI_DAMAGE]++;
		r->rep->corrupt_limiters += l[i].corrupt != 0;
		const char *why = chaos_limiter_problem(&l[i], r->key_slots, buf, sizeof(buf));
		if (why != NULL)
			damage(r, false, l[i].name, why);
	}
	check_events(r, e, ne, ne ? e[0].seq : 0, "a snapshot's events");
}

/* ---- the steps ------------------------------------------------------------- */

static void snapshot_step(struct reader *r)
{
	r->cur ^= 1;
	chaos_beat_step(r->beat, STEP_SNAPSHOT, "fbx_snapshot_take on the reader's handle");
	int rc = fbx_snapshot_take(r->box, r->snap[r->cur]);
	chaos_beat_done(r->beat);
	r->rep->snapshots++;
	r->rep->ops++;
	if (rc != 0) {
		r->rep->snapshot_fail++; /* the box is damaged: a refusal is fine */
		r->cur ^= 1;
		return;
	}
	chaos_beat_step(r->beat, STEP_CHECK, "checking the snapshot");
	check_snapshot(r, r->snap[r->cur]);
	chaos_beat_done(r->beat);
}

static void events_step(struct reader *r)
{
	static fbx_event buf[EVENT_BATCH];
	for (int batch = 0; batch < 16; batch++) {
		size_t n = 0;
		uint64_t from = r->next_seq, next = from;
		chaos_beat_step(r->beat, STEP_EVENTS, "fbx_events_read, following the ring");
		int rc = fbx_events_read(r->box, from, buf, EVENT_BATCH, &n, &next);
		chaos_beat_done(r->beat);
		r->rep->event_reads++;
		r->rep->ops++;
		if (rc != 0)
			return;
		check_events(r, buf, n, from, "followed events");
		r->next_seq = next;
		if (n < EVENT_BATCH)
			return;
	}
}

static struct tui_sample sample_of(const struct reader *r, const fbx_snapshot *s)
{
	return (struct tui_sample){.snap = s,
				   .time_ns = fbx_snapshot_time(s),
				   .box_created_ns = r->info.created_ns,
				   .layout_version = r->info.layout_version,
				   .key_capacity = r->info.capacity.keys,
				   .log_key_capacity = r->info.capacity.log_keys};
}

static void render(struct reader *r, const struct tui_sample *cur, const struct tui_sample *prev,
		   struct tui_view *v, int rows, int cols)
{
	static struct tui_screen scr;
	char what[160], buf[400];
	snprintf(what, sizeof(what), "tui_render %dx%d, pane %d, row %d, sort %d, filter '%s'%s",
		 cols, rows, (int)v->pane, v->selected, (int)v->sort, v->filter,
		 v->detail ? ", detail" : "");
	chaos_beat_step(r->beat, STEP_RENDER, what);
	tui_render(cur, prev, v, rows, cols, &scr);
	/* the navigation the front end calls between renders */
	const char *sel = tui_selected_name(cur, v);
	if (sel != NULL)
		tui_find_row(cur, v, sel);
	tui_pane_rows(cur, v, v->pane);
	chaos_beat_done(r->beat);
	r->rep->renders++;
	r->rep->ops++;
	r->rep->checked[RI_SCREEN]++;
	const char *why = chaos_screen_problem(&scr, rows, cols, buf, sizeof(buf));
	if (why != NULL)
		chaos_rviolation(r->rep, RI_SCREEN, RG_N, 0, "%s at +%.3f s: %s", what,
				 chaos_rel(r->run, chaos_now()), why);
}

static void render_step(struct reader *r)
{
	struct tui_sample cur = sample_of(r, r->snap[r->cur]);
	struct tui_sample prev = sample_of(r, r->snap[r->cur ^ 1]);
	if (r->have_prev)
		tui_history_push(&r->hist, &cur, &prev);
	static const char *const filters[] = {"", "", "", "-", "e", "corrupt", "\"", "a"};
	struct tui_view v = {.box = r->run->o.box, .read_only = true, .interval_s = 1.0,
			     .history = &r->hist, .message = NULL};
	v.pane = (enum tui_pane)(r->iter % TUI_PANE_COUNT);
	v.sort = (enum tui_sort)(r->iter / TUI_PANE_COUNT % TUI_SORT_COUNT);
	v.selected = (int)chaos_rand(&r->rng, 24);
	v.detail = chaos_rand(&r->rng, 4) == 0;
	v.paused = chaos_rand(&r->rng, 8) == 0;
	snprintf(v.filter, sizeof(v.filter), "%s", filters[chaos_rand(&r->rng, 8)]);
	snprintf(v.clock, sizeof(v.clock), "12:34:56");
	render(r, &cur, r->have_prev ? &prev : NULL, &v, 24, 80);
	render(r, &cur, r->have_prev ? &prev : NULL, &v, 40, 132);
	r->have_prev = true;
}

static void reopen_step(struct reader *r)
{
	fbx_box *box = NULL;
	fbx_snapshot *s = NULL;
	fbx_box_config quick;
	fbx_box_config_init(&quick);
	quick.timeout_ms = 500; /* a scribbled `ready` makes an opener wait this long */
	chaos_beat_step(r->beat, STEP_OPEN, "fbx_box_open read-only, and a snapshot through it");
	int rc = fbx_box_open(r->run->o.box, FBX_OPEN_RDONLY, &quick, &box);
	if (rc == 0)
		rc = fbx_snapshot_new(box, &s);
	if (rc == 0)
		rc = fbx_snapshot_take(box, s);
	chaos_beat_done(r->beat);
	r->rep->opens++;
	r->rep->ops++;
	r->rep->open_fail += rc != 0;
	if (rc == 0) {
		chaos_beat_step(r->beat, STEP_CHECK, "checking a fresh handle's snapshot");
		check_snapshot(r, s);
		chaos_beat_done(r->beat);
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}

static void tool_step(struct reader *r)
{
	unsigned tool = r->tool++ % TOOL_N;
	const char *args[10];
	chaos_tool_args(tool, r->run->o.box, args);
	char what[160];
	snprintf(what, sizeof(what), "fuseboxctl %s", chaos_tool_name(tool));
	struct chaos_tool_out o;
	chaos_beat_step(r->beat, STEP_TOOL, what);
	int rc = chaos_tool_run(r->run->o.ctl, args, r->beat, TOOL_KILL_NS, &o);
	chaos_beat_done(r->beat);
	r->rep->ops++;
	if (rc != 0) {
		chaos_tool_free(&o);
		return; /* no pipe or no fork: the machine's trouble, not the tool's */
	}
	r->rep->tool_runs[tool]++;
	if (o.ns > r->rep->tool_ns_max[tool])
		r->rep->tool_ns_max[tool] = o.ns;
	double at = chaos_rel(r->run, chaos_now());
	if (WIFSIGNALED(o.status)) {
		r->rep->tool_end[tool][TX_SIGNAL]++;
		int sig = WTERMSIG(o.status);
		bool aborted = atomic_load(&r->beat->aborted_child) == o.pid;
		if (o.killed)
			chaos_rviolation(r->rep, RI_HANG, RG_N, 0, "%s (pid %d) still ran after %.0f s "
					 "at +%.3f s: killed", what, (int)o.pid,
					 (double)TOOL_KILL_NS / 1e9, at);
		else if (!aborted) /* an abort by the watchdog is counted as a hang there */
			chaos_rviolation(r->rep, RI_CRASH, RG_N, 0, "%s (pid %d) died of signal %d "
					 "(%s) at +%.3f s after %.3f s; stderr: %.200s", what,
					 (int)o.pid, sig, strsignal(sig), at, (double)o.ns / 1e9, o.err);
	} else {
		int code = WEXITSTATUS(o.status);
		r->rep->tool_end[tool][code == 0 ? TX_OK : code == 2 ? TX_TWO : TX_OTHER]++;
		if (code != 0)
			snprintf(r->rep->tool_err[tool], sizeof(r->rep->tool_err[tool]),
				 "exit %d: %.140s", code, o.err);
		char buf[400];
		r->rep->checked[RI_TOOL_OUTPUT]++;
		const char *why = chaos_tool_problem(tool, &o, buf, sizeof(buf));
		if (why != NULL)
			chaos_rviolation(r->rep, RI_TOOL_OUTPUT, RG_N, 0, "%s at +%.3f s (exit %d): %s",
					 what, at, code, why);
	}
	r->rep->checked[RI_CRASH]++;
	chaos_tool_free(&o);
}

/* ---- the life ----------------------------------------------------------------- */

static void setup(struct reader *r)
{
	fbx_box_config quick;
	fbx_box_config_init(&quick);
	quick.timeout_ms = 500;
	chaos_beat_step(r->beat, STEP_OPEN, "fbx_box_open read-only (the reader's handle)");
	int rc = fbx_box_open(r->run->o.box, FBX_OPEN_RDONLY, &quick, &r->box);
	chaos_beat_done(r->beat);
	r->own = rc == 0;
	if (!r->own)
		r->box = r->run->box; /* the header is damaged: read through the master's */
	fbx_box_info_get(r->box, &r->info);
	r->key_slots = (uint64_t)r->box->key_buckets * FBX__KB_WAYS;
	if (fbx_snapshot_new(r->box, &r->snap[0]) != 0 || fbx_snapshot_new(r->box, &r->snap[1]) != 0 ||
	    tui_history_init(&r->hist, r->info.capacity.breakers) != 0)
		_exit(CHAOS_EXIT_SETUP);
}

void chaos_reader_main(struct chaos_run *run, uint32_t life)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != run->master)
		_exit(0);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	chaos_trace_install("reader", &run->shared->traces);
	static struct reader r;
	r.run = run;
	r.rep = &run->shared->rep;
	r.beat = &run->shared->reader;
	r.rng = run->o.seed ^ 0x726561646572ull ^ ((uint64_t)life << 32);
	chaos_rng(&r.rng);
	r.rep->lives++;
	setup(&r);
	uint64_t now = chaos_now(), next_tool = now, next_reopen = now + REOPEN_EVERY_NS;
	uint64_t hard_end = run->log->ctl->t_end + 30 * CHAOS_SEC;
	uint64_t bound = (uint64_t)(run->o.seconds + 60) * (CHAOS_SEC / PAUSE_NS);
	for (r.iter = 0; r.iter < bound; r.iter++) {
		if (atomic_load(&run->shared->stop_reader) || atomic_load(&run->log->ctl->stop) ||
		    chaos_now() > hard_end)
			break;
		snapshot_step(&r);
		events_step(&r);
		render_step(&r);
		now = chaos_now();
		if (now >= next_reopen) {
			reopen_step(&r);
			next_reopen = now + REOPEN_EVERY_NS;
		}
		if (now >= next_tool) {
			tool_step(&r);
			next_tool = chaos_now() + TOOL_EVERY_NS;
		}
		chaos_sleep_ns(PAUSE_NS);
	}
	_exit(0);
}
