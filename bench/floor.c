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
	_Atomic uint64_t *page;
	int private_lines;   /* control: each process on a line of its own */
};

static int floor_setup(void *arg, int proc)
{
	struct floor_ctx *c = arg;
	c->counter = c->private_lines ? c->page + 16 * (proc + 1) : c->page;
	return 0;
}

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

/* A second control, bound by instruction throughput rather than by one
 * atomic's latency: eight independent chains of shifts and xors.  If the
 * two vCPUs share a physical core with other work (or with each other),
 * this is what slows down first. */
static uint64_t alu_loop(void *arg, uint64_t n)
{
	(void)arg;
	uint64_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	for (uint64_t i = 0; i < n; i++) {
		for (int k = 0; k < 8; k++) {
			x[k] ^= x[k] << 13;
			x[k] ^= x[k] >> 7;
		}
		__asm__ volatile("" : "+r"(x[0]), "+r"(x[1]), "+r"(x[2]), "+r"(x[3]),
				 "+r"(x[4]), "+r"(x[5]), "+r"(x[6]), "+r"(x[7]));
	}
	return (x[0] ^ x[1] ^ x[2] ^ x[3] ^ x[4] ^ x[5] ^ x[6] ^ x[7]) ? n : n;
}

int bench_floor_run(struct bench_floor *out)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -1;
	struct floor_ctx ctx = {.counter = page, .page = page};
	bench_op op = {.name = "floor fetch_add", .setup = floor_setup, .run = floor_loop,
		       .ctx = &ctx};
	out->p1 = bench_measure(&op, 1);
	out->p2 = bench_measure(&op, 2);
	/* The control for every 2-process row: nothing shared, so 2 processes
	 * should give twice the throughput of 1 unless the cores are busy. */
	ctx.private_lines = 1;
	out->private_p1 = bench_measure(&op, 1);
	out->private_p2 = bench_measure(&op, 2);
	bench_op alu = {.name = "control alu", .run = alu_loop};
	out->alu_p1 = bench_measure(&alu, 1);
	out->alu_p2 = bench_measure(&alu, 2);
	munmap(page, 4096);
	bench_op mono = {.name = "clock_gettime MONOTONIC", .run = mono_loop};
	bench_op coarse = {.name = "clock_gettime MONOTONIC_COARSE", .run = coarse_loop};
	out->clock_mono = bench_measure(&mono, 1);
	out->clock_coarse = bench_measure(&coarse, 1);
	return out->p1.ok && out->p2.ok ? 0 : -1;
}
