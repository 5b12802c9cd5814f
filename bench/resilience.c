/*
 * resilience.c — the hot operations of retries, bulkheads and fallbacks:
 * a retry budget's deposit and withdraw, a bulkhead's acquire + release,
 * a cache's get and put of a small value, next to the fetch_add floor.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct res_ctx {
	fbx_box *box;
	fbx_budget *budget;
	fbx_bulkhead *bulkhead;
	fbx_cache *cache;
};

static uint64_t deposit_loop(void *arg, uint64_t n)
{
	struct res_ctx *c = arg;
	for (uint64_t i = 0; i < n; i++)
		fbx_budget_deposit(c->budget);
	return n;
}

static uint64_t withdraw_loop(void *arg, uint64_t n)
{
	struct res_ctx *c = arg;
	uint64_t ok = 0;
	for (uint64_t i = 0; i < n; i++)
		ok += fbx_budget_withdraw(c->budget) == 0;
	return ok;
}

static uint64_t bulkhead_loop(void *arg, uint64_t n)
{
	struct res_ctx *c = arg;
	uint64_t ok = 0;
	for (uint64_t i = 0; i < n; i++) {
		fbx_bulkhead_permit p;
		if (fbx_bulkhead_acquire(c->bulkhead, 0, &p) == 0) {
			fbx_bulkhead_release(c->bulkhead, &p);
			ok++;
		}
	}
	return ok;
}

static const char value[64] = "a small cached value, as an embedding id or a price";

static uint64_t put_loop(void *arg, uint64_t n)
{
	struct res_ctx *c = arg;
	for (uint64_t i = 0; i < n; i++)
		fbx_cache_put(c->cache, "key-1", 5, value, sizeof(value));
	return n;
}

static uint64_t get_loop(void *arg, uint64_t n)
{
	struct res_ctx *c = arg;
	char buf[64];
	uint64_t ok = 0;
	for (uint64_t i = 0; i < n; i++) {
		fbx_cache_hit hit;
		ok += fbx_cache_get(c->cache, "key-1", 5, buf, sizeof(buf), &hit) == 0;
	}
	return ok;
}

static void res_finish(void *arg, int forked)
{
	struct res_ctx *c = arg;
	if (forked)
		fbx_box_close(c->box);
}

int bench_resilience_run(struct bench_resilience *out)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	struct res_ctx ctx = {0};
	if (bench_box_create("res", &bc, &ctx.box) != 0)
		return -1;
	fbx_budget_config gc;
	fbx_budget_config_init(&gc);
	gc.percent = 100;
	int rc = fbx_budget_register(ctx.box, "bench.budget", &gc, &ctx.budget);
	if (rc == 0)
		rc = fbx_bulkhead_register(ctx.box, "bench.bulkhead", 64, &ctx.bulkhead);
	if (rc == 0)
		rc = fbx_cache_register(ctx.box, "bench.cache", 3600ull * 1000000000u, 0, &ctx.cache);
	if (rc == 0)
		rc = fbx_cache_put(ctx.cache, "key-1", 5, value, sizeof(value));
	if (rc != 0) {
		fprintf(stderr, "bench: resilience setup: %s\n", fbx_strerror(rc));
		bench_box_destroy(ctx.box);
		return -1;
	}
	bench_op dep = {.name = "budget deposit", .run = deposit_loop, .finish = res_finish,
			.ctx = &ctx};
	bench_op wd = {.name = "budget withdraw", .run = withdraw_loop, .finish = res_finish,
		       .ctx = &ctx};
	bench_op bh = {.name = "bulkhead acquire+release", .run = bulkhead_loop,
		       .finish = res_finish, .ctx = &ctx};
	bench_op put = {.name = "cache put", .run = put_loop, .finish = res_finish, .ctx = &ctx};
	bench_op get = {.name = "cache get", .run = get_loop, .finish = res_finish, .ctx = &ctx};
	out->deposit = bench_measure(&dep, 1);
	out->withdraw = bench_measure(&wd, 1);
	out->bulkhead_p1 = bench_measure(&bh, 1);
	out->bulkhead_p2 = bench_measure(&bh, 2);
	out->put = bench_measure(&put, 1);
	out->get_p1 = bench_measure(&get, 1);
	out->get_p2 = bench_measure(&get, 2);
	bench_box_destroy(ctx.box);
	return out->deposit.ok && out->bulkhead_p1.ok && out->get_p1.ok ? 0 : -1;
}
