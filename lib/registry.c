/*
 * registry.c — the one lock of the box, taken only to create records.
 *
 * A process-shared robust mutex: when its holder dies, the next locker gets
 * EOWNERDEAD and must repair before marking it consistent (LMDB does this;
 * uWSGI and PHP-FPM did not and froze).  The only state a dead holder can
 * leave behind is a record still in INIT, so repair wipes those.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define REGISTRY_TIMEOUT_S 5

static void wipe_unfinished(fbx_box *box)
{
	for (uint32_t i = 0; i < box->cap_breakers; i++) {
		struct fbx__breaker_rec *r = &box->breakers[i];
		if (atomic_load(&r->live) == FBX__REC_INIT) {
			memset((void *)r, 0, sizeof(*r));
			r->index = i;
		}
	}
	for (uint32_t i = 0; i < box->cap_limiters; i++) {
		struct fbx__limiter_rec *r = &box->limiters[i];
		if (atomic_load(&r->live) == FBX__REC_INIT) {
			memset((void *)r, 0, sizeof(*r));
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
		wipe_unfinished(box);
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
