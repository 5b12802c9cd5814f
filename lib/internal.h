/*
 * internal.h — what the library's files share: the segment's layout
 * (segment.h), the process-local handles (handles.h), debug assertions
 * (debug.h), and the helpers one file offers the others.
 *
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
#include "segment.h"
#include "handles.h"
#include "debug.h"

#define FBX__LIKELY(x) __builtin_expect(!!(x), 1)
#define FBX__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- helpers shared between files --------------------------------------- */

/* layout.c */
struct fbx__layout {
	uint64_t off_breakers, off_rings, off_limiters, off_keys, off_log_keys, off_log_rings;
	uint64_t off_events, off_workers, off_shards, off_checks, off_budgets, off_bulkheads;
	uint64_t off_caches, off_cache_entries;
	uint64_t shard_stride, total;
	uint32_t key_buckets, log_key_buckets;
};
/* Rings of the log: one per entry of its key table, then one per limiter. */
static inline uint64_t fbx__log_rings(uint64_t log_key_buckets, uint64_t limiters)
{
	return log_key_buckets * FBX__KB_WAYS + limiters;
}
int fbx__layout_compute(const fbx_box_config *cfg, struct fbx__layout *lay);
uint64_t fbx__fingerprint(void);
/* Fills the handle's capacities and region pointers from what box.c has
 * validated (the header is not read again for them). */
void fbx__box_bind(fbx_box *box, const fbx_box_config *caps, const struct fbx__layout *lay);

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
/* Whether counter c lies in the shard of the worker slot this process
 * claimed (for assertions). */
static inline bool fbx__in_own_shard(const fbx_box *box, const _Atomic uint64_t *c)
{
	const uint8_t *s = atomic_load_explicit(&box->my_shard, memory_order_relaxed);
	const uint8_t *p = (const uint8_t *)(const void *)c;
	return atomic_load_explicit(&box->my_worker, memory_order_relaxed) >= 0 && s != NULL &&
	       p >= s && p + sizeof(*c) <= s + box->shard_stride;
}
static inline void fbx__count(const fbx_box *box, _Atomic uint64_t *c)
{
	if (FBX__UNLIKELY(atomic_load_explicit(&box->atomic_counts, memory_order_relaxed))) {
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	} else {
		/* R6: a plain add loses nothing only with one writer: this
		 * process, in the shard of its own worker slot */
		FBX_ASSERT(fbx__in_own_shard(box, c));
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
}

/* registry.c: records of one kind, as an array of stride-sized slots */
struct fbx__records {
	uint8_t *base;
	size_t stride;
	uint32_t cap;
};
struct fbx__records fbx__breaker_records(fbx_box *box);
struct fbx__records fbx__limiter_records(fbx_box *box);
struct fbx__records fbx__check_records(fbx_box *box);
struct fbx__records fbx__budget_records(fbx_box *box);
struct fbx__records fbx__bulkhead_records(fbx_box *box);
struct fbx__records fbx__cache_records(fbx_box *box);
static inline struct fbx__rec_head *fbx__record(const struct fbx__records *rs, uint32_t i)
{
	/* R1: callers go up to the validated capacity, never past it */
	FBX_ASSERT(i < rs->cap);
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
uint64_t fbx__window_record(fbx_breaker *b, uint8_t *shard, bool failure, bool slow,
			uint64_t now);
void fbx__window_figures(fbx_box *box, const struct fbx__breaker_rec *rec,
			 const fbx_breaker_config *cfg, uint64_t now,
			 uint64_t *calls, uint64_t *fails, uint64_t *slow);
void fbx__window_floor_raise(const fbx_breaker *b, uint64_t now);

/* breaker.c */
/* The last operator action's words (who, when, cause, reason) and the
 * check over them (breaker_manual.c writes, snapshot.c verifies). */
#define FBX__OP_WORDS (3 + FBX_REASON_MAX / 8)
static inline uint64_t fbx__op_check(const uint64_t w[FBX__OP_WORDS])
{
	uint64_t h = 0x6f70657261746f72ull; /* FNV-1a over the words */
	for (int i = 0; i < FBX__OP_WORDS; i++) {
		h ^= w[i];
		h *= 0x100000001b3ull;
	}
	return h | 1; /* never 0: 0 is "no action yet" */
}
/* Adds n to a time-bucket word (tag:32 | count:32, the tag the bucket's
 * index in time), as breaker windows and retry budgets keep them: a word
 * holding an older bucket is restarted by this add; one holding a newer
 * bucket means the caller's clock reading predates a stall, and the add is
 * left out (false) rather than wipe newer data.  "Newer" is judged on half
 * the 32-bit range: with buckets of at least 10 ms that misjudges only a
 * bucket idle for over 248 days. */
static inline bool fbx__bucket_add(_Atomic uint64_t *word, uint32_t tag, uint64_t n)
{
	uint64_t w = atomic_load_explicit(word, memory_order_relaxed), next;
	do {
		uint32_t have = (uint32_t)(w >> 32);
		if (have == tag && w != 0)
			next = w + n;
		else if (w == 0 || (int32_t)(tag - have) > 0)
			next = (uint64_t)tag << 32 | n;
		else
			return false;
	} while (!atomic_compare_exchange_weak_explicit(word, &w, next, memory_order_release,
							memory_order_relaxed));
	return true;
}

/* This process's owner word (pid and start time), read from /proc once per
 * handle and fork, not on every bulkhead acquire or cache put. */
static inline uint64_t fbx__identity(fbx_box *box)
{
	if (fbx__shard(box) != NULL && box->my_identity != 0)
		return box->my_identity;
	return fbx__self_identity();
}

/* turn.c: one writer at a time on a record any process may rewrite */
void fbx__turn_take(_Atomic uint64_t *busy, uint64_t me);
void fbx__turn_give(_Atomic uint64_t *busy, uint64_t me);
/* registry.c: the LIVE record called name (its index), after the name
 * and the box are checked; FBX_ENOENT when there is none. */
int fbx__record_lookup(fbx_box *box, const struct fbx__records *rs, const char *name);

/* limiter.c, for limiter_peek.c */
struct fbx__reading;
struct fbx__verdict;
const struct fbx__limiter_cfg *fbx__limiter_cfg_pin(fbx_limiter *l, uint32_t *pin, int *rc);
void fbx__limiter_cfg_unpin(fbx_limiter *l, uint32_t pin);
int fbx__breaker_read(fbx_box *box, uint32_t i, fbx_breaker_info *out);

/* workers.c, checks.c: what readers make of a worker slot or a check
 * record (1: there is one; 0: none), and the checks' words' check */
int fbx__role_check(const char *role);
int fbx__worker_read(const fbx_box *box, uint32_t i, uint64_t now_ms, fbx_worker_info *out);
int fbx__check_read(const fbx_box *box, uint32_t i, uint64_t now_ms, fbx_check_info *out);
int fbx__budget_read(const fbx_box *box, uint32_t i, uint64_t now, fbx_budget_info *out);
int fbx__bulkhead_read(const fbx_box *box, uint32_t i, fbx_bulkhead_info *out);
int fbx__cache_read(const fbx_box *box, uint32_t i, uint64_t now_ms, fbx_cache_info *out);
void fbx__health_of(const fbx_worker_info *w, size_t nw, const fbx_check_info *c, size_t nc,
		    uint64_t draining, uint64_t started, uint64_t now_ms, fbx_health *out);
/* Moves rec->since_ms forward to ms (never back). */
void fbx__breaker_since(struct fbx__breaker_rec *rec, uint64_t ms);
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
