/*
 * fusebox.h — host-wide circuit breakers and rate limiters for the worker
 * processes of one host, kept in one POSIX shared-memory segment (a "box").
 *
 * This header is the whole public API and is meant to be read top to bottom:
 *
 *    1. errors            every call returns 0 or a negative FBX_E* code
 *    2. the box           create / open / close / unlink one shared segment
 *    3. circuit breakers  allow -> call -> done, plus operator overrides
 *    4. rate limiters     take(key, cost) against rules such as "100/minute"
 *    5. rules             the rule grammar, exposed for tools that validate
 *    6. workers, health   heartbeats, requests in flight, checks, drain
 *    7. retries           backoff, retry budgets, bulkheads, shared caches
 *    8. snapshots         a consistent copy of everything, for consoles/tools
 *    9. events            the ring of transitions and operator actions, and
 *                         the words (states, causes, the event line) people read
 *   10. clock             CLOCK_MONOTONIC nanoseconds
 *   11. test hooks        for tests and the bench only, not for production
 *
 * Ownership: every handle returned by the library (fbx_box, fbx_breaker,
 * fbx_limiter, fbx_snapshot) is owned by the caller's process.  Breaker and
 * limiter handles live as long as their box handle and are freed by
 * fbx_box_close().  Nothing in this API allocates on a hot path (allow, done,
 * take); registration, open and snapshot allocation may.
 *
 * Threads and processes: each box handle writes its counters into a shard
 * of its own (one writer per slot), which is what makes the
 * hot paths cost a plain add.  So a box handle, and the breaker and limiter
 * handles obtained from it, belong to one thread at a time: give each
 * thread its own fbx_box_open(), or open with FBX_OPEN_THREADS to share one
 * handle between threads at the price of a locked add per counter.  State
 * changes are atomic either way; only counts could be lost by misuse.
 * After fork() the child may keep using the handles it inherited: it moves
 * to a shard of its own on first use.
 */
#ifndef FUSEBOX_H
#define FUSEBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FBX_VERSION_MAJOR 0
#define FBX_VERSION_MINOR 1
#define FBX_VERSION_PATCH 0
#define FBX_VERSION_STRING "0.1.0"

/* The version of the library actually loaded, e.g. "0.1.0": compare with
 * FBX_VERSION_STRING, the version of the header a program was built with. */
const char *fbx_version(void);

/* ------------------------------------------------------------------------
 * 1. Errors
 * ---------------------------------------------------------------------- */

enum {
	FBX_OK = 0,
	FBX_EINVAL = -1,    /* an argument is NULL, zero, negative or out of range */
	FBX_ENAME = -2,     /* a name is empty, too long or has a bad character */
	FBX_ERULE = -3,     /* a rate rule does not parse */
	FBX_ENOENT = -4,    /* no such box, breaker or limiter */
	FBX_EEXIST = -5,    /* the box exists already (exclusive create) */
	FBX_ECONFLICT = -6, /* the name exists with a different configuration */
	FBX_EFULL = -7,     /* the box has no room for another record */
	FBX_EACCES = -8,    /* permission denied by the shm object's mode */
	FBX_ERDONLY = -9,   /* the box was opened read-only */
	FBX_ENOSPC = -10,   /* /dev/shm has no room for the box */
	FBX_EVERSION = -11, /* the box has another layout version */
	FBX_ECORRUPT = -12, /* not a fusebox segment, truncated, or damaged */
	FBX_ETIMEDOUT = -13,/* the box never became ready (creator stalled or died) */
	FBX_ENOMEM = -14,   /* out of process memory (not on hot paths) */
	FBX_ESYS = -15,     /* an unexpected system call failure; see errno */
	FBX_EOPEN = -16,    /* breaker rejected the call; see fbx_permit.reason */
	FBX_ELIMITED = -17, /* limiter denied the call; see fbx_limit_result */
	FBX_ERANGE = -18,   /* a number is beyond what the layout can hold */
	FBX_EOWNER = -19,   /* the box is another user's, or writable beyond what was
			     * asked: not adopted (fbx_box_owner_get says whose) */
	FBX_ETRUNC = -20,   /* the box's object was cut short under this handle:
			     * close it and open the box again */
	FBX_EFAILED = -21,  /* fbx_retry: the call failed, and no more retries were
			     * allowed (see fbx_retry_result) */
};

/* A static English sentence for any value returned by this library. */
const char *fbx_strerror(int err);

/* ------------------------------------------------------------------------
 * 2. The box
 *
 * A box is the shm object "/fusebox.NAME".  NAME is 1..32 characters from
 * [A-Za-z0-9_.-] and does not start with '.'.  Capacities are fixed when the
 * box is created; every process that opens it sees the same layout.
 * ---------------------------------------------------------------------- */

typedef struct fbx_box fbx_box;

typedef struct fbx_box_config {
	uint32_t breakers;    /* breaker records            (default 256) */
	uint32_t limiters;    /* limiter records            (default 64) */
	uint32_t keys;        /* limiter keys, all limiters (default 65536) */
	uint32_t events;      /* event ring entries         (default 4096) */
	uint32_t workers;     /* worker slots = counter shards (default 64) */
	uint32_t checks;      /* health-check records       (default 64) */
	/* The exact sliding log (FBX_ALGO_LOG) keeps one time stamp per
	 * admitted unit: each key has a ring of log_slots of them, in a table
	 * of its own.  A key of the log costs 32 + 8 * log_slots bytes, one of
	 * the window or GCRA 32 (fbx_box_info says both).  log_slots is a
	 * power of two, and a rule fits the log when its largest count is
	 * below it; 0 leaves the log out of the box. */
	uint32_t log_keys;    /* keys of keyed log limiters  (default 4096) */
	uint32_t log_slots;   /* ring slots per log key      (default 128) */
	uint32_t budgets;     /* retry budget records        (default 16) */
	uint32_t bulkheads;   /* bulkhead records            (default 16; 8 KiB each) */
	uint32_t caches;      /* shared caches               (default 4) */
	uint32_t cache_slots; /* entries of each cache       (default 256, a multiple of 4) */
	uint32_t cache_value_max; /* bytes of a cached value (default 1024; 8 to 8192, whole words) */
	uint32_t mode;        /* permission bits, applied with fchmod (default 0600) */
	gid_t group;          /* group for the object when group_set (operators' group) */
	int group_set;
	uint32_t timeout_ms;  /* how long open waits for a box being created (default 2000) */
	/* With FBX_OPEN_CREATE, a box that exists is adopted only when it is
	 * owned by this process's effective user, by root, or by trusted_uid
	 * (when trusted_set), and nobody can write it beyond mode and group
	 * (see fbx_box_open). */
	uid_t trusted_uid;
	int trusted_set;
} fbx_box_config;

/* Fills *cfg with the defaults above. */
void fbx_box_config_init(fbx_box_config *cfg);

enum {
	FBX_OPEN_CREATE = 1 << 0,   /* create the box when it does not exist */
	FBX_OPEN_EXCL = 1 << 1,     /* with CREATE: fail with FBX_EEXIST if it exists */
	FBX_OPEN_RDONLY = 1 << 2,   /* map read-only: snapshots only, no writes */
	FBX_OPEN_THREADS = 1 << 3,  /* several threads will share this handle */
};

/*
 * Opens (and with FBX_OPEN_CREATE, creates) box NAME.  cfg may be NULL for
 * the defaults; its capacities matter only to the creator, and an existing
 * box keeps the capacities it was created with (compare fbx_box_info()).
 * Exactly one of many racing creators initialises the box; the others wait
 * up to cfg->timeout_ms for it to become ready.  A box whose creator died
 * mid-initialisation is initialised again by the next FBX_OPEN_CREATE.
 *
 * Who may be adopted: a process that opens with FBX_OPEN_CREATE is a
 * service that will trust what the box says, so an existing box is refused
 * with FBX_EOWNER when another user made it (root and cfg->trusted_uid
 * excepted), when others may write it and cfg->mode does not grant that, or
 * when its group may write it and it is not cfg->group (or, without a
 * group, this process's effective group).  Someone who squatted the name
 * cannot steer the service's breakers.  Opening without CREATE — an
 * operator's tool in the box's group, a console — is not checked: the
 * kernel's permission check on the object is what decides.
 */
int fbx_box_open(const char *name, unsigned flags, const fbx_box_config *cfg,
		 fbx_box **out);

/* Unmaps the box and frees every handle obtained from it.  NULL is a no-op. */
void fbx_box_close(fbx_box *box);

/* Removes the shm object; processes that have it open keep their mapping. */
int fbx_box_unlink(const char *name);

/* Names the boxes on this host: the objects "/fusebox.NAME" whose NAME is a
 * valid box name.  The first cap of them by name (strcmp order) go to
 * names[], sorted; *count receives how many there are (more than cap when
 * names[] was too short).  Whether
 * each one can be opened is not checked: that is the kernel's to say.  For
 * a tool that was not told which box to use (finding the only one). */
typedef struct fbx_box_name {
	char name[40];
} fbx_box_name;
int fbx_box_list(fbx_box_name *names, size_t cap, size_t *count);

/* Checks a box name without touching the system. */
int fbx_name_check_box(const char *name);
/* Checks a breaker or limiter name: 1..63 printable ASCII characters, no space. */
int fbx_name_check_record(const char *name);

typedef struct fbx_box_info {
	char name[40];
	uint32_t layout_version;
	uint64_t total_size;       /* bytes of the shared segment */
	fbx_box_config capacity;   /* capacities as created (mode/group as created) */
	pid_t creator_pid;
	uint64_t created_ns;       /* CLOCK_MONOTONIC at creation */
	int read_only;             /* this handle cannot write */
	uint64_t key_bytes;        /* what one window or GCRA key costs */
	uint64_t log_key_bytes;    /* what one key of the log costs (0: no log) */
	uint32_t log_count_max;    /* the largest count a log rule may have */
} fbx_box_info;

int fbx_box_info_get(const fbx_box *box, fbx_box_info *info);

/* What the system says of box NAME's object, without mapping or trusting
 * it: for an error that names the owner of a box that was refused. */
typedef struct fbx_box_owner {
	uid_t uid;
	gid_t gid;
	uint32_t mode;   /* permission bits */
	uint64_t size;   /* bytes */
} fbx_box_owner;
int fbx_box_owner_get(const char *name, fbx_box_owner *out);

/* ------------------------------------------------------------------------
 * 3. Circuit breakers
 *
 * States: CLOSED admits every call; after enough failures the breaker trips
 * to OPEN and rejects calls for an open period; then HALF_OPEN admits at
 * most half_open_max trial calls host-wide: success_threshold successes
 * close it, any failure re-opens it.  Operators can force it OPEN or CLOSED;
 * automatic transitions never leave a forced state.
 *
 * Use is two-step: fbx_breaker_allow() before the call, fbx_breaker_done()
 * after.  A result reported for an older generation (the breaker changed
 * state meanwhile) is counted but does not change the new state.  A trial
 * permit in HALF_OPEN is a lease: if its holder dies or never reports, the
 * next caller after trial_lease_ns counts it as a failure and re-opens.
 * ---------------------------------------------------------------------- */

typedef struct fbx_breaker fbx_breaker;

typedef enum fbx_breaker_state {
	FBX_CLOSED = 0,
	FBX_OPEN = 1,
	FBX_HALF_OPEN = 2,
	FBX_FORCED_OPEN = 3,
	FBX_FORCED_CLOSED = 4,
} fbx_breaker_state;

#define FBX_BREAKER_STATE_COUNT 5
/* "closed", "open", "half_open", "forced_open", "forced_closed"; "invalid"
 * otherwise: identifiers, for JSON, metrics and configuration. */
const char *fbx_breaker_state_name(int state);
/* "closed", "open", "half-open", "forced-open", "forced-closed"; "invalid"
 * otherwise: the one spelling every text an operator reads uses. */
const char *fbx_breaker_state_label(int state);

#define FBX_HALF_OPEN_MAX 16      /* largest half_open_max */
#define FBX_WINDOW_CALLS_MAX 512  /* largest count-based window */
#define FBX_WINDOW_BUCKETS 10     /* a time-based window is kept in this many buckets */

/*
 * Configuration.  Start from fbx_breaker_config_init() (pybreaker's
 * defaults: fail_max 5, reset_timeout 60 s, one trial, one success to
 * close) and change what you need.  A policy whose threshold is 0 is off;
 * at least one trip policy must be on.
 */
typedef struct fbx_breaker_config {
	/* consecutive failures in CLOSED that trip the breaker; 0 = off */
	uint32_t fail_max;
	/* failure rate, in percent (1..100), that trips it; 0 = off */
	uint32_t failure_rate_pct;
	/* slow-call rate, in percent (1..100), that trips it; 0 = off.
	 * A call is slow when its duration is >= slow_call_ns (at most 30 days). */
	uint32_t slow_rate_pct;
	uint64_t slow_call_ns;
	/* the window both rates are measured over: the last window_calls calls
	 * (1..FBX_WINDOW_CALLS_MAX), or when window_calls is 0 the last
	 * window_ns nanoseconds (>= 100 ms, kept in FBX_WINDOW_BUCKETS buckets) */
	uint32_t window_calls;
	uint64_t window_ns;
	/* rates are evaluated only once the window holds this many calls (>= 1) */
	uint32_t min_calls;
	/* how long the breaker stays OPEN (> 0).  When reset_timeout_max_ns is
	 * larger, each trip that follows a failed trial doubles the period, up
	 * to that cap; a successful close starts again from reset_timeout_ns. */
	uint64_t reset_timeout_ns;
	uint64_t reset_timeout_max_ns;
	/* HALF_OPEN: concurrent trial calls host-wide (1..FBX_HALF_OPEN_MAX),
	 * successes needed to close (>= 1), and how long a trial permit lasts
	 * before it is reclaimed as a failure (> 0). */
	uint32_t half_open_max;
	uint32_t success_threshold;
	uint64_t trial_lease_ns;
} fbx_breaker_config;

void fbx_breaker_config_init(fbx_breaker_config *cfg);
/* 0 when cfg is usable, else FBX_EINVAL (and *why, if given, names the field). */
int fbx_breaker_config_check(const fbx_breaker_config *cfg, const char **why);
/* NULL when a and b are the same configuration, else the first field that differs. */
const char *fbx_breaker_config_diff(const fbx_breaker_config *a,
				    const fbx_breaker_config *b);

/*
 * Registers breaker NAME with cfg, or attaches to it when it exists with the
 * same configuration (its state and counts are kept).  A different
 * configuration gives FBX_ECONFLICT and changes nothing.  *out (here and in
 * fbx_breaker_find) is written on 0 only: an error leaves it as it was.
 */
int fbx_breaker_register(fbx_box *box, const char *name,
			 const fbx_breaker_config *cfg, fbx_breaker **out);
/* Attaches to an existing breaker whatever its configuration. */
int fbx_breaker_find(fbx_box *box, const char *name, fbx_breaker **out);
const char *fbx_breaker_name(const fbx_breaker *b);
/* 0 with *cfg the breaker's configuration; FBX_EINVAL for a NULL b, with
 * *cfg zeroed (every policy off: not a usable configuration). */
int fbx_breaker_config_get(const fbx_breaker *b, fbx_breaker_config *cfg);

typedef enum fbx_reject_reason {
	FBX_REJECT_NONE = 0,
	FBX_REJECT_OPEN = 1,          /* open period not over */
	FBX_REJECT_HALF_OPEN_FULL = 2,/* every trial permit is taken */
	FBX_REJECT_FORCED_OPEN = 3,   /* an operator tripped it */
} fbx_reject_reason;

/* What allow() hands out; pass it back to done().  Fields starting with _
 * are the library's.  allow() writes every field on every return (permit
 * NULL aside): admitted, reason FBX_REJECT_NONE; FBX_EOPEN, the reason and
 * retry_after_ns; any other error, reason FBX_REJECT_NONE and
 * retry_after_ns 0.  Only an admitted permit may go to done(): any other
 * is FBX_EINVAL there and counts nothing. */
typedef struct fbx_permit {
	fbx_reject_reason reason;   /* why allow() rejected, else FBX_REJECT_NONE */
	int32_t _slot;
	uint64_t retry_after_ns;    /* rejected: time until a trial may be admitted
				       (0 when unknown, e.g. forced open) */
	uint64_t _gen;
	uint64_t _lease;
} fbx_permit;

typedef enum fbx_outcome {
	FBX_SUCCESS = 0,
	FBX_FAILURE = 1,
	FBX_IGNORED = 2,   /* neither success nor failure (pybreaker's exclude) */
} fbx_outcome;

/* Hot path.  0 = admitted (call, then done()); FBX_EOPEN = rejected (do
 * not call); anything else is an error, not a rejection: FBX_EINVAL,
 * FBX_ERDONLY on a read-only handle, FBX_ECORRUPT.  Branch on FBX_EOPEN
 * and on errors apart: an error's permit has no retry_after_ns to send. */
int fbx_breaker_allow(fbx_breaker *b, fbx_permit *permit);
/* Hot path.  Reports the admitted call's outcome and duration (0 if unknown).
 * FBX_EINVAL, changing nothing, for a permit allow() did not admit. */
int fbx_breaker_done(fbx_breaker *b, const fbx_permit *permit,
		     fbx_outcome outcome, uint64_t duration_ns);

/*
 * The simple case: allow, run fn(arg), time it, report what fn returned
 * (an fbx_outcome).  Returns 0 when fn ran, FBX_EOPEN when rejected, or a
 * negative error.  permit (may be NULL) is written on every return, as
 * allow() writes it.  *outcome (may be NULL) receives fn's result when fn
 * ran (a return of 0, or an error of done() after the call) and is left as
 * it was when fn did not run (FBX_EOPEN, or an error before the call).
 */
int fbx_breaker_call(fbx_breaker *b, fbx_outcome (*fn)(void *arg), void *arg,
		     fbx_outcome *outcome, fbx_permit *permit);

/* Operator actions, each recorded in the event ring and as the breaker's
 * last operator action with uid, pid and the reason (may be NULL; cut to
 * FBX_REASON_MAX - 1 bytes).  An action that would not change the state —
 * trip of a FORCED_OPEN breaker, hold of a FORCED_CLOSED one, release of
 * one that is not forced — changes nothing and returns 0: the state, its
 * age, the operator record (who forced it and why) stay, and no event is
 * recorded.  Reset always acts: on a CLOSED breaker it keeps the state and
 * its age, clears the window and counts, and is recorded. */
int fbx_breaker_trip(fbx_breaker *b, const char *reason);    /* FORCED_OPEN */
int fbx_breaker_hold(fbx_breaker *b, const char *reason);    /* FORCED_CLOSED */
int fbx_breaker_release(fbx_breaker *b, const char *reason); /* CLOSED, automatic */
int fbx_breaker_reset(fbx_breaker *b, const char *reason);   /* CLOSED, window and
								consecutive counts cleared */

/* ------------------------------------------------------------------------
 * 4. Rate limiters
 * ---------------------------------------------------------------------- */

typedef struct fbx_limiter fbx_limiter;

/*
 * What each algorithm promises, in any window of a limit's period:
 *   log     exact: a take is admitted exactly when fewer than
 *           count - cost + 1 units were admitted in (now - period, now];
 *           at most count in any period.  A key costs 32 + 8 * log_slots
 *           bytes; counts must be below the box's log_slots.  It reads
 *           the coarse clock (~4 ms ticks) and stamps each unit a tick
 *           late, so the count holds in every true window and a take may
 *           be denied up to a tick before an exact log would admit it.
 *   window  an estimate from two fixed windows (32 bytes a key, any count
 *           up to FBX_WINDOW_COUNT_MAX): at most 2 * count in a period,
 *           close to exact for evenly spread traffic.
 *   gcra    a different policy, exact for itself: a sustained rate of
 *           count per period, with burst calls of tolerance; at most
 *           count + burst - 1 in a period.
 * auto, the default, is log where the rule's counts fit the box's log,
 * else window; the record says which one a limiter got.
 */
typedef enum fbx_algorithm {
	FBX_ALGO_WINDOW = 0, /* sliding-window counter, windows aligned to the clock */
	FBX_ALGO_GCRA = 1,   /* generic cell rate algorithm, with a burst */
	FBX_ALGO_LOG = 2,    /* exact sliding log */
	FBX_ALGO_AUTO = 3,   /* at registration: log where it fits, else window */
} fbx_algorithm;
/* "window", "gcra", "log", "auto"; "invalid" otherwise. */
const char *fbx_algorithm_name(int algo);
/* One line on what the algorithm promises (the table above), for tools. */
const char *fbx_algorithm_accuracy(int algo);
/* The algorithm named NAME, or FBX_EINVAL. */
int fbx_algorithm_parse(const char *name);

typedef struct fbx_limiter_config {
	const char *rule;     /* e.g. "100/minute" or "10/second;1000/hour" */
	fbx_algorithm algorithm; /* default FBX_ALGO_AUTO */
	uint32_t burst;       /* GCRA: calls admitted at once on top of the
				 sustained rate (1..FBX_GCRA_BURST_MAX, default 1);
				 also the largest cost a GCRA take may ask for */
	int keyed;            /* take() needs a key; each key has its own budget */
	int dry_run;          /* count decisions, deny nothing */
} fbx_limiter_config;

void fbx_limiter_config_init(fbx_limiter_config *cfg);
/* What registering cfg would refuse before looking at a box: 0, or
 * FBX_ERULE, FBX_ERANGE or FBX_EINVAL (auto is checked as the window it
 * falls back to; whether a rule fits a box's log is the box's to say). */
int fbx_limiter_config_check(const fbx_limiter_config *cfg);

/* *out (here and in fbx_limiter_find) is written on 0 only: an error leaves
 * it as it was. */
int fbx_limiter_register(fbx_box *box, const char *name,
			 const fbx_limiter_config *cfg, fbx_limiter **out);
int fbx_limiter_find(fbx_box *box, const char *name, fbx_limiter **out);
const char *fbx_limiter_name(const fbx_limiter *l);
/* The algorithm the limiter uses: what FBX_ALGO_AUTO resolved to. */
int fbx_limiter_algorithm(const fbx_limiter *l);

/* What take() decided, enough for 429 + Retry-After + RateLimit headers.
 * For a rule of several limits, the figures are those of the tightest one.
 * take() and peek() write every field on every return (res NULL aside):
 * the decision's figures on 0 and FBX_ELIMITED, and all zeros (allowed 0,
 * retry_after_ns 0) on any other return, which is an error, not a denial. */
typedef struct fbx_limit_result {
	int allowed;              /* 1 when the call may proceed */
	int dry_run_denied;       /* dry-run: it would have been denied */
	uint64_t limit;           /* calls per window of the tightest limit */
	uint64_t remaining;       /* calls left in it after this one */
	uint64_t reset_ns;        /* until that budget is whole again / window ends */
	uint64_t retry_after_ns;  /* denied: until the same take would be admitted */
	uint64_t now_ns;          /* the clock reading the decision used */
} fbx_limit_result;

/*
 * Hot path.  Takes cost (>= 1) from key's budget (key may be NULL with
 * keylen 0 for a global limiter).  0 = allowed, FBX_ELIMITED = denied (and
 * nothing was consumed).  Anything else is an error, not a denial, and
 * res is zeroed: FBX_ERANGE = cost is more than any window could ever
 * admit (above a limit's count, or above the GCRA burst); FBX_EINVAL;
 * FBX_ERDONLY on a read-only handle; FBX_ETIMEDOUT, FBX_ECORRUPT on a
 * damaged or contended box.  Answer 429 on FBX_ELIMITED only.  In dry-run
 * mode a call that would be denied returns 0 with dry_run_denied set.
 */
int fbx_limiter_take(fbx_limiter *l, const void *key, size_t keylen,
		     uint32_t cost, fbx_limit_result *res);

/* What a take of cost would decide now, consuming nothing and counting
 * nothing: 0 (res says what would be left) or FBX_ELIMITED (res says for
 * how long); take()'s errors, with res zeroed, besides.  A key not in the
 * table has its whole budget.  Not a hot
 * path: for RateLimit headers and storages that must answer "how much is
 * left?" without taking. */
int fbx_limiter_peek(fbx_limiter *l, const void *key, size_t keylen, uint32_t cost,
		     fbx_limit_result *res);
/* Forgets KEY (a global limiter: its state): its next take has a whole
 * budget.  FBX_ENOENT for a key not in the table. */
int fbx_limiter_forget(fbx_limiter *l, const void *key, size_t keylen);
/* Forgets every key of the limiter (a global one: its state), recorded as
 * an operator's reset with reason (may be NULL). */
int fbx_limiter_reset(fbx_limiter *l, const char *reason);

/* Change the rule or the dry-run mode live, for every process (the
 * algorithm stays).  reason (may be NULL) goes into the event with the
 * uid and pid of the caller, like a breaker's manual action; the event's
 * text is "RULE: reason" (cut to FBX_REASON_MAX - 1 bytes).  A rule a log
 * limiter cannot hold in the box's log is FBX_ERANGE.  Setting what is
 * already set (the rule in force, however spelled; dry-run already on or
 * off) changes nothing, records no event and returns 0. */
int fbx_limiter_set_rule(fbx_limiter *l, const char *rule, const char *reason);
int fbx_limiter_set_dry_run(fbx_limiter *l, int on, const char *reason);

/* ------------------------------------------------------------------------
 * 5. Rules:  COUNT "/" [N] UNIT  or  COUNT "per" [N] UNIT, joined by ";" "," "|"
 * UNIT: second(s), minute(s), hour(s), day(s), month(s), year(s) (also sec,
 * min, hr); as in Python's limits, a month is 30 days and a year 360.
 * Examples: "100/minute", "10 per second", "5/second;100/minute", "30/5 minutes".
 * ---------------------------------------------------------------------- */

#define FBX_RULE_LIMITS_MAX 3
#define FBX_RULE_TEXT_MAX 96
#define FBX_WINDOW_COUNT_MAX 16777215u /* largest count of a sliding-window limit */
#define FBX_GCRA_BURST_MAX 16777215u   /* largest GCRA burst */

typedef struct fbx_rule {
	uint32_t n;
	struct {
		uint64_t count;
		uint64_t period_ns;
	} limit[FBX_RULE_LIMITS_MAX];
} fbx_rule;

/* FBX_ERULE on any malformed rule; *where (if given) gets the byte offset. */
int fbx_rule_parse(const char *text, fbx_rule *rule, size_t *where);
/* Writes the canonical text ("100/minute;5/second") into buf. */
int fbx_rule_format(const fbx_rule *rule, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * 6. Workers, health checks and drain — host-wide state of a prefork server.
 *
 * Each process that calls fbx_worker_register() announces itself in its own
 * slot (the one its counters use; a fork() child moves to a slot of its
 * own and registers again) with a role ("master", "worker", or any short
 * name) and a heartbeat timeout.  Its hot path writes only that slot, no
 * lock, no system call.  Anyone who looks sees a worker dead when its
 * process is gone (pid and start time, never a bare pid) or its heartbeat
 * is older than its timeout; a dead worker's requests in flight are not
 * counted, and its slot goes to the next process that needs one.  Nothing
 * ever sends a signal to a pid read from the box.
 *
 * Health checks are named records any process may set: pass, warn or fail,
 * critical or not, with a TTL — a check not set again within it counts as
 * failed, so a dead checker never leaves a stale pass.  A check may instead
 * follow a breaker (open or forced open: fail; half-open: warn), opt-in:
 * a critical check bound to an upstream's breaker takes every instance of
 * a fleet out of rotation together when that upstream fails, which then
 * moves the load onto fewer instances, or none — bind critical checks to
 * what this instance alone can fix.
 *
 * Aggregate, as the service specifies:  a critical check failing ->
 * unhealthy (HTTP 503); else a critical check warning or any other check
 * failing or warning -> degraded (200); else ok (200).
 *   live:    the master and at least one worker alive with a fresh heartbeat
 *   ready:   started, no critical check failing, not draining
 *   started: fbx_started() was called (by the master, once initialised)
 * ---------------------------------------------------------------------- */

#define FBX_ROLE_MAX 16       /* bytes of a role, its terminating NUL included */
#define FBX_CHECK_MESSAGE_MAX 96

/* Registers this process as a worker of role (1-15 printable characters)
 * that promises a heartbeat at least every heartbeat_timeout_ns (1 ms to
 * 1 hour).  FBX_EFULL when every worker slot is held by a live process:
 * never a shared slot.  Registering again changes role and timeout. */
int fbx_worker_register(fbx_box *box, const char *role, uint64_t heartbeat_timeout_ns);
/* This process leaves (a clean exit); its slot is free for another. */
int fbx_worker_unregister(fbx_box *box);

/* Hot path: each a store or an add on this process's own slot.  A process
 * that has not registered gets FBX_ENOENT and changes nothing. */
int fbx_worker_heartbeat(fbx_box *box);
int fbx_request_begin(fbx_box *box);
int fbx_request_end(fbx_box *box);

/* Marks the box draining: readiness fails at once, fbx_draining() says so.
 * on = 0 ends a drain started by mistake.  A change is recorded in the
 * event ring (record type FBX_REC_BOX, cause FBX_CAUSE_DRAIN_ON or _OFF)
 * with this process's uid and pid and the reason (may be NULL; cut to
 * FBX_REASON_MAX - 1 bytes); draining a box that drains already keeps the
 * time its drain began and records nothing.  A compare-and-swap, a clock
 * read and the event's stores — no lock, no allocation: async-signal-safe,
 * for a SIGTERM handler. */
int fbx_drain_reason(fbx_box *box, int on, const char *reason);
/* fbx_drain_reason(box, on, NULL). */
int fbx_drain(fbx_box *box, int on);
/* Hot path: 1 while the box drains, 0 otherwise (or on a NULL box). */
int fbx_draining(const fbx_box *box);

/* Per worker still busy when a drain wait ended. */
typedef struct fbx_drain_busy {
	int32_t pid;
	char role[FBX_ROLE_MAX];
	uint64_t in_flight;
} fbx_drain_busy;
/* Waits until no live worker has a request in flight (dead ones do not
 * count), or timeout_ns has passed: 0, or FBX_ETIMEDOUT with busy[0..*n)
 * filled (up to cap) with who was still busy.  Sleeps in short steps; not
 * for a signal handler. */
int fbx_drain_wait(fbx_box *box, uint64_t timeout_ns, fbx_drain_busy *busy, size_t cap,
		   size_t *n);

/* The master's "initialisation finished": startup probes pass from now. */
int fbx_started(fbx_box *box);

typedef enum fbx_check_status {
	FBX_CHECK_PASS = 0,
	FBX_CHECK_WARN = 1,
	FBX_CHECK_FAIL = 2,
} fbx_check_status;
/* "pass", "warn", "fail"; "invalid" otherwise. */
const char *fbx_check_status_name(int status);
/* The status named NAME, or FBX_EINVAL. */
int fbx_check_status_parse(const char *name);

/* Sets check NAME (a record name, as strict as a breaker's), adding it if
 * new: status, critical or not, ttl_ns (1 ms to 30 days) and a message
 * (may be NULL; printable, cut to FBX_CHECK_MESSAGE_MAX - 1 bytes).
 * FBX_EFULL when the box has no room for another check; FBX_ECONFLICT for
 * a check that follows a breaker. */
int fbx_check_set(fbx_box *box, const char *name, fbx_check_status status, int critical,
		  uint64_t ttl_ns, const char *message);
/* Adds check NAME following breaker BREAKER (which must exist); it has no
 * TTL.  Binding again to the same breaker is a no-op, to another one
 * FBX_ECONFLICT. */
int fbx_check_bind_breaker(fbx_box *box, const char *name, const char *breaker, int critical);
/* Removes check NAME (a stale one, or one no longer wanted). */
int fbx_check_remove(fbx_box *box, const char *name);

typedef enum fbx_health_status {
	FBX_HEALTH_OK = 0,
	FBX_HEALTH_DEGRADED = 1,
	FBX_HEALTH_UNHEALTHY = 2,
} fbx_health_status;
/* "ok", "degraded", "unhealthy"; "invalid" otherwise. */
const char *fbx_health_status_name(int status);

/* ------------------------------------------------------------------------
 * 7. Retries, bulkheads and fallbacks — what each worker would otherwise do
 * alone, shared by the host.
 *
 * Backoff is a pure function (no shared state).  A retry budget, a
 * bulkhead and a cache are named records in the box, sized at creation
 * (fbx_box_config's budgets, bulkheads, caches, cache_slots and
 * cache_value_max).
 * ---------------------------------------------------------------------- */

/* AWS's "Exponential Backoff and Jitter": before retry n (1, 2, ...), with
 * e = min(cap, base * 2^(n-1)),
 * none waits e; full a uniform draw in [0, e]; equal e/2 plus a draw in
 * [0, e/2]; decorrelated min(cap, a draw in [base, 3 * previous]). */
typedef enum fbx_jitter {
	FBX_JITTER_FULL = 0,
	FBX_JITTER_NONE = 1,
	FBX_JITTER_EQUAL = 2,
	FBX_JITTER_DECORRELATED = 3,
} fbx_jitter;

typedef struct fbx_backoff {
	uint32_t max_retries;  /* retries after the first attempt (default 3) */
	uint64_t base_ns;      /* default 100 ms */
	uint64_t cap_ns;       /* default 10 s */
	fbx_jitter jitter;     /* default FBX_JITTER_FULL */
	uint64_t state[2];     /* this process's generator and the previous
				  delay: seeded by init, reseed with fbx_backoff_seed */
} fbx_backoff;

void fbx_backoff_init(fbx_backoff *b);
void fbx_backoff_seed(fbx_backoff *b, uint64_t seed);
/* The delay before retry n (1 for the first retry), in ns; 0 on a bad
 * policy (fbx_backoff_check says which). */
uint64_t fbx_backoff_delay(fbx_backoff *b, uint32_t n);
int fbx_backoff_check(const fbx_backoff *b);

/* Why fbx_retry() stopped. */
typedef enum fbx_retry_stop {
	FBX_RETRY_SUCCEEDED = 0,
	FBX_RETRY_EXHAUSTED = 1,    /* max_retries retries failed too */
	FBX_RETRY_BREAKER_OPEN = 2, /* the breaker rejected the next attempt */
	FBX_RETRY_BUDGET = 3,       /* the retry budget refused the next retry */
	FBX_RETRY_DRAINING = 4,     /* the box drains: no retry starts */
} fbx_retry_stop;
/* "succeeded", "exhausted", "breaker_open", "budget", "draining". */
const char *fbx_retry_stop_name(int stop);

typedef struct fbx_retry_result {
	uint32_t attempts;         /* calls made */
	int last;                  /* what the last call returned (0: success) */
	fbx_retry_stop stopped;
	uint64_t retry_after_ns;   /* BREAKER_OPEN: until a trial is allowed */
	uint64_t slept_ns;         /* backoff slept in all */
} fbx_retry_result;

typedef struct fbx_budget fbx_budget;
typedef struct fbx_budget_config {
	uint32_t percent;           /* retries may be this share of requests (1-100, default 20) */
	uint32_t min_per_sec;       /* and at least this many a second (default 10) */
	uint64_t ttl_ns;            /* over the last ttl (1 s to 1 hour, default 10 s) */
} fbx_budget_config;
void fbx_budget_config_init(fbx_budget_config *cfg);
/* Like a breaker: same name, same budget; another configuration: ECONFLICT. */
int fbx_budget_register(fbx_box *box, const char *name, const fbx_budget_config *cfg,
			fbx_budget **out);
int fbx_budget_find(fbx_box *box, const char *name, fbx_budget **out);
/* Hot path.  Every first attempt deposits; a retry withdraws, and is
 * allowed (0) only while retries in the last ttl stay within percent of
 * the deposits plus min_per_sec * ttl; else FBX_ELIMITED. */
int fbx_budget_deposit(fbx_budget *b);
int fbx_budget_withdraw(fbx_budget *b);

typedef struct fbx_bulkhead fbx_bulkhead;
#define FBX_BULKHEAD_MAX 1024 /* the largest cap */
/* cap: calls in flight at once, host-wide (1-FBX_BULKHEAD_MAX). */
int fbx_bulkhead_register(fbx_box *box, const char *name, uint32_t cap, fbx_bulkhead **out);
int fbx_bulkhead_find(fbx_box *box, const char *name, fbx_bulkhead **out);
typedef struct fbx_bulkhead_permit {
	int32_t _slot;
	uint64_t _owner;
} fbx_bulkhead_permit;
/* Takes a place: 0, or FBX_EFULL when every place is held, after waiting
 * up to wait_ns (0: fail fast).  A place held by a process that died is
 * taken back by the next acquire that finds the bulkhead full. */
int fbx_bulkhead_acquire(fbx_bulkhead *h, uint64_t wait_ns, fbx_bulkhead_permit *p);
/* Gives it back; a permit released twice, or one this process never got,
 * is FBX_EINVAL and changes nothing. */
int fbx_bulkhead_release(fbx_bulkhead *h, fbx_bulkhead_permit *p);

/*
 * A shared stale-if-error cache (RFC 5861's idea, for every worker): a
 * worker that fetched a value puts it; any worker whose call failed or was
 * rejected gets the last good copy and its age.  Entries are fixed-size
 * (the box's cache_value_max); keys (1 to FBX_CACHE_KEY_MAX bytes) are
 * hashed with the box's secret like limiter keys.  A reader never sees a
 * torn value: each entry keeps two copies and switches between them, so a
 * writer killed midway leaves the previous value readable.  Values are
 * readable by whoever can read the box: keep secrets out of it.
 */
#define FBX_CACHE_KEY_MAX 128
typedef struct fbx_cache fbx_cache;
/* ttl_ns: fresh for this long; stale_ns: then served as stale for this
 * much longer (each 1 ms to 30 days; stale may be 0). */
int fbx_cache_register(fbx_box *box, const char *name, uint64_t ttl_ns, uint64_t stale_ns,
		       fbx_cache **out);
int fbx_cache_find(fbx_box *box, const char *name, fbx_cache **out);
int fbx_cache_put(fbx_cache *c, const void *key, size_t keylen, const void *value, size_t len);
typedef struct fbx_cache_hit {
	size_t len;          /* bytes of the value */
	uint64_t age_ns;     /* since it was put */
	int stale;           /* older than ttl, within ttl + stale */
} fbx_cache_hit;
/* 0 with the value in buf (FBX_ERANGE when cap is too small: hit->len
 * says how much is needed), or FBX_ENOENT: never put, dropped, pushed out,
 * or older than ttl + stale. */
int fbx_cache_get(fbx_cache *c, const void *key, size_t keylen, void *buf, size_t cap,
		  fbx_cache_hit *hit);
int fbx_cache_drop(fbx_cache *c, const void *key, size_t keylen);

/* The service's call-with-fallback: primary, then backup (may be NULL),
 * then the default, each called with arg until one returns 0.  *which says
 * who answered; FBX_EFAILED when even the default failed. */
typedef enum fbx_fallback_source {
	FBX_FALLBACK_PRIMARY = 0,
	FBX_FALLBACK_BACKUP = 1,
	FBX_FALLBACK_DEFAULT = 2,
} fbx_fallback_source;
int fbx_fallback(int (*primary)(void *arg), int (*backup)(void *arg), int (*fallback)(void *arg),
		 void *arg, fbx_fallback_source *which);

/*
 * Calls fn(arg) (0: success, anything else: a failure worth retrying) and
 * retries with policy's backoff (NULL: the defaults), never into an open
 * breaker b (may be NULL: each attempt goes through allow()/done(), a
 * failure reported as FBX_FAILURE), never past budget (may be NULL: the
 * first attempt deposits, each retry withdraws), and not once the box is
 * draining (box may be NULL).  Sleeps between attempts; not for a signal
 * handler.  0 when a call succeeded; FBX_EOPEN when the breaker rejected
 * the first attempt (nothing was called); FBX_EFAILED otherwise, with out
 * saying why it stopped.
 */
int fbx_retry(fbx_box *box, fbx_backoff *policy, fbx_breaker *b, fbx_budget *budget,
	      int (*fn)(void *arg), void *arg, fbx_retry_result *out);


/* ------------------------------------------------------------------------
 * 8. Snapshots — a copy of every record, for consoles and tools.
 *
 * Everything read from the segment is treated as untrusted: indices,
 * lengths and enums are bounded, strings are cut and checked, and a record
 * that fails a check is returned with corrupt = 1 instead of its figures.
 * ---------------------------------------------------------------------- */

#define FBX_NAME_MAX 64       /* bytes including the NUL */
#define FBX_REASON_MAX 64

typedef struct fbx_breaker_info {
	char name[FBX_NAME_MAX];
	int corrupt;
	fbx_breaker_state state;
	uint32_t generation;
	fbx_breaker_config config;
	uint64_t successes, failures, ignored, slow, rejected, trips;
	uint64_t consecutive_failures;
	uint64_t window_calls, window_failures, window_slow; /* current window */
	uint64_t open_remaining_ns;    /* OPEN: until a trial is allowed */
	uint32_t half_open_in_flight;  /* HALF_OPEN: trial permits held */
	uint32_t open_streak;          /* trips since the last close */
	/* OPEN whose open period has passed: the move to HALF_OPEN happens at
	 * the next call, so with no traffic the breaker stays OPEN with a
	 * trial due (fuseboxctl breaker call sends one). */
	int trial_due;
	uint64_t state_age_ns;         /* how long it has been in this state */
	uint64_t manual_actions[4];    /* operator trips, holds, releases, resets */
	/* The last operator action, when it reads back whole (two at once may
	 * leave it torn, which reads as unknown). */
	int operator_known;
	uint32_t operator_uid;
	int32_t operator_pid;
	uint64_t operator_age_ns;      /* how long ago */
	int operator_cause;            /* FBX_CAUSE_TRIP .. FBX_CAUSE_RESET */
	char operator_reason[FBX_REASON_MAX];
} fbx_breaker_info;
/* One breaker as a snapshot would show it, without copying the box: for a
 * state or a failure count wanted now.  FBX_ECORRUPT for a damaged record. */
int fbx_breaker_info_get(fbx_breaker *b, fbx_breaker_info *out);

#define FBX_TOP_KEYS 8       /* keys with the most denials, kept per keyed limiter */
#define FBX_TOP_KEY_TEXT 48  /* bytes of a key kept for display */

typedef struct fbx_top_key {
	char key[FBX_TOP_KEY_TEXT + 4]; /* printable: other bytes shown as '?';
					   "..." ends a key that was longer */
	uint64_t denials;  /* an estimate that never undercounts (space-saving):
			      a key new to the list starts from the count of
			      the one it replaced */
} fbx_top_key;

typedef struct fbx_limiter_info {
	char name[FBX_NAME_MAX];
	int corrupt;
	char rule[FBX_RULE_TEXT_MAX];
	fbx_rule parsed;
	fbx_algorithm algorithm;
	uint32_t burst;
	int keyed;
	int dry_run;
	uint64_t allowed, denied, dry_run_denied;
	uint64_t keys;       /* keys held in the shared table */
	uint64_t evictions;  /* live keys pushed out of a full table */
	uint32_t ntop;       /* keyed: the keys denied most, most first */
	fbx_top_key top[FBX_TOP_KEYS];
} fbx_limiter_info;

/* ------------------------------------------------------------------------
 * 9. Events — every breaker transition and every operator action, in a
 * ring of fixed size; read them with a snapshot or fbx_events_read().
 * ---------------------------------------------------------------------- */

typedef enum fbx_event_kind {
	FBX_EV_TRANSITION = 1, /* automatic state change */
	FBX_EV_MANUAL = 2,     /* operator action (uid/pid/reason set) */
	FBX_EV_REGISTER = 3,   /* a breaker or limiter was created */
	FBX_EV_CONFIG = 4,     /* a limiter's rule or dry-run changed */
} fbx_event_kind;

typedef enum fbx_event_cause {
	FBX_CAUSE_NONE = 0,
	FBX_CAUSE_FAIL_MAX = 1,      /* consecutive failures */
	FBX_CAUSE_FAILURE_RATE = 2,
	FBX_CAUSE_SLOW_RATE = 3,
	FBX_CAUSE_TIMEOUT = 4,       /* open period over */
	FBX_CAUSE_TRIAL_FAILED = 5,
	FBX_CAUSE_TRIAL_LEASE = 6,   /* a trial permit expired unreported */
	FBX_CAUSE_TRIALS_OK = 7,     /* success_threshold reached */
	FBX_CAUSE_TRIP = 8,          /* operator actions */
	FBX_CAUSE_HOLD = 9,
	FBX_CAUSE_RELEASE = 10,
	FBX_CAUSE_RESET = 11,
	FBX_CAUSE_RULE = 12,
	FBX_CAUSE_DRY_RUN_ON = 13,
	FBX_CAUSE_DRY_RUN_OFF = 14,
	FBX_CAUSE_CREATED = 15,
	FBX_CAUSE_DRAIN_ON = 16,     /* the box: a drain began (fbx_drain_reason) */
	FBX_CAUSE_DRAIN_OFF = 17,    /* the box: a drain was ended */
} fbx_event_cause;
#define FBX_CAUSE_COUNT 18
/* Identifiers ("fail_max", "trip", ... ; "transition", "manual", ...) for
 * JSON; "invalid" out of range. */
const char *fbx_event_cause_name(int cause);
const char *fbx_event_kind_name(int kind);
/* The cause in words ("consecutive failures", "tripped", "rule changed",
 * ...), for text an operator reads; "invalid" out of range. */
const char *fbx_event_cause_label(int cause);

typedef enum fbx_record_type {
	FBX_REC_BREAKER = 1,
	FBX_REC_LIMITER = 2,
	FBX_REC_BOX = 3,         /* the box itself (a drain); record 0, name the box's */
} fbx_record_type;
/* "breaker", "limiter", "box"; "invalid" otherwise. */
const char *fbx_record_type_name(int type);

typedef struct fbx_event {
	uint64_t seq;            /* 0, 1, 2 ... over the life of the box */
	uint64_t time_ns;        /* CLOCK_MONOTONIC */
	fbx_event_kind kind;
	fbx_event_cause cause;
	fbx_record_type record_type;
	uint32_t record;         /* index of the breaker or limiter */
	char name[FBX_NAME_MAX]; /* its name, resolved when the snapshot was taken */
	int from, to;            /* breaker states; -1 when not a transition */
	pid_t pid;               /* manual actions: who */
	uid_t uid;
	char reason[FBX_REASON_MAX];
	/* Damaged: its writer died or stopped mid-write (in progress for over
	 * 2 s), the record was torn or scribbled on, or a field is out of range.
	 * Only seq (and time_ns when it could be read) are kept. */
	int corrupt;
} fbx_event;

typedef struct fbx_snapshot fbx_snapshot;

/* Allocates room for every record of box (not a hot path). */
int fbx_snapshot_new(fbx_box *box, fbx_snapshot **out);
/* Copies the box now.  May be called repeatedly on the same snapshot. */
int fbx_snapshot_take(fbx_box *box, fbx_snapshot *snap);
/* Copies workers, checks and the aggregate only, leaving the rest of the
 * snapshot as it was: what a probe reads, at a fraction of the cost. */
int fbx_snapshot_take_health(fbx_box *box, fbx_snapshot *snap);
void fbx_snapshot_free(fbx_snapshot *snap);

uint64_t fbx_snapshot_time(const fbx_snapshot *snap);   /* clock when taken */
const fbx_breaker_info *fbx_snapshot_breakers(const fbx_snapshot *snap, size_t *n);
const fbx_limiter_info *fbx_snapshot_limiters(const fbx_snapshot *snap, size_t *n);

typedef struct fbx_worker_info {
	int32_t pid;
	char role[FBX_ROLE_MAX];
	int alive;                  /* process there and heartbeat fresh */
	int process_gone;           /* not alive because its process is gone;
				       else because its heartbeat is stale */
	uint64_t heartbeat_age_ns;
	uint64_t heartbeat_timeout_ns;
	uint64_t registered_age_ns;
	uint64_t in_flight;         /* 0 for a dead worker: reclaimed */
	uint64_t served;            /* requests ended in this slot, by it and by the
				       processes that held the slot before it */
	int corrupt;                /* a slot whose words do not hold together */
} fbx_worker_info;

typedef struct fbx_check_info {
	char name[FBX_NAME_MAX];
	int corrupt;
	fbx_check_status status;    /* as it counts now: expired counts as fail */
	fbx_check_status set_status;/* as last set */
	int critical;
	int expired;                /* not set again within its TTL */
	uint64_t ttl_ns;            /* 0 for a check that follows a breaker */
	uint64_t age_ns;            /* since it was last set */
	char breaker[FBX_NAME_MAX]; /* the breaker it follows, or "" */
	char message[FBX_CHECK_MESSAGE_MAX];
	uint32_t setter_uid;
	int32_t setter_pid;
} fbx_check_info;

typedef struct fbx_health {
	fbx_health_status status;
	int live, ready, started, draining;
	uint64_t drain_age_ns;      /* draining: since when */
	uint32_t workers_alive, workers_dead, masters_alive;
	uint64_t in_flight;         /* over live workers */
	uint64_t served;            /* over live workers (not a counter: a
				       worker that dies takes its share away) */
	char reason[128];           /* the first of: not live, not started,
				       draining, a critical check failing, a
				       check not passing — in words */
} fbx_health;

const fbx_worker_info *fbx_snapshot_workers(const fbx_snapshot *snap, size_t *n);
const fbx_check_info *fbx_snapshot_checks(const fbx_snapshot *snap, size_t *n);
const fbx_health *fbx_snapshot_health(const fbx_snapshot *snap);
typedef struct fbx_budget_info {
	char name[FBX_NAME_MAX];
	int corrupt;
	fbx_budget_config config;
	uint64_t deposits, withdrawals; /* in the last ttl */
	uint64_t balance;               /* retries still allowed now */
	uint64_t attempts, retries_allowed, retries_refused; /* since created */
} fbx_budget_info;

typedef struct fbx_bulkhead_info {
	char name[FBX_NAME_MAX];
	int corrupt;
	uint32_t cap;
	uint64_t in_flight;   /* places held now (a dead holder's too, until
				 an acquire that finds it full takes it back) */
	uint64_t peak, refused, reclaimed;
} fbx_bulkhead_info;

const fbx_budget_info *fbx_snapshot_budgets(const fbx_snapshot *snap, size_t *n);
typedef struct fbx_cache_info {
	char name[FBX_NAME_MAX];
	int corrupt;
	uint64_t ttl_ns, stale_ns;
	uint32_t slots, value_max;
	uint64_t entries;            /* slots holding a value now */
	uint64_t hits, stale_hits, misses, puts;
} fbx_cache_info;

const fbx_bulkhead_info *fbx_snapshot_bulkheads(const fbx_snapshot *snap, size_t *n);
const fbx_cache_info *fbx_snapshot_caches(const fbx_snapshot *snap, size_t *n);
/* Events oldest first, up to the first one still being written (see
 * fbx_events_read); *dropped counts events overwritten before this copy. */
const fbx_event *fbx_snapshot_events(const fbx_snapshot *snap, size_t *n,
				     uint64_t *dropped);
/* The event that began the drain in force, or NULL: the newest of the box's
 * drain events in the copy, when it is a drain-on no older than the drain
 * itself (within a second: the drain word and the event are written one
 * after the other).  NULL when the box is not draining, or the ring no
 * longer holds the event, or it never got one (its writer died between the
 * two, or an older library drained it): never an earlier drain's. */
const fbx_event *fbx_snapshot_drain_event(const fbx_snapshot *snap);

/* The one line every tool, console and example prints for an event:
 *
 *   AGE ago  breaker|limiter|box NAME  [FROM -> TO  ]CAUSE[: REASON][  (uid U pid P)]
 *
 * e.g. "12.3s ago  breaker payments  closed -> open  consecutive failures",
 * "0.4s ago  breaker db  open -> forced-open  tripped: failover
 * (uid 0 pid 4242)"; a damaged event is "AGE ago  (damaged event)".  AGE is
 * now_ns - e->time_ns (0 when the event is newer than now_ns).  Writes at
 * most len bytes, NUL-terminated (len 0: nothing), and returns the length of
 * the whole line as snprintf does (so a return >= len means it was cut), or
 * FBX_EINVAL for a NULL event or buffer. */
int fbx_event_format(const fbx_event *e, uint64_t now_ns, char *buf, size_t len);

/* Copies events with seq >= from_seq (oldest first) into out[0..cap).
 * *n receives the number copied, *next the seq to ask for next time.
 * An event still being written is "not yet": copying stops before it and
 * *next names it, so a follower calling again gets it once complete.  One
 * in progress for over 2 s (its writer was killed or stopped) is copied
 * marked corrupt and passed.  Events overwritten before they could be read
 * are skipped: compare seq with the one expected to count them. */
int fbx_events_read(fbx_box *box, uint64_t from_seq, fbx_event *out,
		    size_t cap, size_t *n, uint64_t *next);

/* ------------------------------------------------------------------------
 * 10. Clock — CLOCK_MONOTONIC nanoseconds, the clock every decision reads
 * (the one to time calls with for fbx_breaker_done's duration).
 * ---------------------------------------------------------------------- */

uint64_t fbx_clock_now(void);

/* ------------------------------------------------------------------------
 * 11. Test hooks — FOR TESTS AND THE BENCH ONLY, NOT FOR PRODUCTION.
 *
 * Exported so that the test suite and the benchmark can drive the library
 * through time; a service has no reason to call anything here, and doing so
 * changes every decision of every box the process has open.
 * ---------------------------------------------------------------------- */

/* Substitutes fn(arg) for the clock of the whole process; NULL restores
 * the real one.  Not thread-safe against calls in progress.  Breaker
 * deadlines count from the box's creation, so substitute the clock before
 * creating the box, and never let it run behind that moment.  The grace
 * periods after which a record counts as abandoned keep the real clock. */
typedef uint64_t (*fbx_clock_fn)(void *arg);
void fbx_clock_set(fbx_clock_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* FUSEBOX_H */
