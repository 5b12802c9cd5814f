/*
 * chaos_scribble.h — what the files of the --scribble mode share.
 *
 * docs/SECURITY.md promises that a writer who scribbles on a live box can
 * make decisions wrong, but can never make another process crash, hang or
 * read out of bounds, and that readers flag what is damaged.  The scribble
 * mode turns that into a run: besides the workers (chaos_worker.c), a
 * scribbler (chaos_scribbler.c) writes random bytes into the mapping, a
 * reader (chaos_reader.c) takes snapshots, follows the events, renders the
 * console's screen model and runs fuseboxctl (chaos_spawn.c), checking
 * everything it gets (chaos_ranges.c, chaos_wellformed.c); the master's
 * watchdog (chaos_watchdog.c) fails the run when a process makes no
 * progress, and the validator (chaos_scribble_check.c) checks deaths and,
 * for every record the scribbler touched, that the snapshot shows it whole
 * or marked corrupt.
 *
 * The scribbler and the reader are processes of their own: what they do
 * and learn goes through one MAP_SHARED block made before the first fork
 * (chaos_shared.c), as the workers' calls go through their log.
 */
#ifndef CHAOS_SCRIBBLE_H
#define CHAOS_SCRIBBLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chaos.h"

/* A process that made no progress for this long is hung. */
#define CHAOS_HANG_NS (5 * CHAOS_SEC)

/* The regions of the box's layout (lib/layout.c), as chaos_where.c names them. */
enum chaos_area {
	RG_HEADER, RG_HEADER_FIXED, RG_BREAKER, RG_RING, RG_LIMITER, RG_KEYS, RG_EVENTS,
	RG_WORKERS, RG_SHARDS, RG_OTHER, RG_N
};

/* The records the scribbler leaves alone (the master registers them at
 * these indices: chaos_spec.c's long-lease-3 and gcra-global), but for
 * its rare scribbles anywhere in the mapping. */
#define CHAOS_CONTROL_BREAKER (CHAOS_BREAKERS - 1)
#define CHAOS_CONTROL_LIMITER (CHAOS_STORM - 1)

/* ---- one scribble ------------------------------------------------------- */

#define CHAOS_SCRIB_MAX 16
enum chaos_scrib_mode { SM_RANDOM, SM_FLIP, SM_ZERO, SM_ONES, SM_SMALL, SM_TEXT, SM_N };

struct chaos_scrib {
	uint64_t t;    /* CLOCK_MONOTONIC right after the write */
	uint64_t off;  /* from the mapping's base */
	uint8_t len, mode;
	uint8_t old[CHAOS_SCRIB_MAX], now[CHAOS_SCRIB_MAX];
};

/* ---- progress, for the watchdog ------------------------------------------ */

enum chaos_step {
	STEP_IDLE, STEP_OPEN, STEP_SNAPSHOT, STEP_CHECK, STEP_EVENTS, STEP_RENDER, STEP_TOOL,
	STEP_SCRIBBLE, STEP_N
};

/* Written by its process only; read by the master's watchdog. */
struct chaos_beat {
	_Atomic uint64_t progress;      /* steps finished */
	_Atomic uint64_t t_step;        /* when the step in progress began */
	_Atomic uint32_t step;          /* enum chaos_step */
	_Atomic int32_t child;          /* a tool being waited for, 0 when none */
	_Atomic int32_t aborted_child;  /* set by the master: it aborted that tool */
	char what[160];                 /* the step in words, e.g. a command line */
};

void chaos_beat_step(struct chaos_beat *b, enum chaos_step step, const char *what);
void chaos_beat_done(struct chaos_beat *b);
const char *chaos_step_name(unsigned step);

/* ---- what the reader found ------------------------------------------------- */

/* The reader's invariants; the master replays them into chaos_report.c. */
enum chaos_rinv { RI_DAMAGE, RI_EVENTS, RI_SCREEN, RI_TOOL_OUTPUT, RI_CRASH, RI_HANG, RI_N };
#define CHAOS_RMSG_MAX 8
#define CHAOS_RMSG_LEN 600

/* One violation in full: when, and the record it is about (region
 * RG_BREAKER, RG_LIMITER or RG_EVENTS and its index; RG_N when none), so
 * that the master can list the scribbles that hit it. */
struct chaos_rmsg {
	uint64_t t;
	uint32_t region, index;
	char text[CHAOS_RMSG_LEN];
};

/* What the reader runs: the three the console's users script against, the
 * plain status, and a keyed limiter's most-denied keys (their text comes
 * from the segment) as JSON and as text. */
enum chaos_tool { TOOL_STATUS_JSON, TOOL_EVENTS_JSON, TOOL_METRICS, TOOL_STATUS, TOOL_TOP_JSON,
		  TOOL_TOP_TEXT, TOOL_N };
enum { TX_OK, TX_TWO, TX_OTHER, TX_SIGNAL, TX_N }; /* how a tool ended */

struct chaos_reader_report {
	uint64_t checked[RI_N], violations[RI_N];
	struct chaos_rmsg msg[RI_N][CHAOS_RMSG_MAX];
	uint64_t lives, ops, snapshots, snapshot_fail, event_reads, events, events_corrupt;
	uint64_t renders, opens, open_fail, corrupt_breakers, corrupt_limiters;
	uint64_t damage_sightings; /* snapshots that showed a record damaged, unflagged */
	uint64_t tool_runs[TOOL_N], tool_end[TOOL_N][TX_N], tool_ns_max[TOOL_N];
	char tool_err[TOOL_N][160]; /* the last complaint of a tool that exited non-zero */
};

/* Counts a violation of inv found by the reader, and keeps the first few
 * in full; region/index name the record it is about (RG_N: none). */
void chaos_rviolation(struct chaos_reader_report *r, enum chaos_rinv inv, unsigned region,
		      uint32_t index, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *chaos_rinv_name(unsigned inv);

/* ---- the shared block ------------------------------------------------------ */

/* The codes workers' calls returned, per worker slot: a damaged box makes
 * most calls fail, and a log record for each would fill the log in
 * seconds, so in this mode every call is only counted here (its record at
 * the log's count still says which call is in flight: chaos_log.h).
 * Index -rc for the library's codes 0..FBX_ETRUNC, CODE_OTHER for any other. */
#define CHAOS_SLOTS_MAX 64
#define CODE_KINDS 22
#define CODE_OTHER 21
struct chaos_codes {
	uint64_t n[CHAOS_SLOTS_MAX][OP_N][CODE_KINDS];
	struct {
		uint64_t t;
		int rc;
		uint8_t op, slot;
	} first_other;
};
void chaos_scribble_code(struct chaos_codes *c, unsigned slot, unsigned op, int rc);

struct chaos_shared {
	_Atomic int stop_scribbler;
	_Atomic int stop_reader;
	_Atomic uint32_t traces;        /* backtraces printed, all processes */
	struct chaos_beat reader, scribbler;
	struct chaos_reader_report rep;
	struct chaos_codes codes;
	uint64_t scrib_cap;
	_Atomic uint64_t nscrib;        /* published with release */
	struct chaos_scrib scrib[];
};

struct chaos_shared *chaos_shared_create(uint64_t scrib_cap);
void chaos_shared_destroy(struct chaos_shared *s);

/* ---- the processes ------------------------------------------------------------ */

void chaos_scribbler_main(struct chaos_run *run) __attribute__((noreturn));
void chaos_reader_main(struct chaos_run *run, uint32_t life) __attribute__((noreturn));

/* chaos_aux.c, in the master: start (run->shared made), watch, reap and
 * stop the scribbler and the reader. */
int chaos_aux_start(struct chaos_run *run);
/* Whether pid was the scribbler or the reader (then its end is noted and
 * the reader respawned while respawn holds). */
bool chaos_aux_reaped(struct chaos_run *run, pid_t pid, int status, bool respawn);
void chaos_aux_stop_scribbler(struct chaos_run *run);
void chaos_aux_stop_reader(struct chaos_run *run);
uint64_t chaos_aux_reader_ops(const struct chaos_run *run);
uint64_t chaos_aux_scribbles(const struct chaos_run *run);
/* Deaths of the scribbler and the reader, for the validator. */
struct chaos_aux_death {
	pid_t pid;
	const char *who;
	int status;
	uint64_t t;
};
const struct chaos_aux_death *chaos_aux_deaths(size_t *n);

/* "in take win-key (key id 17, cost 2)": a worker's call from its log
 * record, and the record of the box it is about (the header's counters
 * for a call about none: a snapshot, an open, events). */
void chaos_call_describe(const struct chaos_run *run, const struct chaos_rec *r, char *buf,
			 size_t len, enum chaos_area *region, uint32_t *index);

/* chaos_watchdog.c: every ~100 ms in the master */
void chaos_watchdog_tick(struct chaos_run *run, uint64_t now);
/* Whether the watchdog aborted pid (its SIGABRT is a hang, not a crash). */
bool chaos_watchdog_aborted(pid_t pid);
uint64_t chaos_watchdog_hangs(void);

/* chaos_trace.c: a crash or the watchdog's SIGABRT prints a backtrace
 * (the first CHAOS_TRACES_MAX of the run: the same bug tends to repeat) */
#define CHAOS_TRACES_MAX 8
void chaos_trace_install(const char *who, _Atomic uint32_t *printed);
/* gdb's backtrace of pid, if gdb is there (bounded); printed to stdout. */
void chaos_trace_attach(pid_t pid);

/* chaos_where.c: an offset of the mapping in words, e.g.
 * "breaker[2].state+3"; the record it lies in, if any. */
struct chaos_where {
	enum chaos_area region;
	uint32_t index;     /* the record, bucket, slot or shard */
	char field[96];
};
void chaos_where(const fbx_box *box, uint64_t off, struct chaos_where *w);
/* The same without the words: the region, and the index within it. */
enum chaos_area chaos_locate(const fbx_box *box, uint64_t off, uint32_t *index);
const char *chaos_area_name(unsigned r);
/* "offset 0x1a2b (breaker[2].state+3), 4 bytes: 00 00 00 00 -> de ad be ef" */
void chaos_scrib_text(const fbx_box *box, const struct chaos_scrib *s, char *buf, size_t len);
/* Prints (as details of the violation just counted) the last few scribbles
 * before t, and the last few before t on the given record or region
 * (RG_BREAKER, RG_LIMITER or RG_EVENTS and an index; RG_HEADER and 0 for
 * the header's counters; RG_N for none). */
void chaos_scrib_recent(const struct chaos_run *run, const char *inv, uint64_t t,
			enum chaos_area region, uint32_t index);

/* chaos_ranges.c: NULL when the record is whole and within the ranges
 * fusebox.h documents, or marked corrupt with a printable name; else what
 * is wrong, written into buf. */
const char *chaos_breaker_problem(const fbx_breaker_info *b, char *buf, size_t len);
const char *chaos_limiter_problem(const fbx_limiter_info *l, uint64_t key_slots, char *buf,
				  size_t len);
const char *chaos_event_problem(const fbx_event *e, char *buf, size_t len);
/* Whether s holds a NUL within max bytes and only printable ASCII before it. */
bool chaos_printable(const char *s, size_t max);

/* chaos_wellformed.c: NULL when the text is what it should be, else why
 * (a static string or buf) */
const char *chaos_json_problem(const char *text, size_t len, char *buf, size_t blen);
const char *chaos_metrics_problem(const char *text, size_t len, char *buf, size_t blen);
const char *chaos_text_problem(const char *text, size_t len, char *buf, size_t blen);
struct tui_screen;
const char *chaos_screen_problem(const struct tui_screen *s, int rows, int cols, char *buf,
				 size_t blen);

/* chaos_spawn.c: runs ctl with args (NULL-terminated) and collects what it
 * prints.  The beat names the child while it runs, so the watchdog can
 * abort a tool that hangs; a tool still running after kill_ns is killed. */
struct chaos_tool_out {
	char *out;         /* stdout, NUL-terminated (malloc'd; NULL when none) */
	size_t len;
	bool cut;          /* stdout was longer than kept */
	char err[512];     /* the start of stderr */
	int status;        /* as waitpid gave it; -1 when it could not be run */
	pid_t pid;
	uint64_t ns;
	bool killed;       /* still running after kill_ns (or the loop's bound): SIGKILLed */
};
int chaos_tool_run(const char *ctl, const char *const args[], struct chaos_beat *beat,
		   uint64_t kill_ns, struct chaos_tool_out *o);
void chaos_tool_free(struct chaos_tool_out *o);
const char *chaos_tool_name(unsigned tool);
/* The arguments of tool (after the program), for box. */
void chaos_tool_args(unsigned tool, const char *box, const char *args[10]);
/* Checks what a tool printed; returns the violation's text or NULL. */
const char *chaos_tool_problem(unsigned tool, const struct chaos_tool_out *o, char *buf,
			       size_t len);

/* chaos_scribble_check.c: the checks after a --scribble run */
void chaos_scribble_validate(struct chaos_run *run);
/* Counts the reader's checks and violations of inv into chaos_report.c. */
void chaos_scribble_replay(const struct chaos_run *run, enum chaos_rinv inv);
/* chaos_scribble_final.c: the box the run left (damage-flagged,
 * untouched-readable, events-flagged); by_area gets the scribbles' count
 * by region.  The tools once more, on that box. */
void chaos_scribble_final(const struct chaos_run *run, uint64_t by_area[RG_N]);
void chaos_scribble_final_tools(const struct chaos_run *run);

#endif
