/*
 * chaos.h — what the chaos harness's files share.
 *
 * The master (chaos_main.c) creates a box and forks workers
 * (chaos_worker.c) that hammer every breaker and limiter in it and log
 * what they observe (chaos_log.c); a killer (chaos_killer.c) SIGKILLs and
 * SIGSTOPs them at random moments and the master respawns the dead.  A
 * monitor (chaos_monitor.c) samples the box during the run; afterwards the
 * validator (chaos_validate.c and the chaos_*.c it calls: trials, bounds,
 * keys, events, reopen, recover) checks every invariant against the log
 * and the box.
 * Each check prints what it looked at; each violation prints enough to
 * find it again (record, key, generation, times, pids).
 */
#ifndef CHAOS_H
#define CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chaos_log.h"
#include "fusebox.h"

#define CHAOS_SEC 1000000000ull
#define CHAOS_MS 1000000ull
#define CHAOS_US 1000ull

/* ---- what the box holds (chaos_spec.c) ---------------------------------- */

#define CHAOS_BREAKERS 6
#define CHAOS_LIMITERS 11 /* the last one is the storm limiter */
#define CHAOS_STORM (CHAOS_LIMITERS - 1)
#define CHAOS_EXTRAS 4        /* records workers register while others die */
#define CHAOS_HOT_KEYS 4      /* a few keys every worker hits: always at their limit */
/* Besides the hot keys, limiters whose periods are all a second take keys
 * from a rolling set: CHAOS_ROLL_KEYS in use at a time, CHAOS_ROLL_STEP new
 * ones a second, so keys keep being inserted and spent entries reused all
 * run long.  Limiters with a longer period use a fixed set: their keys stay
 * live for minutes and would fill the table. */
#define CHAOS_ROLL_KEYS 500
#define CHAOS_ROLL_STEP 250
#define CHAOS_FIXED_KEYS 500
_Static_assert(CHAOS_ROLL_KEYS >= CHAOS_FIXED_KEYS, "key ids of both sets share a space");

struct chaos_breaker_spec {
	const char *name;
	fbx_breaker_config cfg;
	bool slow_when_sick; /* its calls run long while its upstream is sick */
};

struct chaos_limiter_spec {
	const char *name;
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	int keyed;
	uint32_t max_cost;
	fbx_rule parsed;
	bool rolling;  /* every period a second: keys from the rolling set */
	bool storm;    /* only for key storms (chaos_worker.c) */
};

extern struct chaos_breaker_spec chaos_breakers[CHAOS_BREAKERS];
extern struct chaos_limiter_spec chaos_limiters[CHAOS_LIMITERS];

void chaos_spec_init(void);
fbx_limiter_config chaos_limiter_config(unsigned i);
void chaos_extra_breaker(unsigned i, char name[32], fbx_breaker_config *cfg);
void chaos_extra_limiter(unsigned i, char name[32], fbx_limiter_config *cfg);
/* The bytes of key `id` (hot keys first); returns their length. */
size_t chaos_key_text(uint32_t id, char *buf, size_t len);
/* Key ids a run of `seconds` may use: [0, chaos_key_space(seconds)). */
uint32_t chaos_key_space(unsigned seconds);
/* A key for limiter li at `elapsed` ns into the run. */
uint32_t chaos_pick_key(unsigned li, uint64_t *rng, uint64_t elapsed);
/* Whether breaker b's upstream is failing at time t since the run began:
 * every worker agrees, so breakers trip and recover in waves. */
bool chaos_sick(unsigned b, uint64_t t);

/* ---- the run ------------------------------------------------------------ */

struct chaos_opts {
	unsigned seconds, workers, kills_per_min, stops_per_min, rate;
	uint64_t seed;
	bool stall;
	char box[40];
	/* --scribble (chaos_scribble.h): no killer; a scribbler and a reader */
	bool scribble;
	unsigned scribbles_per_s;
	char ctl[512];  /* fuseboxctl, which the reader runs */
};

enum chaos_end {
	END_RUNNING = 0,
	END_KILLED,   /* by the killer, or by the master at the end */
	END_EXITED,   /* asked to stop, and did */
	END_SETUP,    /* a setup call failed (the log holds it) */
	END_CRASHED,  /* any other death: a violation */
};

struct chaos_life {
	pid_t pid;
	enum chaos_end end;
	int status;                   /* as waitpid() gave it */
	uint64_t t_spawn, t_kill, t_reaped;
};

struct chaos_slot {
	pid_t pid;       /* of the running life, 0 when none */
	bool stopped;    /* SIGSTOPped, waiting for its SIGCONT */
	bool killing;    /* SIGKILL sent, not reaped yet */
	uint64_t cont_at;
	struct chaos_life *lives;
	uint32_t nlives, cap;
};

struct chaos_monitor;
struct chaos_shared;

struct chaos_run {
	struct chaos_opts o;
	pid_t master;
	uint64_t t0;          /* run start */
	uint64_t created_ns;  /* the box's creation: breaker deadlines count from it */
	fbx_box *box;
	fbx_breaker *br[CHAOS_BREAKERS];
	fbx_limiter *lim[CHAOS_LIMITERS];
	struct chaos_log *log;
	struct chaos_slot *slots;
	uint32_t key_space;
	uint64_t kills, stops, spawns, settle_kills;
	struct chaos_monitor *mon;
	bool interrupted;
	struct chaos_shared *shared; /* --scribble only */
	pid_t scribbler, reader;
	uint32_t reader_lives;
};

_Static_assert(CHAOS_BREAKERS <= CHAOS_LOG_BREAKERS && CHAOS_LIMITERS <= CHAOS_LOG_LIMITERS,
	       "the log's counters cover every record");

#define CHAOS_EXIT_SETUP 3 /* a worker's setup call failed and was logged */
/* The emergency cleanup's list of processes to kill: workers by slot, then
 * the --scribble mode's own (CHAOS_AUX_SCRIBBLER, CHAOS_AUX_READER). */
enum { CHAOS_AUX_SCRIBBLER, CHAOS_AUX_READER, CHAOS_AUX_N };
void chaos_emergency_aux(unsigned which, pid_t pid);
#define CHAOS_LIVES_MAX 65000u

void chaos_worker_main(struct chaos_run *run, unsigned slot, uint16_t life)
	__attribute__((noreturn));

/* chaos_stall.c: the clock a worker substitutes in --stall mode */
enum chaos_stall_kind {
	STALL_ANY,         /* the next clock reading of any library call */
	STALL_HALF_OPEN,   /* allow() on a breaker that is half-open */
	STALL_HOT_GCRA,    /* take() of a GCRA key every worker is using up */
	STALL_HOT_WINDOW,  /* take() of a busy window key late in its window */
	STALL_FAILED_DONE, /* done(FAILURE) of a trial */
	STALL_KINDS
};
struct chaos_stall {
	bool planned, armed;
	enum chaos_stall_kind kind;
	uint64_t after;     /* calls of this life before it may fire */
	uint64_t sleep_ns;
	uint64_t fired;
};
void chaos_stall_plan(struct chaos_stall *s, uint64_t *rng);
void chaos_stall_install(struct chaos_stall *s);

/* chaos_killer.c */
struct chaos_killer {
	uint64_t rng, next_kill, next_stop;
};
void chaos_killer_init(struct chaos_killer *k, const struct chaos_run *run, uint64_t now);
void chaos_killer_tick(struct chaos_killer *k, struct chaos_run *run, uint64_t now);
void chaos_killer_release(struct chaos_run *run); /* SIGCONT every stopped worker */

/* chaos_monitor.c: samples during the run, and the event stream */
struct chaos_monitor *chaos_monitor_new(struct chaos_run *run);
void chaos_monitor_tick(struct chaos_run *run, uint64_t now);
void chaos_monitor_final(struct chaos_run *run);
void chaos_monitor_free(struct chaos_monitor *m);
const fbx_event *chaos_monitor_events(const struct chaos_monitor *m, size_t *n,
				      uint64_t *gaps);
uint64_t chaos_monitor_samples(const struct chaos_monitor *m);
/* Whether the (slot, pid) pair names a process of this run now. */
bool chaos_pid_is_ours(const struct chaos_run *run, pid_t pid);

/* chaos_validate.c and friends: every check after the run */
void chaos_validate(struct chaos_run *run);
void chaos_check_trials(struct chaos_run *run);
void chaos_check_bounds(struct chaos_run *run);
void chaos_check_recovery(struct chaos_run *run);
/* Deaths and calls in flight, for the totals and the event checks. */
const struct chaos_life *chaos_life_of(const struct chaos_run *run, unsigned slot,
				       uint16_t life);

/* ---- chaos_util.c --------------------------------------------------------- */

uint64_t chaos_now(void); /* CLOCK_MONOTONIC, ns */
void chaos_sleep_ns(uint64_t ns);
uint64_t chaos_rng(uint64_t *state);
uint64_t chaos_rand(uint64_t *state, uint64_t n); /* [0, n) */
double chaos_rand01(uint64_t *state);
/* Field 22 of /proc/PID/stat (start time in clock ticks); 0 when the
 * process is gone or a zombie. */
uint64_t chaos_proc_start(pid_t pid);
/* Seconds since the run began, for messages. */
double chaos_rel(const struct chaos_run *run, uint64_t t);
const char *chaos_outcome_name(int outcome);
const char *chaos_op_name(int op);
const char *chaos_rc_name(int rc);

/* ---- chaos_report.c ------------------------------------------------------- */

/* Counts n instances of invariant inv as checked. */
void chaos_checked(const char *inv, uint64_t n);
/* Prints one violation of inv (the first few of each invariant in full;
 * later ones are counted) and counts it. */
void chaos_violation(const char *inv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Marks the violation just counted as next to a stale call: one whose
 * clock stalled, or that took over CHAOS_STALE_NS (its process stopped or
 * preempted inside it), so it may have acted on an old view of the box.
 * The verdict line tallies them. */
#define CHAOS_STALE_NS (20 * CHAOS_MS)
void chaos_violation_after_stall(const char *inv);
/* A line that belongs to the violation just printed (indented). */
void chaos_detail(const char *inv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void chaos_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The verdict line of invariant inv: what was checked, and the result. */
void chaos_result(const char *inv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t chaos_total_checked(void);
uint64_t chaos_total_violations(void);

#endif
