/* layout.c — where each region of the segment lives, and what must match. */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define CAP_MAX_RECORDS 65536u
#define CAP_MAX_KEYS (64u << 20)
#define CAP_MAX_EVENTS (1u << 20)
#define CAP_MAX_WORKERS 4096u

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Regions, each page-aligned: header, breaker records, count-window rings,
 * limiter records, key table, event ring, worker slots, counter shards
 * (one per worker plus the shared overflow shard 0), health checks.
 */
int fbx__layout_compute(const fbx_box_config *cfg, struct fbx__layout *lay)
{
	if (cfg->breakers == 0 || cfg->breakers > CAP_MAX_RECORDS ||
	    cfg->limiters == 0 || cfg->limiters > FBX__LIMITERS_MAX ||
	    cfg->keys == 0 || cfg->keys > CAP_MAX_KEYS || cfg->events < 16 ||
	    cfg->events > CAP_MAX_EVENTS || cfg->workers == 0 ||
	    cfg->workers > CAP_MAX_WORKERS || cfg->checks > CAP_MAX_RECORDS)
		return FBX_EINVAL;

	/* With 25% headroom and two 8-way buckets per key, inserting into the
	 * emptier one evicts about 2 live keys in 10,000 at full capacity. */
	uint64_t want = ((uint64_t)cfg->keys * 5 / 4 + FBX__KB_WAYS - 1) / FBX__KB_WAYS;
	lay->key_buckets = want < 2 ? 2 : (uint32_t)want;

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
	lay->total = off;
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
		sizeof(struct fbx__limiter_shard), sizeof(struct fbx__kbucket),
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

void fbx__box_bind(fbx_box *box)
{
	struct fbx__header *h = box->hdr;
	box->cap_breakers = h->cap_breakers;
	box->cap_limiters = h->cap_limiters;
	box->cap_keys = h->cap_keys;
	box->cap_events = h->cap_events;
	box->cap_workers = h->cap_workers;
	box->cap_checks = h->cap_checks;
	box->key_buckets = h->key_buckets;
	box->shard_stride = h->shard_stride;
	box->secret[0] = h->secret[0];
	box->secret[1] = h->secret[1];
	box->created_ns = h->created_ns;
	box->breakers = (void *)(box->base + h->off_breakers);
	box->rings = (void *)(box->base + h->off_rings);
	box->limiters = (void *)(box->base + h->off_limiters);
	box->keys = (void *)(box->base + h->off_keys);
	box->events = (void *)(box->base + h->off_events);
	box->workers = (void *)(box->base + h->off_workers);
	box->shards = box->base + h->off_shards;
}

struct fbx__limiter_shard *fbx__lshard(const fbx_box *box, uint8_t *shard, uint32_t i)
{
	return (struct fbx__limiter_shard *)(void *)(shard + (uint64_t)box->cap_breakers *
							sizeof(struct fbx__breaker_shard)) + i;
}
