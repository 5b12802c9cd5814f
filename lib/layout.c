/* layout.c — where each region of the segment lives, and what must match. */
#include <stddef.h>
#include <string.h>

#include "internal.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static bool within(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi;
}

/* Whether the regions follow one another in the order of FBX__REGIONS,
 * page-aligned, after the header and within the total. */
static inline bool regions_in_order(const struct fbx__layout *lay, uint64_t page)
{
	uint64_t at = sizeof(struct fbx__header);
	bool ok = true;
#define FOLLOWS(r)                                                  \
	ok = ok && lay->off_##r >= at && lay->off_##r % page == 0; \
	at = lay->off_##r;
	FBX__REGIONS(FOLLOWS)
#undef FOLLOWS
	return ok && at <= lay->total && lay->total % page == 0;
}

/*
 * Regions, each page-aligned: header, breaker records, count-window rings,
 * limiter records, key table, event ring, worker slots, counter shards
 * (one per worker plus the shared overflow shard 0), health checks.
 */
int fbx__layout_compute(const fbx_box_config *cfg, struct fbx__layout *lay)
{
#define CAP_OK(name, lo, hi) && within(cfg->name, lo, hi)
	if (!(true FBX__CAPACITIES(CAP_OK)))
		return FBX_EINVAL;
#undef CAP_OK

	/* With 25% headroom and two 8-way buckets per key, inserting into the
	 * emptier one evicts about 2 live keys in 10,000 at full capacity. */
	uint64_t want = ((uint64_t)cfg->keys * 5 / 4 + FBX__KB_WAYS - 1) / FBX__KB_WAYS;
	lay->key_buckets = want < 2 ? 2 : (uint32_t)want;
	/* The log's keys have a table of their own, sized the same way, and
	 * each entry of it (and each limiter) a ring of log_slots stamps. */
	if (cfg->log_slots != 0 && (cfg->log_slots < 2 || (cfg->log_slots & (cfg->log_slots - 1))))
		return FBX_EINVAL;
	want = ((uint64_t)cfg->log_keys * 5 / 4 + FBX__KB_WAYS - 1) / FBX__KB_WAYS;
	lay->log_key_buckets = cfg->log_keys == 0 || cfg->log_slots == 0 ? 0
			       : want < 2			     ? 2
								     : (uint32_t)want;

	uint64_t page = 4096, off = align_up(sizeof(struct fbx__header), page);
	lay->off_breakers = off;
	off = align_up(off + (uint64_t)cfg->breakers * sizeof(struct fbx__breaker_rec), page);
	lay->off_rings = off;
	off = align_up(off + (uint64_t)cfg->breakers * FBX_WINDOW_CALLS_MAX *
				     sizeof(fbx__ring_slot), page);
	lay->off_limiters = off;
	off = align_up(off + (uint64_t)cfg->limiters * sizeof(struct fbx__limiter_rec), page);
	lay->off_keys = off;
	off = align_up(off + (uint64_t)lay->key_buckets * sizeof(struct fbx__kbucket), page);
	lay->off_log_keys = off;
	off = align_up(off + (uint64_t)lay->log_key_buckets * sizeof(struct fbx__kbucket), page);
	lay->off_log_rings = off;
	off = align_up(off + fbx__log_rings(lay->log_key_buckets, cfg->limiters) *
				     cfg->log_slots * sizeof(uint64_t), page);
	lay->off_events = off;
	off = align_up(off + (uint64_t)cfg->events * sizeof(struct fbx__event_slot), page);
	lay->off_workers = off;
	off = align_up(off + (uint64_t)cfg->workers * sizeof(struct fbx__worker), page);
	lay->off_shards = off;
	lay->shard_stride = align_up((uint64_t)cfg->breakers * sizeof(struct fbx__breaker_shard) +
				     (uint64_t)cfg->limiters * sizeof(struct fbx__limiter_shard),
				     FBX__CACHELINE * 2);
	off = align_up(off + lay->shard_stride * ((uint64_t)cfg->workers + 1), page);
	lay->off_checks = off;
	off = align_up(off + (uint64_t)cfg->checks * FBX__CHECK_SIZE, page);
	lay->off_budgets = off;
	off = align_up(off + (uint64_t)cfg->budgets * sizeof(struct fbx__budget_rec), page);
	lay->off_bulkheads = off;
	off = align_up(off + (uint64_t)cfg->bulkheads * sizeof(struct fbx__bulkhead_rec), page);
	/* caches: slots a multiple of the ways, values whole words */
	if (cfg->caches != 0 &&
	    (cfg->cache_slots < FBX__CACHE_WAYS || cfg->cache_slots % FBX__CACHE_WAYS != 0 ||
	     cfg->cache_value_max < 8 || cfg->cache_value_max % 8 != 0))
		return FBX_EINVAL;
	lay->off_caches = off;
	off = align_up(off + (uint64_t)cfg->caches * sizeof(struct fbx__cache_rec), page);
	lay->off_cache_entries = off;
	off = align_up(off + (cfg->caches ? (uint64_t)cfg->caches * cfg->cache_slots *
						    FBX__CACHE_ENTRY_WORDS(cfg->cache_value_max) * 8
					  : 0),
		       page);
	lay->total = off;
	/* R1: offsets computed from capacities within their bounds place the
	 * regions one after another, none overlapping another or the header */
	FBX_ASSERT(regions_in_order(lay, page));
	return 0;
}

/* Sizes and offsets that two builds must agree on to share a segment. */
uint64_t fbx__fingerprint(void)
{
	const uint64_t parts[] = {
		sizeof(struct fbx__header), offsetof(struct fbx__header, ready),
		offsetof(struct fbx__header, registry), sizeof(pthread_mutex_t),
		sizeof(struct fbx__breaker_rec), offsetof(struct fbx__breaker_rec, state),
		offsetof(struct fbx__breaker_rec, lease), sizeof(fbx_breaker_config),
		sizeof(struct fbx__breaker_shard), sizeof(struct fbx__limiter_rec),
		offsetof(struct fbx__limiter_rec, global_state), sizeof(struct fbx__limiter_cfg),
		sizeof(struct fbx__limiter_shard), sizeof(struct fbx__kbucket), FBX__LOG_SLOTS_MAX,
		sizeof(struct fbx__budget_rec), sizeof(struct fbx__bulkhead_rec),
		sizeof(struct fbx__cache_rec), FBX_CACHE_KEY_MAX,
		sizeof(struct fbx__event_slot), sizeof(struct fbx__worker),
		FBX_NAME_MAX, FBX_RULE_LIMITS_MAX, FBX_WINDOW_BUCKETS, FBX_HALF_OPEN_MAX,
		FBX_WINDOW_CALLS_MAX, FBX__CHECK_SIZE,
	};
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the words */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		h ^= parts[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Binds the handle to the figures validate() checked, never to the header
 * read again: another process may rewrite the header at any moment, and
 * every bound of every loop and every region pointer comes from here.  The
 * secret and the creation time are read from the header: a scribble there
 * changes hashing and deadlines, never which memory is touched. */
void fbx__box_bind(fbx_box *box, const fbx_box_config *caps, const struct fbx__layout *lay)
{
	const struct fbx__header *h = box->hdr;
#define CAP_BIND(name, lo, hi) box->cap_##name = caps->name;
	FBX__CAPACITIES(CAP_BIND)
#undef CAP_BIND
	box->key_buckets = lay->key_buckets;
	box->log_key_buckets = lay->log_key_buckets;
	box->log_shift = caps->log_slots ? (uint32_t)__builtin_ctz(caps->log_slots) : 0;
	box->shard_stride = lay->shard_stride;
	box->secret[0] = h->secret[0];
	box->secret[1] = h->secret[1];
	box->created_ns = h->created_ns;
	/* R1: every region bound lies inside the mapping */
	FBX_ASSERT(lay->total <= box->size);
	box->breakers = (void *)(box->base + lay->off_breakers);
	box->rings = (void *)(box->base + lay->off_rings);
	box->limiters = (void *)(box->base + lay->off_limiters);
	box->keys = (void *)(box->base + lay->off_keys);
	box->log_keys = (void *)(box->base + lay->off_log_keys);
	box->log_rings = (void *)(box->base + lay->off_log_rings);
	box->events = (void *)(box->base + lay->off_events);
	box->workers = (void *)(box->base + lay->off_workers);
	box->shards = box->base + lay->off_shards;
	box->checks = box->base + lay->off_checks;
	box->budgets = (void *)(box->base + lay->off_budgets);
	box->bulkheads = (void *)(box->base + lay->off_bulkheads);
	box->caches = (void *)(box->base + lay->off_caches);
	box->cache_entries = (void *)(box->base + lay->off_cache_entries);
}

struct fbx__limiter_shard *fbx__lshard(const fbx_box *box, uint8_t *shard, uint32_t i)
{
	/* R1: callers index limiters below the validated capacity, so the
	 * counters lie inside the shard */
	FBX_ASSERT(i < box->cap_limiters);
	return (struct fbx__limiter_shard *)(void *)(shard + (uint64_t)box->cap_breakers *
							sizeof(struct fbx__breaker_shard)) + i;
}
