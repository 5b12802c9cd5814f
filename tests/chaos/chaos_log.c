/* chaos_log.c — see chaos_log.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "chaos.h"
#include "chaos_log.h"

#define CTL_BYTES 4096u

struct chaos_log *chaos_log_create(unsigned nregions, uint64_t cap)
{
	struct chaos_log *log = calloc(1, sizeof(*log));
	if (log == NULL)
		return NULL;
	log->nregions = nregions;
	log->cap = cap;
	log->region_bytes = (sizeof(struct chaos_region) + cap * sizeof(struct chaos_rec) + 4095) &
			    ~4095ull;
	log->size = CTL_BYTES + log->region_bytes * nregions;
	/* NORESERVE: pages are taken as records are written, and most runs
	 * write far fewer than the worst case the regions are sized for */
	void *p = mmap(NULL, log->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(log);
		return NULL;
	}
	log->base = p;
	log->ctl = p;
	return log;
}

void chaos_log_destroy(struct chaos_log *log)
{
	if (log == NULL)
		return;
	munmap(log->base, log->size);
	free(log);
}

struct chaos_region *chaos_log_region(const struct chaos_log *log, unsigned i)
{
	return (struct chaos_region *)(void *)(log->base + CTL_BYTES + log->region_bytes * i);
}

uint64_t chaos_log_count(const struct chaos_region *r)
{
	return atomic_load_explicit(&r->count, memory_order_acquire);
}

struct chaos_rec *chaos_rec_open(const struct chaos_log *log, struct chaos_region *r,
				 uint8_t op, uint8_t obj, uint16_t life)
{
	uint64_t n = atomic_load_explicit(&r->count, memory_order_relaxed);
	if (n >= log->cap)
		return NULL;
	struct chaos_rec *rec = &r->rec[n];
	/* A dead predecessor may have left a half-written record here with
	 * phase EMPTY (it died before STARTED): overwrite every field. */
	atomic_store_explicit(&rec->phase, PH_EMPTY, memory_order_relaxed);
	rec->t0 = rec->t1 = rec->val = 0;
	rec->arg32 = 0;
	rec->life = life;
	rec->gen = 0;
	rec->rc = 0;
	rec->op = op;
	rec->obj = obj;
	rec->arg = 0;
	rec->slot = -1;
	rec->flags = 0;
	return rec;
}

void chaos_rec_start(struct chaos_rec *rec)
{
	rec->t0 = chaos_now();
	atomic_store_explicit(&rec->phase, PH_STARTED, memory_order_release);
}

void chaos_rec_finish(struct chaos_rec *rec, int rc)
{
	rec->t1 = chaos_now();
	rec->rc = (int16_t)rc;
}

void chaos_rec_publish(struct chaos_region *r, struct chaos_rec *rec)
{
	atomic_store_explicit(&rec->phase, PH_COMPLETE, memory_order_release);
	atomic_fetch_add_explicit(&r->count, 1, memory_order_release);
}

void chaos_rec_aggregated(struct chaos_rec *rec)
{
	atomic_store_explicit(&rec->phase, PH_AGGREGATED, memory_order_release);
}

void chaos_agg_add(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

int chaos_log_settle(const struct chaos_log *log, struct chaos_region *r, uint16_t life)
{
	uint64_t n = atomic_load(&r->count);
	if (n >= log->cap)
		return PH_EMPTY;
	struct chaos_rec *rec = &r->rec[n];
	int ph = atomic_load(&rec->phase);
	if (rec->life != life || (ph != PH_STARTED && ph != PH_COMPLETE))
		return PH_EMPTY; /* between calls, or before STARTED, or AGGREGATED */
	if (ph == PH_STARTED)
		atomic_store(&rec->phase, PH_KILLED);
	atomic_store(&r->count, n + 1);
	return ph;
}
