/*
 * workers.c — what a worker's hot path costs: fbx_worker_heartbeat() and a
 * request's fbx_request_begin() + fbx_request_end(), each a store or an
 * add on the process's own slot, next to the fetch_add floor.  Two
 * processes write two slots: they should scale like private lines.
 */
#include <stdio.h>

#include "bench.h"

struct workers_ctx {
	fbx_box *box;
};

static int workers_setup(void *arg, int proc)
{
	(void)proc;
	struct workers_ctx *c = arg;
	/* a forked timing process has a slot of its own, unregistered */
	int rc = fbx_worker_register(c->box, "bench", 60ull * 1000000000u);
	if (rc)
		fprintf(stderr, "bench: worker register: %s\n", fbx_strerror(rc));
	return rc ? -1 : 0;
}

static uint64_t heartbeat_loop(void *arg, uint64_t n)
{
	struct workers_ctx *c = arg;
	for (uint64_t i = 0; i < n; i++)
		fbx_worker_heartbeat(c->box);
	return n;
}

static uint64_t request_loop(void *arg, uint64_t n)
{
	struct workers_ctx *c = arg;
	for (uint64_t i = 0; i < n; i++) {
		fbx_request_begin(c->box);
		fbx_request_end(c->box);
	}
	return n;
}

static void workers_finish(void *arg, int forked)
{
	struct workers_ctx *c = arg;
	if (forked)
		fbx_box_close(c->box);
}

int bench_workers_run(struct bench_workers *out)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	struct workers_ctx ctx = {0};
	if (bench_box_create("wrk", &bc, &ctx.box) != 0)
		return -1;
	bench_op hb = {.name = "worker heartbeat", .setup = workers_setup, .run = heartbeat_loop,
		       .finish = workers_finish, .ctx = &ctx};
	bench_op rq = {.name = "worker request begin+end", .setup = workers_setup,
		       .run = request_loop, .finish = workers_finish, .ctx = &ctx};
	out->heartbeat_p1 = bench_measure(&hb, 1);
	out->heartbeat_p2 = bench_measure(&hb, 2);
	out->request_p1 = bench_measure(&rq, 1);
	out->request_p2 = bench_measure(&rq, 2);
	bench_box_destroy(ctx.box);
	return out->heartbeat_p1.ok && out->request_p1.ok ? 0 : -1;
}
