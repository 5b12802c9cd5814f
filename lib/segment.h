/*
 * segment.h — the shared-memory layout: what lies in a box, byte for byte.
 *
 * A change here is a change of shared memory.  Processes built from
 * different sources share one segment, so everything below is a contract
 * between builds, not a private detail of this one:
 *
 *  - fbx__fingerprint() (layout.c) hashes the sizes of the structs placed in
 *    the segment, the offsets of the header's and records' key fields, and
 *    the public constants that size arrays in them.  A change of any of those
 *    makes openers of other builds refuse the box with FBX_EVERSION.
 *  - The fingerprint does not see a changed bit layout of a word, a field
 *    reused for another meaning, a changed enum value, a changed protocol
 *    (events.c, keytable.c, limiter.c's rule flip) or a field moved with no
 *    change of size: for any of those, bump FBX__LAYOUT_VERSION.
 *  - FBX__CAPACITIES' bounds decide which headers an opener accepts: lowering
 *    one makes boxes created by other builds FBX_ECORRUPT here.
 *
 * Nothing in the segment is a pointer: every record is reached by offset
 * from the mapping's base (docs/DESIGN.md R1).  Every word more than one
 * process writes is a lock-free atomic of at most 8 bytes (R3).  Whatever
 * is read from here may have been scribbled by another process (R10).
 */
#ifndef FBX_SEGMENT_H
#define FBX_SEGMENT_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fusebox.h"

static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

#define FBX__CACHELINE 64

#define FBX__MAGIC 0x31584f4245535546ull /* "FUSEBOX1" little-endian */
#define FBX__LAYOUT_VERSION 3u
/* The object is /dev/shm/fusebox.NAME: processes meet by this name. */
#define FBX__BOX_NAME_MAX 32
#define FBX__SHM_PREFIX "/fusebox."

/*
 * The box's capacities, in header order: X(name in fbx_box_config, least,
 * most an opener accepts).  Initialisation, validation, binding and
 * fbx_box_info_get go through this list, so a capacity added here is
 * carried everywhere (its header field cap_NAME must be added by hand: the
 * struct below stays readable as a layout).
 */
#define FBX__CAP_MAX_RECORDS 65536u
#define FBX__CAP_MAX_KEYS (64u << 20)
#define FBX__CAP_MAX_EVENTS (1u << 20)
#define FBX__CAP_MAX_WORKERS 4096u
/* A log's pending count is 16 bits (limiter_log.h): counts below 2^16. */
#define FBX__LOG_SLOTS_MAX 65536u
/* A cached value is copied through the stack of a put or a get: 8 KiB. */
#define FBX__CACHE_VALUE_MAX 8192u
#define FBX__CAPACITIES(X)                        \
	X(breakers, 1, FBX__CAP_MAX_RECORDS)      \
	X(limiters, 1, FBX__LIMITERS_MAX)         \
	X(keys, 1, FBX__CAP_MAX_KEYS)             \
	X(events, 16, FBX__CAP_MAX_EVENTS)        \
	X(workers, 1, FBX__CAP_MAX_WORKERS)       \
	X(checks, 0, FBX__CAP_MAX_RECORDS)        \
	X(log_keys, 0, FBX__CAP_MAX_KEYS)         \
	X(log_slots, 0, FBX__LOG_SLOTS_MAX)       \
	X(budgets, 0, FBX__CAP_MAX_RECORDS)       \
	X(bulkheads, 0, FBX__CAP_MAX_RECORDS)     \
	X(caches, 0, FBX__CAP_MAX_RECORDS)        \
	X(cache_slots, 0, 65536)                  \
	X(cache_value_max, 0, FBX__CACHE_VALUE_MAX)

/* The regions of the segment, in address order, each page-aligned; the
 * header keeps each one's offset as off_NAME (layout.c places them). */
#define FBX__REGIONS(X)                                                          \
	X(breakers) X(rings) X(limiters) X(keys) X(log_keys) X(log_rings) X(events) \
	X(workers) X(shards) X(checks) X(budgets) X(bulkheads) X(caches) X(cache_entries)

/* Record life: a slot goes FREE -> INIT (under the registry lock) -> LIVE.
 * A slot in INIT when the lock is taken was left by a dead registrar and
 * is wiped (registry.c). */
enum { FBX__REC_FREE = 0, FBX__REC_INIT = 1, FBX__REC_LIVE = 2 };

/* What breaker and limiter records share, first in each. */
struct fbx__rec_head {
	_Atomic uint32_t live;
	uint32_t index;
	char name[FBX_NAME_MAX];
};

/* ---- header ----------------------------------------------------------- */

struct fbx__header {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t header_size;
	uint64_t fingerprint;
	uint64_t total_size;
	uint32_t cap_breakers, cap_limiters, cap_keys, cap_events;
	uint32_t cap_workers, cap_checks, cap_log_keys, cap_log_slots;
	uint32_t cap_budgets, cap_bulkheads, cap_caches, cap_cache_slots, cap_cache_value_max;
	uint32_t key_buckets, log_key_buckets, mode;
	uint32_t group;
	int32_t creator_pid;
	uint64_t creator_start;
	uint64_t created_ns;
	uint64_t secret[2];       /* key of the limiter-key hash (keyhash.h) */
	uint64_t off_breakers, off_rings, off_limiters, off_keys, off_log_keys, off_log_rings;
	uint64_t off_events, off_workers, off_shards, off_checks, off_budgets, off_bulkheads;
	uint64_t off_caches, off_cache_entries;
	uint64_t shard_stride;
	char name[40];
	alignas(FBX__CACHELINE) _Atomic uint32_t ready;
	/* Never written: the registry lock is an OFD lock on this range of the
	 * object (registry.c), so no scribble can wedge or abort a locker. */
	alignas(FBX__CACHELINE) uint8_t registry[40];
	/* unused since layout 2: readers and finders go through every slot,
	 * so a scribbled count can hide nothing */
	_Atomic uint32_t n_breakers;
	_Atomic uint32_t n_limiters;
	_Atomic uint32_t shards_hwm;  /* highest shard index ever claimed + 1 */
	alignas(FBX__CACHELINE) _Atomic uint64_t event_head;
	/* ms since creation + 1 when the box began draining (0: it is not),
	 * and when the master said its initialisation was finished */
	alignas(FBX__CACHELINE) _Atomic uint64_t draining;
	_Atomic uint64_t started;
};
static_assert(sizeof(struct fbx__header) <= 4096, "the header fits its page");

/* The lists above name the header's fields in order, and nothing else
 * lies between them: code driven by a list misses no field. */
#define FBX__ONE(...) +1
static_assert(offsetof(struct fbx__header, cap_cache_value_max) + sizeof(uint32_t) -
			      offsetof(struct fbx__header, cap_breakers) ==
		      (0 FBX__CAPACITIES(FBX__ONE)) * sizeof(uint32_t),
	      "FBX__CAPACITIES names every cap_ field of the header");
static_assert(offsetof(struct fbx__header, off_cache_entries) + sizeof(uint64_t) -
			      offsetof(struct fbx__header, off_breakers) ==
		      (0 FBX__REGIONS(FBX__ONE)) * sizeof(uint64_t),
	      "FBX__REGIONS names every off_ field of the header");

/* ---- breakers ----------------------------------------------------------- */

/*
 * The whole automatic state of a breaker is one word, so every transition
 * is a single CAS:  state:4 | streak:4 | gen:16 | deadline_ms:40.
 * gen changes on every transition; permits carry it so that a late result
 * cannot touch a newer state.  deadline_ms counts from the box's creation:
 * in OPEN it is when trials may start; in HALF_OPEN it is when the
 * half-open period began, so a lease left from 65,536 generations ago
 * (the same 16-bit gen) is told apart by its deadline being older than
 * the period it would belong to.
 */
#define FBX__ST_STATE(w) ((uint32_t)((w) & 0xf))
#define FBX__ST_STREAK(w) ((uint32_t)(((w) >> 4) & 0xf))
#define FBX__ST_GEN(w) ((uint32_t)(((w) >> 8) & 0xffff))
#define FBX__ST_DEADLINE(w) ((w) >> 24)
#define FBX__ST_MAKE(state, streak, gen, dl)                                  \
	((uint64_t)(state) | ((uint64_t)(streak) << 4) |                      \
	 ((uint64_t)((gen) & 0xffff) << 8) | ((uint64_t)(dl) << 24))
#define FBX__DEADLINE_MAX ((1ull << 40) - 1)

/* gen-tagged counters: gen:16 | count:48.  A count of an older generation
 * than the caller's is replaced; a caller older than the count adds
 * nothing (see fbx__gen_newer). */
#define FBX__GC_GEN(w) ((uint32_t)((w) >> 48))
#define FBX__GC_COUNT(w) ((w) & ((1ull << 48) - 1))
#define FBX__GC_MAKE(gen, n) (((uint64_t)((gen) & 0xffff) << 48) | (n))

/* lease word: 0 = free, else gen:16 | deadline_ms:40 | 1:8 (never 0) */
#define FBX__LEASE_MAKE(gen, dl) (((uint64_t)((gen) & 0xffff) << 48) | ((uint64_t)(dl) << 8) | 1u)
#define FBX__LEASE_GEN(w) ((uint32_t)((w) >> 48))
#define FBX__LEASE_DEADLINE(w) (((w) >> 8) & FBX__DEADLINE_MAX)

/* Whether 16-bit generation a is later than b.  Generations move by one
 * per transition; the half-range comparison is right while the two are
 * fewer than 32,768 transitions apart, and wrong far beyond that only for
 * a caller stalled through that many transitions (see breaker.c). */
static inline bool fbx__gen_newer(uint32_t a, uint32_t b)
{
	return (int16_t)(uint16_t)(a - b) > 0;
}

/* Operator actions counted per breaker, in the order of their causes. */
enum { FBX__MANUAL_TRIP, FBX__MANUAL_HOLD, FBX__MANUAL_RELEASE, FBX__MANUAL_RESET,
       FBX__MANUAL_N };

struct fbx__breaker_rec {
	struct fbx__rec_head head;
	fbx_breaker_config cfg;       /* immutable once LIVE */
	alignas(FBX__CACHELINE) _Atomic uint64_t state;
	alignas(FBX__CACHELINE) _Atomic uint64_t consec;  /* gen-tagged */
	_Atomic uint64_t ho_succ;                         /* gen-tagged */
	_Atomic uint64_t trips;
	_Atomic uint64_t win_floor;   /* window data at or below this is void */
	_Atomic uint64_t ring_seq;    /* count-based window: calls so far */
	/* When the window last took a failure or a slow call (ms since the
	 * box's creation, or the ring's sequence number): while one may be in
	 * the window, a success re-evaluates the rates too. */
	_Atomic uint64_t last_bad;
	/* Time windows: the last bucket (+1) whose first success evaluated
	 * the rates, and how many calls the window was short of min_calls at
	 * the last evaluation (bucket:32 | calls:32) — see breaker.c. */
	_Atomic uint64_t eval_bucket;
	_Atomic uint64_t short_by;
	alignas(FBX__CACHELINE) _Atomic uint64_t lease[FBX_HALF_OPEN_MAX];
	/* When the state last changed, ms since the box's creation; it only
	 * moves forward (two transitions' stores may land out of order). */
	alignas(FBX__CACHELINE) _Atomic uint64_t since_ms;
	_Atomic uint64_t manual[FBX__MANUAL_N];  /* operator actions, by kind */
	/* The last operator action: who, when, what and why, with a check
	 * over the words so that one torn by two actions at once reads as
	 * unknown, never as a mix of both. */
	_Atomic uint64_t op_who;      /* uid:32 | pid:32 */
	_Atomic uint64_t op_when_ms;
	_Atomic uint64_t op_cause;
	_Atomic uint64_t op_reason[FBX_REASON_MAX / 8];
	_Atomic uint64_t op_check;
};

/* count-based window ring entry: seq:30 | slow:1 | failure:1; each breaker
 * has FBX_WINDOW_CALLS_MAX of them in the rings region */
typedef _Atomic uint32_t fbx__ring_slot;
#define FBX__RING_SEQ_MASK 0x3fffffffu

/* per-shard breaker counters */
enum { FBX__C_SUCC, FBX__C_FAIL, FBX__C_IGN, FBX__C_SLOW, FBX__C_REJ, FBX__C_N };
/* time-based window bucket words: tag(bucket index):32 | count:32 */
enum { FBX__B_CALLS, FBX__B_FAIL, FBX__B_SLOW, FBX__B_N };
struct fbx__breaker_shard {
	_Atomic uint64_t ctr[FBX__C_N];
	_Atomic uint64_t bucket[FBX_WINDOW_BUCKETS][FBX__B_N];
};

/* ---- limiters ----------------------------------------------------------- */

/* One limit of a rule, with what its hot path needs precomputed. */
struct fbx__limit {
	uint64_t count, period_ns;
	uint64_t inv_period;  /* floor((2^64 - 1) / period): multiply, not divide */
	uint64_t gcra_t;      /* GCRA emission interval and tolerance, ns */
	uint64_t gcra_tau;
	uint64_t inv_t;
	/* the same, padded by one coarse-clock tick: what GCRA uses when it
	 * reads the coarse clock (see fbx__limiter_cfg_build) */
	uint64_t pad_t, pad_tau, pad_inv_t;
};

struct fbx__limiter_cfg {
	char rule[FBX_RULE_TEXT_MAX];
	fbx_rule parsed;
	struct fbx__limit lim[FBX_RULE_LIMITS_MAX];
	uint64_t min_count;    /* the smallest limit: no take may cost more */
	uint32_t burst;
	uint32_t coarse_clock; /* the limits are long enough for the coarse clock */
	/* Window takes may add first (limiter.c): no limit this limiter has
	 * ever had counts near the field's top.  Rule changes only clear it. */
	uint32_t fast_add;
	/* The log on the coarse clock: every unit is stamped this much later
	 * than the reading, so it never leaves its window before it truly has
	 * (0: the precise clock, or a rule too short for the coarse one). */
	uint32_t log_tick_ns;
};

/* One of a keyed limiter's most-denied keys: tag 0 = empty; the busy bit
 * marks an entry being rewritten (readers skip it, writers may take it
 * over, so a writer killed midway costs one entry's figures, nothing else).
 * text: length byte, then the key's first FBX_TOP_KEY_TEXT - 1 bytes. */
#define FBX__TOP_BUSY (1ull << 63)
#define FBX__TOP_WORDS (FBX_TOP_KEY_TEXT / 8)
struct fbx__topkey {
	_Atomic uint64_t tag;
	_Atomic uint64_t denials;
	_Atomic uint64_t text[FBX__TOP_WORDS];
};

struct fbx__limiter_rec {
	struct fbx__rec_head head;
	uint32_t algorithm;
	uint32_t keyed;
	/* Rule changes write the inactive cfg copy, then flip cfg_active
	 * (version << 1 | slot); a writer that dies mid-write harms nothing. */
	alignas(FBX__CACHELINE) _Atomic uint64_t cfg_active;
	_Atomic uint32_t dry_run;
	_Atomic uint64_t keys_unused; /* keys are counted by readers (keytable.c) */
	_Atomic uint64_t evictions;
	struct fbx__limiter_cfg cfg[2];
	alignas(FBX__CACHELINE) _Atomic uint64_t global_state[FBX_RULE_LIMITS_MAX];
	alignas(FBX__CACHELINE) struct fbx__topkey top[FBX_TOP_KEYS];
};

/* A limit's state word (global_state[], or a key's st[]).
 * Sliding window: window index:16 | previous count:24 | current count:24.
 * The index only tells "this window", "the one before" or "older"; when it
 * wraps (a key idle for 65,536 windows exactly), old counts read as recent
 * ones — an early denial at worst, never an extra admission.
 * GCRA: the theoretical arrival time in ns, the whole word. */
#define FBX__CNT_BITS 24
#define FBX__CNT_MASK ((1ull << FBX__CNT_BITS) - 1)
#define FBX__IDX_MASK 0xffffull
#define FBX__W_IDX(w) ((w) >> (2 * FBX__CNT_BITS))
#define FBX__W_PREV(w) (((w) >> FBX__CNT_BITS) & FBX__CNT_MASK)
#define FBX__W_CUR(w) ((w) & FBX__CNT_MASK)
#define FBX__W_MAKE(idx, prev, cur) \
	((idx) << (2 * FBX__CNT_BITS) | (prev) << FBX__CNT_BITS | (cur))
static_assert(FBX_WINDOW_COUNT_MAX <= FBX__CNT_MASK, "a window limit fits its count field");

enum { FBX__L_ALLOWED, FBX__L_DENIED, FBX__L_DRY_DENIED, FBX__L_N };
struct fbx__limiter_shard {
	_Atomic uint64_t ctr[FBX__L_N + 1];
};

/* Key table: 8-way buckets, two candidate buckets per key.  A bucket's
 * eight tags share its first cache line, so a lookup compares them all with
 * one miss; the state words follow.  A key's decision state is its 8-byte
 * tag and FBX_RULE_LIMITS_MAX 8-byte words: 32 bytes.
 * tag = (limiter index + 1):10 | reserved:1 | keyed hash:53; 0 = empty.
 * A reserved tag marks an entry being inserted: lookups do not match it. */
#define FBX__KB_WAYS 8
#define FBX__TAG_LIM_SHIFT 54
#define FBX__TAG_RESERVED (1ull << 53)
#define FBX__TAG_HASH_MASK (FBX__TAG_RESERVED - 1)
#define FBX__LIMITERS_MAX 1023u /* what the tag's 10 bits can name */
struct fbx__kbucket {
	alignas(FBX__CACHELINE) _Atomic uint64_t tag[FBX__KB_WAYS];
	_Atomic uint64_t st[FBX__KB_WAYS][FBX_RULE_LIMITS_MAX];
};
static_assert(sizeof(((struct fbx__kbucket *)0)->tag[0]) +
			      sizeof(((struct fbx__kbucket *)0)->st[0]) == 32,
	      "32 bytes of decision state per key");

/* ---- events ------------------------------------------------------------ */

/* seq1: 0 never written; seq + 1 complete; (seq + 1) | BUSY being written
 * (events.c has the protocol).  check: a hash of seq and the words, so a
 * record torn by two writers is seen as such. */
#define FBX__EV_WORDS 12
#define FBX__EV_BUSY (1ull << 63)
#define FBX__EV_GRACE_NS 2000000000ull /* longer in progress: writer gone */
struct fbx__event_slot {
	_Atomic uint64_t seq1;
	/* time; kind:8 | cause:8 | rtype:16 | record:32 (low bits first);
	 * from:32 | to:32; pid:32 | uid:32; reason, 8 words */
	_Atomic uint64_t w[FBX__EV_WORDS];
	_Atomic uint64_t started; /* CLOCK_MONOTONIC when its writer began */
	_Atomic uint64_t check;
	uint64_t pad;
};

/* ---- workers (one counter shard each) ----------------------------------- */

/* owner: pid:22 | start time in clock ticks:42; 0 = free */
#define FBX__OWNER_MAKE(pid, start) (((uint64_t)(pid) & 0x3fffff) | ((uint64_t)(start) << 22))
#define FBX__OWNER_PID(w) ((pid_t)((w) & 0x3fffff))
#define FBX__OWNER_START(w) ((w) >> 22)
/* A worker's slot, written only by the process its owner word names
 * (R6).  registered: ms since the box's creation + 1 when the process
 * registered as a worker, 0 while it has not (a tool that only counts);
 * it is stored last, so the other words are whole when it is read.
 * In flight is begun - served: a new owner sets begun to served, which
 * reclaims whatever a dead one left in flight. */
struct fbx__worker {
	_Atomic uint64_t owner;
	_Atomic uint64_t role[FBX_ROLE_MAX / 8];  /* NUL-padded */
	_Atomic uint64_t registered;
	_Atomic uint64_t timeout_ms;
	_Atomic uint64_t heartbeat_ms;             /* since the box's creation */
	_Atomic uint64_t begun;
	_Atomic uint64_t served;
	_Atomic uint64_t reserved[8];
};
static_assert(sizeof(struct fbx__worker) == 128, "a worker slot is two cache lines");

/* A health check's record.  Its words (status|critical, set_ms, ttl_ms,
 * who, message) are written by whoever sets it, one setter at a time
 * (busy: the setter's owner word, taken over from a dead or stuck one),
 * and vouched for by check: a reader that finds them torn by a setter
 * killed midway counts the check as failed until it is set again.
 * breaker: index + 1 of the breaker it follows (0: none), set before the
 * record is published and never changed. */
#define FBX__CHECK_MSG_WORDS (FBX_CHECK_MESSAGE_MAX / 8)
#define FBX__CHECK_WORDS (4 + FBX__CHECK_MSG_WORDS)
struct fbx__check_rec {
	struct fbx__rec_head head;
	uint32_t breaker;
	uint32_t bound_critical;
	_Atomic uint64_t busy;
	_Atomic uint64_t w[FBX__CHECK_WORDS];
	_Atomic uint64_t check;
};

/* Counter shards follow the workers: shard 0 is the shared overflow shard,
 * shard w + 1 is worker slot w's.  A shard holds cap_breakers breaker
 * shards, then cap_limiters limiter shards; shard_stride rounds that up. */

/* Health-check records (reserved for the worker-health API). */
#define FBX__CHECK_SIZE 256
static_assert(sizeof(struct fbx__check_rec) <= FBX__CHECK_SIZE, "a check fits its record");

/* ---- retry budgets and bulkheads --------------------------------------- */

/* A retry budget: deposits (first attempts) and withdrawals (retries) in
 * FBX__BUDGET_BUCKETS buckets of ttl / FBX__BUDGET_BUCKETS each, every word
 * tag:32 | count:32 (the tag is the bucket's index in time, as a breaker's
 * window buckets are), shared by every process: one add per deposit. */
#define FBX__BUDGET_BUCKETS 10
struct fbx__budget_rec {
	struct fbx__rec_head head;
	fbx_budget_config cfg;        /* immutable once LIVE */
	alignas(FBX__CACHELINE) _Atomic uint64_t dep[FBX__BUDGET_BUCKETS];
	alignas(FBX__CACHELINE) _Atomic uint64_t wd[FBX__BUDGET_BUCKETS];
	alignas(FBX__CACHELINE) _Atomic uint64_t attempts, allowed, refused;
};

/* A bulkhead: cap places, each the owner word (pid and start time) of the
 * process holding it, 0 when free.  A place held by a process that is gone
 * is taken over by the next acquire that finds every place held; in_flight
 * and peak are figures for readers, kept by adds. */
struct fbx__bulkhead_rec {
	struct fbx__rec_head head;
	uint32_t cap;                 /* immutable once LIVE */
	alignas(FBX__CACHELINE) _Atomic uint64_t next;   /* where the next search starts */
	_Atomic uint64_t in_use;  /* for peak: + on acquire, - on release or reclaim */
	_Atomic uint64_t refused, reclaimed, peak;
	alignas(FBX__CACHELINE) _Atomic uint64_t place[FBX_BULKHEAD_MAX];
};

/* ---- shared caches ------------------------------------------------------ */

/* A cache: its policy (immutable once LIVE) and figures for readers; its
 * cache_slots entries lie in the cache_entries region. */
struct fbx__cache_rec {
	struct fbx__rec_head head;
	uint64_t ttl_ms, stale_ms;
	alignas(FBX__CACHELINE) _Atomic uint64_t hits, stale_hits, misses, puts;
};

/* An entry: tag (the key's keyed hash | 1; 0 empty), busy (the writer's
 * owner word), version (seq << 1 | the copy in force), then two copies of
 * FBX__CACHE_COPY_WORDS(value_max) words each: put_ms, keylen | vlen << 32,
 * check, the key (FBX_CACHE_KEY_MAX bytes), the value.  A writer fills the
 * copy not in force and then switches: readers never see it half-written,
 * and read again when the version moved while they copied. */
#define FBX__CACHE_HEAD_WORDS 4
#define FBX__CACHE_KEY_WORDS (FBX_CACHE_KEY_MAX / 8)
#define FBX__CACHE_COPY_WORDS(vmax) (3 + FBX__CACHE_KEY_WORDS + (uint64_t)(vmax) / 8)
#define FBX__CACHE_ENTRY_WORDS(vmax) (FBX__CACHE_HEAD_WORDS + 2 * FBX__CACHE_COPY_WORDS(vmax))
#define FBX__CACHE_WAYS 4

#endif /* FBX_SEGMENT_H */
