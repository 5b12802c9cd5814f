/*
 * bench.h — what the bench's files share: the timing harness, cleanup of
 * everything the bench creates, and the results the report prints.
 *
 * Method: clock_gettime(CLOCK_MONOTONIC) around loops of N ops, N chosen
 * from a short calibration run so one measurement takes ~TARGET_S seconds,
 * best (fastest) of BENCH_RUNS runs.  For P processes, P children are
 * forked per run; each warms up, reports ready, spins on a shared go flag,
 * and records its own start and end; the figure is the wall time from the
 * first start to the last end.  ns/op is that wall time / N (the latency a
 * process sees per op), Mops/s is P * N / wall time (all processes together).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fusebox.h"

#define BENCH_RUNS 3
#define BENCH_TARGET_S 0.3
#define BENCH_MAX_PROCS 2

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: cheap, good enough to pick random indices. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform index in [0, n) without a division (Lemire's multiply-shift). */
static inline uint32_t bench_index(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((bench_rand(s) >> 32) * (uint64_t)n) >> 32);
}

/* ---- the harness (harness.c) ------------------------------------------ */

/*
 * One thing to time.  setup() runs once in each timing process before its
 * warm-up (proc = 0..P-1; a negative return marks the measurement failed);
 * run() performs n ops and returns how many were admitted (n when that
 * means nothing); finish(), if set, runs in each timing process after its
 * last run, with forked = 1 in a child that is about to exit.
 */
typedef struct bench_op {
	const char *name;
	int (*setup)(void *ctx, int proc);
	uint64_t (*run)(void *ctx, uint64_t n);
	void (*finish)(void *ctx, int forked);
	void *ctx;
} bench_op;

typedef struct bench_result {
	int ok;              /* 0: the measurement failed, figures meaningless */
	int procs;
	uint64_t n;          /* ops per process per run */
	double ns_op;        /* best run: wall time / n */
	double mops;         /* best run: procs * n / wall time, in millions/s */
	double admitted;     /* share of ops admitted in the best run, 0..1 */
} bench_result;

/* Measures op with procs processes (1 runs in this process), N calibrated. */
bench_result bench_measure(const bench_op *op, int procs);
/* The same with a fixed N and number of runs (for slow ops such as Redis). */
bench_result bench_measure_fixed(const bench_op *op, int procs, uint64_t n, int runs);

/* ---- cleanup (cleanup.c) ----------------------------------------------- */

/* Installs atexit and signal handlers that unlink every registered box and
 * stop the Redis server; only the main process cleans up. */
void bench_cleanup_install(void);
/* Makes a unique box name "bench-<pid>-<tag>", registers it for cleanup. */
const char *bench_box_name(const char *tag, char *buf, size_t len);
/* Creates the box (exclusive) with cfg, registered for cleanup. */
int bench_box_create(const char *tag, const fbx_box_config *cfg, fbx_box **out);
/* Closes and unlinks it now. */
void bench_box_destroy(fbx_box *box);
void bench_cleanup_set_redis(int pid);   /* 0 when none is running */
void bench_cleanup_run(void);

/* ---- the pieces measured ------------------------------------------------ */

struct bench_floor {
	bench_result p1, p2;
	bench_result private_p1, private_p2;     /* control: a line per process */
	bench_result alu_p1, alu_p2;             /* control: ALU throughput, nothing shared */
	bench_result clock_mono, clock_coarse;   /* what a clock read costs here */
};
int bench_floor_run(struct bench_floor *out);

struct bench_breaker {
	bench_result p1, p2;
};
int bench_breaker_run(struct bench_breaker *out);

/* A worker's hot path: heartbeat; request begin + end (a pair per op). */
struct bench_workers {
	bench_result heartbeat_p1, heartbeat_p2;
	bench_result request_p1, request_p2;
};
int bench_workers_run(struct bench_workers *out);

/* Retry budget, bulkhead and cache hot operations. */
struct bench_resilience {
	bench_result deposit, withdraw, bulkhead_p1, bulkhead_p2, put, get_p1, get_p2;
};
int bench_resilience_run(struct bench_resilience *out);

struct bench_limiter {
	bench_result hot_window_p1, hot_window_p2;  /* "1000000/second" window */
	bench_result hot_gcra_p1, hot_gcra_p2;      /* never denies */
	bench_result hot_window_fake_p1;           /* window admit path, stepping fake clock */
	bench_result hot_log_p1, hot_log_p2;       /* log, a key over its limit: denies */
	bench_result hot_log_fake_p1;              /* log admit path, stepping fake clock */
	bench_result k100k_log_p1, k100k_log_p2;   /* log "10/second", 16 slots a key */
	bench_result k1k_log_p1;                   /* the same on 1k keys: cache-resident */
	bench_result k1k_p1, k100k_p1, k100k_p2, k1m_p1;
	bench_result k1m_cold_p1;                  /* key string not prefetched */
	bench_result overhead_1m;                  /* xorshift + key read only */
	double growth_1k_1m;
	/* bytes of decision state */
	unsigned entry_bytes;
	double table_bytes_per_key[4];   /* 1k, 64k (default), 100k, 1M keys */
	uint32_t table_keys[4];
	uint64_t keys_held_1m, evictions_1m;
	/* the log's 100k-key box */
	uint32_t log_slots, log_keys_cap;
	uint64_t log_key_bytes;          /* fbx_box_info: 32 + 8 x log_slots */
	double log_table_bytes_per_key;  /* with the table's headroom */
	uint64_t log_keys_held_100k, log_evictions_100k;
};
int bench_limiter_run(struct bench_limiter *out);

struct bench_mutex {
	bench_result brk_p1, brk_p2;     /* allow + done(success) */
	bench_result lim_p1, lim_p2;     /* hot key, a limit it never reaches */
	bench_result limw_p1, limw_p2;   /* hot key, 1000000/second like fusebox's */
};
int bench_mutex_run(struct bench_mutex *out);

struct bench_redis {
	int skipped;         /* not run (FUSEBOX_BENCH_ONLY) */
	int available;       /* 0: redis-server not installed */
	int ok;              /* 0: it failed; see stderr */
	char version[32];
	bench_result c1, c2; /* 1 and 2 clients, one EVALSHA per decision */
};
int bench_redis_run(struct bench_redis *out);

/* The accuracy traces: {single-limit, multi-limit rule} x {Poisson,
 * bursty} x {every cost 1, costs 1-3} (accuracy.c). */
#define ACC_TRACES 8

/* One algorithm replaying one trace, each decision checked against the
 * algorithm's reference (a sliding log for log and window, a GCRA for gcra). */
struct bench_accuracy_run {
	int ok;
	char rule[32];
	const char *pattern;
	int costs;           /* 0: every cost 1; 1: costs 1-3 */
	uint32_t burst;
	uint64_t decisions, admitted;
	uint64_t false_admit, false_deny;
	/* by traffic class: 0 well under the rate, 1 near it, 2 abusive */
	uint64_t cls_decisions[3], cls_wrong[3];
	uint32_t nlimits;
	uint64_t count[FBX_RULE_LIMITS_MAX];
	uint64_t max_in_window[FBX_RULE_LIMITS_MAX]; /* units, any window of the period */
	uint64_t bound[FBX_RULE_LIMITS_MAX];
	double seconds;      /* wall time of the replay */
};

struct bench_accuracy_algo {
	int ok;              /* every trace replayed */
	const char *algo, *reference;
	struct bench_accuracy_run run[ACC_TRACES];
	uint64_t decisions, admitted, false_admit, false_deny;
	uint64_t cls_decisions[3], cls_wrong[3];
	double wrong_pct;
	int within_bound;    /* every limit of every trace at most its bound */
	double max_over_bound; /* the largest max_in_window / bound of any limit */
};

/* The log's decisions next to Python limits' MovingWindowRateLimiter's. */
struct bench_limits_cmp {
	int ran;             /* 0: skipped, see note */
	int ok;              /* the replay ran to its end */
	char note[192];
	char version[24];
	uint64_t calls, differ;
	int first_trace;     /* where the first difference is, when differ > 0 */
	long long first_call;
	uint32_t traces;
	double seconds;
	int boundary_checked, boundary_same; /* a unit exactly one period old */
};

struct bench_accuracy {
	uint32_t keys, calls;
	struct bench_accuracy_algo log, window, gcra;
	struct bench_limits_cmp limits;
};
int bench_accuracy_run(struct bench_accuracy *out);

/* ---- the report (report.c) --------------------------------------------- */

struct bench_all {
	struct bench_floor floor;
	struct bench_breaker breaker;
	struct bench_workers workers;
	struct bench_resilience resilience;
	struct bench_limiter limiter;
	struct bench_mutex mutex;
	struct bench_redis redis;
	struct bench_accuracy accuracy;
	int floor_rc, breaker_rc, workers_rc, resilience_rc, limiter_rc, mutex_rc, redis_rc, accuracy_rc;
	double seconds;
	char load_before[64], load_after[64];    /* /proc/loadavg: others' work */
};

/* Prints the table, the targets and then one JSON line; returns the
 * number of targets that failed. */
int bench_report(const struct bench_all *a);

#endif /* BENCH_H */
