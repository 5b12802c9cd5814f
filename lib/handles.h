/*
 * handles.h — the process-local handles: what fbx_box, fbx_breaker and
 * fbx_limiter are behind the public header's opaque types.
 *
 * They live in each process's own memory and never in the segment, so they
 * may hold pointers and change freely between builds.  Their figures taken
 * from the segment (capacities, pointers to regions, configs) are copied
 * once, after validation, so the hot paths trust the copy and never a word
 * another process could rewrite (docs/DESIGN.md R10).
 */
#ifndef FBX_HANDLES_H
#define FBX_HANDLES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

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

struct fbx_budget {
	struct fbx_box *box;
	struct fbx__budget_rec *rec;
	fbx_budget_config cfg;   /* local copy, checked when found */
	uint64_t bucket_ns;
	struct fbx_budget *next;
};

struct fbx_bulkhead {
	struct fbx_box *box;
	struct fbx__bulkhead_rec *rec;
	uint32_t cap;            /* local copy, checked when found */
	struct fbx_bulkhead *next;
};

struct fbx_cache {
	struct fbx_box *box;
	struct fbx__cache_rec *rec;
	uint32_t index;
	uint64_t ttl_ms, stale_ms; /* local copies, checked when found */
	uint64_t hash_salt;
	struct fbx_cache *next;
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
	/* the capacities validated at open (FBX__CAPACITIES): every loop over
	 * records is bounded by these, never by a figure read later */
	uint32_t cap_breakers, cap_limiters, cap_keys, cap_events;
	uint32_t cap_workers, cap_checks, cap_log_keys, cap_log_slots;
	uint32_t cap_budgets, cap_bulkheads, cap_caches, cap_cache_slots, cap_cache_value_max;
	uint32_t key_buckets, log_key_buckets;
	uint32_t log_shift;          /* log_slots = 1 << log_shift (when not 0) */
	uint64_t shard_stride;
	uint64_t secret[2];
	uint64_t created_ns;
	struct fbx__breaker_rec *breakers;
	fbx__ring_slot *rings;
	struct fbx__limiter_rec *limiters;
	struct fbx__kbucket *keys;
	struct fbx__kbucket *log_keys;   /* the log's own key table */
	_Atomic uint64_t *log_rings;      /* fbx__log_rings() rings of log_slots */
	struct fbx__event_slot *events;
	struct fbx__worker *workers;
	uint8_t *shards;
	uint8_t *checks;             /* cap_checks records of FBX__CHECK_SIZE */
	struct fbx__budget_rec *budgets;
	struct fbx__bulkhead_rec *bulkheads;
	struct fbx__cache_rec *caches;
	_Atomic uint64_t *cache_entries;
	/* this process's shard; re-acquired when fork_gen moves */
	_Atomic(uint8_t *) my_shard;
	_Atomic uint64_t fork_gen;
	_Atomic int32_t my_worker;   /* -1: the shared overflow shard 0 */
	/* fork_gen when this process registered as a worker (0: it has not):
	 * a fork() child is not registered until it registers itself */
	_Atomic uint64_t my_registered;
	/* Counters take a locked add only when the shard may have two writers:
	 * the handle is shared by threads (FBX_OPEN_THREADS) or the process
	 * writes the overflow shard.  Otherwise one writer, a plain add. */
	_Atomic int atomic_counts;
	int threads;
	uint64_t my_owner;
	uint64_t my_identity;        /* this process's owner word, slot or none */
	pthread_mutex_t lock;        /* process-local: handle lists, shard claim */
	struct fbx_breaker *breaker_list;
	struct fbx_limiter *limiter_list;
	struct fbx_budget *budget_list;
	struct fbx_bulkhead *bulkhead_list;
	struct fbx_cache *cache_list;
};

#endif /* FBX_HANDLES_H */
