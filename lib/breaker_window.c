/*
 * breaker_window.c — the window that failure and slow-call rates are
 * measured over.
 *
 * Time-based windows live in each process's shard: FBX_WINDOW_BUCKETS
 * buckets whose words carry their own bucket index (tag:32 | count:32), so
 * a stale bucket is recognised by its tag and restarted with one CAS — no
 * separate reset step that a kill could interrupt.  Readers add the shards.
 *
 * Count-based windows ("the last N calls") need one host-wide order of
 * calls, so each call takes a sequence number from a shared counter and
 * writes its outcome, tagged with that number, into a ring of N entries.
 * That shared counter is the price of count-based windows; time-based
 * windows keep done() free of shared writes.
 *
 * Every transition into CLOSED sets win_floor: data at or below it (bucket
 * index or sequence number) belongs to an earlier period and is ignored;
 * the floor only moves forward (docs/DESIGN.md R9).
 */
#include "internal.h"

static uint64_t floor_at(const fbx_breaker *b, uint64_t now)
{
	if (b->cfg.window_calls != 0)
		return atomic_load(&b->rec->ring_seq);
	return b->bucket_ns ? now / b->bucket_ns : 0;
}

/* The floor only moves forward: a caller whose clock reading predates a
 * stall must not bring back the data of an earlier period. */
void fbx__window_floor_raise(const fbx_breaker *b, uint64_t now)
{
	uint64_t want = floor_at(b, now), have = atomic_load(&b->rec->win_floor);
	while (have < want && !atomic_compare_exchange_weak(&b->rec->win_floor, &have, want))
		;
}

uint64_t fbx__window_record(fbx_breaker *b, uint8_t *shard, bool failure, bool slow,
			   uint64_t now)
{
	if (b->cfg.window_calls != 0) {
		uint64_t seq = atomic_fetch_add(&b->rec->ring_seq, 1);
		uint32_t v = (uint32_t)(seq & FBX__RING_SEQ_MASK) << 2 | (uint32_t)slow << 1 | failure;
		/* R1: the handle's config was checked, so the entry lies in this
		 * breaker's own ring; and it reads back as the call it records */
		FBX_ASSERT(b->cfg.window_calls <= FBX_WINDOW_CALLS_MAX);
		FBX_ASSERT((v >> 2) == (seq & FBX__RING_SEQ_MASK) && (v & 1) == failure &&
			   ((v >> 1) & 1) == slow);
		atomic_store_explicit(&b->ring[seq % b->cfg.window_calls], v,
				      memory_order_release);
		return seq;
	}
	uint64_t idx = now / b->bucket_ns;
	_Atomic uint64_t *bucket = fbx__bshard(shard, b->index)->bucket[idx % FBX_WINDOW_BUCKETS];
	uint32_t tag = (uint32_t)idx;
	fbx__bucket_add(&bucket[FBX__B_CALLS], tag, 1);
	if (failure)
		fbx__bucket_add(&bucket[FBX__B_FAIL], tag, 1);
	if (slow)
		fbx__bucket_add(&bucket[FBX__B_SLOW], tag, 1);
	return 0;
}

static void ring_figures(const struct fbx__breaker_rec *rec, const fbx__ring_slot *ring,
			 uint32_t n, uint64_t *calls, uint64_t *fails, uint64_t *slow)
{
	uint64_t end = atomic_load(&rec->ring_seq);
	uint64_t start = end > n ? end - n : 0, floor = atomic_load(&rec->win_floor);
	if (start < floor)
		start = floor;
	for (uint64_t s = start; s < end; s++) {
		uint32_t v = atomic_load_explicit(&ring[s % n], memory_order_acquire);
		if ((v >> 2) != (uint32_t)(s & FBX__RING_SEQ_MASK))
			continue; /* not written yet, or overwritten */
		(*calls)++;
		*fails += v & 1;
		*slow += (v >> 1) & 1;
	}
}

void fbx__window_figures(fbx_box *box, const struct fbx__breaker_rec *rec,
			 const fbx_breaker_config *cfg, uint64_t now,
			 uint64_t *calls, uint64_t *fails, uint64_t *slow)
{
	*calls = *fails = *slow = 0;
	uint32_t index = (uint32_t)(rec - box->breakers);
	if (cfg->window_calls != 0) {
		if (cfg->window_calls <= FBX_WINDOW_CALLS_MAX)
			ring_figures(rec, box->rings + (uint64_t)index * FBX_WINDOW_CALLS_MAX,
				     cfg->window_calls, calls, fails, slow);
		return;
	}
	uint64_t bucket_ns = cfg->window_ns / FBX_WINDOW_BUCKETS;
	if (bucket_ns == 0)
		return;
	uint64_t cur64 = now / bucket_ns, floor = atomic_load(&rec->win_floor);
	uint32_t cur = (uint32_t)cur64;
	uint32_t shards = atomic_load(&box->hdr->shards_hwm);
	if (shards > box->cap_workers + 1)
		shards = box->cap_workers + 1;
	uint64_t sum[FBX__B_N] = {0};
	for (uint32_t s = 0; s < shards; s++) {
		const struct fbx__breaker_shard *bs =
			fbx__bshard(box->shards + box->shard_stride * s, index);
		for (int j = 0; j < FBX_WINDOW_BUCKETS; j++) {
			/* A call adds to calls, then failures, then slow calls
			 * (release); read them the other way round (acquire), so
			 * no failure is seen without its call: a window of a
			 * failure threshold of 100% must never count more
			 * failures than calls. */
			for (int k = FBX__B_N - 1; k >= 0; k--) {
				uint64_t w = atomic_load_explicit(&bs->bucket[j][k],
								  memory_order_acquire);
				/* the bucket's full index, from its 32-bit tag */
				uint32_t age = cur - (uint32_t)(w >> 32);
				if (age < FBX_WINDOW_BUCKETS && cur64 - age > floor)
					sum[k] += (uint32_t)w;
			}
		}
	}
	*calls = sum[FBX__B_CALLS];
	/* a bucket restarting between the reads can still skew them */
	*fails = sum[FBX__B_FAIL] < *calls ? sum[FBX__B_FAIL] : *calls;
	*slow = sum[FBX__B_SLOW] < *calls ? sum[FBX__B_SLOW] : *calls;
}
