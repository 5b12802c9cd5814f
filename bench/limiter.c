/*
 * limiter.c — fusebox fbx_limiter_take() on one hot key and on random keys
 * out of 1k, 100k and 1M (each in a box whose key capacity is the key
 * count), and what a key's decision state costs in bytes.  The exact log
 * (FBX_ALGO_LOG) is timed on a hot key and on 100k keys, in a box whose log
 * holds 131072 keys of 16 slots, so none of them is evicted.
 *
 * Keys are "user:NNNNNNNNNN" (15 bytes), generated before any timing into
 * a flat array with a 16-byte stride; a timed op picks one with xorshift.
 * Every key is taken once before timing, so the timed ops look keys up
 * rather than insert them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define KEY_STRIDE 16
#define KEY_LEN 15
#define WINDOW_RULE "1000000/second"  /* random keys: each sees a few takes a second */
/* The hot key: the largest window count; a fresh key each timed round (see
 * hot_loop) keeps one round of either process count under it. */
#define HOT_RULE "16000000/second"
#define GCRA_RULE "1000000000/second"   /* emission interval 1 ns ... */
#define GCRA_BURST 1000000u             /* ... and 1 ms of tolerance: never denies,
					   even when two processes' clock readings
					   race (with burst 1 about 2% did) */
/* The log stamps every admitted unit, so its counts are bounded by the
 * ring (log_slots - 1): a hot key taken millions of times a second is over
 * any such limit and the row times what an abusive client costs, a denial.
 * The stepping clock below moves one emission interval per reading, which
 * admits every take: that row shows the admit path. */
#define HOT_LOG_RULE "100/second"
#define HOT_LOG_STEP_NS 10000000ull
/* 100k keys of the log: a rule a per-user API limit could have; taken
 * ~100 times a second each, most of the takes are denials here too. */
#define KEYS_LOG_RULE "10/second"
#define KEYS_LOG_SLOTS 16u
#define KEYS_LOG_CAP 131072u

struct keys {
	char *bytes;
	uint32_t n;
};

struct lim_ctx {
	fbx_box *box;
	fbx_limiter *l;
	const struct keys *keys;
	uint32_t hot;          /* index of the hot key */
	_Atomic uint32_t *round; /* shared: which hot key this round uses */
	int proc;
	uint64_t rng;
	uint64_t sink;         /* overhead loop: keeps the key reads alive */
};

static int keys_make(struct keys *k, uint32_t n)
{
	k->n = n;
	k->bytes = malloc((size_t)n * KEY_STRIDE);
	if (k->bytes == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		snprintf(k->bytes + (size_t)i * KEY_STRIDE, KEY_STRIDE, "user:%010u",
			 i * 2654435761u);
	return 0;
}

static const char *key_at(const struct keys *k, uint32_t i)
{
	return k->bytes + (size_t)i * KEY_STRIDE;
}

static int lim_setup(void *arg, int proc)
{
	struct lim_ctx *c = arg;
	c->proc = proc;
	c->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)getpid() << 20) ^ (uint64_t)(proc + 1);
	return 0;
}

static void lim_finish(void *arg, int forked)
{
	struct lim_ctx *c = arg;
	if (forked)
		fbx_box_close(c->box);
}

/* One key for every process of a round, a new one each round, so a round
 * starts from a whole budget: this times the admit path.  Process 0 moves
 * the round on when its timed loop ends; the others read it after the go
 * flag, which process 0 only waits for once its warm-up has moved it. */
static uint64_t hot_loop(void *arg, uint64_t n)
{
	struct lim_ctx *c = arg;
	uint32_t round = c->round ? atomic_load(c->round) : 0;
	const char *key = key_at(c->keys, (c->hot + round) % c->keys->n);
	uint64_t admitted = 0;
	for (uint64_t i = 0; i < n; i++) {
		fbx_limit_result r;
		admitted += fbx_limiter_take(c->l, key, KEY_LEN, 1, &r) == 0;
	}
	if (c->round != NULL && c->proc == 0)
		atomic_fetch_add(c->round, 1);
	return admitted;
}

/* Random keys.  The next key's string is prefetched one op ahead: a server
 * has the key it just parsed in cache, and a miss on our 16 MB array of
 * 1M keys would be charged to the limiter otherwise.  random_cold_loop
 * leaves that miss in, for comparison. */
static uint64_t random_loop(void *arg, uint64_t n)
{
	struct lim_ctx *c = arg;
	uint64_t admitted = 0, s = c->rng;
	const char *next = key_at(c->keys, bench_index(&s, c->keys->n));
	for (uint64_t i = 0; i < n; i++) {
		fbx_limit_result r;
		const char *key = next;
		next = key_at(c->keys, bench_index(&s, c->keys->n));
		__builtin_prefetch(next);
		admitted += fbx_limiter_take(c->l, key, KEY_LEN, 1, &r) == 0;
	}
	c->rng = s;
	return admitted;
}

static uint64_t random_cold_loop(void *arg, uint64_t n)
{
	struct lim_ctx *c = arg;
	uint64_t admitted = 0, s = c->rng;
	for (uint64_t i = 0; i < n; i++) {
		fbx_limit_result r;
		const char *key = key_at(c->keys, bench_index(&s, c->keys->n));
		admitted += fbx_limiter_take(c->l, key, KEY_LEN, 1, &r) == 0;
	}
	c->rng = s;
	return admitted;
}

/* What random_loop costs without the limiter: the index and the key read. */
static uint64_t overhead_loop(void *arg, uint64_t n)
{
	struct lim_ctx *c = arg;
	uint64_t s = c->rng, sum = 0;
	for (uint64_t i = 0; i < n; i++) {
		const char *key = key_at(c->keys, bench_index(&s, c->keys->n));
		uint64_t w;
		memcpy(&w, key + 7, sizeof(w));
		sum += w;
		__asm__ volatile("" : "+r"(sum)); /* one key at a time, as take() would */
	}
	c->rng = s;
	c->sink += sum;
	return n;
}

/* A clock that moves 2 us per reading: the hot rule then never denies,
 * which shows the window algorithm's admit path without a clock read.
 * For information only; every other speed row uses the real clock. */
static uint64_t step_now, step_ns;
static uint64_t step_clock(void *arg)
{
	(void)arg;
	return step_now += step_ns;
}

static int limiter_add(fbx_box *box, const char *name, fbx_algorithm algo, const char *rule,
		       fbx_limiter **out)
{
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = rule;
	lc.algorithm = algo;
	if (algo == FBX_ALGO_GCRA)
		lc.burst = GCRA_BURST;
	lc.keyed = 1;
	int rc = fbx_limiter_register(box, name, &lc, out);
	if (rc != 0)
		fprintf(stderr, "bench: limiter %s (%s): %s\n", name, rule, fbx_strerror(rc));
	return rc;
}

static int box_with_keys(const char *tag, uint32_t keys, fbx_box **out)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.keys = keys;
	return bench_box_create(tag, &bc, out);
}

/* The log's box: room for log_keys keys of the log, little else. */
static int box_with_log(const char *tag, uint32_t log_keys, uint32_t slots, fbx_box **out)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.keys = 1024;
	bc.log_keys = log_keys;
	bc.log_slots = slots;
	return bench_box_create(tag, &bc, out);
}

static uint64_t box_size(fbx_box *box)
{
	fbx_box_info info;
	return fbx_box_info_get(box, &info) == 0 ? info.total_size : 0;
}

static int hot_runs(const struct keys *k, struct bench_limiter *out, uint64_t *size_default)
{
	struct lim_ctx c = {.keys = k, .hot = 42};
	fbx_limiter *lw = NULL, *lg = NULL;
	c.round = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c.round == MAP_FAILED)
		return -1;
	if (box_with_keys("hot", 65536, &c.box) != 0) {
		munmap((void *)c.round, 4096);
		return -1;
	}
	int rc = limiter_add(c.box, "hot.window", FBX_ALGO_WINDOW, HOT_RULE, &lw);
	if (rc == 0)
		rc = limiter_add(c.box, "hot.gcra", FBX_ALGO_GCRA, GCRA_RULE, &lg);
	fbx_limiter *lf = NULL, *ll = NULL, *llf = NULL;
	if (rc == 0)
		rc = limiter_add(c.box, "hot.fakeclock", FBX_ALGO_WINDOW, HOT_RULE, &lf);
	if (rc == 0)
		rc = limiter_add(c.box, "hot.log", FBX_ALGO_LOG, HOT_LOG_RULE, &ll);
	if (rc == 0)
		rc = limiter_add(c.box, "hot.log.fake", FBX_ALGO_LOG, HOT_LOG_RULE, &llf);
	if (rc == 0) {
		bench_op op = {.name = "limiter hot key", .setup = lim_setup, .run = hot_loop,
			       .finish = lim_finish, .ctx = &c};
		c.l = lw;
		out->hot_window_p1 = bench_measure(&op, 1);
		out->hot_window_p2 = bench_measure(&op, 2);
		c.l = lg;
		out->hot_gcra_p1 = bench_measure(&op, 1);
		out->hot_gcra_p2 = bench_measure(&op, 2);
		c.l = ll;
		out->hot_log_p1 = bench_measure(&op, 1);
		out->hot_log_p2 = bench_measure(&op, 2);
		c.l = lf;
		step_now = 1000ull * 1000000000ull;
		step_ns = 2000;
		fbx_clock_set(step_clock, NULL);
		out->hot_window_fake_p1 = bench_measure(&op, 1);
		c.l = llf;
		step_ns = HOT_LOG_STEP_NS;
		out->hot_log_fake_p1 = bench_measure(&op, 1);
		fbx_clock_set(NULL, NULL);
	}
	*size_default = box_size(c.box);
	bench_box_destroy(c.box);
	munmap((void *)c.round, 4096);
	return rc;
}

/* Random keys out of `count` in box (destroyed here): measured with 1 (and
 * optionally 2) processes. */
static int random_runs(const struct keys *k, uint32_t count, fbx_box *box, fbx_algorithm algo,
		       const char *rule, bench_result *p1, bench_result *p2,
		       bench_result *overhead, bench_result *cold, uint64_t *size, uint64_t *held,
		       uint64_t *evicted)
{
	struct lim_ctx c = {.keys = k, .box = box};
	struct keys sub = {.bytes = k->bytes, .n = count};
	c.keys = &sub;
	int rc = limiter_add(c.box, "keys", algo, rule, &c.l);
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		fbx_limit_result r;
		rc = fbx_limiter_take(c.l, key_at(&sub, i), KEY_LEN, 1, &r);
		if (rc != 0)
			fprintf(stderr, "bench: inserting key %u: %s\n", i, fbx_strerror(rc));
	}
	if (rc == 0) {
		bench_op op = {.name = "limiter random keys", .setup = lim_setup,
			       .run = random_loop, .finish = lim_finish, .ctx = &c};
		*p1 = bench_measure(&op, 1);
		if (p2 != NULL)
			*p2 = bench_measure(&op, 2);
		if (cold != NULL) {
			bench_op co = {.name = "limiter random keys, cold key", .setup = lim_setup,
				       .run = random_cold_loop, .ctx = &c};
			*cold = bench_measure(&co, 1);
		}
		if (overhead != NULL) {
			bench_op ov = {.name = "xorshift + key read", .setup = lim_setup,
				       .run = overhead_loop, .ctx = &c};
			*overhead = bench_measure(&ov, 1);
		}
	}
	*size = box_size(c.box);
	if (held != NULL) {
		fbx_snapshot *s = NULL;
		size_t n = 0;
		if (fbx_snapshot_new(c.box, &s) == 0 && fbx_snapshot_take(c.box, s) == 0) {
			const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
			for (size_t i = 0; li != NULL && i < n; i++)
				if (strcmp(li[i].name, "keys") == 0) {
					*held = li[i].keys;
					*evicted = li[i].evictions;
				}
		}
		fbx_snapshot_free(s);
	}
	bench_box_destroy(c.box);
	return rc;
}

static int window_runs(const struct keys *k, uint32_t count, const char *tag, bench_result *p1,
		       bench_result *p2, bench_result *overhead, bench_result *cold,
		       uint64_t *size, uint64_t *held, uint64_t *evicted)
{
	fbx_box *box = NULL;
	if (box_with_keys(tag, count, &box) != 0)
		return -1;
	return random_runs(k, count, box, FBX_ALGO_WINDOW, WINDOW_RULE, p1, p2, overhead, cold,
			   size, held, evicted);
}

/* 100k keys of the log, and what a key of it costs: fbx_box_info's figure,
 * and the box's growth per configured key over a box without the log. */
static int log_runs(const struct keys *k, struct bench_limiter *out)
{
	fbx_box *box = NULL, *ref = NULL;
	uint64_t size = 0, size_ref = 0;
	out->log_slots = KEYS_LOG_SLOTS;
	out->log_keys_cap = KEYS_LOG_CAP;
	if (box_with_log("reflog", 0, 0, &ref) == 0) {
		size_ref = box_size(ref);
		bench_box_destroy(ref);
	}
	/* 1k keys first: their 160 KB stay in the caches, which tells the
	 * algorithm's cost from the misses of 100k keys' 20 MB */
	fbx_box *small = NULL;
	if (box_with_log("k1klog", 2048, KEYS_LOG_SLOTS, &small) != 0)
		return -1;
	int rc = random_runs(k, 1000, small, FBX_ALGO_LOG, KEYS_LOG_RULE, &out->k1k_log_p1, NULL,
			     NULL, NULL, &size, NULL, NULL);
	if (rc != 0 || box_with_log("k100klog", KEYS_LOG_CAP, KEYS_LOG_SLOTS, &box) != 0)
		return -1;
	fbx_box_info info;
	if (fbx_box_info_get(box, &info) == 0)
		out->log_key_bytes = info.log_key_bytes;
	rc = random_runs(k, 100000, box, FBX_ALGO_LOG, KEYS_LOG_RULE, &out->k100k_log_p1,
			     &out->k100k_log_p2, NULL, NULL, &size, &out->log_keys_held_100k,
			     &out->log_evictions_100k);
	if (size > size_ref && size_ref != 0)
		out->log_table_bytes_per_key = (double)(size - size_ref) / KEYS_LOG_CAP;
	return rc;
}

int bench_limiter_run(struct bench_limiter *out)
{
	struct keys k;
	if (keys_make(&k, 1000000) != 0)
		return -1;
	uint64_t size[4] = {0}, size_ref = 0;
	int rc = hot_runs(&k, out, &size[1]);
	if (rc == 0)
		rc = window_runs(&k, 1000, "k1k", &out->k1k_p1, NULL, NULL, NULL, &size[0], NULL,
				 NULL);
	if (rc == 0)
		rc = window_runs(&k, 100000, "k100k", &out->k100k_p1, &out->k100k_p2, NULL, NULL,
				 &size[2], NULL, NULL);
	if (rc == 0)
		rc = log_runs(&k, out);
	if (rc == 0)
		rc = window_runs(&k, 1000000, "k1m", &out->k1m_p1, NULL, &out->overhead_1m,
				 &out->k1m_cold_p1, &size[3], &out->keys_held_1m, &out->evictions_1m);
	free(k.bytes);

	/* Decision state: one entry per key, and what the table really holds
	 * per configured key (size share of the key table / capacity), from
	 * boxes that differ only in key capacity. */
	out->entry_bytes = 8 + FBX_RULE_LIMITS_MAX * 8;
	fbx_box *ref = NULL;
	if (box_with_keys("ref", 1, &ref) == 0) {
		size_ref = box_size(ref);
		bench_box_destroy(ref);
	}
	const uint32_t caps[4] = {1000, 65536, 100000, 1000000};
	for (int i = 0; i < 4; i++) {
		out->table_keys[i] = caps[i];
		out->table_bytes_per_key[i] =
			size[i] > size_ref && size_ref != 0
				? (double)(size[i] - size_ref) / caps[i] : 0;
	}
	if (rc == 0 && out->k1k_p1.ok && out->k1m_p1.ok)
		out->growth_1k_1m = out->k1m_p1.ns_op / out->k1k_p1.ns_op;
	return rc;
}
