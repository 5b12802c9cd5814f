/*
 * bulkhead.c — a cap on calls in flight to one upstream, across every
 * worker (resilience4j's bulkhead, Envoy's max_requests).
 *
 * The bulkhead is cap places, each holding the owner word (pid and start
 * time, R7) of the process that holds it.  Acquire takes a free place with
 * one CAS, starting where the last search ended; release gives back the
 * place its permit names, and only if this process still holds it.  A
 * process killed while holding places cannot give them back: the next
 * acquire that finds every place held looks at the holders, and takes
 * over a place whose process is gone (R8: only when it is known gone).  A
 * count kept beside the places would drift after a kill, as uWSGI's and
 * raindrops' counters do; the places are the count.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static fbx_bulkhead *handle_for(fbx_box *box, uint32_t i)
{
	struct fbx__bulkhead_rec *r = &box->bulkheads[i];
	uint32_t cap = r->cap;
	if (cap == 0 || cap > FBX_BULKHEAD_MAX)
		return NULL; /* a damaged record: FBX_ECORRUPT for the caller */
	pthread_mutex_lock(&box->lock);
	fbx_bulkhead *h = box->bulkhead_list;
	while (h != NULL && h->rec != r)
		h = h->next;
	if (h == NULL && (h = calloc(1, sizeof(*h))) != NULL) {
		h->box = box;
		h->rec = r;
		h->cap = cap;
		h->next = box->bulkhead_list;
		box->bulkhead_list = h;
	}
	pthread_mutex_unlock(&box->lock);
	return h;
}

int fbx_bulkhead_register(fbx_box *box, const char *name, uint32_t cap, fbx_bulkhead **out)
{
	if (box == NULL || out == NULL || cap == 0 || cap > FBX_BULKHEAD_MAX)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc == 0 && box->read_only)
		rc = FBX_ERDONLY;
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	int lock = fbx__registry_lock(box);
	if (lock < 0)
		return lock;
	struct fbx__records rs = fbx__bulkhead_records(box);
	int i = fbx__record_find(&rs, name);
	if (i >= 0) {
		if (box->bulkheads[i].cap != cap)
			i = FBX_ECONFLICT;
	} else if ((i = fbx__record_claim(&rs, name)) >= 0) {
		struct fbx__bulkhead_rec *r = &box->bulkheads[i];
		r->cap = cap;
		atomic_store(&r->next, 0);
		atomic_store(&r->in_use, 0);
		atomic_store(&r->refused, 0);
		atomic_store(&r->reclaimed, 0);
		atomic_store(&r->peak, 0);
		for (uint32_t k = 0; k < FBX_BULKHEAD_MAX; k++)
			atomic_store(&r->place[k], 0);
		fbx__record_publish(&rs, (uint32_t)i);
	}
	fbx__registry_unlock(lock);
	if (i < 0)
		return i;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT;
}

int fbx_bulkhead_find(fbx_box *box, const char *name, fbx_bulkhead **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	struct fbx__records rs = fbx__bulkhead_records(box);
	int i = fbx__record_lookup(box, &rs, name);
	if (i < 0)
		return i;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT;
}

static uint32_t held(const struct fbx__bulkhead_rec *r, uint32_t cap)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < cap; k++)
		n += atomic_load_explicit(&r->place[k], memory_order_relaxed) != 0;
	return n;
}

static void raise_peak(struct fbx__bulkhead_rec *r, uint64_t n)
{
	uint64_t p = atomic_load_explicit(&r->peak, memory_order_relaxed);
	while (p < n && !atomic_compare_exchange_weak(&r->peak, &p, n))
		;
}

/* One pass over the places from where the last search ended: a free one,
 * then (reclaim) one whose holder is gone.  -1 when every place is held. */
static int32_t take_place(fbx_bulkhead *h, uint64_t me, bool reclaim)
{
	struct fbx__bulkhead_rec *r = h->rec;
	uint32_t start = (uint32_t)(atomic_load_explicit(&r->next, memory_order_relaxed) % h->cap);
	for (uint32_t k = 0; k < h->cap; k++) {
		uint32_t i = (start + k) % h->cap;
		uint64_t w = atomic_load_explicit(&r->place[i], memory_order_relaxed);
		if (w != 0 && (!reclaim || w == me || fbx__owner_alive(w)))
			continue;
		if (atomic_compare_exchange_strong(&r->place[i], &w, me)) {
			if (i != start)
				atomic_store_explicit(&r->next, i + 1, memory_order_relaxed);
			if (reclaim && w != 0) {
				/* its holder will never release it */
				atomic_fetch_add(&r->reclaimed, 1);
				atomic_fetch_sub(&r->in_use, 1);
			}
			return (int32_t)i;
		}
	}
	return -1;
}

int fbx_bulkhead_acquire(fbx_bulkhead *h, uint64_t wait_ns, fbx_bulkhead_permit *p)
{
	if (FBX__UNLIKELY(h == NULL || p == NULL))
		return FBX_EINVAL;
	if (FBX__UNLIKELY(h->box->read_only))
		return FBX_ERDONLY;
	p->_slot = -1;
	p->_owner = 0;
	uint64_t me = fbx__identity(h->box);
	struct timespec t0, t;
	bool timed = false;
	for (;;) {
		int32_t i = take_place(h, me, false);
		if (i < 0)
			i = take_place(h, me, true); /* full: take back what the dead hold */
		if (i >= 0) {
			p->_slot = i;
			p->_owner = me;
			/* the peak from a count kept beside the places: a figure
			 * for readers only, never what decides */
			uint64_t n = atomic_fetch_add_explicit(&h->rec->in_use, 1,
							       memory_order_relaxed) + 1;
			raise_peak(h->rec, n < h->cap ? n : h->cap);
			return 0;
		}
		if (!timed) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			timed = true;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t waited = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u +
				  (uint64_t)t.tv_nsec - (uint64_t)t0.tv_nsec;
		if (waited >= wait_ns) {
			atomic_fetch_add_explicit(&h->rec->refused, 1, memory_order_relaxed);
			return FBX_EFULL;
		}
		struct timespec step = {0, 1000000}; /* 1 ms */
		nanosleep(&step, NULL);
	}
}

int fbx_bulkhead_release(fbx_bulkhead *h, fbx_bulkhead_permit *p)
{
	if (h == NULL || p == NULL || p->_slot < 0 || (uint32_t)p->_slot >= h->cap ||
	    p->_owner == 0)
		return FBX_EINVAL;
	uint64_t mine = p->_owner;
	/* held by someone else now: released before, or never ours */
	if (!atomic_compare_exchange_strong(&h->rec->place[p->_slot], &mine, 0))
		return FBX_EINVAL;
	atomic_fetch_sub_explicit(&h->rec->in_use, 1, memory_order_relaxed);
	p->_slot = -1;
	p->_owner = 0;
	return 0;
}

int fbx__bulkhead_read(const fbx_box *box, uint32_t i, fbx_bulkhead_info *out)
{
	const struct fbx__bulkhead_rec *r = &box->bulkheads[i];
	memset(out, 0, sizeof(*out));
	if (atomic_load_explicit(&r->head.live, memory_order_acquire) != FBX__REC_LIVE)
		return 0;
	memcpy(out->name, r->head.name, FBX_NAME_MAX);
	out->name[FBX_NAME_MAX - 1] = '\0';
	uint32_t cap = r->cap;
	if (fbx_name_check_record(out->name) != 0 || cap == 0 || cap > FBX_BULKHEAD_MAX) {
		out->corrupt = 1;
		snprintf(out->name, sizeof(out->name), "(damaged bulkhead %u)", i);
		return 1;
	}
	out->cap = cap;
	out->in_flight = held(r, cap);
	out->refused = atomic_load(&r->refused);
	out->reclaimed = atomic_load(&r->reclaimed);
	out->peak = atomic_load(&r->peak);
	if (out->peak > cap)
		out->peak = cap; /* a figure no acquire could have written */
	return 1;
}
