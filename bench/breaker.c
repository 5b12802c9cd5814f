/*
 * breaker.c — fusebox breaker, CLOSED state, default configuration:
 * fbx_breaker_allow() + fbx_breaker_done(FBX_SUCCESS, 0) per op, by one
 * process and by two forked processes sharing the breaker (each child
 * moves to its own counter shard on first use, as the library promises).
 */
#include <stdio.h>

#include "bench.h"

struct breaker_ctx {
	fbx_box *box;
	fbx_breaker *b;
};

static uint64_t breaker_loop(void *arg, uint64_t n)
{
	struct breaker_ctx *c = arg;
	uint64_t admitted = 0;
	for (uint64_t i = 0; i < n; i++) {
		fbx_permit p;
		if (fbx_breaker_allow(c->b, &p) == 0) {
			fbx_breaker_done(c->b, &p, FBX_SUCCESS, 0);
			admitted++;
		}
	}
	return admitted;
}

static void breaker_finish(void *arg, int forked)
{
	struct breaker_ctx *c = arg;
	if (forked)
		fbx_box_close(c->box); /* gives the child's worker slot back */
}

/* The breaker must still be CLOSED with nothing rejected. */
static int breaker_sane(fbx_box *box)
{
	fbx_snapshot *s = NULL;
	int rc = fbx_snapshot_new(box, &s);
	if (rc == 0)
		rc = fbx_snapshot_take(box, s);
	size_t n = 0;
	const fbx_breaker_info *bi = rc == 0 ? fbx_snapshot_breakers(s, &n) : NULL;
	if (bi == NULL || n < 1 || bi[0].state != FBX_CLOSED || bi[0].rejected != 0 ||
	    bi[0].successes == 0) {
		fprintf(stderr, "bench: breaker not in the expected state after the run\n");
		rc = -1;
	}
	fbx_snapshot_free(s);
	return rc;
}

int bench_breaker_run(struct bench_breaker *out)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	struct breaker_ctx ctx = {0};
	if (bench_box_create("brk", &bc, &ctx.box) != 0)
		return -1;
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	int rc = fbx_breaker_register(ctx.box, "bench.breaker", &cfg, &ctx.b);
	if (rc != 0) {
		fprintf(stderr, "bench: breaker register: %s\n", fbx_strerror(rc));
		bench_box_destroy(ctx.box);
		return -1;
	}
	bench_op op = {.name = "fusebox breaker", .run = breaker_loop,
		       .finish = breaker_finish, .ctx = &ctx};
	out->p1 = bench_measure(&op, 1);
	out->p2 = bench_measure(&op, 2);
	rc = breaker_sane(ctx.box);
	bench_box_destroy(ctx.box);
	return rc == 0 && out->p1.ok && out->p2.ok ? 0 : -1;
}
