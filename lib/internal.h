/*
 * internal.h — the shared layout and the library's private helpers.
 *
 * Everything in the segment is reached by offset from the mapping's base;
 * no pointer is ever stored in it.  Every shared word that more than one
 * process writes is a lock-free atomic of at most 8 bytes (docs/DESIGN.md R3).
 * Internal names use the fbx__ prefix and are hidden by the version script.
 */
#ifndef FBX_INTERNAL_H
#define FBX_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fusebox.h"

static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

#define FBX__LIKELY(x) __builtin_expect(!!(x), 1)
#define FBX__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FBX__CACHELINE 64

#define FBX__MAGIC 0x31584f4245535546ull /* "FUSEBOX1" little-endian */
#define FBX__LAYOUT_VERSION 2u
#define FBX__BOX_NAME_MAX 32
#define FBX__SHM_PREFIX "/fusebox."

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
	uint32_t cap_workers, cap_checks, key_buckets, mode;
	uint32_t group;
	int32_t creator_pid;
	uint64_t creator_start;
	uint64_t created_ns;
	uint64_t secret[2];       /* SipHash key for limiter keys */
	uint64_t off_breakers, off_rings, off_limiters, off_keys;
	uint64_t off_events, off_workers, off_shards, off_checks;
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
};

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

struct fbx__breaker_rec {
	struct fbx__rec_head head;
	fbx_breaker_config cfg;       /* immutable once LIVE */
	alignas(FBX__CACHELINE) _Atomic uint64_t state;
	alignas(FBX__CACHELINE) _Atomic uint64_t consec;  /* gen-tagged */
	_Atomic uint64_t ho_succ;                         /* gen-tagged */
	_Atomic uint64_t trips;
	_Atomic uint64_t win_floor;   /* window data at or below this is void */
	_Atomic uint64_t ring_seq;    /* count-based window: calls so far */
	alignas(FBX__CACHELINE) _Atomic uint64_t lease[FBX_HALF_OPEN_MAX];
};

/* count-based window ring entry: seq:30 | slow:1 | failure:1 */
typedef _Atomic uint32_t fbx__ring_slot;

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
	uint32_t pad;
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
#define FBX__LIMITERS_MAX 1023u
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
	/* time, kind|cause|rtype|record, from|to, pid|uid, reason[8 words] */
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
struct fbx__worker {
	_Atomic uint64_t owner;
	_Atomic uint64_t reserved[15];  /* heartbeat, in-flight, drain: a later layout */
};
#define FBX__CHECK_SIZE 256

/* ---- the process-local handle ------------------------------------------- */

struct fbx_breaker {
	struct fbx_box *box;
	struct fbx__breaker_rec *rec;
	fbx__ring_slot *ring;
	uint32_t index;
	fbx_breaker_config cfg;  /* local copy: hot paths read no shared config */
	uint64_t bucket_ns;
	bool plain;              /* no window, no slow-call threshold */
	bool read_only;          /* the box's mapping cannot be written */
	struct fbx_breaker *next;
};

#define FBX__LOCAL_CFGS 4
struct fbx_limiter {
	struct fbx_box *box;
	struct fbx__limiter_rec *rec;
	uint32_t index;
	uint32_t algorithm;
	int keyed;
	uint64_t hash_salt;   /* keys of different limiters land apart */
	uint64_t shard_off;   /* this limiter's counters within a shard */
	/* Local copies of the shared config, so the hot path reads no shared
	 * config: a refresh writes the next copy of the ring, then moves `cur`.
	 * A thread sharing the handle reads a copy being rewritten only if
	 * FBX__LOCAL_CFGS - 1 rule changes land during one of its takes. */
	_Atomic uint64_t cfg_seen;    /* cfg_active the current copy came from */
	_Atomic uint32_t cur;
	/* FBX_OPEN_THREADS: takes pin the copy they use; a refresh rewrites
	 * only a copy that is neither current nor pinned (limiter.c) */
	_Atomic uint32_t pins[FBX__LOCAL_CFGS];
	struct fbx__limiter_cfg cfgs[FBX__LOCAL_CFGS];
	struct fbx_limiter *next;
};

struct fbx_box {
	char name[40];
	uint8_t *base;
	size_t size;
	int read_only;
	int fd;                      /* the object, kept for the registry lock */
	struct fbx__header *hdr;
	uint32_t cap_breakers, cap_limiters, cap_keys, cap_events;
	uint32_t cap_workers, cap_checks, key_buckets;
	uint64_t shard_stride;
	uint64_t secret[2];
	uint64_t created_ns;
	struct fbx__breaker_rec *breakers;
	fbx__ring_slot *rings;
	struct fbx__limiter_rec *limiters;
	struct fbx__kbucket *keys;
	struct fbx__event_slot *events;
	struct fbx__worker *workers;
	uint8_t *shards;
	/* this process's shard; re-acquired when fork_gen moves */
	_Atomic(uint8_t *) my_shard;
	_Atomic uint64_t fork_gen;
	_Atomic int32_t my_worker;   /* -1: the shared overflow shard 0 */
	/* Counters take a locked add only when the shard may have two writers:
	 * the handle is shared by threads (FBX_OPEN_THREADS) or the process
	 * writes the overflow shard.  Otherwise one writer, a plain add. */
	_Atomic int atomic_counts;
	int threads;
	uint64_t my_owner;
	pthread_mutex_t lock;        /* process-local: handle lists, shard claim */
	struct fbx_breaker *breaker_list;
	struct fbx_limiter *limiter_list;
};

/* ---- helpers shared between files --------------------------------------- */

/* layout.c */
struct fbx__layout {
	uint64_t off_breakers, off_rings, off_limiters, off_keys;
	uint64_t off_events, off_workers, off_shards, off_checks;
	uint64_t shard_stride, total;
	uint32_t key_buckets;
};
int fbx__layout_compute(const fbx_box_config *cfg, struct fbx__layout *lay);
uint64_t fbx__fingerprint(void);
void fbx__box_bind(fbx_box *box);  /* fills cached pointers from the header */

/* box.c: 0, or FBX_ETRUNC when someone cut the object short under this
 * mapping (touching it past the end would raise SIGBUS).  Readers and the
 * slow paths that walk records check it first; hot paths cannot afford a
 * system call (docs/SECURITY.md says what that leaves). */
int fbx__box_whole(const fbx_box *box);

/* clock.c */
uint64_t fbx__now(void);         /* precise */
uint64_t fbx__now_coarse(void);  /* ~4 ms resolution, ~3 ns */
bool fbx__clock_substituted(void);
static inline uint64_t fbx__ms_since(const fbx_box *box, uint64_t now)
{
	return now > box->created_ns ? (now - box->created_ns) / 1000000u : 0;
}

/* process.c */
uint64_t fbx__self_identity(void);
int fbx__owner_alive(uint64_t owner);
extern _Atomic uint64_t fbx__fork_generation;
void fbx__fork_hook_install(void);
uint8_t *fbx__shard_acquire(fbx_box *box);
void fbx__shard_release(fbx_box *box);
static inline uint8_t *fbx__shard(fbx_box *box)
{
	if (FBX__UNLIKELY(atomic_load_explicit(&box->fork_gen, memory_order_relaxed) !=
			  atomic_load_explicit(&fbx__fork_generation, memory_order_relaxed)))
		return fbx__shard_acquire(box);
	return atomic_load_explicit(&box->my_shard, memory_order_relaxed);
}
static inline struct fbx__breaker_shard *fbx__bshard(uint8_t *shard, uint32_t i)
{
	return (struct fbx__breaker_shard *)(void *)shard + i;
}
struct fbx__limiter_shard *fbx__lshard(const fbx_box *box, uint8_t *shard, uint32_t i);
static inline void fbx__count(const fbx_box *box, _Atomic uint64_t *c)
{
	if (FBX__UNLIKELY(atomic_load_explicit(&box->atomic_counts, memory_order_relaxed)))
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	else
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
				      memory_order_relaxed);
}

/* registry.c: records of one kind, as an array of stride-sized slots */
struct fbx__records {
	uint8_t *base;
	size_t stride;
	uint32_t cap;
};
struct fbx__records fbx__breaker_records(fbx_box *box);
struct fbx__records fbx__limiter_records(fbx_box *box);
static inline struct fbx__rec_head *fbx__record(const struct fbx__records *rs, uint32_t i)
{
	return (struct fbx__rec_head *)(void *)(rs->base + rs->stride * i);
}
/* Index of the LIVE record called name, or -1.  Takes no lock. */
int fbx__record_find(const struct fbx__records *rs, const char *name);
/* Under the registry lock: a FREE slot moved to INIT and named, or FBX_EFULL.
 * The caller fills the body, then publishes it with fbx__record_publish(). */
int fbx__record_claim(const struct fbx__records *rs, const char *name);
void fbx__record_publish(const struct fbx__records *rs, uint32_t i);
/* fork handlers: a child closes the registry locks it inherited */
void fbx__registry_atfork_prepare(void);
void fbx__registry_atfork_parent(void);
void fbx__registry_atfork_child(void);
/* Returns a token (>= 0) for fbx__registry_unlock, or an FBX_E code. */
int fbx__registry_lock(fbx_box *box);
void fbx__registry_unlock(int token);
int fbx__name_copy(char dst[FBX_NAME_MAX], const char *src);

/* events.c */
uint64_t fbx__event_check(uint64_t seq, const uint64_t w[FBX__EV_WORDS]);
uint64_t fbx__real_now(void);
/* Writes event seq into its slot; exposed for tests of stalled writers. */
void fbx__event_write(fbx_box *box, uint64_t seq, const uint64_t w[FBX__EV_WORDS]);
void fbx__event_emit(fbx_box *box, fbx_event_kind kind, fbx_event_cause cause,
		     fbx_record_type rtype, uint32_t record, int from, int to,
		     const char *reason);

/* keyhash.h: fbx__keyhash(), inline for the limiter hot path */

/* breaker_window.c */
void fbx__window_record(fbx_breaker *b, uint8_t *shard, bool failure, bool slow,
			uint64_t now);
void fbx__window_figures(fbx_box *box, const struct fbx__breaker_rec *rec,
			 const fbx_breaker_config *cfg, uint64_t now,
			 uint64_t *calls, uint64_t *fails, uint64_t *slow);
void fbx__window_floor_raise(const fbx_breaker *b, uint64_t now);

/* breaker.c */
bool fbx__breaker_transition(fbx_breaker *b, uint64_t from, uint32_t to,
			     uint64_t now, fbx_event_cause cause);
uint64_t fbx__open_period_ns(const fbx_breaker_config *cfg, uint32_t streak);
uint64_t fbx__gen_count_add(_Atomic uint64_t *c, uint32_t gen);
void fbx__gen_retag(_Atomic uint64_t *c, uint32_t gen);

/* keytable.c: published keys per limiter index, for n limiters */
void fbx__keys_count(const fbx_box *box, uint64_t *per_limiter, uint32_t n);

/* topkeys.c */
void fbx__top_note(fbx_limiter *l, const void *key, size_t keylen);
void fbx__top_read(const struct fbx__limiter_rec *rec, fbx_limiter_info *li);

/* limiter.c */
int fbx__limiter_cfg_build(uint32_t algorithm, uint32_t burst, const char *rule,
			   struct fbx__limiter_cfg *out);
/* Whether a config read from the segment is one the hot path can use. */
bool fbx__limiter_cfg_sane(const struct fbx__limiter_cfg *c, uint32_t algorithm);
/* A whole copy of the rule in force (a seqlock read of 8-byte atomic
 * words): 0, or FBX_ETIMEDOUT when rule changes kept landing. */
int fbx__limiter_cfg_copy(const struct fbx__limiter_rec *rec, struct fbx__limiter_cfg *out,
			  uint64_t *active);

#endif /* FBX_INTERNAL_H */
