/*
 * mutex_bench.c — times the baseline of mutex_baseline.c the way the
 * fusebox figures are timed: breaker allow + done(success) in CLOSED, and
 * the limiter on one hot key, by one process and by two.
 */
#include <stdio.h>

#include "bench.h"
#include "mutex_baseline.h"

#define HOT_KEY "user:0000000042"
#define HOT_KEY_LEN 15

static uint64_t mb_breaker_loop(void *arg, uint64_t n)
{
	mb_box *b = arg;
	uint64_t admitted = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t gen;
		if (mb_breaker_allow(b, &gen) == 0) {
			mb_breaker_done(b, gen, 0);
			admitted++;
		}
	}
	return admitted;
}

static uint64_t mb_limiter_loop(void *arg, uint64_t n)
{
	mb_box *b = arg;
	uint64_t admitted = 0;
	for (uint64_t i = 0; i < n; i++)
		admitted += mb_limiter_take(b, HOT_KEY, HOT_KEY_LEN, 1) == 0;
	return admitted;
}

int bench_mutex_run(struct bench_mutex *out)
{
	mb_box *b = NULL;
	/* fail_max 5 and 60 s like fbx_breaker_config_init(); a limit that the
	 * hot key never reaches, as for fusebox's GCRA run */
	if (mb_create(5, 60ull * 1000000000u, 1ull << 50, 1000000000u, &b) != 0) {
		fprintf(stderr, "bench: cannot set up the mutex baseline\n");
		return -1;
	}
	bench_op brk = {.name = "mutex breaker", .run = mb_breaker_loop, .ctx = b};
	bench_op lim = {.name = "mutex limiter", .run = mb_limiter_loop, .ctx = b};
	out->brk_p1 = bench_measure(&brk, 1);
	out->brk_p2 = bench_measure(&brk, 2);
	out->lim_p1 = bench_measure(&lim, 1);
	out->lim_p2 = bench_measure(&lim, 2);
	mb_set_limit(b, 1000000);
	out->limw_p1 = bench_measure(&lim, 1);
	out->limw_p2 = bench_measure(&lim, 2);
	mb_destroy(b);
	return out->brk_p1.ok && out->brk_p2.ok && out->lim_p1.ok && out->lim_p2.ok ? 0 : -1;
}
