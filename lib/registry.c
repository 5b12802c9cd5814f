/*
 * registry.c — the one lock of the box, taken only to create records.
 *
 * A process-shared robust mutex: when its holder dies, the next locker gets
 * EOWNERDEAD and must repair before marking it consistent (LMDB does this;
 * uWSGI and PHP-FPM did not and froze).  The only state a dead holder can
 * leave behind is a record still in INIT, so repair wipes those.
 *
 * Breaker and limiter records share their head (state, index, name), so
 * finding, claiming and publishing them is written once, here.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define REGISTRY_TIMEOUT_S 5

struct fbx__records fbx__breaker_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->breakers, sizeof(struct fbx__breaker_rec),
				     box->cap_breakers, &box->hdr->n_breakers};
}

struct fbx__records fbx__limiter_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->limiters, sizeof(struct fbx__limiter_rec),
				     box->cap_limiters, &box->hdr->n_limiters};
}

int fbx__record_find(const struct fbx__records *rs, const char *name)
{
	uint32_t n = atomic_load(rs->hwm);
	if (n > rs->cap)
		n = rs->cap; /* the mark is in the segment: never trust it past cap */
	for (uint32_t i = 0; i < n; i++) {
		struct fbx__rec_head *r = fbx__record(rs, i);
		if (atomic_load_explicit(&r->live, memory_order_acquire) == FBX__REC_LIVE &&
		    strncmp(r->name, name, FBX_NAME_MAX) == 0)
			return (int)i;
	}
	return -1;
}

int fbx__record_claim(const struct fbx__records *rs, const char *name)
{
	for (uint32_t i = 0; i < rs->cap; i++) {
		struct fbx__rec_head *r = fbx__record(rs, i);
		if (atomic_load(&r->live) != FBX__REC_FREE)
			continue;
		atomic_store(&r->live, FBX__REC_INIT);
		fbx__name_copy(r->name, name);
		return (int)i;
	}
	return FBX_EFULL;
}

/* The mark goes up before the record goes LIVE: a registrar killed in
 * between leaves an INIT record under the mark, which repair wipes — never
 * a LIVE one above it that finders would miss and register twice. */
void fbx__record_publish(const struct fbx__records *rs, uint32_t i)
{
	if (atomic_load(rs->hwm) < i + 1)
		atomic_store(rs->hwm, i + 1);
	atomic_store_explicit(&fbx__record(rs, i)->live, FBX__REC_LIVE, memory_order_release);
}

/* The only state a dead registrar can leave behind: records still in INIT. */
static void wipe_unfinished(const struct fbx__records *rs)
{
	for (uint32_t i = 0; i < rs->cap; i++) {
		struct fbx__rec_head *r = fbx__record(rs, i);
		if (atomic_load(&r->live) == FBX__REC_INIT) {
			memset((void *)r, 0, rs->stride);
			r->index = i;
		}
	}
}

int fbx__registry_lock(fbx_box *box)
{
	if (box->read_only)
		return FBX_ERDONLY;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += REGISTRY_TIMEOUT_S;
	int rc = pthread_mutex_timedlock(&box->hdr->registry, &ts);
	if (rc == EOWNERDEAD) {
		struct fbx__records b = fbx__breaker_records(box), l = fbx__limiter_records(box);
		wipe_unfinished(&b);
		wipe_unfinished(&l);
		pthread_mutex_consistent(&box->hdr->registry);
		return 0;
	}
	if (rc == 0)
		return 0;
	if (rc == ETIMEDOUT)
		return FBX_ETIMEDOUT;
	return rc == ENOTRECOVERABLE ? FBX_ECORRUPT : FBX_ESYS;
}

void fbx__registry_unlock(fbx_box *box)
{
	pthread_mutex_unlock(&box->hdr->registry);
}
