/*
 * floor.c — the floor: one atomic fetch_add on a MAP_SHARED page, by one
 * process, then by two processes on the same counter (same cache line).
 * Nothing shared between processes can be cheaper than this.
 */
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"

struct floor_ctx {
	_Atomic uint64_t *counter;
};

static uint64_t floor_loop(void *arg, uint64_t n)
{
	struct floor_ctx *c = arg;
	for (uint64_t i = 0; i < n; i++)
		atomic_fetch_add_explicit(c->counter, 1, memory_order_relaxed);
	return n;
}

static uint64_t clock_loop(clockid_t id, uint64_t n)
{
	uint64_t sum = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct timespec ts;
		clock_gettime(id, &ts);
		sum += (uint64_t)ts.tv_nsec;
	}
	return sum ? n : n; /* the sum keeps the calls; the count is what matters */
}

static uint64_t mono_loop(void *arg, uint64_t n)
{
	(void)arg;
	return clock_loop(CLOCK_MONOTONIC, n);
}

static uint64_t coarse_loop(void *arg, uint64_t n)
{
	(void)arg;
	return clock_loop(CLOCK_MONOTONIC_COARSE, n);
}

int bench_floor_run(struct bench_floor *out)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -1;
	struct floor_ctx ctx = {.counter = page};
	bench_op op = {.name = "floor fetch_add", .run = floor_loop, .ctx = &ctx};
	out->p1 = bench_measure(&op, 1);
	out->p2 = bench_measure(&op, 2);
	munmap(page, 4096);
	bench_op mono = {.name = "clock_gettime MONOTONIC", .run = mono_loop};
	bench_op coarse = {.name = "clock_gettime MONOTONIC_COARSE", .run = coarse_loop};
	out->clock_mono = bench_measure(&mono, 1);
	out->clock_coarse = bench_measure(&coarse, 1);
	return out->p1.ok && out->p2.ok ? 0 : -1;
}
